/**
 * The consumer, shaped like KafkaJS's `kafka.consumer({ groupId })`: subscribe, run with
 * `eachMessage` or `eachBatch`, seek, pause and resume, stop. Each partition of the
 * subscription is read from its leader with long-poll fetches and only below the high
 * watermark, so a consumer never sees a record that a failover could take back. Until
 * consumer groups exist, a consumer owns every partition of its subscription and keeps its
 * offsets in memory.
 */
import { ClientDisconnectedError, OffsetOutOfRangeError, TabkaError, UnknownTopicOrPartitionError } from '../errors';
import type { LocalBroker } from '../broker/local-broker';
import type { FetchResult } from '../broker/partition';
import { decodeRecordBatch } from '../protocol/record-batch';
import { sleep } from '../util/sleep';

export interface ConsumerConfig {
  readonly groupId: string;
  /** Longest a fetch waits at the leader for new records. Default 500 ms (Kafka's fetch.max.wait.ms). */
  readonly maxWaitTimeInMs?: number;
  /** Default 1 MiB (Kafka's max.partition.fetch.bytes). */
  readonly maxBytesPerPartition?: number;
}

export interface KafkaMessage {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Record<string, Uint8Array | null>;
  /** As KafkaJS: milliseconds since the epoch, and the offset, as strings. */
  readonly timestamp: string;
  readonly offset: string;
}

export interface EachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: KafkaMessage[];
  firstOffset(): string | null;
  lastOffset(): string;
}

export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks messages up to `offset` as processed; with eachBatchAutoResolve (default) the whole batch is. */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface RunConfig {
  readonly eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  readonly eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  readonly eachBatchAutoResolve?: boolean;
  /** How many partitions' handlers may run at once. Default 1, as KafkaJS. */
  readonly partitionsConsumedConcurrently?: number;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions?: readonly number[];
}

interface PartitionCursor {
  readonly topic: string;
  readonly partition: number;
  offset: number | null;
  seekTo: number | null;
}

const RETRY_BACKOFF_MS = 100;
const PAUSED_POLL_MS = 50;

