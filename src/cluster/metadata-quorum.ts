/**
 * The replicated metadata log (KRaft's quorum), as an I/O-free state machine: which entries
 * this broker holds, which are committed, and the fetches that keep every broker's copy equal
 * to the controller's. The controller election decides who leads; this decides what they hold.
 *
 * Protocol, Raft's log replication with KRaft's pull model:
 *  - Followers FETCH from the active controller from their log end, naming the epoch of their
 *    last entry. The controller answers with entries, or with a divergence when the entry
 *    before the offset is not the one it holds (then the follower truncates and fetches again),
 *    or parks the fetch up to fetchMaxWaitMs when there is nothing new (a long poll).
 *  - An offset is committed (below the high watermark) once a majority of the view holds it,
 *    and only counted from entries of the controller's own epoch (Raft's rule): every
 *    controller's first entry is a LeaderChange record, and committing it commits the rest.
 *  - A new controller starts from the newest log of its voters (their log ends ride on the
 *    election's acknowledgements, like Viewstamped Replication's view change): the voters are a
 *    majority, a committed entry is on a majority, so the freshest voter log (highest last
 *    epoch, then longest) holds every committed entry. Until it has copied that log it
 *    answers no fetch and proposes nothing; if it cannot copy it in time it resigns.
 *  - A broker that acknowledged epoch E takes no entries from a controller of a lower epoch,
 *    so a voter's log cannot grow behind the new controller's back.
 *  - Epochs name one controller only within one founding: two clusters founded apart both
 *    start at epoch 1 (see ControllerElection). Every FETCH and answer carries the log's
 *    origin (its founding LeaderChange); a log of another origin matches nowhere, and a
 *    follower that finds itself following one replaces its own log whole, committed entries
 *    too: the cluster it joined never had them.
 *
 * Simplifications: the log is held in memory and replayed from storage at start (a cluster's
 * metadata is small: no snapshots yet); one FETCH in flight per follower.
 */
import { majorityOfCount } from './cluster-view';
import type { LogEnd } from './election-messages';
import { MAX_FETCH_ENTRIES, parseQuorumMessage } from './metadata-quorum-messages';
import type {
  FetchError,
  FetchMessage,
  FetchResponseMessage,
  LogOrigin,
  MetadataEntry,
  QuorumMessage,
} from './metadata-quorum-messages';
import type { MetadataRecord } from './metadata-records';

export interface MetadataQuorumConfig {
  readonly brokerId: number;
  /** The log as stored, from offset 0. */
  readonly entries?: readonly MetadataEntry[];
  /** The high watermark last stored; the true one may be higher. */
  readonly highWatermark?: number;
  /** How long the controller holds a fetch that has nothing new. Default 500 ms. */
  readonly fetchMaxWaitMs?: number;
  /** A fetch unanswered this long is sent again. Default 2000 ms. */
  readonly fetchTimeoutMs?: number;
  /** A new controller that could not copy its voters' newest log in this time resigns. Default 3000 ms. */
  readonly recoveryTimeoutMs?: number;
  /** Wait after an error answer before fetching again. Default 100 ms. */
  readonly retryBackoffMs?: number;
}

/** What the controller election says, passed in after every election step. */
export interface ElectionState {
  readonly controllerId: number | null;
  /** The highest controller epoch this broker acknowledged. */
  readonly epoch: number;
  readonly isActiveController: boolean;
  /** The view's members: the brokers whose majority commits an entry. */
  readonly members: readonly number[];
  /**
   * Set on the step this broker won an election: its voters' log ends, its own included.
   * `founded`: it won alone, founding a new cluster (it was in none).
   */
  readonly elected?: { readonly epoch: number; readonly logEnds: ReadonlyMap<number, LogEnd>; readonly founded?: boolean };
}

export type QuorumInput =
  | { readonly type: 'election'; readonly state: ElectionState }
  | { readonly type: 'message'; readonly from: number; readonly message: unknown }
  | { readonly type: 'propose'; readonly records: readonly MetadataRecord[] }
  | { readonly type: 'tick' };

/** Storage writes, in order; the driver applies them before sending anything. */
export type LogWrite =
  | { readonly type: 'truncate'; readonly offset: number }
  | { readonly type: 'append'; readonly baseOffset: number; readonly entries: readonly MetadataEntry[] }
  | { readonly type: 'highWatermark'; readonly offset: number };

