/**
 * Bodies of the data path's requests between brokers (Kafka's Produce and Fetch, one
 * partition each) and their answers. Record batches travel as frame blobs, exactly as stored.
 * A peer's body is untrusted: the parsers check shapes and bounds and throw InvalidRequestError.
 */
import { InvalidRequestError } from '../errors';
import type { FrameBody } from '../protocol/frame';
import { BATCH_HEADER_SIZE } from '../protocol/record-batch';
import type { Acks, FetchResult } from './partition';

export interface ProduceRequest {
  readonly topic: string;
  readonly partition: number;
  readonly acks: Acks;
  readonly timeoutMs: number;
}

export interface FetchRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** -1 for a consumer, else the follower's broker id. */
  readonly replicaId: number;
  /** The leader epoch the follower follows (-1: a consumer, any). */
  readonly leaderEpoch: number;
  readonly lastFetchedEpoch: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  /** A follower that takes its own batches back as headers alone (see produce-echo.ts). */
  readonly echoes: boolean;
}

export const MAX_WAIT_LIMIT_MS = 30_000;
export const MAX_FETCH_BYTES = 64 * 1024 * 1024;

function fail(reason: string): never {
  throw new InvalidRequestError(reason);
}

function int(body: FrameBody, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = body[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(`${key} must be an integer in [${min}, ${max}]`);
  return value;
}

function topic(body: FrameBody): string {
  const value = body['topic'];
  if (typeof value !== 'string' || value.length === 0 || value.length > 249) fail('topic must be a topic name');
  return value;
}

export function parseProduceRequest(body: FrameBody): ProduceRequest {
  const acks = body['acks'];
  if (acks !== 0 && acks !== 1 && acks !== -1) fail('acks must be 0, 1 or -1');
  return { topic: topic(body), partition: int(body, 'partition', 0), acks, timeoutMs: int(body, 'timeoutMs', 0, 10 * 60_000) };
}

/** A request about one partition (Kafka's ListOffsets, here for log start, high watermark and log end). */
export function parsePartitionRequest(body: FrameBody): { topic: string; partition: number } {
  return { topic: topic(body), partition: int(body, 'partition', 0) };
}

/** Kafka's DeleteRecords for one partition: delete before `offset`, -1 meaning the high watermark. */
export function parseDeleteRecordsRequest(body: FrameBody): { topic: string; partition: number; offset: number } {
  return { ...parsePartitionRequest(body), offset: int(body, 'offset', -1) };
}

export function parseFetchRequest(body: FrameBody): FetchRequest {
  return {
    topic: topic(body),
    partition: int(body, 'partition', 0),
    offset: int(body, 'offset', 0),
    replicaId: int(body, 'replicaId', -1),
    leaderEpoch: int(body, 'leaderEpoch', -1),
    lastFetchedEpoch: int(body, 'lastFetchedEpoch', -1),
    maxWaitMs: int(body, 'maxWaitMs', 0, MAX_WAIT_LIMIT_MS),
    maxBytes: int(body, 'maxBytes', 1, MAX_FETCH_BYTES),
    echoes: body['echoes'] === true,
  };
}

export interface ProduceResponse {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logEndOffset: number;
}

export function parseProduceResponse(body: FrameBody): ProduceResponse {
  return { baseOffset: int(body, 'baseOffset', -1), lastOffset: int(body, 'lastOffset', -1), logEndOffset: int(body, 'logEndOffset', 0) };
}

export function fetchResponseBody(result: FetchResult): FrameBody {
  return {
    highWatermark: result.highWatermark,
    logStartOffset: result.logStartOffset,
    logEndOffset: result.logEndOffset,
    divergingEpoch: result.divergingEpoch,
  };
}

export function parseFetchResponse(body: FrameBody, blobs: readonly Uint8Array[]): FetchResult {
  const diverging = body['divergingEpoch'];
  let divergingEpoch: FetchResult['divergingEpoch'] = null;
  if (diverging !== null) {
    if (typeof diverging !== 'object' || diverging === undefined) fail('divergingEpoch must be an object or null');
    const raw = diverging as FrameBody;
    divergingEpoch = { epoch: int(raw, 'epoch', -1), endOffset: int(raw, 'endOffset', -1) };
  }
  return {
    highWatermark: int(body, 'highWatermark', 0),
    logStartOffset: int(body, 'logStartOffset', 0),
    logEndOffset: int(body, 'logEndOffset', 0),
    divergingEpoch,
    batches: [...blobs],
  };
}

/**
 * Which of a fetch answer's blobs are a batch header alone (the follower's own batch, echoed):
 * strictly increasing indices of blobs exactly one header long.
 */
export function parseFetchEchoes(body: FrameBody, blobs: readonly Uint8Array[]): number[] {
  const echoes = body['echoes'];
  if (echoes === undefined) return [];
  if (!Array.isArray(echoes) || echoes.length > blobs.length) fail('echoes must be a list of blob indices');
  let previous = -1;
  for (const index of echoes as unknown[]) {
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index <= previous || index >= blobs.length) fail('echoes must be increasing blob indices');
    if (blobs[index]!.byteLength !== BATCH_HEADER_SIZE) fail(`echoed blob ${index} is not a batch header`);
    previous = index;
  }
  return echoes as number[];
}

export interface PartitionOffsets {
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

export function parsePartitionOffsets(body: FrameBody): PartitionOffsets {
  return { logStartOffset: int(body, 'logStartOffset', 0), highWatermark: int(body, 'highWatermark', 0), logEndOffset: int(body, 'logEndOffset', 0) };
}
