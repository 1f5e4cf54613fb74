/**
 * Deterministic simulation of the data path: the real Partition code (leader, followers, ISR,
 * high watermark, leader-epoch truncation, idempotent producer state) over the in-memory log
 * store, on a simulated network with a virtual clock. The controller's decisions come from the
 * real topic-controller functions (fencing, unfencing, AlterPartition, preferred leaders);
 * metadata reaches each broker after its own delay, so brokers act on stale views as they do
 * in a browser. One seed drives everything; a failing seed replays exactly.
 *
 * One run: 3 brokers, one partition with replication factor 3 and min.insync.replicas 2, an
 * idempotent producer with three acks=all batches in flight, each retried with its own sequence, a
 * consumer reading below the high watermark; faults (crash, restart, lost and delayed
 * messages, cut links), then healing and a final read. Checked after every step:
 *  - every acknowledged record is in the log of every ISR member;
 *  - a consumer never sees an offset change its record, nor a record twice or out of order;
 *  - a leader's high watermark never goes back.
 */
import { applyRecords, EMPTY_IMAGE } from '../../src/cluster/metadata-image';
import type { MetadataImage, PartitionImage } from '../../src/cluster/metadata-image';
import type { MetadataRecord } from '../../src/cluster/metadata-records';
import { alterIsr, brokerFenced, brokerUnfenced, createTopics, preferredLeaderElection } from '../../src/cluster/topic-controller';
import { Partition } from '../../src/broker/partition';
import type { FetchResult, Timers } from '../../src/broker/partition';
import { LogManager } from '../../src/log/log-manager';
import { MemoryLogStore } from '../../src/log/memory-log-store';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/protocol/record-batch';
import { InvalidProducerEpochError, TabkaError } from '../../src/errors';
import { sameMembers } from '../../src/util/same-members';
import { EventQueue } from './event-queue';
import { Prng } from './prng';

const TOPIC = 'sim';
const SESSION_MS = 300;
const RUN_MS = 6000;
const SETTLE_LIMIT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 400;

export class ReplicationFailure extends Error {
  override readonly name = 'ReplicationFailure';
  constructor(readonly seed: number, readonly time: number, reason: string) {
    super(`seed ${seed} at t=${time}ms: ${reason}`);
  }
}

export interface ReplicationStats {
  readonly seed: number;
  readonly acknowledged: number;
  readonly failedSends: number;
  readonly leaderChanges: number;
  readonly truncations: number;
  readonly faults: number;
}

interface SimBroker {
  readonly id: number;
  readonly store: MemoryLogStore;
  partition: Partition | null;
  incarnation: number;
  /** Newest partition state delivered to this broker. */
  known: PartitionImage | null;
  fetchToken: number;
}

type Event =
  | { kind: 'run'; action: () => Promise<void> | void }
  | { kind: 'timer'; id: number };

export function runReplicationSimulation(seed: number, trace?: (line: string) => void): Promise<ReplicationStats> {
  return new ReplicationSimulation(seed, trace).run();
}

class ReplicationSimulation {
  private readonly prng: Prng;
  private readonly queue = new EventQueue<Event>();
  private readonly timerCallbacks = new Map<number, () => void>();
  private nextTimer = 1;
  private now = 0;
  private image: MetadataImage = EMPTY_IMAGE;
  private readonly brokers = new Map<number, SimBroker>();
  private readonly ids: number[];
  private readonly cuts = new Set<string>();
  private lossRate = 0;
  private healed = false;
  // Producer.
  private readonly producerId = 4242;
  private producerEpoch = 0;
  private sequence = 0;
  private nextValue = 0;
  private readonly acknowledged = new Set<number>();
  private failedSends = 0;
  private inFlight = 0;
  // Ground truth and observations.
  private readonly seenAt = new Map<number, number>();
  private lastSeenValue = -1;
  private consumerOffset = 0;
  private readonly hwByIncarnation = new Map<string, number>();
  private leaderChanges = 0;
  private truncations = 0;
  private faults = 0;
  private failure: string | null = null;
  private checkedIsr = '';
  private readonly timers: Timers = {
    setTimeout: (callback, ms) => {
      const id = this.nextTimer++;
      this.timerCallbacks.set(id, callback);
      this.queue.push(this.now + ms, { kind: 'timer', id });
      return id;
    },
    clearTimeout: (handle) => void this.timerCallbacks.delete(handle as number),
  };

