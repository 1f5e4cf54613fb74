/**
 * The metadata log's records, modelled on KRaft's (RegisterBrokerRecord, FenceBrokerRecord,
 * TopicRecord, PartitionRecord, PartitionChangeRecord, RemoveTopicRecord). Every broker stores
 * and replays them; they cross the network as JSON, so `parseMetadataRecord` trusts nothing:
 * a malformed record from a peer must surface as InvalidMetadataRecordError, never as a crash
 * or as a half-valid object that breaks the image later.
 *
 * Simplifications: a broker registration carries only its id (no listeners, rack, incarnation
 * id), and topic configs live in the Topic record instead of separate ConfigRecords.
 */
import { InvalidMetadataRecordError, InvalidTopicError } from '../errors';
import { validateTopicName } from '../protocol/topic-name';

/** Leader id of a partition that has no leader (Kafka's LeaderConstants.NO_LEADER). */
export const NO_LEADER = -1;

/** The name of the partition the metadata log is kept in (KRaft's), on every broker. */
export const METADATA_TOPIC = '__cluster_metadata';

export interface RegisterBrokerRecord {
  readonly type: 'RegisterBroker';
  readonly brokerId: number;
}
export interface FenceBrokerRecord {
  readonly type: 'FenceBroker';
  readonly brokerId: number;
}
export interface UnfenceBrokerRecord {
  readonly type: 'UnfenceBroker';
  readonly brokerId: number;
}
export interface TopicRecord {
  readonly type: 'Topic';
  readonly name: string;
  readonly topicId: string;
  readonly configs: Readonly<Record<string, string>>;
}
export interface PartitionRecord {
  readonly type: 'Partition';
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** NO_LEADER (-1) when the partition is offline. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}
/** Absent `leader` / `isr` mean "unchanged", as in KRaft's PartitionChangeRecord. */
export interface PartitionChangeRecord {
  readonly type: 'PartitionChange';
  readonly topic: string;
  readonly partition: number;
  readonly leader?: number;
  readonly isr?: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}
export interface RemoveTopicRecord {
  readonly type: 'RemoveTopic';
  readonly name: string;
}
/**
 * The first record of every controller epoch (KRaft's LeaderChangeMessage): committing it
 * commits everything the new controller adopted from earlier epochs (Raft's rule that a
 * leader only counts replicas of entries from its own term).
 */
export interface LeaderChangeRecord {
  readonly type: 'LeaderChange';
  readonly controllerId: number;
  readonly epoch: number;
}

export type MetadataRecord =
  | RegisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | RemoveTopicRecord
  | LeaderChangeRecord;

export type MetadataRecordType = MetadataRecord['type'];

const FIELDS: Record<MetadataRecordType, { required: readonly string[]; optional?: readonly string[] }> = {
  RegisterBroker: { required: ['brokerId'] },
  FenceBroker: { required: ['brokerId'] },
  UnfenceBroker: { required: ['brokerId'] },
  Topic: { required: ['name', 'topicId', 'configs'] },
  Partition: { required: ['topic', 'partition', 'replicas', 'isr', 'leader', 'leaderEpoch', 'partitionEpoch'] },
  PartitionChange: { required: ['topic', 'partition', 'leaderEpoch', 'partitionEpoch'], optional: ['leader', 'isr'] },
  RemoveTopic: { required: ['name'] },
  LeaderChange: { required: ['controllerId', 'epoch'] },
};

/** Plain JSON text of a record; `parseMetadataRecord(JSON.parse(encode(r)))` gives `r` back. */
export function encodeMetadataRecord(record: MetadataRecord): string {
  return JSON.stringify(record);
}

