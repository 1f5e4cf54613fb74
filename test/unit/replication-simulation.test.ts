/**
 * Seeded simulation of the data path (test/sim/replication-simulation.ts). Replay one seed with
 *   SIM_SEED=12 SIM_TRACE=1 npx vitest run test/unit/replication-simulation.test.ts
 * or run more with REPLICATION_SEEDS=2000.
 */
import { describe, expect, it } from 'vitest';
import { ReplicationFailure, runReplicationSimulation } from '../sim/replication-simulation';

const env = process.env;
const single = env['SIM_SEED'];
const count = Number(env['REPLICATION_SEEDS'] ?? 300);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => i);
const BATCH = 50;

async function runSeed(seed: number): Promise<string | null> {
  try {
    await runReplicationSimulation(seed);
    return null;
  } catch (error) {
    if (!(error instanceof ReplicationFailure)) throw error;
    const trace: string[] = [];
    await runReplicationSimulation(seed, (line) => trace.push(line)).catch(() => undefined);
    const shown = single !== undefined && env['SIM_TRACE'] ? trace : trace.slice(-60);
    return `${error.message}\n  replay: SIM_SEED=${seed} SIM_TRACE=1 npx vitest run test/unit/replication-simulation.test.ts\n    ${shown.join('\n    ')}`;
  }
}

describe('replication simulation', () => {
  for (let from = 0; from < seeds.length; from += BATCH) {
    const batch = seeds.slice(from, from + BATCH);
    it(`never loses an acknowledged record, never reorders or repeats one: seeds ${batch[0]}..${batch.at(-1)}`, async () => {
      for (const seed of batch) {
        const failure = await runSeed(seed);
        if (failure !== null) expect.fail(failure);
      }
    });
  }

  it('replays a seed exactly, and exercises failovers, truncation and retries', async () => {
    const first: string[] = [];
    const second: string[] = [];
    const a = await runReplicationSimulation(3, (line) => first.push(line));
    const b = await runReplicationSimulation(3, (line) => second.push(line));
    expect(b).toEqual(a);
    expect(second).toEqual(first);
    let leaderChanges = 0;
    let truncations = 0;
    let acknowledged = 0;
    for (let seed = 0; seed < 20; seed++) {
      const stats = await runReplicationSimulation(seed);
      leaderChanges += stats.leaderChanges;
      truncations += stats.truncations;
      acknowledged += stats.acknowledged;
    }
    expect(leaderChanges).toBeGreaterThan(20);
    expect(truncations).toBeGreaterThan(0);
    expect(acknowledged).toBeGreaterThan(1000);
  });
});
