/**
 * Messages that replicate the metadata log (KRaft's Fetch, as plain JSON-able objects).
 * Followers pull: FETCH says where the follower's log ends (offset, and the epoch of the entry
 * just before it, so the controller can spot a divergent suffix); FETCH_RESPONSE carries
 * entries, a divergence to truncate to, or an error. Peers are untrusted input: the parser
 * checks every field, records included, and throws InvalidQuorumMessageError for anything else.
 */
import { InvalidMetadataRecordError, TabkaError } from '../errors';
import { MAX_BROKER_ID, MAX_EPOCH } from './election-messages';
import type { LogEnd } from './election-messages';
import { parseMetadataRecord } from './metadata-records';
import type { MetadataRecord } from './metadata-records';

/** One entry of the metadata log: a record and the controller epoch that wrote it. */
export interface MetadataEntry {
  readonly epoch: number;
  readonly record: MetadataRecord;
}

/**
 * Which founding a log descends from: its first entry, the founding controller's LeaderChange.
 * A broker founds a cluster at most once, so two logs with different origins share no history
 * (two clusters founded apart); epochs alone cannot tell them apart, as both start at epoch 1.
 * Null for an empty log.
 */
export interface LogOrigin {
  readonly epoch: number;
  readonly controllerId: number;
}

/** More entries than this in one response is refused: it bounds what a peer can make us parse. */
export const MAX_FETCH_ENTRIES = 1000;

export interface FetchMessage {
  readonly type: 'FETCH';
  /** The controller epoch the fetcher follows. */
  readonly epoch: number;
  /** The fetcher's log end: the first offset it wants. */
  readonly offset: number;
  /** Epoch of the fetcher's entry at offset - 1 (0 when offset is 0). */
  readonly lastEpoch: number;
  /** The fetcher's high watermark: the controller answers at once when it knows a higher one. */
  readonly highWatermark: number;
  /** A new controller collecting the freshest log from a voter: answer now, from any role. */
  readonly recovery: boolean;
  /** The fetcher's log origin: a log of another founding matches nowhere, whatever its epochs. */
  readonly origin: LogOrigin | null;
}

export type FetchError = 'notController' | 'notReady';

export interface FetchResponseMessage {
  readonly type: 'FETCH_RESPONSE';
  /** The responder's controller epoch. */
  readonly epoch: number;
  /** The FETCH's offset, echoed: the offset of the first entry. */
  readonly offset: number;
  readonly highWatermark: number;
  readonly entries: readonly MetadataEntry[];
  /** Set when the fetcher's log diverges: truncate to at most this end, then fetch again. */
  readonly diverging: LogEnd | null;
  readonly error: FetchError | null;
  /** The responder's log origin: a fetcher whose log has another one replaces its log with this one. */
  readonly origin: LogOrigin | null;
}

export type QuorumMessage = FetchMessage | FetchResponseMessage;

export class InvalidQuorumMessageError extends TabkaError {
  readonly code = 'INVALID_REQUEST';
  constructor(readonly reason: string) {
    super(`Invalid metadata quorum message: ${reason}`);
  }
  protected override details() {
    return { reason: this.reason };
  }
}

type Fields = Record<string, unknown>;

function fail(reason: string): never {
  throw new InvalidQuorumMessageError(reason);
}

function object(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Fields;
}

function int(fields: Fields, key: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail(`${key} must be an integer in [0, ${max}]`);
  }
  return value;
}

function entries(value: unknown): MetadataEntry[] {
  if (!Array.isArray(value) || value.length > MAX_FETCH_ENTRIES) fail(`entries must be an array of at most ${MAX_FETCH_ENTRIES}`);
  let previousEpoch = 0;
  return value.map((raw: unknown) => {
    const entry = object(raw, 'entry');
    const epoch = int(entry, 'epoch', MAX_EPOCH);
    // A log's epochs never go back: a response that says otherwise is not a log.
    if (epoch < previousEpoch) fail('entry epochs go back');
    previousEpoch = epoch;
    try {
      return { epoch, record: parseMetadataRecord(entry['record']) };
    } catch (error) {
      if (error instanceof InvalidMetadataRecordError) fail(error.message);
      throw error;
    }
  });
}

function origin(value: unknown): LogOrigin | null {
  if (value === null) return null;
  const fields = object(value, 'origin');
  return { epoch: int(fields, 'epoch', MAX_EPOCH), controllerId: int(fields, 'controllerId', MAX_BROKER_ID) };
}

/** Checks an untrusted value; throws InvalidQuorumMessageError, never anything else. */
export function parseQuorumMessage(value: unknown): QuorumMessage {
  const fields = object(value, 'message');
  const epoch = int(fields, 'epoch', MAX_EPOCH);
  switch (fields['type']) {
    case 'FETCH': {
      const recovery = fields['recovery'];
      if (typeof recovery !== 'boolean') fail('recovery must be a boolean');
      return {
        type: 'FETCH',
        epoch,
        offset: int(fields, 'offset'),
        lastEpoch: int(fields, 'lastEpoch', MAX_EPOCH),
        highWatermark: int(fields, 'highWatermark'),
        recovery,
        origin: origin(fields['origin']),
      };
    }
    case 'FETCH_RESPONSE': {
      const error = fields['error'];
      if (error !== null && error !== 'notController' && error !== 'notReady') fail('unknown error');
      const diverging = fields['diverging'] === null ? null : object(fields['diverging'], 'diverging');
      return {
        type: 'FETCH_RESPONSE',
        epoch,
        offset: int(fields, 'offset'),
        highWatermark: int(fields, 'highWatermark'),
        entries: entries(fields['entries']),
        diverging: diverging === null ? null : { epoch: int(diverging, 'epoch', MAX_EPOCH), offset: int(diverging, 'offset') },
        error,
        origin: origin(fields['origin']),
      };
    }
    default:
      fail('unknown type');
  }
}
