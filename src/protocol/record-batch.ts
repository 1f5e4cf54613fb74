/**
 * Kafka record batch v2 (magic 2), byte for byte as Kafka lays it out
 * (https://kafka.apache.org/documentation/#recordbatch), uncompressed only.
 *
 *   0 baseOffset int64          27 baseTimestamp int64
 *   8 batchLength int32         35 maxTimestamp int64
 *  12 partitionLeaderEpoch int32 43 producerId int64
 *  16 magic int8 (2)            51 producerEpoch int16
 *  17 crc uint32                53 baseSequence int32
 *  21 attributes int16          57 recordCount int32
 *  23 lastOffsetDelta int32     61 records...
 *
 * The CRC covers bytes 21..end, which leaves baseOffset and partitionLeaderEpoch outside it:
 * a broker assigns both on append without re-hashing, exactly as Kafka does.
 *
 * Decoding treats the bytes as hostile: every malformed input yields CorruptRecordError,
 * lengths are checked before use and counts before allocation.
 */

import { CorruptRecordError, UnsupportedCompressionTypeError } from '../errors';
import { crc32c } from './crc32c';
import {
  ByteReader,
  readInt64,
  sizeOfVarint,
  sizeOfVarlong,
  writeInt64,
  writeVarint,
  writeVarlong,
} from './varint';

export const BATCH_HEADER_SIZE = 61;
export const RECORD_BATCH_MAGIC = 2;

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  timestamp: number;
  headers?: readonly RecordHeader[];
}

export interface BatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

const OFFSET_BASE_OFFSET = 0;
const OFFSET_BATCH_LENGTH = 8;
const OFFSET_LEADER_EPOCH = 12;
const OFFSET_MAGIC = 16;
const OFFSET_CRC = 17;
const OFFSET_ATTRIBUTES = 21;
const OFFSET_LAST_OFFSET_DELTA = 23;
const OFFSET_BASE_TIMESTAMP = 27;
const OFFSET_MAX_TIMESTAMP = 35;
const OFFSET_PRODUCER_ID = 43;
const OFFSET_PRODUCER_EPOCH = 51;
const OFFSET_BASE_SEQUENCE = 53;
const OFFSET_RECORD_COUNT = 57;

/** Bytes before batchLength's count starts: baseOffset and batchLength themselves. */
const LOG_OVERHEAD = 12;
/** The codec bits of a batch's attributes (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export const COMPRESSION_MASK = 0x07;
const GZIP_CODEC = 1;
const LAST_KNOWN_CODEC = 4;
const INT32_MAX = 0x7fff_ffff;

/**
 * The smallest record body: attributes, timestampDelta, offsetDelta, keyLength, valueLength,
 * headerCount at one byte each. With its length prefix a record takes at least 7 bytes, which
 * bounds how many records a batch of a given size can claim to hold.
 */
const MIN_RECORD_BODY = 6;
const MIN_RECORD_SIZE = MIN_RECORD_BODY + 1;

const textEncoder = new TextEncoder();
// fatal: invalid UTF-8 is corruption, not U+FFFD; ignoreBOM: a leading U+FEFF is part of the key.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Per-record body sizes between the sizing and writing passes; reused to avoid allocation. */
let sizeScratch = new Int32Array(1024);

function checkInt(value: number, min: number, max: number, what: string): void {
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** UTF-8 length as TextEncoder produces it (lone surrogates become 3-byte U+FFFD). */
function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2;
        i++;
        continue;
      }
    }
    bytes += 2;
  }
  return bytes;
}

function isNullableBytes(value: unknown): boolean {
  return value === null || value instanceof Uint8Array;
}

/** Built only on failure: a template literal per record would cost more than the check. */
function notBytes(index: number, what: string): TypeError {
  return new TypeError(`record ${index} ${what} must be a Uint8Array or null`);
}

/**
 * Encodes one uncompressed v2 batch. Offsets are assigned 0..n-1 relative to `baseOffset`,
 * baseTimestamp is the first record's timestamp and maxTimestamp the largest (Kafka's
 * producer does the same), so out-of-order timestamps give negative deltas.
 */
