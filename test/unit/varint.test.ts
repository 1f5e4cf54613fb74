import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CorruptRecordError } from '../../src/errors';
import {
  ByteReader,
  ByteWriter,
  MAX_VARINT_BYTES,
  MAX_VARLONG_BYTES,
  sizeOfVarint,
  sizeOfVarlong,
} from '../../src/protocol/varint';

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

function varint(value: number): number[] {
  return Array.from(new ByteWriter(1).varint(value).finish());
}

function varlong(value: number): number[] {
  return Array.from(new ByteWriter(1).varlong(value).finish());
}

function readVarint(bytes: number[]): number {
  return new ByteReader(Uint8Array.from(bytes)).varint();
}

function readVarlong(bytes: number[]): number {
  return new ByteReader(Uint8Array.from(bytes)).varlong();
}

/** Kafka's ByteUtils.writeVarlong transcribed over BigInt: the reference for the number-based code. */
function referenceVarlong(value: number | bigint): number[] {
  const v = BigInt(value);
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

describe('zigzag varint (int32)', () => {
  const vectors: Array<[number, number[]]> = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [-2, [0x03]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [-65, [0x81, 0x01]],
    [300, [0xd8, 0x04]],
    [8191, [0xfe, 0x7f]],
    [-8193, [0x81, 0x80, 0x01]],
    [INT32_MAX, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [INT32_MIN, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];

  it.each(vectors)('encodes %d', (value, bytes) => {
    expect(varint(value)).toEqual(bytes);
    expect(sizeOfVarint(value)).toBe(bytes.length);
    expect(readVarint(bytes)).toBe(value);
  });

  it('round-trips every int32 and matches the varlong encoding, as in Kafka', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), (value) => {
        const bytes = varint(value);
        expect(bytes.length).toBe(sizeOfVarint(value));
        expect(bytes).toEqual(varlong(value));
        expect(readVarint(bytes)).toBe(value);
      }),
    );
  });

  it('rejects values outside int32 on write', () => {
    for (const bad of [INT32_MAX + 1, INT32_MIN - 1, 1.5, Number.NaN, Infinity]) {
      expect(() => new ByteWriter().varint(bad)).toThrow(RangeError);
    }
  });

  it('accepts non-canonical (padded) encodings, as Kafka does', () => {
    expect(readVarint([0x80, 0x00])).toBe(0);
    expect(readVarint([0x82, 0x80, 0x00])).toBe(1);
  });

  it.each([
    ['empty input', []],
    ['a continuation byte at the end', [0x80]],
    ['a truncated 4-byte varint', [0xff, 0xff, 0xff]],
    ['six bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['five bytes with a continuation bit on the fifth', [0x80, 0x80, 0x80, 0x80, 0x80]],
    ['a fifth byte overflowing 32 bits', [0xff, 0xff, 0xff, 0xff, 0x1f]],
  ])('rejects %s with CorruptRecordError', (_name, bytes) => {
    expect(() => readVarint(bytes)).toThrow(CorruptRecordError);
  });

  it('never throws anything but CorruptRecordError nor reads more than 5 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (bytes) => {
        const reader = new ByteReader(bytes);
        try {
          const value = reader.varint();
          expect((value | 0) === value).toBe(true);
          expect(reader.pos).toBeLessThanOrEqual(MAX_VARINT_BYTES);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptRecordError);
          expect(reader.pos).toBe(0);
        }
      }),
    );
  });
});

describe('zigzag varlong (int64 within the safe range)', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const vectors: Array<[number, number[]]> = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [-64, [0x7f]],
    [63, [0x7e]],
    [64, [0x80, 0x01]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [-(2 ** 31) - 1, [0x81, 0x80, 0x80, 0x80, 0x10]],
    [2 ** 35, [0x80, 0x80, 0x80, 0x80, 0x80, 0x02]],
    [MAX, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
    [-MAX, [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  ];

  it.each(vectors)('encodes %d', (value, bytes) => {
    expect(varlong(value)).toEqual(bytes);
    expect(referenceVarlong(value)).toEqual(bytes);
    expect(sizeOfVarlong(value)).toBe(bytes.length);
    expect(readVarlong(bytes)).toBe(value);
  });

  it('matches a BigInt transcription of Kafka for arbitrary safe integers', () => {
    const interesting = fc.oneof(
      fc.maxSafeInteger(),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.constantFrom(MAX, -MAX, MAX - 1, -MAX + 1, 2 ** 32, -(2 ** 32), 2 ** 52, -(2 ** 52)),
    );
    fc.assert(
      fc.property(interesting, (value) => {
        const bytes = varlong(value);
        expect(bytes).toEqual(referenceVarlong(value));
        expect(bytes.length).toBe(sizeOfVarlong(value));
        expect(readVarlong(bytes)).toBe(value);
      }),
    );
  });

  it('rejects non-safe integers on write', () => {
    for (const bad of [MAX + 1, -MAX - 1, 2 ** 60, 0.5, Number.NaN]) {
      expect(() => new ByteWriter().varlong(bad)).toThrow(RangeError);
    }
  });

  it.each([
    ['empty input', []],
    ['a continuation byte at the end', [0x80]],
    ['a truncated 9-byte varlong', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['eleven bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['ten bytes with a continuation bit on the tenth', Array<number>(10).fill(0x80)],
    ['2^53, one past the safe range', referenceVarlong(2n ** 53n)],
    ['-2^53', referenceVarlong(-(2n ** 53n))],
    ['int64 max', referenceVarlong(2n ** 63n - 1n)],
    ['int64 min', referenceVarlong(-(2n ** 63n))],
  ])('rejects %s with CorruptRecordError', (_name, bytes) => {
    expect(() => readVarlong(bytes)).toThrow(CorruptRecordError);
  });

  it('never throws anything but CorruptRecordError nor reads more than 10 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 14 }), (bytes) => {
        const reader = new ByteReader(bytes);
        try {
          const value = reader.varlong();
          expect(Number.isSafeInteger(value)).toBe(true);
          expect(reader.pos).toBeLessThanOrEqual(MAX_VARLONG_BYTES);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptRecordError);
        }
      }),
    );
  });
});

