/**
 * Deterministic simulation of one consumer group: the real GroupCoordinator on a simulated
 * broker whose `__consumer_offsets` log acknowledges writes late (and sometimes not at all), and
 * real GroupMemberships with the real assignors, on a simulated network with a virtual clock.
 * One seed drives everything; a failing seed replays exactly.
 *
 * One run: a topic of P partitions (2-8), each a fixed log of N records (20-200). Members (up
 * to 2-6 at once) consume it: each assigned partition gets a worker that fetches the committed
 * offset, processes records one at a time and commits every K records; on revocation it stops
 * and commits its position, on loss it just stops. Chaos: members join late, leave cleanly,
 * crash (fall silent, no leave) and come back as new members, or are cut off for a while (and
 * go on processing as zombies); the coordinator fails over (the new one loads every
 * acknowledged record, and maybe the write that was in flight); messages are lost; log writes
 * fail. Then healing: no more faults, and the surviving members must finish (every partition
 * committed at N) within a generous virtual deadline. With `faults: false` members only come
 * and go cleanly, and a fifth rule holds: no two members process one partition at once.
 *
 * Checked all along, reported with the seed:
 *  1. at every quiescent point (group Stable, every live member in it, in its generation, with
 *     the coordinator's assignment and no rejoin pending) each partition has exactly one owner;
 *     at the end there must be such a point;
 *  2. no two members are ever handed one partition in one generation (every sync answer);
 *  3. a partition's committed offset never goes back (every successful commit, every fetch
 *     answer, every coordinator's freshly loaded state);
 *  4. a committed offset never runs ahead of processing (every record below it was processed by
 *     someone), and in the end every record of every partition was processed;
 * plus liveness: everything committed at N before the deadline.
 *
 * Microtasks are drained (setImmediate) after every event, so each promise chain the event
 * started settles before virtual time moves on: nothing waits on real time.
 */
import { GroupCoordinator } from '../../src/coordinator/group-coordinator';
import type { CommittedOffset, GroupDescription, MemberRequest, OffsetToCommit, SyncGroupRequest } from '../../src/coordinator/group-coordinator';
import type { SyncGroupResponse } from '../../src/coordinator/group-metadata';
import { groupRecordToInput, parseGroupRecord } from '../../src/coordinator/group-records';
import type { GroupRecord } from '../../src/coordinator/group-records';
import { GroupMembership } from '../../src/consumer/group-membership';
import type { AssignmentListener, Clock, GroupTransport } from '../../src/consumer/group-membership';
import type { Assignor, TopicPartition } from '../../src/consumer/assignor';
import { Assignors } from '../../src/consumer/assignors';
import { InconsistentGroupProtocolError, NotCoordinatorError, RequestTimedOutError, TabkaError } from '../../src/errors';
import { EventQueue } from './event-queue';
import { Prng } from './prng';

const GROUP = 'sim-group';
const TOPIC = 'sim-topic';
const TICK_MS = 100;
const RETRY_MS = 100;
/** After healing, everything must be committed within this much virtual time. */
const HEAL_LIMIT_MS = 240_000;

export class GroupSimulationFailure extends Error {
  override readonly name = 'GroupSimulationFailure';
  constructor(
    readonly seed: number,
    readonly time: number,
    reason: string,
    /** 'liveness': the invariants held but the group never finished. */
    readonly kind: 'invariant' | 'liveness',
    /** How often the run saw the coordinator's known liveness bug at work (see `abandonedGenerations`). */
    readonly abandonedGenerations: number,
  ) {
    super(`seed ${seed} at t=${time}ms: ${reason}`);
  }
}

export interface GroupSimulationOptions {
  readonly trace?: (line: string) => void;
  /** false: no crashes, failovers, losses or failed writes; members still come and go. Default true. */
  readonly faults?: boolean;
}

export interface GroupSimulationStats {
  readonly seed: number;
  readonly partitions: number;
  readonly records: number;
  readonly assignors: string;
  /** GroupMemberships started over the run. */
  readonly members: number;
  readonly crashes: number;
  readonly leaves: number;
  readonly failovers: number;
  readonly lostMessages: number;
  readonly failedWrites: number;
  /** Highest generation handed out. */
  readonly generations: number;
  /** Records processed, counting repeats. */
  readonly processed: number;
  /** Records processed more than once (at-least-once at work). */
  readonly reprocessed: number;
  readonly healedAt: number;
  /** Virtual time at which every partition was committed at N with the group settled. */
  readonly finishedAt: number;
  /** Generations the coordinator gave up in the tick that completed them (its lastHeard bug). */
  readonly abandonedGenerations: number;
}

export function runGroupSimulation(seed: number, options: GroupSimulationOptions = {}): Promise<GroupSimulationStats> {
  return new GroupSimulation(seed, options).run();
}

// ---------------------------------------------------------------- model