export function encodeRecordBatch(records: readonly RecordInput[], options: BatchOptions = {}): Uint8Array {
  const count = records.length;
  if (count === 0) throw new RangeError('a record batch needs at least one record');
  if (count > INT32_MAX) throw new RangeError(`too many records for one batch: ${count}`);

  const baseOffset = options.baseOffset ?? 0;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? -1;
  const producerId = options.producerId ?? -1;
  const producerEpoch = options.producerEpoch ?? -1;
  const baseSequence = options.baseSequence ?? -1;
  const attributes = options.attributes ?? 0;
  checkInt(baseOffset, 0, Number.MAX_SAFE_INTEGER - (count - 1), 'baseOffset');
  checkInt(partitionLeaderEpoch, -0x8000_0000, INT32_MAX, 'partitionLeaderEpoch');
  checkInt(producerId, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'producerId');
  checkInt(producerEpoch, -0x8000, 0x7fff, 'producerEpoch');
  checkInt(baseSequence, -0x8000_0000, INT32_MAX, 'baseSequence');
  checkInt(attributes, -0x8000, 0x7fff, 'attributes');
  if ((attributes & COMPRESSION_MASK) !== 0) throw new RangeError('encodeRecordBatch writes uncompressed batches: compress them with compressRecordBatch');

  const baseTimestamp = records[0]!.timestamp;
  let maxTimestamp = baseTimestamp;
  if (sizeScratch.length < count) sizeScratch = new Int32Array(Math.max(count, sizeScratch.length * 2));
  const sizes = sizeScratch;

  // Pass 1: exact sizes, so the output is allocated once at its final length.
  let total = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp;
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`record ${i} timestamp is not a safe integer: ${timestamp}`);
    const delta = timestamp - baseTimestamp;
    if (!Number.isSafeInteger(delta)) throw new RangeError(`record ${i} timestamp is too far from the first record's`);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;

    let size = 1 + sizeOfVarlong(delta) + sizeOfVarint(i);
    const key = record.key ?? null;
    const value = record.value ?? null;
    if (!isNullableBytes(key)) throw notBytes(i, 'key');
    if (!isNullableBytes(value)) throw notBytes(i, 'value');
    size += key === null ? 1 : sizeOfVarint(key.length) + key.length;
    size += value === null ? 1 : sizeOfVarint(value.length) + value.length;
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) {
      size += 1;
    } else {
      size += sizeOfVarint(headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h]!;
        if (typeof header.key !== 'string') throw new TypeError(`record ${i} header ${h} key must be a string`);
        const headerValue = header.value ?? null;
        if (!isNullableBytes(headerValue)) throw notBytes(i, `header ${h} value`);
        const keyLength = utf8Length(header.key);
        size += sizeOfVarint(keyLength) + keyLength;
        size += headerValue === null ? 1 : sizeOfVarint(headerValue.length) + headerValue.length;
      }
    }
    if (size > INT32_MAX) throw new RangeError(`record ${i} is too large`);
    sizes[i] = size;
    total += sizeOfVarint(size) + size;
  }
  if (total - LOG_OVERHEAD > INT32_MAX) throw new RangeError(`batch of ${total} bytes is too large`);

  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  writeInt64(view, OFFSET_BASE_OFFSET, baseOffset);
  view.setInt32(OFFSET_BATCH_LENGTH, total - LOG_OVERHEAD);
  view.setInt32(OFFSET_LEADER_EPOCH, partitionLeaderEpoch);
  view.setInt8(OFFSET_MAGIC, RECORD_BATCH_MAGIC);
  view.setInt16(OFFSET_ATTRIBUTES, attributes);
  view.setInt32(OFFSET_LAST_OFFSET_DELTA, count - 1);
  writeInt64(view, OFFSET_BASE_TIMESTAMP, baseTimestamp);
  writeInt64(view, OFFSET_MAX_TIMESTAMP, maxTimestamp);
  writeInt64(view, OFFSET_PRODUCER_ID, producerId);
  view.setInt16(OFFSET_PRODUCER_EPOCH, producerEpoch);
  view.setInt32(OFFSET_BASE_SEQUENCE, baseSequence);
  view.setInt32(OFFSET_RECORD_COUNT, count);

  // Pass 2: write the records. A null length is zigzag(-1) = 0x01.
  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    pos = writeVarint(buf, pos, sizes[i]!);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, record.timestamp - baseTimestamp);
    pos = writeVarint(buf, pos, i);
    const key = record.key;
    if (key == null) {
      buf[pos++] = 1;
    } else {
      pos = writeVarint(buf, pos, key.length);
      buf.set(key, pos);
      pos += key.length;
    }
    const value = record.value;
    if (value == null) {
      buf[pos++] = 1;
    } else {
      pos = writeVarint(buf, pos, value.length);
      buf.set(value, pos);
      pos += value.length;
    }
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) {
      buf[pos++] = 0;
    } else {
      pos = writeVarint(buf, pos, headers.length);
      for (let h = 0; h < headers.length; h++) {
        const header = headers[h]!;
        pos = writeHeaderKey(buf, pos, header.key);
        const headerValue = header.value;
        if (headerValue == null) {
          buf[pos++] = 1;
        } else {
          pos = writeVarint(buf, pos, headerValue.length);
          buf.set(headerValue, pos);
          pos += headerValue.length;
        }
      }
    }
  }
  // Only reachable if the input changed between the passes (getters, a concurrent mutation).
  if (pos !== total) throw new Error(`record batch encoder wrote ${pos} of ${total} bytes`);

  view.setUint32(OFFSET_CRC, crc32c(buf.subarray(OFFSET_ATTRIBUTES)));
  return buf;
}