  constructor(
    readonly seed: number,
    private readonly trace?: (line: string) => void,
  ) {
    this.prng = new Prng(seed);
    const count = 3;
    const ids = new Set<number>();
    while (ids.size < count) ids.add(this.prng.int(1, 99));
    this.ids = [...ids].sort((a, b) => a - b);
  }

  async run(): Promise<ReplicationStats> {
    try {
      await this.setUp();
      this.at(this.prng.int(50, 200), () => this.fault());
      this.at(0, () => this.produceNext());
      this.at(0, () => this.consumeStep());
      this.at(RUN_MS, () => this.heal());
      for (;;) {
        const next = this.queue.pop();
        if (!next) throw new Error('the event queue ran dry');
        this.now = next.time;
        if (next.item.kind === 'timer') {
          const callback = this.timerCallbacks.get(next.item.id);
          this.timerCallbacks.delete(next.item.id);
          callback?.();
        } else {
          await next.item.action();
        }
        await drain();
        if (this.failure !== null) this.fail(this.failure);
        await this.check();
        if (this.healed && (await this.finished())) break;
        if (this.now > RUN_MS + SETTLE_LIMIT_MS) throw new Error(`did not settle: ${this.describe()}`);
      }
      await this.finalRead();
    } catch (error) {
      if (error instanceof ReplicationFailure) throw error;
      throw new ReplicationFailure(this.seed, this.now, error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    return {
      seed: this.seed,
      acknowledged: this.acknowledged.size,
      failedSends: this.failedSends,
      leaderChanges: this.leaderChanges,
      truncations: this.truncations,
      faults: this.faults,
    };
  }

  // ------------------------------------------------------------------ set-up and metadata

  private async setUp(): Promise<void> {
    const records: MetadataRecord[] = [];
    for (const id of this.ids) records.push({ type: 'RegisterBroker', brokerId: id }, { type: 'UnfenceBroker', brokerId: id });
    this.image = applyRecords(this.image, records, 0);
    const [created] = createTopics(this.image, this.ids, [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }], () => this.prng.next());
    if (!created?.result.ok) throw new Error('could not create the topic');
    this.image = applyRecords(this.image, created.result.records, this.image.offset + 1);
    for (const id of this.ids) {
      const broker: SimBroker = { id, store: new MemoryLogStore(), partition: null, incarnation: 0, known: null, fetchToken: 0 };
      this.brokers.set(id, broker);
      await this.boot(broker);
    }
  }

  private state(): PartitionImage {
    return this.image.topics.get(TOPIC)!.partitions[0]!;
  }

  /** The controller commits records; each live broker learns the new state after its own delay. */
  private commit(records: readonly MetadataRecord[], why: string): void {
    if (records.length === 0) return;
    const before = this.state();
    this.image = applyRecords(this.image, records, this.image.offset + 1);
    const after = this.state();
    if (after.leader !== before.leader) this.leaderChanges++;
    this.log(`controller (${why}): leader ${after.leader} epoch ${after.leaderEpoch} isr [${after.isr.join(',')}]`);
    for (const broker of this.brokers.values()) this.deliverMetadata(broker, after);
  }

  private deliverMetadata(broker: SimBroker, state: PartitionImage): void {
    const incarnation = broker.incarnation;
    this.at(this.prng.int(0, 80), () => {
      if (broker.incarnation !== incarnation || !broker.partition) return;
      if (broker.known && broker.known.partitionEpoch >= state.partitionEpoch) return;
      broker.known = state;
      broker.partition.applyAssignment(state);
      this.startFetching(broker);
    });
  }

  // ------------------------------------------------------------------ brokers

  private async boot(broker: SimBroker): Promise<void> {
    broker.incarnation++;
    const logs = await LogManager.open(broker.store);
    const log = await logs.createPartition(TOPIC, 0, {});
    const state = this.state();
    broker.known = state;
    broker.partition = new Partition(broker.id, log, state, () => this.now, 1000, this.timers);
    broker.partition.minInSyncReplicas = 2;
    this.log(`broker ${broker.id} up (incarnation ${broker.incarnation}, log end ${log.logEndOffset}, high watermark ${broker.partition.highWatermark})`);
    this.startFetching(broker);
    this.scheduleIsrCheck(broker);
    this.scheduleCheckpoint(broker);
  }

  /** The high watermark checkpoint, at random moments: a restart starts from whatever was last stored. */
  private scheduleCheckpoint(broker: SimBroker): void {
    const incarnation = broker.incarnation;
    this.at(this.prng.int(100, 500), async () => {
      const partition = broker.partition;
      if (broker.incarnation !== incarnation || !partition) return;
      await partition.log.checkpointHighWatermark(partition.highWatermark).catch(() => undefined);
      this.scheduleCheckpoint(broker);
    });
  }

  private crash(broker: SimBroker): void {
    this.log(`FAULT crash ${broker.id}`);
    broker.partition?.close();
    broker.partition = null;
    broker.incarnation++;
    // The controller notices after the session timeout, and fences it.
    this.at(SESSION_MS, () => {
      if (broker.partition) return;
      const fenced = this.image.brokers.get(broker.id)?.fenced;
      if (!fenced) this.commit(brokerFenced(this.image, broker.id), `fence ${broker.id}`);
    });
  }

  private async restart(broker: SimBroker): Promise<void> {
    this.log(`FAULT restart ${broker.id}`);
    await this.boot(broker);
    this.at(this.prng.int(50, SESSION_MS), () => {
      if (broker.partition && this.image.brokers.get(broker.id)?.fenced) {
        this.commit(brokerUnfenced(this.image, broker.id), `unfence ${broker.id}`);
      }
    });
  }

  // ------------------------------------------------------------------ replication

  private startFetching(broker: SimBroker): void {
    const token = ++broker.fetchToken;
    this.at(0, () => this.fetchLoop(broker, token));
  }

  private fetchLoop(broker: SimBroker, token: number): void {
    const partition = broker.partition;
    if (!partition || broker.fetchToken !== token || partition.isLeader || partition.leaderId < 0) return;
    const leader = this.brokers.get(partition.leaderId)!;
    const request = {
      replicaId: broker.id,
      offset: partition.logEndOffset,
      lastFetchedEpoch: partition.lastFetchedEpoch,
      leaderEpoch: partition.leaderEpoch,
      maxWaitMs: 50,
      maxBytes: 64 * 1024,
    };
    let answered = false;
    const retry = () => {
      if (answered) return;
      answered = true;
      this.at(20, () => this.fetchLoop(broker, token));
    };
    this.at(REQUEST_TIMEOUT_MS, retry);
    this.send(broker.id, leader.id, () => {
      const serving = leader.partition;
      if (!serving) return;
      serving.fetchForFollower(request).then(
        (result) =>
          this.send(leader.id, broker.id, async () => {
            if (answered || broker.fetchToken !== token || broker.partition !== partition) return;
            answered = true;
            await this.applyFetch(partition, result);
            this.at(0, () => this.fetchLoop(broker, token));
          }),
        () => this.send(leader.id, broker.id, retry),
      );
    });
  }

  private async applyFetch(partition: Partition, result: FetchResult): Promise<void> {
    if (result.divergingEpoch) {
      const point = partition.truncationPoint(result.divergingEpoch.epoch, result.divergingEpoch.endOffset);
      if (point < partition.logEndOffset) {
        this.truncations++;
        this.checkedIsr = ''; // look at every ISR member's log again
      }
      this.log(`broker ${partition.brokerId} truncates to ${point}`);
      await partition.truncateTo(point);
    } else if (result.batches.length > 0) {
      await partition.appendFromLeader(result.batches, result.highWatermark);
    } else {
      partition.learnHighWatermark(result.highWatermark);
    }
  }

  private scheduleIsrCheck(broker: SimBroker): void {
    const incarnation = broker.incarnation;
    this.at(100, () => {
      if (broker.incarnation !== incarnation || !broker.partition) return;
      this.scheduleIsrCheck(broker);
      const partition = broker.partition;
      const isr = partition.desiredIsr();
      if (!isr) return;
      partition.pendingIsr = isr;
      const leaderEpoch = partition.leaderEpoch;
      // AlterPartition to the controller and back, either way possibly lost.
      this.sendToController(broker.id, () => {
        const result = alterIsr(this.image, TOPIC, 0, isr, broker.id, leaderEpoch);
        if (result.ok) this.commit(result.records, `AlterPartition from ${broker.id}`);
        this.sendFromController(broker.id, () => {
          if (!result.ok && partition.pendingIsr === isr) partition.pendingIsr = null;
        });
      });
      this.at(REQUEST_TIMEOUT_MS * 2, () => {
        if (partition.pendingIsr === isr && !sameMembers(this.state().isr, isr)) partition.pendingIsr = null;
      });
    });
  }

  // ------------------------------------------------------------------ producer and consumer

  /**
   * Up to three acks=all batches in flight, like the Producer; each lost or failed one is
   * retried with its own sequence (as the broker's routing does), so retries race later
   * batches to a new leader. A batch given up on starts a new producer epoch.
   */
  private produceNext(): void {
    while (!this.healed && this.inFlight < 3) {
      const count = this.prng.int(1, 5);
      const values = Array.from({ length: count }, () => this.nextValue++);
      const baseSequence = this.sequence;
      this.sequence += count;
      this.inFlight++;
      this.attemptSend(values, baseSequence, this.producerEpoch, 0);
    }
  }

  private attemptSend(values: number[], baseSequence: number, epoch: number, attempt: number): void {
    const leaderId = this.state().leader;
    const bytes = encodeRecordBatch(
      values.map((v) => ({ key: null, value: new TextEncoder().encode(String(v)), timestamp: this.now })),
      { producerId: this.producerId, producerEpoch: epoch, baseSequence },
    );
    let settled = false;
    const outcome = (result: 'ok' | 'retry' | 'fenced') => {
      if (settled) return;
      settled = true;
      if (result === 'ok') {
        for (const v of values) this.acknowledged.add(v);
        this.checkAcknowledged(values).catch(() => undefined); // a failure is recorded for the main loop
      } else if (result === 'retry' && attempt < 8) {
        this.at(60, () => this.attemptSend(values, baseSequence, epoch, attempt + 1));
        return;
      } else {
        this.failedSends += values.length;
        // Given up: like the Producer, a new epoch restarts the sequences.
        if (epoch === this.producerEpoch) {
          this.producerEpoch++;
          this.sequence = 0;
        }
      }
      this.inFlight--;
      this.at(this.prng.int(0, 30), () => this.produceNext());
    };
    this.at(REQUEST_TIMEOUT_MS * 3, () => outcome('retry'));
    if (leaderId < 0) return;
    this.send(-1, leaderId, () => {
      const leader = this.brokers.get(leaderId)?.partition;
      if (!leader) return;
      leader.produce(bytes, -1, REQUEST_TIMEOUT_MS * 2).then(
        () => this.send(leaderId, -1, () => outcome('ok')),
        (error: unknown) => {
          if (!(error instanceof TabkaError)) throw error;
          const fenced = error instanceof InvalidProducerEpochError;
          this.send(leaderId, -1, () => outcome(fenced ? 'fenced' : 'retry'));
        },
      );
    });
  }

  private consumeStep(): void {
    this.at(this.prng.int(50, 150), () => this.consumeStep());
    const leaderId = this.state().leader;
    const leader = leaderId < 0 ? null : this.brokers.get(leaderId)?.partition;
    if (!leader?.isLeader) return;
    leader
      .fetchForConsumer(this.consumerOffset, 0, 64 * 1024)
      .then((result) => this.observe(result))
      .catch(() => undefined); // a violation is recorded for the main loop
  }

  private observe(result: FetchResult): void {
    for (const batch of result.batches) {
      for (const record of decodeRecordBatch(batch).records) {
        if (record.offset < this.consumerOffset) continue;
        const value = Number(new TextDecoder().decode(record.value!));
        const seen = this.seenAt.get(record.offset);
        if (seen !== undefined && seen !== value) this.fail(`offset ${record.offset} was ${seen}, now ${value}`);
        this.seenAt.set(record.offset, value);
        if (value <= this.lastSeenValue) this.fail(`record ${value} after ${this.lastSeenValue}: out of order or twice`);
        this.lastSeenValue = value;
        this.consumerOffset = record.offset + 1;
      }
    }
  }

  // ------------------------------------------------------------------ faults

  private fault(): void {
    if (this.healed) return;
    this.faults++;
    this.at(this.prng.int(100, 600), () => this.fault());
    const brokers = [...this.brokers.values()];
    const up = brokers.filter((b) => b.partition);
    const down = brokers.filter((b) => !b.partition);
    const kind = this.prng.weighted({ crash: 3, restart: 3, cut: 2, heal: 2, loss: 1 });
    switch (kind) {
      case 'crash':
        if (up.length > 1) this.crash(this.prng.pick(up));
        break;
      case 'restart':
        if (down.length > 0) void this.restart(this.prng.pick(down));
        break;
      case 'cut': {
        const a = this.prng.pick(this.ids);
        const b = this.prng.pick(this.ids.filter((id) => id !== a));
        this.log(`FAULT cut ${a} <-> ${b}`);
        this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
        break;
      }
      case 'heal':
        this.log('FAULT heal links');
        this.cuts.clear();
        break;
      case 'loss':
        this.lossRate = this.prng.pick([0, 0.05, 0.2]);
        this.log(`FAULT loss ${this.lossRate}`);
        break;
    }
  }

  private async heal(): Promise<void> {
    this.log('HEAL');
    this.healed = true;
    this.cuts.clear();
    this.lossRate = 0;
    for (const broker of this.brokers.values()) if (!broker.partition) await this.restart(broker);
    this.at(SESSION_MS * 2, () => this.commit(preferredLeaderElection(this.image, this.ids), 'preferred leaders'));
  }

  // ------------------------------------------------------------------ network

  /** `from`/`to` -1 is the client (producer or consumer), which is never cut off. */
  private send(from: number, to: number, deliver: () => void | Promise<void>): void {
    if (this.cuts.has(`${from}>${to}`) || this.prng.chance(this.lossRate)) return;
    this.at(this.prng.int(1, 15), deliver);
  }

  private sendToController(from: number, deliver: () => void): void {
    if (this.prng.chance(this.lossRate)) return;
    this.at(this.prng.int(1, 20), () => {
      if (this.brokers.get(from)?.partition) deliver();
    });
  }

  private sendFromController(to: number, deliver: () => void): void {
    if (this.prng.chance(this.lossRate)) return;
    this.at(this.prng.int(1, 20), () => {
      if (this.brokers.get(to)?.partition) deliver();
    });
  }

  private at(delay: number, action: () => void | Promise<void>): void {
    this.queue.push(this.now + delay, { kind: 'run', action });
  }

  // ------------------------------------------------------------------ invariants

  private async check(): Promise<void> {
    const state = this.state();
    for (const broker of this.brokers.values()) {
      const partition = broker.partition;
      if (partition?.isLeader) {
        const key = `${broker.id}@${broker.incarnation}@${partition.leaderEpoch}`;
        const before = this.hwByIncarnation.get(key) ?? 0;
        if (partition.highWatermark < before) this.fail(`leader ${broker.id} high watermark went back from ${before} to ${partition.highWatermark}`);
        this.hwByIncarnation.set(key, partition.highWatermark);
      }
    }
    // Every acknowledged record on every ISR member: checked in full when the ISR changes or a
    // log was truncated, and for each acknowledgement as it comes (checkAcknowledged).
    const isrKey = `${state.partitionEpoch}`;
    if (this.acknowledged.size === 0 || this.checkedIsr === isrKey) return;
    this.checkedIsr = isrKey;
    await this.checkAcknowledged([...this.acknowledged]);
  }

  private async checkAcknowledged(acknowledged: readonly number[]): Promise<void> {
    for (const id of this.state().isr) {
      const values = await this.storedValues(this.brokers.get(id)!);
      const missing = acknowledged.filter((v) => !values.has(v));
      if (missing.length > 0) this.fail(`ISR member ${id} lacks acknowledged records ${missing.slice(0, 5).join(',')}`);
    }
  }

  private async storedValues(broker: SimBroker): Promise<Set<number>> {
    const logs = await LogManager.open(broker.store);
    const log = logs.get(TOPIC, 0);
    const values = new Set<number>();
    if (log.logEndOffset === log.logStartOffset) return values;
    const { batches } = await log.read(log.logStartOffset);
    for (const batch of batches) for (const record of decodeRecordBatch(batch).records) values.add(Number(new TextDecoder().decode(record.value!)));
    return values;
  }

  private async finished(): Promise<boolean> {
    const state = this.state();
    if (state.leader < 0 || this.inFlight > 0) return false;
    const leader = this.brokers.get(state.leader)?.partition;
    if (!leader?.isLeader || state.isr.length !== 3) return false;
    for (const id of state.replicas) {
      const replica = this.brokers.get(id)?.partition;
      if (!replica || replica.logEndOffset !== leader.logEndOffset) return false;
    }
    return leader.highWatermark === leader.logEndOffset;
  }

  private async finalRead(): Promise<void> {
    const leader = this.brokers.get(this.state().leader)!.partition!;
    // Below the high watermark a fetch never waits (waiting would need the virtual clock).
    while (this.consumerOffset < leader.highWatermark) {
      this.observe(await leader.fetchForConsumer(this.consumerOffset, 0, 1024 * 1024));
      if (this.failure !== null) this.fail(this.failure);
    }
    const delivered = new Set(this.seenAt.values());
    const missing = [...this.acknowledged].filter((v) => !delivered.has(v));
    if (missing.length > 0) this.fail(`acknowledged records never delivered: ${missing.slice(0, 10).join(',')}`);
  }

  /** Also called from promise callbacks: the main loop throws what was recorded. */
  private fail(reason: string): never {
    this.failure ??= reason;
    throw new ReplicationFailure(this.seed, this.now, reason);
  }

  private describe(): string {
    const state = this.state();
    const brokers = [...this.brokers.values()].map((b) =>
      b.partition ? `${b.id}:${b.partition.isLeader ? 'L' : 'F'} leo=${b.partition.logEndOffset} hw=${b.partition.highWatermark} epoch=${b.partition.leaderEpoch}` : `${b.id}:down`,
    );
    return `leader ${state.leader} epoch ${state.leaderEpoch} isr [${state.isr.join(',')}]; ${brokers.join('; ')}; inFlight=${this.inFlight}`;
  }

  private log(line: string): void {
    this.trace?.(`t=${this.now} ${line}`);
  }
}

/** Settles every promise chain the last event started: nothing in the simulation waits on real time. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
