import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { ClientOptions } from 'ws';
import { CloseCode, ErrorCode } from '../../src/signaling/close-codes';
import { deriveRoomToken } from '../../src/signaling/room-token';
import { SIGNALING_PROTOCOL_VERSION } from '../../src/signaling/signaling-protocol';
import type { ServerMessage } from '../../src/signaling/signaling-protocol';
import { createSignalingServer } from '../../src/signaling/signaling-server';
import type { SignalingServer, SignalingServerOptions } from '../../src/signaling/signaling-server';
import { within } from '../support/within';

// Real sockets against a real server on 127.0.0.1. Waits are for events, with generous
// timeouts that only turn a hang into a readable failure.

const SECRET = 'test-secret';


interface Closed {
  code: number;
  reason: string;
}

/** A bare protocol speaker, so tests can send what no well-behaved client would. */
class RawPeer {
  private readonly queue: ServerMessage[] = [];
  private readonly waiters: Array<(message: ServerMessage) => void> = [];
  readonly closed: Promise<Closed>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.queue.push(message);
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static open(url: string, options?: ClientOptions): Promise<RawPeer> {
    const ws = new WebSocket(url, options);
    peers.push(ws);
    return within(
      new Promise((resolve, reject) => {
        ws.once('open', () => resolve(new RawPeer(ws)));
        ws.once('error', reject);
      }),
      `open ${url}`,
    );
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  next(): Promise<ServerMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return within(new Promise((resolve) => this.waiters.push(resolve)), 'a server message');
  }

  async join(room: string, brokerId: number, secret = SECRET): Promise<ServerMessage> {
    const token = await deriveRoomToken(secret, room);
    this.send({ type: 'join', version: SIGNALING_PROTOCOL_VERSION, room, brokerId, token });
    return this.next();
  }

  closedWith(): Promise<Closed> {
    return within(this.closed, 'the socket to close');
  }
}

const peers: WebSocket[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const ws of peers.splice(0)) ws.terminate();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

type ServerOverrides = Partial<Omit<SignalingServerOptions, 'server' | 'port' | 'host'>>;

async function startServer(overrides: ServerOverrides = {}): Promise<{ server: SignalingServer; url: string }> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', secret: SECRET, ...overrides });
  cleanups.push(() => server.close());
  return { server, url: `ws://127.0.0.1:${server.port}/` };
}

async function joined(url: string, room: string, brokerId: number): Promise<RawPeer> {
  const peer = await RawPeer.open(url);
  const welcome = await peer.join(room, brokerId);
  expect(welcome).toMatchObject({ type: 'welcome', brokerId });
  return peer;
}

/** Proves the server still relays: a fresh pair in a fresh room exchanges a signal. */
async function expectServerStillRelays(url: string): Promise<void> {
  const room = `alive-${Math.random().toString(36).slice(2)}`;
  const a = await joined(url, room, 1);
  const b = await joined(url, room, 2);
  expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
  a.send({ type: 'signal', to: 2, data: { type: 'offer', sdp: 'v=0' } });
  expect(await b.next()).toEqual({ type: 'signal', from: 1, data: { type: 'offer', sdp: 'v=0' } });
}

describe('signaling server: membership', () => {
  it('welcomes each joiner with the brokers already in the room', async () => {
    const { url } = await startServer();
    const a = await RawPeer.open(url);
    expect(await a.join('r', 7)).toEqual({ type: 'welcome', brokerId: 7, peers: [] });
    const b = await RawPeer.open(url);
    expect(await b.join('r', 3)).toEqual({ type: 'welcome', brokerId: 3, peers: [7] });
    const c = await RawPeer.open(url);
    const welcome = await c.join('r', 12);
    expect(welcome.type === 'welcome' && [...welcome.peers].sort((x, y) => x - y)).toEqual([3, 7]);
  });

  it('tells members when a broker joins and leaves, and drops empty rooms', async () => {
    const { server, url } = await startServer();
    const a = await joined(url, 'r', 1);
    const b = await joined(url, 'r', 2);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1, 2] }]);

    b.ws.close();
    expect(await a.next()).toEqual({ type: 'peer-left', brokerId: 2 });
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1] }]);

    a.send({ type: 'leave' });
    expect(await a.closedWith()).toEqual({ code: CloseCode.NORMAL, reason: 'left' });
    expect(server.stats().rooms).toEqual([]);
  });

  it('lets a broker id be reused once its holder has left', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'r', 1);
    const first = await joined(url, 'r', 2);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    first.ws.close();
    expect(await a.next()).toEqual({ type: 'peer-left', brokerId: 2 });
    const again = await RawPeer.open(url);
    expect(await again.join('r', 2)).toEqual({ type: 'welcome', brokerId: 2, peers: [1] });
  });
});

