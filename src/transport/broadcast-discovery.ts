import { isBrokerId } from '../signaling/signaling-protocol';
import { TypedEmitter } from '../signaling/typed-emitter';
import type { PeerDiscovery, PeerDiscoveryEvents, SignalData } from './peer-discovery';

export interface BroadcastDiscoveryOptions {
  readonly cluster: string;
  readonly brokerId: number;
  /** How often this tab says it is here; a tab silent for three periods is gone. */
  readonly announceIntervalMs?: number;
  readonly channelFactory?: (name: string) => BroadcastChannel;
}

type Announcement =
  | { type: 'here'; from: number; reply: boolean }
  | { type: 'bye'; from: number }
  | { type: 'signal'; from: number; to: number; data: SignalData };

/**
 * Signaling between tabs of one browser with no server: a BroadcastChannel per cluster.
 * Every tab of the origin hears every message, so messages carry their addressee; anything
 * malformed is ignored. Only offers and candidates pass here — the peers still authenticate
 * each other over the data channel with the cluster secret.
 */
export class BroadcastDiscovery extends TypedEmitter<PeerDiscoveryEvents> implements PeerDiscovery {
  private readonly channel: BroadcastChannel;
  private readonly lastHeard = new Map<number, number>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly intervalMs: number;

  constructor(private readonly options: BroadcastDiscoveryOptions) {
    super();
    this.intervalMs = options.announceIntervalMs ?? 1000;
    const name = `tabka/${options.cluster}/signal`;
    this.channel = options.channelFactory?.(name) ?? new BroadcastChannel(name);
    this.channel.onmessage = (event: MessageEvent<unknown>) => this.receive(event.data);
    this.post({ type: 'here', from: options.brokerId, reply: false });
    this.timer = setInterval(() => this.heartbeat(), this.intervalMs);
  }

  get peers(): number[] {
    return [...this.lastHeard.keys()].sort((a, b) => a - b);
  }

  sendSignal(to: number, data: SignalData): void {
    this.post({ type: 'signal', from: this.options.brokerId, to, data });
  }

  close(): void {
    clearInterval(this.timer);
    this.post({ type: 'bye', from: this.options.brokerId });
    this.channel.close();
  }

  private heartbeat(): void {
    this.post({ type: 'here', from: this.options.brokerId, reply: true });
    const expiry = Date.now() - 3 * this.intervalMs;
    for (const [brokerId, heard] of this.lastHeard) if (heard < expiry) this.forget(brokerId);
  }

  private receive(value: unknown): void {
    const message = parseAnnouncement(value);
    if (!message || message.from === this.options.brokerId) return;
    if (message.type === 'bye') return this.forget(message.from);
    const known = this.lastHeard.has(message.from);
    this.lastHeard.set(message.from, Date.now());
    if (!known) {
      this.emit('peer-joined', { brokerId: message.from });
      // A newcomer should learn of us at once rather than at our next heartbeat.
      if (message.type === 'here' && !message.reply) this.post({ type: 'here', from: this.options.brokerId, reply: true });
    }
    if (message.type === 'signal' && message.to === this.options.brokerId) this.emit('signal', { from: message.from, data: message.data });
  }

  private forget(brokerId: number): void {
    if (this.lastHeard.delete(brokerId)) this.emit('peer-left', { brokerId });
  }

  private post(message: Announcement): void {
    this.channel.postMessage(message);
  }
}

function parseAnnouncement(value: unknown): Announcement | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (!isBrokerId(message.from)) return undefined;
  switch (message.type) {
    case 'here':
      return { type: 'here', from: message.from, reply: message.reply === true };
    case 'bye':
      return { type: 'bye', from: message.from };
    case 'signal': {
      const { to, data } = message;
      if (!isBrokerId(to) || typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
      return { type: 'signal', from: message.from, to, data: data as SignalData };
    }
    default:
      return undefined;
  }
}
