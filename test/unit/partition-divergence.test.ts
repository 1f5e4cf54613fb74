// A follower whose log is not the leader's history must not count as caught up.
import { describe, expect, it } from 'vitest';
import { Partition } from '../../src/broker/partition';
import { LogManager } from '../../src/log/log-manager';
import { MemoryLogStore } from '../../src/log/memory-log-store';
import { encodeRecordBatch } from '../../src/protocol/record-batch';

const assignment = { leader: 1, leaderEpoch: 3, replicas: [1, 2], isr: [1, 2] };
const records = (count: number) => encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: new TextEncoder().encode(String(i)), timestamp: 1 })));

describe('follower divergence', () => {
  it('sends a follower fetching past the end with no epoch back to truncate, and leaves the high watermark alone', async () => {
    const leaderLog = await (await LogManager.open(new MemoryLogStore())).createPartition('ledger', 0);
    const leader = new Partition(1, leaderLog, assignment, Date.now);
    await leader.produce(records(5), 1, 1000);
    // A stale copy: its log starts at 40 (records deleted under another topic of this name), no epochs.
    const result = await leader.fetchForFollower({ replicaId: 2, offset: 40, lastFetchedEpoch: -1, leaderEpoch: 3, maxWaitMs: 0, maxBytes: 1 << 20 });
    expect(result.divergingEpoch).not.toBeNull();
    expect(leader.highWatermark).toBe(0);
    expect(leader.followerOffsets().get(2) ?? -1).not.toBe(40);

    // That follower: 40 records of its own, all deleted, so it would fetch at 40 with no epoch.
    const followerLog = await (await LogManager.open(new MemoryLogStore())).createPartition('ledger', 0);
    await followerLog.append(records(40));
    await followerLog.deleteRecordsBefore(40);
    const follower = new Partition(2, followerLog, assignment, Date.now);
    expect([follower.logEndOffset, follower.lastFetchedEpoch]).toEqual([40, -1]);
    const { epoch, endOffset } = result.divergingEpoch!;
    await follower.truncateTo(follower.truncationPoint(epoch, endOffset));
    expect([followerLog.logStartOffset, follower.logEndOffset]).toEqual([0, 0]); // it fetches everything again
    leader.close();
    follower.close();
  });
});