describe('signaling server: relay', () => {
  it('relays a signal to the addressed member of the same room only', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'one', 1);
    const b = await joined(url, 'one', 2);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    // Broker 2 also exists in another room: the relay must not cross over.
    const otherB = await joined(url, 'two', 2);
    const otherC = await joined(url, 'two', 3);
    expect(await otherB.next()).toEqual({ type: 'peer-joined', brokerId: 3 });

    const candidate = { candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' } };
    a.send({ type: 'signal', to: 2, data: candidate });
    expect(await b.next()).toEqual({ type: 'signal', from: 1, data: candidate });

    // Broker 3 lives only in room two: from room one it is unknown.
    a.send({ type: 'signal', to: 3, data: { x: 1 } });
    expect(await a.next()).toEqual({ type: 'error', code: ErrorCode.UNKNOWN_PEER, message: 'broker 3 is not in the room' });

    // The server has handled both of a's signals; anything misrouted would arrive before these.
    otherC.send({ type: 'signal', to: 2, data: { marker: true } });
    expect(await otherB.next()).toEqual({ type: 'signal', from: 3, data: { marker: true } });
    otherB.send({ type: 'signal', to: 3, data: { marker: true } });
    expect(await otherC.next()).toEqual({ type: 'signal', from: 2, data: { marker: true } });
  });

  it('answers a signal to itself or a departed peer with an error and keeps the connection', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'r', 1);
    const b = await joined(url, 'r', 2);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    a.send({ type: 'signal', to: 1, data: {} });
    expect(await a.next()).toMatchObject({ type: 'error', code: ErrorCode.UNKNOWN_PEER });
    a.send({ type: 'signal', to: 99, data: {} });
    expect(await a.next()).toMatchObject({ type: 'error', code: ErrorCode.UNKNOWN_PEER });
    a.send({ type: 'signal', to: 2, data: { still: 'open' } });
    expect(await b.next()).toEqual({ type: 'signal', from: 1, data: { still: 'open' } });
  });
});

