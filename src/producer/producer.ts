/**
 * The producer, shaped like KafkaJS's `kafka.producer()`: `send` and `sendBatch` resolve with
 * each partition's base offset once the leader (acks=1) or every in-sync replica (acks=-1,
 * the default) has the records. Records for one partition are gathered for `lingerMs` or until
 * `batchSize` bytes, then sent as one Kafka record batch to the partition's leader, wherever
 * it runs; this tab's broker retries while leadership moves, up to `timeout`.
 *
 * Idempotent by default, as in Kafka: a random producer id and per-partition sequence numbers
 * ride in each batch's header, so a batch retried after a lost answer is not written twice
 * (the leader, or a follower that becomes leader, recognises it). Up to five batches per
 * partition are in flight; the sequence numbers make the leader take them in send order even
 * when a retry races a later batch to a new leader.
 */
import { ClientDisconnectedError, RecordTooLargeError, UnknownTopicOrPartitionError } from '../errors';
import type { LocalBroker } from '../broker/local-broker';
import type { Acks } from '../broker/partition';
import { CompressionTypes, checkCompressionType, compressRecordBatch } from '../protocol/compression';
import type { CompressionType } from '../protocol/compression';
import { encodeRecordBatch } from '../protocol/record-batch';
import type { RecordHeader, RecordInput } from '../protocol/record-batch';
import { sleep } from '../util/sleep';
import { DEFAULT_BATCH_SIZE, Partitioner } from './partitioner';

export interface ProducerConfig {
  /** Default true. */
  readonly idempotent?: boolean;
  /** How long a record may wait for others to share its batch. Default 5 ms (Kafka 4). */
  readonly lingerMs?: number;
  /** A partition's batch leaves at once when its records reach this many bytes. Default 16 KiB. */
  readonly batchSize?: number;
  /** The largest batch sent while another is in flight. Default 1 MiB (Kafka's max.request.size). */
  readonly maxRequestBytes?: number;
  /**
   * Batches per partition in flight at once. Default 5 when idempotent (Kafka's
   * max.in.flight.requests.per.connection): sequence numbers keep them in order at the leader,
   * which takes a batch only after its predecessor. Without idempotence, 1.
   */
  readonly maxInFlight?: number;
  /** Codec for batches whose send names none: CompressionTypes.None (default) or GZIP. */
  readonly compression?: CompressionType;
}

export type MessageBytes = string | Uint8Array | null;

export interface Message {
  readonly key?: MessageBytes;
  readonly value: MessageBytes;
  readonly partition?: number;
  readonly headers?: Readonly<Record<string, string | Uint8Array>>;
  /** Milliseconds since the epoch, as a string (KafkaJS) or a number. Default now. */
  readonly timestamp?: string | number;
}

export interface ProducerRecord {
  readonly topic: string;
  readonly messages: readonly Message[];
  /** -1 (all in-sync replicas, default), 1 (the leader) or 0 (no answer awaited). */
  readonly acks?: Acks;
  /** How long to keep trying, leader moves included. Default 30000 ms. */
  readonly timeout?: number;
  /** CompressionTypes.None or GZIP (KafkaJS's option); default the producer's `compression`. */
  readonly compression?: CompressionType;
}

export interface ProducerBatch {
  readonly topicMessages: readonly { readonly topic: string; readonly messages: readonly Message[] }[];
  readonly acks?: Acks;
  readonly timeout?: number;
  readonly compression?: CompressionType;
}

/** KafkaJS's RecordMetadata: offsets as strings, one entry per partition a send touched. */
export interface RecordMetadata {
  readonly topicName: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: string;
  readonly logAppendTime: string;
}

/** One send's records for one partition: they leave in order, possibly over several batches. */
interface PendingGroup {
  readonly records: RecordInput[];
  readonly sizes: number[];
  readonly acks: Acks;
  readonly deadline: number;
  readonly compression: CompressionType;
  /** Index of the next record to send. */
  next: number;
  /** Records sent but not yet acknowledged, plus those not sent. */
  outstanding: number;
  firstOffset: number | null;
  failed: boolean;
  readonly resolve: (baseOffset: number) => void;
  readonly reject: (error: Error) => void;
}

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  /** Groups with records left to send, oldest first. */
  groups: PendingGroup[];
  pendingBytes: number;
  inFlight: number;
  lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** A linger-0 flush is due once the sends already under way have queued their records. */
  flushQueued: boolean;
  nextSequence: number;
  /**
   * The last batch still being compressed: the batches of a partition go to its leader in
   * sequence order, so a batch waits for the one before to be compressed and sent.
   */
  compressing: Promise<void> | null;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const RECORD_OVERHEAD_BYTES = 24;
