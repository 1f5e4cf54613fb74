/**
 * Seeded simulation of one consumer group (test/sim/group-simulation.ts): the real coordinator,
 * memberships and assignors under crashes, clean leaves, late joins, coordinator failovers, lost
 * messages and failed log writes. Replay one seed with
 *   SIM_SEED=12 SIM_TRACE=1 npx vitest run test/unit/group-simulation.test.ts
 * or print its trace with `npx tsx test/sim/group-trace-cli.ts 12 'FAULT|joined'`; run more
 * with GROUP_SEEDS=2000 (and GROUP_SEED_START=n to start elsewhere).
 */
import { describe, expect, it } from 'vitest';
import { GroupSimulationFailure, runGroupSimulation } from '../sim/group-simulation';
import type { GroupSimulationOptions, GroupSimulationStats } from '../sim/group-simulation';

const env = process.env;
const single = env['SIM_SEED'];
const start = Number(env['GROUP_SEED_START'] ?? 1);
const count = Number(env['GROUP_SEEDS'] ?? 200);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => start + i);
const BATCH = 25;

function replayCommand(seed: number): string {
  return `SIM_SEED=${seed} SIM_TRACE=1 npx vitest run test/unit/group-simulation.test.ts`;
}

type Outcome =
  | { readonly ok: true; readonly stats: GroupSimulationStats }
  | { readonly ok: false; readonly report: string };

/** Runs a seed; on failure, runs it again with tracing to show how it got there. */
async function runSeed(seed: number, options: GroupSimulationOptions = {}): Promise<Outcome> {
  try {
    return { ok: true, stats: await runGroupSimulation(seed, options) };
  } catch (error) {
    if (!(error instanceof GroupSimulationFailure)) throw error;
    const trace: string[] = [];
    await runGroupSimulation(seed, { ...options, trace: (line) => trace.push(line) }).catch(() => undefined);
    const shown = single !== undefined && env['SIM_TRACE'] ? trace : trace.slice(-80);
    const report = `${error.message}\n  replay: ${replayCommand(seed)}${options.faults === false ? ' (with faults: false)' : ''}\n  trace (last ${shown.length} lines):\n    ${shown.join('\n    ')}`;
    return { ok: false, report };
  }
}

/** Runs every seed and fails with every failing seed's story. */
async function runSeeds(batch: readonly number[], options: GroupSimulationOptions = {}): Promise<GroupSimulationStats[]> {
  const failures: string[] = [];
  const stats: GroupSimulationStats[] = [];
  for (const seed of batch) {
    const outcome = await runSeed(seed, options);
    if (outcome.ok) stats.push(outcome.stats);
    else failures.push(outcome.report);
  }
  if (failures.length > 0) expect.fail(`${failures.length} failing seed(s):\n\n${failures.join('\n\n')}`);
  return stats;
}

describe('consumer group simulation', () => {
  for (let from = 0; from < seeds.length; from += BATCH) {
    const batch = seeds.slice(from, from + BATCH);
    it(`one owner per partition when settled and per generation, committed offsets never go back, every record processed, finishes: seeds ${batch[0]}..${batch.at(-1)}`, async () => {
      const stats = await runSeeds(batch);
      for (const run of stats) {
        // Liveness: every partition committed at its end, after the faults stopped.
        expect(run.finishedAt).toBeGreaterThanOrEqual(run.healedAt);
        expect(run.processed).toBeGreaterThanOrEqual(run.partitions * run.records);
      }
    });
  }

  it('replays a seed exactly', async () => {
    const first: string[] = [];
    const second: string[] = [];
    const a = await runGroupSimulation(7, { trace: (line) => first.push(line) });
    const b = await runGroupSimulation(7, { trace: (line) => second.push(line) });
    expect(b).toEqual(a);
    expect(second).toEqual(first);
    // Replaying would be trivial if nothing happened.
    expect(a.crashes + a.failovers + a.leaves).toBeGreaterThan(0);
    expect(first.length).toBeGreaterThan(100);
  });

  it('does exercise failovers, crashes, losses, failed writes, repeats and every assignor across seeds', async () => {
    const stats = await runSeeds(Array.from({ length: 40 }, (_, i) => 1 + i));
    const sum = (key: keyof GroupSimulationStats) => stats.reduce((total, run) => total + Number(run[key]), 0);
    expect(stats.length).toBeGreaterThan(30);
    expect(sum('failovers')).toBeGreaterThan(20);
    expect(sum('crashes')).toBeGreaterThan(20);
    expect(sum('leaves')).toBeGreaterThan(20);
    expect(sum('lostMessages')).toBeGreaterThan(100);
    expect(sum('failedWrites')).toBeGreaterThan(10);
    expect(sum('reprocessed')).toBeGreaterThan(0);
    expect(Math.max(...stats.map((run) => run.generations))).toBeGreaterThan(5);
    const assignors = new Set(stats.map((run) => run.assignors.replace(/^mixed.*/, 'mixed')));
    expect([...assignors].sort()).toEqual(['cooperative-sticky', 'mixed', 'range', 'roundrobin']);
  });

  it('without faults, finishes every time and never has two members processing one partition at once', async () => {
    const stats = await runSeeds(
      Array.from({ length: 40 }, (_, i) => 1 + i),
      { faults: false },
    );
    expect(stats.length).toBeGreaterThan(30);
    for (const run of stats) {
      expect(run.crashes + run.failovers + run.lostMessages + run.failedWrites).toBe(0);
      expect(run.finishedAt).toBeGreaterThanOrEqual(run.healedAt);
      expect(run.processed).toBeGreaterThanOrEqual(run.partitions * run.records);
    }
    // Members still came and went, so partitions changed hands.
    expect(stats.reduce((total, run) => total + run.leaves, 0)).toBeGreaterThan(10);
    expect(Math.max(...stats.map((run) => run.generations))).toBeGreaterThan(3);
  });
});
