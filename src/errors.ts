/**
 * Typed errors, named after Kafka's error codes where one fits. Every error carries a
 * `code` (stable, machine-readable), `retriable` (whether retrying the same request can
 * succeed, as in Kafka), and the details a caller needs to act.
 */

export abstract class TabkaError extends Error {
  abstract readonly code: string;
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Plain data that survives structured clone (postMessage), see `errorFromJSON`. */
  toJSON(): SerializedTabkaError {
    return { name: this.name, message: this.message, details: this.details() };
  }

  protected details(): Record<string, unknown> {
    return {};
  }
}

export interface SerializedTabkaError {
  name: string;
  message: string;
  details: Record<string, unknown>;
}

/** A topic name breaks Kafka's rule: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". */
export class InvalidTopicError extends TabkaError {
  readonly code = 'INVALID_TOPIC_EXCEPTION';
  constructor(readonly topic: string, reason: string) {
    super(`Invalid topic name ${JSON.stringify(topic)}: ${reason}`);
  }
  protected override details() {
    return { topic: this.topic };
  }
}

/** A record batch is larger than the log accepts (max.message.bytes). */
export class RecordTooLargeError extends TabkaError {
  readonly code = 'RECORD_TOO_LARGE';
  constructor(readonly sizeBytes: number, readonly maxBytes: number) {
    super(`Record batch of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`);
  }
  protected override details() {
    return { sizeBytes: this.sizeBytes, maxBytes: this.maxBytes };
  }
}

/** Bytes that do not decode to a valid record batch: truncated, bad lengths, bad CRC. */
export class CorruptRecordError extends TabkaError {
  readonly code = 'CORRUPT_MESSAGE';
  constructor(reason: string) {
    super(`Corrupt record batch: ${reason}`);
  }
}

const CODEC_NAMES: Readonly<Record<number, string>> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/** A record batch (or a producer) uses a compression codec tabka cannot read: only gzip is built in. */
export class UnsupportedCompressionTypeError extends TabkaError {
  readonly code = 'UNSUPPORTED_COMPRESSION_TYPE';
  constructor(readonly codec: number) {
    super(`Compression codec ${codec} (${CODEC_NAMES[codec] ?? 'unknown'}) is not supported: tabka reads and writes gzip (1) and uncompressed (0) batches`);
  }
  protected override details() {
    return { codec: this.codec };
  }
}

/** A batch is well-formed but not acceptable here (e.g. wrong base offset for a follower append). */
export class InvalidRecordError extends TabkaError {
  readonly code = 'INVALID_RECORD';
  constructor(reason: string) {
    super(`Invalid record batch: ${reason}`);
  }
}

/** An offset outside [logStartOffset, logEndOffset]. */
export class OffsetOutOfRangeError extends TabkaError {
  readonly code = 'OFFSET_OUT_OF_RANGE';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(
      `Offset ${offset} is out of range for ${topic}-${partition}: valid offsets are ` +
        `${logStartOffset} to ${logEndOffset}`,
    );
  }
  protected override details() {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
    };
  }
}

/** This broker has no log for the topic-partition. */
export class UnknownTopicOrPartitionError extends TabkaError {
  readonly code = 'UNKNOWN_TOPIC_OR_PARTITION';
  override readonly retriable = true;
  constructor(readonly topic: string, readonly partition: number) {
    // partition -1: the whole topic is unknown (admin requests name topics, not partitions).
    super(partition < 0 ? `Unknown topic ${topic}` : `This broker does not host ${topic}-${partition}`);
  }
  protected override details() {
    return { topic: this.topic, partition: this.partition };
  }
}

export type StorageFailure = 'quota' | 'aborted' | 'closed' | 'unknown';

/** IndexedDB refused a write or read. Nothing of the failed operation was applied. */
export class StorageError extends TabkaError {
  readonly code = 'KAFKA_STORAGE_ERROR';
  constructor(readonly reason: StorageFailure, message: string, options?: { cause?: unknown }) {
    super(`Storage error (${reason}): ${message}`, options);
  }
  protected override details() {
    return { reason: this.reason };
  }
}

