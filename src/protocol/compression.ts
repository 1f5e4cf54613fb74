/**
 * Compressed record batches, as Kafka's producer writes them and its consumer reads them: the
 * batch header stays as it is (offsets, producer id, sequence, record count), the records
 * after it are compressed as one block, the attributes name the codec and the CRC covers the
 * compressed bytes. Brokers store and replicate the compressed batch untouched (so it is
 * smaller on the wire and in IndexedDB's quota); only the consumer inflates it.
 *
 * gzip is the codec every browser has built in (CompressionStream): no library, no WASM.
 * snappy, lz4 and zstd batches are refused with UnsupportedCompressionTypeError.
 */
import { CorruptRecordError } from '../errors';
import { concatBytes } from '../util/concat-bytes';
import {
  BATCH_HEADER_SIZE,
  COMPRESSION_MASK,
  checkSupportedCodec,
  compressionCodecOf,
  readBatchHeader,
  scanRecords,
  verifyRecordBatch,
  withRecordBytes,
} from './record-batch';

/** KafkaJS's names and Kafka's codec numbers. */
export const CompressionTypes = Object.freeze({ None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const);
export type CompressionType = (typeof CompressionTypes)[keyof typeof CompressionTypes];

/** The most a batch may inflate to: a small batch that inflates to gigabytes is an attack, not data. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Throws UnsupportedCompressionTypeError for anything but none and gzip. */
export function checkCompressionType(type: number): asserts type is 0 | 1 {
  checkSupportedCodec(type);
}

/** Whether a batch's attributes name a codec (a cheap look at one byte; nothing is checked). */
export function isCompressed(batch: Uint8Array): boolean {
  return compressionCodecOf(batch) !== 0;
}

/** Each batch inflated where it is compressed (see decompressRecordBatch); the same array if none is. */
export async function decompressRecordBatches(batches: readonly Uint8Array[], maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Promise<readonly Uint8Array[]> {
  if (!batches.some(isCompressed)) return batches;
  return Promise.all(batches.map((batch) => decompressRecordBatch(batch, maxBytes)));
}

/** An uncompressed batch's records compressed with `type` (none returns the batch itself). */
export async function compressRecordBatch(batch: Uint8Array, type: CompressionType): Promise<Uint8Array> {
  checkCompressionType(type);
  const header = readBatchHeader(batch);
  if ((header.attributes & COMPRESSION_MASK) !== 0) throw new RangeError('the batch is compressed already');
  if (type === CompressionTypes.None) return batch;
  const records = await transform(batch.subarray(BATCH_HEADER_SIZE), new CompressionStream('gzip'), Number.POSITIVE_INFINITY);
  return withRecordBytes(batch, (header.attributes & ~COMPRESSION_MASK) | type, records);
}

/**
 * The batch with its records inflated and its attributes saying so, after checking the CRC of
 * what was stored. An uncompressed batch comes back as it is (CRC checked too). Throws
 * CorruptRecordError for bytes gzip cannot read or that inflate past `maxBytes`.
 */
export async function decompressRecordBatch(batch: Uint8Array, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Promise<Uint8Array> {
  const header = verifyRecordBatch(batch);
  const codec = header.attributes & COMPRESSION_MASK;
  if (codec === CompressionTypes.None) return batch;
  let records: Uint8Array;
  try {
    records = await transform(batch.subarray(BATCH_HEADER_SIZE), new DecompressionStream('gzip'), maxBytes);
  } catch (error) {
    if (error instanceof CorruptRecordError) throw error;
    throw new CorruptRecordError(`gzip cannot read the records of the batch at ${header.baseOffset}: ${String(error)}`);
  }
  return withRecordBytes(batch, header.attributes & ~COMPRESSION_MASK, records);
}

/**
 * What a leader runs on a compressed batch before storing it (Kafka's LogValidator): inflated
 * and every record read once, so a batch whose records do not match its header (a record count
 * that moves the log end by millions, say) or that inflates past `maxBytes` never reaches a log,
 * where every consumer would stop on it. CorruptRecordError otherwise; uncompressed batches pass.
 */
export async function checkCompressedRecords(batch: Uint8Array, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Promise<void> {
  if (!isCompressed(batch)) return;
  const inflated = await decompressRecordBatch(batch, maxBytes);
  scanRecords(inflated, readBatchHeader(inflated), () => undefined);
}

/** Streams `input` through a (de)compressor, stopping with CorruptRecordError past `maxBytes`. */
async function transform(input: Uint8Array, stream: TransformStream<BufferSource, Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  // The streams take no view of a SharedArrayBuffer; a log's batches never are one.
  const chunk = input.buffer instanceof ArrayBuffer ? (input as Uint8Array<ArrayBuffer>) : new Uint8Array(input);
  const writer = stream.writable.getWriter();
  const writing = writer.write(chunk).then(() => writer.close());
  writing.catch(() => undefined); // a failure surfaces on the readable side too
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new CorruptRecordError(`the records inflate past ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  await writing;
  return concatBytes(chunks, total);
}
