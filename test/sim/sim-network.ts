/**
 * The simulated network between brokers: per-link delay, random loss, directed cuts (a
 * partition is a set of cuts, an asymmetric one is a single cut), and channels that open and
 * close like the data channels of the WebRTC mesh. It also keeps the ground truth the
 * invariants need: which round trips really happened, whatever the brokers believe.
 *
 * A message is lost if at send time the link is cut, its channel is closed, or the loss roll
 * says so; and at delivery time if the link got cut or the channel closed in between (a closed
 * channel loses what was in flight, as SCTP does).
 */
import type { Prng } from './prng';

export interface NetworkConditions {
  /** Probability that a message is dropped. */
  lossRate: number;
  /** Extra random delay on top of each link's own delay. */
  jitterMs: number;
}

export interface Transmission {
  readonly deliverAt: number;
  readonly generation: number;
  /** Ground truth: send time of the newest message of the receiver that reached the sender. */
  readonly echoOfSendTime: number | undefined;
}

interface Channel {
  open: boolean;
  generation: number;
}

const directed = (from: number, to: number): string => `${from}>${to}`;
const undirected = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);

export class SimNetwork {
  conditions: NetworkConditions = { lossRate: 0, jitterMs: 0 };
  private readonly cuts = new Set<string>();
  private readonly channels = new Map<string, Channel>();
  private readonly linkDelay = new Map<string, number>();
  private readonly newestDelivered = new Map<string, number>();
  private readonly roundTrips = new Map<string, number>();

  constructor(
    private readonly prng: Prng,
    private readonly minLinkDelayMs: number,
    private readonly maxLinkDelayMs: number,
  ) {}

  isCut(from: number, to: number): boolean {
    return this.cuts.has(directed(from, to));
  }

  cut(from: number, to: number): void {
    this.cuts.add(directed(from, to));
  }

  clearCuts(): void {
    this.cuts.clear();
  }

  /** A channel can only be set up when both directions work. */
  canConnect(a: number, b: number): boolean {
    return !this.isCut(a, b) && !this.isCut(b, a);
  }

  isOpen(a: number, b: number): boolean {
    return this.channels.get(undirected(a, b))?.open ?? false;
  }

  /** Returns true if the channel was open. */
  close(a: number, b: number): boolean {
    const channel = this.channels.get(undirected(a, b));
    if (!channel || !channel.open) return false;
    channel.open = false;
    channel.generation++;
    return true;
  }

  /** Returns true if the channel was closed. */
  open(a: number, b: number): boolean {
    const key = undirected(a, b);
    const channel = this.channels.get(key);
    if (channel?.open) return false;
    if (channel) {
      channel.open = true;
      channel.generation++;
    } else {
      this.channels.set(key, { open: true, generation: 0 });
    }
    return true;
  }

  private delayOf(from: number, to: number): number {
    const key = directed(from, to);
    let delay = this.linkDelay.get(key);
    if (delay === undefined) {
      delay = this.prng.int(this.minLinkDelayMs, this.maxLinkDelayMs);
      this.linkDelay.set(key, delay);
    }
    return delay;
  }

  /** Decides a message's fate at send time: when it arrives, or null if it is lost. */
  transmit(from: number, to: number, now: number): Transmission | null {
    const channel = this.channels.get(undirected(from, to));
    if (!channel?.open || this.isCut(from, to)) return null;
    if (this.conditions.lossRate > 0 && this.prng.chance(this.conditions.lossRate)) return null;
    const jitter = this.conditions.jitterMs > 0 ? this.prng.int(0, this.conditions.jitterMs) : 0;
    return {
      deliverAt: now + this.delayOf(from, to) + jitter,
      generation: channel.generation,
      echoOfSendTime: this.newestDelivered.get(directed(to, from)),
    };
  }

  /** Whether a message sent on `generation` still arrives now. */
  survives(from: number, to: number, generation: number): boolean {
    const channel = this.channels.get(undirected(from, to));
    return !!channel && channel.open && channel.generation === generation && !this.isCut(from, to);
  }

  recordDelivery(from: number, to: number, sentAt: number, echoOfSendTime: number | undefined): void {
    const key = directed(from, to);
    if ((this.newestDelivered.get(key) ?? Number.NEGATIVE_INFINITY) < sentAt) this.newestDelivered.set(key, sentAt);
    if (echoOfSendTime !== undefined) {
      // `to` sent something at echoOfSendTime that reached `from`, and now `from`'s answer reached `to`.
      const trip = directed(to, from);
      if ((this.roundTrips.get(trip) ?? Number.NEGATIVE_INFINITY) < echoOfSendTime) {
        this.roundTrips.set(trip, echoOfSendTime);
      }
    }
  }

  /** Send time of the newest message from `a` to `b` that `b` answered and whose answer reached `a`. */
  newestRoundTrip(a: number, b: number): number | undefined {
    return this.roundTrips.get(directed(a, b));
  }
}