/** No broker slot could be claimed (Web Locks missing, or every slot busy). */
export class BrokerSlotError extends TabkaError {
  readonly code = 'BROKER_SLOT_UNAVAILABLE';
  constructor(reason: string) {
    super(`Cannot claim a broker slot: ${reason}`);
  }
}

/** A peer sent bytes that are not a valid tabka frame: a broker answers or disconnects, never crashes. */
export class InvalidFrameError extends TabkaError {
  readonly code = 'INVALID_REQUEST';
  constructor(reason: string) {
    super(`Invalid frame: ${reason}`);
  }
}

/** A request for an API key or version this broker does not speak. */
export class UnsupportedVersionError extends TabkaError {
  readonly code = 'UNSUPPORTED_VERSION';
  constructor(readonly apiKey: number, readonly apiVersion: number) {
    super(`Unsupported API key ${apiKey} version ${apiVersion}`);
  }
  protected override details() {
    return { apiKey: this.apiKey, apiVersion: this.apiVersion };
  }
}

/** A signaling message breaks the protocol: not JSON, wrong shape, too large. */
export class SignalingProtocolError extends TabkaError {
  readonly code = 'INVALID_REQUEST';
  /** `closeCode` is the WebSocket close code the server answers this fault with. */
  constructor(readonly reason: string, readonly closeCode: number = 4002) {
    super(`Malformed signaling message: ${reason}`);
  }
  protected override details() {
    return { reason: this.reason, closeCode: this.closeCode };
  }
}

/**
 * The signaling connection failed or was closed: refused by the server (4000-4999 close
 * codes), unreachable (1006), or shut down (1001). Retriable when waiting can help.
 */
export class SignalingConnectionError extends TabkaError {
  readonly code = 'SIGNALING_CONNECTION_ERROR';
  override readonly retriable: boolean;
  constructor(readonly closeCode: number, readonly reason: string) {
    super(`Signaling connection closed (${closeCode}): ${reason || 'no reason given'}`);
    // Full rooms, timeouts, a busy, restarting or unreachable server can pass; a bad token cannot.
    this.retriable = [1001, 1006, 4003, 4004, 4006, 4010, 4011].includes(closeCode);
  }
  protected override details() {
    return { closeCode: this.closeCode, reason: this.reason };
  }
}

/** A topic asks for more replicas than there are live brokers, or fewer than one. */
export class InvalidReplicationFactorError extends TabkaError {
  readonly code = 'INVALID_REPLICATION_FACTOR';
  constructor(readonly requested: number, readonly available: number) {
    super(
      requested < 1
        ? `Replication factor must be at least 1, got ${requested}`
        : `Replication factor ${requested} is larger than the ${available} available brokers`,
    );
  }
  protected override details() {
    return { requested: this.requested, available: this.available };
  }
}

/** A topic asks for fewer than one partition. */
export class InvalidPartitionsError extends TabkaError {
  readonly code = 'INVALID_PARTITIONS';
  constructor(readonly requested: number) {
    super(`Number of partitions must be at least 1, got ${requested}`);
  }
  protected override details() {
    return { requested: this.requested };
  }
}

/** CreateTopics for a name the cluster already has. */
export class TopicAlreadyExistsError extends TabkaError {
  readonly code = 'TOPIC_ALREADY_EXISTS';
  constructor(readonly topic: string) {
    super(`Topic ${JSON.stringify(topic)} already exists`);
  }
  protected override details() {
    return { topic: this.topic };
  }
}

/** A topic config key this cluster does not support, or a value it cannot accept. */
export class InvalidConfigurationError extends TabkaError {
  readonly code = 'INVALID_CONFIG';
  constructor(readonly key: string, readonly value: string, reason: string) {
    super(`Invalid config ${key}=${JSON.stringify(value)}: ${reason}`);
  }
  protected override details() {
    return { key: this.key, value: this.value };
  }
}

