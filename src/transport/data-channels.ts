import { InvalidFrameError } from '../errors';
import { ChannelLink } from './channel-link';
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
  /** The peer sent what no well-behaved broker sends; its page should hang up on it. */
  readonly onMisbehaving: (from: number, reason: string) => void;
}

/** Frames a peer may send before its page has vouched for it; more is misbehaviour. */
const MAX_FRAMES_BEFORE_UP = 256;

interface PeerChannel {
  readonly channel: WorkerDataChannel;
  readonly link: ChannelLink;
  up: boolean;
  early: Uint8Array[];
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

  /** A new connection's channel; replaces (and closes) any earlier one to the same broker. */
  attach(brokerId: number, channel: WorkerDataChannel): void {
    this.detach(brokerId);
    const peer: PeerChannel = { channel, link: new ChannelLink(() => channel, this.options), up: false, early: [] };
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (event) => this.receive(brokerId, peer, event.data);
    // A connection refused before it was up never gets a peer-down from the page.
    channel.addEventListener('close', () => {
      if (!peer.up && this.peers.get(brokerId) === peer) this.detach(brokerId);
    });
    this.peers.set(brokerId, peer);
  }

  /** The page authenticated this broker: its held frames, then everything, go to the broker. */
  up(brokerId: number): void {
    const peer = this.peers.get(brokerId);
    if (!peer || peer.up) return;
    peer.up = true;
    const early = peer.early;
    peer.early = [];
    for (const bytes of early) if (this.peers.get(brokerId) === peer) this.options.onFrame(brokerId, bytes);
  }

  /** The connection is gone (or refused): forget its channel. */
  detach(brokerId: number): void {
    const peer = this.peers.get(brokerId);
    if (!peer) return;
    this.peers.delete(brokerId);
    peer.link.close();
    peer.channel.onmessage = null;
    try {
      peer.channel.close();
    } catch {
      // already closed
    }
  }

  send(to: number, frame: Uint8Array): Promise<void> {
    const peer = this.peers.get(to);
    if (!peer?.up) return Promise.reject(new Error(`no open data channel to broker ${to}`));
    return peer.link.send(frame);
  }

  close(): void {
    for (const brokerId of [...this.peers.keys()]) this.detach(brokerId);
  }

  private receive(brokerId: number, peer: PeerChannel, data: unknown): void {
    if (this.peers.get(brokerId) !== peer) return;
    let frame: Uint8Array | undefined;
    try {
      if (!(data instanceof ArrayBuffer)) throw new InvalidFrameError('a text message on a binary channel');
      frame = peer.link.receive(new Uint8Array(data));
    } catch (error) {
      this.misbehaved(brokerId, error instanceof InvalidFrameError ? error.message : 'malformed chunk');
      return;
    }
    if (!frame) return;
    if (peer.up) this.options.onFrame(brokerId, frame);
    else if (peer.early.push(frame) > MAX_FRAMES_BEFORE_UP) this.misbehaved(brokerId, 'too many frames before authentication');
  }

  private misbehaved(brokerId: number, reason: string): void {
    this.detach(brokerId);
    this.options.onMisbehaving(brokerId, reason);
  }
}
