import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRecords, EMPTY_IMAGE, getPartition, isActiveBroker } from '../../src/cluster/metadata-image';
import type { MetadataImage } from '../../src/cluster/metadata-image';
import type { MetadataRecord } from '../../src/cluster/metadata-records';
import {
  alterIsr,
  brokerFenced,
  brokerUnfenced,
  createTopics,
  deleteTopics,
  preferredLeaderElection,
} from '../../src/cluster/topic-controller';
import type { ControllerResult } from '../../src/cluster/topic-controller';
import {
  FencedLeaderEpochError,
  InvalidConfigurationError,
  InvalidPartitionsError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  InvalidTopicError,
  NotLeaderOrFollowerError,
  TopicAlreadyExistsError,
  UnknownTopicOrPartitionError,
} from '../../src/errors';

/** Appends records the way the controller's caller does: next offsets, in order. */
function append(image: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  return applyRecords(image, records, image.offset + 1);
}

function cluster(brokers: readonly number[]): MetadataImage {
  return append(EMPTY_IMAGE, [
    ...brokers.map((brokerId): MetadataRecord => ({ type: 'RegisterBroker', brokerId })),
    ...brokers.map((brokerId): MetadataRecord => ({ type: 'UnfenceBroker', brokerId })),
  ]);
}

function records(result: ControllerResult): readonly MetadataRecord[] {
  if (!result.ok) throw result.error;
  return result.records;
}

/** 3 brokers, topic t: 3 partitions with replicas [1,2,3], [2,3,1], [3,1,2] (fixed start index via random 0). */
function withTopic(): MetadataImage {
  const image = cluster([1, 2, 3]);
  const [created] = createTopics(image, [1, 2, 3], [{ name: 't', numPartitions: 3, replicationFactor: 3 }], () => 0);
  return append(image, records(created!.result));
}

const partition = (image: MetadataImage, p: number) => getPartition(image, 't', p)!;

describe('createTopics', () => {
  it('creates partitions with ISR = replicas, leader = first replica, epoch 0', () => {
    const image = withTopic();
    expect(image.topics.get('t')?.partitions).toHaveLength(3);
    expect(image.topics.get('t')?.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (const p of image.topics.get('t')!.partitions) {
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.leaderEpoch).toBe(0);
    }
    expect(partition(image, 0).replicas).toEqual([1, 2, 3]);
  });

  it('fails only the topic asking for more replicas than live brokers', () => {
    const image = cluster([1, 2, 3]);
    const results = createTopics(
      image,
      [1, 2, 3],
      [
        { name: 'ok', numPartitions: 2, replicationFactor: 2 },
        { name: 'big', numPartitions: 1, replicationFactor: 4 },
        { name: 'also-ok', numPartitions: 1, replicationFactor: 3 },
      ],
      () => 0.3,
    );
    expect(results.map((r) => r.result.ok)).toEqual([true, false, true]);
    const failed = results[1]!.result;
    expect(!failed.ok && failed.error).toBeInstanceOf(InvalidReplicationFactorError);
    expect(!failed.ok && failed.error).toMatchObject({ requested: 4, available: 3 });
    const after = append(image, results.flatMap((r) => (r.result.ok ? r.result.records : [])));
    expect([...after.topics.keys()].sort()).toEqual(['also-ok', 'ok']);
  });

  it('only counts live brokers the metadata knows as unfenced', () => {
    const image = append(cluster([1, 2, 3]), [{ type: 'FenceBroker', brokerId: 3 }]);
    const [result] = createTopics(image, [1, 2, 3, 4], [{ name: 't', numPartitions: 1, replicationFactor: 3 }], () => 0);
    expect(!result!.result.ok && result!.result.error).toMatchObject({ code: 'INVALID_REPLICATION_FACTOR', available: 2 });
  });

  it.each([
    ['an invalid name', { name: 'a/b', numPartitions: 1, replicationFactor: 1 }, InvalidTopicError],
    ["the metadata log's own name", { name: '__cluster_metadata', numPartitions: 1, replicationFactor: 1 }, InvalidTopicError],
    ['an existing topic', { name: 'exists', numPartitions: 1, replicationFactor: 1 }, TopicAlreadyExistsError],
    ['zero partitions', { name: 'p', numPartitions: 0, replicationFactor: 1 }, InvalidPartitionsError],
    ['zero replicas', { name: 'r', numPartitions: 1, replicationFactor: 0 }, InvalidReplicationFactorError],
    ['an unknown config', { name: 'c', numPartitions: 1, replicationFactor: 1, configs: { 'segment.ms': '1' } }, InvalidConfigurationError],
    ['compaction', { name: 'c', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } }, InvalidConfigurationError],
    ['a non-numeric retention', { name: 'c', numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': '1d' } }, InvalidConfigurationError],
    ['min.insync.replicas 0', { name: 'c', numPartitions: 1, replicationFactor: 1, configs: { 'min.insync.replicas': '0' } }, InvalidConfigurationError],
    ['retention.bytes below -1', { name: 'c', numPartitions: 1, replicationFactor: 1, configs: { 'retention.bytes': '-2' } }, InvalidConfigurationError],
  ])('refuses %s with a typed error', (_label, request, errorClass) => {
    const image = append(cluster([1]), records(createTopics(cluster([1]), [1], [{ name: 'exists', numPartitions: 1, replicationFactor: 1 }], () => 0)[0]!.result));
    const [result] = createTopics(image, [1], [request], () => 0);
    expect(result!.result.ok).toBe(false);
    expect(!result!.result.ok && result!.result.error).toBeInstanceOf(errorClass);
  });

  it('accepts the supported configs and stores them on the topic', () => {
    const configs = { 'retention.ms': '-1', 'retention.bytes': '1048576', 'min.insync.replicas': '2', 'max.message.bytes': '1000', 'cleanup.policy': 'delete' };
    const image = cluster([1, 2]);
    const [result] = createTopics(image, [1, 2], [{ name: 'c', numPartitions: 1, replicationFactor: 2, configs }], () => 0);
    expect(append(image, records(result!.result)).topics.get('c')?.configs).toEqual(configs);
  });

  it('refuses every copy of a name listed twice', () => {
    const results = createTopics(cluster([1]), [1], [1, 2].map(() => ({ name: 'd', numPartitions: 1, replicationFactor: 1 })), () => 0);
    for (const r of results) expect(!r.result.ok && r.result.error).toBeInstanceOf(InvalidRequestError);
  });

  it('gives topics created together distinct ids even from a constant random', () => {
    const image = cluster([1]);
    const results = createTopics(image, [1], ['a', 'b'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1 })), () => 0);
    const after = append(image, results.flatMap((r) => records(r.result)));
    expect(after.topics.get('a')?.topicId).not.toBe(after.topics.get('b')?.topicId);
  });
});

