import { TypedEmitter } from '../signaling/typed-emitter';
import { importSecret } from './peer-auth';
import type { PeerDiscovery, SignalData } from './peer-discovery';
import { PeerLink } from './peer-link';
import type { PeerLinkOptions } from './peer-link';

export interface MeshOptions {
  readonly cluster: string;
  readonly localId: number;
  readonly secret: string;
  /** One or more ways to find peers (server, BroadcastChannel): all lead to the same mesh. */
  readonly discoveries: readonly PeerDiscovery[];
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  readonly link?: Partial<Pick<PeerLinkOptions, 'chunkBytes' | 'maxFrameBytes' | 'highWaterMark' | 'authTimeoutMs'>>;
}

/**
 * `linkId` names one connection to a peer (a reconnect makes a new one), so a message about an
 * old connection is never taken for the current one.
 */
export interface MeshEvents {
  /** Discovery named a peer (the link to it may take a while, or never come up). */
  'peer-discovered': { brokerId: number };
  'peer-up': { brokerId: number; linkId: number };
  'peer-down': { brokerId: number; reason: string; linkId: number };
  /** A peer failed authentication, or misbehaved and was hung up on. */
  'peer-rejected': { brokerId: number; reason: string; linkId: number };
  frame: { from: number; bytes: Uint8Array };
  /**
   * A new link's data channel, for the broker's worker. A listener must transfer it before
   * returning: Chromium lets a data channel move to a worker only in the task that made it.
   * Unclaimed, it stays unused on the page.
   */
  'data-channel': { brokerId: number; linkId: number; channel: RTCDataChannel };
}

/**
 * This broker's links to every other broker: one authenticated data channel per pair, the
 * lower id initiating, lost links retried with exponential backoff while discovery still
 * lists the peer.
 */
export class Mesh extends TypedEmitter<MeshEvents> {
  private readonly links = new Map<number, PeerLink>();
  private nextLinkId = 1;
  private readonly routes = new Map<number, PeerDiscovery>();
  private readonly retries = new Map<number, { attempt: number; timer: ReturnType<typeof setTimeout> | undefined }>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly discoveries: PeerDiscovery[];
  private listening = false;
  private closed = false;

  private constructor(private readonly options: MeshOptions, private readonly secretKey: CryptoKey) {
    super();
    this.discoveries = [...options.discoveries];
  }

  /** A mesh already looking for peers. */
  static async start(options: MeshOptions): Promise<Mesh> {
    const mesh = await Mesh.create(options);
    mesh.listen();
    return mesh;
  }

  /**
   * A mesh that connects to no one until `listen()`: whoever takes the links' data channels
   * ('data-channel') must be listening before the first link is made.
   */
  static async create(options: MeshOptions): Promise<Mesh> {
    return new Mesh(options, await importSecret(options.secret));
  }

  /** Starts finding peers through every discovery. */
  listen(): void {
    this.listening = true;
    for (const discovery of this.discoveries) this.attach(discovery);
  }

  /**
   * Finds peers through `discovery` too, listening from now on (if `listen()` was called). Add
   * a discovery in the task that announced this broker through it: a peer's offer that arrives
   * with no one listening is lost, and its link waits out the whole authentication timeout.
   */
  addDiscovery(discovery: PeerDiscovery): void {
    this.discoveries.push(discovery);
    if (this.listening && !this.closed) this.attach(discovery);
  }

  get localId(): number {
    return this.options.localId;
  }

  /** Brokers that discovery names now, linked or not. */
  discoveredPeers(): number[] {
    return [...this.routes.keys()].sort((a, b) => a - b);
  }

  /** Brokers with an open, authenticated link. */
  connectedPeers(): number[] {
    return this.openLinks().map(({ brokerId }) => brokerId);
  }

  /** The open, authenticated links, by peer. */
  openLinks(): { brokerId: number; linkId: number }[] {
    return [...this.links.values()]
      .filter((link) => link.state === 'open')
      .map(({ remoteId, linkId }) => ({ brokerId: remoteId, linkId }))
      .sort((a, b) => a.brokerId - b.brokerId);
  }

  send(to: number, frame: Uint8Array): Promise<void> {
    const link = this.links.get(to);
    if (!link) return Promise.reject(new Error(`no link to broker ${to}`));
    return link.send(frame);
  }

  /**
   * Hangs up on the connection `linkId` to a peer that misbehaved on it (on its data channel,
   * say), as a refusal; the peer may connect again. A later connection is left alone.
   */
  refuse(brokerId: number, linkId: number, reason: string): void {
    const link = this.links.get(brokerId);
    if (!link || link.linkId !== linkId) return;
    const wasOpen = link.state === 'open';
    link.close(reason);
    // A link that was not open yet is reported as rejected when it closes.
    if (wasOpen) this.emit('peer-rejected', { brokerId, reason, linkId });
  }

