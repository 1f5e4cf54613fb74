import { InvalidRecordError, OffsetOutOfRangeError, RecordTooLargeError, UnknownTopicOrPartitionError } from '../errors';
import { compressRecordBatch, decompressRecordBatch } from '../protocol/compression';
import type { CompressionType } from '../protocol/compression';
import {
  COMPRESSION_MASK,
  decodeRecordBatch,
  encodeRecordBatch,
  lastOffsetOf,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitRecordBatches,
  verifyRecordBatch,
} from '../protocol/record-batch';
import type { BatchHeader } from '../protocol/record-batch';
import {
  assignEpoch,
  endOffsetForEpoch,
  latestEpoch,
  truncateEpochsFromEnd,
  truncateEpochsFromStart,
} from './leader-epoch-cache';
import type { EpochEntry } from './leader-epoch-cache';
import type { LogConfig } from './log-config';
import type { BatchEntry, LogStore, PartitionMeta, StoredBatch, StoredPartition } from './log-store';
import { TailCache } from './tail-cache';
import { SerialQueue } from '../util/serial-queue';

export interface AppendOptions {
  /**
   * true (a leader): the log assigns offsets from its end and stamps `leaderEpoch`.
   * false (a follower): batches keep the leader's offsets and epochs and must start at the log end.
   */
  readonly assignOffsets?: boolean;
  /** The current leader epoch, stamped on assigned batches. */
  readonly leaderEpoch?: number;
}

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logEndOffset: number;
}

export interface ReadOptions {
  /** Stop adding batches once this many bytes are collected; the first batch is always returned. */
  readonly maxBytes?: number;
  /** Exclusive upper bound: batches starting at or past it are not returned (the high watermark). */
  readonly maxOffset?: number;
}

