/**
 * Deterministic simulation of the controller election (the model: Kafka's
 * RaftEventSimulationTest, FoundationDB). Brokers are ClusterMember state machines (controller
 * election + metadata quorum + controller duties) on a
 * simulated network with a virtual clock; one seed drives everything random, so a failing
 * seed replays exactly.
 *
 * One run: 3-7 brokers with random ids start at random times and form a cluster on a healthy
 * network; then random faults for a while (crash, restart, clean leave, rejoin, partitions,
 * one-way cuts, channel closes, loss, delay, garbage frames); then the network heals, some
 * down brokers come back (a majority is always back), and the run continues until the
 * cluster has been settled for a while. Invariants are checked after every step.
 */
import { EMPTY_VIEW, compareViews, formatView } from '../../src/cluster/cluster-view';
import { ClusterMember } from '../../src/cluster/cluster-member';
import type { Channel, ClusterInput, ClusterOutput } from '../../src/cluster/cluster-member';
import type { ElectionPersistedState } from '../../src/cluster/controller-election';
import type { ElectionMessage } from '../../src/cluster/election-messages';
import type { LogWrite } from '../../src/cluster/metadata-quorum';
import type { MetadataEntry } from '../../src/cluster/metadata-quorum-messages';
import { MetadataInvariants } from './metadata-invariants';
import { ElectionInvariants, InvariantViolation } from './election-invariants';
import type { RunningBroker } from './election-invariants';
import { EventQueue } from './event-queue';
import { Prng } from './prng';
import { SimNetwork } from './sim-network';

export const SESSION_TIMEOUT_MS = 1500;
export const HEARTBEAT_INTERVAL_MS = 250;
export const ELECTION_TIMEOUT_MS = 500;

const FORMATION_LIMIT_MS = 20_000;
const SETTLE_LIMIT_MS = 40_000;
/** The cluster must stay settled this long after healing to count as converged. */
const STABLE_MS = 2 * SESSION_TIMEOUT_MS;

type BrokerStatus = 'notStarted' | 'running' | 'crashed' | 'left';

interface SimBroker {
  readonly id: number;
  /** This broker's clock minus simulation time: brokers never compare clocks, so it must not matter. */
  readonly clockOffset: number;
  status: BrokerStatus;
  machine: ClusterMember | null;
  incarnation: number;
  persisted: ElectionPersistedState | null;
  /** What the broker's storage holds of the metadata log. */
  storedEntries: MetadataEntry[];
  storedHighWatermark: number;
  wakeToken: number;
  wakeAt: number;
  downSince: number;
}

type SimEvent =
  | { readonly kind: 'start'; readonly id: number }
  | { readonly kind: 'tick'; readonly id: number; readonly token: number }
  | {
      readonly kind: 'deliver';
      readonly from: number;
      readonly to: number;
      readonly incarnation: number;
      readonly generation: number;
      readonly sentAt: number;
      readonly echoOfSendTime: number | undefined;
      readonly channel: Channel;
      readonly message: unknown;
    }
  | { readonly kind: 'channel'; readonly id: number; readonly peer: number; readonly up: boolean; readonly incarnation: number }
  | { readonly kind: 'reconnect'; readonly a: number; readonly b: number }
  | { readonly kind: 'closeAll'; readonly id: number; readonly incarnation: number }
  | { readonly kind: 'fault' }
  | { readonly kind: 'heal' }
  /** Someone asks the cluster for a metadata change (an admin creating or deleting a topic). */
  | { readonly kind: 'workload' };

export interface SimulationOptions {
  /** Receives a line per notable happening, for replaying a failing seed. */
  readonly trace?: (line: string) => void;
}

export interface SimulationStats {
  readonly seed: number;
  readonly brokers: number;
  readonly events: number;
  readonly faults: number;
  readonly controllersElected: number;
  readonly finalEpoch: number;
  /** Topic changes the controller accepted, and how long the final metadata log is. */
  readonly topicChanges: number;
  readonly metadataLogLength: number;
  readonly simulatedMs: number;
  readonly formedAt: number;
  readonly healedAt: number;
  readonly settledAt: number;
}

