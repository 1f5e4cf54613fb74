import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { CloseCode } from './close-codes';
import { SIGNALING_PATH } from './dev-defaults';
import { roomTokenInput } from './room-token';
import { DEFAULT_MAX_MESSAGE_BYTES, isValidRoom } from './signaling-protocol';
import { Rooms } from './signaling-rooms';
import { Session } from './signaling-session';

/** An http(s) server to share, e.g. Vite's: only upgrades at `path` (default /tabka/signal) are taken. */
export interface UpgradeSource {
  on(event: 'upgrade', listener: UpgradeListener): unknown;
  off(event: 'upgrade', listener: UpgradeListener): unknown;
  address(): AddressInfo | string | null;
}
type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

interface CommonOptions {
  /** One secret for every room. */
  secret?: string;
  /** The secret of each room; undefined refuses the room. Takes precedence over `secret`. */
  secretFor?: (room: string) => string | undefined;
  maxRooms?: number;
  maxPeersPerRoom?: number;
  maxMessageBytes?: number;
  /** A socket that has not joined a room by then is closed with 4006. */
  joinTimeoutMs?: number;
  /** Sockets connected but not yet joined; more are closed with 4011 (they cost memory before any token check). */
  maxPendingSockets?: number;
  /** Ping period; a socket that missed the previous pong is closed with 4010. 0 disables. */
  heartbeatIntervalMs?: number;
  log?: (line: string) => void;
}
export interface ListenOptions extends CommonOptions {
  port: number;
  host?: string;
  /** When set, only this path upgrades; by default any path does. */
  path?: string;
  server?: undefined;
}
export interface AttachOptions extends CommonOptions {
  server: UpgradeSource;
  path?: string;
  port?: undefined;
  host?: undefined;
}
export type SignalingServerOptions = ListenOptions | AttachOptions;

export interface SignalingStats {
  /** Open sockets, joined or not. */
  connections: number;
  rooms: Array<{ room: string; brokerIds: number[] }>;
}

export interface SignalingServer {
  /** The port being listened on (the shared server's, when attached; 0 before it listens). */
  readonly port: number;
  stats(): SignalingStats;
  /** Closes every socket with 1001, then stops listening (an attached server is left running). */
  close(): Promise<void>;
}

const DEFAULTS = { maxRooms: 100, maxPeersPerRoom: 32, joinTimeoutMs: 10_000, maxPendingSockets: 1_000, heartbeatIntervalMs: 30_000 };
/** How long close() waits for a close handshake before dropping the socket. */
const CLOSE_GRACE_MS = 1_000;

export async function createSignalingServer(options: SignalingServerOptions): Promise<SignalingServer> {
  const expectedToken = tokenChecker(options);
  const maxMessageBytes = positive(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
  const joinTimeoutMs = positive(options.joinTimeoutMs ?? DEFAULTS.joinTimeoutMs, 'joinTimeoutMs');
  const maxPendingSockets = positive(options.maxPendingSockets ?? DEFAULTS.maxPendingSockets, 'maxPendingSockets');
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
  const log = options.log ?? (() => {});
  const rooms = new Rooms<Session>({
    maxRooms: positive(options.maxRooms ?? DEFAULTS.maxRooms, 'maxRooms'),
    maxPeersPerRoom: positive(options.maxPeersPerRoom ?? DEFAULTS.maxPeersPerRoom, 'maxPeersPerRoom'),
  });
  const sessions = new Set<Session>();
  const sockets = new Set<WebSocket>();
  // Twice the message cap: ws stops buffering there (1009), while anything in between gets
  // our own 4008 with a reason the client can show.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes * 2 });
  const context = { rooms, maxMessageBytes, joinTimeoutMs, expectedToken, log, ended: (s: Session) => sessions.delete(s) };

  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const session = new Session(socket, context);
    let pending = 0;
    for (const other of sessions) if (other.room === undefined) pending++;
    if (pending >= maxPendingSockets) return session.reject(CloseCode.TOO_MANY_PENDING, 'too many connections waiting to join');
    sessions.add(session);
  });

  const ownServer: Server | undefined = options.server === undefined ? createServer(upgradeRequired) : undefined;
  const upgradeSource: UpgradeSource = options.server ?? (ownServer as Server);
  const path = options.path ?? (options.server ? SIGNALING_PATH : undefined);
  const onUpgrade: UpgradeListener = (request, socket, head) => {
    if (path !== undefined && pathOf(request) !== path) {
      // On a shared server another listener (Vite's HMR) may own this path.
      if (ownServer) socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  upgradeSource.on('upgrade', onUpgrade);
  if (ownServer) await listen(ownServer, options.port ?? 0, options.host);

  const heartbeat =
    heartbeatIntervalMs > 0
      ? setInterval(() => {
          for (const session of sessions) {
            if (!session.alive) session.reject(CloseCode.HEARTBEAT_TIMEOUT, 'no pong to ping');
            else session.alive = false;
          }
          for (const socket of sockets) if (socket.readyState === socket.OPEN) socket.ping();
        }, heartbeatIntervalMs)
      : undefined;
  heartbeat?.unref();

  let closing: Promise<void> | undefined;
  return {
    get port() {
      const address = upgradeSource.address();
      return typeof address === 'object' && address !== null ? address.port : 0;
    },
    stats: () => ({ connections: sockets.size, rooms: rooms.snapshot() }),
    close: () =>
      (closing ??= (async () => {
        clearInterval(heartbeat);
        upgradeSource.off('upgrade', onUpgrade);
        const closed = [...sockets].map((socket) => closeWithin(socket, CLOSE_GRACE_MS));
        for (const session of [...sessions]) session.reject(CloseCode.GOING_AWAY, 'server shutting down');
        await Promise.all(closed);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        if (ownServer) await new Promise<void>((resolve) => ownServer.close(() => resolve()));
      })()),
  };
}

function tokenChecker(options: CommonOptions): (room: string) => string | undefined {
  const { secret, secretFor } = options;
  if (secretFor === undefined && (typeof secret !== 'string' || secret.length === 0)) {
    throw new TypeError('createSignalingServer needs a non-empty `secret` or a `secretFor(room)`');
  }
  return (room) => {
    if (!isValidRoom(room)) return undefined;
    const roomSecret = secretFor ? secretFor(room) : secret;
    if (!roomSecret) return undefined;
    return createHmac('sha256', roomSecret).update(roomTokenInput(room)).digest('base64url');
  };
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function pathOf(request: IncomingMessage): string {
  try {
    return new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

function upgradeRequired(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  response.end('tabka signaling server: connect with a WebSocket\n');
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeWithin(socket: WebSocket, graceMs: number): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
