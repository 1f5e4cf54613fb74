import './node-globals';
import SimplePeer from 'simple-peer';
import { InvalidFrameError } from '../errors';
import { ApiKey } from '../protocol/api-keys';
import { FrameKind, decodeFrame, encodeFrame } from '../protocol/frame';
import { TypedEmitter } from '../signaling/typed-emitter';
import { ChannelLink } from './channel-link';
import type { ChannelLinkOptions, FramedChannel } from './channel-link';
import { PROTOCOL_VERSION, makeNonce, parseHello, parseProof, protocolMismatch, proveIdentity, sdpFingerprint, verifyIdentity } from './peer-auth';
import type { AuthContext } from './peer-auth';
import type { SignalData } from './peer-discovery';

export interface PeerLinkOptions extends ChannelLinkOptions {
  readonly cluster: string;
  readonly localId: number;
  readonly remoteId: number;
  /** Names this connection among the mesh's connections to the same peer, past and future. */
  readonly linkId: number;
  /** The lower broker id initiates, so two tabs never race two connections. */
  readonly initiator: boolean;
  readonly secretKey: CryptoKey;
  /** Carries this side's offer/answer/candidates to the peer. */
  readonly sendSignal: (data: SignalData) => void;
  readonly authTimeoutMs?: number;
}

export interface PeerLinkEvents {
  open: { remoteId: number };
  frame: { bytes: Uint8Array };
  closed: { remoteId: number; reason: string; wasOpen: boolean };
}

export type PeerLinkState = 'connecting' | 'authenticating' | 'open' | 'closed';

/** simple-peer keeps its RTCPeerConnection and data channel on these (undocumented) fields. */
interface SimplePeerInternals {
  _pc?: RTCPeerConnection;
  _channel?: RTCDataChannel;
}

const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** Frames a peer may send while its proof is being checked; more is misbehaviour. */
const MAX_QUEUED_BEFORE_AUTH = 256;

/**
 * The SCTP stream of the broker's data channel. Negotiated (both ends create it with this id,
 * no in-band handshake), so each end can hand it to its worker the moment it is created,
 * which Chromium requires of a transferred channel. simple-peer's own channel takes an id
 * from 0 up; this one is well clear of it.
 */
export const DATA_CHANNEL_ID = 64;

/**
 * One authenticated WebRTC connection to one other broker. simple-peer's channel carries the
 * authentication and the page's own frames (a tab's goodbye); a second, negotiated channel,
 * `dataChannel`, is made for the broker's worker to carry the cluster's traffic without the
 * page in between. Both are of one peer connection, one DTLS session, so proving the cluster
 * secret on the first vouches for the second. A peer that sends anything malformed, or fails
 * to prove the cluster secret, is disconnected; the broker itself never sees its bytes.
 */
export class PeerLink extends TypedEmitter<PeerLinkEvents> {
  private readonly peer: SimplePeer.Instance;
  private readonly frames: ChannelLink;
  /** For the broker's worker; transfer it at once (Chromium allows that only on creation). */
  readonly dataChannel: RTCDataChannel | undefined;
  private readonly localNonce = makeNonce();
  private remoteNonce: string | undefined;
  private queuedBeforeAuth: Uint8Array[] = [];
  /** Authentication frames that came before both session descriptions were set (see receiveAuth). */
  private awaitingDescriptions: Record<string, unknown>[] | null = null;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private linkState: PeerLinkState = 'connecting';

  constructor(private readonly options: PeerLinkOptions) {
    super();
    this.peer = new SimplePeer({ initiator: options.initiator, trickle: true });
    const internals = this.peer as unknown as SimplePeerInternals;
    this.frames = new ChannelLink(() => internals._channel as FramedChannel | undefined, options);
    this.dataChannel = internals._pc?.createDataChannel('tabka-data', { negotiated: true, id: DATA_CHANNEL_ID, ordered: true });
    this.peer.on('signal', (data: SignalData) => this.options.sendSignal(data));
    this.peer.on('connect', () => this.startAuthentication());
    this.peer.on('data', (chunk: Uint8Array) => this.receiveChunk(chunk));
    this.peer.on('close', () => this.close('the data channel closed'));
    this.peer.on('error', (error: Error) => this.close(`WebRTC error: ${error.message}`));
    this.authTimer = setTimeout(
      () => this.close('the peer did not connect and authenticate in time'),
      options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
    );
  }

  get state(): PeerLinkState {
    return this.linkState;
  }

  get remoteId(): number {
    return this.options.remoteId;
  }

  get linkId(): number {
    return this.options.linkId;
  }