export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';
  constructor(
    readonly seed: number,
    readonly time: number,
    reason: string,
  ) {
    super(`seed ${seed} at t=${time}ms: ${reason}`);
  }
}

/** Garbage a confused or hostile peer might send. */
const GARBAGE: readonly unknown[] = [
  null,
  42,
  'HEARTBEAT',
  [],
  {},
  { type: 'HEARTBEAT' },
  { type: 'COORDINATOR', epoch: -1, view: { epoch: 0, seq: 0, members: [] }, ts: 0 },
  { type: 'COORDINATOR', epoch: 1e12, view: { epoch: 0, seq: 0, members: [1] }, ts: 0 },
  { type: 'COORDINATOR_ACK', epoch: 3, candidateEpoch: 3, granted: 'yes', view: { epoch: 0, seq: 0, members: [] }, echo: 0, logEnd: { epoch: 0, offset: 0 } },
  { type: 'HEARTBEAT', epoch: 1, controllerId: null, view: { epoch: 1, seq: 0, members: [5, 3] }, ts: 0, echo: null },
  { type: 'HEARTBEAT', epoch: 1, controllerId: 1.5, view: { epoch: 1, seq: 0, members: [] }, ts: 0, echo: null },
  { type: 'LEAVE', epoch: 0, ts: Number.NaN },
  { type: 'NOPE', epoch: 0 },
];

/** Garbage on the metadata channel. */
const METADATA_GARBAGE: readonly unknown[] = [
  null,
  { type: 'FETCH' },
  { type: 'FETCH', epoch: 1, offset: -1, lastEpoch: 0, highWatermark: 0, recovery: false },
  { type: 'FETCH_RESPONSE', epoch: 1, offset: 0, highWatermark: 0, entries: [{ epoch: 1, record: { type: 'Nope' } }], diverging: null, error: null },
  { type: 'FETCH_RESPONSE', epoch: 1, offset: 0, highWatermark: 0, entries: 'x', diverging: null, error: null },
  { type: 'FETCH_RESPONSE', epoch: 1, offset: 0, highWatermark: 0, entries: [], diverging: { epoch: 'a' }, error: null },
];

export function runElectionSimulation(seed: number, options: SimulationOptions = {}): SimulationStats {
  return new ElectionSimulation(seed, options).run();
}

class ElectionSimulation {
  private readonly prng: Prng;
  private readonly network: SimNetwork;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly brokers = new Map<number, SimBroker>();
  private readonly ids: number[];
  private readonly invariants: ElectionInvariants;
  private readonly metadata = new MetadataInvariants();
  private topicChanges = 0;
  private topicCounter = 0;
  private readonly trace: ((line: string) => void) | undefined;
  private now = 0;
  private stage: 'forming' | 'faults' | 'healed' = 'forming';
  private events = 0;
  private faults = 0;
  private controllersElected = 0;
  private formedAt = 0;
  private healedAt = 0;
  private settledSince: number | null = null;
  /** Some runs are a storm of faults, others give the cluster time to recover in between. */
  private readonly faultGapMs: readonly [number, number];

  constructor(
    readonly seed: number,
    options: SimulationOptions,
  ) {
    this.prng = new Prng(seed);
    this.trace = options.trace;
    this.network = new SimNetwork(this.prng, this.prng.int(1, 5), this.prng.int(5, 60));
    this.invariants = new ElectionInvariants(this.network, SESSION_TIMEOUT_MS);
    this.faultGapMs = this.prng.pick([
      [100, 1500],
      [20, 400],
    ] as const);
    const count = this.prng.int(3, 7);
    const ids = new Set<number>();
    while (ids.size < count) ids.add(this.prng.int(0, 999));
    this.ids = [...ids].sort((a, b) => a - b);
    for (const id of this.ids) {
      this.brokers.set(id, {
        id,
        clockOffset: this.prng.int(0, 10_000_000),
        status: 'notStarted',
        machine: null,
        incarnation: 0,
        persisted: null,
        storedEntries: [],
        storedHighWatermark: 0,
        wakeToken: 0,
        wakeAt: Number.POSITIVE_INFINITY,
        downSince: 0,
      });
      // Some start after the others formed the cluster: newly joined brokers.
      this.queue.push(this.prng.int(0, 2500), { kind: 'start', id });
    }
    this.log(`brokers ${this.ids.join(',')}`);
  }

