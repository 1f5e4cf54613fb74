import { transfer } from 'comlink';
import { InvalidRequestError } from '../errors';
import { IdbLogStore } from '../log/idb-log-store';
import type { EpochEntry } from '../log/leader-epoch-cache';
import type { LogConfig } from '../log/log-config';
import { LogManager } from '../log/log-manager';
import type { LogStore } from '../log/log-store';
import type { AppendOptions, AppendResult, PartitionLog, PartitionSummary, ReadOptions, ReadResult, RetentionResult } from '../log/partition-log';
import { loadOrCreateBrokerId } from './broker-identity';
import { claimBrokerSlot } from './broker-slot';
import { ClusterNode } from './cluster-node';
import type { ClusterMetadata, ClusterNodeOptions, ClusterStatus } from './cluster-node';
import type { NewTopic, TopicOutcome } from './admin-requests';
import type { PartitionOffsets, ProduceResponse } from './data-requests';
import type { Acks, FetchResult } from './partition';
import { GroupCoordinators } from './group-coordinators';
import type { GroupApi } from './group-requests';
import { METADATA_TOPIC } from '../cluster/metadata-records';
import { ReplicaManager } from './replica-manager';
import type { ReplicaStatus } from './replica-manager';
import { ownedBytes } from '../util/owned-bytes';
import type { BrokerSlot, ClaimOptions } from './broker-slot';

export interface BrokerStartOptions extends Omit<ClaimOptions, 'locks'> {
  /** How often retention runs (Kafka's log.retention.check.interval.ms, 5 minutes). 0 = never. */
  readonly retentionCheckIntervalMs?: number;
}

export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 5 * 60 * 1000;

export interface BrokerInfo {
  readonly brokerId: number;
  readonly slot: number;
  readonly cluster: string;
  readonly databaseName: string;
}

export type ClusterTimings = Pick<ClusterNodeOptions, 'heartbeatIntervalMs' | 'sessionTimeoutMs' | 'electionTimeoutMs'>;

interface Running {
  cluster?: ClusterNode;
  replicas?: ReplicaManager;
  groups?: GroupCoordinators;
  readonly info: BrokerInfo;
  readonly slot: BrokerSlot;
  readonly logs: LogManager;
  readonly retentionTimer: ReturnType<typeof setInterval> | undefined;
}

/**
 * The broker as it runs inside its Web Worker, exposed to the page with comlink. It owns the
 * slot lock and the logs; the page only sends requests. Time enters here, at the boundary.
 */
export class BrokerService {
  private running: Running | undefined;

  constructor(private readonly openStore: (databaseName: string) => Promise<LogStore> = IdbLogStore.open) {}

