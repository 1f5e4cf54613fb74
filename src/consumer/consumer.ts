/**
 * The consumer, shaped like KafkaJS's `kafka.consumer({ groupId })`: subscribe, run with
 * `eachMessage` or `eachBatch`, seek, pause and resume, commit, stop. Each partition is read
 * from its leader with long-poll fetches and only below the high watermark, so a consumer
 * never sees a record that a failover could take back.
 *
 * `subscribe()` makes it a member of its group: the group's coordinator and assignor decide
 * which partitions it reads, it starts from the group's committed offsets (or the reset
 * policy), and commits as it goes. `assign()` reads chosen partitions without a group.
 */
import { ClientDisconnectedError, NoOffsetForPartitionError, OffsetOutOfRangeError, TabkaError, UnknownTopicOrPartitionError } from '../errors';
import type { LocalBroker } from '../broker/local-broker';
import type { FetchResult } from '../broker/partition';
import type { OffsetToCommit } from '../coordinator/group-coordinator';
import { partitionKey } from '../log/log-store';
import { decompressRecordBatch, isCompressed } from '../protocol/compression';
import { readBatchHeader, scanRecords, verifyRecordBatch } from '../protocol/record-batch';
import { FetchedMessage } from './fetched-message';
import { TypedEmitter } from '../signaling/typed-emitter';
import { sleep } from '../util/sleep';
import type { Assignor, TopicPartition } from './assignor';
import { cooperativeStickyAssignor } from './assignors/cooperative-sticky-assignor';
import { GroupMembership } from './group-membership';
import type { GroupJoin, GroupTransport } from './group-membership';

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none';

export interface ConsumerConfig {
  readonly groupId: string;
  /** Longest a fetch waits at the leader for new records. Default 500 ms (Kafka's fetch.max.wait.ms). */
  readonly maxWaitTimeInMs?: number;
  /** Default 1 MiB (Kafka's max.partition.fetch.bytes). */
  readonly maxBytesPerPartition?: number;
  /** Assignors in order of preference. Default: cooperative sticky. */
  readonly partitionAssigners?: readonly Assignor[];
  /**
   * A member silent this long is removed from its group. Default 10 s: a tab that closes
   * leaves at once (its broker's goodbye takes its members along), so this only bounds a crash.
   */
  readonly sessionTimeout?: number;
  /** How long the coordinator waits for every member to rejoin. Default 60 s, as KafkaJS. */
  readonly rebalanceTimeout?: number;
  /** Where a partition with no committed offset starts (Kafka's auto.offset.reset). Default 'latest'. */
  readonly autoOffsetReset?: OffsetResetPolicy;
  readonly clientId?: string;
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
  /** Commit what was processed without being asked (default true, as KafkaJS). */
  readonly autoCommit?: boolean;
  /** Commit at most this often (ms). With neither this nor a threshold: after every batch. */
  readonly autoCommitInterval?: number | null;
  /** Commit once this many messages were processed since the last commit. */
  readonly autoCommitThreshold?: number | null;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions?: readonly number[];
}

export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: string;
}

/** KafkaJS's instrumentation events: `consumer.on(consumer.events.GROUP_JOIN, e => ...)`. */
export interface ConsumerEvent<T> {
  readonly id: number;
  readonly type: string;
  readonly timestamp: number;
  readonly payload: T;
}

export interface ConsumerEvents {
  'consumer.connect': ConsumerEvent<null>;
  'consumer.disconnect': ConsumerEvent<null>;
  'consumer.stop': ConsumerEvent<null>;
  'consumer.group_join': ConsumerEvent<GroupJoin>;
  'consumer.rebalancing': ConsumerEvent<{ groupId: string; memberId: string }>;
  'consumer.revoked': ConsumerEvent<{ groupId: string; partitions: TopicPartition[]; lost: boolean }>;
  'consumer.commit_offsets': ConsumerEvent<{ groupId: string; memberId: string; groupGenerationId: number; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }>;
  'consumer.crash': ConsumerEvent<{ groupId: string; error: Error; restart: boolean }>;
}

export const CONSUMER_EVENTS = Object.freeze({
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  GROUP_JOIN: 'consumer.group_join',
  REBALANCING: 'consumer.rebalancing',
  REVOKED: 'consumer.revoked',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  CRASH: 'consumer.crash',
} as const);

