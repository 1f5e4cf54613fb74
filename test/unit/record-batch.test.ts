import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CorruptRecordError, UnsupportedCompressionTypeError } from '../../src/errors';
import { crc32c } from '../../src/protocol/crc32c';
import {
  BATCH_HEADER_SIZE,
  RECORD_BATCH_MAGIC,
  batchSize,
  decodeRecordBatch,
  encodeRecordBatch,
  lastOffsetOf,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitRecordBatches,
  verifyRecordBatch,
} from '../../src/protocol/record-batch';
import type { BatchOptions, RecordHeader, RecordInput } from '../../src/protocol/record-batch';

const utf8 = new TextEncoder();
const bytesOf = (s: string): Uint8Array => utf8.encode(s);

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Re-hashes after a deliberate edit, so the structural checks behind the CRC get exercised. */
function fixCrc(bytes: Uint8Array): Uint8Array {
  viewOf(bytes).setUint32(17, crc32c(bytes.subarray(21)));
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function expectCorrupt(fn: () => unknown): void {
  expect(fn).toThrow(CorruptRecordError);
}

/** Plain arrays so a failure prints readable diffs and views compare by content only. */
function normalize(records: readonly RecordInput[]) {
  return records.map((r) => ({
    key: r.key === null ? null : Array.from(r.key),
    value: r.value === null ? null : Array.from(r.value),
    timestamp: r.timestamp,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value === null ? null : Array.from(h.value) })),
  }));
}

function roundTrip(records: readonly RecordInput[], options?: BatchOptions) {
  const bytes = encodeRecordBatch(records, options);
  const decoded = decodeRecordBatch(bytes);
  expect(normalize(decoded.records)).toEqual(normalize(records));
  const base = options?.baseOffset ?? 0;
  expect(decoded.records.map((r) => r.offset)).toEqual(records.map((_, i) => base + i));
  return { bytes, decoded };
}

/*
 * Batches written by a Kafka 0.11+ broker, as captured in kafka-python's test suite
 * (test/record/test_records.py). Reproducing them byte for byte pins the layout and the CRC.
 */
const KAFKA_VALUE_123 = hex(
  '00000000000000000000003b00000001020318a2700000000000000000015dff7b063c0000015dff7b063c' +
    'ffffffffffffffffffffffffffff0000000112000000010631323300',
);
const KAFKA_TWO_EMPTY_VALUES = hex(
  '0000000000000001000000400000000202c85cbd230000000000010000015dff7cdd6c0000015dff7cde14' +
    'ffffffffffffffffffffffffffff000000020c0000000100000e00d00202010000',
);
const KAFKA_WITH_HEADER = hex(
  '00000000000000000000004500000000025cd8ef520000000000000000016585b6f3c10000016585b6f3c1' +
    'ffffffffffffffffffffffffffff000000012600000001066864720208686b6579086876616c',
);

