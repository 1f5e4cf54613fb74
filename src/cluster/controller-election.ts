/**
 * Controller election: which broker is the cluster's controller, as an I/O-free state machine.
 *
 * Protocol (bully election, fenced by a controller epoch and made safe by majority votes):
 *  - Every broker heartbeats every peer (HEARTBEAT: its epoch, the controller it follows, its
 *    cluster view, a timestamp and an echo of the peer's last timestamp). A closed channel
 *    (peerDown) is immediate suspicion, silence for sessionTimeoutMs is suspicion too.
 *  - A broker that is a member of its view and has no live controller, or follows a lower-id
 *    one, holds an election: ELECTION to the live higher members; any of them that could win
 *    sends ANSWER and runs its own election, and the asker waits. With no ANSWER, the broker
 *    is the highest live one: it claims epoch = max(epochs seen) + 1 with COORDINATOR to every
 *    member of its view, and becomes the ACTIVE controller once a majority of the view,
 *    itself included, acknowledged (COORDINATOR_ACK granted).
 *  - A broker acknowledges at most one claim per epoch (persisted, like a Raft vote), never a
 *    claim below the highest epoch it acknowledged, nor one whose view is older than its own.
 *    So two controllers can never both be active in one epoch, and brokers ignore controllers
 *    of a lower epoch. A higher id that comes back gets the acknowledgements (the old
 *    controller acknowledges it too, stepping down first): a clean takeover.
 *  - An active controller needs a timestamp round trip younger than sessionTimeoutMs with a
 *    majority of its view; without one it steps down, so the minority side of a split has no
 *    active controller. It also steps down when a member shows a higher epoch or a newer view.
 *  - "The brokers a broker knows" is its cluster view (see cluster-view.ts). Only an active
 *    controller changes it, one broker at a time and only once the previous view reached a
 *    majority: it admits reachable brokers that are not members, and removes brokers that
 *    sent a clean LEAVE, so 5 brokers of which 2 left elect among 3 and then need 2 of them.
 *    A crashed or silent broker stays a member. A broker that never joined a cluster founds
 *    one (a view of itself) once it has heard for startupGraceMs only from lower brokers
 *    that are not in a cluster either, and no higher broker that discovery named is still
 *    connecting (for up to foundingPatienceMs): tabs opened together found one cluster.
 *
 * Deviations from textbook bully, and why:
 *  - COORDINATOR is a claim that needs a majority of acknowledgements, not an announcement:
 *    bully assumes a reliable failure detector, and in a browser mesh "silent" may just be
 *    "partitioned", so without a vote both sides of a split would crown a controller.
 *  - A broker only stands (and only ANSWERs) if it sees a majority of its view alive, so a
 *    minority does not inflate epochs or make its peers wait for a broker that cannot win.
 *  - Acknowledgements follow Raft's vote rules (one per epoch, view at least as new), and view
 *    changes follow Raft's single-server membership change, so the majorities of any two views
 *    that can elect at the same time intersect.
 *  - A broker that follows a live controller refuses lower claimants, and a live higher broker
 *    that could win refuses lower claimants, so a glitch seen by one broker does not replace a
 *    working controller with a lower one.
 *  - Membership changes wait for a majority like Raft's, so if most of a view leaves at the
 *    same instant, the rest cannot elect until some come back (one at a time is fine).
 *
 * Assumptions. `now` never goes back for a broker, across restarts too (Date.now()); the
 * state machine compares only its own timestamps, never a peer's with its own. The driver
 * writes `persist` before sending `send`, and calls `handle({type:'tick'})` at `wakeAt`: the
 * controller steps down at the exact instant its majority round trip goes stale, and a late
 * timer is a late step-down. Storage survives restarts: a broker whose storage was wiped
 * must come back under a new id, or it may acknowledge two claims in one epoch. A cluster
 * is founded by brokers that can hear each other: two brokers that each found a cluster
 * alone both use epoch 1, which no protocol without a fixed initial configuration can
 * prevent; when such clusters meet they merge into one (and the metadata quorum replaces the
 * absorbed brokers' logs, which epochs alone cannot tell apart: see MetadataQuorum).
 */
import {
  EMPTY_VIEW,
  compareViews,
  formatView,
  isMember,
  majorityOf,
  viewWith,
  viewWithout,
} from './cluster-view';
import type { ClusterView } from './cluster-view';
import { InvalidElectionMessageError, MAX_BROKER_ID, MAX_EPOCH, parseElectionMessage } from './election-messages';
import type {
  CoordinatorAckMessage,
  CoordinatorMessage,
  ElectionMessage,
  HeartbeatMessage,
  LogEnd,
} from './election-messages';
import { Membership } from './membership';

