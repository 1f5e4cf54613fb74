/**
 * A broker's whole part in the cluster as one I/O-free state machine: the controller election
 * (who leads), the metadata quorum (what everyone holds), the committed metadata image, and,
 * while this broker is the ready controller, the controller's duties (KRaft's QuorumController):
 * register and unfence live brokers, fence silent ones and move their leaderships, give
 * partitions back to their preferred leaders, and turn admin requests into metadata records.
 *
 * The driver feeds inputs with the current time, stores `persist` before sending `send`, and
 * calls `handle({ type: 'tick' })` at `wakeAt`. Randomness (topic ids, replica placement) is
 * injected so a simulation replays exactly.
 */
import { NotControllerError, TabkaError } from '../errors';
import { ControllerElection } from './controller-election';
import type { ElectionEvent, ElectionInput, ElectionOutput, ElectionPersistedState } from './controller-election';
import type { ClusterView } from './cluster-view';
import { EMPTY_IMAGE, applyRecord } from './metadata-image';
import type { MetadataImage } from './metadata-image';
import { MetadataQuorum } from './metadata-quorum';
import type { ElectionState, LogWrite, QuorumEvent, QuorumInput, QuorumOutput } from './metadata-quorum';
import type { MetadataEntry } from './metadata-quorum-messages';
import type { MetadataRecord } from './metadata-records';
import {
  alterIsr,
  brokerFenced,
  brokerUnfenced,
  createTopics,
  deleteTopics,
  preferredLeaderElection,
} from './topic-controller';
import type { CreateTopicRequest, TopicResult } from './topic-controller';

export type Channel = 'election' | 'metadata';

export interface AlterPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

export interface ClusterMemberConfig {
  readonly brokerId: number;
  readonly random: () => number;
  readonly heartbeatIntervalMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly electionTimeoutMs?: number;
  readonly startupGraceMs?: number;
  readonly foundingPatienceMs?: number;
  readonly fetchMaxWaitMs?: number;
  readonly recoveryTimeoutMs?: number;
  /** What storage holds: the election's votes, the metadata log and its last known high watermark. */
  readonly persisted?: {
    readonly election?: ElectionPersistedState | null;
    readonly entries?: readonly MetadataEntry[];
    readonly highWatermark?: number;
  };
}

export type ClusterInput =
  | { readonly type: 'start' }
  | { readonly type: 'tick' }
  | { readonly type: 'peerUp'; readonly id: number }
  | { readonly type: 'peerDown'; readonly id: number }
  /** Discovery named a peer whose channel is not up yet. */
  | { readonly type: 'peerAnnounced'; readonly id: number }
  | { readonly type: 'message'; readonly from: number; readonly channel: Channel; readonly message: unknown }
  | { readonly type: 'leave' };

export type ClusterEvent =
  | ElectionEvent
  | QuorumEvent
  | { readonly type: 'metadataConflict'; readonly offset: number; readonly reason: string };

export interface ClusterOutput {
  readonly send: readonly { readonly to: number; readonly channel: Channel; readonly message: unknown }[];
  /** Store these (votes first, then the log writes in order) before sending. */
  readonly persist: { readonly election: ElectionPersistedState | null; readonly log: readonly LogWrite[] };
  readonly events: readonly ClusterEvent[];
  readonly wakeAt: number | null;
}

/** What an admin request got: per-topic results, and the offset the metadata must reach to show them. */
export interface AdminOutcome {
  readonly results: readonly TopicResult[];
  /** The high watermark at which every successful topic change is committed. */
  readonly commitOffset: number;
  readonly output: ClusterOutput;
}

export class ClusterMember {
  readonly brokerId: number;
  /** Read-only use outside (status, simulation invariants): feed inputs through handle(). */
  readonly election: ControllerElection;
  readonly quorum: MetadataQuorum;
  private readonly random: () => number;
  private committed: MetadataImage = EMPTY_IMAGE;
  /** The controller's image over its whole log, uncommitted entries included; null unless ready. */
  private working: MetadataImage | null = null;
  /** A working image and live set for which the controller's duties found nothing to do. */
  private dutiesDoneFor: { readonly image: MetadataImage; readonly live: string } | null = null;
  private readonly events: ClusterEvent[] = [];
  private electionWake: number | null = null;
  private quorumWake: number | null = null;