function writeHeaderKey(buf: Uint8Array, pos: number, key: string): number {
  const length = utf8Length(key);
  pos = writeVarint(buf, pos, length);
  if (length === key.length) {
    // Equal lengths mean pure ASCII; a loop avoids encodeInto's per-call overhead on short keys.
    for (let i = 0; i < length; i++) buf[pos + i] = key.charCodeAt(i);
  } else {
    const { written } = textEncoder.encodeInto(key, buf.subarray(pos, pos + length));
    if (written !== length) throw new Error(`header key encoded to ${written} bytes, expected ${length}`);
  }
  return pos + length;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Total size (batchLength + 12) of the batch starting at `at`, after checking that the
 * length is plausible and that all of the batch's bytes are present.
 */
export function batchSize(bytes: Uint8Array, at = 0): number {
  if (!(Number.isSafeInteger(at) && at >= 0)) throw new RangeError(`bad batch position ${at}`);
  const available = bytes.length - at;
  if (available < LOG_OVERHEAD) {
    throw new CorruptRecordError(`truncated batch at ${at}: ${Math.max(available, 0)} bytes, the length field needs ${LOG_OVERHEAD}`);
  }
  const batchLength = viewOf(bytes).getInt32(at + OFFSET_BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    throw new CorruptRecordError(`batch at ${at} has length ${batchLength}, less than a header`);
  }
  const size = batchLength + LOG_OVERHEAD;
  if (size > available) {
    throw new CorruptRecordError(`truncated batch at ${at}: needs ${size} bytes, ${available} present`);
  }
  return size;
}

/** The batch's length field against the bytes given; returns it. */
function checkFraming(bytes: Uint8Array, view: DataView): number {
  if (bytes.length < BATCH_HEADER_SIZE) {
    throw new CorruptRecordError(`${bytes.length} bytes is shorter than the ${BATCH_HEADER_SIZE}-byte batch header`);
  }
  const batchLength = view.getInt32(OFFSET_BATCH_LENGTH);
  if (batchLength + LOG_OVERHEAD !== bytes.length) {
    throw new CorruptRecordError(`batch length ${batchLength} does not match the ${bytes.length} bytes given`);
  }
  return batchLength;
}

function parseHeader(bytes: Uint8Array, view: DataView): BatchHeader {
  const batchLength = checkFraming(bytes, view);
  const magic = view.getInt8(OFFSET_MAGIC);
  if (magic !== RECORD_BATCH_MAGIC) throw new CorruptRecordError(`unsupported magic ${magic}`);
  const attributes = view.getInt16(OFFSET_ATTRIBUTES);
  const codec = attributes & COMPRESSION_MASK;
  if (codec > LAST_KNOWN_CODEC) throw new CorruptRecordError(`unknown compression codec ${codec}`);
  checkSupportedCodec(codec);
  const recordCount = view.getInt32(OFFSET_RECORD_COUNT);
  if (recordCount < 1) throw new CorruptRecordError(`record count ${recordCount} is not positive`);
  // Compressed records can be smaller than the smallest record: their count is checked once inflated.
  if (codec === 0 && recordCount > (bytes.length - BATCH_HEADER_SIZE) / MIN_RECORD_SIZE) {
    throw new CorruptRecordError(`record count ${recordCount} cannot fit in ${bytes.length} bytes`);
  }
  const lastOffsetDelta = view.getInt32(OFFSET_LAST_OFFSET_DELTA);
  if (lastOffsetDelta !== recordCount - 1) {
    throw new CorruptRecordError(`last offset delta ${lastOffsetDelta} does not match ${recordCount} records`);
  }
  const baseOffset = readInt64(view, OFFSET_BASE_OFFSET);
  if (baseOffset < 0 || baseOffset > Number.MAX_SAFE_INTEGER - lastOffsetDelta) {
    throw new CorruptRecordError(`base offset ${baseOffset} is out of range`);
  }
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: view.getInt32(OFFSET_LEADER_EPOCH),
    magic,
    crc: view.getUint32(OFFSET_CRC),
    attributes,
    lastOffsetDelta,
    baseTimestamp: readInt64(view, OFFSET_BASE_TIMESTAMP),
    maxTimestamp: readInt64(view, OFFSET_MAX_TIMESTAMP),
    producerId: readInt64(view, OFFSET_PRODUCER_ID),
    producerEpoch: view.getInt16(OFFSET_PRODUCER_EPOCH),
    baseSequence: view.getInt32(OFFSET_BASE_SEQUENCE),
    recordCount,
  };
}

