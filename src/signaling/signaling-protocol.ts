import { SignalingProtocolError } from '../errors';
import { CloseCode } from './close-codes';

/**
 * JSON text messages between a tab and the signaling server. Everything that comes off the
 * wire goes through a parser here: the server faces the open internet, the client faces a
 * server it does not control, so neither trusts a field it has not checked.
 */

export const SIGNALING_PROTOCOL_VERSION = 1;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_ROOM_LENGTH = 128;
export const MAX_TOKEN_LENGTH = 128;
/** simple-peer's signals nest 3 deep at most; the cap keeps walks over hostile data short. */
export const MAX_SIGNAL_DEPTH = 8;
const MAX_ERROR_TEXT_LENGTH = 1024;
const MAX_PEERS_LISTED = 10_000;

const ROOM_PATTERN = /^[A-Za-z0-9._~-]+$/;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** An SDP offer/answer or ICE candidate as simple-peer emits it; the server never looks inside. */
export type SignalData = { [key: string]: JsonValue };

export interface JoinMessage {
  type: 'join';
  version: number;
  room: string;
  brokerId: number;
  /** `deriveRoomToken(secret, room)`: proves knowledge of the room's secret. */
  token: string;
}
export interface SignalToMessage {
  type: 'signal';
  to: number;
  data: SignalData;
}
export interface LeaveMessage {
  type: 'leave';
}
export type ClientMessage = JoinMessage | SignalToMessage | LeaveMessage;

export interface WelcomeMessage {
  type: 'welcome';
  brokerId: number;
  /** Brokers already in the room, not including the one just admitted. */
  peers: number[];
}
export interface PeerJoinedMessage {
  type: 'peer-joined';
  brokerId: number;
}
export interface PeerLeftMessage {
  type: 'peer-left';
  brokerId: number;
}
export interface SignalFromMessage {
  type: 'signal';
  from: number;
  data: SignalData;
}
/** A request failed without ending the connection (see `ErrorCode`). */
export interface ErrorMessage {
  type: 'error';
  code: number;
  message: string;
}
export type ServerMessage = WelcomeMessage | PeerJoinedMessage | PeerLeftMessage | SignalFromMessage | ErrorMessage;

export interface ParseOptions {
  /** UTF-8 size limit of the whole message; larger ones fail with close code 4008. */
  maxBytes?: number;
}

export function isBrokerId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

export function isValidRoom(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ROOM_LENGTH && ROOM_PATTERN.test(value);
}

export function parseClientMessage(raw: string, options: ParseOptions = {}): ClientMessage {
  const message = parseObject(raw, options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  switch (message.type) {
    case 'join': {
      onlyFields(message, ['type', 'version', 'room', 'brokerId', 'token']);
      const { version, room, brokerId, token } = message;
      if (!isBrokerId(version)) fail('join.version must be a positive integer');
      if (version !== SIGNALING_PROTOCOL_VERSION) {
        fail(`protocol version ${version} is not supported (server speaks ${SIGNALING_PROTOCOL_VERSION})`, CloseCode.UNSUPPORTED_VERSION);
      }
      if (!isValidRoom(room)) fail(`join.room must be 1-${MAX_ROOM_LENGTH} chars of [A-Za-z0-9._~-]`);
      if (!isBrokerId(brokerId)) fail('join.brokerId must be a positive safe integer');
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) {
        fail(`join.token must be 1-${MAX_TOKEN_LENGTH} base64url chars`);
      }
      return { type: 'join', version, room, brokerId, token };
    }
    case 'signal': {
      onlyFields(message, ['type', 'to', 'data']);
      if (!isBrokerId(message.to)) fail('signal.to must be a positive safe integer');
      return { type: 'signal', to: message.to, data: signalData(message.data) };
    }
    case 'leave':
      onlyFields(message, ['type']);
      return { type: 'leave' };
    default:
      return fail('unknown message type');
  }
}

/** The client's side: as strict about shapes, but extra fields are ignored for forward compatibility. */
export function parseServerMessage(raw: string, options: ParseOptions = {}): ServerMessage {
  const message = parseObject(raw, options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  switch (message.type) {
    case 'welcome': {
      const { brokerId, peers } = message;
      if (!isBrokerId(brokerId)) fail('welcome.brokerId must be a positive safe integer');
      if (!Array.isArray(peers) || peers.length > MAX_PEERS_LISTED || !peers.every(isBrokerId)) {
        fail('welcome.peers must be a list of broker ids');
      }
      return { type: 'welcome', brokerId, peers: [...peers] };
    }
    case 'peer-joined':
    case 'peer-left':
      if (!isBrokerId(message.brokerId)) fail(`${message.type}.brokerId must be a positive safe integer`);
      return { type: message.type, brokerId: message.brokerId };
    case 'signal':
      if (!isBrokerId(message.from)) fail('signal.from must be a positive safe integer');
      return { type: 'signal', from: message.from, data: signalData(message.data) };
    case 'error': {
      const { code, message: text } = message;
      if (typeof code !== 'number' || !Number.isSafeInteger(code)) fail('error.code must be an integer');
      if (typeof text !== 'string' || text.length > MAX_ERROR_TEXT_LENGTH) fail('error.message must be a short string');
      return { type: 'error', code, message: text };
    }
    default:
      return fail('unknown message type');
  }
}

export function encodeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

/** UTF-8 size without encoding when the length alone decides (bytes are between chars and 3×chars). */
export function exceedsBytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return new TextEncoder().encode(text).byteLength > maxBytes;
}

type Fields = Record<string, unknown>;

function fail(reason: string, closeCode: number = CloseCode.MALFORMED_MESSAGE): never {
  throw new SignalingProtocolError(reason, closeCode);
}

function parseObject(raw: string, maxBytes: number): Fields {
  if (typeof raw !== 'string') fail('not a text message');
  if (exceedsBytes(raw, maxBytes)) fail(`message exceeds ${maxBytes} bytes`, CloseCode.MESSAGE_TOO_LARGE);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    fail('not JSON');
  }
  if (!isPlainObject(value)) fail('not a JSON object');
  if (typeof value.type !== 'string') fail('missing message type');
  return value;
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyFields(message: Fields, allowed: readonly string[]): void {
  // Field names are not echoed: they are attacker-chosen and the close reason is short.
  if (Object.keys(message).some((key) => !allowed.includes(key))) fail(`unexpected field in ${String(message.type)}`);
}

function signalData(value: unknown): SignalData {
  if (!isPlainObject(value)) fail('signal.data must be a JSON object');
  checkDepth(value, 1);
  return value as SignalData;
}

function checkDepth(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_SIGNAL_DEPTH) fail(`signal.data nests deeper than ${MAX_SIGNAL_DEPTH}`);
  for (const child of Object.values(value)) checkDepth(child, depth + 1);
}
