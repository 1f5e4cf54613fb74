/**
 * What the active controller decides about topics and partitions, as pure functions from the
 * current metadata image (plus live brokers, a request and injected randomness) to metadata
 * records. The caller appends the records to the metadata log and applies them; nothing here
 * does I/O or keeps state, so a newly elected controller decides exactly as the old one would
 * have from the same log (KRaft's ReplicationControlManager and PartitionChangeBuilder).
 *
 * Leadership rules, as in Kafka with unclean.leader.election.enable=false and without ELR:
 *  - Only an ISR member that is registered and unfenced may become leader, so a leader never
 *    lacks a committed record.
 *  - A fenced broker leaves every ISR; when it was the last member the ISR keeps it and the
 *    partition goes offline (leader -1) until that broker comes back.
 *  - Every leader change bumps leaderEpoch; every change bumps partitionEpoch.
 */
import {
  FencedLeaderEpochError,
  InvalidConfigurationError,
  InvalidRequestError,
  InvalidTopicError,
  NotLeaderOrFollowerError,
  TabkaError,
  TopicAlreadyExistsError,
  UnknownTopicOrPartitionError,
} from '../errors';
import { validateTopicName } from '../protocol/topic-name';
import { getPartition, isActiveBroker } from './metadata-image';
import type { MetadataImage, PartitionImage } from './metadata-image';
import { METADATA_TOPIC, NO_LEADER } from './metadata-records';
import type { MetadataRecord, PartitionChangeRecord, PartitionRecord } from './metadata-records';
import { assignReplicasToBrokers } from './replica-assignment';
import { sameMembers } from '../util/same-members';

export type ControllerResult =
  | { readonly ok: true; readonly records: readonly MetadataRecord[] }
  | { readonly ok: false; readonly error: TabkaError };

