// Kafka's replication-offset-checkpoint: a replica's high watermark is stored now and then, and
// a restarted replica starts from it, so as leader it serves consumers before any follower has
// fetched again. (The replication simulation checkpoints at random moments across crashes and
// restarts; its invariants hold that nothing served below a high watermark ever changes.)
import { describe, expect, it } from 'vitest';
import { Partition } from '../../src/broker/partition';
import { LogManager } from '../../src/log/log-manager';
import { MemoryLogStore } from '../../src/log/memory-log-store';
import { encodeRecordBatch } from '../../src/protocol/record-batch';

const leaderOfThree = { leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3] };

async function logWith(store: MemoryLogStore, records: number) {
  const logs = await LogManager.open(store);
  const log = await logs.createPartition('ledger', 0);
  if (log.logEndOffset < records) {
    await log.append(encodeRecordBatch(Array.from({ length: records }, (_, i) => ({ key: null, value: new TextEncoder().encode(String(i)), timestamp: 1 }))));
  }
  return { logs, log };
}

describe('high watermark checkpoint', () => {
  it('survives a restart, and a restarted leader serves consumers below it at once', async () => {
    const store = new MemoryLogStore();
    const first = await logWith(store, 10);
    expect(new Partition(1, first.log, leaderOfThree, Date.now).highWatermark).toBe(0);
    await first.log.checkpointHighWatermark(6);
    first.logs.close();

    const { log } = await logWith(store.reopen(), 10);
    expect(log.checkpointedHighWatermark).toBe(6);
    const leader = new Partition(1, log, leaderOfThree, Date.now);
    expect(leader.highWatermark).toBe(6);
    // No follower has fetched: the 6 committed records are served, nothing past them.
    const fetched = await leader.fetchForConsumer(0, 0, 1 << 20);
    expect(fetched.highWatermark).toBe(6);
    expect(fetched.batches).toHaveLength(1);
    leader.close();
  });

  it('is never taken past the log end or below the log start', async () => {
    const store = new MemoryLogStore();
    const { logs, log } = await logWith(store, 10);
    await log.checkpointHighWatermark(25); // a checkpoint from before a truncation, say
    expect(new Partition(1, log, leaderOfThree, Date.now).highWatermark).toBe(10);
    await log.checkpointHighWatermark(2);
    await log.deleteRecordsBefore(10);
    expect(new Partition(1, log, leaderOfThree, Date.now).highWatermark).toBe(10);
    logs.close();
  });
});
