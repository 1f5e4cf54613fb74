import { describe, expect, it } from 'vitest';
import { chunkFrame } from '../../src/transport/frame-chunker';
import { DataChannels } from '../../src/transport/data-channels';
import type { WorkerDataChannel } from '../../src/transport/data-channels';

/** An open data channel that records what is sent on it and lets a test deliver messages and close it. */
function fakeChannel() {
  const listeners = new Map<string, Set<() => void>>();
  const sent: Uint8Array[] = [];
  const channel: WorkerDataChannel & { deliver(bytes: Uint8Array | string): void; closeFromFarEnd(): void } = {
    readyState: 'open' as RTCDataChannelState,
    bufferedAmount: 0,
    bufferedAmountLowThreshold: 0,
    binaryType: 'blob',
    onmessage: null,
    send: (chunk) => void sent.push(chunk),
    addEventListener: (type, listener) => void (listeners.get(type) ?? listeners.set(type, new Set()).get(type)!).add(listener),
    removeEventListener: (type, listener) => void listeners.get(type)?.delete(listener),
    close: () => undefined,
    deliver(bytes) {
      const data = typeof bytes === 'string' ? bytes : bytes.slice().buffer;
      channel.onmessage?.({ data } as MessageEvent<unknown>);
    },
    closeFromFarEnd() {
      (channel as { readyState: RTCDataChannelState }).readyState = 'closed';
      for (const listener of listeners.get('close') ?? []) listener();
    },
  };
  return { channel, sent };
}

function setUp() {
  const frames: { from: number; bytes: number[] }[] = [];
  const broken: { from: number; linkId: number; reason: string }[] = [];
  const channels = new DataChannels({
    onFrame: (from, bytes) => frames.push({ from, bytes: [...bytes] }),
    onBroken: (from, linkId, reason) => broken.push({ from, linkId, reason }),
  });
  return { channels, frames, broken };
}

const chunk = (bytes: number[], frameId = 0) => chunkFrame(new Uint8Array(bytes), frameId)[0]!;

describe('DataChannels (the worker end of the data channels)', () => {
  it('holds a peer\'s frames until its page vouches for that very connection, then hands them over in order', async () => {
    const { channels, frames } = setUp();
    const { channel } = fakeChannel();
    channels.attach(7, 1, channel);
    channel.deliver(chunk([1], 0));
    channel.deliver(chunk([2], 1));
    channels.up(7, 2); // an up for another connection of the same peer vouches for nothing
    expect(frames).toEqual([]);
    channels.up(7, 1);
    channel.deliver(chunk([3], 2));
    expect(frames).toEqual([
      { from: 7, bytes: [1] },
      { from: 7, bytes: [2] },
      { from: 7, bytes: [3] },
    ]);
    await expect(channels.send(7, new Uint8Array([9]))).resolves.toBeUndefined();
    await expect(channels.send(8, new Uint8Array([9]))).rejects.toThrow(/no open data channel/);
  });

  it('forgets a connection refused before it was up, with whatever it sent, and a newer one replaces an older one', () => {
    const { channels, frames } = setUp();
    const first = fakeChannel();
    channels.attach(7, 1, first.channel);
    first.channel.deliver(chunk([1]));
    expect(channels.detach(7, 1)).toBe(false);
    channels.up(7, 1);
    expect(frames).toEqual([]);

    const second = fakeChannel();
    const third = fakeChannel();
    channels.attach(7, 2, second.channel);
    channels.attach(7, 3, third.channel);
    channels.up(7, 2); // the replaced connection
    second.channel.deliver(chunk([2]));
    channels.up(7, 3);
    third.channel.deliver(chunk([3]));
    expect(frames).toEqual([{ from: 7, bytes: [3] }]);
    expect(channels.detach(7, 2)).toBe(false); // a late peer-down for an old connection changes nothing
    expect(channels.detach(7, 3)).toBe(true);
  });

  it('reports a malformed chunk, a text message, too much before authentication, or a channel closing under a live connection', () => {
    const { channels, broken } = setUp();
    const a = fakeChannel();
    channels.attach(1, 11, a.channel);
    a.channel.deliver(new Uint8Array([1, 2, 3]));
    const b = fakeChannel();
    channels.attach(2, 12, b.channel);
    b.channel.deliver('hello');
    const c = fakeChannel();
    channels.attach(3, 13, c.channel);
    for (let i = 0; i <= 256; i++) c.channel.deliver(chunk([i & 0xff], i));
    const d = fakeChannel();
    channels.attach(4, 14, d.channel);
    channels.up(4, 14);
    d.channel.closeFromFarEnd();
    expect(broken).toEqual([
      { from: 1, linkId: 11, reason: 'Invalid frame: a chunk shorter than its header' },
      { from: 2, linkId: 12, reason: 'Invalid frame: a text message on a binary channel' },
      { from: 3, linkId: 13, reason: 'too much sent before authentication' },
      { from: 4, linkId: 14, reason: 'its data channel closed' },
    ]);
  });
});
