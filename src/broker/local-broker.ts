import { transfer, wrap } from 'comlink';
import type { Remote } from 'comlink';
import './comlink-errors';
import type { EpochEntry } from '../log/leader-epoch-cache';
import type { LogConfig } from '../log/log-config';
import type { AppendOptions, AppendResult, PartitionSummary, ReadOptions, ReadResult, RetentionResult } from '../log/partition-log';
import type { BrokerInfo, BrokerService, ClusterTimings } from './broker-service';
import type { ClusterMetadata, ClusterStatus } from './cluster-node';
import type { NewTopic, TopicOutcome } from './admin-requests';
import type { PartitionOffsets, ProduceResponse } from './data-requests';
import type { Acks, FetchResult } from './partition';
import type { GroupApi } from './group-requests';
import type { ReplicaStatus } from './replica-manager';
import { ownedBytes } from '../util/owned-bytes';
import { workerReady } from './worker-ready';

export interface LocalBrokerOptions {
  /** The cluster name: tabs of one origin with the same name share slots. Default "default". */
  readonly cluster?: string;
  readonly maxSlots?: number;
  /** Makes the broker's worker; by default tabka's own worker module. */
  readonly createWorker?: () => Worker;
}

/**
 * This tab's broker, seen from the page: a handle on the Web Worker that runs it. Buffers
 * cross the boundary by transfer, not copy, so an appended Uint8Array is handed over (its
 * buffer is detached afterwards when it covered the whole buffer).
 */
export class LocalBroker {
  private constructor(
    private readonly worker: Worker,
    private readonly service: Remote<BrokerService>,
    readonly info: BrokerInfo,
  ) {}

  static async start(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
    const cluster = options.cluster ?? 'default';
    const worker = options.createWorker?.() ?? createBrokerWorker();
    const service = wrap<BrokerService>(worker);
    try {
      const preferredSlot = readRememberedSlot(cluster);
      await workerReady(worker);
      const info = await service.start({
        cluster,
        ...(preferredSlot === undefined ? {} : { preferredSlot }),
        ...(options.maxSlots === undefined ? {} : { maxSlots: options.maxSlots }),
      });
      rememberSlot(cluster, info.slot);
      return new LocalBroker(worker, service, info);
    } catch (error) {
      worker.terminate();
      throw error;
    }
  }

  get brokerId(): number {
    return this.info.brokerId;
  }

  get slot(): number {
    return this.info.slot;
  }

  createPartition(topic: string, partition: number, config?: Partial<LogConfig>): Promise<PartitionSummary> {
    return this.service.createPartition(topic, partition, config);
  }

  deletePartition(topic: string, partition: number): Promise<void> {
    return this.service.deletePartition(topic, partition);
  }

  append(topic: string, partition: number, records: Uint8Array, options?: AppendOptions): Promise<AppendResult> {
    const owned = ownedBytes(records);
    return this.service.append(topic, partition, transfer(owned, [owned.buffer]), options);
  }

  read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<ReadResult> {
    return this.service.read(topic, partition, offset, options);
  }

  truncateTo(topic: string, partition: number, offset: number): Promise<void> {
    return this.service.truncateTo(topic, partition, offset);
  }

  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.service.deleteRecordsBefore(topic, partition, offset);
  }

  applyRetention(nowMs?: number): Promise<RetentionResult[]> {
    return this.service.applyRetention(nowMs);
  }

  endOffsetForEpoch(topic: string, partition: number, epoch: number): Promise<EpochEntry> {
    return this.service.endOffsetForEpoch(topic, partition, epoch);
  }

  updateConfig(topic: string, partition: number, config: LogConfig): Promise<void> {
    return this.service.updateConfig(topic, partition, config);
  }

  /** Hands the broker its end of the mesh; the port moves to the worker. */
  joinCluster(port: MessagePort, timings?: ClusterTimings): Promise<ClusterStatus> {
    return this.service.joinCluster(transfer(port, [port]), timings);
  }

  clusterStatus(): Promise<ClusterStatus | undefined> {
    return this.service.clusterStatus();
  }

  /** Sends one record batch to the partition's leader; the batch's buffer moves to the worker. */
  produce(topic: string, partition: number, records: Uint8Array, acks: Acks, timeoutMs: number): Promise<ProduceResponse> {
    const owned = ownedBytes(records);
    return this.service.produce(topic, partition, transfer(owned, [owned.buffer]), acks, timeoutMs);
  }

  fetch(topic: string, partition: number, offset: number, maxWaitMs: number, maxBytes: number): Promise<FetchResult> {
    return this.service.fetch(topic, partition, offset, maxWaitMs, maxBytes);
  }

  /** Log start, high watermark and log end of a partition, from its leader. */
  offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.service.offsets(topic, partition);
  }

  /** Kafka's DeleteRecords, through the partition's leader (-1: up to the high watermark). Returns the new log start. */
  deleteRecords(topic: string, partition: number, offset: number): Promise<number> {
    return this.service.deleteRecords(topic, partition, offset);
  }

  /** A consumer group request (join, sync, heartbeat, commit...), to the group's coordinator. */
  group<K extends keyof GroupApi>(method: K, ...args: Parameters<GroupApi[K]>): ReturnType<GroupApi[K]> {
    return (this.service.group as unknown as (m: K, ...a: Parameters<GroupApi[K]>) => ReturnType<GroupApi[K]>)(method, ...args);
  }

  replicaStatus(): Promise<ReplicaStatus[]> {
    return this.service.replicaStatus();
  }

  clusterMetadata(): Promise<ClusterMetadata> {
    return this.service.clusterMetadata();
  }

  createTopics(topics: readonly NewTopic[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.service.createTopics(topics, timeoutMs);
  }

  deleteTopics(names: readonly string[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.service.deleteTopics(names, timeoutMs);
  }

  listPartitions(): Promise<PartitionSummary[]> {
    return this.service.listPartitions();
  }

  /**
   * Stops the worker at once, mid-whatever, as a crash would: no goodbye, no flush. The slot's
   * lock goes with the worker; what IndexedDB committed stays.
   */
  kill(): void {
    this.worker.terminate();
  }

  /** Releases the slot and stops the worker; the logs stay in IndexedDB for the next holder. */
  async close(): Promise<void> {
    try {
      await this.service.close();
    } finally {
      this.worker.terminate();
    }
  }
}

function createBrokerWorker(): Worker {
  return new Worker(new URL('../../workers/broker.worker.ts', import.meta.url), { type: 'module', name: 'tabka-broker' });
}

/** sessionStorage survives a reload of this tab and is not shared with other tabs. */
function slotStorageKey(cluster: string): string {
  return `tabka/${cluster}/slot`;
}

function readRememberedSlot(cluster: string): number | undefined {
  const stored = globalThis.sessionStorage?.getItem(slotStorageKey(cluster));
  const slot = stored === null || stored === undefined ? Number.NaN : Number(stored);
  return Number.isInteger(slot) ? slot : undefined;
}

function rememberSlot(cluster: string, slot: number): void {
  globalThis.sessionStorage?.setItem(slotStorageKey(cluster), String(slot));
}
