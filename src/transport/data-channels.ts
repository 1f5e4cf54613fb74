import { InvalidFrameError } from '../errors';
import { ChannelLink, DEFAULT_MAX_FRAME_BYTES } from './channel-link';
import type { ChannelLinkOptions, FramedChannel } from './channel-link';

/** What the worker needs of a transferred RTCDataChannel, beyond what ChannelLink uses. */
export interface WorkerDataChannel extends FramedChannel {
  binaryType: BinaryType;
  onmessage: ((event: MessageEvent<unknown>) => void) | null;
  close(): void;
}

export interface DataChannelsOptions extends ChannelLinkOptions {
  /** A whole frame from an authenticated peer. */
  readonly onFrame: (from: number, bytes: Uint8Array) => void;
  /**
   * The connection `linkId` is unusable: the peer sent what no well-behaved broker sends, or
   * its data channel closed under a live connection. Its page should hang up on it.
   */
  readonly onBroken: (from: number, linkId: number, reason: string) => void;
}

/** What a peer may send before its page has vouched for it; more is misbehaviour. */
const MAX_FRAMES_BEFORE_UP = 256;
const MAX_BYTES_BEFORE_UP = DEFAULT_MAX_FRAME_BYTES;

interface PeerChannel {
  readonly linkId: number;
  readonly channel: WorkerDataChannel;
  readonly link: ChannelLink;
  up: boolean;
  early: Uint8Array[];
  earlyBytes: number;
}

/**
 * The broker worker's end of its peers' data channels, handed over by the page. A channel
 * arrives when its connection is made, before the peer is authenticated: frames on it are
 * held until the page says the peer is up (it proved the cluster secret on the same
 * connection), and dropped with it otherwise. So the page is out of the data path, and a busy
 * or hung page no longer stalls the broker, while who may talk is still decided in one place.
 */
export class DataChannels {
  private readonly peers = new Map<number, PeerChannel>();

  constructor(private readonly options: DataChannelsOptions) {}

  /** Connection `linkId`'s channel; replaces (and closes) any earlier one to the same broker. */
  attach(brokerId: number, linkId: number, channel: WorkerDataChannel): void {
    const previous = this.peers.get(brokerId);
    if (previous) this.detach(brokerId, previous.linkId);
    const link = new ChannelLink(() => channel, this.options);
    const peer: PeerChannel = { linkId, channel, link, up: false, early: [], earlyBytes: 0 };
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (event) => this.receive(brokerId, peer, event.data);
    // Under a live connection this is a broken link (its far end's worker is gone, say): have the
    // page hang up, so the two reconnect, rather than keep a connection that carries nothing.
    channel.addEventListener('close', () => {
      if (this.peers.get(brokerId) === peer) this.broken(brokerId, peer, 'its data channel closed');
    });
    this.peers.set(brokerId, peer);
  }

  /** The page authenticated connection `linkId`: its held frames, then everything, go to the broker. */
  up(brokerId: number, linkId: number): void {
    const peer = this.peers.get(brokerId);
    if (!peer || peer.linkId !== linkId || peer.up) return;
    peer.up = true;
    const early = peer.early;
    peer.early = [];
    for (const bytes of early) if (this.peers.get(brokerId) === peer) this.options.onFrame(brokerId, bytes);
  }

  /** Connection `linkId` is gone (or refused): forget its channel. True if it was up. */
  detach(brokerId: number, linkId: number): boolean {
    const peer = this.peers.get(brokerId);
    if (!peer || peer.linkId !== linkId) return false;
    this.peers.delete(brokerId);
    peer.link.close();
    peer.channel.onmessage = null;
    try {
      peer.channel.close();
    } catch {
      // already closed
    }
    return peer.up;
  }

  send(to: number, frame: Uint8Array): Promise<void> {
    const peer = this.peers.get(to);
    if (!peer?.up) return Promise.reject(new Error(`no open data channel to broker ${to}`));
    return peer.link.send(frame);
  }

  close(): void {
    for (const [brokerId, peer] of [...this.peers]) this.detach(brokerId, peer.linkId);
  }

  private receive(brokerId: number, peer: PeerChannel, data: unknown): void {
    if (this.peers.get(brokerId) !== peer) return;
    let frame: Uint8Array | undefined;
    try {
      if (!(data instanceof ArrayBuffer)) throw new InvalidFrameError('a text message on a binary channel');
      frame = peer.link.receive(new Uint8Array(data));
    } catch (error) {
      this.broken(brokerId, peer, error instanceof InvalidFrameError ? error.message : 'malformed chunk');
      return;
    }
    if (!frame) return;
    if (peer.up) {
      this.options.onFrame(brokerId, frame);
      return;
    }
    peer.early.push(frame);
    peer.earlyBytes += frame.byteLength;
    if (peer.early.length > MAX_FRAMES_BEFORE_UP || peer.earlyBytes > MAX_BYTES_BEFORE_UP) this.broken(brokerId, peer, 'too much sent before authentication');
  }

  private broken(brokerId: number, peer: PeerChannel, reason: string): void {
    this.detach(brokerId, peer.linkId);
    this.options.onBroken(brokerId, peer.linkId, reason);
  }
}
