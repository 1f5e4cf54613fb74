import { SignalingConnectionError, SignalingProtocolError } from '../errors';
import { CloseCode, truncateCloseReason } from './close-codes';
import { deriveRoomToken } from './room-token';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  SIGNALING_PROTOCOL_VERSION,
  encodeMessage,
  isBrokerId,
  isValidRoom,
  parseClientMessage,
  parseServerMessage,
} from './signaling-protocol';
import type { ClientMessage, ServerMessage, SignalData } from './signaling-protocol';
import { TypedEmitter } from './typed-emitter';

/** The part of the WebSocket API the client uses: the browser's, or `ws`'s in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SignalingClientOptions {
  /** e.g. `ws://localhost:5173/tabka/signal` */
  url: string;
  room: string;
  brokerId: number;
  /** The cluster secret; only a token derived from it is sent. */
  secret: string;
  /** Defaults to `globalThis.WebSocket`; pass `ws`'s WebSocket in Node. */
  WebSocket?: WebSocketConstructor;
  /** How long to wait for `welcome`; defaults to 10 s. */
  connectTimeoutMs?: number;
  /** Must not exceed the server's limit; defaults to the protocol default (64 KiB). */
  maxMessageBytes?: number;
}

export interface SignalingClientEvents {
  'peer-joined': { brokerId: number };
  'peer-left': { brokerId: number };
  signal: { from: number; data: SignalData };
  /** The server refused a request but kept the connection (e.g. a signal to a departed peer). */
  error: { code: number; message: string };
  /** Emitted once, however the connection ended (including `close()`). */
  closed: { code: number; reason: string; error: SignalingConnectionError };
}

const OPEN = 1;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * A tab's connection to the signaling server: joins one room as one broker, then reports
 * who comes and goes and carries WebRTC signals to and from the other brokers.
 */
export class SignalingClient extends TypedEmitter<SignalingClientEvents> {
  private readonly members = new Set<number>();
  private welcomed = false;
  private closedWith: SignalingConnectionError | undefined;
  private pending: { resolve: () => void; reject: (error: SignalingConnectionError) => void } | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    private readonly socket: WebSocketLike,
    readonly room: string,
    readonly brokerId: number,
    private readonly maxMessageBytes: number,
  ) {
    super();
  }

  /** Resolves once the server has admitted this broker; rejects with `SignalingConnectionError`. */
  static async connect(options: SignalingClientOptions): Promise<SignalingClient> {
    const { room, brokerId } = options;
    if (!isValidRoom(room)) throw new SignalingProtocolError('room must be 1-128 chars of [A-Za-z0-9._~-]');
    if (!isBrokerId(brokerId)) throw new SignalingProtocolError('brokerId must be a positive safe integer');
    const token = await deriveRoomToken(options.secret, room);
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (!WebSocketImpl) throw new TypeError('No WebSocket implementation here: pass options.WebSocket');
    const client = new SignalingClient(new WebSocketImpl(options.url), room, brokerId, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    await client.handshake({ type: 'join', version: SIGNALING_PROTOCOL_VERSION, room, brokerId, token }, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    return client;
  }

  /** The other brokers in the room right now. */
  get peers(): number[] {
    return [...this.members];
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  /**
   * Sends `data` to broker `to` through the server. Throws if the client is closed, or if the
   * message would break the protocol (the server would answer that by closing the socket).
   */
  sendSignal(to: number, data: SignalData): void {
    if (this.closedWith) throw this.closedWith;
    const text = encodeMessage({ type: 'signal', to, data });
    parseClientMessage(text, { maxBytes: this.maxMessageBytes });
    this.socket.send(text);
  }

  /** Leaves the room and closes; `closed` fires with 1000. */
  close(): void {
    if (this.closedWith) return;
    if (this.socket.readyState === OPEN) this.socket.send(encodeMessage({ type: 'leave' }));
    this.socket.close(CloseCode.NORMAL, 'client closed');
    this.finish(CloseCode.NORMAL, 'client closed');
  }

  private handshake(join: ClientMessage, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.connectTimer = setTimeout(() => this.abort(CloseCode.JOIN_TIMEOUT, `no welcome within ${timeoutMs} ms`), timeoutMs);
      this.socket.addEventListener('open', () => this.socket.send(encodeMessage(join)));
      this.socket.addEventListener('message', (event) => this.receive(event.data));
      this.socket.addEventListener('close', (event) => this.finish(event.code, event.reason));
      // An 'error' event is always followed by 'close', which carries what there is to know.
      this.socket.addEventListener('error', () => {});
    });
  }

  private receive(data: unknown): void {
    if (this.closedWith) return;
    let message: ServerMessage;
    try {
      if (typeof data !== 'string') throw new SignalingProtocolError('binary message from server');
      message = parseServerMessage(data, { maxBytes: this.maxMessageBytes });
    } catch (error) {
      if (!(error instanceof SignalingProtocolError)) throw error;
      return this.abort(CloseCode.MALFORMED_MESSAGE, `server sent ${error.reason}`);
    }
    if (message.type === 'welcome') return this.welcome(message.brokerId, message.peers);
    if (!this.welcomed) return this.abort(CloseCode.PROTOCOL_VIOLATION, `server sent ${message.type} before welcome`);
    switch (message.type) {
      case 'peer-joined':
        this.members.add(message.brokerId);
        return this.emit('peer-joined', { brokerId: message.brokerId });
      case 'peer-left':
        this.members.delete(message.brokerId);
        return this.emit('peer-left', { brokerId: message.brokerId });
      case 'signal':
        return this.emit('signal', { from: message.from, data: message.data });
      case 'error':
        return this.emit('error', { code: message.code, message: message.message });
    }
  }

  private welcome(brokerId: number, peers: number[]): void {
    if (this.welcomed || brokerId !== this.brokerId) return this.abort(CloseCode.PROTOCOL_VIOLATION, 'unexpected welcome');
    this.welcomed = true;
    for (const peer of peers) this.members.add(peer);
    clearTimeout(this.connectTimer);
    this.pending?.resolve();
    this.pending = undefined;
  }

  private abort(code: number, reason: string): void {
    this.socket.close(code, truncateCloseReason(reason));
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.closedWith) return;
    const error = new SignalingConnectionError(code, reason || (code === 1006 ? 'connection failed or dropped' : ''));
    this.closedWith = error;
    clearTimeout(this.connectTimer);
    this.members.clear();
    if (this.pending) {
      this.pending.reject(error);
      this.pending = undefined;
    } else {
      this.emit('closed', { code, reason: error.reason, error });
    }
  }
}