/** Throws UnsupportedCompressionTypeError for a codec tabka cannot read or write: only none (0) and gzip (1). */
export function checkSupportedCodec(codec: number): void {
  if (codec !== 0 && codec !== GZIP_CODEC) throw new UnsupportedCompressionTypeError(codec);
}

/** The codec a batch's attributes name: a look at one byte, nothing checked (0 for too few bytes). */
export function compressionCodecOf(batch: Uint8Array): number {
  return batch.length > OFFSET_ATTRIBUTES + 1 ? batch[OFFSET_ATTRIBUTES + 1]! & COMPRESSION_MASK : 0;
}

/** The batch's header over new record bytes, with its length, attributes and CRC made to match. */
export function withRecordBytes(batch: Uint8Array, attributes: number, records: Uint8Array): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_SIZE + records.length);
  out.set(batch.subarray(0, BATCH_HEADER_SIZE));
  out.set(records, BATCH_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setInt32(OFFSET_BATCH_LENGTH, out.length - LOG_OVERHEAD);
  view.setInt16(OFFSET_ATTRIBUTES, attributes);
  view.setUint32(OFFSET_CRC, crc32c(out.subarray(OFFSET_ATTRIBUTES)));
  return out;
}

/** Parses and checks the header alone (no CRC, records untouched); `bytes` must be exactly one batch. */
export function readBatchHeader(bytes: Uint8Array): BatchHeader {
  return parseHeader(bytes, viewOf(bytes));
}

function checkCrc(bytes: Uint8Array, stored: number): void {
  const actual = crc32c(bytes.subarray(OFFSET_ATTRIBUTES));
  if (actual !== stored) {
    throw new CorruptRecordError(
      `CRC mismatch: stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}`,
    );
  }
}

/**
 * The CRC, then the header's checks: what a broker runs before appending a batch. The CRC
 * first, so damaged bytes read as corrupt rather than as, say, an unsupported codec.
 */
export function verifyRecordBatch(bytes: Uint8Array): BatchHeader {
  const view = viewOf(bytes);
  checkFraming(bytes, view);
  checkCrc(bytes, view.getUint32(OFFSET_CRC));
  return parseHeader(bytes, view);
}

/**
 * Visits each record of a batch whose header is already checked, with where its fields lie in
 * `bytes`: key and value as (position, length) with length -1 for null, headers as the
 * position of the first and their count. Every length is checked against the record's bounds,
 * so a reader may slice them later without checking again. No field is copied or allocated
 * here: a consumer decides what to build from each record, and when.
 */