export type QuorumEvent =
  | { readonly type: 'recovering'; readonly epoch: number; readonly from: number; readonly target: LogEnd }
  | { readonly type: 'ready'; readonly epoch: number; readonly logEnd: LogEnd }
  | { readonly type: 'truncated'; readonly offset: number }
  /**
   * The log was another founding's (two clusters founded apart met, or this broker founded a
   * cluster holding a log it had copied): it was dropped whole, committed entries too, for
   * broker `from`'s. `discarded` entries were committed here.
   */
  | { readonly type: 'replaced'; readonly from: number; readonly discarded: number }
  | { readonly type: 'messageRejected'; readonly from: number; readonly reason: string };

export interface QuorumOutput {
  readonly send: readonly { readonly to: number; readonly message: QuorumMessage }[];
  readonly writes: readonly LogWrite[];
  /** Entries that became committed in this step, from offset `committedFrom`. */
  readonly committed: readonly MetadataEntry[];
  readonly committedFrom: number;
  /** For a `propose`: where the records went, or null when this broker cannot propose now. */
  readonly proposed: { readonly baseOffset: number; readonly lastOffset: number } | null;
  /** The controller could not collect the metadata in time: the election should step down. */
  readonly resign: boolean;
  readonly events: readonly QuorumEvent[];
  readonly wakeAt: number | null;
}

export type QuorumRole = 'follower' | 'recovering' | 'leader';

interface Parked {
  readonly request: FetchMessage;
  readonly until: number;
}

interface InFlight {
  readonly to: number;
  readonly offset: number;
  readonly sentAt: number;
}

export class MetadataQuorum {
  readonly brokerId: number;
  readonly fetchMaxWaitMs: number;
  readonly fetchTimeoutMs: number;
  readonly recoveryTimeoutMs: number;
  readonly retryBackoffMs: number;

  private readonly log: MetadataEntry[];
  private hw: number;
  private _role: QuorumRole = 'follower';
  private election: ElectionState = { controllerId: null, epoch: 0, isActiveController: false, members: [] };
  /** The controller this follower fetches from, and its epoch. */
  private leader: { readonly id: number; readonly epoch: number } | null = null;
  private inFlight: InFlight | null = null;
  private nextFetchAt = Number.POSITIVE_INFINITY;
  // Leader state.
  private readonly matched = new Map<number, number>();
  private readonly parked = new Map<number, Parked>();
  private markerOffset = -1;
  // Recovery state.
  private recovery: { readonly from: number; readonly target: LogEnd; readonly until: number } | null = null;

  // Output of the step in progress.
  private out: { to: number; message: QuorumMessage }[] = [];
  private writes: LogWrite[] = [];
  private events: QuorumEvent[] = [];
  private committedFrom = 0;
  private resign = false;

  constructor(config: MetadataQuorumConfig) {
    this.brokerId = config.brokerId;
    this.fetchMaxWaitMs = config.fetchMaxWaitMs ?? 500;
    this.fetchTimeoutMs = config.fetchTimeoutMs ?? 2000;
    this.recoveryTimeoutMs = config.recoveryTimeoutMs ?? 3000;
    this.retryBackoffMs = config.retryBackoffMs ?? 100;
    this.log = [...(config.entries ?? [])];
    this.hw = Math.min(config.highWatermark ?? 0, this.log.length);
  }

  // ---------------------------------------------------------------- read-only view

  get role(): QuorumRole {
    return this._role;
  }
  /** Active controller whose log is complete: it may propose. */
  get isReady(): boolean {
    return this._role === 'leader';
  }
  get highWatermark(): number {
    return this.hw;
  }
  get entries(): readonly MetadataEntry[] {
    return this.log;
  }
  /**
   * As the ready controller: whether a majority of `members` holds every committed entry (for
   * a follower: its last fetch matched our log up to the high watermark).
   */
  heldByMajorityOf(members: readonly number[]): boolean {
    if (this._role !== 'leader') return false;
    // Right after an election our high watermark may lag what the last controller committed.
    // Our LeaderChange comes after all of it, so holding that is holding every committed entry.
    const needed = Math.max(this.hw, this.markerOffset + 1);
    return members.filter((id) => this.heldBy(id) >= needed).length >= majorityOfCount(members.length);
  }

  /** The founding this log descends from (see LogOrigin). */
  get origin(): LogOrigin | null {
    const first = this.log[0];
    if (first === undefined) return null;
    // Every log starts with its founding controller's LeaderChange; anything else is its own origin.
    return { epoch: first.epoch, controllerId: first.record.type === 'LeaderChange' ? first.record.controllerId : 0 };
  }
  get logEnd(): LogEnd {
    return { epoch: this.log.at(-1)?.epoch ?? 0, offset: this.log.length };
  }

