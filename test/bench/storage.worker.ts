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

/** Transactions per turn when the two writers take turns. */
const TURN = 10;

/** IndexedDB alone: one blob per readwrite transaction, keyed by its sequence number. */
async function openRaw(): Promise<{ db: IDBDatabase; put(blob: ArrayBuffer, key: number): Promise<void> }> {
  const open = indexedDB.open(uniqueName('bench-raw'), 1);
  open.onupgradeneeded = () => open.result.createObjectStore('rows');
  const db = await request(open);
  return {
    db,
    async put(blob, key) {
      const tx = db.transaction('rows', 'readwrite');
      tx.objectStore('rows').put(blob, key);
      await committed(tx);
    },
  };
}

async function timed(operation: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await operation();
  return performance.now() - start;
}

const storageBench = {
  /**
   * Raw IndexedDB and tabka's log API in one worker, on the very same bytes (the encoded
   * batches). They take turns every few transactions, first one then the other, so both meet
   * the same background work of the shared backing store (its compactions) and neither always
   * goes second. Raw reads back with one getAll; the log with reads to its end.
   */
  async sideBySide(shape: StorageShape, round: number): Promise<{ raw: Timing; log: Timing }> {
    const raw = await openRaw();
    const logName = uniqueName('bench-log');
    const logs = await LogManager.open(await IdbLogStore.open(logName));
    const log = await logs.createPartition('bench', 0, { retentionMs: -1 });
    const batches = encodeBatches(shape);
    const blobs = batches.map((batch) => batch.slice().buffer);
    let rawWriteMs = 0;
    let logWriteMs = 0;
    for (let first = 0, turn = round; first < batches.length; first += TURN, turn++) {
      const writeRaw = async () => {
        rawWriteMs += await timed(async () => {
          for (let i = first; i < Math.min(first + TURN, blobs.length); i++) await raw.put(blobs[i] as ArrayBuffer, i);
        });
      };
      const writeLog = async () => {
        logWriteMs += await timed(async () => {
          for (const batch of batches.slice(first, first + TURN)) await log.append(batch);
        });
      };
      for (const write of turn % 2 ? [writeLog, writeRaw] : [writeRaw, writeLog]) await write();
    }
    let rows: ArrayBuffer[] = [];
    const readRaw = () => timed(async () => {
      rows = await request(raw.db.transaction('rows').objectStore('rows').getAll());
    });
    const readLog = () => timed(async () => {
      let offset = 0;
      while (offset < shape.records) {
        offset = nextOffsetAfter((await log.read(offset, { maxBytes: shape.readMaxBytes })).batches, offset);
      }
    });
    const rawReadFirst = round % 2 === 0;
    const firstRead = await (rawReadFirst ? readRaw() : readLog());
    const secondRead = await (rawReadFirst ? readLog() : readRaw());
    if (rows.length !== blobs.length) throw new Error(`raw read ${rows.length} rows, wrote ${blobs.length}`);
    raw.db.close();
    logs.close();
    await Promise.all([request(indexedDB.deleteDatabase(raw.db.name)), request(indexedDB.deleteDatabase(logName))]);
    return {
      raw: { writeMs: rawWriteMs, readMs: rawReadFirst ? firstRead : secondRead },
      log: { writeMs: logWriteMs, readMs: rawReadFirst ? secondRead : firstRead },
    };
  },
};

export type StorageBench = typeof storageBench;
expose(storageBench);
announceWorkerReady(self);
