import { openDB, unwrap } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';
import { StorageError } from '../errors';
import { ownedBytes } from '../util/owned-bytes';
import type { StorageFailure } from '../errors';
import type { BatchEntry, LogStore, LogWrite, PartitionMeta, StoredPartition } from './log-store';

/**
 * A batch row's key carries the batch's index entry after [topic, partition, baseOffset], so
 * one put per batch is the whole append (a separate index row cost ~25% of append speed) and
 * a log opens by reading keys only. Keys sort by base offset first, so ranges still work.
 */
type BatchKey = [
  topic: string,
  partition: number,
  baseOffset: number,
  lastOffset: number,
  sizeBytes: number,
  maxTimestamp: number,
  leaderEpoch: number,
];
type PartitionKey = [topic: string, partition: number];

interface BrokerDbSchema extends DBSchema {
  batches: { key: BatchKey; value: ArrayBuffer };
  partitions: { key: PartitionKey; value: PartitionMeta };
  meta: { key: string; value: unknown };
}

const SCHEMA_VERSION = 1;
const LOG_STORES = ['batches', 'partitions'] as const;
/** In IndexedDB's key order every array sorts after every number: an upper bound for any suffix. */
const AFTER_ANY_SUFFIX: IDBValidKey = [];

/** The broker's logs in its own IndexedDB database: one row per record batch. */
export class IdbLogStore implements LogStore {
  private readonly native: IDBDatabase;

  private constructor(private readonly db: IDBPDatabase<BrokerDbSchema>) {
    this.native = unwrap(db);
  }

  static async open(name: string): Promise<IdbLogStore> {
    try {
      const db = await openDB<BrokerDbSchema>(name, SCHEMA_VERSION, {
        upgrade(database) {
          database.createObjectStore('batches');
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
      const tx = this.db.transaction(LOG_STORES, 'readonly');
      const metas = await tx.objectStore('partitions').getAll();
      const loaded = await Promise.all(
        metas.map(async (meta) => {
          const keys = await tx.objectStore('batches').getAllKeys(batchRange(meta.topic, meta.partition));
          return { meta, entries: keys.map(entryFromKey) };
        }),
      );
      await tx.done;
      return loaded;
    });
  }

  /** The hot path of every append: plain IndexedDB requests, one transaction, no per-request promises. */
  async write(change: LogWrite, validate?: () => void): Promise<void> {
    const context = `write to ${change.topic}-${change.partition} failed`;
    let tx: IDBTransaction;
    try {
      // Appends touch only the batches: a narrower scope is a cheaper transaction.
      tx = this.native.transaction(change.meta ? LOG_STORES : 'batches', 'readwrite');
    } catch (error) {
      throw toStorageError(error, context);
    }
    const committed = transactionCommitted(tx);
    try {
      const { topic, partition } = change;
      const batches = tx.objectStore('batches');
      if (change.deleteBelow !== undefined) batches.delete(batchRange(topic, partition, -Infinity, change.deleteBelow, true));
      if (change.deleteFrom !== undefined) batches.delete(batchRange(topic, partition, change.deleteFrom, Infinity));
      for (const { entry, bytes } of change.put ?? []) batches.put(ownedBytes(bytes).buffer, keyFromEntry(topic, partition, entry));
      if (change.meta) tx.objectStore('partitions').put(change.meta, [topic, partition]);
    } catch (error) {
      // The abort undoes whatever part of the write was already issued.
      committed.catch(() => undefined);
      abortQuietly(tx);
      throw toStorageError(error, context);
    }
    try {
      // Still inside the task that issued the requests, so the transaction cannot have committed.
      validate?.();
      // Nothing more will be asked of this transaction: commit now rather than after the
      // requests' success events have made a round trip to this thread (~0.3 ms per append).
      tx.commit();
    } catch (error) {
      committed.catch(() => undefined);
      abortQuietly(tx);
      throw error instanceof DOMException ? toStorageError(error, context) : error;
    }
    try {
      await committed;
    } catch (error) {
      throw toStorageError(error, context);
    }
  }

  async readBatches(topic: string, partition: number, fromBaseOffset: number, toBaseOffset: number): Promise<Uint8Array[]> {
    const range = batchRange(topic, partition, fromBaseOffset, toBaseOffset);
    return guard('read', async () => {
      const rows = await settled<ArrayBuffer[]>(this.native.transaction('batches').objectStore('batches').getAll(range));
      return rows.map((row) => new Uint8Array(row));
    });
  }

  async removePartition(topic: string, partition: number): Promise<void> {
    return guard('remove partition', async () => {
      const tx = this.db.transaction(LOG_STORES, 'readwrite');
      await Promise.all([
        tx.objectStore('batches').delete(batchRange(topic, partition)),
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

/** Batches with from <= baseOffset <= to (or < to when toOpen). */
function batchRange(topic: string, partition: number, from = -Infinity, to = Infinity, toOpen = false): IDBKeyRange {
  const upper = toOpen ? [topic, partition, to] : [topic, partition, to, AFTER_ANY_SUFFIX];
  return IDBKeyRange.bound([topic, partition, from], upper, false, toOpen);
}

function keyFromEntry(topic: string, partition: number, entry: BatchEntry): BatchKey {
  return [topic, partition, entry.baseOffset, entry.lastOffset, entry.sizeBytes, entry.maxTimestamp, entry.leaderEpoch];
}

function entryFromKey([, , baseOffset, lastOffset, sizeBytes, maxTimestamp, leaderEpoch]: BatchKey): BatchEntry {
  return { baseOffset, lastOffset, sizeBytes, maxTimestamp, leaderEpoch };
}

function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function transactionCommitted(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
  });
}

function abortQuietly(tx: IDBTransaction): void {
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