  // ---------------------------------------------------------------- input

  handle(input: QuorumInput, now: number): QuorumOutput {
    this.out = [];
    this.writes = [];
    this.events = [];
    this.resign = false;
    this.committedFrom = this.hw;
    let proposed: QuorumOutput['proposed'] = null;
    switch (input.type) {
      case 'election':
        this.onElection(input.state, now);
        break;
      case 'message':
        this.receive(input.from, input.message, now);
        break;
      case 'propose':
        proposed = this.propose(input.records);
        break;
      case 'tick':
        break;
    }
    this.step(now);
    return {
      send: this.out,
      writes: this.writes,
      committed: this.log.slice(this.committedFrom, this.hw),
      committedFrom: this.committedFrom,
      proposed,
      resign: this.resign,
      events: this.events,
      wakeAt: this.nextWake(),
    };
  }

  private onElection(state: ElectionState, now: number): void {
    const previous = this.election;
    this.election = state;
    if (state.elected && state.isActiveController) {
      // A new cluster starts a new history: a log this broker copied while it waited to be
      // admitted elsewhere would give the new founding that cluster's origin.
      if (state.elected.founded) {
        if (this.log.length > 0) this.replaceLog(this.brokerId);
        // Alone in its view, it is its own freshest voter.
        this.startRecovery(state.elected.epoch, new Map(), now);
      } else {
        this.startRecovery(state.elected.epoch, state.elected.logEnds, now);
      }
      return;
    }
    if (this._role !== 'follower' && (!state.isActiveController || state.epoch !== previous.epoch)) {
      this.becomeFollower();
    }
    if (this._role === 'leader') this.advanceHighWatermark(); // the view may have changed
    if (this._role !== 'follower') return;
    const controller = state.controllerId;
    const next = controller === null || controller === this.brokerId ? null : { id: controller, epoch: state.epoch };
    if (next?.id !== this.leader?.id || next?.epoch !== this.leader?.epoch) {
      this.leader = next;
      this.inFlight = null;
      this.nextFetchAt = next === null ? Number.POSITIVE_INFINITY : now;
    }
  }

  private receive(from: number, raw: unknown, now: number): void {
    let message: QuorumMessage;
    try {
      message = parseQuorumMessage(raw);
    } catch (error) {
      this.events.push({ type: 'messageRejected', from, reason: error instanceof Error ? error.message : 'unreadable' });
      return;
    }
    if (message.type === 'FETCH') this.onFetch(from, message, now);
    else this.onFetchResponse(from, message, now);
  }

  // ---------------------------------------------------------------- serving fetches

  private onFetch(from: number, request: FetchMessage, now: number): void {
    if (request.recovery) {
      // A voter's log is stable once it acknowledged the new epoch: serve it as it is.
      if (request.epoch >= this.election.epoch) this.answer(from, request, this.divergence(request));
      else this.reply(from, request, 'notController');
      return;
    }
    if (this._role === 'recovering') {
      this.reply(from, request, 'notReady');
      return;
    }
    if (this._role !== 'leader' || request.epoch !== this.election.epoch) {
      this.reply(from, request, 'notController');
      return;
    }
    const diverging = this.divergence(request);
    if (diverging === null) {
      this.matched.set(from, request.offset);
      this.advanceHighWatermark();
    } else {
      // Whatever it matched before (another founding's log, say), it holds no more than this now.
      this.matched.delete(from);
    }
    if (diverging !== null || request.offset < this.log.length || request.highWatermark < this.hw) {
      this.answer(from, request, diverging);
      return;
    }
    this.parked.set(from, { request, until: now + this.fetchMaxWaitMs });
  }

  /** Null when the fetcher's log matches ours up to its offset; else where ours ends for its last epoch. */
  private divergence(request: FetchMessage): LogEnd | null {
    const { offset, lastEpoch } = request;
    if (offset === 0) return null;
    // Another founding's log matches ours nowhere, whatever its epochs say.
    if (!sameOrigin(request.origin, this.origin)) return { epoch: 0, offset: 0 };
    if (offset <= this.log.length && this.log[offset - 1]?.epoch === lastEpoch) return null;
    return this.endForEpoch(lastEpoch);
  }

  /** Our log end for the largest epoch <= `epoch` we hold (KIP-101's OffsetsForLeaderEpoch). */
  private endForEpoch(epoch: number): LogEnd {
    for (let i = this.log.length - 1; i >= 0; i--) {
      const entry = this.log[i]!;
      if (entry.epoch <= epoch) return { epoch: entry.epoch, offset: i + 1 };
    }
    return { epoch: 0, offset: 0 };
  }