describe('crc32c', () => {
  it('matches the standard check value and RFC 3720 vectors', () => {
    expect(crc32c(bytesOf('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('hashes only the bytes of a subarray view', () => {
    const backing = concat([new Uint8Array([1, 2, 3]), bytesOf('123456789'), new Uint8Array([4, 5])]);
    expect(crc32c(backing.subarray(3, 12))).toBe(0xe3069283);
  });
});

describe('Kafka compatibility', () => {
  it('decodes batches written by a Kafka broker', () => {
    const first = decodeRecordBatch(KAFKA_VALUE_123);
    expect(first.header).toEqual({
      baseOffset: 0,
      batchLength: 59,
      partitionLeaderEpoch: 1,
      magic: 2,
      crc: 0x0318a270,
      attributes: 0,
      lastOffsetDelta: 0,
      baseTimestamp: 1503229838908,
      maxTimestamp: 1503229838908,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 1,
    });
    expect(normalize(first.records)).toEqual(
      normalize([{ key: null, value: bytesOf('123'), timestamp: 1503229838908, headers: [] }]),
    );

    const second = decodeRecordBatch(KAFKA_TWO_EMPTY_VALUES);
    expect(second.records.map((r) => [r.offset, r.timestamp, r.key, Array.from(r.value!)])).toEqual([
      [1, 0x15dff7cdd6c, null, []],
      [2, 0x15dff7cdd6c + 168, null, []],
    ]);

    const third = decodeRecordBatch(KAFKA_WITH_HEADER);
    expect(third.records).toHaveLength(1);
    expect(new TextDecoder().decode(third.records[0]!.value!)).toBe('hdr');
    expect(third.records[0]!.headers.map((h) => [h.key, new TextDecoder().decode(h.value!)])).toEqual([['hkey', 'hval']]);
  });

  it('encodes the same records to the same bytes, CRC included', () => {
    expect(
      encodeRecordBatch([{ key: null, value: bytesOf('123'), timestamp: 1503229838908 }], { partitionLeaderEpoch: 1 }),
    ).toEqual(KAFKA_VALUE_123);
    expect(
      encodeRecordBatch(
        [
          { key: null, value: new Uint8Array(0), timestamp: 0x15dff7cdd6c },
          { key: null, value: new Uint8Array(0), timestamp: 0x15dff7cdd6c + 168 },
        ],
        { baseOffset: 1, partitionLeaderEpoch: 2 },
      ),
    ).toEqual(KAFKA_TWO_EMPTY_VALUES);
    expect(
      encodeRecordBatch(
        [{ key: null, value: bytesOf('hdr'), timestamp: 0x16585b6f3c1, headers: [{ key: 'hkey', value: bytesOf('hval') }] }],
        { partitionLeaderEpoch: 0 },
      ),
    ).toEqual(KAFKA_WITH_HEADER);
  });

  it('computes the CRC over bytes 21..end with CRC-32C', () => {
    expect(crc32c(KAFKA_VALUE_123.subarray(21))).toBe(0x0318a270);
    expect(crc32c(KAFKA_WITH_HEADER.subarray(21))).toBe(0x5cd8ef52);
  });

  it('lays out the header at Kafka fixed byte positions', () => {
    const records: RecordInput[] = [
      { key: bytesOf('k'), value: bytesOf('v1'), timestamp: 1_700_000_000_500 },
      { key: null, value: bytesOf('v2'), timestamp: 1_700_000_000_000 },
      { key: null, value: null, timestamp: 1_700_000_000_900 },
    ];
    const bytes = encodeRecordBatch(records, {
      baseOffset: 12345,
      partitionLeaderEpoch: 7,
      producerId: 99,
      producerEpoch: 3,
      baseSequence: 42,
      attributes: 0x10,
    });
    const view = viewOf(bytes);
    expect(view.getBigInt64(0)).toBe(12345n);
    expect(view.getInt32(8)).toBe(bytes.length - 12);
    expect(view.getInt32(12)).toBe(7);
    expect(view.getInt8(16)).toBe(2);
    expect(view.getUint32(17)).toBe(crc32c(bytes.subarray(21)));
    expect(view.getInt16(21)).toBe(0x10);
    expect(view.getInt32(23)).toBe(2);
    expect(view.getBigInt64(27)).toBe(1_700_000_000_500n);
    expect(view.getBigInt64(35)).toBe(1_700_000_000_900n);
    expect(view.getBigInt64(43)).toBe(99n);
    expect(view.getInt16(51)).toBe(3);
    expect(view.getInt32(53)).toBe(42);
    expect(view.getInt32(57)).toBe(3);
    // First record: length 9, attributes 0, timestampDelta 0, offsetDelta 0, key "k", value "v1", 0 headers.
    expect(Array.from(bytes.subarray(61, 71))).toEqual([18, 0, 0, 0, 2, 0x6b, 4, 0x76, 0x31, 0]);
    // Second record: timestampDelta -500 is zigzag 999 = 0xe7 0x07, offsetDelta 1, null key.
    expect(Array.from(bytes.subarray(71, 76))).toEqual([18, 0, 0xe7, 0x07, 2]);
    expect(BATCH_HEADER_SIZE).toBe(61);
    expect(RECORD_BATCH_MAGIC).toBe(2);
  });

  it('uses Kafka defaults for the producer fields', () => {
    const header = readBatchHeader(encodeRecordBatch([{ key: null, value: null, timestamp: 5 }]));
    expect(header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      attributes: 0,
      lastOffsetDelta: 0,
      recordCount: 1,
      baseTimestamp: 5,
      maxTimestamp: 5,
    });
  });
});

describe('round trips', () => {
  it('a single record', () => {
    roundTrip([{ key: bytesOf('key'), value: bytesOf('value'), timestamp: 1_700_000_000_000 }]);
  });

  it('null and empty keys and values', () => {
    roundTrip([
      { key: null, value: null, timestamp: 1 },
      { key: new Uint8Array(0), value: new Uint8Array(0), timestamp: 2 },
      { key: null, value: new Uint8Array(0), timestamp: 3 },
      { key: new Uint8Array(0), value: null, timestamp: 4 },
    ]);
  });

  it('headers with null values, duplicate keys, empty and unicode keys', () => {
    const headers: RecordHeader[] = [
      { key: 'trace', value: bytesOf('abc') },
      { key: 'trace', value: bytesOf('def') },
      { key: 'nothing', value: null },
      { key: '', value: new Uint8Array(0) },
      { key: 'ключ', value: bytesOf('ü') },
      { key: '日本語のキー', value: null },
      { key: '🦀🚀', value: new Uint8Array([0, 255]) },
      { key: '\uFEFFbom-first', value: null },
      { key: 'é'.repeat(100), value: null },
      { key: 'x'.repeat(300), value: new Uint8Array(300).fill(1) },
    ];
    const { decoded } = roundTrip([{ key: bytesOf('k'), value: bytesOf('v'), timestamp: 10, headers }]);
    expect(decoded.records[0]!.headers.map((h) => h.key)).toEqual(headers.map((h) => h.key));
  });

  it('replaces lone surrogates in header keys with U+FFFD, as TextEncoder does', () => {
    const bytes = encodeRecordBatch([{ key: null, value: null, timestamp: 0, headers: [{ key: 'a\uD800b', value: null }] }]);
    expect(decodeRecordBatch(bytes).records[0]!.headers[0]!.key).toBe('a\uFFFDb');
  });

  it('large values', () => {
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const records: RecordInput[] = [
      { key: new Uint8Array(20_000).fill(9), value: big, timestamp: 1 },
      { key: null, value: big.subarray(5, 200_005), timestamp: 2 },
    ];
    const decoded = decodeRecordBatch(encodeRecordBatch(records)).records;
    // Byte-wise rather than toEqual: diffing megabyte arrays element by element takes seconds.
    const same = (a: Uint8Array | null, b: Uint8Array | null) =>
      a !== null && b !== null && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
    expect(decoded).toHaveLength(2);
    expect(same(decoded[0]!.key, records[0]!.key)).toBe(true);
    expect(same(decoded[0]!.value, big)).toBe(true);
    expect(decoded[1]!.key).toBeNull();
    expect(same(decoded[1]!.value, records[1]!.value)).toBe(true);
    expect(decoded[1]!.value!.length).toBe(200_000);
  });

  it('timestamps out of order give negative deltas; maxTimestamp is the largest', () => {
    const records: RecordInput[] = [
      { key: null, value: bytesOf('a'), timestamp: 1_700_000_000_000 },
      { key: null, value: bytesOf('b'), timestamp: 1_600_000_000_000 },
      { key: null, value: bytesOf('c'), timestamp: 1_800_000_000_000 },
      { key: null, value: bytesOf('d'), timestamp: -1 },
      { key: null, value: bytesOf('e'), timestamp: 1_700_000_000_000 },
    ];
    const { decoded } = roundTrip(records);
    expect(decoded.header.baseTimestamp).toBe(1_700_000_000_000);
    expect(decoded.header.maxTimestamp).toBe(1_800_000_000_000);
  });

  it('timestamp deltas at the edge of the safe range', () => {
    roundTrip([
      { key: null, value: null, timestamp: 0 },
      { key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER },
    ]);
    roundTrip([
      { key: null, value: null, timestamp: 0 },
      { key: null, value: null, timestamp: -Number.MAX_SAFE_INTEGER },
    ]);
  });

  it('many records with offsets relative to the base offset', () => {
    const records: RecordInput[] = Array.from({ length: 5000 }, (_, i) => ({
      key: i % 3 === 0 ? null : bytesOf(`key-${i}`),
      value: new Uint8Array(i % 200).fill(i & 0xff),
      timestamp: 1_700_000_000_000 + ((i * 7919) % 10_000) - 5000,
      headers: i % 10 === 0 ? [{ key: `h${i}`, value: null }] : undefined,
    }));
    const { decoded } = roundTrip(records, { baseOffset: 2 ** 40 });
    expect(lastOffsetOf(decoded.header)).toBe(2 ** 40 + 4999);
    expect(decoded.records.at(-1)!.offset).toBe(lastOffsetOf(decoded.header));
  });

  it('returns keys and values as views into the batch, without copying', () => {
    const bytes = encodeRecordBatch([{ key: bytesOf('kk'), value: bytesOf('vvv'), timestamp: 0 }]);
    const [record] = decodeRecordBatch(bytes).records;
    expect(record!.key!.buffer).toBe(bytes.buffer);
    expect(record!.value!.buffer).toBe(bytes.buffer);
  });

  it('decodes a batch that is a view at an offset inside a larger buffer', () => {
    const batch = encodeRecordBatch([{ key: bytesOf('a'), value: bytesOf('b'), timestamp: 3 }], { producerId: 2 ** 40 });
    const backing = concat([new Uint8Array(13).fill(0xee), batch, new Uint8Array(7).fill(0xee)]);
    const view = backing.subarray(13, 13 + batch.length);
    expect(decodeRecordBatch(view).header.producerId).toBe(2 ** 40);
    expect(verifyRecordBatch(view).crc).toBe(readBatchHeader(batch).crc);
    setBaseOffset(view, 77);
    setPartitionLeaderEpoch(view, 5);
    expect(Array.from(backing.subarray(0, 13))).toEqual(Array(13).fill(0xee));
    expect(decodeRecordBatch(view).records[0]!.offset).toBe(77);
  });
});

describe('encoder argument checks', () => {
  const one: RecordInput[] = [{ key: null, value: null, timestamp: 0 }];

  it('rejects an empty batch', () => {
    expect(() => encodeRecordBatch([])).toThrow(RangeError);
  });

  it('rejects non-safe-integer numbers', () => {
    for (const timestamp of [Number.NaN, 1.5, 2 ** 53, Infinity]) {
      expect(() => encodeRecordBatch([{ key: null, value: null, timestamp }])).toThrow(RangeError);
    }
    expect(() =>
      encodeRecordBatch([
        { key: null, value: null, timestamp: -Number.MAX_SAFE_INTEGER },
        { key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER },
      ]),
    ).toThrow(RangeError);
    const badOptions: BatchOptions[] = [
      { baseOffset: -1 },
      { baseOffset: 0.5 },
      { baseOffset: Number.MAX_SAFE_INTEGER + 1 },
      { partitionLeaderEpoch: 2 ** 31 },
      { producerId: 2 ** 53 },
      { producerEpoch: 0x8000 },
      { baseSequence: -(2 ** 31) - 1 },
      { attributes: 0x10000 },
    ];
    for (const options of badOptions) expect(() => encodeRecordBatch(one, options)).toThrow(RangeError);
  });

  it('rejects compression attributes', () => {
    for (const attributes of [1, 2, 3, 4]) {
      expect(() => encodeRecordBatch(one, { attributes })).toThrow('encodeRecordBatch writes uncompressed batches');
    }
  });

  it('rejects keys, values and headers of the wrong type', () => {
    const wrong = (record: unknown) => () => encodeRecordBatch([record as RecordInput]);
    expect(wrong({ key: 'text', value: null, timestamp: 0 })).toThrow(TypeError);
    expect(wrong({ key: null, value: [1, 2], timestamp: 0 })).toThrow(TypeError);
    expect(wrong({ key: null, value: null, timestamp: 0, headers: [{ key: 1, value: null }] })).toThrow(TypeError);
    expect(wrong({ key: null, value: null, timestamp: 0, headers: [{ key: 'k', value: 'v' }] })).toThrow(TypeError);
  });
});

describe('header, CRC and in-place edits', () => {
  const batch = () =>
    encodeRecordBatch(
      [
        { key: bytesOf('a'), value: bytesOf('1'), timestamp: 100 },
        { key: bytesOf('b'), value: bytesOf('2'), timestamp: 101 },
      ],
      { producerId: 1, producerEpoch: 0, baseSequence: 0 },
    );

  it('setBaseOffset and setPartitionLeaderEpoch leave the CRC valid', () => {
    const bytes = batch();
    const crc = readBatchHeader(bytes).crc;
    setBaseOffset(bytes, 1_000_000_007);
    setPartitionLeaderEpoch(bytes, 12);
    const header = verifyRecordBatch(bytes);
    expect(header.crc).toBe(crc);
    expect(header.baseOffset).toBe(1_000_000_007);
    expect(header.partitionLeaderEpoch).toBe(12);
    expect(lastOffsetOf(header)).toBe(1_000_000_008);
    expect(decodeRecordBatch(bytes).records.map((r) => r.offset)).toEqual([1_000_000_007, 1_000_000_008]);
    setBaseOffset(bytes, Number.MAX_SAFE_INTEGER - 1);
    expect(lastOffsetOf(verifyRecordBatch(bytes))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('setBaseOffset and setPartitionLeaderEpoch reject bad arguments', () => {
    expect(() => setBaseOffset(batch(), -1)).toThrow(RangeError);
    expect(() => setBaseOffset(batch(), 2 ** 53)).toThrow(RangeError);
    expect(() => setPartitionLeaderEpoch(batch(), 2 ** 31)).toThrow(RangeError);
    expectCorrupt(() => setBaseOffset(new Uint8Array(60), 1));
    expectCorrupt(() => setPartitionLeaderEpoch(new Uint8Array(12), 1));
  });

  it('readBatchHeader skips the CRC; verifyRecordBatch and decodeRecordBatch check it', () => {
    const bytes = batch();
    bytes[bytes.length - 1]! ^= 0x01;
    expect(readBatchHeader(bytes).recordCount).toBe(2);
    expect(() => verifyRecordBatch(bytes)).toThrow(/CRC mismatch/);
    expect(() => decodeRecordBatch(bytes)).toThrow(/CRC mismatch/);
    expectCorrupt(() => verifyRecordBatch(bytes));
  });

  it('reads a gzip header, refuses snappy, lz4 and zstd as unsupported and other codecs as corrupt, and reads no compressed records in place', () => {
    const gzip = batch();
    viewOf(gzip).setInt16(21, 1);
    fixCrc(gzip);
    expect(readBatchHeader(gzip).attributes).toBe(1);
    expectCorrupt(() => decodeRecordBatch(gzip)); // its records must be inflated first
    for (const codec of [2, 3, 4]) {
      const bytes = batch();
      viewOf(bytes).setInt16(21, codec);
      fixCrc(bytes);
      expect(() => readBatchHeader(bytes)).toThrow(UnsupportedCompressionTypeError);
    }
    for (const codec of [5, 6, 7]) {
      const bytes = batch();
      viewOf(bytes).setInt16(21, codec);
      fixCrc(bytes);
      expectCorrupt(() => readBatchHeader(bytes));
    }
  });

  it('rejects other magic values, offsets beyond 2^53 and unsafe int64 fields', () => {
    const edits: Array<(view: DataView) => void> = [
      (v) => v.setInt8(16, 1),
      (v) => v.setInt8(16, 3),
      (v) => v.setBigInt64(0, -1n),
      (v) => v.setBigInt64(0, 2n ** 53n - 1n),
      (v) => v.setBigInt64(27, 2n ** 60n),
      (v) => v.setBigInt64(35, -(2n ** 60n)),
      (v) => v.setBigInt64(43, 2n ** 62n),
    ];
    for (const edit of edits) {
      const bytes = batch();
      edit(viewOf(bytes));
      fixCrc(bytes);
      expectCorrupt(() => readBatchHeader(bytes));
      expectCorrupt(() => decodeRecordBatch(bytes));
    }
  });

  it('guards absurd and inconsistent record counts before allocating', () => {
    const cases: Array<[number, number]> = [
      [0x7fff_ffff, 0x7fff_fffe],
      [1_000_000, 999_999],
      [0, -1],
      [-5, -6],
      [3, 2],
      [1, 0],
      [2, 5],
    ];
    for (const [count, lastDelta] of cases) {
      const bytes = batch();
      viewOf(bytes).setInt32(57, count);
      viewOf(bytes).setInt32(23, lastDelta);
      fixCrc(bytes);
      expectCorrupt(() => decodeRecordBatch(bytes));
    }
  });

  it('rejects the wrong length field', () => {
    for (const length of [-1, 0, 48, 49, 60, 0x7fff_ffff, -0x8000_0000]) {
      const bytes = batch();
      viewOf(bytes).setInt32(8, length);
      expectCorrupt(() => readBatchHeader(bytes));
      expectCorrupt(() => decodeRecordBatch(bytes));
    }
  });

  it('rejects inputs shorter than a header', () => {
    for (let n = 0; n < BATCH_HEADER_SIZE; n++) {
      expectCorrupt(() => readBatchHeader(new Uint8Array(n)));
      expectCorrupt(() => decodeRecordBatch(new Uint8Array(n)));
    }
  });
});

describe('record-level validation behind a valid CRC', () => {
  /** Encodes, lets `edit` rewrite record bytes, and re-hashes so only the structure is wrong. */
  function corrupted(records: RecordInput[], edit: (bytes: Uint8Array) => void): Uint8Array {
    const bytes = encodeRecordBatch(records);
    edit(bytes);
    return fixCrc(bytes);
  }
  const r0 = 61; // the first record's length varint

  it('rejects a negative key or value length other than -1', () => {
    // Record: [length][attrs][tsDelta][offsetDelta][keyLength=-1 -> 0x01][valueLength=-1 -> 0x01][headers]
    const base: RecordInput[] = [{ key: null, value: null, timestamp: 0 }];
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 4] = 0x03))));
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 5] = 0x09))));
  });

  it('rejects lengths that point past the record', () => {
    const base: RecordInput[] = [
      { key: bytesOf('ab'), value: bytesOf('cd'), timestamp: 0 },
      { key: bytesOf('ef'), value: bytesOf('gh'), timestamp: 0 },
    ];
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 4] = 0x06)))); // key 3
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 4] = 0x7e)))); // key 63
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0] = 0x7e)))); // record length 63
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0] = 0x10)))); // record length 8 < fields
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0] = 0x0a)))); // record length 5 < minimum
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0] = 0x01)))); // record length -1
  });

  it('rejects an offset delta that does not match the record position', () => {
    const base: RecordInput[] = [
      { key: null, value: null, timestamp: 0 },
      { key: null, value: null, timestamp: 0 },
    ];
    // Each record is 7 bytes; the second one's offsetDelta sits at 61 + 7 + 3.
    expect(decodeRecordBatch(encodeRecordBatch(base)).records).toHaveLength(2);
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 7 + 3] = 0x04))));
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 3] = 0x02))));
  });

  it('rejects header counts, header key lengths and invalid UTF-8 keys', () => {
    const base: RecordInput[] = [{ key: null, value: null, timestamp: 0, headers: [{ key: 'ab', value: null }] }];
    // [len][attrs][ts][off][key -1][value -1][count 1 -> 0x02][keyLen 2 -> 0x04]['a']['b'][value -1]
    expect(decodeRecordBatch(encodeRecordBatch(base)).records[0]!.headers).toEqual([{ key: 'ab', value: null }]);
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 6] = 0x01)))); // count -1
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 6] = 0x04)))); // count 2
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 6] = 0x7e)))); // count 63
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 7] = 0x01)))); // key length -1
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 7] = 0x08)))); // key length 4
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => b.set([0xff, 0xfe], r0 + 8))));
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => b.set([0xc3, 0x28], r0 + 8))));
    expectCorrupt(() => decodeRecordBatch(corrupted(base, (b) => (b[r0 + 10] = 0x03)))); // value -2
  });

  it('rejects timestamps that leave the safe range', () => {
    const base: RecordInput[] = [
      { key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER - 10 },
      { key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER },
    ];
    expect(decodeRecordBatch(encodeRecordBatch(base)).records[1]!.timestamp).toBe(Number.MAX_SAFE_INTEGER);
    expectCorrupt(() =>
      decodeRecordBatch(corrupted(base, (b) => viewOf(b).setBigInt64(27, BigInt(Number.MAX_SAFE_INTEGER)))),
    );
  });

  it('rejects trailing bytes and overlong varints', () => {
    const base: RecordInput[] = [{ key: null, value: bytesOf('abc'), timestamp: 0 }];
    const bytes = encodeRecordBatch(base);
    const longer = concat([bytes, new Uint8Array([0])]);
    viewOf(longer).setInt32(8, longer.length - 12);
    expect(() => decodeRecordBatch(fixCrc(longer))).toThrow(/trailing/);
    const padded = corrupted([{ key: null, value: null, timestamp: 0 }], (b) => b.set([0x80, 0x80, 0x80, 0x80, 0x80, 0x80], r0));
    expectCorrupt(() => decodeRecordBatch(padded));
  });
});