export interface ControllerElectionConfig {
  brokerId: number;
  /** How often heartbeats go out. Default 250 ms. */
  heartbeatIntervalMs?: number;
  /** Heartbeat-free time after which a peer is suspected. Default 1500 ms. */
  sessionTimeoutMs?: number;
  /** How long to wait for ANSWER, and for acknowledgements of a claim. Default 500 ms. */
  electionTimeoutMs?: number;
  /** After start, how long to listen before electing or founding a cluster. Default sessionTimeoutMs. */
  startupGraceMs?: number;
  /**
   * How long a broker outside any cluster waits, before founding one, for a higher broker that
   * discovery named (peerAnnounced) to come up. Default 5000 ms.
   */
  foundingPatienceMs?: number;
  /** What the previous incarnation persisted; none for a broker that never ran. */
  persisted?: ElectionPersistedState | null;
  /** Where this broker's metadata log ends now; sent with every vote. Default: an empty log. */
  metadataLogEnd?: () => LogEnd;
  /**
   * Whether the active controller holds the cluster's metadata yet (it copies its voters'
   * newest log first). Until it does it changes no view: removing the brokers that left could
   * leave a view whose every member lacks committed metadata. Default: always.
   */
  metadataReady?: () => boolean;
  /**
   * Whether a majority of `members` holds every committed metadata entry. A ready controller
   * changes the view only to one where that holds: views change apart from the log here, so
   * Raft's implicit rule (a configuration commits only once the new majority holds the log up
   * to it) must be asked for. Without it, newcomers admitted before they copied the log, or
   * the removal of brokers that held it, let a majority without it elect. Default: always.
   */
  heldByMajorityOf?: (members: readonly number[]) => boolean;
}

/** What must survive a restart. Written by the driver whenever `persist` is not null. */
export interface ElectionPersistedState {
  /** Highest controller epoch this broker acknowledged. Never goes back. */
  readonly epoch: number;
  /** Whose claim to `epoch` this broker acknowledged. */
  readonly votedFor: number | null;
  /** Never goes back either (compareViews). */
  readonly view: ClusterView;
}

export type ElectionInput =
  | { readonly type: 'start' }
  | { readonly type: 'tick' }
  | { readonly type: 'message'; readonly from: number; readonly message: unknown }
  | { readonly type: 'peerUp'; readonly id: number }
  /** Discovery named a peer whose channel is not up yet (it may never be). */
  | { readonly type: 'peerAnnounced'; readonly id: number }
  | { readonly type: 'peerDown'; readonly id: number }
  | { readonly type: 'leave' }
  /** The controller cannot do its job (it could not collect the metadata): step down. */
  | { readonly type: 'resign' };

export type ResignReason = 'lostMajority' | 'higherEpoch' | 'newerView' | 'takeover' | 'leaving' | 'metadataUnavailable';

export type ElectionEvent =
  | { readonly type: 'controllerChanged'; readonly controllerId: number | null; readonly epoch: number }
  /**
   * `electedWith`: the view the claim won with, before the controller restamped it.
   * `logEnds`: each voter's metadata log end, this broker's own included.
   */
  | {
      readonly type: 'becameController';
      readonly epoch: number;
      readonly electedWith: ClusterView;
      readonly logEnds: ReadonlyMap<number, LogEnd>;
    }
  | { readonly type: 'resignedController'; readonly epoch: number; readonly reason: ResignReason }
  | { readonly type: 'viewChanged'; readonly view: ClusterView }
  | { readonly type: 'messageRejected'; readonly from: number; readonly reason: string };

export interface OutgoingElectionMessage {
  readonly to: number;
  readonly message: ElectionMessage;
}

export interface ElectionOutput {
  readonly send: readonly OutgoingElectionMessage[];
  readonly events: readonly ElectionEvent[];
  /** Non-null when the persisted state changed: store it before sending anything. */
  readonly persist: ElectionPersistedState | null;
  /** When to call handle({type:'tick'}) next, at the latest; null once stopped. */
  readonly wakeAt: number | null;
}

/**
 * new: before `start`. idle: following a controller or waiting to elect. electing: sent
 * ELECTION, waiting for ANSWER. waiting: someone else is expected to win (answered, or got
 * our acknowledgement). candidate: sent COORDINATOR, counting acknowledgements.
 */