export type RecordVisitor = (
  offset: number,
  timestamp: number,
  keyAt: number,
  keyLength: number,
  valueAt: number,
  valueLength: number,
  headersAt: number,
  headerCount: number,
) => void;

export function scanRecords(bytes: Uint8Array, header: BatchHeader, visit: RecordVisitor): void {
  const { baseOffset, baseTimestamp, recordCount } = header;
  if ((header.attributes & COMPRESSION_MASK) !== 0) {
    throw new CorruptRecordError('the records of a compressed batch are read after decompressRecordBatch');
  }
  const reader = new ByteReader(bytes, BATCH_HEADER_SIZE, bytes.length);
  for (let i = 0; i < recordCount; i++) {
    const length = reader.varint();
    if (length < MIN_RECORD_BODY || length > reader.remaining) {
      throw new CorruptRecordError(`record ${i} has length ${length} with ${reader.remaining} bytes left`);
    }
    const recordEnd = reader.pos + length;
    // Record attributes are reserved and ignored, as in Kafka.
    reader.pos += 1;
    const timestamp = baseTimestamp + reader.varlong();
    if (!Number.isSafeInteger(timestamp)) throw new CorruptRecordError(`record ${i} timestamp is out of range`);
    const offsetDelta = reader.varint();
    if (offsetDelta !== i) throw new CorruptRecordError(`record ${i} has offset delta ${offsetDelta}`);
    const keyLength = skipNullableBytes(reader, recordEnd, i, 'key');
    const keyAt = reader.pos - Math.max(0, keyLength);
    const valueLength = skipNullableBytes(reader, recordEnd, i, 'value');
    const valueAt = reader.pos - Math.max(0, valueLength);

    const headerCount = reader.varint();
    // Each header takes at least two bytes (two length varints). A negative room means earlier
    // varints already ran past the record; both cases are corrupt.
    if (headerCount < 0 || headerCount * 2 > recordEnd - reader.pos) {
      throw new CorruptRecordError(`record ${i} header count ${headerCount} does not fit`);
    }
    const headersAt = reader.pos;
    for (let h = 0; h < headerCount; h++) {
      const keyLength = reader.varint();
      if (keyLength < 0 || keyLength > recordEnd - reader.pos) {
        throw new CorruptRecordError(`record ${i} header ${h} key length ${keyLength} is out of bounds`);
      }
      reader.pos += keyLength;
      skipNullableBytes(reader, recordEnd, i, 'header value');
    }

    if (reader.pos !== recordEnd) {
      throw new CorruptRecordError(`record ${i} fields end at ${reader.pos}, its length says ${recordEnd}`);
    }
    visit(baseOffset + i, timestamp, keyAt, keyLength, valueAt, valueLength, headersAt, headerCount);
  }
  if (reader.pos !== bytes.length) {
    throw new CorruptRecordError(`${bytes.length - reader.pos} trailing bytes after ${recordCount} records`);
  }
}

/** A view of `length` bytes at `at` in `bytes`, or null for length -1 (as scanRecords reports). */
export function bytesAt(bytes: Uint8Array, at: number, length: number): Uint8Array | null {
  // The constructor is about twice as fast as subarray() in V8, and this runs per key and value.
  return length < 0 ? null : new Uint8Array(bytes.buffer, bytes.byteOffset + at, length);
}

/** The `count` headers starting at `at` (as scanRecords reports), already bounds-checked. */
export function readHeaders(bytes: Uint8Array, at: number, count: number): RecordHeader[] {
  const headers: RecordHeader[] = [];
  const reader = new ByteReader(bytes, at, bytes.length);
  for (let h = 0; h < count; h++) {
    const keyLength = reader.varint();
    const key = decodeUtf8(bytes, reader.pos, keyLength);
    reader.pos += keyLength;
    const valueLength = reader.varint();
    headers.push({ key, value: bytesAt(bytes, reader.pos, valueLength) });
    reader.pos += Math.max(0, valueLength);
  }
  return headers;
}