interface SimEvent {
  readonly action: () => void;
  /** A timeout that was answered first: skipped without draining. */
  cancelled: boolean;
}

interface Worker {
  readonly partition: number;
  stopped: boolean;
  /** Next offset to process; null until the committed offset was fetched. */
  position: number | null;
  /** Highest offset this worker committed successfully. */
  committed: number;
  /** Processed and committed everything: the loop has ended. */
  finished: boolean;
  /** Settles when the loop has stopped (its in-flight step done). */
  done: Promise<void>;
}

type MemberState = 'running' | 'stopping' | 'stopped' | 'crashed';

interface SimMember {
  readonly name: string;
  readonly assignors: readonly Assignor[];
  /** As GroupMembership decides it: every assignor cooperative. */
  readonly cooperative: boolean;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly recordMs: number;
  readonly commitEvery: number;
  membership: GroupMembership;
  transport: GroupTransport;
  clock: Clock;
  state: MemberState;
  replaced: boolean;
  /** Every message to or from the member is lost until then: it may go on as a zombie. */
  isolatedUntil: number;
  readonly workers: Map<number, Worker>;
  /** Revoked something (not lost) since the last completed join. */
  revokedSinceJoin: boolean;
  /** Listener callbacks under way: the membership's view of what it owns is changing. */
  busy: number;
  /** A cooperative member that gave partitions up rejoins once more: the group is not settled yet. */
  followUp: boolean;
}

