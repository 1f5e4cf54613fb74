import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { SignalingConnectionError, SignalingProtocolError } from '../../src/errors';
import { CloseCode, ErrorCode } from '../../src/signaling/close-codes';
import { SignalingClient } from '../../src/signaling/signaling-client';
import type { SignalingClientOptions } from '../../src/signaling/signaling-client';
import { createSignalingServer } from '../../src/signaling/signaling-server';
import type { SignalingServer } from '../../src/signaling/signaling-server';
import { within } from '../support/within';

// SignalingClient in Node, on ws's WebSocket, against real servers on 127.0.0.1.

const SECRET = 'client-test-secret';


const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: { maxPeersPerRoom?: number } = {}): Promise<{ server: SignalingServer; url: string }> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', secret: SECRET, ...options });
  cleanups.push(() => server.close());
  return { server, url: `ws://127.0.0.1:${server.port}/` };
}

async function connect(url: string, brokerId: number, overrides: Partial<SignalingClientOptions> = {}): Promise<SignalingClient> {
  const client = await within(SignalingClient.connect({ url, room: 'cluster', brokerId, secret: SECRET, WebSocket, ...overrides }), `broker ${brokerId} to connect`);
  cleanups.push(() => client.close());
  return client;
}

async function refusal(promise: Promise<unknown>): Promise<SignalingConnectionError> {
  const error = await within(promise.then(() => undefined, (e: unknown) => e), 'the refusal');
  expect(error).toBeInstanceOf(SignalingConnectionError);
  return error as SignalingConnectionError;
}