/** Fully validates and decodes one batch. Keys and values are views into `bytes`. */
export function decodeRecordBatch(bytes: Uint8Array): DecodedBatch {
  const header = verifyRecordBatch(bytes);
  const records: DecodedRecord[] = [];
  scanRecords(bytes, header, (offset, timestamp, keyAt, keyLength, valueAt, valueLength, headersAt, headerCount) => {
    records.push({
      offset,
      timestamp,
      key: bytesAt(bytes, keyAt, keyLength),
      value: bytesAt(bytes, valueAt, valueLength),
      headers: headerCount === 0 ? [] : readHeaders(bytes, headersAt, headerCount),
    });
  });
  return { header, records };
}

/** Moves past a nullable byte field after checking its length; returns the length (-1: null). */
function skipNullableBytes(reader: ByteReader, recordEnd: number, index: number, what: string): number {
  const length = reader.varint();
  if (length === -1) return -1;
  if (length < -1 || length > recordEnd - reader.pos) {
    throw new CorruptRecordError(`record ${index} ${what} length ${length} is out of bounds`);
  }
  reader.pos += length;
  return length;
}

function decodeUtf8(bytes: Uint8Array, at: number, length: number): string {
  if (length <= 64) {
    // Header keys are short and nearly always ASCII; TextDecoder's call cost dominates there.
    let s = '';
    let i = 0;
    for (; i < length; i++) {
      const b = bytes[at + i]!;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === length) return s;
  }
  let slice = bytes.subarray(at, at + length);
  // TextDecoder rejects views of a SharedArrayBuffer in browsers.
  if (!(slice.buffer instanceof ArrayBuffer)) slice = slice.slice();
  try {
    return textDecoder.decode(slice);
  } catch {
    throw new CorruptRecordError('a record header key is not valid UTF-8');
  }
}

/** Views of each batch in a concatenation, as a log read returns them. A truncated tail is corrupt. */
export function splitRecordBatches(bytes: Uint8Array): Uint8Array[] {
  const batches: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = batchSize(bytes, at);
    batches.push(bytes.subarray(at, at + size));
    at += size;
  }
  return batches;
}

function checkHeaderRoom(bytes: Uint8Array): void {
  if (bytes.length < BATCH_HEADER_SIZE) {
    throw new CorruptRecordError(`${bytes.length} bytes is shorter than the ${BATCH_HEADER_SIZE}-byte batch header`);
  }
}

/** Sets the base offset in place; it lies outside the CRC, so the batch stays valid. */
export function setBaseOffset(bytes: Uint8Array, baseOffset: number): void {
  checkInt(baseOffset, 0, Number.MAX_SAFE_INTEGER, 'baseOffset');
  checkHeaderRoom(bytes);
  writeInt64(viewOf(bytes), OFFSET_BASE_OFFSET, baseOffset);
}

/** Sets the partition leader epoch in place; it lies outside the CRC, so the batch stays valid. */
export function setPartitionLeaderEpoch(bytes: Uint8Array, epoch: number): void {
  checkInt(epoch, -0x8000_0000, INT32_MAX, 'partitionLeaderEpoch');
  checkHeaderRoom(bytes);
  viewOf(bytes).setInt32(OFFSET_LEADER_EPOCH, epoch);
}

/** Where a batch sits and whose it is: read from its first 61 bytes alone, unlike readBatchHeader. */
export interface BatchIdentity {
  readonly baseOffset: number;
  /** The whole batch's size, as its length field says. */
  readonly size: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

/**
 * The identity fields of the batch whose header starts `bytes`; the rest of the batch need
 * not be there and nothing is checked but that the header is. Throws CorruptRecordError.
 */
export function peekBatchIdentity(bytes: Uint8Array): BatchIdentity {
  checkHeaderRoom(bytes);
  const view = viewOf(bytes);
  return {
    baseOffset: readInt64(view, OFFSET_BASE_OFFSET),
    size: view.getInt32(OFFSET_BATCH_LENGTH) + LOG_OVERHEAD,
    producerId: readInt64(view, OFFSET_PRODUCER_ID),
    producerEpoch: view.getInt16(OFFSET_PRODUCER_EPOCH),
    baseSequence: view.getInt32(OFFSET_BASE_SEQUENCE),
  };
}

export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}