  run(): SimulationStats {
    try {
      for (;;) {
        const next = this.queue.pop();
        if (next === undefined) throw new Error('event queue ran dry');
        this.now = next.time;
        this.events++;
        this.process(next.item);
        // Also after events no broker saw: time passing is a step too (a lease can run out).
        this.checkAll();
        this.checkProgress();
        if (this.stage === 'healed' && this.settledSince !== null && this.now - this.settledSince >= STABLE_MS) break;
      }
    } catch (error) {
      if (error instanceof SimulationFailure) throw error;
      const reason = error instanceof InvariantViolation ? error.message : String((error as Error)?.stack ?? error);
      throw new SimulationFailure(this.seed, this.now, reason);
    }
    const controller = this.broker(Math.max(...this.running().map((b) => b.id)));
    return {
      seed: this.seed,
      brokers: this.ids.length,
      events: this.events,
      faults: this.faults,
      controllersElected: this.controllersElected,
      finalEpoch: controller.machine?.controllerEpoch ?? -1,
      topicChanges: this.topicChanges,
      metadataLogLength: controller.machine?.metadataLog.length ?? -1,
      simulatedMs: this.now,
      formedAt: this.formedAt,
      healedAt: this.healedAt,
      settledAt: this.settledSince ?? -1,
    };
  }

  // ------------------------------------------------------------------ events

  private process(event: SimEvent): void {
    switch (event.kind) {
      case 'start':
        this.boot(this.broker(event.id));
        break;
      case 'tick': {
        const broker = this.broker(event.id);
        if (broker.machine === null || broker.wakeToken !== event.token) return;
        broker.wakeAt = Number.POSITIVE_INFINITY;
        this.feed(broker, { type: 'tick' });
        break;
      }
      case 'deliver': {
        const broker = this.broker(event.to);
        if (broker.machine === null || broker.incarnation !== event.incarnation) return;
        if (!this.network.survives(event.from, event.to, event.generation)) return;
        // Round trips are the election's ground truth: only its own messages prove one.
        if (event.channel === 'election') this.network.recordDelivery(event.from, event.to, event.sentAt, event.echoOfSendTime);
        this.feed(broker, { type: 'message', from: event.from, channel: event.channel, message: event.message });
        break;
      }
      case 'channel': {
        const broker = this.broker(event.id);
        if (broker.machine === null || broker.incarnation !== event.incarnation) return;
        // A notice that no longer matches the channel (it reopened, or closed again) is stale.
        if (this.network.isOpen(event.id, event.peer) !== event.up) return;
        this.feed(broker, event.up ? { type: 'peerUp', id: event.peer } : { type: 'peerDown', id: event.peer });
        break;
      }
      case 'reconnect':
        this.reconnect(event.a, event.b);
        break;
      case 'closeAll': {
        const broker = this.broker(event.id);
        if (broker.status === 'left' && broker.incarnation === event.incarnation) this.closeAll(broker);
        break;
      }
      case 'fault':
        if (this.stage !== 'faults') return;
        this.injectFault();
        this.queue.push(this.now + this.prng.int(this.faultGapMs[0], this.faultGapMs[1]), { kind: 'fault' });
        break;
      case 'heal':
        this.heal();
        break;
      case 'workload':
        this.workload();
        break;
    }
  }

  /** The ready controller, if any, gets a topic to create or delete. */
  private workload(): void {
    // Faults and admin requests stop together, so "settled" can mean "every broker has it all".
    if (this.stage !== 'faults') return;
    this.queue.push(this.now + this.prng.int(50, 600), { kind: 'workload' });
    const controller = this.running().find((b) => (b.machine as ClusterMember).isReadyController);
    if (controller === undefined) return;
    const member = controller.machine as ClusterMember;
    const topics = [...member.image.topics.keys()];
    const remove = topics.length > 0 && this.prng.chance(0.25);
    const now = this.now + controller.clockOffset;
    const outcome = remove
      ? member.deleteTopics([this.prng.pick(topics)], now)
      : member.createTopics(
          [{ name: `t${this.topicCounter++}`, numPartitions: this.prng.int(1, 4), replicationFactor: this.prng.int(1, 3) }],
          now,
        );
    const accepted = outcome.results.filter((r) => r.result.ok).length;
    this.topicChanges += accepted;
    this.log(`${controller.id}: ${remove ? 'delete' : 'create'} -> ${outcome.results.map((r) => (r.result.ok ? 'ok' : r.result.error.name)).join(',')}`);
    this.apply(controller, outcome.output);
    this.checkAll();
  }

