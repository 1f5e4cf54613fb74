/**
 * The partitions this broker hosts, kept in line with the committed metadata (Kafka's
 * ReplicaManager): it creates the log of every partition assigned here, makes each replica lead
 * or follow as the metadata says, runs a fetcher for every followed partition, asks the
 * controller for ISR changes, deletes the logs of deleted topics, and serves Produce and
 * Fetch from peers. Requests from this tab's own page are routed to the partition's leader,
 * wherever it is, and retried while leadership moves.
 */
import { InvalidRequestError, NotLeaderOrFollowerError, OutOfOrderSequenceError, TabkaError, UnknownTopicOrPartitionError } from '../errors';
import type { MetadataImage, TopicImage } from '../cluster/metadata-image';
import type { LogConfig } from '../log/log-config';
import type { PartitionLog } from '../log/partition-log';
import type { LogManager } from '../log/log-manager';
import { partitionKey } from '../log/log-store';
import { ApiKey } from '../protocol/api-keys';
import type { ClusterNode } from './cluster-node';
import {
  fetchResponseBody,
  parseDeleteRecordsRequest,
  parseFetchRequest,
  parseFetchEchoes,
  parseFetchResponse,
  parsePartitionOffsets,
  parsePartitionRequest,
  parseProduceRequest,
  parseProduceResponse,
} from './data-requests';
import type { FetchRequest, PartitionOffsets, ProduceResponse } from './data-requests';
import { Partition } from './partition';
import { SentBatches, echoHeaders, restoreEchoes } from './produce-echo';
import type { Acks, FetchResult, PartitionAssignment } from './partition';
import type { RpcMessage } from './peer-rpc';
import { retryUntil } from '../util/retry-until';
import { sleep } from '../util/sleep';

export interface ReplicaManagerOptions {
  readonly node: ClusterNode;
  readonly logs: LogManager;
  readonly now?: () => number;
  /** A follower not caught up for this long leaves the ISR. Default 5000 ms. */
  readonly replicaLagTimeMaxMs?: number;
}

/** What the demo and tests see of a hosted partition. */
export interface ReplicaStatus {
  readonly topic: string;
  readonly partition: number;
  readonly role: 'leader' | 'follower';
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /** As leader: each follower's fetch position. */
  readonly followerOffsets: Readonly<Record<string, number>>;
  /** As follower: batches this broker produced that came back from the leader as headers alone. */
  readonly echoedBatches: number;
}