describe('splitRecordBatches and batchSize', () => {
  const make = (n: number, base: number) =>
    encodeRecordBatch(
      Array.from({ length: n }, (_, i) => ({ key: null, value: bytesOf(`v${base + i}`), timestamp: base + i })),
      { baseOffset: base },
    );

  it('splits a concatenation into views of each batch', () => {
    const parts = [make(1, 0), make(3, 1), make(10, 4)];
    const all = concat(parts);
    const split = splitRecordBatches(all);
    expect(split.map((b) => b.length)).toEqual(parts.map((p) => p.length));
    split.forEach((b, i) => {
      expect(b).toEqual(parts[i]);
      expect(b.buffer).toBe(all.buffer);
    });
    expect(split.flatMap((b) => decodeRecordBatch(b).records.map((r) => r.offset))).toEqual(
      Array.from({ length: 14 }, (_, i) => i),
    );
    expect(batchSize(all, parts[0]!.length)).toBe(parts[1]!.length);
    expect(splitRecordBatches(new Uint8Array(0))).toEqual([]);
  });

  it('rejects a truncated tail at every length', () => {
    const all = concat([make(2, 0), make(2, 2)]);
    const firstSize = batchSize(all);
    for (let n = 1; n < all.length; n++) {
      if (n === firstSize) {
        expect(splitRecordBatches(all.subarray(0, n))).toHaveLength(1);
      } else {
        expectCorrupt(() => splitRecordBatches(all.subarray(0, n)));
      }
    }
  });

  it('rejects length fields shorter than a header', () => {
    const bytes = make(1, 0);
    viewOf(bytes).setInt32(8, 48);
    expectCorrupt(() => batchSize(bytes));
    expectCorrupt(() => splitRecordBatches(bytes));
    expectCorrupt(() => batchSize(bytes, bytes.length));
    expect(() => batchSize(bytes, -1)).toThrow(RangeError);
  });
});

