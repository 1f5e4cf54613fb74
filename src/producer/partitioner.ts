/**
 * The producer's built-in partitioner, as in Kafka 3.3+ (KIP-794, uniform sticky):
 *
 * - an explicit partition on the record wins;
 * - a keyed record goes to `toPositive(murmur2(key)) % numPartitions`, the partition the Java
 *   client would pick, so keyed topics stay co-partitioned with non-browser producers;
 * - a record without a key sticks to one randomly chosen partition per topic, so null-key
 *   records fill whole batches instead of spreading thin ones over every partition. It moves on
 *   when the batch fills (`onBatchFull`) or once `batchSize` bytes went to it (`recordAppended`).
 *
 * Kafka's adaptive mode (weighting by broker queue sizes) is left out: it needs I/O stats, and
 * this class stays I/O-free with its randomness injected so tests are deterministic.
 */
import { murmur2, toPositive } from './murmur2';

/** Kafka's batch.size default. */
export const DEFAULT_BATCH_SIZE = 16384;

export interface PartitionerOptions {
  /** batch.size: bytes produced to the sticky partition before switching. Integer >= 1. */
  batchSize?: number;
  /** Uniform source in [0, 1). Injected so tests can fix the sticky choices. */
  random?: () => number;
}

export interface PartitionRequest {
  topic: string;
  /** Serialized key; null means no key. An empty array is a key (Kafka hashes it). */
  key: Uint8Array | null;
  /** Caller's explicit partition, if any. */
  partition?: number | null | undefined;
  numPartitions: number;
}

interface StickyState {
  /** Current sticky partition, or null when a switch is due on the next null-key record. */
  partition: number | null;
  /** The partition being left, so the next choice can avoid it. */
  previous: number | null;
  producedBytes: number;
}

export class Partitioner {
  readonly batchSize: number;
  private readonly random: () => number;
  private readonly sticky = new Map<string, StickyState>();

  constructor(options: PartitionerOptions = {}) {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    // Kafka's BuiltInPartitioner refuses stickyBatchSize < 1 too: 0 would switch on every record.
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.random = options.random ?? Math.random;
  }

  /** The partition for one record, in [0, numPartitions). */
  partition(request: PartitionRequest): number {
    const { topic, key, partition, numPartitions } = request;
    if (!Number.isSafeInteger(numPartitions) || numPartitions < 1) {
      throw new RangeError(`numPartitions must be an integer >= 1, got ${numPartitions}`);
    }
    if (partition !== undefined && partition !== null) {
      // The Java producer rejects an out-of-range explicit partition rather than sending it.
      if (!Number.isSafeInteger(partition) || partition < 0 || partition >= numPartitions) {
        throw new RangeError(
          `partition ${partition} of topic ${JSON.stringify(topic)} is not in [0, ${numPartitions})`,
        );
      }
      return partition;
    }
    if (key !== null) return toPositive(murmur2(key)) % numPartitions;
    return this.stickyPartition(topic, numPartitions);
  }

  /**
   * The producer closed a batch for `topic` because it was full: the next null-key record goes
   * elsewhere. With `partition`, only a full batch of the current sticky partition counts, so a
   * keyed batch filling up on another partition does not move the sticky one.
   */
  onBatchFull(topic: string, partition?: number): void {
    const state = this.sticky.get(topic);
    if (!state || state.partition === null) return;
    if (partition !== undefined && partition !== state.partition) return;
    this.switchAway(state);
  }

  /**
   * Count `bytes` appended to `partition` of `topic`; once `batchSize` bytes went to the sticky
   * partition, switch (Kafka's updatePartitionInfo). Call it for records the sticky path placed.
   * Bytes for any other partition are ignored: they belong to a sticky choice already left.
   */
  recordAppended(topic: string, partition: number, bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(`bytes must be a non-negative number, got ${bytes}`);
    }
    const state = this.sticky.get(topic);
    if (!state || state.partition !== partition) return;
    state.producedBytes += bytes;
    if (state.producedBytes >= this.batchSize) this.switchAway(state);
  }

  private stickyPartition(topic: string, numPartitions: number): number {
    let state = this.sticky.get(topic);
    if (!state) {
      state = { partition: null, previous: null, producedBytes: 0 };
      this.sticky.set(topic, state);
    }
    // A partition count that shrank (a recreated topic) invalidates the old choice.
    if (state.partition !== null && state.partition < numPartitions) return state.partition;

    const previous = state.previous;
    let next: number;
    if (previous !== null && previous < numPartitions && numPartitions > 1) {
      // Pick uniformly among the other partitions: a switch that lands on the same partition
      // would keep filling it, which is what switching is meant to stop.
      next = (previous + 1 + this.randomIndex(numPartitions - 1)) % numPartitions;
    } else {
      next = this.randomIndex(numPartitions);
    }
    state.partition = next;
    state.previous = null;
    state.producedBytes = 0;
    return next;
  }

  // The next partition is chosen lazily, on the next null-key record, because only then is the
  // current partition count known.
  private switchAway(state: StickyState): void {
    state.previous = state.partition;
    state.partition = null;
    state.producedBytes = 0;
  }

  private randomIndex(bound: number): number {
    const r = this.random();
    if (!(r >= 0 && r < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${r}`);
    return Math.floor(r * bound);
  }
}

/**
 * KafkaJS's names for the Java-compatible partitioner, so code ported from KafkaJS finds it.
 * Both name this class (`new Partitioners.JavaCompatiblePartitioner()`); KafkaJS's own call
 * shape (a factory of `({ topic, partitionMetadata, message }) => number`) is not reproduced.
 */
export const Partitioners = Object.freeze({
  DefaultPartitioner: Partitioner,
  JavaCompatiblePartitioner: Partitioner,
});