export type ElectionPhase = 'new' | 'idle' | 'electing' | 'waiting' | 'candidate' | 'active' | 'stopped';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 250;
export const DEFAULT_SESSION_TIMEOUT_MS = 1500;
export const DEFAULT_ELECTION_TIMEOUT_MS = 500;
export const DEFAULT_FOUNDING_PATIENCE_MS = 5000;

const EMPTY_LOG_END: LogEnd = Object.freeze({ epoch: 0, offset: 0 });

/** An answered broker gives the higher one this many election timeouts to win. */
const WAIT_FOR_HIGHER_TIMEOUTS = 3;

function isBrokerId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_BROKER_ID;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

export class ControllerElection {
  readonly brokerId: number;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly electionTimeoutMs: number;
  readonly startupGraceMs: number;
  readonly foundingPatienceMs: number;
  private readonly membership: Membership;
  private readonly metadataLogEnd: () => LogEnd;
  private readonly metadataReady: () => boolean;
  private readonly heldByMajorityOf: (members: readonly number[]) => boolean;

  // Persisted.
  private _epoch: number;
  private votedFor: number | null;
  private _view: ClusterView;

  private _phase: ElectionPhase = 'new';
  private _controllerId: number | null = null;
  /** Highest epoch in any message, acknowledged or not: a new claim must go above it. */
  private maxEpochHeard: number;
  private phaseDeadline = 0;
  private retryAt = Number.NEGATIVE_INFINITY;
  private startedAt = 0;
  /** An active controller was heard since start, so this broker knows the cluster's state. */
  private heardController = false;
  private nextHeartbeatAt = 0;
  /** Granted votes of the current claim, with each voter's metadata log end. */
  private readonly votes = new Map<number, LogEnd>();
  /** The view our claim carried: what the acknowledgements vouch for. */
  private claimView: ClusterView = EMPTY_VIEW;
  /** How many members the view had when this broker last became the active controller. */
  private electedViewSize = 0;
  /** Became the active controller in the handle() call in progress: the metadata side does not know yet. */
  private electedInThisCall = false;
  /** Newest view each peer reported: the controller's evidence that a view reached a majority. */
  private readonly reportedViews = new Map<number, ClusterView>();
  /** The epoch in each peer's latest heartbeat (a broker's epoch never goes back). */
  private readonly reportedEpochs = new Map<number, number>();
  /** Peers discovery named, with when it first did. */
  private readonly announced = new Map<number, number>();
  /** Peers that sent LEAVE, with the LEAVE's timestamp (their clock). */
  private readonly departed = new Map<number, number>();
  private lastNow = 0;

  // Output of the handle() call in progress.
  private out: OutgoingElectionMessage[] = [];
  private events: ElectionEvent[] = [];
  private dirty = false;
  private announcedController: number | null = null;
  private announcedEpoch: number;

