import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMetadataRecord, parseMetadataRecord } from '../../src/cluster/metadata-records';
import type { MetadataRecord } from '../../src/cluster/metadata-records';
import { InvalidMetadataRecordError } from '../../src/errors';

const id = fc.integer({ min: 0, max: 0x7fffffff });
const name = fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,20}$/);
const topicId = fc.stringMatching(/^[A-Za-z0-9_-]{22}$/);
const epoch = fc.integer({ min: 0, max: 1000 });

const partitionRecord = fc
  .record({
    topic: name,
    partition: fc.integer({ min: 0, max: 100 }),
    replicas: fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 5 }),
    isrSize: fc.integer({ min: 1, max: 5 }),
    offline: fc.boolean(),
    leaderEpoch: epoch,
    partitionEpoch: epoch,
  })
  .map(({ replicas, isrSize, offline, ...rest }): MetadataRecord => {
    const isr = replicas.slice(0, Math.min(isrSize, replicas.length));
    return { type: 'Partition', ...rest, replicas, isr, leader: offline ? -1 : (isr[0] as number) };
  });

const record: fc.Arbitrary<MetadataRecord> = fc.oneof(
  id.map((brokerId): MetadataRecord => ({ type: 'RegisterBroker', brokerId })),
  id.map((brokerId): MetadataRecord => ({ type: 'FenceBroker', brokerId })),
  id.map((brokerId): MetadataRecord => ({ type: 'UnfenceBroker', brokerId })),
  fc
    .record({ name, topicId, configs: fc.dictionary(fc.string(), fc.string()) })
    .map((r): MetadataRecord => ({ type: 'Topic', ...r })),
  partitionRecord,
  fc
    .record(
      {
        topic: name,
        partition: fc.integer({ min: 0, max: 100 }),
        leader: fc.integer({ min: 0, max: 5 }),
        isr: fc.constant([0, 1, 2, 3, 4, 5]),
        leaderEpoch: epoch,
        partitionEpoch: epoch,
      },
      { requiredKeys: ['topic', 'partition', 'leaderEpoch', 'partitionEpoch'] },
    )
    .map((r): MetadataRecord => ({ type: 'PartitionChange', ...r })),
  name.map((n): MetadataRecord => ({ type: 'RemoveTopic', name: n })),
);

function rejection(value: unknown): unknown {
  try {
    parseMetadataRecord(value);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseMetadataRecord', () => {
  it('accepts every record encode produces and gives it back unchanged', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(parseMetadataRecord(JSON.parse(encodeMetadataRecord(r)))).toEqual(r);
      }),
    );
  });

  it('never throws anything but InvalidMetadataRecordError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const error = rejection(value);
        if (error !== undefined) expect(error).toBeInstanceOf(InvalidMetadataRecordError);
      }),
    );
  });

  it('survives arbitrary JSON dressed as each record type', () => {
    const types = ['RegisterBroker', 'FenceBroker', 'UnfenceBroker', 'Topic', 'Partition', 'PartitionChange', 'RemoveTopic'];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.dictionary(fc.string(), fc.jsonValue()), (type, fields) => {
        const error = rejection({ ...fields, type });
        if (error !== undefined) expect(error).toBeInstanceOf(InvalidMetadataRecordError);
      }),
    );
  });

  it('rejects a valid record with one field corrupted', () => {
    fc.assert(
      fc.property(record, fc.constantFrom(-2, 1.5, 'a b', null, [], {}, 2 ** 31), (r, bad) => {
        const keys = Object.keys(r).filter((k) => k !== 'type' && k !== 'configs');
        const key = keys[0] as string;
        expect(rejection({ ...r, [key]: bad })).toBeInstanceOf(InvalidMetadataRecordError);
      }),
    );
  });

  it.each([
    ['unknown type', { type: 'Bogus' }],
    ['no type', { brokerId: 1 }],
    ['not an object', [1, 2]],
    ['extra field', { type: 'FenceBroker', brokerId: 1, extra: true }],
    ['missing field', { type: 'Topic', name: 't', configs: {} }],
    ['inherited type name', { type: 'toString' }],
    ['invalid topic name', { type: 'RemoveTopic', name: 'a/b' }],
    ['short topic id', { type: 'Topic', name: 't', topicId: 'abc', configs: {} }],
    ['non-string config', { type: 'Topic', name: 't', topicId: 'A'.repeat(21) + 'B', configs: { a: 1 } }],
    ['isr outside replicas', { type: 'Partition', topic: 't', partition: 0, replicas: [1], isr: [2], leader: 2, leaderEpoch: 0, partitionEpoch: 0 }],
    ['leader outside isr', { type: 'Partition', topic: 't', partition: 0, replicas: [1, 2], isr: [1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 }],
    ['empty isr', { type: 'Partition', topic: 't', partition: 0, replicas: [1], isr: [], leader: -1, leaderEpoch: 0, partitionEpoch: 0 }],
    ['duplicate replica', { type: 'Partition', topic: 't', partition: 0, replicas: [1, 1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }],
    ['change with empty isr', { type: 'PartitionChange', topic: 't', partition: 0, isr: [], leaderEpoch: 0, partitionEpoch: 1 }],
    ['change leader outside isr', { type: 'PartitionChange', topic: 't', partition: 0, leader: 3, isr: [1], leaderEpoch: 1, partitionEpoch: 1 }],
  ])('rejects %s', (_label, value) => {
    expect(rejection(value)).toBeInstanceOf(InvalidMetadataRecordError);
  });

  it('accepts an offline partition (leader -1) and a change that only bumps the ISR', () => {
    expect(
      parseMetadataRecord({ type: 'Partition', topic: 't', partition: 0, replicas: [1, 2], isr: [1], leader: -1, leaderEpoch: 3, partitionEpoch: 4 }),
    ).toMatchObject({ leader: -1 });
    expect(parseMetadataRecord({ type: 'PartitionChange', topic: 't', partition: 0, isr: [1], leaderEpoch: 0, partitionEpoch: 1 })).not.toHaveProperty(
      'leader',
    );
  });
});