  /** An offer, answer or candidate from the peer, relayed by discovery. */
  signal(data: SignalData): void {
    if (this.linkState === 'closed') return;
    try {
      this.peer.signal(data as unknown as SimplePeer.SignalData);
    } catch (error) {
      this.close(`bad signal: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Sends one frame once the link is open; resolves when its last chunk is queued. */
  send(frame: Uint8Array): Promise<void> {
    if (this.linkState !== 'open') return Promise.reject(new Error(`link to ${this.remoteId} is ${this.linkState}`));
    return this.frames.send(frame);
  }

  /**
   * Sends at once, bypassing the queue and the drain wait: for the last words of a tab that is
   * unloading, when nothing asynchronous will run again. Best effort; false if not open.
   */
  sendNow(frame: Uint8Array): boolean {
    if (this.linkState !== 'open') return false;
    try {
      this.frames.sendNow(frame);
      return true;
    } catch {
      return false;
    }
  }

  close(reason: string): void {
    if (this.linkState === 'closed') return;
    const wasOpen = this.linkState === 'open';
    this.linkState = 'closed';
    clearTimeout(this.authTimer);
    this.queuedBeforeAuth = [];
    this.frames.close();
    this.peer.destroy();
    this.emit('closed', { remoteId: this.remoteId, reason, wasOpen });
  }

  private startAuthentication(): void {
    if (this.linkState !== 'connecting') return;
    this.linkState = 'authenticating';
    const hello = { brokerId: this.options.localId, cluster: this.options.cluster, nonce: this.localNonce, protocol: PROTOCOL_VERSION };
    this.frames.send(authFrame(hello)).catch(() => this.close('could not send the authentication hello'));
  }

  private receiveChunk(chunk: Uint8Array): void {
    let frame: Uint8Array | undefined;
    try {
      frame = this.frames.receive(chunk);
    } catch (error) {
      this.close(error instanceof InvalidFrameError ? error.message : 'malformed chunk');
      return;
    }
    if (!frame) return;
    if (this.linkState === 'open') this.emit('frame', { bytes: frame });
    else this.receiveBeforeOpen(frame);
  }

  private receiveBeforeOpen(bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.close(error instanceof Error ? error.message : 'malformed frame');
      return;
    }
    // simple-peer announces 'connect' only after an asynchronous stats check, and the peer's
    // hello can arrive first. Our hello must still go out before our proof: the peer reads the
    // first authentication frame it gets as a hello.
    if (this.linkState === 'connecting') this.startAuthentication();
    if (frame.apiKey !== ApiKey.SaslAuthenticate) {
      // Ordered channel: the peer may already send data after its proof while we verify it.
      if (this.queuedBeforeAuth.push(bytes) > MAX_QUEUED_BEFORE_AUTH) this.close('too many frames before authentication');
      return;
    }
    this.receiveAuth(frame.body);
  }

  /**
   * A hello or proof, in order. Both are checked against the session descriptions' DTLS
   * fingerprints, and the peer's first message can arrive before the page sees the answer it
   * applied (setRemoteDescription resolves in a task of its own, the data in another): such
   * frames wait for the descriptions instead of failing the link.
   */
  private receiveAuth(body: Record<string, unknown>): void {
    if (this.awaitingDescriptions) {
      this.awaitingDescriptions.push(body);
      return;
    }
    const pc = (this.peer as unknown as SimplePeerInternals)._pc;
    if (pc && (!pc.localDescription || !pc.remoteDescription)) {
      this.awaitingDescriptions = [body];
      const resume = () => {
        if (this.linkState === 'closed' || !pc.localDescription || !pc.remoteDescription) return;
        pc.removeEventListener('signalingstatechange', resume);
        const waiting = this.awaitingDescriptions ?? [];
        this.awaitingDescriptions = null;
        for (const next of waiting) if (this.state !== 'closed') this.receiveAuth(next); // a frame may close the link
      };
      pc.addEventListener('signalingstatechange', resume);
      return;
    }
    if (this.remoteNonce === undefined) this.receiveHello(body);
    else this.receiveProof(body);
  }

  private receiveHello(body: Record<string, unknown>): void {
    const hello = parseHello(body);
    if (!hello || hello.brokerId !== this.remoteId || hello.cluster !== this.options.cluster) {
      this.close('the peer introduced itself as another broker or cluster');
      return;
    }
    const mismatch = protocolMismatch(hello.protocol);
    if (mismatch !== null) {
      this.close(mismatch);
      return;
    }
    this.remoteNonce = hello.nonce;
    const context = this.authContext();
    if (!context) return;
    proveIdentity(this.options.secretKey, context, this.nonces())
      .then((proof) => this.frames.send(authFrame({ ...proof })))
      .catch(() => this.close('could not send the authentication proof'));
  }

  private receiveProof(body: Record<string, unknown>): void {
    const proof = parseProof(body);
    const context = this.authContext();
    if (!proof || !context) {
      this.close('malformed authentication proof');
      return;
    }
    verifyIdentity(this.options.secretKey, context, this.nonces(), proof.proof)
      .then((valid) => (valid ? this.open() : this.close('the peer does not know the cluster secret')))
      .catch(() => this.close('could not verify the peer'));
  }

  private open(): void {
    if (this.linkState !== 'authenticating') return;
    this.linkState = 'open';
    clearTimeout(this.authTimer);
    this.emit('open', { remoteId: this.remoteId });
    const queued = this.queuedBeforeAuth;
    this.queuedBeforeAuth = [];
    for (const bytes of queued) if (this.linkState === 'open') this.emit('frame', { bytes });
  }

  private nonces(): { local: string; remote: string } {
    return { local: this.localNonce, remote: this.remoteNonce ?? '' };
  }

  private authContext(): AuthContext | undefined {
    const pc = (this.peer as unknown as SimplePeerInternals)._pc;
    const localFingerprint = sdpFingerprint(pc?.localDescription?.sdp ?? '');
    const remoteFingerprint = sdpFingerprint(pc?.remoteDescription?.sdp ?? '');
    if (!localFingerprint || !remoteFingerprint) {
      this.close('no DTLS fingerprint in the session descriptions');
      return undefined;
    }
    const { cluster, localId, remoteId } = this.options;
    return { cluster, localId, remoteId, localFingerprint, remoteFingerprint };
  }
}

function authFrame(body: Record<string, unknown>): Uint8Array {
  return encodeFrame({ kind: FrameKind.Event, apiKey: ApiKey.SaslAuthenticate, apiVersion: 0, correlationId: 0, errorCode: 0, body, blobs: [] });
}