  constructor(config: ControllerElectionConfig) {
    if (!isBrokerId(config.brokerId)) throw new RangeError(`brokerId must be an int32 >= 0, got ${config.brokerId}`);
    this.brokerId = config.brokerId;
    this.heartbeatIntervalMs = positive('heartbeatIntervalMs', config.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
    this.sessionTimeoutMs = positive('sessionTimeoutMs', config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS);
    this.electionTimeoutMs = positive('electionTimeoutMs', config.electionTimeoutMs ?? DEFAULT_ELECTION_TIMEOUT_MS);
    this.startupGraceMs = positive('startupGraceMs', config.startupGraceMs ?? this.sessionTimeoutMs);
    this.foundingPatienceMs = positive('foundingPatienceMs', config.foundingPatienceMs ?? DEFAULT_FOUNDING_PATIENCE_MS);
    if (this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw new RangeError('heartbeatIntervalMs must be below sessionTimeoutMs, or every peer looks dead');
    }
    // A claim won with acknowledgements older than the session would be born without a majority.
    if (this.electionTimeoutMs >= this.sessionTimeoutMs) {
      throw new RangeError('electionTimeoutMs must be below sessionTimeoutMs');
    }
    this.metadataLogEnd = config.metadataLogEnd ?? (() => EMPTY_LOG_END);
    this.metadataReady = config.metadataReady ?? (() => true);
    this.heldByMajorityOf = config.heldByMajorityOf ?? (() => true);
    const persisted = config.persisted ?? null;
    this._epoch = persisted?.epoch ?? 0;
    this.votedFor = persisted?.votedFor ?? null;
    this._view = persisted?.view ?? EMPTY_VIEW;
    this.maxEpochHeard = Math.max(this._epoch, this._view.epoch);
    this.announcedEpoch = this._epoch;
    this.membership = new Membership(this.brokerId, this.sessionTimeoutMs);
    for (const id of this._view.members) this.membership.remember(id);
  }

  // ---------------------------------------------------------------- read-only view

  get controllerId(): number | null {
    return this._controllerId;
  }
  /** Highest controller epoch this broker acknowledged. */
  get epoch(): number {
    return this._epoch;
  }
  get isActiveController(): boolean {
    return this._phase === 'active';
  }
  get phase(): ElectionPhase {
    return this._phase;
  }
  get view(): ClusterView {
    return this._view;
  }
  /** The brokers whose majority counts: the members of the view. */
  get knownBrokers(): readonly number[] {
    return this._view.members;
  }
  /** Members of the view alive as of the last handle() call, this broker included. */
  get liveMembers(): number[] {
    return this._view.members.filter((id) => this.membership.isLive(id, this.lastNow));
  }
  get persistedState(): ElectionPersistedState {
    return { epoch: this._epoch, votedFor: this.votedFor, view: this._view };
  }

  describe(): string {
    return (
      `broker ${this.brokerId} ${this._phase} epoch=${this._epoch} controller=${this._controllerId} ` +
      `view=${formatView(this._view)}`
    );
  }

  // ---------------------------------------------------------------- input

  handle(input: ElectionInput, now: number): ElectionOutput {
    this.out = [];
    this.events = [];
    this.dirty = false;
    this.electedInThisCall = false;
    if (this._phase === 'stopped') return this.output(null);
    this.lastNow = now;
    if (this._phase === 'new') {
      // Nothing is known before start; a frame that early is as good as lost.
      if (input.type !== 'start') return this.output(null);
      this._phase = 'idle';
      this.startedAt = now;
      this.nextHeartbeatAt = now;
    } else {
      switch (input.type) {
        case 'start':
        case 'tick':
          break;
        case 'peerUp':
          if (isBrokerId(input.id) && input.id !== this.brokerId) {
            // A new channel is a new incarnation: whatever it said in a LEAVE is over.
            this.departed.delete(input.id);
            this.membership.channelUp(input.id, now);
            this.sendHeartbeat(input.id, now);
          }
          break;
        case 'peerDown':
          if (isBrokerId(input.id) && input.id !== this.brokerId) this.membership.channelDown(input.id);
          break;
        case 'peerAnnounced':
          if (isBrokerId(input.id) && input.id !== this.brokerId && !this.announced.has(input.id)) this.announced.set(input.id, now);
          break;
        case 'message':
          this.receive(input.from, input.message, now);
          break;
        case 'leave':
          this.leave(now);
          return this.output(null);
        case 'resign':
          if (this._phase === 'active') this.resign('metadataUnavailable', now);
          break;
      }
    }
    this.step(now);
    return this.output(now);
  }

  private receive(from: number, raw: unknown, now: number): void {
    if (!isBrokerId(from) || from === this.brokerId) {
      this.events.push({ type: 'messageRejected', from, reason: 'sender is not a peer broker id' });
      return;
    }
    let message: ElectionMessage;
    try {
      message = parseElectionMessage(raw);
    } catch (error) {
      const reason = error instanceof InvalidElectionMessageError ? error.reason : 'unreadable message';
      this.events.push({ type: 'messageRejected', from, reason });
      return;
    }
    const leftAt = this.departed.get(from);
    if (leftAt !== undefined) {
      // Frames may arrive out of order: only a heartbeat sent after the LEAVE means "back".
      if (message.type !== 'HEARTBEAT' || message.ts <= leftAt) return;
      this.departed.delete(from);
    }
    this.membership.heard(from, now);
    this.maxEpochHeard = Math.max(this.maxEpochHeard, message.epoch);
    if (message.type === 'HEARTBEAT') {
      this.reportedEpochs.set(from, message.epoch);
      this.membership.peerTimestamp(from, message.ts);
      if (message.echo !== null) this.membership.echoed(from, message.echo, now);
    }
    if (message.type === 'HEARTBEAT' || message.type === 'COORDINATOR' || message.type === 'COORDINATOR_ACK') {
      this.noteView(from, message.view, now);
    }
    if (message.epoch > this._epoch && isMember(this._view, from) && message.type !== 'COORDINATOR') {
      // A member acknowledged a newer epoch: it ignores us now, so we cannot count on it.
      // (A claim is judged on its merits below; its sender's heartbeats fence us if need be.)
      if (this._phase === 'active') this.resign('higherEpoch', now);
      else if (this._phase === 'candidate') this.abandonCandidacy(now);
    }
    switch (message.type) {
      case 'HEARTBEAT':
        this.onHeartbeat(from, message, now);
        break;
      case 'ELECTION':
        this.onElection(from, now);
        break;
      case 'ANSWER':
        if (this._phase === 'electing' && from > this.brokerId) {
          this._phase = 'waiting';
          this.phaseDeadline = now + WAIT_FOR_HIGHER_TIMEOUTS * this.electionTimeoutMs;
        }
        break;
      case 'COORDINATOR':
        this.onCoordinator(from, message, now);
        break;
      case 'COORDINATOR_ACK':
        this.onAck(from, message, now);
        break;
      case 'LEAVE':
        // Equal is fine: a broker sends nothing after its LEAVE, and clocks tick in whole ms.
        if (message.ts >= (this.membership.lastTimestampFrom(from) ?? Number.NEGATIVE_INFINITY)) {
          this.departed.set(from, message.ts);
        }
        this.membership.channelDown(from);
        if (this._controllerId === from) this.setController(null);
        break;
    }
  }

  private onHeartbeat(from: number, message: HeartbeatMessage, now: number): void {
    if (message.controllerId === from) this.onControllerClaim(from, message.epoch, now);
    else if (this._controllerId === from) this.setController(null); // it stepped down
  }

  /** `from` says it is the active controller of `epoch`. */
  private onControllerClaim(from: number, epoch: number, now: number): void {
    if (epoch < this._epoch) return; // fenced: a newer epoch was acknowledged here
    if (this._phase === 'active') {
      // Equal epochs cannot both be active (one vote per broker per epoch), so only a higher one counts.
      if (epoch === this._epoch) return;
      this.resign('higherEpoch', now);
    }
    if (epoch > this._epoch) {
      this._epoch = epoch;
      this.votedFor = from;
      this.dirty = true;
    } else if (this.votedFor === null) {
      this.votedFor = from;
      this.dirty = true;
    }
    this.heardController = true;
    if (this._phase === 'candidate') this.abandonCandidacy(now);
    this.setController(from);
  }

  private onElection(from: number, now: number): void {
    if (from > this.brokerId || !this.eligible) return;
    if (this._phase === 'active') {
      this.send(from, { type: 'ANSWER', epoch: this._epoch });
      this.sendHeartbeat(from, now);
      return;
    }
    const controller = this._controllerId;
    if (controller !== null && controller > this.brokerId && this.membership.isLive(controller, now)) {
      // Not our election to run: tell the asker who leads instead of making it wait for us.
      this.sendHeartbeat(from, now);
      return;
    }
    if (!this.canSeeMajority(now)) return; // we could not win; let the asker try
    this.send(from, { type: 'ANSWER', epoch: this._epoch });
    if (this._phase === 'idle') this.startElection(now);
  }

  private onCoordinator(from: number, message: CoordinatorMessage, now: number): void {
    const granted = this.shouldAcknowledge(from, message, now);
    if (granted) {
      if (this._phase === 'active') this.resign('takeover', now);
      if (this._phase === 'candidate') this.abandonCandidacy(now);
      if (message.epoch > this._epoch) this._epoch = message.epoch;
      this.votedFor = from;
      this.dirty = true;
      if (this._controllerId !== null && this._controllerId !== from) this.setController(null);
      this._phase = 'waiting';
      this.phaseDeadline = now + WAIT_FOR_HIGHER_TIMEOUTS * this.electionTimeoutMs;
    }
    this.send(from, {
      type: 'COORDINATOR_ACK',
      epoch: this._epoch,
      candidateEpoch: message.epoch,
      granted,
      view: this._view,
      echo: message.ts,
      logEnd: this.metadataLogEnd(),
    });
    if (!granted && from < this.brokerId && this._phase === 'idle' && this.eligible && this.canSeeMajority(now)) {
      this.startElection(now);
    }
  }

  private shouldAcknowledge(from: number, message: CoordinatorMessage, now: number): boolean {
    if (message.epoch < this._epoch) return false;
    if (message.epoch === this._epoch && this.votedFor !== null && this.votedFor !== from) return false;
    if (!isMember(message.view, from)) return false;
    // Our view was adopted from the message already if it was newer, so this catches stale claimants.
    if (compareViews(message.view, this._view) < 0) return false;
    // Bully: a live higher broker that could win takes over rather than serve a lower one.
    if (from < this.brokerId && this.eligible && this.canSeeMajority(now)) return false;
    const controller = this._controllerId;
    if (
      controller !== null &&
      controller !== this.brokerId &&
      controller > from &&
      this.membership.isLive(controller, now)
    ) {
      return false;
    }
    return true;
  }

  private onAck(from: number, message: CoordinatorAckMessage, now: number): void {
    this.membership.echoed(from, message.echo, now);
    if (this._phase !== 'candidate' || message.candidateEpoch !== this._epoch) return;
    if (message.granted && isMember(this._view, from)) {
      this.votes.set(from, message.logEnd);
      this.countVotes(now);
    }
  }

  /** Records a peer's view, and adopts it if it is newer than ours. */
  private noteView(from: number, view: ClusterView, now: number): void {
    const reported = this.reportedViews.get(from);
    if (reported === undefined || compareViews(view, reported) > 0) this.reportedViews.set(from, view);
    if (compareViews(view, this._view) <= 0) return;
    this.setView(view);
    this.maxEpochHeard = Math.max(this.maxEpochHeard, view.epoch);
    // Only a higher epoch's controller writes a newer view: ours is stale, and so is our claim.
    if (this._phase === 'active') this.resign('newerView', now);
    if (this._phase === 'candidate') this.abandonCandidacy(now);
    // Tell the sender at once, so a controller sees its change reach a majority within a round trip.
    this.sendHeartbeat(from, now);
  }

  // ---------------------------------------------------------------- time and elections

  private step(now: number): void {
    // A member that said goodbye leaves the view first: a view of two whose other member
    // left must not cost the controller its majority (Raft's leader removing a server).
    if (this._phase === 'active') this.maybeChangeView(now);
    if (this._phase === 'active' && !this.hasReachableMajority(now)) this.resign('lostMajority', now);
    const controller = this._controllerId;
    if (controller !== null && controller !== this.brokerId && !this.membership.isLive(controller, now)) {
      this.setController(null);
    }

    if (this._phase === 'electing') {
      if (this._controllerId !== null && this._controllerId > this.brokerId) this._phase = 'idle';
      else if (now >= this.phaseDeadline) this.becomeCandidate(now); // nobody higher answered
    }
    if (this._phase === 'waiting' && (now >= this.phaseDeadline || this._controllerId !== null)) this._phase = 'idle';
    if (this._phase === 'candidate' && now >= this.phaseDeadline) this.abandonCandidacy(now);
    if (!this.eligible && (this._phase === 'electing' || this._phase === 'waiting' || this._phase === 'candidate')) {
      this._phase = 'idle';
    }

    if (this._phase === 'idle') {
      if (this._view.members.length === 0) this.maybeFound(now);
      else if (this.shouldStartElection(now)) this.startElection(now);
    }
    if (this._phase === 'active') this.maybeChangeView(now);

    if (now >= this.nextHeartbeatAt) {
      for (const peer of this.peers()) this.sendHeartbeat(peer, now);
      this.nextHeartbeatAt = now + this.heartbeatIntervalMs;
    }
  }

  private shouldStartElection(now: number): boolean {
    if (!this.eligible || now < this.retryAt) return false;
    // Right after a (re)start we may simply not have heard the controller yet.
    if (!this.heardController && now < this.startedAt + this.startupGraceMs) return false;
    return this._controllerId === null || this._controllerId < this.brokerId;
  }

  private startElection(now: number): void {
    const higher = this._view.members.filter((id) => id > this.brokerId && this.membership.isLive(id, now));
    if (higher.length === 0) {
      this.becomeCandidate(now);
      return;
    }
    for (const id of higher) this.send(id, { type: 'ELECTION', epoch: this._epoch });
    this._phase = 'electing';
    this.phaseDeadline = now + this.electionTimeoutMs;
  }

  private becomeCandidate(now: number): void {
    const epoch = Math.max(this._epoch, this.maxEpochHeard, this._view.epoch) + 1;
    if (!this.eligible || !this.canSeeMajority(now) || epoch > MAX_EPOCH) {
      this._phase = 'idle';
      this.retryAt = now + this.electionTimeoutMs;
      return;
    }
    this._epoch = epoch;
    this.votedFor = this.brokerId;
    this.dirty = true;
    this.setController(null);
    this._phase = 'candidate';
    this.phaseDeadline = now + this.electionTimeoutMs;
    this.votes.clear();
    this.votes.set(this.brokerId, this.metadataLogEnd());
    this.claimView = this._view;
    const claim: CoordinatorMessage = { type: 'COORDINATOR', epoch, view: this._view, ts: now };
    for (const id of this._view.members) if (id !== this.brokerId) this.send(id, claim);
    this.countVotes(now);
  }

  private countVotes(now: number): void {
    let granted = 0;
    for (const id of this.votes.keys()) if (isMember(this._view, id)) granted++;
    if (granted >= majorityOf(this._view)) this.becomeActive(now, this.claimView);
  }

  private abandonCandidacy(now: number): void {
    this._phase = 'idle';
    this.votes.clear();
    // The next attempt starts with ELECTION again, so a higher broker that appeared gets its turn.
    this.retryAt = now;
  }

  private becomeActive(now: number, electedWith: ClusterView, members: readonly number[] = electedWith.members): void {
    this._phase = 'active';
    const logEnds = new Map(this.votes);
    logEnds.set(this.brokerId, this.metadataLogEnd());
    this.votes.clear();
    this.setController(this.brokerId);
    // Restamp the view with our epoch; it must reach a majority before we change membership.
    this.setView({ epoch: this._epoch, seq: 0, members });
    this.electedViewSize = members.length;
    this.electedInThisCall = true;
    this.events.push({ type: 'becameController', epoch: this._epoch, electedWith, logEnds });
    this.nextHeartbeatAt = now;
  }

  private resign(reason: ResignReason, now: number): void {
    this._phase = 'idle';
    this.setController(null);
    this.events.push({ type: 'resignedController', epoch: this._epoch, reason });
    if (reason === 'lostMajority') this.retryAt = now + this.electionTimeoutMs;
  }

  /** A broker outside any cluster founds one if nobody it hears is in one or outranks it. */
  private maybeFound(now: number): void {
    if (now < this.startedAt + this.startupGraceMs) return;
    // A higher broker is still connecting: it founds (or already leads) a cluster, and we join it.
    // Founding beside it would make two clusters that can only merge, one losing its metadata.
    if (this.awaitedFounders(now).length > 0) return;
    for (const peer of this.membership.knownPeers()) {
      if (!this.membership.isLive(peer, now)) continue;
      const reported = this.reportedViews.get(peer);
      if (reported === undefined || reported.members.length > 0 || peer > this.brokerId) return;
    }
    const epoch = Math.max(this._epoch, this.maxEpochHeard) + 1;
    if (epoch > MAX_EPOCH) return;
    this._epoch = epoch;
    this.votedFor = this.brokerId;
    this.dirty = true;
    this.becomeActive(now, this._view, [this.brokerId]);
  }

  /** One change at a time, each only after the previous view reached a majority. */
  private maybeChangeView(now: number): void {
    // What metadataReady and heldByMajorityOf say is about the previous epoch until the metadata
    // side hears of this election, after this call; the immediate next tick decides.
    if (this.electedInThisCall) return;
    // Until it holds the metadata it changes nothing, with one exception: in a view of two it
    // was elected with, it removes the other member if that one leaves. Both held every
    // committed entry (the view came from a checked change), and frozen, the view could never
    // elect again. A larger view keeps a majority without the leaver: it resigns and re-elects.
    // (Removals while recovering, one per election, once chained to a controller alone
    // without what the leavers held.)
    const ready = this.metadataReady();
    if (!ready && !(this.electedViewSize === 2 && this._view.members.length === 2)) return;
    let holding = 0;
    for (const id of this._view.members) {
      const reported = this.reportedViews.get(id);
      if (id === this.brokerId || (reported !== undefined && compareViews(reported, this._view) >= 0)) holding++;
    }
    if (holding < majorityOf(this._view)) return;
    const { epoch, seq } = this._view;
    for (const id of this._view.members) {
      if (id !== this.brokerId && this.departed.has(id)) {
        const next = viewWithout(this._view, epoch, seq + 1, id);
        if (ready && !this.heldByMajorityOf(next.members)) return;
        this.setView(next);
        this.nextHeartbeatAt = now;
        return;
      }
    }
    if (!ready) return;
    for (const id of this.membership.knownPeers()) {
      if (!isMember(this._view, id) && !this.departed.has(id) && this.membership.isReachable(id, now)) {
        if (this.isFencedBy(id)) {
          this.resign('higherEpoch', now);
          return;
        }
        const next = viewWith(this._view, epoch, seq + 1, id);
        if (!this.heldByMajorityOf(next.members)) return;
        this.setView(next);
        this.nextHeartbeatAt = now;
        return;
      }
    }
  }

  private leave(now: number): void {
    const message = { type: 'LEAVE', epoch: this._epoch, ts: now } as const;
    for (const peer of this.peers()) this.send(peer, message);
    if (this._phase === 'active') this.events.push({ type: 'resignedController', epoch: this._epoch, reason: 'leaving' });
    this._phase = 'stopped';
    this._controllerId = null;
  }

  // ---------------------------------------------------------------- helpers

  /** When the patience for each announced higher broker runs out, for those it has not yet. */
  private awaitedFounders(now: number): number[] {
    const until: number[] = [];
    for (const [id, at] of this.announced) {
      if (id > this.brokerId && now < at + this.foundingPatienceMs) until.push(at + this.foundingPatienceMs);
    }
    return until;
  }

  /**
   * A broker outside the view holds our view but a higher epoch: one it stood in or granted
   * (a candidacy that failed as it left, say) before it was removed. It ignores our claim, so
   * it never fetches the metadata it must hold to be admitted, and would wait forever. Like a
   * Raft leader that sees a higher term, the controller steps down and claims above it.
   * Brokers of another founding (another view) are left to the merge.
   */
  private isFencedBy(id: number): boolean {
    const reported = this.reportedViews.get(id);
    const epoch = this.reportedEpochs.get(id) ?? 0;
    // No claim can go above the last epoch: stepping down for it would leave no controller.
    return epoch > this._epoch && epoch < MAX_EPOCH && reported !== undefined && compareViews(reported, this._view) === 0;
  }

  private get eligible(): boolean {
    return isMember(this._view, this.brokerId);
  }

  private canSeeMajority(now: number): boolean {
    let live = 0;
    for (const id of this._view.members) if (this.membership.isLive(id, now)) live++;
    return live >= majorityOf(this._view);
  }

  private hasReachableMajority(now: number): boolean {
    let reachable = 0;
    for (const id of this._view.members) if (this.membership.isReachable(id, now)) reachable++;
    return reachable >= majorityOf(this._view);
  }

  /** When the controller's majority of fresh round trips runs out, if nothing more arrives. */
  private leaseExpiry(): number {
    const until = this._view.members
      .map((id) => this.membership.reachableUntil(id))
      .filter((t): t is number => t !== null)
      .sort((a, b) => b - a);
    return until[majorityOf(this._view) - 1] ?? Number.NEGATIVE_INFINITY;
  }

  private setView(view: ClusterView): void {
    this._view = view;
    this.dirty = true;
    for (const id of view.members) this.membership.remember(id);
    this.events.push({ type: 'viewChanged', view });
  }

  private setController(id: number | null): void {
    this._controllerId = id;
  }

  /** Departed peers too: one that came back learns of us from our heartbeats. */
  private peers(): number[] {
    return this.membership.knownPeers();
  }

  private send(to: number, message: ElectionMessage): void {
    this.out.push({ to, message });
  }

  private sendHeartbeat(to: number, now: number): void {
    this.send(to, {
      type: 'HEARTBEAT',
      epoch: this._epoch,
      controllerId: this._controllerId,
      view: this._view,
      ts: now,
      echo: this.membership.echoFor(to),
    });
  }

  private output(now: number | null): ElectionOutput {
    const controller = this._controllerId;
    if (
      controller !== this.announcedController ||
      (controller !== null && this._epoch !== this.announcedEpoch)
    ) {
      this.events.push({ type: 'controllerChanged', controllerId: controller, epoch: this._epoch });
      this.announcedController = controller;
      this.announcedEpoch = this._epoch;
    }
    return {
      send: this.out,
      events: this.events,
      persist: this.dirty ? this.persistedState : null,
      wakeAt: now === null ? null : this.nextWake(now),
    };
  }

  private nextWake(now: number): number {
    const times = [this.nextHeartbeatAt];
    if (this._phase === 'electing' || this._phase === 'waiting' || this._phase === 'candidate') {
      times.push(this.phaseDeadline);
    }
    if (this._phase === 'idle') times.push(this.retryAt, this.startedAt + this.startupGraceMs);
    if (this._phase === 'idle' && this._view.members.length === 0) times.push(...this.awaitedFounders(now));
    if (this._phase === 'active') times.push(this.leaseExpiry());
    const controller = this._controllerId;
    if (controller !== null && controller !== this.brokerId) times.push(this.membership.liveUntil(controller) ?? now);
    let wake = Number.POSITIVE_INFINITY;
    for (const t of times) if (t > now && t < wake) wake = t;
    return wake;
  }
}
