/**
 * One partition replica on this broker (Kafka's Partition): its log, and whether it leads or
 * follows under which leader epoch. The leader appends producers' batches, tracks how far
 * each follower has fetched, keeps the high watermark (the lowest log end among the ISR),
 * completes acks=all writes once the ISR has them, and proposes ISR changes: a follower that
 * has not caught up for replicaLagTimeMaxMs leaves, one that caught up comes back.
 * Consumers read only below the high watermark. A follower appends what it fetched, with the
 * leader's offsets and epochs, and learns the high watermark from the leader.
 */
import { FencedLeaderEpochError, NotEnoughReplicasError, NotLeaderOrFollowerError, OffsetOutOfRangeError, RequestTimedOutError } from '../errors';
import { ProducerStateTable } from '../log/producer-state';
import type { AppendResult, PartitionLog, ReadResult } from '../log/partition-log';
import { UNDEFINED_EPOCH, latestEpoch } from '../log/leader-epoch-cache';
import { readBatchHeader, splitRecordBatches } from '../protocol/record-batch';
import { sameMembers } from '../util/same-members';
import { BatchOrigins } from './produce-echo';
import { SerialQueue } from '../util/serial-queue';
import { checkCompressedRecords } from '../protocol/compression';

export interface PartitionAssignment {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface ReplicaFetch {
  readonly replicaId: number;
  readonly offset: number;
  readonly lastFetchedEpoch: number;
  readonly leaderEpoch: number;
  readonly maxWaitMs: number;
  readonly maxBytes: number;
}

export interface FetchResult extends ReadResult {
  readonly highWatermark: number;
  /** Set when a follower's log diverges from the leader's: truncate to at most this, then fetch again. */
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
}

interface FollowerState {
  /** The follower's log end: the offset it last fetched from. */
  leo: number;
  lastCaughtUpMs: number;
  /** Our log end when the follower's previous fetch was answered, and when. */
  lastFetchLeaderLeo: number;
  lastFetchMs: number;
}

export type Acks = 0 | 1 | -1;

/** Where waits get their timers: real ones in a broker, a virtual clock's in a simulation. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export const DEFAULT_REPLICA_LAG_TIME_MAX_MS = 5000;

export class Partition {
  private role: 'leader' | 'follower' = 'follower';
  private assignment: PartitionAssignment;
  private hw = 0;
  /** This replica's log end when it last became leader. */
  private leaderStartLeo = 0;
  private readonly followers = new Map<number, FollowerState>();
  private readonly origins = new BatchOrigins();
  private readonly listeners = new Set<() => void>();
  private readonly writes = new SerialQueue();
  readonly producers = new ProducerStateTable();
  /** An ISR change sent to the controller and not yet seen in the metadata. */
  pendingIsr: readonly number[] | null = null;
  minInSyncReplicas = 1;

  constructor(
    readonly brokerId: number,
    readonly log: PartitionLog,
    assignment: PartitionAssignment,
    private readonly now: () => number,
    readonly replicaLagTimeMaxMs = DEFAULT_REPLICA_LAG_TIME_MAX_MS,
    private readonly timers: Timers = REAL_TIMERS,
  ) {
    this.assignment = assignment;
    // Everything below a checkpointed high watermark was on every in-sync replica, and no clean
    // election takes it back: a restarted leader serves it at once instead of waiting for its
    // followers to fetch again.
    this.hw = Math.max(log.logStartOffset, Math.min(log.checkpointedHighWatermark, log.logEndOffset));
    this.applyAssignment(assignment);
    this.producersLoaded = this.writes.run(() => this.loadProducerState());
    this.producersLoaded.catch(() => undefined);
  }

  /** Idempotent producers' state comes back from the log itself (Kafka replays the log tail too). */
  private readonly producersLoaded: Promise<void>;

  private async loadProducerState(): Promise<void> {
    let offset = this.log.logStartOffset;
    while (offset < this.log.logEndOffset) {
      const { batches } = await this.log.read(offset, { maxBytes: 4 * 1024 * 1024 });
      if (batches.length === 0) return;
      for (const batch of batches) {
        const header = readBatchHeader(batch);
        this.producers.record(header, header.baseOffset, header.baseOffset + header.lastOffsetDelta);
        offset = header.baseOffset + header.lastOffsetDelta + 1;
      }
    }
  }