describe('signaling server: admission', () => {
  it('closes a join with the wrong token with 4001 and never lists it', async () => {
    const { server, url } = await startServer();
    const a = await joined(url, 'r', 1);
    const intruder = await RawPeer.open(url);
    const token = await deriveRoomToken('wrong-secret', 'r');
    intruder.send({ type: 'join', version: SIGNALING_PROTOCOL_VERSION, room: 'r', brokerId: 2, token });
    expect(await intruder.closedWith()).toEqual({ code: CloseCode.BAD_TOKEN, reason: 'bad token' });
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1] }]);
    // A token for another room does not open this one either.
    const replay = await RawPeer.open(url);
    replay.send({ type: 'join', version: SIGNALING_PROTOCOL_VERSION, room: 'r', brokerId: 3, token: await deriveRoomToken(SECRET, 'q') });
    expect((await replay.closedWith()).code).toBe(CloseCode.BAD_TOKEN);
    // The first message a member hears is about a broker that did get in.
    await joined(url, 'r', 4);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 4 });
  });

  it('checks tokens per room with secretFor, refusing rooms it has no secret for', async () => {
    const secrets: Record<string, string> = { blue: 'blue-secret', green: 'green-secret' };
    const { url } = await startServer({ secret: undefined, secretFor: (room) => secrets[room] });
    const blue = await RawPeer.open(url);
    expect(await blue.join('blue', 1, 'blue-secret')).toEqual({ type: 'welcome', brokerId: 1, peers: [] });
    const crossed = await RawPeer.open(url);
    crossed.send({ type: 'join', version: 1, room: 'green', brokerId: 1, token: await deriveRoomToken('blue-secret', 'green') });
    expect((await crossed.closedWith()).code).toBe(CloseCode.BAD_TOKEN);
    const unknown = await RawPeer.open(url);
    unknown.send({ type: 'join', version: 1, room: 'red', brokerId: 1, token: await deriveRoomToken('blue-secret', 'red') });
    expect((await unknown.closedWith()).code).toBe(CloseCode.BAD_TOKEN);
  });

  it('refuses a broker id already in the room with 4005 and keeps the first holder', async () => {
    const { server, url } = await startServer();
    const a = await joined(url, 'r', 1);
    const first = await joined(url, 'r', 5);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 5 });
    const duplicate = await RawPeer.open(url);
    duplicate.send({ type: 'join', version: 1, room: 'r', brokerId: 5, token: await deriveRoomToken(SECRET, 'r') });
    const closed = await duplicate.closedWith();
    expect(closed.code).toBe(CloseCode.DUPLICATE_BROKER_ID);
    expect(closed.reason).toContain('broker id 5');
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1, 5] }]);
    a.send({ type: 'signal', to: 5, data: { n: 1 } });
    expect(await first.next()).toEqual({ type: 'signal', from: 1, data: { n: 1 } });
  });

  it('refuses joins past maxPeersPerRoom with 4003, and admits again after a leave', async () => {
    const { url } = await startServer({ maxPeersPerRoom: 2 });
    const a = await joined(url, 'r', 1);
    const b = await joined(url, 'r', 2);
    const third = await RawPeer.open(url);
    third.send({ type: 'join', version: 1, room: 'r', brokerId: 3, token: await deriveRoomToken(SECRET, 'r') });
    expect((await third.closedWith()).code).toBe(CloseCode.ROOM_FULL);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    b.ws.close();
    expect(await a.next()).toEqual({ type: 'peer-left', brokerId: 2 });
    await joined(url, 'r', 3);
  });

  it('refuses new rooms past maxRooms with 4004, and frees the slot of an emptied room', async () => {
    const { url } = await startServer({ maxRooms: 1 });
    const a = await joined(url, 'first', 1);
    const other = await RawPeer.open(url);
    other.send({ type: 'join', version: 1, room: 'second', brokerId: 1, token: await deriveRoomToken(SECRET, 'second') });
    expect((await other.closedWith()).code).toBe(CloseCode.TOO_MANY_ROOMS);
    // Joining the existing room is not a new room.
    const b = await joined(url, 'first', 2);
    // `leave` is handled before the close frame goes out, so the room is gone once both close.
    a.send({ type: 'leave' });
    b.send({ type: 'leave' });
    await a.closedWith();
    await b.closedWith();
    const c = await RawPeer.open(url);
    expect(await c.join('second', 1)).toEqual({ type: 'welcome', brokerId: 1, peers: [] });
  });

  it('closes a socket that does not join in time with 4006, but not a joined one', async () => {
    const { server, url } = await startServer({ joinTimeoutMs: 200 });
    const member = await joined(url, 'r', 1);
    // Opened after the member joined, so its timer runs out after the member's would have.
    const idle = await RawPeer.open(url);
    expect(await idle.closedWith()).toEqual({ code: CloseCode.JOIN_TIMEOUT, reason: 'no join within 200 ms' });
    expect(member.ws.readyState).toBe(WebSocket.OPEN);
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1] }]);
  });

  it('closes sockets past maxPendingSockets with 4011, counting only those not yet joined', async () => {
    const { url } = await startServer({ maxPendingSockets: 2 });
    const first = await RawPeer.open(url);
    await RawPeer.open(url);
    const third = await RawPeer.open(url);
    expect((await third.closedWith()).code).toBe(CloseCode.TOO_MANY_PENDING);
    expect(await first.join('r', 1)).toMatchObject({ type: 'welcome' });
    // first has joined, so one pending slot is free again.
    const fourth = await RawPeer.open(url);
    expect(await fourth.join('r', 2)).toEqual({ type: 'welcome', brokerId: 2, peers: [1] });
  });

  it('closes a member that stops answering pings with 4010 and tells the room', async () => {
    const { server, url } = await startServer({ heartbeatIntervalMs: 50 });
    const a = await joined(url, 'r', 1);
    const silent = await RawPeer.open(url, { autoPong: false });
    expect(await silent.join('r', 2)).toMatchObject({ type: 'welcome' });
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    expect(await a.next()).toEqual({ type: 'peer-left', brokerId: 2 });
    expect((await silent.closedWith()).code).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [1] }]);
  });
});

