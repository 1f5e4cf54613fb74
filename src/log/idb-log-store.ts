import { openDB } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';
import { StorageError } from '../errors';
import type { StorageFailure } from '../errors';
import type { BatchEntry, LogStore, LogWrite, PartitionMeta, StoredPartition } from './log-store';

type BatchKey = [topic: string, partition: number, baseOffset: number];
type PartitionKey = [topic: string, partition: number];
/** Index rows are tuples: they are cloned on every append, and small clones are cheap. */
type IndexRow = [baseOffset: number, lastOffset: number, sizeBytes: number, maxTimestamp: number, leaderEpoch: number];

interface BrokerDbSchema extends DBSchema {
  batches: { key: BatchKey; value: ArrayBuffer };
  batchIndex: { key: BatchKey; value: IndexRow };
  partitions: { key: PartitionKey; value: PartitionMeta };
  meta: { key: string; value: unknown };
}

const SCHEMA_VERSION = 1;
const LOG_STORES = ['batches', 'batchIndex', 'partitions'] as const;

/** The broker's logs in its own IndexedDB database: one row per record batch. */
export class IdbLogStore implements LogStore {
  private constructor(private readonly db: IDBPDatabase<BrokerDbSchema>) {}

  static async open(name: string): Promise<IdbLogStore> {
    try {
      const db = await openDB<BrokerDbSchema>(name, SCHEMA_VERSION, {
        upgrade(database) {
          database.createObjectStore('batches');
          database.createObjectStore('batchIndex');
          database.createObjectStore('partitions');
          database.createObjectStore('meta');
        },
      });
      return new IdbLogStore(db);
    } catch (error) {
      throw toStorageError(error, `cannot open database ${name}`);
    }
  }

  async load(): Promise<StoredPartition[]> {
    return guard('load', async () => {
      const tx = this.db.transaction(['partitions', 'batchIndex'], 'readonly');
      const metas = await tx.objectStore('partitions').getAll();
      const loaded = await Promise.all(
        metas.map(async (meta) => {
          const rows = await tx.objectStore('batchIndex').getAll(batchRange(meta.topic, meta.partition));
          return { meta, entries: rows.map(entryFromRow) };
        }),
      );
      await tx.done;
      return loaded;
    });
  }

  async write(change: LogWrite): Promise<void> {
    const tx = this.db.transaction(LOG_STORES, 'readwrite');
    const pending: Promise<unknown>[] = [];
    try {
      const { topic, partition } = change;
      const batches = tx.objectStore('batches');
      const index = tx.objectStore('batchIndex');
      const ranges = [
        change.deleteBelow === undefined ? undefined : batchRange(topic, partition, -Infinity, change.deleteBelow, true),
        change.deleteFrom === undefined ? undefined : batchRange(topic, partition, change.deleteFrom, Infinity),
      ];
      for (const range of ranges) {
        if (range) pending.push(batches.delete(range), index.delete(range));
      }
      for (const { entry, bytes } of change.put ?? []) {
        const key: BatchKey = [topic, partition, entry.baseOffset];
        pending.push(batches.put(ownBuffer(bytes), key), index.put(rowFromEntry(entry), key));
      }
      if (change.meta) pending.push(tx.objectStore('partitions').put(change.meta, [topic, partition]));
      pending.push(tx.done);
      await Promise.all(pending);
    } catch (error) {
      // Quiets the requests' own rejections; the abort is what undoes the half of the write.
      for (const request of [...pending, tx.done]) request.catch(() => undefined);
      abortQuietly(tx);
      throw toStorageError(error, `write to ${change.topic}-${change.partition} failed`);
    }
  }

  async readBatches(topic: string, partition: number, fromBaseOffset: number, toBaseOffset: number): Promise<Uint8Array[]> {
    return guard('read', async () => {
      const rows = await this.db.getAll('batches', batchRange(topic, partition, fromBaseOffset, toBaseOffset));
      return rows.map((row) => new Uint8Array(row));
    });
  }

  async removePartition(topic: string, partition: number): Promise<void> {
    return guard('remove partition', async () => {
      const tx = this.db.transaction(LOG_STORES, 'readwrite');
      await Promise.all([
        tx.objectStore('batches').delete(batchRange(topic, partition)),
        tx.objectStore('batchIndex').delete(batchRange(topic, partition)),
        tx.objectStore('partitions').delete([topic, partition]),
        tx.done,
      ]);
    });
  }

  async getMeta(key: string): Promise<unknown> {
    return guard('read meta', () => this.db.get('meta', key));
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    await guard('write meta', () => this.db.put('meta', value, key));
  }

  close(): void {
    this.db.close();
  }
}

function batchRange(topic: string, partition: number, from = -Infinity, to = Infinity, toOpen = false): IDBKeyRange {
  return IDBKeyRange.bound([topic, partition, from], [topic, partition, to], false, toOpen);
}

function rowFromEntry(entry: BatchEntry): IndexRow {
  return [entry.baseOffset, entry.lastOffset, entry.sizeBytes, entry.maxTimestamp, entry.leaderEpoch];
}

function entryFromRow([baseOffset, lastOffset, sizeBytes, maxTimestamp, leaderEpoch]: IndexRow): BatchEntry {
  return { baseOffset, lastOffset, sizeBytes, maxTimestamp, leaderEpoch };
}

/** Structured clone stores a view's whole buffer, so a view over a bigger buffer is cut out first. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

function abortQuietly(tx: IDBTransaction | { abort(): void }): void {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted by the failing request: nothing more to undo.
  }
}

async function guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStorageError(error, `${what} failed`);
  }
}

function toStorageError(error: unknown, context: string): StorageError {
  if (error instanceof StorageError) return error;
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  const message = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  return new StorageError(failureOf(name), `${context}: ${name || 'Error'}: ${message}`, { cause: error });
}

function failureOf(name: string): StorageFailure {
  switch (name) {
    case 'QuotaExceededError':
      return 'quota';
    case 'AbortError':
      return 'aborted';
    case 'InvalidStateError':
      return 'closed';
    default:
      return 'unknown';
  }
}