  private checkAll(): void {
    const running = this.runningBrokers();
    this.invariants.check(running, this.now);
    this.metadata.check(this.running().map((b) => ({ id: b.id, member: b.machine as ClusterMember, incarnation: b.incarnation, storedHighWatermark: b.storedHighWatermark, storedEntries: b.storedEntries })));
  }

  private feed(broker: SimBroker, input: ClusterInput): void {
    const machine = broker.machine as ClusterMember;
    const output = machine.handle(input, this.now + broker.clockOffset);
    this.apply(broker, output);
    this.checkAll();
  }

  private apply(broker: SimBroker, output: ClusterOutput): void {
    // Before storing: the restamped view the controller writes must not count as committed yet.
    for (const event of output.events) {
      if (event.type === 'becameController') this.invariants.becameController(broker.id, event.epoch, event.electedWith);
    }
    if (output.persist.election !== null) {
      const previous = broker.persisted;
      broker.persisted = output.persist.election;
      this.invariants.persisted(broker.id, previous, output.persist.election);
    }
    for (const write of output.persist.log) this.store(broker, write);
    for (const event of output.events) {
      if (event.type === 'ready' && broker.machine) this.metadata.becameReady(broker.id, broker.machine);
    }
    for (const { to, channel, message } of output.send) this.send(broker.id, to, channel, message);
    for (const event of output.events) {
      if (event.type === 'becameController') this.controllersElected++;
      if (!this.trace) continue;
      if (event.type === 'viewChanged') this.log(`${broker.id}: view ${formatView(event.view)}`);
      else this.log(`${broker.id}: ${JSON.stringify(event)}`);
    }
    if (output.wakeAt !== null && Number.isFinite(output.wakeAt)) {
      const at = output.wakeAt - broker.clockOffset;
      if (at < broker.wakeAt) {
        broker.wakeAt = at;
        broker.wakeToken++;
        this.queue.push(Math.max(at, this.now), { kind: 'tick', id: broker.id, token: broker.wakeToken });
      }
    }
  }

  private store(broker: SimBroker, write: LogWrite): void {
    switch (write.type) {
      case 'truncate':
        broker.storedEntries.length = write.offset;
        break;
      case 'append':
        if (write.baseOffset !== broker.storedEntries.length) {
          throw new SimulationFailure(this.seed, this.now, `broker ${broker.id} appended at ${write.baseOffset} to a log ending at ${broker.storedEntries.length}`);
        }
        broker.storedEntries.push(...write.entries);
        break;
      case 'highWatermark':
        if (write.offset < broker.storedHighWatermark) {
          throw new SimulationFailure(this.seed, this.now, `broker ${broker.id} stored high watermark ${write.offset} after ${broker.storedHighWatermark}`);
        }
        broker.storedHighWatermark = write.offset;
        break;
    }
  }

  /** `garbage`: a malformed frame, which accounts for no vote. */
  private send(from: number, to: number, channel: Channel, message: unknown, garbage = false): void {
    const sent = message as ElectionMessage;
    if (garbage) {
      this.log(`GARBAGE ${from} -> ${to} ${channel} ${JSON.stringify(message)}`);
    } else if (channel !== 'election') {
      // Metadata fetches: checked by the metadata invariants through what brokers store.
    } else if (sent.type === 'COORDINATOR') this.invariants.voted(from, sent.epoch, from);
    else if (sent.type === 'COORDINATOR_ACK' && sent.granted) this.invariants.voted(from, sent.candidateEpoch, to);
    const target = this.brokers.get(to);
    if (target === undefined || target.status !== 'running') return;
    const transmission = this.network.transmit(from, to, this.now);
    if (transmission === null) return;
    if (this.trace && !garbage && (sent.type !== 'HEARTBEAT' || process.env['SIM_TRACE_HEARTBEATS'])) {
      this.log(`${from} -> ${to} ${JSON.stringify(message)}`);
    }
    this.queue.push(transmission.deliverAt, {
      kind: 'deliver',
      from,
      to,
      incarnation: target.incarnation,
      generation: transmission.generation,
      sentAt: this.now,
      echoOfSendTime: transmission.echoOfSendTime,
      channel,
      message,
    });
  }