describe('signaling server: hostile input', () => {
  const token = () => deriveRoomToken(SECRET, 'r');
  const cases: Array<{ name: string; message: (token: string) => unknown; code: number }> = [
    { name: 'not JSON', message: () => '{"type":"join",', code: CloseCode.MALFORMED_MESSAGE },
    { name: 'a JSON array', message: () => '[1,2]', code: CloseCode.MALFORMED_MESSAGE },
    { name: 'an unknown type', message: () => ({ type: 'subscribe' }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'broker id 0', message: (t) => ({ type: 'join', version: 1, room: 'r', brokerId: 0, token: t }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'a fractional broker id', message: (t) => ({ type: 'join', version: 1, room: 'r', brokerId: 1.5, token: t }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'an unsafe broker id', message: (t) => ({ type: 'join', version: 1, room: 'r', brokerId: 2 ** 53, token: t }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'a string broker id', message: (t) => ({ type: 'join', version: 1, room: 'r', brokerId: '1', token: t }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'a room name too long', message: (t) => ({ type: 'join', version: 1, room: 'r'.repeat(129), brokerId: 1, token: t }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'an extra field', message: (t) => ({ type: 'join', version: 1, room: 'r', brokerId: 1, token: t, admin: true }), code: CloseCode.MALFORMED_MESSAGE },
    { name: 'another protocol version', message: (t) => ({ type: 'join', version: 2, room: 'r', brokerId: 1, token: t }), code: CloseCode.UNSUPPORTED_VERSION },
    { name: 'a signal before join', message: () => ({ type: 'signal', to: 1, data: {} }), code: CloseCode.PROTOCOL_VIOLATION },
    { name: 'a message over maxMessageBytes', message: () => JSON.stringify({ type: 'leave', pad: 'x'.repeat(1100) }), code: CloseCode.MESSAGE_TOO_LARGE },
  ];

  it.each(cases)('closes on $name with the right code and keeps serving', async ({ message, code }) => {
    const { server, url } = await startServer({ maxMessageBytes: 1024 });
    const bystander = await joined(url, 'r', 9);
    const bad = await RawPeer.open(url);
    bad.send(message(await token()));
    expect((await bad.closedWith()).code).toBe(code);
    expect(server.stats().rooms).toEqual([{ room: 'r', brokerIds: [9] }]);
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    await expectServerStillRelays(url);
  });

  it('closes a member that sends garbage, and tells the room it left', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'r', 1);
    const b = await joined(url, 'r', 2);
    expect(await a.next()).toEqual({ type: 'peer-joined', brokerId: 2 });
    b.send({ type: 'signal', to: -1, data: {} });
    expect((await b.closedWith()).code).toBe(CloseCode.MALFORMED_MESSAGE);
    expect(await a.next()).toEqual({ type: 'peer-left', brokerId: 2 });
  });

  it('closes a second join with 4009', async () => {
    const { url } = await startServer();
    const a = await joined(url, 'r', 1);
    a.send({ type: 'join', version: 1, room: 'r', brokerId: 2, token: await token() });
    expect((await a.closedWith()).code).toBe(CloseCode.PROTOCOL_VIOLATION);
  });

  it('rejects binary frames and frames past the ws payload cap, and keeps serving', async () => {
    const { url } = await startServer({ maxMessageBytes: 1024 });
    const binary = await RawPeer.open(url);
    binary.ws.send(Buffer.from('{"type":"leave"}'));
    expect((await binary.closedWith()).code).toBe(CloseCode.MALFORMED_MESSAGE);
    const huge = await RawPeer.open(url);
    huge.send('x'.repeat(10_000));
    // ws itself cuts this one off (1009) before buffering it all.
    expect((await huge.closedWith()).code).toBe(1009);
    await expectServerStillRelays(url);
  });
});

describe('signaling server: lifecycle and hosting', () => {
  it('closes every socket with 1001 on close() and stops listening', async () => {
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1', secret: SECRET });
    const url = `ws://127.0.0.1:${server.port}/`;
    const a = await joined(url, 'r', 1);
    const pending = await RawPeer.open(url);
    await within(server.close(), 'server.close()');
    expect((await a.closedWith()).code).toBe(CloseCode.GOING_AWAY);
    expect((await pending.closedWith()).code).toBe(CloseCode.GOING_AWAY);
    await expect(RawPeer.open(url)).rejects.toThrow();
  });

  it('answers plain HTTP with 426 when listening on its own port', async () => {
    const { server } = await startServer();
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(response.status).toBe(426);
  });

  it('refuses to start without a secret', async () => {
    await expect(createSignalingServer({ port: 0, secret: '' })).rejects.toThrow(TypeError);
  });

  it('attaches to an http server at its path and leaves other upgrade paths to their owners', async () => {
    const http: Server = createServer((_req, res) => res.end('app'));
    // Stands in for Vite's HMR socket: another upgrade listener on the same server.
    const other = new WebSocketServer({ noServer: true });
    http.on('upgrade', (request, socket, head) => {
      if (request.url === '/other') other.handleUpgrade(request, socket, head, (ws) => ws.send('from other'));
    });
    const signaling = await createSignalingServer({ server: http, secret: SECRET });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      other.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const base = `ws://127.0.0.1:${signaling.port}`;
    expect(signaling.port).toBeGreaterThan(0);

    const helloFromOther = async () => {
      const ws = new WebSocket(`${base}/other`);
      peers.push(ws);
      return within(new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data)))), 'the other server');
    };
    expect(await helloFromOther()).toBe('from other');
    await joined(`${base}/tabka/signal`, 'r', 1);
    expect(signaling.stats()).toEqual({ connections: 1, rooms: [{ room: 'r', brokerIds: [1] }] });

    await signaling.close();
    // The host server and its other sockets outlive the signaling server.
    expect(await helloFromOther()).toBe('from other');
    expect(await (await fetch(`http://127.0.0.1:${signaling.port}/`)).text()).toBe('app');
  });
});
