/**
 * The metadata image: what the cluster metadata says after replaying the metadata log up to an
 * offset (KRaft's MetadataImage). Immutable: `applyRecord` returns a new image and never
 * touches the old one, so a reader holding an image sees a consistent snapshot while the
 * controller builds the next. Replay is deterministic: the same records give the same image on
 * every broker, and a record that does not fit (a partition of an unknown topic, an epoch that
 * goes back) throws MetadataConflictError instead of being half-applied.
 *
 * As in KRaft, a registered broker starts fenced; it takes part in leadership only once an
 * UnfenceBroker record says it is alive.
 */
import { MetadataConflictError } from '../errors';
import { NO_LEADER } from './metadata-records';
import type { MetadataRecord, PartitionChangeRecord, PartitionRecord } from './metadata-records';

export interface BrokerImage {
  readonly brokerId: number;
  readonly fenced: boolean;
}

/** A partition's current state: the fields of its Partition record, with changes applied. */
export type PartitionImage = Omit<PartitionRecord, 'type'>;

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  readonly configs: Readonly<Record<string, string>>;
  /** Indexed by partition number: partitions are created 0, 1, 2... in order. */
  readonly partitions: readonly PartitionImage[];
}

export interface MetadataImage {
  /** Offset of the last applied record; -1 for the empty image. */
  readonly offset: number;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly topics: ReadonlyMap<string, TopicImage>;
}

export const EMPTY_IMAGE: MetadataImage = Object.freeze({ offset: -1, brokers: new Map(), topics: new Map() });

/** The image after `record`, written at `offset` of the metadata log. Throws MetadataConflictError. */
export function applyRecord(image: MetadataImage, record: MetadataRecord, offset: number): MetadataImage {
  const conflict = (reason: string) => new MetadataConflictError(offset, record.type, reason);
  if (!Number.isSafeInteger(offset) || offset <= image.offset) {
    // Replaying a record twice would e.g. bump an epoch twice: offsets must strictly increase.
    throw conflict(`offset must be greater than the image's ${image.offset}`);
  }
  switch (record.type) {
    case 'RegisterBroker': {
      // Re-registration (a restarted tab) keeps the current state: fencing is the controller's call.
      if (image.brokers.has(record.brokerId)) return Object.freeze({ ...image, offset });
      return withBroker(image, offset, { brokerId: record.brokerId, fenced: true });
    }
    case 'LeaderChange':
      return Object.freeze({ ...image, offset });
    case 'FenceBroker':
    case 'UnfenceBroker': {
      if (!image.brokers.has(record.brokerId)) throw conflict(`broker ${record.brokerId} is not registered`);
      return withBroker(image, offset, { brokerId: record.brokerId, fenced: record.type === 'FenceBroker' });
    }
    case 'Topic': {
      if (image.topics.has(record.name)) throw conflict(`topic ${record.name} already exists`);
      for (const topic of image.topics.values()) {
        if (topic.topicId === record.topicId) throw conflict(`topic id ${record.topicId} is taken by ${topic.name}`);
      }
      return withTopic(image, offset, {
        name: record.name,
        topicId: record.topicId,
        configs: Object.freeze({ ...record.configs }),
        partitions: Object.freeze([]),
      });
    }
    case 'RemoveTopic': {
      if (!image.topics.has(record.name)) throw conflict(`topic ${record.name} does not exist`);
      const topics = new Map(image.topics);
      topics.delete(record.name);
      return Object.freeze({ ...image, offset, topics });
    }
    case 'Partition': {
      const topic = image.topics.get(record.topic);
      if (!topic) throw conflict(`topic ${record.topic} does not exist`);
      if (record.partition !== topic.partitions.length) {
        throw conflict(`expected partition ${topic.partitions.length} of ${record.topic}, got ${record.partition}`);
      }
      for (const id of record.replicas) {
        if (!image.brokers.has(id)) throw conflict(`replica ${id} is not a registered broker`);
      }
      return withPartition(image, offset, topic, partitionFrom(record));
    }
    case 'PartitionChange': {
      const topic = image.topics.get(record.topic);
      const current = topic?.partitions[record.partition];
      if (!topic || !current) throw conflict(`partition ${record.topic}-${record.partition} does not exist`);
      const next = changed(current, record, conflict);
      return withPartition(image, offset, topic, next);
    }
  }
}

/** Applies `records` from `firstOffset` on, one offset each. */
export function applyRecords(image: MetadataImage, records: readonly MetadataRecord[], firstOffset: number): MetadataImage {
  let next = image;
  records.forEach((record, i) => {
    next = applyRecord(next, record, firstOffset + i);
  });
  return next;
}

export function getPartition(image: MetadataImage, topic: string, partition: number): PartitionImage | undefined {
  return image.topics.get(topic)?.partitions[partition];
}

/** Registered and not fenced: the brokers that may lead or join an ISR. */
export function isActiveBroker(image: MetadataImage, brokerId: number): boolean {
  const broker = image.brokers.get(brokerId);
  return broker !== undefined && !broker.fenced;
}

function changed(
  current: PartitionImage,
  record: PartitionChangeRecord,
  conflict: (reason: string) => MetadataConflictError,
): PartitionImage {
  if (record.partitionEpoch !== current.partitionEpoch + 1) {
    // Every change bumps the partition epoch by exactly one: a gap or repeat means a lost or replayed change.
    throw conflict(`partitionEpoch ${record.partitionEpoch} does not follow ${current.partitionEpoch}`);
  }
  const leader = record.leader ?? current.leader;
  const isr = record.isr ?? current.isr;
  if (record.leaderEpoch < current.leaderEpoch) {
    throw conflict(`leaderEpoch ${record.leaderEpoch} goes back from ${current.leaderEpoch}`);
  }
  if (leader !== current.leader && record.leaderEpoch <= current.leaderEpoch) {
    // Followers truncate by leader epoch: a new leader under an old epoch would merge two histories.
    throw conflict(`leader changes from ${current.leader} to ${leader} without a new leaderEpoch`);
  }
  for (const id of isr) {
    if (!current.replicas.includes(id)) throw conflict(`isr member ${id} is not a replica`);
  }
  if (leader !== NO_LEADER && !isr.includes(leader)) throw conflict(`leader ${leader} is not in isr`);
  return Object.freeze({
    ...current,
    leader,
    isr: Object.freeze([...isr]),
    leaderEpoch: record.leaderEpoch,
    partitionEpoch: record.partitionEpoch,
  });
}

function partitionFrom(record: PartitionRecord): PartitionImage {
  return Object.freeze({
    topic: record.topic,
    partition: record.partition,
    replicas: Object.freeze([...record.replicas]),
    isr: Object.freeze([...record.isr]),
    leader: record.leader,
    leaderEpoch: record.leaderEpoch,
    partitionEpoch: record.partitionEpoch,
  });
}

function withBroker(image: MetadataImage, offset: number, broker: BrokerImage): MetadataImage {
  const brokers = new Map(image.brokers);
  brokers.set(broker.brokerId, Object.freeze(broker));
  return Object.freeze({ ...image, offset, brokers });
}

function withTopic(image: MetadataImage, offset: number, topic: TopicImage): MetadataImage {
  const topics = new Map(image.topics);
  topics.set(topic.name, Object.freeze(topic));
  return Object.freeze({ ...image, offset, topics });
}

function withPartition(image: MetadataImage, offset: number, topic: TopicImage, partition: PartitionImage): MetadataImage {
  const partitions = [...topic.partitions];
  partitions[partition.partition] = partition;
  return withTopic(image, offset, { ...topic, partitions: Object.freeze(partitions) });
}