interface PartitionCursor {
  readonly topic: string;
  readonly partition: number;
  offset: number | null;
  seekTo: number | null;
  /** The position last committed for the group (null: none from here). */
  committed: number | null;
  active: boolean;
  loop: Promise<void> | null;
}

const RETRY_BACKOFF_MS = 100;
const PAUSED_POLL_MS = 50;
const TOPIC_METADATA_WAIT_MS = 5000;
const METADATA_POLL_MS = 50;
const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;

class ConsumerEmitter extends TypedEmitter<ConsumerEvents> {
  private nextId = 0;

  fire<K extends keyof ConsumerEvents>(type: K, payload: ConsumerEvents[K]['payload']): void {
    this.emit(type, { id: this.nextId++, type, timestamp: Date.now(), payload } as ConsumerEvents[K]);
  }
}

export class Consumer {
  readonly groupId: string;
  readonly events = CONSUMER_EVENTS;
  private readonly maxWaitMs: number;
  private readonly maxBytes: number;
  private readonly subscriptions = new Map<string, { fromBeginning: boolean }>();
  private readonly cursors = new Map<string, PartitionCursor>();
  private readonly pausedTopics = new Map<string, Set<number> | 'all'>();
  private readonly emitter = new ConsumerEmitter();
  private manual: TopicPartitions[] = [];
  private membership: GroupMembership | null = null;
  private runConfig: RunConfig | null = null;
  private handlers = new HandlerGate(1);
  private running = false;
  private commitChain: Promise<void> = Promise.resolve();
  private uncommittedMessages = 0;
  private lastCommitAt = 0;
  /** An auto-commit is queued behind the one in flight. */
  private autoCommitWaiting = false;

  constructor(
    private readonly broker: LocalBroker,
    private readonly config: ConsumerConfig,
  ) {
    this.groupId = config.groupId;
    this.maxWaitMs = config.maxWaitTimeInMs ?? 500;
    this.maxBytes = config.maxBytesPerPartition ?? 1024 * 1024;
  }

  on<K extends keyof ConsumerEvents>(type: K, listener: (event: ConsumerEvents[K]) => void): () => void {
    return this.emitter.on(type, listener);
  }

  async connect(): Promise<void> {
    // The broker is this tab's own: nothing to dial.
    this.emitter.fire('consumer.connect', null);
  }

  /** Joins the group for these topics (on run()): the group shares their partitions out. */
  async subscribe(subscription: { topic?: string; topics?: readonly string[]; fromBeginning?: boolean }): Promise<void> {
    const topics = [...(subscription.topics ?? []), ...(subscription.topic === undefined ? [] : [subscription.topic])];
    // A topic just created elsewhere reaches this broker's metadata a moment later: look again
    // for a while before calling it unknown (as a Kafka client refreshes its metadata).
    const deadline = Date.now() + TOPIC_METADATA_WAIT_MS;
    for (;;) {
      const metadata = await this.broker.clusterMetadata();
      const missing = topics.find((topic) => !metadata.topics.some((t) => t.name === topic));
      if (missing === undefined) break;
      if (Date.now() >= deadline) throw new UnknownTopicOrPartitionError(missing, -1);
      await sleep(METADATA_POLL_MS);
    }
    for (const topic of topics) this.subscriptions.set(topic, { fromBeginning: subscription.fromBeginning ?? false });
  }

  /**
   * Reads these partitions (all of a topic's when none are named) without joining the group,
   * as Kafka's assign(): positions start by the reset policy, or where seek() puts them.
   */
  assign(partitions: readonly TopicPartitions[]): void {
    if (this.running) throw new Error('assign() before run()');
    this.manual = [...partitions];
  }

  async run(config: RunConfig): Promise<void> {
    if (!config.eachMessage && !config.eachBatch) throw new TypeError('run() needs eachMessage or eachBatch');
    if (this.running) return;
    this.running = true;
    this.runConfig = config;
    this.handlers = new HandlerGate(config.partitionsConsumedConcurrently ?? 1);
    this.lastCommitAt = Date.now();
    if (this.subscriptions.size > 0) this.joinGroup();
    if (this.manual.length > 0) {
      const metadata = await this.broker.clusterMetadata();
      for (const { topic, partitions } of this.manual) {
        const count = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
        for (const partition of partitions ?? Array.from({ length: count }, (_, i) => i)) this.startPartition(this.cursor(topic, partition));
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

  /** The partitions this consumer reads now. */
  assignment(): TopicPartition[] {
    return [...this.cursors.values()].filter((c) => c.active).map(({ topic, partition }) => ({ topic, partition }));
  }

  /** The next offset each partition will read (null: not started yet). */
  positions(): { topic: string; partition: number; offset: string | null }[] {
    return [...this.cursors.values()].map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset === null ? null : String(c.offset) }));
  }