  constructor(config: ClusterMemberConfig) {
    this.brokerId = config.brokerId;
    this.random = config.random;
    this.quorum = new MetadataQuorum({
      brokerId: config.brokerId,
      entries: config.persisted?.entries ?? [],
      highWatermark: config.persisted?.highWatermark ?? 0,
      ...(config.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: config.fetchMaxWaitMs }),
      ...(config.recoveryTimeoutMs === undefined ? {} : { recoveryTimeoutMs: config.recoveryTimeoutMs }),
    });
    this.election = new ControllerElection({
      brokerId: config.brokerId,
      persisted: config.persisted?.election ?? null,
      metadataLogEnd: () => this.quorum.logEnd,
      metadataReady: () => this.quorum.isReady,
      heldByMajorityOf: (members) => this.quorum.heldByMajorityOf(members),
      ...(config.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: config.heartbeatIntervalMs }),
      ...(config.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.sessionTimeoutMs }),
      ...(config.electionTimeoutMs === undefined ? {} : { electionTimeoutMs: config.electionTimeoutMs }),
      ...(config.startupGraceMs === undefined ? {} : { startupGraceMs: config.startupGraceMs }),
      ...(config.foundingPatienceMs === undefined ? {} : { foundingPatienceMs: config.foundingPatienceMs }),
    });
    this.applyCommitted(this.quorum.entries.slice(0, this.quorum.highWatermark), 0);
    this.events.length = 0;
  }

  // ---------------------------------------------------------------- read-only view

  get controllerId(): number | null {
    return this.election.controllerId;
  }
  get controllerEpoch(): number {
    return this.election.epoch;
  }
  get isActiveController(): boolean {
    return this.election.isActiveController;
  }
  /** Active controller whose metadata is complete: admin requests go through. */
  get isReadyController(): boolean {
    return this.election.isActiveController && this.quorum.isReady;
  }
  get view(): ClusterView {
    return this.election.view;
  }
  get liveMembers(): number[] {
    return this.election.liveMembers;
  }
  /** The committed metadata: what this broker knows for sure. */
  get image(): MetadataImage {
    return this.committed;
  }
  get highWatermark(): number {
    return this.quorum.highWatermark;
  }
  get metadataLog(): readonly MetadataEntry[] {
    return this.quorum.entries;
  }

  // ---------------------------------------------------------------- input

  handle(input: ClusterInput, now: number): ClusterOutput {
    const collector = new OutputCollector();
    if (input.type === 'message' && input.channel === 'metadata') {
      this.stepQuorum(collector, { type: 'message', from: input.from, message: input.message }, now);
      this.afterStep(collector, now);
      return this.finish(collector);
    }
    const electionInput: ElectionInput =
      input.type === 'message' ? { type: 'message', from: input.from, message: input.message } : input;
    this.stepElection(collector, electionInput, now);
    if (input.type === 'leave') this.quorumWake = null;
    else this.afterStep(collector, now);
    return this.finish(collector);
  }

  createTopics(requests: readonly CreateTopicRequest[], now: number): AdminOutcome {
    return this.decide(now, (image) => createTopics(image, this.election.liveMembers, requests, this.random));
  }

  deleteTopics(names: readonly string[], now: number): AdminOutcome {
    return this.decide(now, (image) => deleteTopics(image, names));
  }

  /** A partition leader asks for a new ISR (Kafka's AlterPartition). */
  alterPartition(request: AlterPartitionRequest, now: number): AdminOutcome {
    return this.decide(now, (image) => [
      {
        name: request.topic,
        result: alterIsr(image, request.topic, request.partition, request.isr, request.leader, request.leaderEpoch),
      },
    ]);
  }

  // ---------------------------------------------------------------- steps

  private decide(now: number, decideOn: (image: MetadataImage) => TopicResult[]): AdminOutcome {
    const collector = new OutputCollector();
    const image = this.working;
    if (!this.isReadyController || image === null) throw new NotControllerError(this.brokerId, this.election.controllerId);
    const results = decideOn(image);
    const records = results.flatMap(({ result }) => (result.ok ? result.records : []));
    this.propose(collector, records, now);
    this.afterStep(collector, now);
    return { results, commitOffset: this.quorum.entries.length, output: this.finish(collector) };
  }

  private stepElection(collector: OutputCollector, input: ElectionInput, now: number): void {
    const output: ElectionOutput = this.election.handle(input, now);
    collector.election(output);
    this.electionWake = output.wakeAt;
    const elected = output.events.find((e) => e.type === 'becameController');
    const state: ElectionState = {
      controllerId: this.election.controllerId,
      epoch: this.election.epoch,
      isActiveController: this.election.isActiveController,
      members: this.election.view.members,
      ...(elected?.type === 'becameController'
        ? { elected: { epoch: elected.epoch, logEnds: elected.logEnds, founded: elected.electedWith.members.length === 0 } }
        : {}),
    };
    if (input.type === 'leave') return;
    this.stepQuorum(collector, { type: 'election', state }, now);
  }

  private stepQuorum(collector: OutputCollector, input: QuorumInput, now: number): QuorumOutput {
    const output = this.quorum.handle(input, now);
    collector.quorum(output);
    // The log was another founding's: so was everything the image was built from.
    if (output.events.some((event) => event.type === 'replaced')) this.committed = EMPTY_IMAGE;
    this.quorumWake = this.election.phase === 'stopped' ? null : output.wakeAt;
    this.applyCommitted(output.committed, output.committedFrom);
    for (const event of output.events) {
      collector.events.push(event);
      if (event.type === 'ready') this.working = this.replayAll();
    }
    if (!this.quorum.isReady) this.working = null;
    if (output.resign) this.stepElection(collector, { type: 'resign' }, now);
    return output;
  }

  /** The controller's duties, each step: keep broker registrations and leaderships in line with liveness. */
  private afterStep(collector: OutputCollector, now: number): void {
    if (!this.isReadyController || this.working === null) return;
    // The duties are a function of the (immutable) working image and who is live: most inputs
    // (heartbeats) change neither, so they skip the scan of every partition.
    const liveKey = this.election.liveMembers.join(',');
    if (this.working === this.dutiesDoneFor?.image && liveKey === this.dutiesDoneFor.live) return;
    const before = this.working;
    const live = new Set(this.election.liveMembers);
    for (const id of live) {
      if (!this.working.brokers.has(id)) this.propose(collector, [{ type: 'RegisterBroker', brokerId: id }], now);
    }
    for (const broker of [...this.working.brokers.values()]) {
      const image = this.working;
      if (broker.fenced && live.has(broker.brokerId)) this.propose(collector, brokerUnfenced(image, broker.brokerId), now);
      else if (!broker.fenced && !live.has(broker.brokerId)) this.propose(collector, brokerFenced(image, broker.brokerId), now);
    }
    this.propose(collector, preferredLeaderElection(this.working, [...live]), now);
    // Only a pass that changed nothing proves the next one would change nothing either.
    this.dutiesDoneFor = this.working === before ? { image: before, live: liveKey } : null;
  }

  private propose(collector: OutputCollector, records: readonly MetadataRecord[], now: number): void {
    if (records.length === 0 || this.working === null) return;
    const output = this.stepQuorum(collector, { type: 'propose', records }, now);
    const placed = output.proposed;
    if (placed === null || this.working === null) return;
    let image = this.working;
    records.forEach((record, i) => {
      image = applyRecord(image, record, placed.baseOffset + i);
    });
    this.working = image;
  }

  private applyCommitted(entries: readonly MetadataEntry[], from: number): void {
    entries.forEach((entry, i) => {
      try {
        this.committed = applyRecord(this.committed, entry.record, from + i);
      } catch (error) {
        // A record that does not fit is skipped and reported, never half-applied or fatal.
        const reason = error instanceof TabkaError ? error.message : String(error);
        this.events.push({ type: 'metadataConflict', offset: from + i, reason });
      }
    });
  }

  private replayAll(): MetadataImage {
    let image = this.committed;
    const entries = this.quorum.entries;
    for (let offset = image.offset + 1; offset < entries.length; offset++) {
      try {
        image = applyRecord(image, entries[offset]!.record, offset);
      } catch {
        // Already reported, or reported when it commits.
      }
    }
    return image;
  }

  private finish(collector: OutputCollector): ClusterOutput {
    collector.events.push(...this.events);
    this.events.length = 0;
    const wakes = [this.electionWake, this.quorumWake].filter((t): t is number => t !== null && Number.isFinite(t));
    return collector.output(wakes.length === 0 ? null : Math.min(...wakes));
  }
}

/** Gathers what one input made the election and the quorum say, in order. */
class OutputCollector {
  readonly send: { to: number; channel: Channel; message: unknown }[] = [];
  readonly log: LogWrite[] = [];
  readonly events: ClusterEvent[] = [];
  private electionState: ElectionPersistedState | null = null;

  election(output: ElectionOutput): void {
    for (const { to, message } of output.send) this.send.push({ to, channel: 'election', message });
    this.events.push(...output.events);
    if (output.persist) this.electionState = output.persist;
  }

  quorum(output: QuorumOutput): void {
    for (const { to, message } of output.send) this.send.push({ to, channel: 'metadata', message });
    this.log.push(...output.writes);
  }

  output(wakeAt: number | null): ClusterOutput {
    return { send: this.send, persist: { election: this.electionState, log: this.log }, events: this.events, wakeAt };
  }
}