const INT32_RANGE = 2 ** 31;

const utf8 = new TextEncoder();

export class Producer {
  private readonly idempotent: boolean;
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly maxRequestBytes: number;
  private readonly maxInFlight: number;
  private readonly compression: CompressionType;
  private readonly partitioner: Partitioner;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionCounts = new Map<string, number>();
  private readonly producerId: number;
  private producerEpoch = 0;
  private closed = false;

  constructor(
    private readonly broker: LocalBroker,
    config: ProducerConfig = {},
  ) {
    this.idempotent = config.idempotent ?? true;
    this.lingerMs = config.lingerMs ?? 5;
    this.batchSize = config.batchSize ?? DEFAULT_BATCH_SIZE;
    this.maxRequestBytes = config.maxRequestBytes ?? 1024 * 1024;
    this.maxInFlight = this.idempotent ? Math.max(1, Math.min(5, config.maxInFlight ?? 5)) : 1;
    this.compression = config.compression ?? CompressionTypes.None;
    checkCompressionType(this.compression);
    this.partitioner = new Partitioner({ batchSize: this.batchSize });
    // Kafka asks a broker for a producer id; 2^47 random ids make a clash between two live
    // producers of one cluster far less likely than a lost tab.
    this.producerId = this.idempotent ? randomProducerId() : -1;
  }