interface PendingWrite {
  readonly epoch: number;
  readonly records: readonly GroupRecord[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface ProcessedRecord {
  readonly member: string;
  readonly generation: number;
  readonly partition: number;
  readonly offset: number;
  readonly time: number;
}

type AssignorMode = 'cooperative' | 'range' | 'roundrobin' | 'mixed';

class GroupSimulation {
  private readonly prng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private now = 0;
  private failure: string | null = null;
  private readonly faults: boolean;
  private readonly trace: ((line: string) => void) | undefined;

  // The topic.
  private readonly partitions: number;
  private readonly records: number;
  private readonly allPartitions: TopicPartition[];

  // The coordinator's broker and its log.
  private coordinator: GroupCoordinator | null = null;
  private coordinatorLoaded = false;
  private epoch = 0;
  /** __consumer_offsets as the replicas hold it: what every new coordinator loads. */
  private readonly log: { key: Uint8Array | null; value: Uint8Array | null }[] = [];
  private readonly inFlightWrites = new Set<PendingWrite>();
  private readonly maxWriteDelayMs: number;
  private writeFailureRate = 0;
  private memberIds = 0;

  // The network.
  private lossRate = 0;

  // Members.
  private readonly assignorMode: AssignorMode;
  private readonly sharedAssignor: Assignor;
  private readonly maxMembers: number;
  /** Typical virtual ms a member spends on one record. */
  private readonly pace: number;
  private readonly members: SimMember[] = [];
  private readonly chaosMs: number;
  private healed = false;
  private healedAt = 0;

  // Ground truth and observations.
  private readonly processedLog: ProcessedRecord[] = [];
  private readonly processedCount: Uint16Array[];
  /** Per partition: every offset below this was processed by someone. */
  private readonly processedPrefix: number[];
  /** Per partition: the highest committed offset anyone has seen (-1: none). */
  private readonly committedHigh: number[];
  /** generation -> partition -> member id, from every sync answer. */
  private readonly owners = new Map<number, Map<number, string>>();
  private generations = 0;
  private crashes = 0;
  private leaves = 0;
  private failovers = 0;
  private lostMessages = 0;
  private failedWrites = 0;
  private finishedAt = -1;
  private abandonedGenerations = 0;

  constructor(
    readonly seed: number,
    options: GroupSimulationOptions,
  ) {
    this.prng = new Prng(seed);
    this.trace = options.trace;
    this.faults = options.faults ?? true;
    this.partitions = this.prng.int(2, 8);
    this.records = this.prng.int(20, 200);
    this.allPartitions = Array.from({ length: this.partitions }, (_, partition) => ({ topic: TOPIC, partition }));
    this.processedCount = this.allPartitions.map(() => new Uint16Array(this.records));
    this.processedPrefix = this.allPartitions.map(() => 0);
    this.committedHigh = this.allPartitions.map(() => -1);
    this.maxWriteDelayMs = this.prng.int(2, 30);
    this.maxMembers = this.prng.int(2, 6);
    this.pace = this.prng.int(3, 40);
    // Long enough that faults hit members in the middle of their partitions.
    this.chaosMs = this.prng.int(4_000, 20_000);
    this.assignorMode = this.prng.weighted<AssignorMode>({ cooperative: 3, range: 2, roundrobin: 2, mixed: 3 });
    this.sharedAssignor =
      this.assignorMode === 'range' ? Assignors.range : this.assignorMode === 'roundrobin' ? Assignors.roundRobin : this.assignorMode === 'cooperative' ? Assignors.cooperativeSticky : this.prng.pick(Object.values(Assignors));
  }

  async run(): Promise<GroupSimulationStats> {
    try {
      this.log_(() => `P=${this.partitions} N=${this.records} assignors=${this.describeAssignors()} maxMembers=${this.maxMembers} pace=${this.pace}ms chaos=${this.chaosMs}ms`);
      this.startCoordinator(0);
      const initial = this.prng.int(1, this.maxMembers);
      for (let i = 0; i < initial; i++) this.at(this.prng.int(0, 500), () => this.addMember());
      this.at(TICK_MS, () => this.tick());
      if (this.faults) this.at(this.prng.int(50, 800), () => this.chaos());
      else this.at(this.prng.int(500, 3000), () => this.lateJoin());
      this.at(this.chaosMs, () => this.heal());
      for (;;) {
        const next = this.queue.pop();
        if (!next) throw new Error('the event queue ran dry');
        if (next.item.cancelled) continue;
        this.now = next.time;
        next.item.action();
        await drain();
        if (this.trace) this.traceGroup();
        if (this.failure !== null) this.fail(this.failure);
        if (this.finishedAt >= 0) break;
        if (this.healed && this.now > this.healedAt + HEAL_LIMIT_MS) {
          const reason = `liveness: not finished ${HEAL_LIMIT_MS} ms after healing: ${this.describe()}`;
          throw new GroupSimulationFailure(this.seed, this.now, reason, 'liveness', this.abandonedGenerations);
        }
      }
      this.finalChecks();
    } catch (error) {
      if (error instanceof GroupSimulationFailure) throw error;
      throw new GroupSimulationFailure(this.seed, this.now, error instanceof Error ? (error.stack ?? error.message) : String(error), 'invariant', this.abandonedGenerations);
    }
    let processed = 0;
    let reprocessed = 0;
    for (const counts of this.processedCount) {
      for (const count of counts) {
        processed += count;
        if (count > 1) reprocessed++;
      }
    }
    if (processed !== this.processedLog.length) this.fail(`processed log has ${this.processedLog.length} entries, counts say ${processed}`);
    return {
      seed: this.seed,
      partitions: this.partitions,
      records: this.records,
      assignors: this.describeAssignors(),
      members: this.members.length,
      crashes: this.crashes,
      leaves: this.leaves,
      failovers: this.failovers,
      lostMessages: this.lostMessages,
      failedWrites: this.failedWrites,
      generations: this.generations,
      processed,
      reprocessed,
      healedAt: this.healedAt,
      finishedAt: this.finishedAt,
      abandonedGenerations: this.abandonedGenerations,
    };
  }

  // ---------------------------------------------------------------- the coordinator's broker

  private startCoordinator(delay: number): void {
    const epoch = ++this.epoch;
    this.at(delay, () => {
      if (this.epoch !== epoch) return;
      // Until it has read the log, requests are told to wait (CoordinatorLoadInProgressError).
      const coordinator = new GroupCoordinator({
        brokerId: epoch,
        now: () => this.now,
        write: (records) => this.write(epoch, records),
        newMemberId: (clientId) => `${clientId}-${++this.memberIds}`,
      });
      this.coordinator = coordinator;
      this.coordinatorLoaded = false;
      this.at(this.faults ? this.prng.int(0, 800) : 0, () => {
        if (this.coordinator !== coordinator) return;
        const records: GroupRecord[] = [];
        for (const { key, value } of this.log) {
          const record = parseGroupRecord(key, value);
          if (!record) throw new Error('the offsets log holds a record that does not parse');
          records.push(record);
        }
        coordinator.load(records);
        this.coordinatorLoaded = true;
        this.log_(() => `coordinator ${epoch} loaded ${records.length} records`);
        this.checkLoaded(coordinator);
      });
    });
  }

  /** acks=all append: late, sometimes failing (nothing written), never after its leader lost the partition. */
  private write(epoch: number, records: readonly GroupRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: PendingWrite = { epoch, records, resolve, reject };
      this.inFlightWrites.add(pending);
      this.at(this.prng.int(1, this.maxWriteDelayMs), () => {
        if (!this.inFlightWrites.delete(pending)) return; // settled by a failover
        if (this.epoch !== epoch) {
          reject(new NotCoordinatorError(GROUP, epoch));
          return;
        }
        if (this.prng.chance(this.writeFailureRate)) {
          this.failedWrites++;
          const error = this.prng.chance(0.5) ? new RequestTimedOutError('append to __consumer_offsets', 100) : new NotCoordinatorError(GROUP, epoch);
          this.log_(() => `write of ${records.length} record(s) fails: ${error.name}`);
          reject(error);
          return;
        }
        this.append(records);
        resolve();
      });
    });
  }

  private append(records: readonly GroupRecord[]): void {
    for (const record of records) this.log.push(groupRecordToInput(record, this.now));
  }