  // ------------------------------------------------------------------ broker life

  private boot(broker: SimBroker): void {
    broker.status = 'running';
    broker.incarnation++;
    broker.machine = new ClusterMember({
      brokerId: broker.id,
      random: () => this.prng.next(),
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      persisted: { election: broker.persisted, entries: [...broker.storedEntries], highWatermark: broker.storedHighWatermark },
    });
    broker.wakeAt = Number.POSITIVE_INFINITY;
    this.log(`${broker.id}: start (incarnation ${broker.incarnation}, persisted epoch ${broker.persisted?.epoch ?? '-'})`);
    this.feed(broker, { type: 'start' });
    for (const peer of this.ids) {
      // A new incarnation has new connections: the old ones go, however it went down.
      if (peer !== broker.id) this.closeChannel(broker.id, peer, () => 0, false);
    }
    for (const peer of this.running()) {
      if (peer.id !== broker.id) this.queue.push(this.now + this.prng.int(10, 300), { kind: 'reconnect', a: broker.id, b: peer.id });
    }
  }

  /** The mesh keeps trying to set up a channel between two running brokers. */
  private reconnect(a: number, b: number): void {
    const x = this.broker(a);
    const y = this.broker(b);
    if (x.status !== 'running' || y.status !== 'running' || this.network.isOpen(a, b)) return;
    if (!this.network.canConnect(a, b)) {
      this.queue.push(this.now + this.prng.int(500, 2000), { kind: 'reconnect', a, b });
      return;
    }
    this.network.open(a, b);
    this.queue.push(this.now + this.prng.int(0, 50), { kind: 'channel', id: a, peer: b, up: true, incarnation: x.incarnation });
    this.queue.push(this.now + this.prng.int(0, 50), { kind: 'channel', id: b, peer: a, up: true, incarnation: y.incarnation });
  }

