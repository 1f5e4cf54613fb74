import type { EpochEntry } from './leader-epoch-cache';
import type { LogConfig } from './log-config';

/**
 * Where a broker's partition logs persist: one row per record batch, keyed
 * [topic, partition, baseOffset] (never a row per record), a small index row per batch so a
 * log opens without reading its data, and one metadata row per partition. The IndexedDB
 * store is the real one; the in-memory store serves Node tests behind the same interface.
 */
export interface BatchEntry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly sizeBytes: number;
  readonly maxTimestamp: number;
  readonly leaderEpoch: number;
}

export interface PartitionMeta {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly epochs: readonly EpochEntry[];
  readonly config: LogConfig;
  /** The replica's high watermark as last checkpointed (Kafka's replication-offset-checkpoint). */
  readonly highWatermark?: number;
  /** Made for the cluster (a partition replica or the metadata log), not by the page's own calls. */
  readonly replica?: boolean;
  /**
   * The topic id a replica's log belongs to (Kafka's partition.metadata, KIP-516): a topic of
   * the same name made later (deleted and created again, or another founding's) is not this one.
   */
  readonly topicId?: string;
}

export interface StoredPartition {
  readonly meta: PartitionMeta;
  /** Sorted by baseOffset. */
  readonly entries: readonly BatchEntry[];
}

export interface StoredBatch {
  readonly entry: BatchEntry;
  readonly bytes: Uint8Array;
}

/** One atomic change to one partition, applied in this order: deletes, puts, meta. */
export interface LogWrite {
  readonly topic: string;
  readonly partition: number;
  /** Delete batches with baseOffset < deleteBelow. */
  readonly deleteBelow?: number;
  /** Delete batches with baseOffset >= deleteFrom. */
  readonly deleteFrom?: number;
  readonly put?: readonly StoredBatch[];
  readonly meta?: PartitionMeta;
}

/** One string per topic-partition, for maps keyed by partition. */
export function partitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

export interface LogStore {
  /** Every partition's metadata and batch index, to rebuild the logs at start. */
  load(): Promise<StoredPartition[]>;
  /**
   * All of the write or none of it; failures are StorageError. `validate` runs once the write
   * is issued but before it can commit: if it throws, nothing is written and its error is
   * rethrown as is. It lets a costly check (the CRC of every appended batch) overlap the
   * storage's own work instead of adding to it.
   */
  write(change: LogWrite, validate?: () => void): Promise<void>;
  /** Batches with fromBaseOffset <= baseOffset <= toBaseOffset, in offset order. */
  readBatches(topic: string, partition: number, fromBaseOffset: number, toBaseOffset: number): Promise<Uint8Array[]>;
  removePartition(topic: string, partition: number): Promise<void>;
  getMeta(key: string): Promise<unknown>;
  putMeta(key: string, value: unknown): Promise<void>;
  close(): void;
}