/** A server that speaks whatever the test scripts, to see how the client copes. */
async function scriptedServer(onJoin: (ws: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => ws.once('message', () => onJoin(ws)));
  cleanups.push(() => {
    for (const ws of wss.clients) ws.terminate();
    return new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const address = wss.address();
  if (typeof address !== 'object' || address === null) throw new Error('expected a TCP address');
  return `ws://127.0.0.1:${address.port}/`;
}

describe('SignalingClient', () => {
  it('connects with the peers already in the room and follows joins and leaves', async () => {
    const { url } = await startServer();
    const a = await connect(url, 10);
    expect(a.peers).toEqual([]);
    const joinedSeen = a.once('peer-joined');
    const b = await connect(url, 20);
    expect(b.peers).toEqual([10]);
    expect(await within(joinedSeen, 'peer-joined')).toEqual({ brokerId: 20 });
    expect(a.peers).toEqual([20]);

    const leftSeen = a.once('peer-left');
    const bClosed = b.once('closed');
    b.close();
    expect(await within(leftSeen, 'peer-left')).toEqual({ brokerId: 20 });
    expect(a.peers).toEqual([]);
    const closed = await within(bClosed, 'closed');
    expect(closed.code).toBe(CloseCode.NORMAL);
    expect(b.isOpen).toBe(false);
  });

  it('carries signals between two brokers both ways', async () => {
    const { url } = await startServer();
    const a = await connect(url, 1);
    const b = await connect(url, 2);
    const atB = b.once('signal');
    a.sendSignal(2, { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' });
    expect(await within(atB, 'signal at b')).toEqual({ from: 1, data: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } });
    const atA = a.once('signal');
    b.sendSignal(1, { type: 'answer', sdp: 'v=0' });
    expect(await within(atA, 'signal at a')).toEqual({ from: 2, data: { type: 'answer', sdp: 'v=0' } });
  });

  it('reports a signal to an absent broker as an error event and stays open', async () => {
    const { url } = await startServer();
    const a = await connect(url, 1);
    const error = a.once('error');
    a.sendSignal(77, { candidate: null });
    expect(await within(error, 'error event')).toEqual({ code: ErrorCode.UNKNOWN_PEER, message: 'broker 77 is not in the room' });
    expect(a.isOpen).toBe(true);
  });

  it('refuses locally to send what the server would close the socket for', async () => {
    const { url } = await startServer();
    const a = await connect(url, 1);
    const tooBig = (() => {
      try {
        a.sendSignal(2, { sdp: 'x'.repeat(70_000) });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(tooBig).toBeInstanceOf(SignalingProtocolError);
    expect((tooBig as SignalingProtocolError).closeCode).toBe(CloseCode.MESSAGE_TOO_LARGE);
    expect(() => a.sendSignal(0, {})).toThrow(SignalingProtocolError);
    // Still connected: a real signal gets the server's answer.
    const error = a.once('error');
    a.sendSignal(2, {});
    expect((await within(error, 'error event')).code).toBe(ErrorCode.UNKNOWN_PEER);
  });

  it('rejects connect with the close code when the server refuses', async () => {
    const { server, url } = await startServer({ maxPeersPerRoom: 1 });
    const badToken = await refusal(SignalingClient.connect({ url, room: 'cluster', brokerId: 1, secret: 'nope', WebSocket }));
    expect(badToken).toMatchObject({ closeCode: CloseCode.BAD_TOKEN, reason: 'bad token', retriable: false });
    await connect(url, 1);
    const duplicate = await refusal(SignalingClient.connect({ url, room: 'cluster', brokerId: 1, secret: SECRET, WebSocket }));
    expect(duplicate.closeCode).toBe(CloseCode.DUPLICATE_BROKER_ID);
    const full = await refusal(SignalingClient.connect({ url, room: 'cluster', brokerId: 2, secret: SECRET, WebSocket }));
    expect(full).toMatchObject({ closeCode: CloseCode.ROOM_FULL, retriable: true });
    expect(server.stats().rooms).toEqual([{ room: 'cluster', brokerIds: [1] }]);
  });

  it('rejects connect with 1006 when nothing listens', async () => {
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1', secret: SECRET });
    const url = `ws://127.0.0.1:${server.port}/`;
    await server.close();
    const error = await refusal(SignalingClient.connect({ url, room: 'cluster', brokerId: 1, secret: SECRET, WebSocket }));
    expect(error).toMatchObject({ closeCode: 1006, retriable: true });
  });

  it('rejects bad arguments before connecting', async () => {
    await expect(SignalingClient.connect({ url: 'ws://127.0.0.1:1/', room: 'has space', brokerId: 1, secret: SECRET, WebSocket })).rejects.toThrow(SignalingProtocolError);
    await expect(SignalingClient.connect({ url: 'ws://127.0.0.1:1/', room: 'r', brokerId: 0, secret: SECRET, WebSocket })).rejects.toThrow(SignalingProtocolError);
  });

  it('emits closed with 1001 when the server shuts down, then refuses to send', async () => {
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1', secret: SECRET });
    const a = await connect(`ws://127.0.0.1:${server.port}/`, 1);
    const closed = a.once('closed');
    await server.close();
    const event = await within(closed, 'closed');
    expect(event).toMatchObject({ code: CloseCode.GOING_AWAY, reason: 'server shutting down' });
    expect(event.error).toBeInstanceOf(SignalingConnectionError);
    expect(() => a.sendSignal(2, {})).toThrow(SignalingConnectionError);
  });

  it('gives up with 4006 when no welcome comes', async () => {
    const url = await scriptedServer(() => {});
    const error = await refusal(SignalingClient.connect({ url, room: 'r', brokerId: 1, secret: SECRET, WebSocket, connectTimeoutMs: 100 }));
    expect(error.closeCode).toBe(CloseCode.JOIN_TIMEOUT);
  });

  it('closes with 4002 on a malformed server message', async () => {
    const url = await scriptedServer((ws) => ws.send('{"type":"welcome","brokerId":1,"peers":"all"}'));
    const error = await refusal(SignalingClient.connect({ url, room: 'r', brokerId: 1, secret: SECRET, WebSocket }));
    expect(error.closeCode).toBe(CloseCode.MALFORMED_MESSAGE);
  });

  it('closes with 4009 when the server speaks before welcoming', async () => {
    const url = await scriptedServer((ws) => ws.send('{"type":"signal","from":2,"data":{}}'));
    const error = await refusal(SignalingClient.connect({ url, room: 'r', brokerId: 1, secret: SECRET, WebSocket }));
    expect(error.closeCode).toBe(CloseCode.PROTOCOL_VIOLATION);
  });

  it('closes after welcome when the server sends garbage, emitting closed', async () => {
    let socket: WebSocket | undefined;
    const url = await scriptedServer((ws) => {
      socket = ws;
      ws.send('{"type":"welcome","brokerId":1,"peers":[2]}');
    });
    const client = await connect(url, 1, { room: 'r' });
    expect(client.peers).toEqual([2]);
    const closed = client.once('closed');
    socket?.send('not json');
    expect((await within(closed, 'closed')).code).toBe(CloseCode.MALFORMED_MESSAGE);
    expect(client.peers).toEqual([]);
  });
});