  private answer(to: number, request: FetchMessage, diverging: LogEnd | null): void {
    this.parked.delete(to);
    const entries = diverging === null ? this.log.slice(request.offset, request.offset + MAX_FETCH_ENTRIES) : [];
    this.send(to, {
      type: 'FETCH_RESPONSE',
      epoch: this.election.epoch,
      offset: request.offset,
      highWatermark: this.hw,
      entries,
      diverging,
      error: null,
      origin: this.origin,
    });
  }

  private reply(to: number, request: FetchMessage, error: FetchError): void {
    this.send(to, {
      type: 'FETCH_RESPONSE',
      epoch: this.election.epoch,
      offset: request.offset,
      highWatermark: 0,
      entries: [],
      diverging: null,
      error,
      origin: this.origin,
    });
  }

  // ---------------------------------------------------------------- following

  private onFetchResponse(from: number, response: FetchResponseMessage, now: number): void {
    const recovering = this._role === 'recovering' && this.recovery?.from === from;
    const following = this._role === 'follower' && this.leader?.id === from;
    if (!recovering && !following) return;
    // Only the controller we follow, in the epoch we acknowledged, writes into our log.
    const expectedEpoch = recovering ? this.election.epoch : this.leader?.epoch;
    if (response.epoch !== expectedEpoch || response.epoch < this.election.epoch) return;
    if (this.inFlight?.to !== from || this.inFlight.offset !== response.offset) return;
    this.inFlight = null;
    if (response.error !== null) {
      this.nextFetchAt = now + this.retryBackoffMs;
      return;
    }
    if (response.origin !== null && this.log.length > 0 && !sameOrigin(response.origin, this.origin)) {
      // We hold another founding's history: the cluster we now follow never had it. Committed
      // or not, it goes, as a Kafka broker of another cluster.id could not join at all.
      this.replaceLog(from);
    } else if (response.diverging !== null) {
      this.truncate(Math.min(response.diverging.offset, this.endForEpoch(response.diverging.epoch).offset));
    } else if (response.offset === this.log.length && response.entries.length > 0) {
      this.append(response.entries);
    }
    // After a truncation what is left is unchecked (our last epoch up to theirs may end on
    // entries they do not hold) until the next fetch matches it: their high watermark would
    // count such entries as committed here.
    if (following && response.diverging === null) this.learnHighWatermark(Math.min(response.highWatermark, this.log.length));
    this.nextFetchAt = now;
    if (recovering) this.maybeFinishRecovery();
  }

  private truncate(offset: number): void {
    if (offset >= this.log.length) return;
    if (offset < this.hw) {
      // Never undo a committed entry: a divergence below the high watermark is a broken peer.
      this.events.push({ type: 'messageRejected', from: this.leader?.id ?? -1, reason: `truncation to ${offset} below the high watermark ${this.hw}` });
      return;
    }
    this.log.length = offset;
    this.writes.push({ type: 'truncate', offset });
    this.events.push({ type: 'truncated', offset });
  }

  private replaceLog(from: number): void {
    const discarded = this.hw;
    this.log.length = 0;
    this.hw = 0;
    this.committedFrom = 0;
    // The high watermark first: stored after a truncation, a stale one would later pass for
    // committed over the new log's uncommitted entries.
    this.writes.push({ type: 'highWatermark', offset: 0 }, { type: 'truncate', offset: 0 });
    this.events.push({ type: 'replaced', from, discarded });
  }

  private append(entries: readonly MetadataEntry[]): void {
    const baseOffset = this.log.length;
    this.log.push(...entries);
    this.writes.push({ type: 'append', baseOffset, entries });
  }

  private learnHighWatermark(offset: number): void {
    if (offset <= this.hw) return;
    this.hw = offset;
    this.writes.push({ type: 'highWatermark', offset });
  }

  private sendFetch(now: number): void {
    const to = this._role === 'recovering' ? this.recovery?.from : this.leader?.id;
    if (to === undefined) return;
    const offset = this.log.length;
    this.inFlight = { to, offset, sentAt: now };
    this.nextFetchAt = Number.POSITIVE_INFINITY;
    this.send(to, {
      type: 'FETCH',
      epoch: this._role === 'recovering' ? this.election.epoch : this.leader!.epoch,
      offset,
      lastEpoch: this.log[offset - 1]?.epoch ?? 0,
      highWatermark: this.hw,
      recovery: this._role === 'recovering',
      origin: this.origin,
    });
  }

  // ---------------------------------------------------------------- leading