  /**
   * Commits positions (the next offset to read, as Kafka) for the group. Without arguments:
   * every partition's current position. A member that no longer owns a partition gets
   * IllegalGenerationError for it, never a silent overwrite.
   */
  async commitOffsets(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const explicit = offsets?.map(({ topic, partition, offset }) => ({ topic, partition, offset: Number(offset) }));
    await this.commit(explicit ?? this.pendingCommits([...this.cursors.values()]));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    // Leaving commits what was processed (the membership revokes everything first).
    await this.membership?.stop();
    this.membership = null;
    await Promise.all([...this.cursors.values()].map((cursor) => this.stopPartition(cursor)));
    await this.commitChain;
    this.emitter.fire('consumer.stop', null);
  }

  async disconnect(): Promise<void> {
    await this.stop();
    this.emitter.fire('consumer.disconnect', null);
  }

  // ---------------------------------------------------------------- the group

  private joinGroup(): void {
    const topics = [...this.subscriptions.keys()];
    const broker = this.broker;
    const transport: GroupTransport = {
      join: (request) => broker.group('join', request),
      sync: (request) => broker.group('sync', request),
      heartbeat: (request) => broker.group('heartbeat', request),
      leave: (groupId, memberId) => broker.group('leave', groupId, memberId),
      commitOffsets: (request) => broker.group('commitOffsets', request),
      fetchOffsets: (groupId, partitions) => broker.group('fetchOffsets', groupId, partitions),
      partitionCounts: async (wanted) => {
        const metadata = await broker.clusterMetadata();
        return Object.fromEntries(metadata.topics.filter((t) => wanted.includes(t.name)).map((t) => [t.name, t.partitions.length]));
      },
    };
    this.membership = new GroupMembership({
      groupId: this.groupId,
      clientId: this.config.clientId ?? `tabka-${broker.brokerId}`,
      topics,
      assignors: this.config.partitionAssigners ?? [cooperativeStickyAssignor],
      sessionTimeoutMs: this.config.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: this.config.rebalanceTimeout ?? DEFAULT_REBALANCE_TIMEOUT_MS,
      transport,
      clock: { now: Date.now, sleep },
      listener: {
        assigned: (partitions) => this.assigned(partitions),
        revoked: (partitions, lost) => this.revoked(partitions, lost),
        joined: (details) => this.emitter.fire('consumer.group_join', details),
        rebalancing: () => this.emitter.fire('consumer.rebalancing', { groupId: this.groupId, memberId: this.membership?.memberId ?? '' }),
      },
    });
    this.membership.start();
  }

  private async assigned(partitions: readonly TopicPartition[]): Promise<void> {
    const committed = await this.broker.group('fetchOffsets', this.groupId, partitions);
    for (const { topic, partition, offset } of committed) {
      const cursor = this.cursor(topic, partition);
      cursor.offset = offset >= 0 ? offset : null;
      cursor.committed = offset >= 0 ? offset : null;
      cursor.seekTo = null;
      this.startPartition(cursor);
    }
  }

  /** Stops reading the partitions and — unless they were lost — commits where they stand. */
  private async revoked(partitions: readonly TopicPartition[], lost: boolean): Promise<void> {
    const cursors = partitions.map(({ topic, partition }) => this.cursor(topic, partition));
    await Promise.all(cursors.map((cursor) => this.stopPartition(cursor)));
    if (!lost && (this.runConfig?.autoCommit ?? true)) {
      await this.commit(this.pendingCommits(cursors)).catch(() => undefined);
    }
    for (const { topic, partition } of partitions) this.cursors.delete(partitionKey(topic, partition));
    this.emitter.fire('consumer.revoked', { groupId: this.groupId, partitions: [...partitions], lost });
  }