/** Validates an untrusted value (typically JSON.parse output) as a metadata record. */
export function parseMetadataRecord(value: unknown): MetadataRecord {
  const obj = plainObject(value, 'record');
  const type = obj.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    throw new InvalidMetadataRecordError(`unknown record type ${safeString(type)}`);
  }
  const recordType = type as MetadataRecordType;
  const fields = FIELDS[recordType];
  const allowed = new Set(['type', ...fields.required, ...(fields.optional ?? [])]);
  for (const key of Object.keys(obj)) {
    // Strict: an unknown field may mean a newer writer whose meaning this broker would drop.
    if (!allowed.has(key)) throw new InvalidMetadataRecordError(`${recordType} has unexpected field ${safeString(key)}`);
  }
  for (const key of fields.required) {
    if (!Object.hasOwn(obj, key)) throw new InvalidMetadataRecordError(`${recordType} lacks field ${key}`);
  }
  switch (recordType) {
    case 'RegisterBroker':
    case 'FenceBroker':
    case 'UnfenceBroker':
      return { type: recordType, brokerId: brokerId(obj.brokerId, 'brokerId') };
    case 'Topic':
      return {
        type: 'Topic',
        name: topicName(obj.name, 'name'),
        topicId: topicId(obj.topicId),
        configs: configs(obj.configs),
      };
    case 'RemoveTopic':
      return { type: 'RemoveTopic', name: topicName(obj.name, 'name') };
    case 'LeaderChange':
      return {
        type: 'LeaderChange',
        controllerId: brokerId(obj.controllerId, 'controllerId'),
        epoch: nonNegativeInt(obj.epoch, 'epoch'),
      };
    case 'Partition': {
      const replicas = brokerList(obj.replicas, 'replicas');
      if (replicas.length === 0) throw new InvalidMetadataRecordError('Partition has no replicas');
      const isr = brokerList(obj.isr, 'isr');
      const leader = leaderId(obj.leader);
      checkPartitionShape(replicas, isr, leader);
      return {
        type: 'Partition',
        topic: topicName(obj.topic, 'topic'),
        partition: nonNegativeInt(obj.partition, 'partition'),
        replicas,
        isr,
        leader,
        leaderEpoch: nonNegativeInt(obj.leaderEpoch, 'leaderEpoch'),
        partitionEpoch: nonNegativeInt(obj.partitionEpoch, 'partitionEpoch'),
      };
    }
    case 'PartitionChange': {
      const record: {
        type: 'PartitionChange';
        topic: string;
        partition: number;
        leader?: number;
        isr?: readonly number[];
        leaderEpoch: number;
        partitionEpoch: number;
      } = {
        type: 'PartitionChange',
        topic: topicName(obj.topic, 'topic'),
        partition: nonNegativeInt(obj.partition, 'partition'),
        leaderEpoch: nonNegativeInt(obj.leaderEpoch, 'leaderEpoch'),
        partitionEpoch: nonNegativeInt(obj.partitionEpoch, 'partitionEpoch'),
      };
      if (Object.hasOwn(obj, 'leader')) record.leader = leaderId(obj.leader);
      if (Object.hasOwn(obj, 'isr')) {
        const isr = brokerList(obj.isr, 'isr');
        // Kafka never empties an ISR: without ELR the last member stays to mark who has the data.
        if (isr.length === 0) throw new InvalidMetadataRecordError('PartitionChange isr is empty');
        record.isr = isr;
      }
      if (record.leader !== undefined && record.leader !== NO_LEADER && record.isr && !record.isr.includes(record.leader)) {
        throw new InvalidMetadataRecordError(`leader ${record.leader} is not in isr`);
      }
      return record;
    }
  }
}

/** Invariants a partition always holds: ISR ⊆ replicas, the leader (if any) in the ISR. */
function checkPartitionShape(replicas: readonly number[], isr: readonly number[], leader: number): void {
  if (isr.length === 0) throw new InvalidMetadataRecordError('Partition isr is empty');
  for (const id of isr) {
    if (!replicas.includes(id)) throw new InvalidMetadataRecordError(`isr member ${id} is not a replica`);
  }
  if (leader !== NO_LEADER && !isr.includes(leader)) {
    throw new InvalidMetadataRecordError(`leader ${leader} is not in isr`);
  }
}

function plainObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidMetadataRecordError(`${what} is not an object`);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new InvalidMetadataRecordError(`${what} is not a plain object`);
  return value as Record<string, unknown>;
}

function nonNegativeInt(value: unknown, field: string): number {
  // Kafka's fields are int32: a larger id or epoch would not round-trip through a real broker.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new InvalidMetadataRecordError(`${field} must be an int32 >= 0, got ${safeString(value)}`);
  }
  return value;
}

function brokerId(value: unknown, field: string): number {
  return nonNegativeInt(value, field);
}

function leaderId(value: unknown): number {
  if (value === NO_LEADER) return NO_LEADER;
  return nonNegativeInt(value, 'leader');
}

function brokerList(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new InvalidMetadataRecordError(`${field} is not an array`);
  const ids = value.map((id: unknown) => brokerId(id, field));
  if (new Set(ids).size !== ids.length) throw new InvalidMetadataRecordError(`${field} has a broker twice`);
  return ids;
}

function topicName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InvalidMetadataRecordError(`${field} is not a string`);
  try {
    validateTopicName(value);
  } catch (error) {
    if (error instanceof InvalidTopicError) throw new InvalidMetadataRecordError(error.message);
    throw error;
  }
  return value;
}

const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/u;

function topicId(value: unknown): string {
  // Kafka's Uuid.toString: 16 bytes in URL-safe base64 without padding.
  if (typeof value !== 'string' || !TOPIC_ID.test(value)) {
    throw new InvalidMetadataRecordError(`topicId must be 22 base64url characters, got ${safeString(value)}`);
  }
  return value;
}

function configs(value: unknown): Record<string, string> {
  const obj = plainObject(value, 'configs');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw new InvalidMetadataRecordError(`config ${safeString(key)} is not a string`);
    out[key] = v;
  }
  return { ...out };
}

function safeString(value: unknown): string {
  try {
    const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
    return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  } catch {
    return typeof value;
  }
}