/** The broker is not the partition's leader (or not a replica): refresh metadata and retry. */
export class NotLeaderOrFollowerError extends TabkaError {
  readonly code = 'NOT_LEADER_OR_FOLLOWER';
  override readonly retriable = true;
  constructor(readonly topic: string, readonly partition: number, readonly brokerId: number, readonly leader: number) {
    super(`Broker ${brokerId} is not the leader of ${topic}-${partition}; the leader is ${leader}`);
  }
  protected override details() {
    return { topic: this.topic, partition: this.partition, brokerId: this.brokerId, leader: this.leader };
  }
}

/** Only the ready controller decides on metadata; this broker is not it (or not yet). */
export class NotControllerError extends TabkaError {
  readonly code = 'NOT_CONTROLLER';
  override readonly retriable = true;
  constructor(readonly brokerId: number, readonly controllerId: number | null) {
    super(
      controllerId === null
        ? `Broker ${brokerId} is not the controller, and no controller is known right now`
        : `Broker ${brokerId} is not the controller; the controller is ${controllerId}`,
    );
  }
  protected override details() {
    return { brokerId: this.brokerId, controllerId: this.controllerId };
  }
}

/** A request got no answer in time; it may or may not have taken effect (Kafka's REQUEST_TIMED_OUT). */
export class RequestTimedOutError extends TabkaError {
  readonly code = 'REQUEST_TIMED_OUT';
  override readonly retriable = true;
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what} got no answer within ${timeoutMs} ms`);
  }
  protected override details() {
    return { what: this.what, timeoutMs: this.timeoutMs };
  }
}

/** The link to a peer broker went down while a request to it was in flight (Kafka's NETWORK_EXCEPTION). */
export class PeerLinkDownError extends TabkaError {
  readonly code = 'NETWORK_EXCEPTION';
  override readonly retriable = true;
  constructor(readonly brokerId: number) {
    super(`The link to broker ${brokerId} went down before it answered`);
  }
  protected override details() {
    return { brokerId: this.brokerId };
  }
}

/** acks=all with fewer in-sync replicas than the topic's min.insync.replicas: nothing was written. */
export class NotEnoughReplicasError extends TabkaError {
  readonly code = 'NOT_ENOUGH_REPLICAS';
  override readonly retriable = true;
  constructor(readonly topic: string, readonly partition: number, readonly inSyncReplicas: number, readonly minInSyncReplicas: number) {
    super(`${topic}-${partition} has ${inSyncReplicas} in-sync replicas, fewer than min.insync.replicas ${minInSyncReplicas}`);
  }
  protected override details() {
    return { topic: this.topic, partition: this.partition, inSyncReplicas: this.inSyncReplicas, minInSyncReplicas: this.minInSyncReplicas };
  }
}

/** An idempotent producer's batch does not follow the last sequence the leader has from it. */
export class OutOfOrderSequenceError extends TabkaError {
  readonly code = 'OUT_OF_ORDER_SEQUENCE_NUMBER';
  constructor(readonly producerId: number, readonly expected: number, readonly received: number) {
    super(`Producer ${producerId} sent sequence ${received}, the leader expected ${expected}`);
  }
  protected override details() {
    return { producerId: this.producerId, expected: this.expected, received: this.received };
  }
}

/** A batch from an older epoch of an idempotent producer than the leader has seen: a zombie retry. */
export class InvalidProducerEpochError extends TabkaError {
  readonly code = 'INVALID_PRODUCER_EPOCH';
  constructor(readonly producerId: number, readonly epoch: number, readonly current: number) {
    super(`Producer ${producerId} sent epoch ${epoch}, older than its current epoch ${current}`);
  }
  protected override details() {
    return { producerId: this.producerId, epoch: this.epoch, current: this.current };
  }
}

/** A producer or consumer used after disconnect(). */
export class ClientDisconnectedError extends TabkaError {
  readonly code = 'CLIENT_DISCONNECTED';
  constructor(readonly client: string) {
    super(`The ${client} is disconnected`);
  }
  protected override details() {
    return { client: this.client };
  }
}

/** A request carries a leader epoch other than the partition's current one. */
export class FencedLeaderEpochError extends TabkaError {
  readonly code = 'FENCED_LEADER_EPOCH';
  override readonly retriable = true;
  constructor(readonly topic: string, readonly partition: number, readonly requested: number, readonly current: number) {
    super(`Leader epoch ${requested} for ${topic}-${partition} does not match the current epoch ${current}`);
  }
  protected override details() {
    return { topic: this.topic, partition: this.partition, requested: this.requested, current: this.current };
  }
}

/** A well-formed request that asks for something invalid (e.g. an ISR outside the replicas). */
export class InvalidRequestError extends TabkaError {
  readonly code = 'INVALID_REQUEST';
  constructor(reason: string) {
    super(`Invalid request: ${reason}`);
  }
}

/** A metadata log record that is not a valid record: wrong type, fields or values. */
export class InvalidMetadataRecordError extends TabkaError {
  readonly code = 'INVALID_METADATA_RECORD';
  constructor(readonly reason: string) {
    super(`Invalid metadata record: ${reason}`);
  }
  protected override details() {
    return { reason: this.reason };
  }
}

/** A valid metadata record that does not fit the image it is applied to (e.g. a partition of an unknown topic). */
export class MetadataConflictError extends TabkaError {
  readonly code = 'METADATA_CONFLICT';
  constructor(readonly offset: number, readonly recordType: string, readonly reason: string) {
    super(`Metadata record ${recordType} at offset ${offset} does not apply: ${reason}`);
  }
  protected override details() {
    return { offset: this.offset, recordType: this.recordType, reason: this.reason };
  }
}

/** This broker does not coordinate the group (any more): find the coordinator again. */
export class NotCoordinatorError extends TabkaError {
  readonly code = 'NOT_COORDINATOR';
  override readonly retriable = true;
  constructor(readonly groupId: string, readonly brokerId: number) {
    super(`Broker ${brokerId} is not the coordinator of group ${JSON.stringify(groupId)}`);
  }
  protected override details() {
    return { groupId: this.groupId, brokerId: this.brokerId };
  }
}

/** The coordinator is still reading its groups from __consumer_offsets. */
export class CoordinatorLoadInProgressError extends TabkaError {
  readonly code = 'COORDINATOR_LOAD_IN_PROGRESS';
  override readonly retriable = true;
  constructor(readonly groupId: string) {
    super(`The coordinator of group ${JSON.stringify(groupId)} is still loading`);
  }
  protected override details() {
    return { groupId: this.groupId };
  }
}

/** The group is rebalancing: rejoin before syncing, heartbeating or committing. */
export class RebalanceInProgressError extends TabkaError {
  readonly code = 'REBALANCE_IN_PROGRESS';
  override readonly retriable = true;
  constructor(readonly groupId: string) {
    super(`Group ${JSON.stringify(groupId)} is rebalancing`);
  }
  protected override details() {
    return { groupId: this.groupId };
  }
}

/** A member speaks for a generation the group has left behind: it must rejoin. */
export class IllegalGenerationError extends TabkaError {
  readonly code = 'ILLEGAL_GENERATION';
  constructor(readonly groupId: string, readonly generationId: number, readonly currentGeneration: number, reason = '') {
    super(`Generation ${generationId} of group ${JSON.stringify(groupId)} is not the current one (${currentGeneration})${reason ? `: ${reason}` : ''}`);
  }
  protected override details() {
    return { groupId: this.groupId, generationId: this.generationId, currentGeneration: this.currentGeneration };
  }
}

/** The coordinator does not know this member (it left, or its session expired). */
export class UnknownMemberIdError extends TabkaError {
  readonly code = 'UNKNOWN_MEMBER_ID';
  constructor(readonly groupId: string, readonly memberId: string) {
    super(`Group ${JSON.stringify(groupId)} has no member ${JSON.stringify(memberId)}`);
  }
  protected override details() {
    return { groupId: this.groupId, memberId: this.memberId };
  }
}

/** A joining member shares no assignor with the group's members. */
export class InconsistentGroupProtocolError extends TabkaError {
  readonly code = 'INCONSISTENT_GROUP_PROTOCOL';
  constructor(readonly groupId: string, readonly protocols: readonly string[]) {
    super(`Group ${JSON.stringify(groupId)} uses none of the assignors ${protocols.join(', ')}`);
  }
  protected override details() {
    return { groupId: this.groupId, protocols: [...this.protocols] };
  }
}

export class GroupIdNotFoundError extends TabkaError {
  readonly code = 'GROUP_ID_NOT_FOUND';
  constructor(readonly groupId: string) {
    super(`Group ${JSON.stringify(groupId)} does not exist`);
  }
  protected override details() {
    return { groupId: this.groupId };
  }
}

/** Deleting a group, or setting its offsets, while members are in it. */
export class NonEmptyGroupError extends TabkaError {
  readonly code = 'NON_EMPTY_GROUP';
  constructor(readonly groupId: string) {
    super(`Group ${JSON.stringify(groupId)} still has members`);
  }
  protected override details() {
    return { groupId: this.groupId };
  }
}

/** auto.offset.reset 'none' and no committed offset for a partition. */
export class NoOffsetForPartitionError extends TabkaError {
  readonly code = 'NO_OFFSET_FOR_PARTITION';
  constructor(readonly groupId: string, readonly topic: string, readonly partition: number) {
    super(`Group ${JSON.stringify(groupId)} has no committed offset for ${topic}-${partition} and its offset reset policy is 'none'`);
  }
  protected override details() {
    return { groupId: this.groupId, topic: this.topic, partition: this.partition };
  }
}

type ErrorFactory = (message: string, details: Record<string, unknown>) => TabkaError;

const num = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Rebuilds a typed error on the far side of postMessage, with its class and fields. */
const factories: Record<string, ErrorFactory> = {
  InvalidTopicError: (m, d) => withMessage(new InvalidTopicError(str(d.topic), ''), m),
  RecordTooLargeError: (m, d) => withMessage(new RecordTooLargeError(num(d.sizeBytes), num(d.maxBytes)), m),
  CorruptRecordError: (m) => withMessage(new CorruptRecordError(''), m),
  InvalidRecordError: (m) => withMessage(new InvalidRecordError(''), m),
  UnsupportedCompressionTypeError: (m, d) => withMessage(new UnsupportedCompressionTypeError(num(d.codec)), m),
  OffsetOutOfRangeError: (m, d) =>
    withMessage(
      new OffsetOutOfRangeError(
        str(d.topic),
        num(d.partition),
        num(d.offset),
        num(d.logStartOffset),
        num(d.logEndOffset),
      ),
      m,
    ),
  UnknownTopicOrPartitionError: (m, d) =>
    withMessage(new UnknownTopicOrPartitionError(str(d.topic), num(d.partition)), m),
  StorageError: (m, d) => withMessage(new StorageError(str(d.reason) as StorageFailure, ''), m),
  BrokerSlotError: (m) => withMessage(new BrokerSlotError(''), m),
  SignalingProtocolError: (m, d) => withMessage(new SignalingProtocolError(str(d.reason), num(d.closeCode)), m),
  SignalingConnectionError: (m, d) => withMessage(new SignalingConnectionError(num(d.closeCode), str(d.reason)), m),
  InvalidFrameError: (m) => withMessage(new InvalidFrameError(''), m),
  UnsupportedVersionError: (m, d) => withMessage(new UnsupportedVersionError(num(d.apiKey), num(d.apiVersion)), m),
  InvalidReplicationFactorError: (m, d) =>
    withMessage(new InvalidReplicationFactorError(num(d.requested), num(d.available)), m),
  InvalidPartitionsError: (m, d) => withMessage(new InvalidPartitionsError(num(d.requested)), m),
  TopicAlreadyExistsError: (m, d) => withMessage(new TopicAlreadyExistsError(str(d.topic)), m),
  InvalidConfigurationError: (m, d) => withMessage(new InvalidConfigurationError(str(d.key), str(d.value), ''), m),
  NotLeaderOrFollowerError: (m, d) =>
    withMessage(new NotLeaderOrFollowerError(str(d.topic), num(d.partition), num(d.brokerId), num(d.leader)), m),
  FencedLeaderEpochError: (m, d) =>
    withMessage(new FencedLeaderEpochError(str(d.topic), num(d.partition), num(d.requested), num(d.current)), m),
  InvalidRequestError: (m) => withMessage(new InvalidRequestError(''), m),
  NotControllerError: (m, d) =>
    withMessage(new NotControllerError(num(d.brokerId), typeof d.controllerId === 'number' ? d.controllerId : null), m),
  NotEnoughReplicasError: (m, d) =>
    withMessage(new NotEnoughReplicasError(str(d.topic), num(d.partition), num(d.inSyncReplicas), num(d.minInSyncReplicas)), m),
  OutOfOrderSequenceError: (m, d) => withMessage(new OutOfOrderSequenceError(num(d.producerId), num(d.expected), num(d.received)), m),
  InvalidProducerEpochError: (m, d) => withMessage(new InvalidProducerEpochError(num(d.producerId), num(d.epoch), num(d.current)), m),
  ClientDisconnectedError: (m, d) => withMessage(new ClientDisconnectedError(str(d.client)), m),
  PeerLinkDownError: (m, d) => withMessage(new PeerLinkDownError(num(d.brokerId)), m),
  RequestTimedOutError: (m, d) => withMessage(new RequestTimedOutError(str(d.what), num(d.timeoutMs)), m),
  InvalidMetadataRecordError: (m, d) => withMessage(new InvalidMetadataRecordError(str(d.reason)), m),
  MetadataConflictError: (m, d) =>
    withMessage(new MetadataConflictError(num(d.offset), str(d.recordType), str(d.reason)), m),
  NotCoordinatorError: (m, d) => withMessage(new NotCoordinatorError(str(d.groupId), num(d.brokerId)), m),
  CoordinatorLoadInProgressError: (m, d) => withMessage(new CoordinatorLoadInProgressError(str(d.groupId)), m),
  RebalanceInProgressError: (m, d) => withMessage(new RebalanceInProgressError(str(d.groupId)), m),
  IllegalGenerationError: (m, d) =>
    withMessage(new IllegalGenerationError(str(d.groupId), num(d.generationId), num(d.currentGeneration)), m),
  UnknownMemberIdError: (m, d) => withMessage(new UnknownMemberIdError(str(d.groupId), str(d.memberId)), m),
  InconsistentGroupProtocolError: (m, d) =>
    withMessage(new InconsistentGroupProtocolError(str(d.groupId), Array.isArray(d.protocols) ? d.protocols.map(str) : []), m),
  GroupIdNotFoundError: (m, d) => withMessage(new GroupIdNotFoundError(str(d.groupId)), m),
  NonEmptyGroupError: (m, d) => withMessage(new NonEmptyGroupError(str(d.groupId)), m),
  NoOffsetForPartitionError: (m, d) => withMessage(new NoOffsetForPartitionError(str(d.groupId), str(d.topic), num(d.partition)), m),
};

function withMessage<E extends Error>(error: E, message: string): E {
  error.message = message;
  return error;
}

export function isSerializedTabkaError(value: unknown): value is SerializedTabkaError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<SerializedTabkaError>;
  return typeof candidate.name === 'string' && candidate.name in factories && typeof candidate.message === 'string';
}

export function errorFromJSON(value: SerializedTabkaError): TabkaError {
  const factory = factories[value.name];
  if (!factory) throw new TypeError(`Unknown tabka error ${value.name}`);
  return factory(value.message, value.details ?? {});
}
