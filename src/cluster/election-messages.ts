/**
 * Messages of the controller election, as plain JSON-able objects. Every message carries
 * `epoch`: the highest controller epoch its sender has acknowledged (for COORDINATOR, the
 * epoch it claims). Peers are untrusted input: `parseElectionMessage` checks every field and
 * throws `InvalidElectionMessageError` for anything else, and ControllerElection turns that
 * into an event, never a crash.
 */
import { TabkaError } from '../errors';
import type { ClusterView } from './cluster-view';

/** Kafka's controller epoch and broker ids are int32. */
export const MAX_EPOCH = 0x7fff_ffff;
export const MAX_BROKER_ID = 0x7fff_ffff;
/** A browser cluster is a handful of tabs; a bound keeps one frame from costing much. */
export const MAX_VIEW_MEMBERS = 1024;

/** Liveness gossip, sent to every peer each heartbeat interval and on changes. */
export interface HeartbeatMessage {
  readonly type: 'HEARTBEAT';
  readonly epoch: number;
  /** The controller the sender follows; equal to the sender when it is the active controller. */
  readonly controllerId: number | null;
  readonly view: ClusterView;
  /** Sender's clock when sent; the receiver echoes it back so the sender can time a round trip. */
  readonly ts: number;
  /** The latest `ts` the sender received from the receiver, or null. */
  readonly echo: number | null;
}

/** Bully: "I am starting an election", sent to live higher ids. */
export interface ElectionRequestMessage {
  readonly type: 'ELECTION';
  readonly epoch: number;
}

/** Bully: "I am alive and higher, I will take it from here". */
export interface AnswerMessage {
  readonly type: 'ANSWER';
  readonly epoch: number;
}

/** The winner's claim to `epoch`, which needs acknowledgements from a majority of `view`. */
export interface CoordinatorMessage {
  readonly type: 'COORDINATOR';
  readonly epoch: number;
  readonly view: ClusterView;
  readonly ts: number;
}

/** A vote on a COORDINATOR claim. A broker grants at most one claim per epoch. */
export interface CoordinatorAckMessage {
  readonly type: 'COORDINATOR_ACK';
  readonly epoch: number;
  /** The claimed epoch this answers. */
  readonly candidateEpoch: number;
  readonly granted: boolean;
  /** The voter's view, so a candidate with a stale view learns the newer one. */
  readonly view: ClusterView;
  /** The claim's `ts`. */
  readonly echo: number;
  /**
   * Where the voter's metadata log ends: a new controller adopts the freshest log among its
   * voters, so nothing a majority stored is lost (see metadata-quorum.ts).
   */
  readonly logEnd: LogEnd;
}

/** The end of a metadata log: the epoch of its last entry (0 if empty) and its end offset. */
export interface LogEnd {
  readonly epoch: number;
  readonly offset: number;
}

/** A clean shutdown: the sender will not vote again until it is admitted anew. */
export interface LeaveMessage {
  readonly type: 'LEAVE';
  readonly epoch: number;
  readonly ts: number;
}

export type ElectionMessage =
  | HeartbeatMessage
  | ElectionRequestMessage
  | AnswerMessage
  | CoordinatorMessage
  | CoordinatorAckMessage
  | LeaveMessage;

export type ElectionMessageType = ElectionMessage['type'];

/** A peer sent something that is not a valid election message. */
export class InvalidElectionMessageError extends TabkaError {
  readonly code = 'INVALID_REQUEST';
  constructor(readonly reason: string) {
    super(`Invalid election message: ${reason}`);
  }
  protected override details() {
    return { reason: this.reason };
  }
}

const MESSAGE_TYPES: ReadonlySet<string> = new Set<ElectionMessageType>([
  'HEARTBEAT',
  'ELECTION',
  'ANSWER',
  'COORDINATOR',
  'COORDINATOR_ACK',
  'LEAVE',
]);

type Fields = Record<string, unknown>;

function fail(reason: string): never {
  throw new InvalidElectionMessageError(reason);
}

function int(fields: Fields, key: string, max: number): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail(`${key} must be an integer in [0, ${max}]`);
  }
  return value;
}

function time(fields: Fields, key: string): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${key} must be a finite number`);
  return value;
}

function nullable<T>(fields: Fields, key: string, read: (fields: Fields, key: string) => T): T | null {
  return fields[key] === null ? null : read(fields, key);
}

function view(fields: Fields, key: string): ClusterView {
  const value = fields[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${key} must be an object`);
  const raw = value as Fields;
  const members = raw['members'];
  if (!Array.isArray(members) || members.length > MAX_VIEW_MEMBERS) {
    fail(`${key}.members must be an array of at most ${MAX_VIEW_MEMBERS} ids`);
  }
  let previous = -1;
  for (const id of members as unknown[]) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_BROKER_ID) {
      fail(`${key}.members must hold broker ids`);
    }
    // One canonical form, so equal views compare equal and a member cannot be counted twice.
    if (id <= previous) fail(`${key}.members must be strictly ascending`);
    previous = id;
  }
  return {
    epoch: int(raw, 'epoch', MAX_EPOCH),
    seq: int(raw, 'seq', Number.MAX_SAFE_INTEGER),
    members: [...(members as number[])],
  };
}

function logEnd(fields: Fields, key: string): LogEnd {
  const value = fields[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${key} must be an object`);
  const raw = value as Fields;
  return { epoch: int(raw, 'epoch', MAX_EPOCH), offset: int(raw, 'offset', Number.MAX_SAFE_INTEGER) };
}

/**
 * Checks an untrusted value and returns a fresh message holding only the known fields.
 * Throws InvalidElectionMessageError, never anything else.
 */
export function parseElectionMessage(value: unknown): ElectionMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object');
  const fields = value as Fields;
  const type = fields['type'];
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) {
    fail(`unknown type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : typeof type}`);
  }
  const epoch = int(fields, 'epoch', MAX_EPOCH);
  switch (type as ElectionMessageType) {
    case 'HEARTBEAT':
      return {
        type: 'HEARTBEAT',
        epoch,
        controllerId: nullable(fields, 'controllerId', (f, k) => int(f, k, MAX_BROKER_ID)),
        view: view(fields, 'view'),
        ts: time(fields, 'ts'),
        echo: nullable(fields, 'echo', time),
      };
    case 'ELECTION':
      return { type: 'ELECTION', epoch };
    case 'ANSWER':
      return { type: 'ANSWER', epoch };
    case 'COORDINATOR':
      return { type: 'COORDINATOR', epoch, view: view(fields, 'view'), ts: time(fields, 'ts') };
    case 'COORDINATOR_ACK': {
      const granted = fields['granted'];
      if (typeof granted !== 'boolean') fail('granted must be a boolean');
      return {
        type: 'COORDINATOR_ACK',
        epoch,
        candidateEpoch: int(fields, 'candidateEpoch', MAX_EPOCH),
        granted,
        view: view(fields, 'view'),
        echo: time(fields, 'echo'),
        logEnd: logEnd(fields, 'logEnd'),
      };
    }
    case 'LEAVE':
      return { type: 'LEAVE', epoch, ts: time(fields, 'ts') };
  }
}
