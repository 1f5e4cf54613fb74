/**
 * The metadata log on disk: KRaft's `__cluster_metadata` partition, kept in the broker's own
 * IndexedDB as an ordinary partition log of Kafka record batches (one batch per run of entries
 * from one controller epoch, the epoch stamped as the batch's partitionLeaderEpoch, each
 * record's value the metadata record as JSON). Retention never applies to it.
 */
import type { LogWrite } from '../cluster/metadata-quorum';
import type { MetadataEntry } from '../cluster/metadata-quorum-messages';
import { METADATA_TOPIC, parseMetadataRecord } from '../cluster/metadata-records';
import type { LogManager } from '../log/log-manager';
import type { PartitionLog } from '../log/partition-log';
import { decodeRecordBatch, encodeRecordBatch } from '../protocol/record-batch';

const HIGH_WATERMARK_KEY = 'metadataHighWatermark';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export interface StoredMetadata {
  readonly entries: MetadataEntry[];
  readonly highWatermark: number;
}

export class MetadataLog {
  private constructor(
    private readonly logs: LogManager,
    private readonly log: PartitionLog,
  ) {}

  static async open(logs: LogManager): Promise<{ metadataLog: MetadataLog; stored: StoredMetadata }> {
    const log = await logs.createPartition(METADATA_TOPIC, 0, { retentionMs: -1, retentionBytes: -1, maxMessageBytes: 64 * 1024 * 1024 }, { replica: true });
    const metadataLog = new MetadataLog(logs, log);
    const entries = await metadataLog.readAll();
    // What could not be read back is gone: the log must end where the quorum thinks it does.
    await log.truncateTo(entries.length);
    const stored = await logs.store.getMeta(HIGH_WATERMARK_KEY);
    const highWatermark = typeof stored === 'number' && Number.isSafeInteger(stored) ? Math.min(stored, entries.length) : 0;
    return { metadataLog, stored: { entries, highWatermark } };
  }

  /** Applies the quorum's writes in order. */
  async write(writes: readonly LogWrite[]): Promise<void> {
    for (const write of writes) {
      switch (write.type) {
        case 'truncate':
          await this.log.truncateTo(write.offset);
          break;
        case 'append':
          await this.append(write.baseOffset, write.entries);
          break;
        case 'highWatermark':
          await this.logs.store.putMeta(HIGH_WATERMARK_KEY, write.offset);
          break;
      }
    }
  }

  private async append(baseOffset: number, entries: readonly MetadataEntry[]): Promise<void> {
    let start = 0;
    while (start < entries.length) {
      const epoch = entries[start]!.epoch;
      let end = start + 1;
      while (end < entries.length && entries[end]!.epoch === epoch) end++;
      const now = Date.now();
      const records = entries.slice(start, end).map((entry) => ({
        key: null,
        value: utf8.encode(JSON.stringify(entry.record)),
        timestamp: now,
      }));
      const batch = encodeRecordBatch(records, { baseOffset: baseOffset + start, partitionLeaderEpoch: epoch });
      await this.log.append(batch, { assignOffsets: false });
      start = end;
    }
  }

  /** Every stored entry from offset 0; a record that no longer parses ends the log there. */
  private async readAll(): Promise<MetadataEntry[]> {
    const entries: MetadataEntry[] = [];
    try {
      await this.readInto(entries);
    } catch (error) {
      console.warn(`tabka: metadata log unreadable from offset ${entries.length}; refetching from the controller`, error);
    }
    return entries;
  }

  private async readInto(entries: MetadataEntry[]): Promise<MetadataEntry[]> {
    for (;;) {
      const { batches, logEndOffset } = await this.log.read(entries.length, { maxBytes: 4 * 1024 * 1024 });
      if (entries.length >= logEndOffset || batches.length === 0) return entries;
      for (const bytes of batches) {
        const batch = decodeRecordBatch(bytes);
        for (const record of batch.records) {
          if (record.offset !== entries.length || record.value === null) return entries;
          entries.push({ epoch: batch.header.partitionLeaderEpoch, record: parseMetadataRecord(JSON.parse(fromUtf8.decode(record.value))) });
        }
      }
    }
  }
}
