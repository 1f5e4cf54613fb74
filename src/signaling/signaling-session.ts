import { timingSafeEqual } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { SignalingProtocolError } from '../errors';
import { CloseCode, ErrorCode, truncateCloseReason } from './close-codes';
import { encodeMessage, parseClientMessage } from './signaling-protocol';
import type { JoinMessage, ServerMessage, SignalToMessage } from './signaling-protocol';
import type { RoomMember, Rooms } from './signaling-rooms';

export interface SessionContext {
  rooms: Rooms<Session>;
  maxMessageBytes: number;
  joinTimeoutMs: number;
  /** The token a join to this room must carry, or undefined when the room is not served. */
  expectedToken(room: string): string | undefined;
  log(line: string): void;
  ended(session: Session): void;
}

/**
 * One socket's life on the server: waiting for `join`, then a room member relaying signals,
 * then gone. Every fault ends in a close code; nothing a client sends can throw out of here.
 */
export class Session implements RoomMember {
  private joinedRoom: string | undefined;
  private id = 0;
  private finished = false;
  private readonly joinTimer: ReturnType<typeof setTimeout>;
  /** Cleared by each heartbeat, set again by the pong. */
  alive = true;

  constructor(
    private readonly socket: WebSocket,
    private readonly context: SessionContext,
  ) {
    this.joinTimer = setTimeout(
      () => this.reject(CloseCode.JOIN_TIMEOUT, `no join within ${context.joinTimeoutMs} ms`),
      context.joinTimeoutMs,
    );
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('pong', () => (this.alive = true));
    // ws emits 'error' for protocol faults (oversized frame, bad UTF-8); unheard, it would crash.
    socket.on('error', (error) => context.log(`socket error: ${error.message}`));
    socket.on('close', () => this.end());
  }

  get brokerId(): number {
    return this.id;
  }

  get room(): string | undefined {
    return this.joinedRoom;
  }

  send(message: ServerMessage): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(encodeMessage(message));
  }

  /** Leaves the room at once (peers hear now, not after a close handshake), then closes. */
  reject(code: number, reason: string): void {
    if (!this.finished) this.context.log(`closing ${this.describe()}: ${code} ${reason}`);
    this.end();
    this.socket.close(code, truncateCloseReason(reason));
  }

  terminate(): void {
    this.end();
    this.socket.terminate();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.finished) return;
    try {
      if (isBinary) return this.reject(CloseCode.MALFORMED_MESSAGE, 'binary frames are not accepted');
      const bytes = byteLength(data);
      if (bytes > this.context.maxMessageBytes) {
        return this.reject(CloseCode.MESSAGE_TOO_LARGE, `message of ${bytes} bytes exceeds ${this.context.maxMessageBytes}`);
      }
      const message = parseClientMessage(rawText(data), { maxBytes: this.context.maxMessageBytes });
      if (message.type === 'join') return this.join(message);
      if (message.type === 'signal') return this.relay(message);
      return this.reject(CloseCode.NORMAL, 'left');
    } catch (error) {
      if (error instanceof SignalingProtocolError) return this.reject(error.closeCode, error.reason);
      this.context.log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.reject(1011, 'internal server error');
    }
  }

  private join(message: JoinMessage): void {
    if (this.joinedRoom !== undefined) return this.reject(CloseCode.PROTOCOL_VIOLATION, 'already joined');
    const expected = this.context.expectedToken(message.room);
    // Unknown room and wrong secret look the same, so a prober learns nothing about rooms.
    if (expected === undefined || !sameToken(message.token, expected)) return this.reject(CloseCode.BAD_TOKEN, 'bad token');
    this.id = message.brokerId;
    const admission = this.context.rooms.admit(message.room, this);
    if (!admission.ok) return this.reject(admission.closeCode, admission.reason);
    this.joinedRoom = message.room;
    clearTimeout(this.joinTimer);
    this.send({ type: 'welcome', brokerId: this.id, peers: admission.peers });
    this.context.log(`broker ${this.id} joined room ${message.room}`);
  }

  private relay(message: SignalToMessage): void {
    if (this.joinedRoom === undefined) return this.reject(CloseCode.PROTOCOL_VIOLATION, 'signal before join');
    const target = message.to === this.id ? undefined : this.context.rooms.find(this.joinedRoom, message.to);
    // A peer leaving while a signal is in flight is normal, so this does not end the session.
    if (!target) return this.send({ type: 'error', code: ErrorCode.UNKNOWN_PEER, message: `broker ${message.to} is not in the room` });
    target.send({ type: 'signal', from: this.id, data: message.data });
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.joinTimer);
    if (this.joinedRoom !== undefined) {
      this.context.rooms.remove(this.joinedRoom, this);
      this.context.log(`broker ${this.id} left room ${this.joinedRoom}`);
    }
    this.context.ended(this);
  }

  private describe(): string {
    return this.joinedRoom === undefined ? 'unjoined socket' : `broker ${this.id} in room ${this.joinedRoom}`;
  }
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Token length is public (a SHA-256 MAC is always 43 chars), so the early return leaks nothing.
  return a.length === b.length && timingSafeEqual(a, b);
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  return data.byteLength;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}