describe('properties', () => {
  const nullableBytes = (maxLength: number) => fc.option(fc.uint8Array({ maxLength }), { nil: null });
  const header = fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 6 }), value: nullableBytes(12) });
  const record = fc.record(
    {
      key: nullableBytes(24),
      value: nullableBytes(64),
      // Bounded so that any two timestamps differ by a safe integer.
      timestamp: fc.oneof(
        fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
        fc.integer({ min: -(2 ** 51), max: 2 ** 51 }),
      ),
      headers: fc.array(header, { maxLength: 4 }),
    },
    { requiredKeys: ['key', 'value', 'timestamp'] },
  );
  const options = fc.record(
    {
      baseOffset: fc.integer({ min: 0, max: 2 ** 52 }),
      partitionLeaderEpoch: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      producerId: fc.maxSafeInteger(),
      producerEpoch: fc.integer({ min: -0x8000, max: 0x7fff }),
      baseSequence: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      attributes: fc.integer({ min: -0x8000, max: 0x7fff }).map((a) => a & ~0x07),
    },
    { requiredKeys: [] },
  );
  const batch = (maxRecords: number) =>
    fc
      .tuple(fc.array(record, { minLength: 1, maxLength: maxRecords }), options)
      .map(([records, opts]) => ({ records, opts, bytes: encodeRecordBatch(records, opts) }));

  it('arbitrary records round-trip exactly', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), options, (records, opts) => {
        const { decoded, bytes } = roundTrip(records, opts);
        const h = decoded.header;
        expect(h.batchLength).toBe(bytes.length - 12);
        expect(h.recordCount).toBe(records.length);
        expect(h.baseTimestamp).toBe(records[0]!.timestamp);
        expect(h.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));
        expect(h).toMatchObject({
          baseOffset: opts.baseOffset ?? 0,
          partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
          producerId: opts.producerId ?? -1,
          producerEpoch: opts.producerEpoch ?? -1,
          baseSequence: opts.baseSequence ?? -1,
          attributes: opts.attributes ?? 0,
        });
        expect(verifyRecordBatch(bytes)).toEqual(h);
      }),
      { numRuns: 300 },
    );
  });

  it('truncation at every length is CorruptRecordError', () => {
    fc.assert(
      fc.property(batch(4), ({ bytes }) => {
        for (let n = 0; n < bytes.length; n++) {
          expectCorrupt(() => decodeRecordBatch(bytes.subarray(0, n)));
          expectCorrupt(() => decodeRecordBatch(bytes.slice(0, n)));
          if (n > 0) expectCorrupt(() => splitRecordBatches(bytes.subarray(0, n)));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('any single-byte corruption from the CRC onwards is CorruptRecordError', () => {
    fc.assert(
      fc.property(
        batch(6).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 17, max: b.bytes.length - 1 }), fc.integer({ min: 1, max: 255 }))),
        ([{ bytes }, at, flip]) => {
          const copy = bytes.slice();
          copy[at]! ^= flip;
          expectCorrupt(() => decodeRecordBatch(copy));
          expectCorrupt(() => verifyRecordBatch(copy));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('corruption of the length field is CorruptRecordError', () => {
    fc.assert(
      fc.property(batch(4), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), ({ bytes }, length) => {
        fc.pre(length !== bytes.length - 12);
        const copy = bytes.slice();
        viewOf(copy).setInt32(8, length);
        expectCorrupt(() => decodeRecordBatch(copy));
        expectCorrupt(() => readBatchHeader(copy));
        // Through a log read: the split itself fails, or a batch it yields fails to decode.
        const followed = concat([copy, bytes]);
        expectCorrupt(() => splitRecordBatches(followed).forEach((b) => decodeRecordBatch(b)));
      }),
      { numRuns: 300 },
    );
  });

  it('structural corruption behind a recomputed CRC never escapes as another error', () => {
    fc.assert(
      fc.property(
        batch(6).chain((b) =>
          fc.tuple(
            fc.constant(b),
            fc.array(fc.tuple(fc.integer({ min: 0, max: b.bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 4,
            }),
          ),
        ),
        ([{ bytes }, edits]) => {
          const copy = bytes.slice();
          for (const [at, value] of edits) copy[at] = value;
          fixCrc(copy);
          try {
            const decoded = decodeRecordBatch(copy);
            expect(decoded.records).toHaveLength(decoded.header.recordCount);
            for (const r of decoded.records) {
              expect(Number.isSafeInteger(r.timestamp)).toBe(true);
              expect(Number.isSafeInteger(r.offset)).toBe(true);
            }
          } catch (error) {
            // Well-formed but in snappy, lz4 or zstd (an attributes edit) is unsupported, not corrupt.
            expect(error instanceof CorruptRecordError || error instanceof UnsupportedCompressionTypeError, String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes never escape as another error', () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptRecordError);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        attempt(() => decodeRecordBatch(bytes));
        attempt(() => readBatchHeader(bytes));
        attempt(() => splitRecordBatches(bytes));
        attempt(() => batchSize(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('splitRecordBatches recovers every batch of a concatenation', () => {
    fc.assert(
      fc.property(fc.array(batch(5), { minLength: 1, maxLength: 6 }), (batches) => {
        const split = splitRecordBatches(concat(batches.map((b) => b.bytes)));
        expect(split).toHaveLength(batches.length);
        split.forEach((bytes, i) => {
          expect(bytes).toEqual(batches[i]!.bytes);
          expect(normalize(decodeRecordBatch(bytes).records)).toEqual(normalize(batches[i]!.records));
        });
      }),
      { numRuns: 100 },
    );
  });

  it('setBaseOffset and setPartitionLeaderEpoch keep any batch valid', () => {
    fc.assert(
      fc.property(
        batch(5),
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        ({ bytes, records }, offset, epoch) => {
          const copy = bytes.slice();
          setBaseOffset(copy, offset);
          setPartitionLeaderEpoch(copy, epoch);
          const decoded = decodeRecordBatch(copy);
          expect(decoded.header.baseOffset).toBe(offset);
          expect(decoded.header.partitionLeaderEpoch).toBe(epoch);
          expect(decoded.header.crc).toBe(readBatchHeader(bytes).crc);
          expect(decoded.records.map((r) => r.offset)).toEqual(records.map((_, i) => offset + i));
        },
      ),
      { numRuns: 200 },
    );
  });
});