  /** Best-effort, synchronous send to every open link (see PeerLink.sendNow). */
  broadcastNow(frame: Uint8Array): void {
    for (const link of this.links.values()) link.sendNow(frame);
  }

  close(): void {
    this.closed = true;
    for (const off of this.unsubscribe) off();
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    for (const link of this.links.values()) link.close('this broker is leaving');
    this.links.clear();
  }

  private attach(discovery: PeerDiscovery): void {
    this.unsubscribe.push(
      discovery.on('peer-joined', ({ brokerId }) => this.discovered(brokerId, discovery)),
      discovery.on('peer-left', ({ brokerId }) => this.departed(brokerId, discovery)),
      discovery.on('signal', ({ from, data }) => this.receiveSignal(from, data, discovery)),
    );
    for (const brokerId of discovery.peers) this.discovered(brokerId, discovery);
  }

  private discovered(brokerId: number, discovery: PeerDiscovery): void {
    if (brokerId === this.localId || this.closed) return;
    if (!this.routes.has(brokerId)) {
      this.routes.set(brokerId, discovery);
      this.emit('peer-discovered', { brokerId });
    }
    if (this.localId < brokerId && !this.links.has(brokerId)) this.connect(brokerId, true);
  }

  private departed(brokerId: number, discovery: PeerDiscovery): void {
    if (this.routes.get(brokerId) !== discovery) return;
    const other = this.discoveries.find((d) => d !== discovery && d.peers.includes(brokerId));
    if (other) {
      this.routes.set(brokerId, other);
      return;
    }
    this.routes.delete(brokerId);
    this.cancelRetry(brokerId);
    this.links.get(brokerId)?.close('the peer left the cluster');
  }

  private receiveSignal(from: number, data: SignalData, discovery: PeerDiscovery): void {
    if (from === this.localId || this.closed) return;
    this.routes.set(from, discovery);
    let link = this.links.get(from);
    // A fresh offer means the peer started over (a reload, a retry): the old link is gone.
    if (data.type === 'offer' && link) {
      link.close('the peer reconnected');
      link = undefined;
    }
    if (!link) {
      if (from > this.localId || data.type !== 'offer') return;
      link = this.connect(from, false);
    }
    link.signal(data);
  }

  private connect(remoteId: number, initiator: boolean): PeerLink {
    const link = new PeerLink({
      ...this.options.link,
      cluster: this.options.cluster,
      localId: this.localId,
      remoteId,
      linkId: this.nextLinkId++,
      initiator,
      secretKey: this.secretKey,
      sendSignal: (data) => this.routes.get(remoteId)?.sendSignal(remoteId, data),
    });
    const linkId = link.linkId;
    this.links.set(remoteId, link);
    if (link.dataChannel) this.emit('data-channel', { brokerId: remoteId, linkId, channel: link.dataChannel });
    link.on('open', () => {
      this.retries.delete(remoteId);
      this.emit('peer-up', { brokerId: remoteId, linkId });
    });
    link.on('frame', ({ bytes }) => this.emit('frame', { from: remoteId, bytes }));
    link.on('closed', ({ reason, wasOpen }) => this.linkClosed(link, reason, wasOpen));
    return link;
  }

  private linkClosed(link: PeerLink, reason: string, wasOpen: boolean): void {
    const remoteId = link.remoteId;
    if (this.links.get(remoteId) === link) this.links.delete(remoteId);
    const { linkId } = link;
    if (wasOpen) this.emit('peer-down', { brokerId: remoteId, reason, linkId });
    else this.emit('peer-rejected', { brokerId: remoteId, reason, linkId });
    if (!this.closed && link.remoteId > this.localId && this.routes.has(remoteId)) this.scheduleRetry(remoteId);
  }

  private scheduleRetry(remoteId: number): void {
    const retry = this.retries.get(remoteId) ?? { attempt: 0, timer: undefined };
    clearTimeout(retry.timer);
    const initial = this.options.reconnectInitialMs ?? 200;
    const delay = Math.min(this.options.reconnectMaxMs ?? 5000, initial * 2 ** retry.attempt);
    retry.attempt += 1;
    retry.timer = setTimeout(() => {
      if (!this.closed && this.routes.has(remoteId) && !this.links.has(remoteId)) this.connect(remoteId, true);
    }, delay * (0.75 + Math.random() * 0.5));
    this.retries.set(remoteId, retry);
  }

  private cancelRetry(remoteId: number): void {
    clearTimeout(this.retries.get(remoteId)?.timer);
    this.retries.delete(remoteId);
  }
}
