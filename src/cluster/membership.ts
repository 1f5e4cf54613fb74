/**
 * Membership: the failure detector. Which peers are there, and which ones this broker has
 * heard from lately, told from heartbeats and channel events. No clock of its own: every
 * query takes `now` from the caller, and all times it keeps are on this broker's clock (a
 * peer's `ts` is only ever echoed back to that peer, never compared with ours).
 *
 * Two strengths of "alive", because they protect different things:
 *  - live: a message from the peer arrived within the session timeout, and its channel has not
 *    closed since. Enough to decide who to wait for in an election.
 *  - reachable: the peer echoed a timestamp of ours that is younger than the session timeout,
 *    so a message went there and one came back. An active controller needs this from a
 *    majority: hearing a peer says nothing about whether the peer hears us.
 * A closed channel is immediate suspicion of both, until the peer is heard from again.
 */

interface PeerState {
  /** When we last heard anything from the peer (our clock), or its channel opened. */
  lastHeard: number | null;
  /** The channel closed and nothing arrived since. */
  channelDown: boolean;
  /** Newest heartbeat `ts` from the peer (its clock), to echo back. */
  lastTs: number | null;
  /** Newest timestamp of ours the peer echoed: a round trip that started then. */
  roundTripFrom: number | null;
}

export class Membership {
  private readonly peers = new Map<number, PeerState>();

  constructor(
    readonly selfId: number,
    readonly sessionTimeoutMs: number,
  ) {}

  private peer(id: number): PeerState {
    let state = this.peers.get(id);
    if (!state) {
      state = { lastHeard: null, channelDown: false, lastTs: null, roundTripFrom: null };
      this.peers.set(id, state);
    }
    return state;
  }

  /** Every peer ever seen, ascending. */
  knownPeers(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }

  /** Makes a peer known without evidence that it is alive (e.g. a view member after restart). */
  remember(id: number): void {
    if (id !== this.selfId) this.peer(id);
  }

  /** A channel opened: the peer is there now. */
  channelUp(id: number, now: number): void {
    if (id === this.selfId) return;
    const state = this.peer(id);
    state.channelDown = false;
    state.lastHeard = Math.max(state.lastHeard ?? now, now);
  }

  /** A channel closed: suspect at once rather than wait out the session timeout. */
  channelDown(id: number): void {
    if (id === this.selfId) return;
    this.peer(id).channelDown = true;
  }

  heard(id: number, now: number): void {
    if (id === this.selfId) return;
    const state = this.peer(id);
    state.channelDown = false;
    state.lastHeard = Math.max(state.lastHeard ?? now, now);
  }

  /** A heartbeat's own timestamp; kept as the newest, since frames may be reordered. */
  peerTimestamp(id: number, ts: number): void {
    const state = this.peer(id);
    state.lastTs = Math.max(state.lastTs ?? ts, ts);
  }

  /** The peer echoed our timestamp `echo`. An echo from our future is garbage and ignored. */
  echoed(id: number, echo: number, now: number): void {
    if (id === this.selfId || echo > now) return;
    const state = this.peer(id);
    state.roundTripFrom = Math.max(state.roundTripFrom ?? echo, echo);
  }

  /** What to echo back to `id`. */
  echoFor(id: number): number | null {
    return this.peers.get(id)?.lastTs ?? null;
  }

  lastTimestampFrom(id: number): number | null {
    return this.peers.get(id)?.lastTs ?? null;
  }

  isLive(id: number, now: number): boolean {
    if (id === this.selfId) return true;
    const state = this.peers.get(id);
    return !!state && !state.channelDown && state.lastHeard !== null && state.lastHeard > now - this.sessionTimeoutMs;
  }

  isReachable(id: number, now: number): boolean {
    const until = this.reachableUntil(id);
    return until !== null && until > now;
  }

  /** The instant (exclusive) at which the newest round trip with `id` goes stale. */
  reachableUntil(id: number): number | null {
    if (id === this.selfId) return Number.POSITIVE_INFINITY;
    const state = this.peers.get(id);
    if (!state || state.channelDown || state.roundTripFrom === null) return null;
    return state.roundTripFrom + this.sessionTimeoutMs;
  }

  /** The instant (exclusive) at which `id` stops being live if nothing more arrives. */
  liveUntil(id: number): number | null {
    const state = this.peers.get(id);
    if (!state || state.channelDown || state.lastHeard === null) return null;
    return state.lastHeard + this.sessionTimeoutMs;
  }
}