  /**
   * Closes a channel. The survivors hear about it (peerDown) after `noticeMs`, or never
   * (null): a crashed tab's channel may just go quiet.
   */
  private closeChannel(a: number, b: number, noticeMs: (side: number) => number | null, retry: boolean): void {
    if (!this.network.close(a, b)) return;
    for (const [side, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const broker = this.broker(side);
      const delay = noticeMs(side);
      if (broker.status === 'running' && delay !== null) {
        this.queue.push(this.now + delay, { kind: 'channel', id: side, peer, up: false, incarnation: broker.incarnation });
      }
    }
    if (retry) this.queue.push(this.now + this.prng.int(200, 2000), { kind: 'reconnect', a, b });
  }

  private crash(broker: SimBroker): void {
    this.log(`FAULT crash ${broker.id}`);
    broker.status = 'crashed';
    broker.machine = null;
    broker.downSince = this.now;
    for (const peer of this.ids) {
      if (peer === broker.id) continue;
      const noticed = this.prng.chance(0.6);
      const delay = this.prng.int(0, 2000);
      this.closeChannel(broker.id, peer, () => (noticed ? delay : null), false);
    }
  }

  private leave(broker: SimBroker): void {
    this.log(`FAULT leave ${broker.id}`);
    const machine = broker.machine as ClusterMember;
    this.apply(broker, machine.handle({ type: 'leave' }, this.now + broker.clockOffset));
    broker.status = 'left';
    broker.machine = null;
    broker.downSince = this.now;
    // A clean close flushes what was sent (the LEAVE frames) before the channels go.
    this.queue.push(this.now + 500, { kind: 'closeAll', id: broker.id, incarnation: broker.incarnation });
    this.checkAll();
  }

  private closeAll(broker: SimBroker): void {
    for (const peer of this.ids) {
      if (peer !== broker.id) this.closeChannel(broker.id, peer, () => this.prng.int(0, 100), false);
    }
  }

  // ------------------------------------------------------------------ faults

  private injectFault(): void {
    this.faults++;
    const running = this.running();
    const down = this.ids.map((id) => this.broker(id)).filter((b) => b.status === 'crashed');
    const gone = this.ids.map((id) => this.broker(id)).filter((b) => b.status === 'left');
    const kind = this.prng.weighted({
      crash: 3,
      restart: 3,
      leave: 3,
      rejoin: 3,
      partition: 2,
      healPartition: 2,
      oneWayCut: 1,
      closeChannel: 2,
      loss: 1,
      jitter: 1,
      garbage: 1,
    });
    switch (kind) {
      case 'crash':
        if (running.length > 0) this.crash(this.prng.pick(running));
        break;
      case 'restart':
        if (down.length > 0) this.boot(this.prng.pick(down));
        break;
      case 'leave':
        if (running.length > 0) this.leave(this.prng.pick(running));
        break;
      case 'rejoin':
        if (gone.length > 0) this.boot(this.prng.pick(gone));
        break;
      case 'partition': {
        if (this.prng.chance(0.5)) this.network.clearCuts();
        const shuffled = this.prng.shuffle(this.ids);
        const split = this.prng.int(1, shuffled.length - 1);
        const left = new Set(shuffled.slice(0, split));
        const close = this.prng.chance(0.5);
        this.log(`FAULT partition {${[...left].join(',')}} | {${shuffled.slice(split).join(',')}}${close ? ' closing channels' : ''}`);
        for (const a of this.ids) {
          for (const b of this.ids) {
            if (a === b || left.has(a) === left.has(b)) continue;
            this.network.cut(a, b);
            if (close && a < b) this.closeChannel(a, b, () => this.prng.int(0, 500), true);
          }
        }
        break;
      }
      case 'healPartition':
        this.log('FAULT heal partition');
        this.network.clearCuts();
        break;
      case 'oneWayCut': {
        const from = this.prng.pick(this.ids);
        const to = this.prng.pick(this.ids.filter((id) => id !== from));
        this.log(`FAULT cut ${from} -> ${to}`);
        this.network.cut(from, to);
        break;
      }
      case 'closeChannel': {
        const a = this.prng.pick(this.ids);
        const b = this.prng.pick(this.ids.filter((id) => id !== a));
        this.log(`FAULT close channel ${a}-${b}`);
        this.closeChannel(a, b, () => (this.prng.chance(0.8) ? this.prng.int(0, 300) : null), true);
        break;
      }
      case 'loss':
        this.network.conditions.lossRate = this.prng.pick([0, 0.05, 0.2, 0.5]);
        this.log(`FAULT loss ${this.network.conditions.lossRate}`);
        break;
      case 'jitter':
        this.network.conditions.jitterMs = this.prng.pick([0, 20, 100, 400]);
        this.log(`FAULT jitter ${this.network.conditions.jitterMs}`);
        break;
      case 'garbage': {
        if (running.length < 2) break;
        const to = this.prng.pick(running);
        const from = this.prng.pick(running.filter((b) => b !== to));
        const channel = this.prng.pick(['election', 'metadata'] as const);
        this.send(from.id, to.id, channel, this.prng.pick(channel === 'election' ? GARBAGE : METADATA_GARBAGE), true);
        break;
      }
    }
  }

  /** Faults stop: the network heals and enough brokers come back to hold a majority. */
  private heal(): void {
    this.stage = 'healed';
    this.healedAt = this.now;
    this.network.clearCuts();
    this.network.conditions = { lossRate: 0, jitterMs: 0 };
    const down = this.prng.shuffle(this.ids.map((id) => this.broker(id)).filter((b) => b.status !== 'running'));
    const stayDown = new Set(down.slice(0, this.prng.int(0, down.length)));
    // A crashed broker stays a member of the view, and a controller needs a majority of the
    // view: by design nothing can be elected while most of the newest view is away for good.
    // A broker that went down within the session timeout may still be admitted on the
    // strength of a round trip it made just before, so it counts as a member too.
    let newest = EMPTY_VIEW;
    for (const id of this.ids) {
      const view = this.broker(id).persisted?.view;
      if (view && compareViews(view, newest) > 0) newest = view;
    }
    const maybeMembers = [...newest.members];
    for (const broker of down) {
      if (this.now - broker.downSince <= SESSION_TIMEOUT_MS && !maybeMembers.includes(broker.id)) {
        maybeMembers.push(broker.id);
      }
    }
    // The brokers that are back elect with the newest view one of them holds (the others adopt
    // it from heartbeats); a newer one may be held only by a broker that stays down (a
    // controller's change that reached no one else): a majority of that one must be back too.
    const newestHeld = () => {
      let held = EMPTY_VIEW;
      for (const id of this.ids) {
        const view = this.broker(id).persisted?.view;
        if (!stayDown.has(this.broker(id)) && view && compareViews(view, held) > 0) held = view;
      }
      return held.members;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (const members of [newest.members, maybeMembers, newestHeld()]) {
        const back = () => members.filter((id) => !stayDown.has(this.broker(id))).length;
        while (members.length > 0 && back() * 2 <= members.length) {
          const returning = down.find((b) => stayDown.has(b) && members.includes(b.id));
          if (returning === undefined) break;
          stayDown.delete(returning);
          changed = true;
        }
      }
    }
    this.log(`HEAL; staying down: ${[...stayDown].map((b) => b.id).join(',') || 'none'}`);
    for (const broker of down) if (!stayDown.has(broker)) this.boot(broker);
    const running = this.running();
    for (const a of running) for (const b of running) if (a.id < b.id) this.reconnect(a.id, b.id);
  }

  private checkProgress(): void {
    if (this.stage === 'forming') {
      const formed =
        this.running().length === this.ids.length &&
        this.running().every((b) => (b.machine as ClusterMember).view.members.length === this.ids.length);
      if (formed) {
        this.stage = 'faults';
        this.formedAt = this.now;
        this.log('FORMED');
        this.queue.push(this.now + this.prng.int(0, 500), { kind: 'fault' });
        this.queue.push(this.now + this.prng.int(0, 300), { kind: 'workload' });
        this.queue.push(this.now + this.prng.int(3000, 12_000), { kind: 'heal' });
      } else if (this.now > FORMATION_LIMIT_MS) {
        throw new SimulationFailure(this.seed, this.now, `cluster did not form: ${this.describe()}`);
      }
      return;
    }
    if (this.stage !== 'healed') return;
    const running = this.running();
    const highest = this.broker(Math.max(...running.map((b) => b.id)));
    const controller = highest.machine as ClusterMember;
    const settled =
      controller.isReadyController &&
      running.every((b) => (b.machine as ClusterMember).controllerId === highest.id) &&
      running.every((b) => controller.view.members.includes(b.id)) &&
      this.metadata.agree(running.map((b) => b.machine as ClusterMember), controller);
    if (!settled) this.settledSince = null;
    else if (this.settledSince === null) this.settledSince = this.now;
    if (this.now - this.healedAt > SETTLE_LIMIT_MS) {
      throw new SimulationFailure(
        this.seed,
        this.now,
        `no agreement on the highest live broker ${highest.id} ${SETTLE_LIMIT_MS} ms after healing: ${this.describe()}`,
      );
    }
  }

  // ------------------------------------------------------------------ helpers

  private broker(id: number): SimBroker {
    const broker = this.brokers.get(id);
    if (broker === undefined) throw new Error(`no broker ${id}`);
    return broker;
  }

  private running(): SimBroker[] {
    const result: SimBroker[] = [];
    for (const id of this.ids) {
      const broker = this.brokers.get(id) as SimBroker;
      if (broker.machine !== null) result.push(broker);
    }
    return result;
  }

  private runningBrokers(): RunningBroker[] {
    return this.running().map((b) => ({ id: b.id, machine: (b.machine as ClusterMember).election, persisted: b.persisted }));
  }

  private describe(): string {
    return this.ids
      .map((id) => {
        const broker = this.broker(id);
        const member = broker.machine;
        if (!member) return `broker ${id} ${broker.status}`;
        return `${member.election.describe()} quorum=${member.quorum.role} log=${member.metadataLog.length} hw=${member.highWatermark}`;
      })
      .join('; ');
  }

  private log(line: string): void {
    this.trace?.(`t=${this.now} ${line}`);
  }
}