  get topic(): string {
    return this.log.topic;
  }
  get partition(): number {
    return this.log.partition;
  }
  get isLeader(): boolean {
    return this.role === 'leader';
  }
  get leaderId(): number {
    return this.assignment.leader;
  }
  get leaderEpoch(): number {
    return this.assignment.leaderEpoch;
  }
  get isr(): readonly number[] {
    return this.assignment.isr;
  }
  get highWatermark(): number {
    return this.hw;
  }
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }
  /** Each follower's fetch position, as this leader last saw it. */
  followerOffsets(): Map<number, number> {
    return new Map([...this.followers].map(([id, state]) => [id, state.leo]));
  }

  /** The metadata says who leads now. Returns true when this broker's role or epoch changed. */
  applyAssignment(next: PartitionAssignment): boolean {
    const previous = this.assignment;
    this.assignment = next;
    const role = next.leader === this.brokerId ? 'leader' : 'follower';
    const changed = role !== this.role || next.leaderEpoch !== previous.leaderEpoch;
    this.role = role;
    if (this.pendingIsr && sameMembers(this.pendingIsr, next.isr)) this.pendingIsr = null;
    if (changed) {
      this.pendingIsr = null;
      this.followers.clear();
      this.origins.clear();
      const now = this.now();
      // A new leader gives every follower a fresh lag clock (none has had a chance to fetch
      // yet) and an unknown position (-1) until it fetches.
      for (const id of next.replicas) {
        if (id !== this.brokerId) this.followers.set(id, { leo: -1, lastCaughtUpMs: now, lastFetchLeaderLeo: 0, lastFetchMs: now });
      }
      this.leaderStartLeo = this.log.logEndOffset;
    }
    if (role === 'leader') this.advanceHighWatermark();
    this.notify();
    return changed;
  }

  // ---------------------------------------------------------------- leader

  /**
   * Appends a producer's batch (leader only). acks=-1 resolves once every ISR member has it.
   * `origin`: the broker that sent it, when a peer did (its fetches get the batch as a header).
   */
  async produce(records: Uint8Array, acks: Acks, timeoutMs: number, origin = -1): Promise<AppendResult> {
    await this.producersLoaded;
    const batches = splitRecordBatches(records);
    // Outside the write lock: inflating takes a while, and followers never need to (they copy checked batches).
    for (const batch of batches) await checkCompressedRecords(batch);
    const { epoch, result } = await this.writes.run(async () => {
      this.requireLeader();
      const isrSize = this.assignment.isr.length;
      if (acks === -1 && isrSize < this.minInSyncReplicas) {
        throw new NotEnoughReplicasError(this.topic, this.partition, isrSize, this.minInSyncReplicas);
      }
      const headers = batches.map(readBatchHeader);
      const first = headers[0];
      const duplicate = headers.length === 1 && first ? this.producers.check(first) : null;
      if (duplicate) return { epoch: this.leaderEpoch, result: { ...duplicate, logEndOffset: this.log.logEndOffset } };
      const leaderEpoch = this.leaderEpoch;
      const appended = await this.log.append(records, { assignOffsets: true, leaderEpoch });
      if (origin >= 0 && headers.length === 1) this.origins.record(appended.baseOffset, origin);
      this.recordProducers(headers, appended.baseOffset);
      this.advanceHighWatermark();
      this.notify();
      return { epoch: leaderEpoch, result: appended };
    });
    if (acks === -1) await this.awaitHighWatermark(result.lastOffset + 1, epoch, timeoutMs);
    return result;
  }

  /** A follower fetches (leader only): where it is tells us how far it has come. */
  async fetchForFollower(request: ReplicaFetch): Promise<FetchResult> {
    this.requireLeader();
    if (request.leaderEpoch !== this.leaderEpoch) {
      throw new FencedLeaderEpochError(this.topic, this.partition, request.leaderEpoch, this.leaderEpoch);
    }
    const diverging = this.divergence(request.offset, request.lastFetchedEpoch);
    if (diverging) return { batches: [], logStartOffset: this.log.logStartOffset, logEndOffset: this.log.logEndOffset, highWatermark: this.hw, divergingEpoch: diverging };
    this.updateFollower(request.replicaId, request.offset);
    if (request.offset >= this.log.logEndOffset) {
      await this.waitFor(() => !this.isLeader || this.log.logEndOffset > request.offset, request.maxWaitMs);
      this.requireLeader();
    }
    const read = request.offset < this.log.logEndOffset ? await this.log.read(request.offset, { maxBytes: request.maxBytes }) : this.emptyRead();
    const follower = this.followers.get(request.replicaId);
    if (follower) {
      follower.lastFetchLeaderLeo = this.log.logEndOffset;
      follower.lastFetchMs = this.now();
    }
    return { ...read, highWatermark: this.hw, divergingEpoch: null };
  }

  /** A consumer fetches (leader only): whole batches below the high watermark. */
  async fetchForConsumer(offset: number, maxWaitMs: number, maxBytes: number): Promise<FetchResult> {
    this.requireLeader();
    if (offset >= this.hw) {
      await this.waitFor(() => !this.isLeader || this.hw > offset, maxWaitMs);
      this.requireLeader();
    }
    const read = offset < this.hw ? await this.log.read(offset, { maxBytes, maxOffset: this.hw }) : await this.checkedEmptyRead(offset);
    return { ...read, highWatermark: this.hw, divergingEpoch: null };
  }

  /** Kafka's DeleteRecords (leader only): moves the log start to `offset` (-1: the high watermark). */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.requireLeader();
    const target = offset === -1 ? this.hw : offset;
    if (target > this.hw || target < 0) {
      throw new OffsetOutOfRangeError(this.topic, this.partition, target, this.log.logStartOffset, this.hw);
    }
    return this.writes.run(() => this.log.deleteRecordsBefore(target));
  }

  /** A follower's log start follows the leader's (after DeleteRecords or retention there). */
  async followLogStart(leaderLogStart: number): Promise<void> {
    if (leaderLogStart <= this.log.logStartOffset || leaderLogStart > this.log.logEndOffset) return;
    await this.writes.run(() => this.log.deleteRecordsBefore(leaderLogStart));
  }

  /** The ISR this leader wants now, if it differs from the current one and nothing is pending. */
  desiredIsr(): number[] | null {
    if (!this.isLeader || this.pendingIsr) return null;
    const now = this.now();
    const isr = this.assignment.isr;
    const keep = isr.filter((id) => {
      if (id === this.brokerId) return true;
      const follower = this.followers.get(id);
      return follower !== undefined && now - follower.lastCaughtUpMs <= this.replicaLagTimeMaxMs;
    });
    const join = this.assignment.replicas.filter((id) => {
      if (isr.includes(id) || id === this.brokerId) return false;
      const follower = this.followers.get(id);
      // Caught up: it holds everything committed since this leader started (below the high
      // watermark) and everything this leader held when it started (which covers whatever
      // was committed before: the high watermark itself starts from 0 after a restart).
      return follower !== undefined && follower.leo >= this.hw && follower.leo >= this.leaderStartLeo;
    });
    const next = [...keep, ...join];
    return sameMembers(next, isr) ? null : next;
  }

  // ---------------------------------------------------------------- follower

  /** Appends batches fetched from the leader, with its offsets and epochs. */
  async appendFromLeader(batches: readonly Uint8Array[], leaderHighWatermark: number): Promise<void> {
    await this.writes.run(async () => {
      // A fetch may start inside a batch we already hold the head of: skip what we have.
      const missing = batches
        .flatMap(splitRecordBatches)
        .map((batch) => ({ batch, header: readBatchHeader(batch) }))
        .filter(({ header }) => header.baseOffset + header.lastOffsetDelta >= this.log.logEndOffset);
      if (missing.length > 0) {
        // All of them in one storage transaction: under load a fetch brings several batches.
        const appended = await this.log.append(missing.map(({ batch }) => batch), { assignOffsets: false });
        this.recordProducers(missing.map(({ header }) => header), appended.baseOffset);
      }
      this.learnHighWatermark(Math.min(leaderHighWatermark, this.log.logEndOffset));
      this.notify();
    });
  }

  learnHighWatermark(offset: number): void {
    if (offset > this.hw) this.hw = Math.min(offset, this.log.logEndOffset);
  }

  /** The broker whose produce request wrote the batch at `baseOffset`, if this leader knows it. */
  originOf(baseOffset: number): number | undefined {
    return this.origins.originOf(baseOffset);
  }

  /** KIP-101: drop whatever the leader does not have. Never below the high watermark. */
  async truncateTo(offset: number): Promise<void> {
    await this.writes.run(async () => {
      const target = Math.max(offset, 0);
      await this.log.truncateTo(target);
      this.producers.truncateTo(target);
      this.origins.clear();
      if (this.hw > this.log.logEndOffset) this.hw = this.log.logEndOffset;
    });
  }

  /** Where this follower's log diverges from the leader's, as the leader answered it. */
  truncationPoint(divergingEpoch: number, divergingEndOffset: number): number {
    const local = this.log.endOffsetForEpoch(divergingEpoch);
    const localEnd = local.epoch === UNDEFINED_EPOCH ? 0 : local.startOffset;
    return Math.min(divergingEndOffset, localEnd, this.log.logEndOffset);
  }

  /** The epoch of the last record this replica holds (-1 when empty): what a fetch validates. */
  get lastFetchedEpoch(): number {
    return latestEpoch(this.log.epochs);
  }

  /** Wakes waiters on an empty fetch or an acks=all write. */
  close(): void {
    this.role = 'follower';
    this.notify();
  }

  // ---------------------------------------------------------------- internals

  private divergence(offset: number, lastFetchedEpoch: number): FetchResult['divergingEpoch'] {
    // Past our end with no epoch to compare: a log that is not this partition's history (left
    // from a deleted topic of the same name, say). Counted as caught up, it would let the high
    // watermark pass records it lacks; truncated to nothing, it fetches everything again.
    if (offset > this.log.logEndOffset && lastFetchedEpoch < 0) return { epoch: UNDEFINED_EPOCH, endOffset: this.log.logEndOffset };
    if (offset === 0 || lastFetchedEpoch < 0) return null;
    const entry = this.log.endOffsetForEpoch(lastFetchedEpoch);
    if (entry.epoch === lastFetchedEpoch && entry.startOffset >= offset) return null;
    if (entry.epoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: this.log.logStartOffset };
    return { epoch: entry.epoch, endOffset: entry.startOffset };
  }

  private updateFollower(id: number, offset: number): void {
    const follower = this.followers.get(id);
    if (!follower) return; // not a replica: serve it, but it counts for nothing
    follower.leo = offset;
    const now = this.now();
    // Kafka's rule: caught up now if it has our whole log, or since its previous fetch if it
    // has everything we had then.
    if (offset >= this.log.logEndOffset) follower.lastCaughtUpMs = now;
    else if (offset >= follower.lastFetchLeaderLeo) follower.lastCaughtUpMs = Math.max(follower.lastCaughtUpMs, follower.lastFetchMs);
    this.advanceHighWatermark();
  }

  private advanceHighWatermark(): void {
    if (!this.isLeader) return;
    // An ISR member being added counts at once (KIP-497's maximal ISR), one being removed counts until it is gone.
    const members = new Set([...this.assignment.isr, ...(this.pendingIsr ?? [])]);
    let low = this.log.logEndOffset;
    for (const id of members) {
      if (id === this.brokerId) continue;
      low = Math.min(low, this.followers.get(id)?.leo ?? 0);
    }
    if (low > this.hw) {
      this.hw = low;
      this.notify();
    }
  }

  private recordProducers(headers: readonly ReturnType<typeof readBatchHeader>[], baseOffset: number): void {
    let offset = baseOffset;
    for (const header of headers) {
      this.producers.record(header, offset, offset + header.lastOffsetDelta);
      offset += header.lastOffsetDelta + 1;
    }
  }

  private async awaitHighWatermark(offset: number, epoch: number, timeoutMs: number): Promise<void> {
    const reached = await this.waitFor(() => this.hw >= offset || !this.isLeader || this.leaderEpoch !== epoch, timeoutMs);
    if (this.hw >= offset && this.leaderEpoch === epoch) return;
    if (!reached) throw new RequestTimedOutError(`acks=all for ${this.topic}-${this.partition} offset ${offset - 1}`, timeoutMs);
    // Leadership moved before the ISR had the record: it may survive or not; the producer retries.
    throw new NotLeaderOrFollowerError(this.topic, this.partition, this.brokerId, this.leaderId);
  }

  /** Resolves true when `ready()` holds, false after `timeoutMs`. */
  private waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const listener = () => {
        if (!ready()) return;
        cleanup();
        resolve(true);
      };
      const timer = this.timers.setTimeout(() => {
        cleanup();
        resolve(ready());
      }, Math.max(0, timeoutMs));
      const cleanup = () => {
        this.timers.clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private requireLeader(): void {
    if (!this.isLeader) throw new NotLeaderOrFollowerError(this.topic, this.partition, this.brokerId, this.leaderId);
  }

  private emptyRead(): ReadResult {
    return { batches: [], logStartOffset: this.log.logStartOffset, logEndOffset: this.log.logEndOffset };
  }

  /** An offset at the high watermark is fine (nothing yet); past the log end is out of range. */
  private async checkedEmptyRead(offset: number): Promise<ReadResult> {
    if (offset > this.log.logEndOffset || offset < this.log.logStartOffset) await this.log.read(offset); // throws OffsetOutOfRangeError
    return this.emptyRead();
  }
}