  private pendingCommits(cursors: readonly PartitionCursor[]): OffsetToCommit[] {
    return cursors.filter((c) => c.offset !== null && c.offset !== c.committed).map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset! }));
  }

  /**
   * One commit at a time, in order, so a later position is never overtaken by an earlier one.
   * Offsets given as a function are read when the commit's turn comes.
   */
  private commit(offsets: readonly OffsetToCommit[] | (() => readonly OffsetToCommit[])): Promise<void> {
    const done = this.commitChain.then(async () => {
      const toCommit = typeof offsets === 'function' ? offsets() : offsets;
      if (toCommit.length === 0) return;
      const membership = this.membership;
      if (membership) await membership.commit(toCommit);
      else await this.broker.group('commitOffsets', { groupId: this.groupId, generationId: -1, memberId: '', offsets: toCommit });
      for (const { topic, partition, offset } of toCommit) {
        const cursor = this.cursors.get(partitionKey(topic, partition));
        if (cursor) cursor.committed = offset;
      }
      this.emitter.fire('consumer.commit_offsets', {
        groupId: this.groupId,
        memberId: membership?.memberId ?? '',
        groupGenerationId: membership?.generationId ?? -1,
        topics: groupByTopic(toCommit),
      });
    });
    this.commitChain = done.catch(() => undefined);
    return done;
  }

  private autoCommit(processed: number): void {
    const config = this.runConfig;
    if (!config || !(config.autoCommit ?? true) || !this.membership) return;
    this.uncommittedMessages += processed;
    const interval = config.autoCommitInterval ?? null;
    const threshold = config.autoCommitThreshold ?? null;
    const due =
      (interval === null && threshold === null) ||
      (interval !== null && Date.now() - this.lastCommitAt >= interval) ||
      (threshold !== null && this.uncommittedMessages >= threshold);
    if (!due) return;
    this.uncommittedMessages = 0;
    this.lastCommitAt = Date.now();
    // Auto-commits that fall due while one is in flight merge into the next one, which commits
    // the positions as they are when it goes: committing after every batch (KafkaJS's default)
    // then costs the coordinator one write per round trip, not one per batch.
    if (this.autoCommitWaiting) return;
    this.autoCommitWaiting = true;
    const latest = () => {
      this.autoCommitWaiting = false;
      return this.pendingCommits([...this.cursors.values()]);
    };
    // A failed auto-commit is retried with the next one; the revocation commit is the one that counts.
    this.commit(latest).catch(() => undefined);
  }

  // ---------------------------------------------------------------- the fetch loops

  private cursor(topic: string, partition: number): PartitionCursor {
    const key = partitionKey(topic, partition);
    let cursor = this.cursors.get(key);
    if (!cursor) {
      cursor = { topic, partition, offset: null, seekTo: null, committed: null, active: false, loop: null };
      this.cursors.set(key, cursor);
    }
    return cursor;
  }

  private startPartition(cursor: PartitionCursor): void {
    if (cursor.active || !this.runConfig) return;
    cursor.active = true;
    cursor.loop = this.consume(cursor, this.runConfig);
  }

  private async stopPartition(cursor: PartitionCursor): Promise<void> {
    cursor.active = false;
    await cursor.loop;
    cursor.loop = null;
  }

  private isPaused(topic: string, partition: number): boolean {
    const paused = this.pausedTopics.get(topic);
    return paused === 'all' || (paused?.has(partition) ?? false);
  }

  private async consume(cursor: PartitionCursor, config: RunConfig): Promise<void> {
    // The next fetch goes out while this one's records are handled (one fetch ahead, like
    // Kafka's fetcher), so reading and decoding overlap with the application's work.
    let ahead: { offset: number; result: Promise<FetchResult> } | null = null;
    const live = () => this.running && cursor.active;
    while (live()) {
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
        if (cursor.seekTo !== null || !live()) continue; // what was fetched is for the old position
        const lastBatch = result.batches.at(-1);
        if (!lastBatch) continue;
        // The read-ahead goes out before decoding, so the broker reads while this page decodes.
        const header = readBatchHeader(lastBatch);
        const next = header.baseOffset + header.lastOffsetDelta + 1;
        const prefetch = this.fetch(cursor, next);
        prefetch.catch(() => undefined); // a failed read-ahead is retried as a normal fetch
        ahead = { offset: next, result: prefetch };
        let delivered = false;
        for await (const slice of slicesOf(result.batches)) {
          if (cursor.seekTo !== null || !live() || (delivered && this.isPaused(cursor.topic, cursor.partition))) break;
          const messages = decodeMessages(slice, cursor.offset ?? offset);
          if (messages.length === 0) continue;
          delivered = true;
          await this.handlers.run(() => this.deliver(cursor, messages, result.highWatermark, config, live));
          this.autoCommit(messages.length);
          if (cursor.offset === null || cursor.offset < Number(messages.at(-1)!.offset) + 1) break; // not all taken (paused, resolved less)
        }
        if (!delivered && cursor.seekTo === null) cursor.offset = Math.max(offset, next);
      } catch (error) {
        ahead = null;
        if (error instanceof OffsetOutOfRangeError) {
          // A position retention deleted restarts at the log start; one past the end, by the policy.
          cursor.offset = cursor.offset !== null && cursor.offset < error.logStartOffset ? error.logStartOffset : null;
          continue;
        }
        if (error instanceof ClientDisconnectedError) return;
        if (error instanceof NoOffsetForPartitionError) {
          this.emitter.fire('consumer.crash', { groupId: this.groupId, error, restart: false });
          return;
        }
        if (!(error instanceof TabkaError) || !error.retriable) console.warn(`tabka consumer ${this.groupId}: ${String(error)}`);
        await sleep(RETRY_BACKOFF_MS);
      }
    }
  }

  private fetch(cursor: PartitionCursor, offset: number): Promise<FetchResult> {
    return this.broker.fetch(cursor.topic, cursor.partition, offset, this.maxWaitMs, this.maxBytes);
  }

  private async startOffset(cursor: PartitionCursor): Promise<number> {
    const policy: OffsetResetPolicy = this.subscriptions.get(cursor.topic)?.fromBeginning ? 'earliest' : (this.config.autoOffsetReset ?? 'latest');
    if (policy === 'none') throw new NoOffsetForPartitionError(this.groupId, cursor.topic, cursor.partition);
    const offsets = await this.broker.offsets(cursor.topic, cursor.partition);
    return policy === 'earliest' ? offsets.logStartOffset : offsets.highWatermark;
  }

  private async deliver(cursor: PartitionCursor, messages: KafkaMessage[], highWatermark: number, config: RunConfig, live: () => boolean): Promise<void> {
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
        isRunning: live,
        isStale: () => cursor.seekTo !== null || !cursor.active,
      });
      if (config.eachBatchAutoResolve ?? true) resolved = Number(messages.at(-1)!.offset) + 1;
      if (cursor.seekTo === null) cursor.offset = resolved;
      return;
    }
    for (const message of messages) {
      if (!live() || cursor.seekTo !== null || this.isPaused(topic, partition)) return;
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

function groupByTopic(offsets: readonly OffsetToCommit[]): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    const list = topics.get(topic) ?? [];
    list.push({ partition, offset: String(offset) });
    topics.set(topic, list);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
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

/**
 * A fetch is handed to the app in slices of about DELIVERY_SLICE_BYTES of whole batches:
 * each slice's messages become garbage before the next slice's are built, so they die in the
 * young generation (one 8 MiB fetch decoded at once spent ~30% of the consumer's time in GC).
 */
const DELIVERY_SLICE_BYTES = 1024 * 1024;

async function* slicesOf(batches: readonly Uint8Array[]): AsyncGenerator<Uint8Array[]> {
  let slice: Uint8Array[] = [];
  let bytes = 0;
  for (const stored of batches) {
    // Compressed batches are inflated one by one as the slice fills: a fetch of gzip batches
    // holds one slice inflated at a time, not the whole fetch ten times over.
    const batch = isCompressed(stored) ? await decompressRecordBatch(stored) : stored;
    slice.push(batch);
    bytes += batch.byteLength;
    if (bytes >= DELIVERY_SLICE_BYTES) {
      yield slice;
      slice = [];
      bytes = 0;
    }
  }
  if (slice.length > 0) yield slice;
}

function decodeMessages(batches: readonly Uint8Array[], fromOffset: number): KafkaMessage[] {
  const messages: KafkaMessage[] = [];
  for (const bytes of batches) {
    scanRecords(bytes, verifyRecordBatch(bytes), (offset, timestamp, keyAt, keyLength, valueAt, valueLength, headersAt, headerCount) => {
      if (offset >= fromOffset) messages.push(new FetchedMessage(bytes, offset, timestamp, keyAt, keyLength, valueAt, valueLength, headersAt, headerCount));
    });
  }
  return messages;
}