  async start(options: BrokerStartOptions): Promise<BrokerInfo> {
    if (this.running) return this.running.info;
    const slot = await claimBrokerSlot(options);
    try {
      const store = await this.openStore(slot.databaseName);
      const brokerId = await loadOrCreateBrokerId(store);
      const logs = await LogManager.open(store);
      const info = { brokerId, slot: slot.slot, cluster: options.cluster, databaseName: slot.databaseName };
      const interval = options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
      const retentionTimer = interval > 0 ? setInterval(() => this.retainQuietly(logs), interval) : undefined;
      this.running = { info, slot, logs, retentionTimer };
      return info;
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  async createPartition(topic: string, partition: number, config?: Partial<LogConfig>): Promise<PartitionSummary> {
    const log = await this.ownLogs(topic).createPartition(topic, partition, config);
    return log.summary();
  }

  async deletePartition(topic: string, partition: number): Promise<void> {
    await this.ownLogs(topic).deletePartition(topic, partition);
  }

  async append(topic: string, partition: number, records: Uint8Array, options?: AppendOptions): Promise<AppendResult> {
    return this.ownLogs(topic).get(topic, partition).append(records, options);
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<ReadResult> {
    const result = await this.logs().get(topic, partition).read(offset, options);
    return transfer(result, result.batches.map((batch) => batch.buffer));
  }

  async truncateTo(topic: string, partition: number, offset: number): Promise<void> {
    await this.ownLogs(topic).get(topic, partition).truncateTo(offset);
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.ownLogs(topic).get(topic, partition).deleteRecordsBefore(offset);
  }

  /** One retention pass now, as the timer runs it: a replica's log only below its high watermark. */
  applyRetention(nowMs: number = Date.now()): Promise<RetentionResult[]> {
    return this.retain(this.logs(), nowMs);
  }

  async endOffsetForEpoch(topic: string, partition: number, epoch: number): Promise<EpochEntry> {
    return this.logs().get(topic, partition).endOffsetForEpoch(epoch);
  }

  async updateConfig(topic: string, partition: number, config: LogConfig): Promise<void> {
    await this.ownLogs(topic).get(topic, partition).updateConfig(config);
  }

  async listPartitions(): Promise<PartitionSummary[]> {
    return this.logs().partitions();
  }

  /** Joins the cluster through the page's mesh, whose frames arrive on `port`. */
  async joinCluster(port: MessagePort, timings: ClusterTimings = {}): Promise<ClusterStatus> {
    const running = this.require();
    if (running.cluster) return running.cluster.status();
    running.cluster = await ClusterNode.start({ ...timings, brokerId: running.info.brokerId, port, logs: running.logs });
    running.replicas = new ReplicaManager({ node: running.cluster, logs: running.logs });
    running.groups = new GroupCoordinators({ node: running.cluster, replicas: running.replicas });
    return running.cluster.status();
  }

  async clusterStatus(): Promise<ClusterStatus | undefined> {
    return this.require().cluster?.status();
  }

  async clusterMetadata(): Promise<ClusterMetadata> {
    return this.cluster().metadata();
  }

  /** A producer's batch, to the partition's leader wherever it is. */
  produce(topic: string, partition: number, records: Uint8Array, acks: Acks, timeoutMs: number): Promise<ProduceResponse> {
    return this.replicas().produce(topic, partition, records, acks, timeoutMs);
  }

  /** A consumer's fetch from the partition's leader: whole batches below the high watermark. */
  async fetch(topic: string, partition: number, offset: number, maxWaitMs: number, maxBytes: number): Promise<FetchResult> {
    const result = await this.replicas().fetch(topic, partition, offset, maxWaitMs, maxBytes);
    const batches = result.batches.map(ownedBytes);
    return transfer({ ...result, batches }, batches.map((batch) => batch.buffer));
  }

  deleteRecords(topic: string, partition: number, offset: number): Promise<number> {
    return this.replicas().deleteRecords(topic, partition, offset);
  }

  offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.replicas().offsets(topic, partition);
  }

  /** A consumer group request, to the group's coordinator wherever it is. */
  group<K extends keyof GroupApi>(method: K, ...args: Parameters<GroupApi[K]>): ReturnType<GroupApi[K]> {
    const groups = this.require().groups;
    if (!groups) throw new Error('this broker has not joined a cluster: call joinCluster() first');
    const call = groups[method] as (...callArgs: Parameters<GroupApi[K]>) => ReturnType<GroupApi[K]>;
    return call.apply(groups, args);
  }

  async replicaStatus(): Promise<ReplicaStatus[]> {
    return this.replicas().status();
  }

  createTopics(topics: readonly NewTopic[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.cluster().createTopics(topics, timeoutMs);
  }

  deleteTopics(names: readonly string[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.cluster().deleteTopics(names, timeoutMs);
  }

  async info(): Promise<BrokerInfo> {
    return this.require().info;
  }

  async close(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running?.retentionTimer !== undefined) clearInterval(running.retentionTimer);
    running?.groups?.close();
    // A clean stop checkpoints as Kafka's shutdown does: nothing is waited for on the way back.
    await running?.replicas?.checkpointHighWatermarks().catch(() => undefined);
    running?.replicas?.close();
    await running?.cluster?.leave();
    running?.logs.close();
    running?.slot.release();
  }

  /** A failed retention pass is retried at the next interval; the logs stay as they were. */
  private retainQuietly(logs: LogManager): void {
    this.retain(logs, Date.now()).catch((error: unknown) => console.warn('tabka: retention pass failed', error));
  }

  private retain(logs: LogManager, nowMs: number): Promise<RetentionResult[]> {
    return logs.applyRetention(nowMs, (log) => this.retentionLimit(log));
  }

  /**
   * Where retention must stop in a log: below the hosted replica's high watermark (Kafka deletes
   * only below it, so nothing not yet on every in-sync replica goes); below the last
   * checkpointed one for a replica not hosted yet (before joining, say, or the metadata moving);
   * nowhere in the metadata log; anywhere in the page's own logs.
   */
  private retentionLimit(log: PartitionLog): number {
    const hosted = this.running?.replicas?.hostedHighWatermark(log.topic, log.partition);
    if (hosted !== undefined) return hosted;
    if (log.topic === METADATA_TOPIC) return 0;
    return this.clusterOwns(log.topic) ? log.checkpointedHighWatermark : Number.POSITIVE_INFINITY;
  }

  /**
   * The logs, for a direct change to one of `topic`'s, which must be the page's own (see
   * clusterOwns): written, truncated or deleted around the cluster, a replica would fork from
   * the others unseen.
   */
  private ownLogs(topic: string): LogManager {
    if (this.clusterOwns(topic)) {
      throw new InvalidRequestError(
        `${topic} is a cluster topic: its logs change only through its replicas (send with a producer; delete records, change configs or delete the topic with the admin)`,
      );
    }
    return this.logs();
  }

  /** The metadata log, a topic the metadata names, or logs the cluster made here (before joining too). */
  private clusterOwns(topic: string): boolean {
    return topic === METADATA_TOPIC || this.running?.replicas?.managesTopic(topic) === true || this.logs().hasReplicaOf(topic);
  }

  private replicas(): ReplicaManager {
    const replicas = this.require().replicas;
    if (!replicas) throw new Error('this broker has not joined a cluster: call joinCluster() first');
    return replicas;
  }

  private cluster(): ClusterNode {
    const cluster = this.require().cluster;
    if (!cluster) throw new Error('this broker has not joined a cluster: call joinCluster() first');
    return cluster;
  }

  private logs(): LogManager {
    return this.require().logs;
  }

  private require(): Running {
    if (!this.running) throw new Error('the broker has not started: call start() first');
    return this.running;
  }
}
