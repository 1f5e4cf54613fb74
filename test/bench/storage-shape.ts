// What the storage benchmark writes, shared by its page and its worker.
import { encodeRecordBatch } from '../../src/protocol/record-batch';

export interface StorageShape {
  readonly records: number;
  readonly perBatch: number;
  readonly recordBytes: number;
  /** Per-read byte limit for tabka's reads (Kafka's fetch.max.bytes default is 50 MiB). */
  readonly readMaxBytes: number;
}

/** The producer's work, done before the clock starts: the broker stores what it is given. */
export function encodeBatches(shape: StorageShape): Uint8Array[] {
  const value = new Uint8Array(shape.recordBytes).fill(0x61);
  const timestamp = Date.now();
  const batches: Uint8Array[] = [];
  for (let first = 0; first < shape.records; first += shape.perBatch) {
    const count = Math.min(shape.perBatch, shape.records - first);
    batches.push(encodeRecordBatch(Array.from({ length: count }, () => ({ key: null, value, timestamp }))));
  }
  return batches;
}

/** Where the next read starts: the last batch's base offset (at 0) + last offset delta (at 23) + 1. */
export function nextOffsetAfter(batches: readonly Uint8Array[], from: number): number {
  const last = batches.at(-1);
  if (!last) return from;
  const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
  return Number(view.getBigInt64(0)) + view.getInt32(23) + 1;
}
