/// <reference lib="webworker" />
// The storage benchmark's worker: raw IndexedDB (the platform limit) and tabka's log API,
// measured side by side in the same worker, on the same records.
import { expose } from 'comlink';
import { announceWorkerReady } from '../../src/broker/worker-ready';
import { IdbLogStore } from '../../src/log/idb-log-store';
import { LogManager } from '../../src/log/log-manager';
import { encodeBatches, nextOffsetAfter } from './storage-shape';
import type { StorageShape } from './storage-shape';

export interface Timing {
  readonly writeMs: number;
  readonly readMs: number;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
}

function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const storageBench = {
  /**
   * IndexedDB alone: one blob per readwrite transaction, then one getAll. The blobs are the
   * very bytes tabka stores (the encoded batches), so both sides move the same data.
   */
  async raw(shape: StorageShape): Promise<Timing> {
    const open = indexedDB.open(uniqueName('bench-raw'), 1);
    open.onupgradeneeded = () => open.result.createObjectStore('rows');
    const db = await request(open);
    const blobs = encodeBatches(shape).map((batch) => batch.slice().buffer);
    const blobCount = blobs.length;
    const writeStart = performance.now();
    for (const [i, blob] of blobs.entries()) {
      const tx = db.transaction('rows', 'readwrite');
      tx.objectStore('rows').put(blob, i);
      await committed(tx);
    }
    const writeMs = performance.now() - writeStart;
    const readStart = performance.now();
    const rows = await request(db.transaction('rows').objectStore('rows').getAll());
    const readMs = performance.now() - readStart;
    db.close();
    await request(indexedDB.deleteDatabase(db.name));
    if (rows.length !== blobCount) throw new Error(`raw read ${rows.length} rows, wrote ${blobCount}`);
    return { writeMs, readMs };
  },

  /** tabka's log API in the worker: PartitionLog.append per batch, then reads to the end. */
  async log(shape: StorageShape): Promise<Timing> {
    const name = uniqueName('bench-log');
    const logs = await LogManager.open(await IdbLogStore.open(name));
    const log = await logs.createPartition('bench', 0, { retentionMs: -1 });
    const batches = encodeBatches(shape);
    const writeStart = performance.now();
    for (const batch of batches) await log.append(batch);
    const writeMs = performance.now() - writeStart;
    const readStart = performance.now();
    let offset = 0;
    while (offset < shape.records) {
      offset = nextOffsetAfter((await log.read(offset, { maxBytes: shape.readMaxBytes })).batches, offset);
    }
    const readMs = performance.now() - readStart;
    logs.close();
    await request(indexedDB.deleteDatabase(name));
    return { writeMs, readMs };
  },
};

export type StorageBench = typeof storageBench;
expose(storageBench);
announceWorkerReady(self);
