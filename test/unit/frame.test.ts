import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidFrameError } from '../../src/errors';
import { FrameKind, decodeFrame, encodeFrame } from '../../src/protocol/frame';
import type { Frame } from '../../src/protocol/frame';
import { CHUNK_HEADER_SIZE, DEFAULT_CHUNK_BYTES, FrameAssembler, chunkFrame } from '../../src/transport/frame-chunker';

/** Frames that take three and four chunks of the default size. */
const THREE_CHUNKS = Math.round(DEFAULT_CHUNK_BYTES * 2.5);
const FOUR_CHUNKS = Math.round(DEFAULT_CHUNK_BYTES * 3.5);

const sample: Frame = {
  kind: FrameKind.Request,
  apiKey: 0,
  apiVersion: 3,
  correlationId: 42,
  errorCode: 0,
  body: { topic: 'orders', partitions: [0, 1], acks: -1 },
  blobs: [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7)],
};

function throwsOnlyInvalidFrame(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFrameError);
  }
}

const frames = fc.record({
  kind: fc.constantFrom(FrameKind.Request, FrameKind.Response, FrameKind.Event),
  apiKey: fc.integer({ min: -0x8000, max: 0x7fff }),
  apiVersion: fc.integer({ min: -0x8000, max: 0x7fff }),
  correlationId: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  errorCode: fc.integer({ min: -0x8000, max: 0x7fff }),
  body: fc.dictionary(fc.string(), fc.jsonValue()),
  blobs: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
});

describe('frame codec', () => {
  it('round-trips header fields, the JSON body and the blobs', () => {
    const decoded = decodeFrame(encodeFrame(sample));
    expect(decoded).toEqual({ ...sample, blobs: sample.blobs.map((blob) => new Uint8Array(blob)) });
  });

  it('round-trips arbitrary frames', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        const decoded = decodeFrame(encodeFrame(frame));
        expect(decoded.blobs.map((b) => [...b])).toEqual(frame.blobs.map((b) => [...b]));
        expect(decoded.body).toEqual(JSON.parse(JSON.stringify(frame.body)));
        expect([decoded.kind, decoded.apiKey, decoded.apiVersion, decoded.correlationId, decoded.errorCode]).toEqual([
          frame.kind,
          frame.apiKey,
          frame.apiVersion,
          frame.correlationId,
          frame.errorCode,
        ]);
      }),
    );
  });

  it('refuses every truncation of a valid frame with InvalidFrameError', () => {
    const bytes = encodeFrame(sample);
    for (let length = 0; length < bytes.byteLength; length++) {
      expect(() => decodeFrame(bytes.subarray(0, length)), `length ${length}`).toThrow(InvalidFrameError);
    }
  });

  it('refuses bad magic, version, kind, flags, body and trailing bytes', () => {
    const corrupt = (at: number, value: number) => {
      const bytes = encodeFrame(sample);
      bytes[at] = value;
      return bytes;
    };
    for (const [at, value] of [[0, 0], [1, 9], [2, 7], [3, 1], [14, 0xff]] as const) {
      expect(() => decodeFrame(corrupt(at, value)), `byte ${at}`).toThrow(InvalidFrameError);
    }
    const notJson = encodeFrame({ ...sample, body: {}, blobs: [] });
    notJson[notJson.byteLength - 1] = 0x7b;
    expect(() => decodeFrame(notJson)).toThrow(/not UTF-8 JSON/);
    const extended = new Uint8Array(encodeFrame(sample).byteLength + 1);
    extended.set(encodeFrame(sample));
    expect(() => decodeFrame(extended)).toThrow(/lengths add up/);
    expect(() => decodeFrame(encodeFrame(sample), 100)).toThrow(/limit/);
  });

  it('never throws anything but InvalidFrameError on arbitrary or mutated bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => throwsOnlyInvalidFrame(() => decodeFrame(bytes))));
    const valid = encodeFrame(sample);
    fc.assert(
      fc.property(fc.nat(valid.byteLength - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const bytes = valid.slice();
        bytes[at] = value;
        throwsOnlyInvalidFrame(() => decodeFrame(bytes));
      }),
    );
  });

  it('refuses header values that do not fit their fields', () => {
    expect(() => encodeFrame({ ...sample, apiKey: 40_000 })).toThrow(RangeError);
    expect(() => encodeFrame({ ...sample, correlationId: 2 ** 31 })).toThrow(RangeError);
  });
});

describe('frame chunking', () => {
  it('splits a frame into chunks within the size limit and reassembles it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: CHUNK_HEADER_SIZE + 1, max: 700 }), (frame, chunkBytes) => {
        const chunks = chunkFrame(frame, 9, chunkBytes);
        expect(chunks.every((chunk) => chunk.byteLength <= chunkBytes)).toBe(true);
        const assembler = new FrameAssembler(10_000);
        const results = chunks.map((chunk) => assembler.push(chunk));
        expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
        expect([...(results.at(-1) ?? [])]).toEqual([...frame]);
      }),
    );
  });

  it('reassembles consecutive frames on one channel', () => {
    const assembler = new FrameAssembler(1 << 20);
    const first = new Uint8Array(THREE_CHUNKS).fill(1);
    const second = new Uint8Array(10).fill(2);
    const out = [...chunkFrame(first, 1), ...chunkFrame(second, 2)].map((chunk) => assembler.push(chunk)).filter(Boolean);
    expect(out.map((frame) => frame?.byteLength)).toEqual([THREE_CHUNKS, 10]);
  });

  it('takes a one-chunk frame between the chunks of a larger one (urgent frames do not wait)', () => {
    const assembler = new FrameAssembler(1 << 20);
    const [a, b, c] = chunkFrame(new Uint8Array(THREE_CHUNKS).fill(1), 1) as [Uint8Array, Uint8Array, Uint8Array];
    const urgent = chunkFrame(new Uint8Array([9, 9]), 2)[0] as Uint8Array;
    const out = [a, urgent, b, urgent, c].map((chunk) => assembler.push(chunk)).filter(Boolean);
    expect(out.map((frame) => frame?.byteLength)).toEqual([2, 2, THREE_CHUNKS]);
    expect([...(out[2] as Uint8Array)].every((byte) => byte === 1)).toBe(true);
  });

  it('refuses a gap, a stray chunk, an interleaved frame and an oversized frame, then recovers', () => {
    const chunks = chunkFrame(new Uint8Array(FOUR_CHUNKS), 5);
    const gap = new FrameAssembler(1 << 20);
    gap.push(chunks[0] as Uint8Array);
    expect(() => gap.push(chunks[2] as Uint8Array)).toThrow(InvalidFrameError);
    expect(() => new FrameAssembler(1 << 20).push(chunks[1] as Uint8Array)).toThrow(InvalidFrameError);
    const interleaved = new FrameAssembler(1 << 20);
    interleaved.push(chunks[0] as Uint8Array);
    expect(() => interleaved.push(chunkFrame(new Uint8Array(FOUR_CHUNKS), 6)[0] as Uint8Array)).toThrow(/began before/);
    const small = new FrameAssembler(2 * DEFAULT_CHUNK_BYTES);
    expect(() => chunks.forEach((chunk) => small.push(chunk))).toThrow(/exceeds/);
    expect(small.push(chunkFrame(new Uint8Array([3]), 7)[0] as Uint8Array)).toEqual(new Uint8Array([3]));
  });

  it('never throws anything but InvalidFrameError on arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }), (garbage) => {
        const assembler = new FrameAssembler(1000);
        for (const chunk of garbage) throwsOnlyInvalidFrame(() => assembler.push(chunk));
      }),
    );
  });
});