export interface ReadResult {
  /** Whole record batches in offset order, exactly as stored; each owns its own buffer. */
  readonly batches: Uint8Array[];
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

export interface RetentionResult {
  readonly deletedBatches: number;
  readonly logStartOffset: number;
}

export interface PartitionSummary {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly sizeBytes: number;
  readonly batchCount: number;
  readonly leaderEpoch: number;
  readonly config: LogConfig;
}

/** Kafka's fetch.max.bytes default (50 MiB); callers usually pass their own limit. */
export const DEFAULT_READ_MAX_BYTES = 50 * 1024 * 1024;
/**
 * A large read goes to the store as up to PARALLEL_READS runs of at least PARALLEL_READ_MIN_BYTES
 * side by side: IndexedDB serves concurrent readonly transactions in parallel, and 1M records
 * read in 8 MiB fetches took ~410 ms as one getAll each, ~340 ms as two, ~280-300 ms as four
 * (one tab, 2 cores). Small reads stay one request.
 */
const PARALLEL_READS = 4;
const PARALLEL_READ_MIN_BYTES = 1024 * 1024;
/** Reads of at least READ_AHEAD_MIN_BYTES, by readers asking for at most READ_AHEAD_MAX_BYTES, read the next ahead. */
const READ_AHEAD_MIN_BYTES = 256 * 1024;
const READ_AHEAD_MAX_BYTES = 8 * 1024 * 1024;
/** The newest committed bytes of each log kept in memory for readers at its end. */
const TAIL_CACHE_BYTES = 4 * 1024 * 1024;

/** `entries` cut into at most `pieces` contiguous runs of about equal bytes, each at least `minBytes`. */
function runsByBytes(entries: readonly BatchEntry[], pieces: number, minBytes: number): BatchEntry[][] {
  const total = entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  const share = Math.max(minBytes, total / pieces);
  const runs: BatchEntry[][] = [];
  let run: BatchEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    run.push(entry);
    bytes += entry.sizeBytes;
    if (bytes >= share * (runs.length + 1) && runs.length < pieces - 1) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * One topic-partition's log: an ordered sequence of record batches with contiguous offsets,
 * backed by a LogStore. The batch index lives in memory, so reads go straight to the rows
 * they need; memory state changes only after the store has committed.
 */
export class PartitionLog {
  private readonly queue = new SerialQueue();
  private readonly tail = new TailCache(TAIL_CACHE_BYTES);
  /** The rows after the last large read, being read already: a reader catching up asks for them next. */
  private readAhead: { readonly first: number; readonly last: number; readonly rows: Promise<Uint8Array[]> } | undefined;
  private entries: BatchEntry[];
  private meta: PartitionMeta;
  /** Removed from the store: a write still queued behind the removal must not bring it back. */
  private removed = false;
  private sizeBytes: number;

  constructor(private readonly store: LogStore, stored: StoredPartition) {
    this.meta = stored.meta;
    this.entries = [...stored.entries];
    this.sizeBytes = this.entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  }

  get topic(): string {
    return this.meta.topic;
  }

  get partition(): number {
    return this.meta.partition;
  }

  get config(): LogConfig {
    return this.meta.config;
  }

  get logStartOffset(): number {
    return this.meta.logStartOffset;
  }

  get logEndOffset(): number {
    const last = this.entries.at(-1);
    return last ? Math.max(last.lastOffset + 1, this.meta.logStartOffset) : this.meta.logStartOffset;
  }

  get epochs(): readonly EpochEntry[] {
    return this.meta.epochs;
  }

  summary(): PartitionSummary {
    return {
      topic: this.topic,
      partition: this.partition,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      sizeBytes: this.sizeBytes,
      batchCount: this.entries.length,
      leaderEpoch: latestEpoch(this.meta.epochs),
      config: this.meta.config,
    };
  }

  /**
   * Appends one or more record batches, concatenated or as a list (a follower's fetch brings a
   * list). Every batch is checked (lengths, CRC, size limit) before anything is written; the
   * write is one atomic store transaction, however many batches. The log takes ownership of
   * `records`: a leader stamps offsets and epoch into it.
   */
  async append(records: Uint8Array | readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendResult> {
    const batches = records instanceof Uint8Array ? splitRecordBatches(records) : records.flatMap(splitRecordBatches);
    if (batches.length === 0) throw new InvalidRecordError('no record batch to append');
    const headers = batches.map((batch) => this.checkBatchHeader(batch));
    return this.serially(() => this.appendChecked(batches, headers, options));
  }

  /** Reads whole batches from the one holding `offset`, up to `maxBytes`. */
  async read(offset: number, options: ReadOptions = {}): Promise<ReadResult> {
    const maxBytes = options.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    for (;;) {
      const wanted = this.batchesFor(offset, maxBytes, options.maxOffset ?? Number.POSITIVE_INFINITY);
      const first = wanted[0];
      const last = wanted.at(-1);
      if (!first || !last) return this.readResult([]);
      const cached = this.tail.read(wanted);
      if (cached) return this.readResult(cached);
      const rows = await this.rowsOf(wanted, maxBytes, options.maxOffset ?? Number.POSITIVE_INFINITY);
      // A deletion or truncation may have committed while the rows were read; look again.
      if (rows.length === wanted.length && rows.every((row, i) => row.byteLength === wanted[i]?.sizeBytes)) {
        return this.readResult(rows);
      }
    }
  }

  /** Removes every record at or past `offset` (leader-epoch truncation of a follower). */
  async truncateTo(offset: number): Promise<void> {
    requireOffset(offset);
    return this.serially(async () => {
      if (offset >= this.logEndOffset) return;
      if (offset <= this.logStartOffset) return this.truncateFullyAndStartAt(offset);
      const index = this.entries.findIndex((entry) => entry.lastOffset >= offset);
      const straddling = this.entries[index] as BatchEntry;
      const put = straddling.baseOffset < offset ? [await this.trimmedBatch(straddling, offset)] : [];
      const meta = { ...this.meta, epochs: truncateEpochsFromEnd(this.meta.epochs, offset) };
      await this.store.write({ topic: this.topic, partition: this.partition, deleteFrom: straddling.baseOffset, put, meta });
      this.entries = [...this.entries.slice(0, index), ...put.map((batch) => batch.entry)];
      this.forgetCachedRows();
      this.meta = meta;
      this.recountSize();
    });
  }

  /** Kafka's DeleteRecords: moves the log start to `offset`, dropping batches wholly before it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    requireOffset(offset);
    return this.serially(async () => {
      if (offset > this.logEndOffset) throw this.outOfRange(offset);
      if (offset > this.logStartOffset) await this.advanceStart(offset);
      return this.logStartOffset;
    });
  }

  /**
   * Deletes the oldest batches past retention.ms (by their newest timestamp) or beyond
   * retention.bytes, never at or past `maxOffset` (the high watermark, once there is one).
   */
  applyRetention(nowMs: number, maxOffset = Number.POSITIVE_INFINITY): Promise<RetentionResult> {
    return this.serially(async () => {
      const { retentionMs, retentionBytes } = this.meta.config;
      let excessBytes = retentionBytes < 0 ? 0 : this.sizeBytes - retentionBytes;
      let count = 0;
      for (const entry of this.entries) {
        if (entry.lastOffset >= maxOffset) break;
        const expired = retentionMs >= 0 && entry.maxTimestamp < nowMs - retentionMs;
        const oversize = retentionBytes >= 0 && excessBytes - entry.sizeBytes >= 0;
        if (!expired && !oversize) break;
        excessBytes -= entry.sizeBytes;
        count += 1;
      }
      if (count > 0) {
        const next = this.entries[count];
        await this.advanceStart(next ? next.baseOffset : this.logEndOffset);
      }
      return { deletedBatches: count, logStartOffset: this.logStartOffset };
    });
  }

  /** OffsetsForLeaderEpoch, answered from this log's epoch checkpoint. */
  endOffsetForEpoch(epoch: number): EpochEntry {
    return endOffsetForEpoch(this.meta.epochs, epoch, this.logEndOffset);
  }

  /** Whether the cluster made this log (a replica or the metadata log), not the page. */
  get isReplica(): boolean {
    return this.meta.replica === true;
  }

  /** The topic id this replica's log was made for, if it was stored with one. */
  get topicId(): string | undefined {
    return this.meta.topicId;
  }

  /** Marks a log the cluster adopts as its own (one made before logs were marked, or before they carried topic ids). */
  markReplica(topicId?: string): Promise<void> {
    return this.serially(async () => {
      if (!this.isReplica || (topicId !== undefined && this.topicId !== topicId)) {
        await this.replaceMeta({ replica: true, ...(topicId === undefined ? {} : { topicId }) });
      }
    });
  }

  /** Deletes the log from the store, after whatever is queued on it; nothing queued later writes. */
  remove(): Promise<void> {
    return this.serially(async () => {
      await this.store.removePartition(this.topic, this.partition);
      this.removed = true;
      this.forgetCachedRows();
    });
  }

  /** The high watermark last checkpointed for this replica (0 if none). */
  get checkpointedHighWatermark(): number {
    return this.meta.highWatermark ?? 0;
  }

  /** Stores the replica's high watermark, if it moved, so a restart serves consumers at once. */
  checkpointHighWatermark(offset: number): Promise<void> {
    return this.serially(async () => {
      // Taken before a truncation that ran first in the queue, it must not outgrow the log.
      const highWatermark = Math.min(offset, this.logEndOffset);
      if (highWatermark !== this.checkpointedHighWatermark) await this.replaceMeta({ highWatermark });
    });
  }

  updateConfig(config: LogConfig): Promise<void> {
    return this.serially(() => this.replaceMeta({ config }));
  }

  /** Stores the log's meta row with `change`, then takes it as the log's own. */
  private async replaceMeta(change: Partial<PartitionMeta>): Promise<void> {
    const meta = { ...this.meta, ...change };
    await this.store.write({ topic: this.topic, partition: this.partition, meta });
    this.meta = meta;
  }

  /** The log's rows changed under the tail cache and the read-ahead: neither may serve them. */
  private forgetCachedRows(): void {
    this.tail.clear();
    this.readAhead = undefined;
  }

  /** Changes one at a time, in order; none after the log was removed. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    return this.queue.run(() => {
      if (this.removed) throw new UnknownTopicOrPartitionError(this.topic, this.partition);
      return change();
    });
  }

  /** The cheap checks, before queueing; the CRC is checked while the store writes. */
  private checkBatchHeader(batch: Uint8Array): BatchHeader {
    if (batch.byteLength > this.meta.config.maxMessageBytes) {
      throw new RecordTooLargeError(batch.byteLength, this.meta.config.maxMessageBytes);
    }
    return readBatchHeader(batch);
  }

  private async appendChecked(
    batches: Uint8Array[],
    headers: BatchHeader[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const assignOffsets = options.assignOffsets ?? true;
    const firstOffset = this.logEndOffset;
    let nextOffset = firstOffset;
    let epochs = this.meta.epochs;
    const put: StoredBatch[] = batches.map((bytes, i) => {
      const header = headers[i] as BatchHeader;
      let leaderEpoch = header.partitionLeaderEpoch;
      if (assignOffsets) {
        setBaseOffset(bytes, nextOffset);
        if (options.leaderEpoch !== undefined) {
          setPartitionLeaderEpoch(bytes, options.leaderEpoch);
          leaderEpoch = options.leaderEpoch;
        }
      } else if (header.baseOffset !== nextOffset) {
        throw new InvalidRecordError(`batch starts at offset ${header.baseOffset}, the log ends at ${nextOffset}`);
      }
      const baseOffset = nextOffset;
      const lastOffset = baseOffset + header.lastOffsetDelta;
      epochs = assignEpoch(epochs, leaderEpoch, baseOffset);
      nextOffset = lastOffset + 1;
      const entry = { baseOffset, lastOffset, sizeBytes: bytes.byteLength, maxTimestamp: header.maxTimestamp, leaderEpoch };
      return { entry, bytes };
    });
    const meta = epochs === this.meta.epochs ? undefined : { ...this.meta, epochs };
    const verifyAll = () => batches.forEach((batch) => verifyRecordBatch(batch));
    await this.store.write({ topic: this.topic, partition: this.partition, put, ...(meta ? { meta } : {}) }, verifyAll);
    for (const batch of put) {
      this.entries.push(batch.entry);
      this.sizeBytes += batch.entry.sizeBytes;
      this.tail.add(batch.entry, batch.bytes);
    }
    if (meta) this.meta = meta;
    return { baseOffset: firstOffset, lastOffset: nextOffset - 1, logEndOffset: nextOffset };
  }

  private batchesFor(offset: number, maxBytes: number, maxOffset: number): BatchEntry[] {
    requireOffset(offset);
    if (offset < this.logStartOffset || offset > this.logEndOffset) throw this.outOfRange(offset);
    const wanted: BatchEntry[] = [];
    let bytes = 0;
    for (let i = firstEntryEndingAtOrAfter(this.entries, offset); i < this.entries.length; i++) {
      const entry = this.entries[i] as BatchEntry;
      if (entry.baseOffset >= maxOffset) break;
      if (wanted.length > 0 && bytes + entry.sizeBytes > maxBytes) break;
      wanted.push(entry);
      bytes += entry.sizeBytes;
    }
    return wanted;
  }

  /**
   * The rows of `wanted`, from the read-ahead if it holds exactly them. A large read starts
   * reading the next `maxBytes` of the log at once: a consumer or follower catching up keeps two
   * reads in IndexedDB instead of one, and the worker deserialising rows instead of waiting for
   * its next request (1M records in 8 MiB fetches: ~390 ms with one read at a time).
   */
  private async rowsOf(wanted: readonly BatchEntry[], maxBytes: number, maxOffset: number): Promise<Uint8Array[]> {
    const ahead = this.readAhead;
    const claimed = ahead && ahead.first === wanted[0]!.baseOffset && ahead.last === wanted.at(-1)!.baseOffset;
    // One not claimed by the next read is let go: another reader moved elsewhere.
    this.readAhead = undefined;
    const rows = claimed ? ahead.rows.catch(() => this.readRows(wanted)) : this.readRows(wanted);
    const bytes = wanted.reduce((sum, entry) => sum + entry.sizeBytes, 0);
    // Readers asking for more than READ_AHEAD_MAX_BYTES at a time get no read-ahead: held, it would pin that much.
    if (bytes >= READ_AHEAD_MIN_BYTES && maxBytes <= READ_AHEAD_MAX_BYTES) this.startReadAhead(wanted.at(-1)!.lastOffset + 1, maxBytes, maxOffset);
    return rows;
  }

  private startReadAhead(offset: number, maxBytes: number, maxOffset: number): void {
    if (offset >= this.logEndOffset) return;
    const next = this.batchesFor(offset, maxBytes, maxOffset);
    if (next.length === 0 || this.tail.holds(next)) return;
    const rows = this.readRows(next);
    rows.catch(() => undefined); // a failed read-ahead is read again when asked for
    this.readAhead = { first: next[0]!.baseOffset, last: next.at(-1)!.baseOffset, rows };
  }

  private async readRows(wanted: readonly BatchEntry[]): Promise<Uint8Array[]> {
    const runs = runsByBytes(wanted, PARALLEL_READS, PARALLEL_READ_MIN_BYTES);
    const rows = await Promise.all(runs.map((run) => this.store.readBatches(this.topic, this.partition, run[0]!.baseOffset, run.at(-1)!.baseOffset)));
    return rows.flat();
  }

  private readResult(batches: Uint8Array[]): ReadResult {
    return { batches, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset };
  }

  private async advanceStart(offset: number): Promise<void> {
    const kept = this.entries.filter((entry) => entry.lastOffset >= offset);
    const firstKept = kept[0];
    const meta = {
      ...this.meta,
      logStartOffset: offset,
      epochs: truncateEpochsFromStart(this.meta.epochs, offset),
    };
    const deleteBelow = firstKept ? firstKept.baseOffset : Number.POSITIVE_INFINITY;
    await this.store.write({ topic: this.topic, partition: this.partition, deleteBelow, meta });
    this.entries = kept;
    this.tail.dropBefore(offset);
    this.readAhead = undefined;
    this.meta = meta;
    this.recountSize();
  }

  private async truncateFullyAndStartAt(offset: number): Promise<void> {
    const meta = { ...this.meta, logStartOffset: offset, epochs: truncateEpochsFromEnd(this.meta.epochs, offset) };
    await this.store.write({ topic: this.topic, partition: this.partition, deleteBelow: Number.POSITIVE_INFINITY, meta });
    this.entries = [];
    this.forgetCachedRows();
    this.meta = meta;
    this.recountSize();
  }

  /** The batch holding `offset`, re-encoded without the records at or past it. */
  private async trimmedBatch(entry: BatchEntry, offset: number): Promise<StoredBatch> {
    const [bytes] = await this.store.readBatches(this.topic, this.partition, entry.baseOffset, entry.baseOffset);
    if (!bytes) throw new InvalidRecordError(`batch at ${entry.baseOffset} is missing from the store`);
    // A compressed batch is cut inflated, then compressed again: stored inflated it could pass
    // max.message.bytes, and a follower fetching it from this broker would refuse it.
    const codec = (readBatchHeader(bytes).attributes & COMPRESSION_MASK) as CompressionType;
    const { header, records } = decodeRecordBatch(await decompressRecordBatch(bytes));
    const plain = encodeRecordBatch(
      records.filter((record) => record.offset < offset),
      {
        baseOffset: header.baseOffset,
        partitionLeaderEpoch: header.partitionLeaderEpoch,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        attributes: header.attributes,
      },
    );
    const trimmed = await compressRecordBatch(plain, codec);
    const trimmedHeader = verifyRecordBatch(trimmed);
    return {
      bytes: trimmed,
      entry: {
        baseOffset: entry.baseOffset,
        lastOffset: lastOffsetOf(trimmedHeader),
        sizeBytes: trimmed.byteLength,
        maxTimestamp: trimmedHeader.maxTimestamp,
        leaderEpoch: entry.leaderEpoch,
      },
    };
  }

  private recountSize(): void {
    this.sizeBytes = this.entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  }

  private outOfRange(offset: number): OffsetOutOfRangeError {
    return new OffsetOutOfRangeError(this.topic, this.partition, offset, this.logStartOffset, this.logEndOffset);
  }
}

function requireOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
}

function firstEntryEndingAtOrAfter(entries: readonly BatchEntry[], offset: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((entries[mid] as BatchEntry).lastOffset < offset) low = mid + 1;
    else high = mid;
  }
  return low;
}