describe('deleteTopics', () => {
  it('removes known topics and reports unknown ones per name', () => {
    const image = withTopic();
    const results = deleteTopics(image, ['t', 'missing']);
    expect(records(results[0]!.result)).toEqual([{ type: 'RemoveTopic', name: 't' }]);
    expect(!results[1]!.result.ok && results[1]!.result.error).toBeInstanceOf(UnknownTopicOrPartitionError);
    expect(append(image, records(results[0]!.result)).topics.size).toBe(0);
  });
});

describe('failover', () => {
  it('moves leadership to the next ISR replica, bumps epochs and shrinks ISRs', () => {
    const before = withTopic();
    const after = append(before, brokerFenced(before, 1));
    expect(after.brokers.get(1)?.fenced).toBe(true);
    // p0 [1,2,3] was led by 1 → 2 leads; p1 [2,3,1] and p2 [3,1,2] only lose 1 from their ISR.
    expect(partition(after, 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
    expect(partition(after, 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0, partitionEpoch: 1 });
    expect(partition(after, 2)).toMatchObject({ leader: 3, isr: [3, 2], leaderEpoch: 0, partitionEpoch: 1 });
  });

  it('takes the partition offline when no ISR member is left, keeping the last one in the ISR', () => {
    let image = withTopic();
    image = append(image, brokerFenced(image, 1));
    image = append(image, brokerFenced(image, 2));
    image = append(image, brokerFenced(image, 3));
    for (const p of [0, 1, 2]) {
      expect(partition(image, p).leader).toBe(-1);
      expect(partition(image, p).isr).toEqual([3]);
    }
  });

  it('never elects a broker outside the ISR or a fenced one (random fence/unfence sequences)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ broker: fc.integer({ min: 1, max: 3 }), fence: fc.boolean() }), { maxLength: 25 }),
        (steps) => {
          let image = withTopic();
          for (const step of steps) {
            const before = image;
            image = append(image, step.fence ? brokerFenced(image, step.broker) : brokerUnfenced(image, step.broker));
            for (const p of image.topics.get('t')!.partitions) {
              const old = partition(before, p.partition);
              if (p.leader !== -1) {
                expect(isActiveBroker(image, p.leader)).toBe(true);
                expect(old.isr).toContain(p.leader);
              }
              expect(p.isr.length).toBeGreaterThan(0);
              if (p.leader !== old.leader) expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
            }
          }
        },
      ),
    );
  });

  it('brings an offline partition back under its last ISR member when it is unfenced', () => {
    let image = withTopic();
    for (const b of [1, 2, 3]) image = append(image, brokerFenced(image, b));
    const epoch = partition(image, 0).leaderEpoch;
    image = append(image, brokerUnfenced(image, 2));
    // Broker 2 was not the last ISR member: it may have missed records, so it must not lead.
    expect(partition(image, 0).leader).toBe(-1);
    image = append(image, brokerUnfenced(image, 3));
    expect(partition(image, 0)).toMatchObject({ leader: 3, leaderEpoch: epoch + 1 });
  });
});