describe('ByteWriter', () => {
  it('grows past its initial capacity and writes big-endian fixed-width fields', () => {
    const writer = new ByteWriter(1);
    writer.int8(-2).int16(0x1234).int32(-2).uint32(0xdeadbeef).int64(-2).int64(2n ** 63n - 1n);
    for (let i = 0; i < 1000; i++) writer.varint(i * 1000);
    const bytes = writer.finish();
    expect(bytes.length).toBe(writer.length);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    const view = new DataView(bytes.buffer);
    expect(view.getInt8(0)).toBe(-2);
    expect(view.getInt16(1)).toBe(0x1234);
    expect(view.getInt32(3)).toBe(-2);
    expect(view.getUint32(7)).toBe(0xdeadbeef);
    expect(view.getBigInt64(11)).toBe(-2n);
    expect(view.getBigInt64(19)).toBe(2n ** 63n - 1n);
    const reader = new ByteReader(bytes, 27);
    for (let i = 0; i < 1000; i++) expect(reader.varint()).toBe(i * 1000);
    expect(reader.remaining).toBe(0);
  });

  it('returns its buffer without copying when the capacity was exact', () => {
    const writer = new ByteWriter(16);
    writer.bytes(new Uint8Array(16).fill(7));
    const bytes = writer.finish();
    expect(bytes.length).toBe(16);
    expect(Array.from(bytes)).toEqual(Array(16).fill(7));
  });

  it('round-trips a mix of fields through ByteReader', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('int8' as const), v: fc.integer({ min: -128, max: 127 }) }),
            fc.record({ kind: fc.constant('int16' as const), v: fc.integer({ min: -32768, max: 32767 }) }),
            fc.record({ kind: fc.constant('int32' as const), v: fc.integer({ min: INT32_MIN, max: INT32_MAX }) }),
            fc.record({ kind: fc.constant('uint32' as const), v: fc.integer({ min: 0, max: 0xffff_ffff }) }),
            fc.record({ kind: fc.constant('int64' as const), v: fc.maxSafeInteger() }),
            fc.record({ kind: fc.constant('varint' as const), v: fc.integer({ min: INT32_MIN, max: INT32_MAX }) }),
            fc.record({ kind: fc.constant('varlong' as const), v: fc.maxSafeInteger() }),
          ),
          { maxLength: 40 },
        ),
        (fields) => {
          const writer = new ByteWriter(4);
          for (const { kind, v } of fields) writer[kind](v);
          const bytes = writer.finish();
          const reader = new ByteReader(bytes);
          for (const { kind, v } of fields) expect(reader[kind]()).toBe(v);
          expect(reader.remaining).toBe(0);
        },
      ),
    );
  });

  it('rejects out-of-range fixed-width values', () => {
    const writer = new ByteWriter();
    expect(() => writer.int8(128)).toThrow(RangeError);
    expect(() => writer.int16(-32769)).toThrow(RangeError);
    expect(() => writer.int32(INT32_MAX + 1)).toThrow(RangeError);
    expect(() => writer.uint32(-1)).toThrow(RangeError);
    expect(() => writer.int64(2 ** 53)).toThrow(RangeError);
    expect(() => writer.int64(2n ** 63n)).toThrow(RangeError);
    expect(writer.length).toBe(0);
  });
});

describe('ByteReader', () => {
  it('reads within a subarray view and returns views for bytes', () => {
    const backing = Uint8Array.from([9, 9, 9, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 9]);
    const view = backing.subarray(3, 9);
    const reader = new ByteReader(view);
    expect(reader.int16()).toBe(1);
    const bytes = reader.bytesView(3);
    expect(Array.from(bytes)).toEqual([2, 3, 4]);
    expect(bytes.buffer).toBe(backing.buffer);
    expect(reader.remaining).toBe(1);
    expect(() => reader.int16()).toThrow(CorruptRecordError);
    expect(reader.pos).toBe(5);
  });

  it('throws CorruptRecordError for every read past its end', () => {
    const reader = () => new ByteReader(new Uint8Array(8), 8);
    expect(() => reader().int8()).toThrow(CorruptRecordError);
    expect(() => reader().uint8()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(1)).int16()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(3)).int32()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(3)).uint32()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(7)).int64()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(7)).bigInt64()).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(2)).bytesView(3)).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(2)).bytesView(-1)).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(2)).skip(3)).toThrow(CorruptRecordError);
    expect(() => new ByteReader(new Uint8Array(4), 0, 2).int32()).toThrow(CorruptRecordError);
  });

  it('rejects int64 values beyond the safe range as corrupt', () => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, 2n ** 53n);
    expect(() => new ByteReader(bytes).int64()).toThrow(CorruptRecordError);
    expect(new ByteReader(bytes).bigInt64()).toBe(2n ** 53n);
    new DataView(bytes.buffer).setBigInt64(0, -(2n ** 53n) + 1n);
    expect(new ByteReader(bytes).int64()).toBe(-Number.MAX_SAFE_INTEGER);
  });
});
