// The consumer's auto-commit after every batch (KafkaJS's default), against the real group
// coordinator on a stand-in broker whose offset writes wait until the test lets them through.
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalBroker } from '../../src/broker/local-broker';
import type { FetchResult } from '../../src/broker/partition';
import { Consumer } from '../../src/consumer/consumer';
import { GroupCoordinator } from '../../src/coordinator/group-coordinator';
import type { GroupRecord } from '../../src/coordinator/group-records';
import { encodeRecordBatch } from '../../src/protocol/record-batch';

const TOPIC = 'ticks';
const BATCHES = 30;

/** One partition of BATCHES one-record batches; each fetch answers one batch, so each is a delivery of its own. */
function standInBroker(coordinator: GroupCoordinator): LocalBroker {
  const log = Array.from({ length: BATCHES }, (_, i) =>
    encodeRecordBatch([{ key: null, value: new TextEncoder().encode(`tick-${i}`), timestamp: 1_700_000_000_000 }], { baseOffset: i }),
  );
  const fetch = async (_topic: string, _partition: number, offset: number, maxWaitMs: number): Promise<FetchResult> => {
    const batch = log[offset];
    if (!batch) await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, 50)));
    return { batches: batch ? [batch.slice()] : [], logStartOffset: 0, logEndOffset: BATCHES, highWatermark: BATCHES, divergingEpoch: null };
  };
  const groupApi: Record<string, (...args: never[]) => unknown> = {
    join: (request: Parameters<GroupCoordinator['join']>[0]) => coordinator.join(request),
    sync: (request: Parameters<GroupCoordinator['sync']>[0]) => coordinator.sync(request),
    heartbeat: (request: Parameters<GroupCoordinator['heartbeat']>[0]) => coordinator.heartbeat(request),
    leave: (groupId: string, memberId: string) => coordinator.leave(groupId, [memberId]),
    commitOffsets: (request: Parameters<GroupCoordinator['commitOffsets']>[0]) => coordinator.commitOffsets(request),
    fetchOffsets: (groupId: string, partitions: Parameters<GroupCoordinator['fetchOffsets']>[1]) => coordinator.fetchOffsets(groupId, partitions),
  };
  const broker = {
    brokerId: 1,
    clusterMetadata: async () => ({ topics: [{ name: TOPIC, partitions: [{ partitionId: 0, leader: 1 }] }] }),
    fetch,
    offsets: async () => ({ logStartOffset: 0, highWatermark: BATCHES, logEndOffset: BATCHES }),
    group: async (method: string, ...args: never[]) => groupApi[method]!(...args),
  };
  return broker as unknown as LocalBroker;
}

describe('consumer auto-commit', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  it('merges the commits that fall due while one is in flight into one that carries the latest positions', async () => {
    let releaseOffsetWrites: () => void = () => undefined;
    const offsetWritesHeld = new Promise<void>((resolve) => (releaseOffsetWrites = resolve));
    const coordinator = new GroupCoordinator({
      brokerId: 1,
      now: Date.now,
      newMemberId: (clientId) => `${clientId}-1`,
      // Group records go through; offset records wait, as a slow coordinator's would.
      write: async (records: readonly GroupRecord[]) => {
        if (records.some((record) => record.type === 'offset')) await offsetWritesHeld;
      },
    });
    coordinator.load([]);
    const ticker = setInterval(() => coordinator.tick(), 20);
    cleanups.push(() => clearInterval(ticker));

    const consumer = new Consumer(standInBroker(coordinator), { groupId: 'g' });
    const commits: number[] = [];
    consumer.on('consumer.commit_offsets', (event) => commits.push(Number(event.payload.topics[0]!.partitions[0]!.offset)));
    let delivered = 0;
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ eachBatch: async ({ batch }) => void (delivered += batch.messages.length) });
    cleanups.push(() => void consumer.stop());

    const deadline = Date.now() + 10_000;
    while (delivered < BATCHES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(delivered).toBe(BATCHES);
    // Thirty deliveries, one commit held at the coordinator: nothing has completed yet.
    expect(commits).toEqual([]);

    releaseOffsetWrites();
    while (commits.at(-1) !== BATCHES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // The first commit (whatever was processed when it left), then one for everything since.
    expect(commits).toHaveLength(2);
    expect(commits[0]).toBeLessThan(BATCHES);
    expect(commits[1]).toBe(BATCHES);
    expect(coordinator.fetchOffsets('g', [{ topic: TOPIC, partition: 0 }])).toEqual([{ topic: TOPIC, partition: 0, offset: BATCHES, metadata: null }]);
  });
});