  async connect(): Promise<void> {
    this.closed = false;
    await this.refreshPartitionCounts();
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.queues.values()].map((queue) => this.drain(queue)));
  }

  async send({ topic, messages, acks = -1, timeout = DEFAULT_TIMEOUT_MS, compression = this.compression }: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [{ topic, messages }], acks, timeout, compression });
  }

  async sendBatch({ topicMessages, acks = -1, timeout = DEFAULT_TIMEOUT_MS, compression = this.compression }: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.closed) throw new ClientDisconnectedError('producer');
    checkCompressionType(compression);
    const deadline = Date.now() + timeout;
    const results: Promise<{ topic: string; partition: number; baseOffset: number }>[] = [];
    for (const { topic, messages } of topicMessages) {
      const numPartitions = await this.partitionCount(topic);
      const byPartition = new Map<number, RecordInput[]>();
      for (const message of messages) {
        const record = toRecordInput(message);
        const partition = this.partitioner.partition({ topic, key: record.key, partition: message.partition ?? null, numPartitions });
        if (partition >= numPartitions) throw new UnknownTopicOrPartitionError(topic, partition);
        let records = byPartition.get(partition);
        if (!records) byPartition.set(partition, (records = []));
        records.push(record);
      }
      for (const [partition, records] of byPartition) {
        results.push(this.enqueue(topic, partition, records, acks, deadline, compression).then((baseOffset) => ({ topic, partition, baseOffset })));
      }
    }
    const settled = await Promise.all(results);
    const lowest = new Map<string, { topic: string; partition: number; baseOffset: number }>();
    for (const result of settled) {
      const key = `${result.topic}\u0000${result.partition}`;
      const seen = lowest.get(key);
      if (!seen || result.baseOffset < seen.baseOffset) lowest.set(key, result);
    }
    return [...lowest.values()].map(({ topic, partition, baseOffset }) => ({
      topicName: topic,
      partition,
      errorCode: 0,
      baseOffset: String(baseOffset),
      logAppendTime: '-1',
    }));
  }

  // ---------------------------------------------------------------- batching

  private enqueue(topic: string, partition: number, records: RecordInput[], acks: Acks, deadline: number, compression: CompressionType): Promise<number> {
    const queue = this.queue(topic, partition);
    const sizes = records.map(recordBytes);
    const tooLarge = sizes.find((bytes) => bytes > this.maxRequestBytes);
    if (tooLarge !== undefined) return Promise.reject(new RecordTooLargeError(tooLarge, this.maxRequestBytes));
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    return new Promise<number>((resolve, reject) => {
      queue.groups.push({ records, sizes, acks, deadline, compression, next: 0, outstanding: records.length, firstOffset: null, failed: false, resolve, reject });
      queue.pendingBytes += bytes;
      this.partitioner.recordAppended(topic, partition, bytes);
      this.schedule(queue);
    });
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { topic, partition, groups: [], pendingBytes: 0, inFlight: 0, lingerTimer: undefined, flushQueued: false, nextSequence: 0, compressing: null };
      this.queues.set(key, queue);
    }
    return queue;
  }

  /**
   * Nothing in flight: a batch leaves at batchSize bytes or after lingerMs, as in Kafka. With
   * batches in flight, records wait for one to return unless a quarter of maxRequestBytes has
   * gathered: every request costs the leader a storage commit and each follower a fetch, so
   * many small pipelined batches would be slower than a few large ones.
   */
  private schedule(queue: PartitionQueue): void {
    if (queue.inFlight >= this.maxInFlight || queue.groups.length === 0) return;
    const threshold = queue.inFlight === 0 ? this.batchSize : this.maxRequestBytes / 4;
    if (queue.pendingBytes >= threshold) {
      clearTimeout(queue.lingerTimer);
      queue.lingerTimer = undefined;
      void this.flush(queue);
    } else if (queue.inFlight === 0 && this.lingerMs <= 0) {
      // Not at once: sends made in the same task (a loop of send() calls, say) are still
      // queuing their records, and they should leave together rather than one record first
      // with the rest held back until it returns. Kafka's sender thread drains the same way.
      if (queue.flushQueued) return;
      queue.flushQueued = true;
      queueMicrotask(() => {
        queue.flushQueued = false;
        void this.flush(queue);
      });
    } else if (queue.inFlight === 0 && queue.lingerTimer === undefined) {
      queue.lingerTimer = setTimeout(() => {
        queue.lingerTimer = undefined;
        void this.flush(queue);
      }, this.lingerMs);
    }
  }

  private async flush(queue: PartitionQueue): Promise<void> {
    if (queue.inFlight >= this.maxInFlight || queue.groups.length === 0) return;
    const { records, parts, bytes, compression } = this.takeBatch(queue);
    queue.pendingBytes -= bytes;
    queue.inFlight++;
    this.partitioner.onBatchFull(queue.topic, queue.partition);
    const groups = parts.map((part) => part.group);
    const acks: Acks = groups.some((g) => g.acks === -1) ? -1 : groups.some((g) => g.acks === 1) ? 1 : 0;
    const timeout = Math.max(1, Math.max(...groups.map((g) => g.deadline)) - Date.now());
    const baseSequence = queue.nextSequence;
    const epoch = this.producerEpoch;
    try {
      const encoded = encodeRecordBatch(records, this.idempotent ? { producerId: this.producerId, producerEpoch: epoch, baseSequence } : {});
      queue.nextSequence = (baseSequence + records.length) % INT32_RANGE;
      const result = await this.produceInTurn(queue, encoded, compression, acks, timeout);
      let offset = result.baseOffset;
      for (const { group, count } of parts) {
        if (group.firstOffset === null) group.firstOffset = offset;
        offset += count;
        group.outstanding -= count;
        if (group.outstanding === 0 && !group.failed) group.resolve(group.firstOffset);
      }
    } catch (error) {
      // The batch may or may not have been written: a new epoch restarts every sequence, so
      // what follows is not refused as out of order (Kafka bumps the epoch the same way).
      if (this.producerEpoch === epoch) this.bumpEpoch();
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const group of groups) this.fail(queue, group, failure);
    } finally {
      queue.inFlight--;
      this.schedule(queue);
    }
  }

  /**
   * Sends the batch, compressed, once the batch before it on this partition went out: out of
   * sequence order, the leader would refuse it. Uncompressed batches with nothing compressing
   * ahead of them go at once.
   */
  private produceInTurn(queue: PartitionQueue, encoded: Uint8Array, compression: CompressionType, acks: Acks, timeout: number) {
    if (compression === CompressionTypes.None && queue.compressing === null) {
      return this.broker.produce(queue.topic, queue.partition, encoded, acks, timeout);
    }
    const before = queue.compressing;
    let sent = () => {};
    const turn = new Promise<void>((resolve) => (sent = resolve));
    queue.compressing = turn;
    const release = () => {
      sent();
      if (queue.compressing === turn) queue.compressing = null;
    };
    return Promise.all([before, compressRecordBatch(encoded, compression)]).then(
      ([, batch]) => {
        try {
          return this.broker.produce(queue.topic, queue.partition, batch, acks, timeout);
        } finally {
          release(); // the next batch goes once this one left, or failed to
        }
      },
      (error: unknown) => {
        release();
        throw error;
      },
    );
  }

  /** The oldest records of one compression, up to maxRequestBytes (at least one), and which groups they came from. */
  private takeBatch(queue: PartitionQueue): {
    records: RecordInput[];
    parts: { group: PendingGroup; count: number }[];
    bytes: number;
    compression: CompressionType;
  } {
    const records: RecordInput[] = [];
    const parts: { group: PendingGroup; count: number }[] = [];
    const compression = queue.groups[0]!.compression;
    let bytes = 0;
    while (queue.groups.length > 0) {
      const group = queue.groups[0]!;
      if (group.compression !== compression) break; // one batch, one codec
      const start = group.next;
      while (group.next < group.records.length) {
        const size = group.sizes[group.next]!;
        if (records.length > 0 && bytes + size > this.maxRequestBytes) break;
        records.push(group.records[group.next]!);
        bytes += size;
        group.next++;
      }
      if (group.next > start) parts.push({ group, count: group.next - start });
      if (group.next < group.records.length) break; // the batch is full
      queue.groups.shift();
    }
    return { records, parts, bytes, compression };
  }

  /** A group fails as a whole: its unsent records are dropped, and the send rejects once. */
  private fail(queue: PartitionQueue, group: PendingGroup, error: Error): void {
    if (group.failed) return;
    group.failed = true;
    const index = queue.groups.indexOf(group);
    if (index >= 0) {
      queue.groups.splice(index, 1);
      for (let i = group.next; i < group.records.length; i++) queue.pendingBytes -= group.sizes[i]!;
    }
    group.reject(error);
  }

  private bumpEpoch(): void {
    this.producerEpoch = (this.producerEpoch + 1) % 32768;
    for (const queue of this.queues.values()) queue.nextSequence = 0;
  }

  private async drain(queue: PartitionQueue): Promise<void> {
    while (queue.inFlight > 0 || queue.groups.length > 0) {
      if (queue.inFlight < this.maxInFlight) {
        clearTimeout(queue.lingerTimer);
        queue.lingerTimer = undefined;
        void this.flush(queue);
      }
      await sleep(5);
    }
  }

  // ---------------------------------------------------------------- metadata

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    await this.refreshPartitionCounts();
    const count = this.partitionCounts.get(topic);
    if (count === undefined) throw new UnknownTopicOrPartitionError(topic, -1);
    return count;
  }

  private async refreshPartitionCounts(): Promise<void> {
    const metadata = await this.broker.clusterMetadata();
    for (const topic of metadata.topics) this.partitionCounts.set(topic.name, topic.partitions.length);
  }
}

function toBytes(value: MessageBytes | undefined): Uint8Array | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? utf8.encode(value) : value;
}

function toRecordInput(message: Message): RecordInput {
  const headers: RecordHeader[] = Object.entries(message.headers ?? {}).map(([key, value]) => ({ key, value: toBytes(value) }));
  const timestamp = message.timestamp === undefined ? Date.now() : Number(message.timestamp);
  return { key: toBytes(message.key), value: toBytes(message.value), timestamp, headers };
}

function recordBytes(record: RecordInput): number {
  let bytes = RECORD_OVERHEAD_BYTES + (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const header of record.headers ?? []) bytes += header.key.length + (header.value?.byteLength ?? 0) + 4;
  return bytes;
}

function randomProducerId(): number {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  return (words[0]! % 2 ** 15) * 2 ** 32 + words[1]!;
}