describe('preferredLeaderElection', () => {
  it('returns leadership to the first replica once it is back in the ISR', () => {
    let image = withTopic();
    image = append(image, brokerFenced(image, 1));
    image = append(image, brokerUnfenced(image, 1));
    // Unfenced but not yet in the ISR: it has not caught up, so it must not lead.
    expect(preferredLeaderElection(image, [1, 2, 3])).toEqual([]);
    const p0 = partition(image, 0);
    image = append(image, records(alterIsr(image, 't', 0, [2, 3, 1], p0.leader, p0.leaderEpoch)));
    image = append(image, preferredLeaderElection(image, [1, 2, 3]));
    expect(partition(image, 0)).toMatchObject({ leader: 1, leaderEpoch: p0.leaderEpoch + 1 });
  });

  it('skips a preferred replica that is not live', () => {
    let image = withTopic();
    image = append(image, brokerFenced(image, 1));
    image = append(image, brokerUnfenced(image, 1));
    const p0 = partition(image, 0);
    image = append(image, records(alterIsr(image, 't', 0, [2, 3, 1], p0.leader, p0.leaderEpoch)));
    expect(preferredLeaderElection(image, [2, 3])).toEqual([]);
  });

  it('brings an offline partition back under a live ISR member', () => {
    let image = withTopic();
    for (const b of [1, 2, 3]) image = append(image, brokerFenced(image, b));
    image = append(image, [{ type: 'UnfenceBroker', brokerId: 3 }]);
    image = append(image, preferredLeaderElection(image, [3]));
    expect(partition(image, 1).leader).toBe(3);
  });
});

describe('alterIsr', () => {
  const image = (() => {
    const base = withTopic();
    return append(base, records(alterIsr(base, 't', 0, [1, 2], 1, 0)));
  })();

  it('shrinks and expands the ISR without touching the leader epoch', () => {
    expect(partition(image, 0)).toMatchObject({ isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1 });
    const expanded = append(image, records(alterIsr(image, 't', 0, [1, 2, 3], 1, 0)));
    expect(partition(expanded, 0)).toMatchObject({ isr: [1, 2, 3], leaderEpoch: 0, partitionEpoch: 2 });
  });

  it('returns no records when nothing changes', () => {
    expect(records(alterIsr(image, 't', 0, [2, 1], 1, 0))).toEqual([]);
  });

  it.each([
    ['an unknown partition', ['t', 9, [1], 1, 0], UnknownTopicOrPartitionError],
    ['a broker that is not the leader', ['t', 0, [2, 1], 2, 0], NotLeaderOrFollowerError],
    ['a stale leader epoch', ['t', 0, [1], 1, -1], FencedLeaderEpochError],
    ['a future leader epoch', ['t', 0, [1], 1, 1], FencedLeaderEpochError],
    ['an ISR without the leader', ['t', 0, [2, 3], 1, 0], InvalidRequestError],
    ['an ISR outside the replicas', ['t', 0, [1, 4], 1, 0], InvalidRequestError],
    ['an ISR listing a broker twice', ['t', 0, [1, 1], 1, 0], InvalidRequestError],
  ] as const)('refuses %s', (_label, [topic, p, isr, leader, epoch], errorClass) => {
    const result = alterIsr(image, topic, p, isr, leader, epoch);
    expect(!result.ok && result.error).toBeInstanceOf(errorClass);
  });

  it('refuses adding a fenced broker to the ISR', () => {
    const fenced = append(image, [{ type: 'FenceBroker', brokerId: 3 }]);
    const result = alterIsr(fenced, 't', 0, [1, 2, 3], 1, 0);
    expect(!result.ok && result.error).toBeInstanceOf(InvalidRequestError);
  });
});
