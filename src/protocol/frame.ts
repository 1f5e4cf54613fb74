import { InvalidFrameError } from '../errors';

/**
 * Frames between brokers over a data channel, modelled on Kafka's request/response headers:
 * an API key, an API version and a correlation id that pairs a response with its request.
 * A frame carries a small JSON body and zero or more binary blobs, so record batches travel
 * as the same bytes they are stored as, never re-encoded. Every frame from a peer is decoded
 * with bounds checks: anything malformed is an InvalidFrameError, never a crash.
 *
 *   0 magic 0x54 'T' | 1 version 1 | 2 kind | 3 flags 0 | 4 apiKey int16 | 6 apiVersion int16
 *   8 correlationId int32 | 12 errorCode int16 | 14 bodyLength uint32 | 18 blobCount uint16
 *   20 blob lengths, uint32 each | body (UTF-8 JSON object) | blobs
 */
export const FRAME_MAGIC = 0x54;
export const FRAME_VERSION = 1;
export const FRAME_HEADER_SIZE = 20;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const MAX_BLOBS = 4096;

export enum FrameKind {
  Request = 0,
  Response = 1,
  /** One-way: heartbeats and election messages, nothing answers them. */
  Event = 2,
}

export type FrameBody = Record<string, unknown>;

export interface Frame {
  readonly kind: FrameKind;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** Kafka-style error code on responses; 0 = none. */
  readonly errorCode: number;
  readonly body: FrameBody;
  readonly blobs: readonly Uint8Array[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(frame: Frame): Uint8Array {
  checkHeaderFields(frame);
  const body = utf8.encode(JSON.stringify(frame.body));
  const blobBytes = frame.blobs.reduce((sum, blob) => sum + blob.byteLength, 0);
  const headerBytes = FRAME_HEADER_SIZE + 4 * frame.blobs.length;
  const out = new Uint8Array(headerBytes + body.byteLength + blobBytes);
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_MAGIC);
  view.setUint8(1, FRAME_VERSION);
  view.setUint8(2, frame.kind);
  view.setUint8(3, 0);
  view.setInt16(4, frame.apiKey);
  view.setInt16(6, frame.apiVersion);
  view.setInt32(8, frame.correlationId);
  view.setInt16(12, frame.errorCode);
  view.setUint32(14, body.byteLength);
  view.setUint16(18, frame.blobs.length);
  frame.blobs.forEach((blob, i) => view.setUint32(FRAME_HEADER_SIZE + 4 * i, blob.byteLength));
  out.set(body, headerBytes);
  let at = headerBytes + body.byteLength;
  for (const blob of frame.blobs) {
    out.set(blob, at);
    at += blob.byteLength;
  }
  return out;
}

/** Decodes one frame; blobs are views into `bytes` (no copies). */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Frame {
  if (bytes.byteLength < FRAME_HEADER_SIZE) throw new InvalidFrameError(`${bytes.byteLength} bytes is shorter than a frame header`);
  if (bytes.byteLength > maxFrameBytes) throw new InvalidFrameError(`${bytes.byteLength} bytes exceeds the ${maxFrameBytes}-byte limit`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== FRAME_MAGIC) throw new InvalidFrameError('bad magic byte');
  if (view.getUint8(1) !== FRAME_VERSION) throw new InvalidFrameError(`unknown frame version ${view.getUint8(1)}`);
  const kind = view.getUint8(2);
  if (!(kind in FrameKind)) throw new InvalidFrameError(`unknown frame kind ${kind}`);
  if (view.getUint8(3) !== 0) throw new InvalidFrameError('reserved flags are set');
  const bodyLength = view.getUint32(14);
  const blobCount = view.getUint16(18);
  if (blobCount > MAX_BLOBS) throw new InvalidFrameError(`${blobCount} blobs exceeds ${MAX_BLOBS}`);
  const headerBytes = FRAME_HEADER_SIZE + 4 * blobCount;
  if (headerBytes > bytes.byteLength) throw new InvalidFrameError('truncated blob table');
  const blobLengths = Array.from({ length: blobCount }, (_, i) => view.getUint32(FRAME_HEADER_SIZE + 4 * i));
  const declared = blobLengths.reduce((sum, length) => sum + length, headerBytes + bodyLength);
  if (declared !== bytes.byteLength) {
    throw new InvalidFrameError(`lengths add up to ${declared} bytes, the frame has ${bytes.byteLength}`);
  }
  const body = parseBody(bytes.subarray(headerBytes, headerBytes + bodyLength));
  let at = headerBytes + bodyLength;
  const blobs = blobLengths.map((length) => {
    const blob = bytes.subarray(at, at + length);
    at += length;
    return blob;
  });
  return {
    kind: kind as FrameKind,
    apiKey: view.getInt16(4),
    apiVersion: view.getInt16(6),
    correlationId: view.getInt32(8),
    errorCode: view.getInt16(12),
    body,
    blobs,
  };
}

function parseBody(bytes: Uint8Array): FrameBody {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8.decode(bytes));
  } catch {
    throw new InvalidFrameError('the body is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidFrameError('the body is not a JSON object');
  }
  return value as FrameBody;
}

function checkHeaderFields(frame: Frame): void {
  const int16 = (value: number) => Number.isInteger(value) && value >= -0x8000 && value <= 0x7fff;
  const int32 = (value: number) => Number.isInteger(value) && (value | 0) === value;
  if (!int16(frame.apiKey) || !int16(frame.apiVersion) || !int16(frame.errorCode) || !int32(frame.correlationId)) {
    throw new RangeError('apiKey, apiVersion and errorCode must be int16 and correlationId int32');
  }
  if (frame.blobs.length > MAX_BLOBS) throw new RangeError(`at most ${MAX_BLOBS} blobs per frame`);
}