const FOLLOWER_MAX_WAIT_MS = 500;
const FOLLOWER_MAX_BYTES = 8 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 3000;
const ISR_CHECK_INTERVAL_MS = 250;
/** Kafka's replica.high.watermark.checkpoint.interval.ms. */
const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = 5000;
const RETRY_BACKOFF_MS = 50;
const PRODUCE_ATTEMPT_TIMEOUT_MS = 30_000;

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private readonly fetchers = new Map<string, symbol>();
  /** What this broker sent to leaders, for their echoes; and per followed partition, how it fetches. */
  private readonly sent = new SentBatches();
  private readonly fetchWhole = new Set<string>();
  private readonly echoed = new Map<string, number>();
  private readonly now: () => number;
  private readonly isrTimer: ReturnType<typeof setInterval>;
  private readonly checkpointTimer: ReturnType<typeof setInterval>;
  private pendingImage: MetadataImage | null = null;
  private readonly syncListeners: (() => void)[] = [];
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: ReplicaManagerOptions) {
    this.now = options.now ?? Date.now;
    const peers = options.node.peers;
    peers.handle(ApiKey.Produce, (from, request) => this.serveProduce(from, request));
    peers.handle(ApiKey.Fetch, (_from, request) => this.serveFetch(request));
    peers.handle(ApiKey.DeleteRecords, async (_from, { body }) => {
      const { topic, partition, offset } = parseDeleteRecordsRequest(body);
      return { body: { logStartOffset: await this.local(topic, partition).deleteRecordsBefore(offset) } };
    });
    peers.handle(ApiKey.ListOffsets, async (_from, { body }) => {
      const { topic, partition } = parsePartitionRequest(body);
      return { body: { ...this.localOffsets(topic, partition) } };
    });
    this.isrTimer = setInterval(() => this.checkIsr(), ISR_CHECK_INTERVAL_MS);
    this.checkpointTimer = setInterval(() => {
      this.checkpointHighWatermarks().catch((error: unknown) => console.warn('tabka: high watermark checkpoint failed', error));
    }, HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS);
    options.node.onMetadata((image) => this.enqueueSync(image));
  }

  private get brokerId(): number {
    return this.options.node.brokerId;
  }

  status(): ReplicaStatus[] {
    return [...this.partitions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      role: p.isLeader ? 'leader' : 'follower',
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      isr: [...p.isr],
      logStartOffset: p.log.logStartOffset,
      logEndOffset: p.logEndOffset,
      highWatermark: p.highWatermark,
      followerOffsets: Object.fromEntries([...p.followerOffsets()].map(([id, offset]) => [String(id), offset])),
      echoedBatches: this.echoed.get(partitionKey(p.topic, p.partition)) ?? 0,
    }));
  }

  /** This broker's replica of a partition, if it hosts one. */
  localPartition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  /** Called after every pass that brought the hosted replicas in line with new metadata. */
  onSynced(listener: () => void): void {
    this.syncListeners.push(listener);
  }

  /** Sends a producer's batch to the partition's leader, retrying while leadership moves. */
  async produce(topic: string, partition: number, records: Uint8Array, acks: Acks, timeoutMs: number): Promise<ProduceResponse> {
    return this.toLeader(topic, partition, timeoutMs, async (leader, remaining) => {
      // Kafka's request.timeout.ms inside delivery.timeout.ms: an attempt whose request or answer
      // was lost is retried (the producer is idempotent) instead of waiting out the whole send.
      const attempt = Math.min(remaining, PRODUCE_ATTEMPT_TIMEOUT_MS);
      if (leader === this.brokerId) return this.local(topic, partition).produce(records, acks, attempt);
      // This broker follows the partition: the leader will echo the batch back as a header.
      if (this.partitions.has(partitionKey(topic, partition))) this.sent.remember(topic, partition, records);
      const reply = await this.options.node.peers.request(
        leader,
        ApiKey.Produce,
        { body: { topic, partition, acks, timeoutMs: attempt }, blobs: [records] },
        attempt + FETCH_TIMEOUT_MS,
      );
      return parseProduceResponse(reply.body);
    });
  }

  /** A consumer's fetch: batches below the high watermark, from the leader wherever it is. */
  async fetch(topic: string, partition: number, offset: number, maxWaitMs: number, maxBytes: number): Promise<FetchResult> {
    return this.toLeader(topic, partition, maxWaitMs + FETCH_TIMEOUT_MS, async (leader) => {
      if (leader === this.brokerId) return this.local(topic, partition).fetchForConsumer(offset, maxWaitMs, maxBytes);
      const body = { topic, partition, offset, replicaId: -1, leaderEpoch: -1, lastFetchedEpoch: -1, maxWaitMs, maxBytes };
      const reply = await this.options.node.peers.request(leader, ApiKey.Fetch, { body }, maxWaitMs + FETCH_TIMEOUT_MS);
      return parseFetchResponse(reply.body, reply.blobs ?? []);
    });
  }

  /** The partition's log start, high watermark and log end, from its leader (Kafka's ListOffsets). */
  async offsets(topic: string, partition: number, timeoutMs = 5000): Promise<PartitionOffsets> {
    return this.toLeader(topic, partition, timeoutMs, async (leader, remaining) => {
      if (leader === this.brokerId) return this.localOffsets(topic, partition);
      const reply = await this.options.node.peers.request(leader, ApiKey.ListOffsets, { body: { topic, partition } }, remaining);
      return parsePartitionOffsets(reply.body);
    });
  }

  /** Kafka's DeleteRecords through the leader: the new log start. */
  async deleteRecords(topic: string, partition: number, offset: number, timeoutMs = 5000): Promise<number> {
    return this.toLeader(topic, partition, timeoutMs, async (leader, remaining) => {
      if (leader === this.brokerId) return this.local(topic, partition).deleteRecordsBefore(offset);
      const reply = await this.options.node.peers.request(leader, ApiKey.DeleteRecords, { body: { topic, partition, offset } }, remaining);
      const logStart = reply.body['logStartOffset'];
      if (typeof logStart !== 'number') throw new InvalidRequestError('the leader answered DeleteRecords without a log start');
      return logStart;
    });
  }

  /** The high watermark of the replica this broker hosts for the partition, if it hosts one. */
  hostedHighWatermark(topic: string, partition: number): number | undefined {
    return this.partitions.get(partitionKey(topic, partition))?.highWatermark;
  }

  /** Whether the cluster's metadata names this topic: its logs are its replicas', not the page's. */
  managesTopic(topic: string): boolean {
    return this.options.node.image.topics.has(topic);
  }

  /** Stores every hosted replica's high watermark that moved since the last checkpoint. */
  async checkpointHighWatermarks(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((partition) => partition.log.checkpointHighWatermark(partition.highWatermark)));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.isrTimer);
    clearInterval(this.checkpointTimer);
    this.fetchers.clear();
    for (const partition of this.partitions.values()) partition.close();
  }

  // ---------------------------------------------------------------- routing

  private toLeader<T>(topic: string, partition: number, timeoutMs: number, attempt: (leader: number, remainingMs: number) => Promise<T>): Promise<T> {
    const retry = { timeoutMs, now: this.now, backoffMs: RETRY_BACKOFF_MS, retriable: isRetriableAtLeader, what: `request to the leader of ${topic}-${partition}` };
    return retryUntil(retry, (remaining) => {
      const state = this.options.node.image.topics.get(topic)?.partitions[partition];
      if (!state) throw new UnknownTopicOrPartitionError(topic, partition);
      if (state.leader < 0) throw new NotLeaderOrFollowerError(topic, partition, this.brokerId, state.leader);
      return this.options.node.untilMetadata(attempt(state.leader, remaining), (image) => {
        const now = image.topics.get(topic)?.partitions[partition];
        return now?.leaderEpoch === state.leaderEpoch ? undefined : new NotLeaderOrFollowerError(topic, partition, this.brokerId, now?.leader ?? -1);
      });
    });
  }

  private localOffsets(topic: string, partition: number): PartitionOffsets {
    const local = this.local(topic, partition);
    if (!local.isLeader) throw new NotLeaderOrFollowerError(topic, partition, this.brokerId, local.leaderId);
    return { logStartOffset: local.log.logStartOffset, highWatermark: local.highWatermark, logEndOffset: local.logEndOffset };
  }

  private local(topic: string, partition: number): Partition {
    const local = this.partitions.get(partitionKey(topic, partition));
    if (!local) throw new NotLeaderOrFollowerError(topic, partition, this.brokerId, -1);
    return local;
  }

  // ---------------------------------------------------------------- serving peers

  private async serveProduce(from: number, { body, blobs = [] }: RpcMessage): Promise<RpcMessage> {
    const request = parseProduceRequest(body);
    const records = blobs[0];
    if (!records || blobs.length !== 1) throw new NotLeaderOrFollowerError(request.topic, request.partition, this.brokerId, -1);
    const result = await this.local(request.topic, request.partition).produce(records, request.acks, request.timeoutMs, from);
    return { body: { ...result } };
  }

  private async serveFetch({ body }: RpcMessage): Promise<RpcMessage> {
    const request: FetchRequest = parseFetchRequest(body);
    const partition = this.local(request.topic, request.partition);
    const result =
      request.replicaId >= 0
        ? await partition.fetchForFollower(request)
        : await partition.fetchForConsumer(request.offset, request.maxWaitMs, request.maxBytes);
    if (request.replicaId >= 0 && request.echoes) {
      const { blobs, echoes } = echoHeaders(result.batches, request.replicaId, (baseOffset) => partition.originOf(baseOffset));
      return { body: { ...fetchResponseBody(result), echoes }, blobs };
    }
    return { body: fetchResponseBody(result), blobs: result.batches };
  }

  // ---------------------------------------------------------------- following the metadata

  private enqueueSync(image: MetadataImage): void {
    // Only the newest image matters: a sync that is still running picks it up when done.
    const idle = this.pendingImage === null;
    this.pendingImage = image;
    if (!idle) return;
    this.syncing = this.syncing.then(async () => {
      const next = this.pendingImage;
      this.pendingImage = null;
      if (next && !this.closed) await this.sync(next).catch((error: unknown) => console.warn('tabka: replica sync failed', error));
      for (const listener of this.syncListeners) listener();
    });
  }

  private async sync(image: MetadataImage): Promise<void> {
    const wanted = new Set<string>();
    for (const topic of image.topics.values()) {
      for (const state of topic.partitions) {
        if (!state.replicas.includes(this.brokerId)) continue;
        const key = partitionKey(topic.name, state.partition);
        wanted.add(key);
        const partition = await this.ensurePartition(topic, state);
        partition.minInSyncReplicas = Number(topic.configs['min.insync.replicas'] ?? '1');
        partition.applyAssignment(state);
        if (!partition.isLeader && state.leader >= 0) this.ensureFetcher(key, partition);
      }
    }
    for (const [key, partition] of this.partitions) {
      // The topic was deleted, or this broker is no longer a replica: its copy goes.
      if (!wanted.has(key)) await this.dropPartition(key, partition);
    }
  }

  private async dropPartition(key: string, partition: Partition): Promise<void> {
    partition.close();
    this.partitions.delete(key);
    this.fetchers.delete(key);
    this.sent.forgetPartition(partition.topic, partition.partition);
    if (this.options.logs.has(partition.topic, partition.partition)) await this.options.logs.deletePartition(partition.topic, partition.partition);
  }

  private async ensurePartition(topic: TopicImage, state: PartitionAssignment & { partition: number }): Promise<Partition> {
    const key = partitionKey(topic.name, state.partition);
    const config = logConfigOf(topic.configs);
    let existing = this.partitions.get(key);
    if (existing && existing.log.topicId !== topic.topicId) {
      // A topic of this name that is not the one this replica was made for (deleted and made
      // again, or another founding's, between two syncs): its replica goes, the new one starts empty.
      await this.dropPartition(key, existing);
      existing = undefined;
    }
    if (existing) {
      const current = existing.log.config;
      if (current.retentionMs !== config.retentionMs || current.retentionBytes !== config.retentionBytes || current.maxMessageBytes !== config.maxMessageBytes) {
        await existing.log.updateConfig({ ...current, ...config });
      }
      return existing;
    }
    const log = await this.replicaLog(topic.name, topic.topicId, state.partition, config);
    const partition = new Partition(this.brokerId, log, state, this.now, this.options.replicaLagTimeMaxMs);
    this.partitions.set(key, partition);
    return partition;
  }

  /**
   * The replica's log. One the page made under this name (records and no leader epoch: no
   * leader ever wrote it) is not this partition's history, and as this broker's copy it would
   * be served or fetched onto as if it were: it goes, and the replica starts empty, as Kafka
   * discards a stale log. So does a replica's log stored with another topic id. A replica's log
   * from before logs were marked, or carried topic ids, is kept, and marked.
   */
  private async replicaLog(topic: string, topicId: string, partition: number, config: Partial<LogConfig>): Promise<PartitionLog> {
    const logs = this.options.logs;
    const existing = logs.has(topic, partition) ? logs.get(topic, partition) : undefined;
    if (existing && !existing.isReplica && existing.epochs.length === 0 && existing.logEndOffset > 0) {
      console.warn(`tabka: ${topic}-${partition} is now a cluster topic's replica; the page's own log of that name is deleted`);
      await logs.deletePartition(topic, partition);
    } else if (existing?.topicId !== undefined && existing.topicId !== topicId) {
      console.warn(`tabka: ${topic}-${partition} belonged to topic id ${existing.topicId}, not ${topicId}; the stale replica is deleted`);
      await logs.deletePartition(topic, partition);
    } else if (existing) {
      await existing.markReplica(topicId);
    }
    return logs.createPartition(topic, partition, config, { replica: true, topicId });
  }

  /** One fetch loop per followed partition and leader epoch; a newer epoch's loop replaces it. */
  private ensureFetcher(key: string, partition: Partition): void {
    const leader = partition.leaderId;
    const epoch = partition.leaderEpoch;
    const token = Symbol(`${key}@${epoch}`);
    const current = this.fetchers.get(key);
    if (current?.description === token.description) return;
    this.fetchers.set(key, token);
    this.sent.forgetPartition(partition.topic, partition.partition);
    const running = () => !this.closed && this.fetchers.get(key) === token && !partition.isLeader && partition.leaderEpoch === epoch;
    void (async () => {
      while (running()) {
        try {
          await this.fetchOnce(partition, leader, epoch);
        } catch {
          await sleep(RETRY_BACKOFF_MS * 2);
        }
      }
    })();
  }

  private async fetchOnce(partition: Partition, leader: number, leaderEpoch: number): Promise<void> {
    const key = partitionKey(partition.topic, partition.partition);
    const body = {
      topic: partition.topic,
      partition: partition.partition,
      offset: partition.logEndOffset,
      replicaId: this.brokerId,
      leaderEpoch,
      lastFetchedEpoch: partition.lastFetchedEpoch,
      maxWaitMs: FOLLOWER_MAX_WAIT_MS,
      maxBytes: FOLLOWER_MAX_BYTES,
      echoes: !this.fetchWhole.has(key),
    };
    const reply = await this.options.node.peers.request(leader, ApiKey.Fetch, { body }, FOLLOWER_MAX_WAIT_MS + FETCH_TIMEOUT_MS);
    if (partition.isLeader || partition.leaderEpoch !== leaderEpoch) return;
    let result: FetchResult;
    let echoes: number[];
    try {
      result = parseFetchResponse(reply.body, reply.blobs ?? []);
      echoes = parseFetchEchoes(reply.body, reply.blobs ?? []);
    } catch (error) {
      this.fetchWhole.add(key); // whatever the leader made of echoes, ask for none
      throw error;
    }
    if (!body.echoes) this.fetchWhole.delete(key);
    if (result.divergingEpoch) {
      await partition.truncateTo(partition.truncationPoint(result.divergingEpoch.epoch, result.divergingEpoch.endOffset));
    } else if (result.batches.length > 0) {
      const restored = restoreEchoes(result.batches, echoes, (header) => this.sent.take(partition.topic, partition.partition, header));
      // One this broker no longer holds (or a bad match, caught by the CRC): the rest comes whole.
      if (!restored.complete) this.fetchWhole.add(key);
      if (restored.batches.length > 0) {
        try {
          await partition.appendFromLeader(restored.batches, result.highWatermark);
        } catch (error) {
          if (echoes.length > 0) this.fetchWhole.add(key);
          throw error;
        }
        this.echoed.set(key, (this.echoed.get(key) ?? 0) + echoes.filter((index) => index < restored.batches.length).length);
      }
    } else {
      partition.learnHighWatermark(result.highWatermark);
    }
    await partition.followLogStart(result.logStartOffset);
  }

  // ---------------------------------------------------------------- ISR

  private checkIsr(): void {
    for (const partition of this.partitions.values()) {
      const isr = partition.desiredIsr();
      if (!isr) continue;
      partition.pendingIsr = isr;
      const request = { topic: partition.topic, partition: partition.partition, leaderEpoch: partition.leaderEpoch, isr };
      this.options.node
        .alterPartition(request, 5000)
        .then((outcomes) => {
          if (outcomes.some((o) => o.error !== null) && partition.pendingIsr === isr) partition.pendingIsr = null;
        })
        .catch(() => {
          if (partition.pendingIsr === isr) partition.pendingIsr = null;
        });
    }
  }
}

/**
 * An unknown topic may just be one this broker has not heard of yet, and a batch ahead of its
 * sequence waits for its predecessor's retry to land first.
 */
function isRetriableAtLeader(error: unknown): boolean {
  return error instanceof TabkaError && (error.retriable || error instanceof UnknownTopicOrPartitionError || error instanceof OutOfOrderSequenceError);
}

function logConfigOf(configs: Readonly<Record<string, string>>): Partial<LogConfig> {
  const config: { retentionMs?: number; retentionBytes?: number; maxMessageBytes?: number } = {};
  if (configs['retention.ms'] !== undefined) config.retentionMs = Number(configs['retention.ms']);
  if (configs['retention.bytes'] !== undefined) config.retentionBytes = Number(configs['retention.bytes']);
  if (configs['max.message.bytes'] !== undefined) config.maxMessageBytes = Math.max(1, Number(configs['max.message.bytes']));
  return config;
}