  private failover(): void {
    const old = this.coordinator;
    if (!old || !this.coordinatorLoaded) return;
    this.failovers++;
    this.coordinator = null;
    this.coordinatorLoaded = false;
    old.close();
    // The write in flight may have reached the replicas the new leader reads; its writer never hears.
    let kept = 0;
    for (const pending of [...this.inFlightWrites]) {
      this.inFlightWrites.delete(pending);
      if (pending.epoch === this.epoch && this.prng.chance(0.5)) {
        this.append(pending.records);
        kept += pending.records.length;
      }
      pending.reject(new NotCoordinatorError(GROUP, pending.epoch));
    }
    const gap = this.prng.int(0, 500);
    this.log_(() => `FAULT coordinator failover (kept ${kept} unacknowledged record(s)); the next one starts in ${gap} ms`);
    this.startCoordinator(gap);
  }

  private tick(): void {
    this.at(TICK_MS, () => this.tick());
    const coordinator = this.coordinator;
    if (coordinator && this.coordinatorLoaded) {
      const before = groupState(coordinator);
      coordinator.tick();
      const after = groupState(coordinator);
      // A tick that completes a join leaves the group CompletingRebalance (or Empty): every member
      // it took into the new generation was heard from just now. Back to PreparingRebalance in the
      // same tick means members were expired as their join completed (see the report of the
      // coordinator's lastHeard bug): counted, so a liveness failure can be told apart.
      if (before && after && after.generation === before.generation + 1 && after.state === 'PreparingRebalance') {
        this.abandonedGenerations++;
        this.log_(() => `generation ${after.generation} abandoned by the tick that started it: members expired as their join completed`);
      }
    }
    // The tick's own consequences settle first; checked on the next event's turn.
    this.at(0, () => this.checkQuiescent());
  }

  // ---------------------------------------------------------------- the network

  /** A message of `member`'s, either way: lost at random, or because the member is cut off. */
  private lost(member: SimMember): boolean {
    if (this.now < member.isolatedUntil || (this.lossRate > 0 && this.prng.chance(this.lossRate))) {
      this.lostMessages++;
      return true;
    }
    return false;
  }

  private delay(): number {
    return this.prng.int(1, 30);
  }