  private startRecovery(epoch: number, logEnds: ReadonlyMap<number, LogEnd>, now: number): void {
    this.becomeFollower();
    this.leader = null;
    let source = this.brokerId;
    let target = this.logEnd;
    for (const [id, end] of logEnds) {
      if (compareLogEnds(end, target) > 0) {
        source = id;
        target = end;
      }
    }
    if (source === this.brokerId) {
      this.becomeLeader(epoch);
      return;
    }
    this._role = 'recovering';
    this.recovery = { from: source, target, until: now + this.recoveryTimeoutMs };
    this.events.push({ type: 'recovering', epoch, from: source, target });
    this.nextFetchAt = now;
  }

  private maybeFinishRecovery(): void {
    const target = this.recovery?.target;
    if (target && compareLogEnds(this.logEnd, target) >= 0) this.becomeLeader(this.election.epoch);
  }

  private becomeLeader(epoch: number): void {
    this._role = 'leader';
    this.recovery = null;
    this.inFlight = null;
    this.nextFetchAt = Number.POSITIVE_INFINITY;
    this.matched.clear();
    this.parked.clear();
    this.markerOffset = this.log.length;
    this.append([{ epoch, record: { type: 'LeaderChange', controllerId: this.brokerId, epoch } }]);
    this.events.push({ type: 'ready', epoch, logEnd: this.logEnd });
    this.advanceHighWatermark();
  }

  private becomeFollower(): void {
    this._role = 'follower';
    this.recovery = null;
    this.inFlight = null;
    this.matched.clear();
    this.parked.clear();
    this.markerOffset = -1;
    // Force a fresh look at who leads on the next election step.
    this.leader = null;
    this.nextFetchAt = Number.POSITIVE_INFINITY;
  }

  private propose(records: readonly MetadataRecord[]): QuorumOutput['proposed'] {
    if (this._role !== 'leader' || records.length === 0) return null;
    const baseOffset = this.log.length;
    const epoch = this.election.epoch;
    this.append(records.map((record) => ({ epoch, record })));
    this.advanceHighWatermark();
    return { baseOffset, lastOffset: this.log.length - 1 };
  }

  /** How much of our log `id` holds: all of it for us, what its last matching fetch showed for a follower (-1: unknown). */
  private heldBy(id: number): number {
    return id === this.brokerId ? this.log.length : (this.matched.get(id) ?? -1);
  }

  /** The largest offset a majority of the view holds, once it covers this epoch's first entry. */
  private advanceHighWatermark(): void {
    const members = this.election.members;
    if (members.length === 0) return;
    const held = members.map((id) => this.heldBy(id)).sort((a, b) => b - a);
    const candidate = held[majorityOfCount(members.length) - 1] ?? 0;
    if (candidate > this.markerOffset && candidate > this.hw) {
      this.learnHighWatermark(candidate);
      // Parked followers learn the new high watermark now, not at the end of their long poll.
      for (const [id, { request }] of this.parked) this.answer(id, request, null);
    }
  }

  // ---------------------------------------------------------------- time

  private step(now: number): void {
    if (this._role === 'leader') {
      for (const [id, { request, until }] of this.parked) {
        if (now >= until || request.offset < this.log.length) this.answer(id, request, null);
      }
      return;
    }
    if (this._role === 'recovering' && this.recovery && now >= this.recovery.until) {
      this.becomeFollower();
      this.resign = true;
      return;
    }
    if (this.inFlight && now >= this.inFlight.sentAt + this.fetchTimeoutMs) {
      this.inFlight = null;
      this.nextFetchAt = now;
    }
    if (this.inFlight === null && now >= this.nextFetchAt) this.sendFetch(now);
  }

  private nextWake(): number | null {
    const times: number[] = [];
    if (this._role === 'leader') for (const { until } of this.parked.values()) times.push(until);
    if (this._role === 'recovering' && this.recovery) times.push(this.recovery.until);
    if (this.inFlight) times.push(this.inFlight.sentAt + this.fetchTimeoutMs);
    else if (Number.isFinite(this.nextFetchAt)) times.push(this.nextFetchAt);
    return times.length === 0 ? null : Math.min(...times);
  }

  private send(to: number, message: QuorumMessage): void {
    this.out.push({ to, message });
  }
}

/** Raft's "more up to date": a later last epoch, or the same epoch and a longer log. */
export function compareLogEnds(a: LogEnd, b: LogEnd): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.offset - b.offset;
}

function sameOrigin(a: LogOrigin | null, b: LogOrigin | null): boolean {
  return a?.epoch === b?.epoch && a?.controllerId === b?.controllerId;
}