export class Consumer {
  readonly groupId: string;
  private readonly maxWaitMs: number;
  private readonly maxBytes: number;
  private readonly subscriptions = new Map<string, { fromBeginning: boolean }>();
  private readonly cursors = new Map<string, PartitionCursor>();
  private readonly pausedTopics = new Map<string, Set<number> | 'all'>();
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly broker: LocalBroker,
    config: ConsumerConfig,
  ) {
    this.groupId = config.groupId;
    this.maxWaitMs = config.maxWaitTimeInMs ?? 500;
    this.maxBytes = config.maxBytesPerPartition ?? 1024 * 1024;
  }

  async connect(): Promise<void> {
    // Nothing to set up yet: the broker is this tab's own.
  }

  async subscribe(subscription: { topic?: string; topics?: readonly string[]; fromBeginning?: boolean }): Promise<void> {
    const topics = [...(subscription.topics ?? []), ...(subscription.topic === undefined ? [] : [subscription.topic])];
    const metadata = await this.broker.clusterMetadata();
    for (const topic of topics) {
      if (!metadata.topics.some((t) => t.name === topic)) throw new UnknownTopicOrPartitionError(topic, -1);
      this.subscriptions.set(topic, { fromBeginning: subscription.fromBeginning ?? false });
    }
  }

  async run(config: RunConfig): Promise<void> {
    if (!config.eachMessage && !config.eachBatch) throw new TypeError('run() needs eachMessage or eachBatch');
    if (this.running) return;
    this.running = true;
    const metadata = await this.broker.clusterMetadata();
    const handlers = new HandlerGate(config.partitionsConsumedConcurrently ?? 1);
    for (const [topic] of this.subscriptions) {
      const count = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      for (let partition = 0; partition < count; partition++) {
        const cursor = this.cursor(topic, partition);
        this.loops.push(this.consume(cursor, config, handlers));
      }
    }
  }

  /** Moves a partition's position; the next fetch starts there (KafkaJS's seek). */
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }): void {
    const target = Number(offset);
    if (!Number.isSafeInteger(target) || target < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
    this.cursor(topic, partition).seekTo = target;
  }

  pause(topics: readonly TopicPartitions[]): void {
    for (const { topic, partitions } of topics) {
      const current = this.pausedTopics.get(topic);
      if (!partitions) this.pausedTopics.set(topic, 'all');
      else if (current !== 'all') this.pausedTopics.set(topic, new Set([...(current ?? []), ...partitions]));
    }
  }

  resume(topics: readonly TopicPartitions[]): void {
    for (const { topic, partitions } of topics) {
      const current = this.pausedTopics.get(topic);
      if (!partitions || current === 'all') this.pausedTopics.delete(topic);
      else for (const partition of partitions) current?.delete(partition);
    }
  }

  paused(): TopicPartitions[] {
    return [...this.pausedTopics].map(([topic, partitions]) => (partitions === 'all' ? { topic } : { topic, partitions: [...partitions] }));
  }

  /** The next offset each partition will read (null: not started yet). */
  positions(): { topic: string; partition: number; offset: string | null }[] {
    return [...this.cursors.values()].map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset === null ? null : String(c.offset) }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  async disconnect(): Promise<void> {
    await this.stop();
  }

  // ---------------------------------------------------------------- the fetch loop

  private cursor(topic: string, partition: number): PartitionCursor {
    const key = `${topic}\u0000${partition}`;
    let cursor = this.cursors.get(key);
    if (!cursor) {
      cursor = { topic, partition, offset: null, seekTo: null };
      this.cursors.set(key, cursor);
    }
    return cursor;
  }

  private isPaused(topic: string, partition: number): boolean {
    const paused = this.pausedTopics.get(topic);
    return paused === 'all' || (paused?.has(partition) ?? false);
  }

  private async consume(cursor: PartitionCursor, config: RunConfig, handlers: HandlerGate): Promise<void> {
    // The next fetch goes out while this one's records are handled (one fetch ahead, like
    // Kafka's fetcher), so reading and decoding overlap with the application's work.
    let ahead: { offset: number; result: Promise<FetchResult> } | null = null;
    while (this.running) {
      try {
        if (cursor.seekTo !== null) {
          cursor.offset = cursor.seekTo;
          cursor.seekTo = null;
          ahead = null;
        }
        if (cursor.offset === null) cursor.offset = await this.startOffset(cursor);
        if (this.isPaused(cursor.topic, cursor.partition)) {
          ahead = null;
          await sleep(PAUSED_POLL_MS);
          continue;
        }
        const offset = cursor.offset;
        const pending: Promise<FetchResult> = ahead?.offset === offset ? ahead.result : this.fetch(cursor, offset);
        ahead = null;
        const result = await pending;
        if (cursor.seekTo !== null || !this.running) continue; // what was fetched is for the old position
        const messages = decodeMessages(result.batches, offset);
        if (messages.length === 0) continue;
        const next = Number(messages.at(-1)!.offset) + 1;
        const prefetch = this.fetch(cursor, next);
        prefetch.catch(() => undefined); // a failed read-ahead is retried as a normal fetch
        ahead = { offset: next, result: prefetch };
        await handlers.run(() => this.deliver(cursor, messages, result.highWatermark, config));
      } catch (error) {
        ahead = null;
        if (error instanceof OffsetOutOfRangeError) {
          // auto.offset.reset=earliest for a position retention deleted, latest for one past the end.
          cursor.offset = cursor.offset !== null && cursor.offset < error.logStartOffset ? error.logStartOffset : null;
          continue;
        }
        if (error instanceof ClientDisconnectedError) return;
        if (!(error instanceof TabkaError) || !error.retriable) console.warn(`tabka consumer ${this.groupId}: ${String(error)}`);
        await sleep(RETRY_BACKOFF_MS);
      }
    }
  }

  private fetch(cursor: PartitionCursor, offset: number): Promise<FetchResult> {
    return this.broker.fetch(cursor.topic, cursor.partition, offset, this.maxWaitMs, this.maxBytes);
  }

  private async startOffset(cursor: PartitionCursor): Promise<number> {
    const offsets = await this.broker.offsets(cursor.topic, cursor.partition);
    return this.subscriptions.get(cursor.topic)?.fromBeginning ? offsets.logStartOffset : offsets.highWatermark;
  }

  private async deliver(cursor: PartitionCursor, messages: KafkaMessage[], highWatermark: number, config: RunConfig): Promise<void> {
    const { topic, partition } = cursor;
    if (config.eachBatch) {
      let resolved = cursor.offset ?? 0;
      const batch: Batch = {
        topic,
        partition,
        highWatermark: String(highWatermark),
        messages,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => messages.at(-1)?.offset ?? String(highWatermark - 1),
      };
      await config.eachBatch({
        batch,
        resolveOffset: (offset) => {
          resolved = Math.max(resolved, Number(offset) + 1);
        },
        heartbeat: async () => undefined,
        isRunning: () => this.running,
        isStale: () => cursor.seekTo !== null,
      });
      if (config.eachBatchAutoResolve ?? true) resolved = Number(messages.at(-1)!.offset) + 1;
      if (cursor.seekTo === null) cursor.offset = resolved;
      return;
    }
    for (const message of messages) {
      if (!this.running || cursor.seekTo !== null || this.isPaused(topic, partition)) return;
      let pausedHere = false;
      await config.eachMessage!({
        topic,
        partition,
        message,
        heartbeat: async () => undefined,
        pause: () => {
          pausedHere = true;
          this.pause([{ topic, partitions: [partition] }]);
          return () => this.resume([{ topic, partitions: [partition] }]);
        },
      });
      cursor.offset = Number(message.offset) + 1;
      if (pausedHere) return;
    }
  }
}

/** Lets at most `limit` partitions' handlers run at once; the others wait their turn, in order. */
class HandlerGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    if (this.active >= Math.max(1, this.limit)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      await task();
    } finally {
      // The slot passes straight to the next waiter, or frees up.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

function decodeMessages(batches: readonly Uint8Array[], fromOffset: number): KafkaMessage[] {
  const messages: KafkaMessage[] = [];
  for (const bytes of batches) {
    for (const record of decodeRecordBatch(bytes).records) {
      if (record.offset < fromOffset) continue;
      const headers: Record<string, Uint8Array | null> = {};
      for (const header of record.headers) headers[header.key] = header.value;
      messages.push({ key: record.key, value: record.value, headers, timestamp: String(record.timestamp), offset: String(record.offset) });
    }
  }
  return messages;
}
