/**
 * The records of `__consumer_offsets`, Kafka's internal topic where group coordinators keep
 * what must survive them: committed offsets (key: group, topic, partition) and each group's
 * membership and assignment (key: group). A null value is a tombstone (the group or offset
 * was deleted). Keys and values are JSON, so the log can be read in the demo; Kafka's own are
 * binary schemas with the same fields.
 */
import type { TopicPartition } from '../consumer/assignor';
import type { RecordInput } from '../protocol/record-batch';

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';
/** Kafka's offsets.topic.num.partitions is 50; tabs pay a fetcher per replica, so fewer. */
export const CONSUMER_OFFSETS_PARTITIONS = 4;

/** Kafka's GroupCoordinator.partitionFor: abs(groupId.hashCode()) % partitions. */
export function offsetsPartitionFor(groupId: string, partitions = CONSUMER_OFFSETS_PARTITIONS): number {
  let hash = 0;
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0;
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0 instead of overflowing.
  return (hash === -2147483648 ? 0 : Math.abs(hash)) % partitions;
}

export interface MemberSubscriptionMetadata {
  readonly topics: readonly string[];
  readonly ownedPartitions: readonly TopicPartition[];
  readonly generation: number;
}

export interface StoredMember {
  readonly memberId: string;
  /** The broker the member joined through (-1: unknown). */
  readonly host: number;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly subscription: MemberSubscriptionMetadata;
  readonly assignment: readonly TopicPartition[];
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  /** The leader's assignment was stored (false: written at join, before the sync). */
  readonly assigned: boolean;
  readonly members: readonly StoredMember[];
}

export interface OffsetValue {
  readonly offset: number;
  readonly metadata: string | null;
  readonly commitTimestamp: number;
}

export type GroupRecord =
  | { readonly type: 'offset'; readonly group: string; readonly topic: string; readonly partition: number; readonly value: OffsetValue | null }
  | { readonly type: 'group'; readonly group: string; readonly value: GroupMetadataValue | null };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function groupRecordToInput(record: GroupRecord, timestamp: number): RecordInput {
  const key =
    record.type === 'offset'
      ? { type: 'offset', group: record.group, topic: record.topic, partition: record.partition }
      : { type: 'group', group: record.group };
  return {
    key: encoder.encode(JSON.stringify(key)),
    value: record.value === null ? null : encoder.encode(JSON.stringify(record.value)),
    timestamp,
  };
}

/** A record of the offsets log back to a GroupRecord; null for anything that is not one. */
export function parseGroupRecord(key: Uint8Array | null, value: Uint8Array | null): GroupRecord | null {
  const parsedKey = parseJson(key);
  if (!isObject(parsedKey) || typeof parsedKey['group'] !== 'string') return null;
  const group = parsedKey['group'];
  const parsedValue = value === null ? null : parseJson(value);
  if (parsedKey['type'] === 'offset') {
    const { topic, partition } = parsedKey;
    if (typeof topic !== 'string' || !isCount(partition)) return null;
    if (parsedValue === null) return { type: 'offset', group, topic, partition, value: null };
    const offsetValue = asOffsetValue(parsedValue);
    return offsetValue ? { type: 'offset', group, topic, partition, value: offsetValue } : null;
  }
  if (parsedKey['type'] === 'group') {
    if (parsedValue === null) return { type: 'group', group, value: null };
    const groupValue = asGroupValue(parsedValue);
    return groupValue ? { type: 'group', group, value: groupValue } : null;
  }
  return null;
}

function parseJson(bytes: Uint8Array | null): unknown {
  if (bytes === null) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function asOffsetValue(value: unknown): OffsetValue | null {
  if (!isObject(value) || !isCount(value['offset']) || typeof value['commitTimestamp'] !== 'number') return null;
  const metadata = value['metadata'];
  return { offset: value['offset'], metadata: typeof metadata === 'string' ? metadata : null, commitTimestamp: value['commitTimestamp'] };
}

export function asTopicPartitions(value: unknown): TopicPartition[] | null {
  if (!Array.isArray(value)) return null;
  const out: TopicPartition[] = [];
  for (const item of value) {
    if (!isObject(item) || typeof item['topic'] !== 'string' || !isCount(item['partition'])) return null;
    out.push({ topic: item['topic'], partition: item['partition'] });
  }
  return out;
}

export function asSubscription(value: unknown): MemberSubscriptionMetadata | null {
  if (!isObject(value)) return null;
  const { topics, generation } = value;
  const ownedPartitions = asTopicPartitions(value['ownedPartitions']);
  if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string') || ownedPartitions === null) return null;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation)) return null;
  return { topics: topics as string[], ownedPartitions, generation };
}

function asStoredMember(value: unknown): StoredMember | null {
  if (!isObject(value)) return null;
  const { memberId, clientId, sessionTimeoutMs, rebalanceTimeoutMs } = value;
  const subscription = asSubscription(value['subscription']);
  const assignment = asTopicPartitions(value['assignment']);
  if (typeof memberId !== 'string' || typeof clientId !== 'string' || !isCount(sessionTimeoutMs) || !isCount(rebalanceTimeoutMs)) return null;
  if (!subscription || !assignment) return null;
  const host = typeof value['host'] === 'number' && Number.isSafeInteger(value['host']) ? value['host'] : -1;
  return { memberId, host, clientId, sessionTimeoutMs, rebalanceTimeoutMs, subscription, assignment };
}

function asGroupValue(value: unknown): GroupMetadataValue | null {
  if (!isObject(value) || typeof value['protocolType'] !== 'string' || !isCount(value['generation']) || !Array.isArray(value['members'])) return null;
  const { protocol, leader } = value;
  if ((protocol !== null && typeof protocol !== 'string') || (leader !== null && typeof leader !== 'string')) return null;
  const members: StoredMember[] = [];
  for (const item of value['members']) {
    const member = asStoredMember(item);
    if (!member) return null;
    members.push(member);
  }
  return { protocolType: value['protocolType'], generation: value['generation'], protocol, leader, assigned: value['assigned'] === true, members };
}