export interface CreateTopicRequest {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface TopicResult {
  readonly name: string;
  readonly result: ControllerResult;
}

/**
 * One result per requested topic, in request order; one bad topic does not fail the others.
 * The records of all successful topics can be appended together: each topic's records only
 * depend on the image, not on each other (topic ids are kept distinct across the request).
 */
export function createTopics(
  image: MetadataImage,
  liveBrokerIds: readonly number[],
  requests: readonly CreateTopicRequest[],
  random: () => number,
): TopicResult[] {
  // Only brokers the metadata knows as unfenced can host replicas: the image must accept the records.
  const usable = liveBrokerIds.filter((id) => isActiveBroker(image, id));
  const counts = countNames(requests.map((r) => r.name));
  const takenIds = new Set([...image.topics.values()].map((t) => t.topicId));
  return requests.map((request) => ({
    name: request.name,
    result: attempt(() => {
      // Kafka answers INVALID_REQUEST to every copy of a name given twice, not first-wins.
      if ((counts.get(request.name) ?? 0) > 1) throw new InvalidRequestError(`topic ${request.name} is listed twice`);
      validateTopicName(request.name);
      // A topic of the metadata log's own name would take that log over as its replica.
      if (request.name === METADATA_TOPIC) throw new InvalidTopicError(request.name, 'the name is reserved for the cluster metadata log');
      if (image.topics.has(request.name)) throw new TopicAlreadyExistsError(request.name);
      const configs = validateTopicConfigs(request.configs ?? {});
      const assignment = assignReplicasToBrokers(usable, request.numPartitions, request.replicationFactor, { random });
      const topicId = newTopicId(random, takenIds);
      takenIds.add(topicId);
      const records: MetadataRecord[] = [{ type: 'Topic', name: request.name, topicId, configs }];
      assignment.forEach((replicas, partition) => {
        const record: PartitionRecord = {
          type: 'Partition',
          topic: request.name,
          partition,
          replicas: [...replicas],
          isr: [...replicas],
          leader: replicas[0] ?? NO_LEADER,
          leaderEpoch: 0,
          partitionEpoch: 0,
        };
        records.push(record);
      });
      return records;
    }),
  }));
}

export function deleteTopics(image: MetadataImage, names: readonly string[]): TopicResult[] {
  const counts = countNames(names);
  return names.map((name) => ({
    name,
    result: attempt(() => {
      if ((counts.get(name) ?? 0) > 1) throw new InvalidRequestError(`topic ${name} is listed twice`);
      // Partition -1: the whole topic is unknown, not one of its partitions.
      if (!image.topics.has(name)) throw new UnknownTopicOrPartitionError(name, -1);
      return [{ type: 'RemoveTopic', name }];
    }),
  }));
}

/**
 * The broker stopped heartbeating: fence it, move leadership of its partitions to another ISR
 * member and take it out of every ISR.
 */
export function brokerFenced(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const broker = image.brokers.get(brokerId);
  if (!broker) throw new InvalidRequestError(`broker ${brokerId} is not registered`);
  const records: MetadataRecord[] = broker.fenced ? [] : [{ type: 'FenceBroker', brokerId }];
  const eligible = (id: number) => id !== brokerId && isActiveBroker(image, id);
  for (const partition of allPartitions(image)) {
    if (!partition.isr.includes(brokerId)) continue;
    const remaining = partition.isr.filter((id) => id !== brokerId);
    if (partition.leader === brokerId) {
      const leader = partition.replicas.find((id) => remaining.includes(id) && eligible(id)) ?? NO_LEADER;
      records.push(change(partition, { leader, isr: remaining.length > 0 ? remaining : [brokerId] }, true));
    } else if (remaining.length > 0) {
      records.push(change(partition, { isr: remaining }, false));
    }
    // else: an offline partition whose last ISR member this is keeps it, to know who has the data.
  }
  return records;
}

/** The broker heartbeats again: unfence it, and let it lead offline partitions it is the last ISR member of. */
export function brokerUnfenced(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const broker = image.brokers.get(brokerId);
  if (!broker) throw new InvalidRequestError(`broker ${brokerId} is not registered`);
  const records: MetadataRecord[] = broker.fenced ? [{ type: 'UnfenceBroker', brokerId }] : [];
  for (const partition of allPartitions(image)) {
    if (partition.leader === NO_LEADER && partition.isr.includes(brokerId)) {
      const leader = partition.replicas.find(
        (id) => partition.isr.includes(id) && (id === brokerId || isActiveBroker(image, id)),
      );
      if (leader !== undefined) records.push(change(partition, { leader }, true));
    }
  }
  return records;
}

/**
 * A leader asks to change its ISR (Kafka's AlterPartition): to add a follower that caught up,
 * or drop one that fell behind. Returns no records when the ISR is already the requested one.
 */
export function alterIsr(
  image: MetadataImage,
  topic: string,
  partitionIndex: number,
  newIsr: readonly number[],
  requestedByLeader: number,
  leaderEpoch: number,
): ControllerResult {
  return attempt(() => {
    const partition = getPartition(image, topic, partitionIndex);
    if (!partition) throw new UnknownTopicOrPartitionError(topic, partitionIndex);
    if (partition.leader !== requestedByLeader) {
      throw new NotLeaderOrFollowerError(topic, partitionIndex, requestedByLeader, partition.leader);
    }
    if (leaderEpoch !== partition.leaderEpoch) {
      throw new FencedLeaderEpochError(topic, partitionIndex, leaderEpoch, partition.leaderEpoch);
    }
    if (new Set(newIsr).size !== newIsr.length) throw new InvalidRequestError('the new ISR lists a broker twice');
    if (!newIsr.includes(requestedByLeader)) throw new InvalidRequestError('the new ISR does not contain the leader');
    for (const id of newIsr) {
      if (!partition.replicas.includes(id)) throw new InvalidRequestError(`broker ${id} is not a replica of ${topic}-${partitionIndex}`);
      // Kafka's INELIGIBLE_REPLICA: a fenced broker's copy may be stale by the time it is counted.
      if (!isActiveBroker(image, id)) throw new InvalidRequestError(`broker ${id} is fenced or unregistered`);
    }
    if (sameMembers(newIsr, partition.isr)) return [];
    return [change(partition, { isr: [...newIsr] }, false)];
  });
}

/**
 * Moves leadership back to each partition's preferred replica (the first one) where it is
 * live, unfenced and in the ISR, so leaders stay spread as the assignment spread them; and
 * brings offline partitions back under an ISR member that is live again.
 */
export function preferredLeaderElection(image: MetadataImage, liveBrokerIds: readonly number[]): MetadataRecord[] {
  const live = new Set(liveBrokerIds.filter((id) => isActiveBroker(image, id)));
  const records: MetadataRecord[] = [];
  for (const partition of allPartitions(image)) {
    const preferred = partition.replicas[0];
    if (partition.leader === NO_LEADER) {
      const leader = partition.replicas.find((id) => partition.isr.includes(id) && live.has(id));
      if (leader !== undefined) records.push(change(partition, { leader }, true));
    } else if (
      preferred !== undefined &&
      preferred !== partition.leader &&
      live.has(preferred) &&
      partition.isr.includes(preferred)
    ) {
      records.push(change(partition, { leader: preferred }, true));
    }
  }
  return records;
}

/** Configs this cluster implements, with Kafka's value rules. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    if (typeof value !== 'string') throw new InvalidConfigurationError(key, String(value), 'value is not a string');
    switch (key) {
      case 'retention.ms':
      case 'retention.bytes':
        // -1 is Kafka's "no limit".
        checkLong(key, value, -1);
        break;
      case 'min.insync.replicas':
        checkLong(key, value, 1);
        break;
      case 'max.message.bytes':
        checkLong(key, value, 0);
        break;
      case 'cleanup.policy':
        // Compaction is not implemented: accepting it would silently keep every record.
        if (value !== 'delete') throw new InvalidConfigurationError(key, value, 'only "delete" is supported');
        break;
      default:
        throw new InvalidConfigurationError(key, value, 'unsupported config key');
    }
    out[key] = value;
  }
  return out;
}

function checkLong(key: string, value: string, min: number): void {
  const n = /^-?\d{1,16}$/u.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidConfigurationError(key, value, 'not an integer');
  if (n < min) throw new InvalidConfigurationError(key, value, `must be at least ${min}`);
}

function change(
  partition: PartitionImage,
  update: { leader?: number; isr?: readonly number[] },
  newLeaderEpoch: boolean,
): PartitionChangeRecord {
  return {
    type: 'PartitionChange',
    topic: partition.topic,
    partition: partition.partition,
    ...(update.leader !== undefined ? { leader: update.leader } : {}),
    ...(update.isr !== undefined ? { isr: [...update.isr] } : {}),
    leaderEpoch: newLeaderEpoch ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
  };
}

function* allPartitions(image: MetadataImage): Iterable<PartitionImage> {
  for (const topic of image.topics.values()) yield* topic.partitions;
}

function attempt(decide: () => readonly MetadataRecord[]): ControllerResult {
  try {
    return { ok: true, records: decide() };
  } catch (error) {
    if (error instanceof TabkaError) return { ok: false, error };
    throw error;
  }
}

function countNames(names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A Kafka-style topic id: 16 random bytes as 22 base64url characters, never one already used. */
export function newTopicId(random: () => number, taken: ReadonlySet<string> = new Set()): string {
  for (let attempt = 0; ; attempt++) {
    const bytes = Array.from({ length: 16 }, () => Math.min(255, Math.max(0, Math.floor(random() * 256))));
    // Mixing in the attempt number ends the loop even for a random() that always returns the same value.
    bytes[15] = (bytes[15] ?? 0) ^ (attempt & 255);
    bytes[14] = (bytes[14] ?? 0) ^ ((attempt >> 8) & 255);
    bytes[13] = (bytes[13] ?? 0) ^ ((attempt >> 16) & 255);
    let bits = 0;
    let value = 0;
    let id = '';
    for (const byte of bytes) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        id += BASE64URL[(value >> bits) & 63];
      }
      value &= (1 << bits) - 1;
    }
    id += BASE64URL[(value << (6 - bits)) & 63];
    // Kafka reserves the all-zero id (Uuid.ZERO) as "no id".
    if (!taken.has(id) && id !== 'AAAAAAAAAAAAAAAAAAAAAA') return id;
  }
}
