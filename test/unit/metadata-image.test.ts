import { describe, expect, it } from 'vitest';
import { applyRecord, applyRecords, EMPTY_IMAGE, getPartition } from '../../src/cluster/metadata-image';
import type { MetadataRecord } from '../../src/cluster/metadata-records';
import { MetadataConflictError } from '../../src/errors';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

const base: MetadataRecord[] = [
  { type: 'RegisterBroker', brokerId: 1 },
  { type: 'RegisterBroker', brokerId: 2 },
  { type: 'UnfenceBroker', brokerId: 1 },
  { type: 'UnfenceBroker', brokerId: 2 },
  { type: 'Topic', name: 'orders', topicId: TOPIC_ID, configs: { 'retention.ms': '1000' } },
  { type: 'Partition', topic: 'orders', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
];

function conflictOf(apply: () => unknown): unknown {
  try {
    apply();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('metadata image', () => {
  it('shows brokers, topics and partitions after replay, with the last offset', () => {
    const image = applyRecords(EMPTY_IMAGE, base, 0);
    expect(image.offset).toBe(5);
    expect(image.brokers.get(1)).toEqual({ brokerId: 1, fenced: false });
    expect(image.topics.get('orders')?.configs).toEqual({ 'retention.ms': '1000' });
    expect(getPartition(image, 'orders', 0)).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 0 });
  });

  it('registers brokers fenced until unfenced, as KRaft does', () => {
    const image = applyRecord(EMPTY_IMAGE, { type: 'RegisterBroker', brokerId: 7 }, 0);
    expect(image.brokers.get(7)?.fenced).toBe(true);
  });

  it('leaves the previous image untouched', () => {
    const before = applyRecords(EMPTY_IMAGE, base, 0);
    const after = applyRecord(before, { type: 'PartitionChange', topic: 'orders', partition: 0, isr: [1], leaderEpoch: 0, partitionEpoch: 1 }, 6);
    expect(getPartition(before, 'orders', 0)?.isr).toEqual([1, 2]);
    expect(getPartition(after, 'orders', 0)?.isr).toEqual([1]);
    expect(Object.isFrozen(getPartition(after, 'orders', 0))).toBe(true);
  });

  it('is deterministic: the same records give equal images', () => {
    expect(applyRecords(EMPTY_IMAGE, base, 0)).toEqual(applyRecords(EMPTY_IMAGE, base, 0));
  });

  it('removes a topic and its partitions', () => {
    const image = applyRecords(EMPTY_IMAGE, [...base, { type: 'RemoveTopic', name: 'orders' }], 0);
    expect(image.topics.has('orders')).toBe(false);
    expect(getPartition(image, 'orders', 0)).toBeUndefined();
  });

  const image = applyRecords(EMPTY_IMAGE, base, 0);
  it.each<[string, MetadataRecord]>([
    ['a partition of an unknown topic', { type: 'Partition', topic: 'nope', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }],
    ['a partition out of order', { type: 'Partition', topic: 'orders', partition: 2, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }],
    ['a replica on an unregistered broker', { type: 'Partition', topic: 'orders', partition: 1, replicas: [9], isr: [9], leader: 9, leaderEpoch: 0, partitionEpoch: 0 }],
    ['a topic that exists', { type: 'Topic', name: 'orders', topicId: 'BAAAAAAAAAAAAAAAAAAAAA', configs: {} }],
    ['a topic id that is taken', { type: 'Topic', name: 'other', topicId: TOPIC_ID, configs: {} }],
    ['removing an unknown topic', { type: 'RemoveTopic', name: 'nope' }],
    ['fencing an unregistered broker', { type: 'FenceBroker', brokerId: 9 }],
    ['a change of an unknown partition', { type: 'PartitionChange', topic: 'orders', partition: 1, isr: [1], leaderEpoch: 0, partitionEpoch: 1 }],
    ['a skipped partition epoch', { type: 'PartitionChange', topic: 'orders', partition: 0, isr: [1], leaderEpoch: 0, partitionEpoch: 2 }],
    ['a leader change without a new leader epoch', { type: 'PartitionChange', topic: 'orders', partition: 0, leader: 2, isr: [2], leaderEpoch: 0, partitionEpoch: 1 }],
    ['an isr member outside the replicas', { type: 'PartitionChange', topic: 'orders', partition: 0, isr: [1, 3], leaderEpoch: 0, partitionEpoch: 1 }],
    ['a leader left outside the new isr', { type: 'PartitionChange', topic: 'orders', partition: 0, isr: [2], leaderEpoch: 0, partitionEpoch: 1 }],
  ])('refuses %s with MetadataConflictError, carrying the offset', (_label, record) => {
    const error = conflictOf(() => applyRecord(image, record, 6));
    expect(error).toBeInstanceOf(MetadataConflictError);
    expect(error).toMatchObject({ offset: 6, recordType: record.type });
  });

  it('refuses a leader epoch that goes back', () => {
    const moved = applyRecord(image, { type: 'PartitionChange', topic: 'orders', partition: 0, leader: 2, leaderEpoch: 1, partitionEpoch: 1 }, 6);
    const back = { type: 'PartitionChange', topic: 'orders', partition: 0, isr: [2], leaderEpoch: 0, partitionEpoch: 2 } as const;
    expect(conflictOf(() => applyRecord(moved, back, 7))).toBeInstanceOf(MetadataConflictError);
    expect(getPartition(applyRecord(moved, { ...back, leaderEpoch: 1 }, 7), 'orders', 0)?.isr).toEqual([2]);
  });

  it('refuses an offset that does not move forward, so a record is never applied twice', () => {
    expect(conflictOf(() => applyRecord(image, { type: 'RegisterBroker', brokerId: 3 }, 5))).toBeInstanceOf(MetadataConflictError);
  });
});