  /**
   * One request of `member` to the coordinator (or, `anyBroker`, to whichever broker): lost or
   * delivered after a delay to the coordinator that exists then; its answer likewise. With no
   * answer in `timeoutMs` the caller gets RequestTimedOutError; a crashed member gets nothing.
   * `observe` sees a successful answer as the coordinator gives it, in the coordinator's order.
   */
  private request<T>(member: SimMember, what: string, timeoutMs: number, call: (coordinator: GroupCoordinator) => T | Promise<T>, observe?: (value: T) => void, anyBroker = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (member.state === 'crashed') return;
      let answered = false;
      const timeout = this.at(timeoutMs, () => {
        if (answered || member.state === 'crashed') return;
        answered = true;
        reject(new RequestTimedOutError(`${member.name} ${what}`, timeoutMs));
      });
      const answer = (deliver: () => void) => {
        if (this.lost(member)) return;
        this.at(this.delay(), () => {
          if (answered || member.state === 'crashed') return;
          answered = true;
          timeout.cancelled = true;
          deliver();
        });
      };
      if (this.lost(member)) return;
      this.at(this.delay(), () => {
        let result: Promise<T>;
        try {
          const coordinator = this.coordinator;
          if (!coordinator && !anyBroker) throw new NotCoordinatorError(GROUP, -1);
          result = Promise.resolve(call(coordinator!));
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(
          (value) => {
            observe?.(value);
            if (what === 'join' || what === 'sync') this.log_(() => `${member.name} ${what} answered: ${JSON.stringify(value)}`);
            answer(() => resolve(value));
          },
          (error: unknown) => {
            this.checkError(member, what, error);
            if (what !== 'heartbeat' || !(error instanceof TabkaError && error.code === 'REBALANCE_IN_PROGRESS')) {
              this.log_(() => `${member.name} ${what} fails: ${error instanceof Error ? error.name : String(error)}`);
            }
            answer(() => reject(error));
          },
        );
      });
    });
  }

  private checkError(member: SimMember, what: string, error: unknown): void {
    if (!(error instanceof TabkaError)) {
      this.failure ??= `${member.name} ${what}: unexpected error ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    } else if (error instanceof InconsistentGroupProtocolError) {
      // Every member's assignor list starts with the shared one: this must never happen.
      this.failure ??= `${member.name} ${what}: ${error.message}`;
    }
  }

  private transportFor(member: SimMember): GroupTransport {
    const longWait = member.rebalanceTimeoutMs + 5000;
    return {
      join: (request) => this.request(member, 'join', longWait, (c) => c.join(request)),
      sync: (request) => this.request(member, 'sync', longWait, (c) => c.sync(request), (answer) => this.observeSync(request, answer)),
      heartbeat: (request) => this.request(member, 'heartbeat', 2000, (c) => c.heartbeat(request)),
      leave: (groupId, memberId) => this.request(member, 'leave', 1500, (c) => c.leave(groupId, [memberId])),
      commitOffsets: (request) => this.request(member, 'commit', 1500, (c) => c.commitOffsets(request), () => this.observeCommit(member, request)),
      fetchOffsets: (groupId, partitions) => this.request(member, 'fetch', 1500, (c) => c.fetchOffsets(groupId, partitions), (answer) => this.observeFetch(member, answer)),
      partitionCounts: (topics) =>
        this.request(member, 'metadata', 1000, () => Object.fromEntries(topics.filter((t) => t === TOPIC).map((t) => [t, this.partitions])), undefined, true),
    };
  }

  // ---------------------------------------------------------------- members

  private assignorsForNewMember(): Assignor[] {
    if (this.assignorMode !== 'mixed' || this.prng.chance(0.4)) return [this.sharedAssignor];
    // The shared assignor first: every member votes for it, so it is the group's whatever the mix.
    const others = Object.values(Assignors).filter((a) => a !== this.sharedAssignor);
    return [this.sharedAssignor, ...this.prng.shuffle(others).slice(0, this.prng.int(1, others.length))];
  }

  private describeAssignors(): string {
    return this.assignorMode === 'mixed' ? `mixed(${this.sharedAssignor.name} first)` : this.sharedAssignor.name;
  }

  private running(): SimMember[] {
    return this.members.filter((m) => m.state === 'running');
  }

  private addMember(): void {
    const name = `m${this.members.length + 1}`;
    const assignors = this.assignorsForNewMember().map((a) => this.watchAssignor(a));
    const sessionTimeoutMs = this.prng.int(3000, 10_000);
    const member: SimMember = {
      name,
      assignors,
      cooperative: assignors.every((a) => a.rebalanceProtocol === 'cooperative'),
      sessionTimeoutMs,
      rebalanceTimeoutMs: this.prng.int(3000, 10_000),
      recordMs: this.prng.int(Math.ceil(this.pace / 2), Math.ceil(this.pace * 1.5)),
      commitEvery: this.prng.int(1, 10),
      membership: null as unknown as GroupMembership,
      transport: null as unknown as GroupTransport,
      clock: null as unknown as Clock,
      state: 'running',
      replaced: false,
      isolatedUntil: 0,
      workers: new Map(),
      revokedSinceJoin: false,
      busy: 0,
      followUp: false,
    };
    member.transport = this.transportFor(member);
    member.clock = {
      now: () => this.now,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          if (member.state === 'crashed') return;
          this.at(ms, () => {
            if (member.state !== 'crashed') resolve();
          });
        }),
    };
    member.membership = new GroupMembership({
      groupId: GROUP,
      clientId: name,
      topics: [TOPIC],
      assignors,
      sessionTimeoutMs,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs,
      transport: member.transport,
      clock: member.clock,
      listener: this.listenerFor(member),
    });
    this.members.push(member);
    this.log_(() => `${name} starts (${assignors.map((a) => a.name).join(',')}; session ${sessionTimeoutMs} ms, rebalance ${member.rebalanceTimeoutMs} ms, ${member.recordMs} ms/record, commit every ${member.commitEvery})`);
    member.membership.start();
  }

  /** The real assignor, with a failure of the run if it throws (the membership would only warn). */
  private watchAssignor(assignor: Assignor): Assignor {
    return {
      name: assignor.name,
      rebalanceProtocol: assignor.rebalanceProtocol,
      assign: (context) => {
        try {
          return assignor.assign(context);
        } catch (error) {
          this.failure ??= `assignor ${assignor.name} threw: ${String(error)}`;
          throw error;
        }
      },
    };
  }

  private listenerFor(member: SimMember): AssignmentListener {
    return {
      revoked: async (partitions, lost) => {
        const workers = partitions.map((tp) => member.workers.get(tp.partition)).filter((w): w is Worker => w !== undefined);
        for (const worker of workers) {
          worker.stopped = true;
          member.workers.delete(worker.partition);
        }
        this.log_(() => `${member.name} ${lost ? 'loses' : 'revokes'} [${partitions.map((tp) => tp.partition).join(',')}] (generation ${member.membership.generationId})`);
        if (lost) return;
        member.revokedSinceJoin = true;
        member.busy++;
        try {
          // Stop first (let the step in flight finish), then commit what was processed.
          await Promise.all(workers.map((w) => w.done));
          const offsets: OffsetToCommit[] = [];
          for (const worker of workers) if (worker.position !== null) offsets.push({ topic: TOPIC, partition: worker.partition, offset: worker.position });
          if (offsets.length > 0) await member.membership.commit(offsets).catch(() => undefined);
        } finally {
          member.busy--;
        }
      },
      assigned: async (partitions) => {
        this.log_(() => `${member.name} assigned [${partitions.map((tp) => tp.partition).join(',')}] (generation ${member.membership.generationId})`);
        for (const { partition } of partitions) {
          const previous = member.workers.get(partition);
          if (previous) {
            this.failure ??= `${member.name} was assigned partition ${partition}, which it already had`;
            previous.stopped = true;
          }
          this.startWorker(member, partition);
        }
      },
      joined: (details) => {
        member.followUp = member.cooperative && member.revokedSinceJoin;
        member.revokedSinceJoin = false;
        this.generations = Math.max(this.generations, details.generationId);
        this.log_(
          () =>
            `${member.name} joined generation ${details.generationId} as ${details.memberId}${details.isLeader ? ' (leader)' : ''} owning [${member.membership.assignment.map((tp) => tp.partition).join(',')}]${member.followUp ? ', rejoins to hand over' : ''}`,
        );
      },
      rebalancing: () => this.log_(() => `${member.name} rebalancing`),
    };
  }

  private startWorker(member: SimMember, partition: number): void {
    const worker: Worker = { partition, stopped: false, position: null, committed: -1, finished: false, done: Promise.resolve() };
    member.workers.set(partition, worker);
    worker.done = this.work(member, worker);
  }

  /** Fetch the committed offset, then process one record at a time, committing every K. */
  private async work(member: SimMember, worker: Worker): Promise<void> {
    const { partition } = worker;
    const tp = { topic: TOPIC, partition };
    while (!worker.stopped && worker.position === null) {
      try {
        const [committed] = await member.transport.fetchOffsets(GROUP, [tp]);
        if (worker.stopped) return;
        const offset = committed?.offset ?? -1;
        worker.position = offset < 0 ? 0 : offset;
        worker.committed = offset;
        this.log_(() => `${member.name} p${partition} starts at ${worker.position}`);
      } catch {
        if (!worker.stopped) await member.clock.sleep(RETRY_MS);
      }
    }
    let sinceCommit = 0;
    while (!worker.stopped && worker.position !== null) {
      const position: number = worker.position;
      if (position < this.records) {
        await member.clock.sleep(member.recordMs);
        if (worker.stopped) return;
        this.process(member, partition, position);
        worker.position = position + 1;
        sinceCommit++;
        if (sinceCommit < member.commitEvery && worker.position < this.records) continue;
      } else if (worker.committed >= this.records) {
        worker.finished = true;
        return;
      }
      sinceCommit = 0;
      const offset = worker.position;
      try {
        await member.membership.commit([{ topic: TOPIC, partition, offset }]);
        worker.committed = Math.max(worker.committed, offset);
      } catch {
        // Committed again after the next K records, or retried once the end is reached.
        if (!worker.stopped && worker.position >= this.records) await member.clock.sleep(RETRY_MS);
      }
    }
  }

  private process(member: SimMember, partition: number, offset: number): void {
    if (!this.faults) {
      // Without faults nobody is a zombie: a partition's next owner starts after the last one stopped.
      for (const other of this.members) {
        const worker = other.workers.get(partition);
        if (other !== member && worker && !worker.stopped && !worker.finished && worker.position !== null) {
          this.fail(`${member.name} processes partition ${partition} at ${offset} while ${other.name} still does (at ${worker.position})`);
        }
      }
    }
    this.processedLog.push({ member: member.name, generation: member.membership.generationId, partition, offset, time: this.now });
    const counts = this.processedCount[partition]!;
    counts[offset] = (counts[offset] ?? 0) + 1;
    let prefix = this.processedPrefix[partition]!;
    while (prefix < this.records && (counts[prefix] ?? 0) > 0) prefix++;
    this.processedPrefix[partition] = prefix;
  }

  private crash(member: SimMember): void {
    this.crashes++;
    member.state = 'crashed';
    for (const worker of member.workers.values()) worker.stopped = true;
    member.workers.clear();
    this.log_(() => `FAULT ${member.name} (${member.membership.memberId}) crashes`);
  }

  private leave(member: SimMember): void {
    this.leaves++;
    member.state = 'stopping';
    this.log_(() => `${member.name} (${member.membership.memberId}) leaves`);
    void member.membership.stop().then(() => {
      if (member.state !== 'stopping') return;
      member.state = 'stopped';
      this.log_(() => `${member.name} left`);
    });
  }

  // ---------------------------------------------------------------- events

  private chaos(): void {
    if (this.healed) return;
    this.at(this.prng.int(100, 1200), () => this.chaos());
    const running = this.running();
    const kind = this.prng.weighted({ join: 3, leave: 2, crash: 2, restart: 2, failover: 2, loss: 2, isolate: 2, writes: 2 });
    switch (kind) {
      case 'join':
        if (running.length < this.maxMembers) this.addMember();
        break;
      case 'leave':
        if (running.length > 0) this.leave(this.prng.pick(running));
        break;
      case 'crash': {
        const candidates = this.members.filter((m) => m.state === 'running' || m.state === 'stopping');
        if (candidates.length > 0) this.crash(this.prng.pick(candidates));
        break;
      }
      case 'restart': {
        const crashed = this.members.filter((m) => m.state === 'crashed' && !m.replaced);
        if (crashed.length > 0 && running.length < this.maxMembers) {
          const member = this.prng.pick(crashed);
          member.replaced = true;
          this.log_(() => `${member.name} restarts as a new member`);
          this.addMember();
        }
        break;
      }
      case 'failover':
        this.failover();
        break;
      case 'isolate': {
        if (running.length === 0) break;
        const member = this.prng.pick(running);
        const ms = this.prng.int(500, 15_000);
        member.isolatedUntil = this.now + ms;
        this.log_(() => `FAULT ${member.name} cut off for ${ms} ms`);
        break;
      }
      case 'loss':
        this.lossRate = this.prng.pick([0, 0, 0.02, 0.05, 0.15]);
        this.log_(() => `FAULT message loss ${this.lossRate}`);
        break;
      case 'writes':
        this.writeFailureRate = this.prng.pick([0, 0.02, 0.1, 0.3]);
        this.log_(() => `FAULT write failure rate ${this.writeFailureRate}`);
        break;
    }
  }

  /** Without faults, members still come and go (cleanly), and the group rebalances. */
  private lateJoin(): void {
    if (this.healed) return;
    this.at(this.prng.int(500, 3000), () => this.lateJoin());
    const running = this.running();
    if (running.length < this.maxMembers && (running.length <= 1 || this.prng.chance(0.7))) this.addMember();
    else if (running.length > 1) this.leave(this.prng.pick(running));
  }

  private heal(): void {
    this.healed = true;
    this.healedAt = this.now;
    this.lossRate = 0;
    this.writeFailureRate = 0;
    for (const member of this.members) member.isolatedUntil = 0;
    if (this.running().length === 0) this.addMember();
    this.log_(() => `HEAL with ${this.running().map((m) => m.name).join(',')} running`);
  }

  private at(delay: number, action: () => void): SimEvent {
    const event: SimEvent = { action, cancelled: false };
    this.queue.push(this.now + delay, event);
    return event;
  }

  // ---------------------------------------------------------------- invariants

  /** Invariant 2: one owner per partition per generation, across every sync answer. */
  private observeSync(request: SyncGroupRequest, answer: SyncGroupResponse): void {
    let byPartition = this.owners.get(request.generationId);
    if (!byPartition) this.owners.set(request.generationId, (byPartition = new Map()));
    this.generations = Math.max(this.generations, request.generationId);
    for (const { topic, partition } of answer.assignment) {
      if (topic !== TOPIC || !Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
        this.failure ??= `sync answer of generation ${request.generationId} for ${request.memberId} holds ${topic}-${partition}, which does not exist`;
        continue;
      }
      const owner = byPartition.get(partition);
      if (owner !== undefined && owner !== request.memberId) {
        this.failure ??= `generation ${request.generationId}: partition ${partition} handed to ${owner} and to ${request.memberId}`;
      }
      byPartition.set(partition, request.memberId);
    }
  }

  /** Invariants 3 and 4 for a commit the coordinator acknowledged. */
  private observeCommit(member: SimMember, request: MemberRequest & { readonly offsets: readonly OffsetToCommit[] }): void {
    for (const { partition, offset } of request.offsets) {
      const processed = this.processedPrefix[partition] ?? 0;
      if (offset > processed) {
        this.failure ??= `${member.name} committed ${offset} for partition ${partition}, but only records below ${processed} were ever all processed`;
      }
      this.observeCommitted(partition, offset, `commit by ${member.name} (${request.memberId}, generation ${request.generationId})`);
    }
  }

  private observeFetch(member: SimMember, answer: readonly CommittedOffset[]): void {
    for (const { partition, offset } of answer) this.observeCommitted(partition, offset, `fetch by ${member.name}`);
  }

  private observeCommitted(partition: number, offset: number, how: string): void {
    const high = this.committedHigh[partition] ?? -1;
    if (offset < high) this.failure ??= `partition ${partition}'s committed offset went back from ${high} to ${offset} (${how})`;
    this.committedHigh[partition] = Math.max(high, offset);
    if (offset > high) this.log_(() => `committed p${partition}=${offset} (${how})`);
  }

  /** A coordinator that just loaded the log knows at least every commit anyone saw. */
  private checkLoaded(coordinator: GroupCoordinator): void {
    for (const { partition, offset } of coordinator.fetchOffsets(GROUP, this.allPartitions)) {
      this.observeCommitted(partition, offset, `loaded by coordinator ${this.epoch}`);
    }
  }

  /**
   * Invariant 1 at quiescent points, and the end of the run: healed, every partition committed
   * at N and the group settled with every partition owned.
   */
  private checkQuiescent(): void {
    const description = this.settledGroup();
    if (!description) return;
    const owners = new Map<number, string>();
    for (const member of this.running()) {
      for (const { partition } of member.membership.assignment) {
        const other = owners.get(partition);
        if (other !== undefined) this.fail(`settled generation ${description.generation}: partition ${partition} owned by ${other} and ${member.name}`);
        owners.set(partition, member.name);
      }
    }
    const unowned = this.allPartitions.filter((tp) => !owners.has(tp.partition)).map((tp) => tp.partition);
    if (unowned.length > 0) this.fail(`settled generation ${description.generation}: partitions [${unowned.join(',')}] have no owner; ${this.describe()}`);
    if (!this.healed) return;
    const committed = this.coordinator!.fetchOffsets(GROUP, this.allPartitions);
    if (committed.every((c) => c.offset === this.records)) {
      this.finishedAt = this.now;
      this.log_(() => `FINISHED: every partition committed at ${this.records}, generation ${description.generation} settled`);
    }
  }

  /** The group is Stable and exactly the running members are in it, all in its generation, none about to rejoin. */
  private settledGroup(): GroupDescription | null {
    const coordinator = this.coordinator;
    if (!coordinator || !this.coordinatorLoaded) return null;
    let description: GroupDescription;
    try {
      description = coordinator.describeGroup(GROUP);
    } catch {
      return null;
    }
    const running = this.running();
    if (description.state !== 'Stable' || running.length === 0 || description.members.length !== running.length) return null;
    for (const member of running) {
      const entry = description.members.find((m) => m.memberId === member.membership.memberId);
      // A member giving partitions up is mid-rebalance; a cooperative one that gave some up rejoins.
      const rejoins = member.followUp || (member.cooperative && member.revokedSinceJoin);
      if (!entry || member.membership.generationId !== description.generation || member.busy > 0 || rejoins) return null;
      if (!samePartitions(entry.assignment, member.membership.assignment)) return null;
    }
    return description;
  }

  private finalChecks(): void {
    for (let partition = 0; partition < this.partitions; partition++) {
      const prefix = this.processedPrefix[partition] ?? 0;
      if (prefix < this.records) this.fail(`partition ${partition}: record ${prefix} was never processed`);
    }
  }

  private fail(reason: string): never {
    this.failure ??= reason;
    throw new GroupSimulationFailure(this.seed, this.now, reason, 'invariant', this.abandonedGenerations);
  }

  private describe(): string {
    const coordinator = this.coordinator;
    let group = 'no coordinator';
    if (coordinator && this.coordinatorLoaded) {
      try {
        const d = coordinator.describeGroup(GROUP);
        group = `${d.state} generation ${d.generation} [${d.members.map((m) => `${m.memberId}:${m.assignment.map((tp) => tp.partition).join('.')}`).join(' ')}]`;
      } catch (error) {
        group = String(error);
      }
    } else if (coordinator) group = 'coordinator loading';
    const members = this.members
      .filter((m) => m.state !== 'stopped' && !(m.state === 'crashed' && m.replaced))
      .map((m) => `${m.name}=${m.state} ${m.membership.memberId || '-'} gen ${m.membership.generationId} [${m.membership.assignment.map((tp) => tp.partition).join('.')}]${m.followUp ? ' followUp' : ''}`);
    const committed = coordinator && this.coordinatorLoaded ? coordinator.fetchOffsets(GROUP, this.allPartitions).map((c) => c.offset).join(',') : '?';
    return `group ${group}; members ${members.join('; ')}; committed [${committed}] of ${this.records}`;
  }

  private lastGroupLine = '';

  /** Traces the coordinator's view of the group whenever it changes. */
  private traceGroup(): void {
    const coordinator = this.coordinator;
    if (!coordinator || !this.coordinatorLoaded) return;
    let line: string;
    try {
      const d = coordinator.describeGroup(GROUP);
      line = `group ${d.state} generation ${d.generation} leader ${d.leader} [${d.members.map((m) => `${m.memberId}:${m.assignment.map((tp) => tp.partition).join('.')}`).join(' ')}]`;
    } catch (error) {
      line = `group: ${error instanceof Error ? error.name : String(error)}`;
    }
    if (line === this.lastGroupLine) return;
    this.lastGroupLine = line;
    this.log_(() => line);
  }

  private log_(line: () => string): void {
    if (this.trace) this.trace(`t=${this.now} ${line()}`);
  }
}

function groupState(coordinator: GroupCoordinator): { state: string; generation: number } | null {
  try {
    const { state, generation } = coordinator.describeGroup(GROUP);
    return { state, generation };
  } catch {
    return null;
  }
}

function samePartitions(a: readonly TopicPartition[], b: readonly TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => y.topic === x.topic && y.partition === x.partition));
}

/** Settles every promise chain the last event started: nothing in the simulation waits on real time. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
