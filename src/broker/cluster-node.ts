/**
 * The broker's seat in the cluster, inside its worker: drives the ClusterMember state machine
 * (election + metadata quorum + controller duties) with frames from the page's mesh (over a
 * MessagePort), real time and timers; stores votes and the metadata log before anything that
 * depends on them is sent; and serves admin requests, forwarding them to the controller.
 */
import { ClusterMember } from '../cluster/cluster-member';
import type { Channel, ClusterEvent, ClusterInput, ClusterOutput } from '../cluster/cluster-member';
import type { ClusterView } from '../cluster/cluster-view';
import type { ElectionPersistedState } from '../cluster/controller-election';
import type { MetadataImage } from '../cluster/metadata-image';
import type { TopicResult } from '../cluster/topic-controller';
import { NotControllerError, RequestTimedOutError, TabkaError } from '../errors';
import type { LogManager } from '../log/log-manager';
import { ApiKey } from '../protocol/api-keys';
import { FrameKind, decodeFrame, encodeFrame } from '../protocol/frame';
import type { FrameBody } from '../protocol/frame';
import { DataChannels } from '../transport/data-channels';
import { parsePageToBroker } from '../transport/mesh-port';
import type { BrokerToPage } from '../transport/mesh-port';
import { SerialQueue } from '../util/serial-queue';
import { sleep } from '../util/sleep';
import { parseAlterPartitionBody, parseCreateTopicsBody, parseDeleteTopicsBody, parseTopicOutcomes } from './admin-requests';
import type { AlterPartitionBody, NewTopic, TopicOutcome } from './admin-requests';
import { MetadataLog } from './metadata-log';
import type { PartitionAssignment } from './partition';
import { PeerRpc } from './peer-rpc';

export interface ClusterStatus {
  readonly brokerId: number;
  readonly controllerId: number | null;
  readonly controllerEpoch: number;
  readonly isController: boolean;
  /** The cluster view: the brokers the cluster knows (a crashed one stays until it leaves). */
  readonly members: readonly number[];
  readonly liveMembers: readonly number[];
  readonly connectedPeers: readonly number[];
  /** Committed metadata log length here, and the last offset applied to the image. */
  readonly metadataHighWatermark: number;
  readonly metadataLogEnd: number;
  readonly events: readonly ClusterEventRecord[];
}

export interface ClusterEventRecord {
  readonly at: number;
  readonly event: ClusterEvent;
}

/** The committed metadata as this broker knows it, in plain cloneable data. */
export interface ClusterMetadata {
  readonly brokerId: number;
  readonly controllerId: number | null;
  readonly controllerEpoch: number;
  readonly brokers: readonly BrokerMetadata[];
  readonly topics: readonly TopicMetadata[];
  /** Offset of the last metadata record applied (-1: none). */
  readonly offset: number;
}

export interface BrokerMetadata {
  readonly nodeId: number;
  /** A member of the cluster view. */
  readonly member: boolean;
  /** Registered with the controller and not fenced. */
  readonly active: boolean;
  /** Heard from within the session timeout (as this broker sees it). */
  readonly live: boolean;
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionMetadata[];
}

/** A partition's leader, leader epoch, replicas and ISR, as committed. */
export interface PartitionMetadata extends PartitionAssignment {
  readonly partition: number;
}

export interface ClusterNodeOptions {
  readonly brokerId: number;
  readonly port: MessagePort;
  readonly logs: LogManager;
  readonly now?: () => number;
  readonly heartbeatIntervalMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly electionTimeoutMs?: number;
}

export type { TopicOutcome } from './admin-requests';

const ELECTION_STATE_KEY = 'controllerElection';
const MAX_EVENT_RECORDS = 200;
const RETRY_BACKOFF_MS = 100;
/** One attempt at the controller waits at most this long before looking for a newer one. */
const ATTEMPT_TIMEOUT_MS = 5000;
/** How long a leaving broker waits for its LEAVE frames to be handed to their channels. */
const LEAVE_FLUSH_MS = 200;

interface CommitWaiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class ClusterNode {
  private readonly queue = new SerialQueue();
  private readonly connected = new Set<number>();
  private readonly history: ClusterEventRecord[] = [];
  private readonly waiters = new Set<CommitWaiter>();
  private readonly rpc: PeerRpc;
  private readonly channels: DataChannels;
  private readonly sending = new Set<Promise<void>>();
  private readonly metadataListeners: ((image: MetadataImage) => void)[] = [];
  private readonly metadataWatchers = new Set<(image: MetadataImage) => void>();
  private lastImage: MetadataImage | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private goodbyeEpoch: number | undefined;

  private constructor(
    private readonly options: ClusterNodeOptions,
    private readonly member: ClusterMember,
    private readonly metadataLog: MetadataLog,
  ) {
    this.channels = new DataChannels({
      onFrame: (from, bytes) => this.receiveFrame(from, bytes),
      onBroken: (brokerId, linkId, reason) => this.post({ type: 'drop', brokerId, linkId, reason }),
    });
    this.rpc = new PeerRpc((to, bytes) => this.sendFrame(to, bytes));
    for (const [apiKey, serve] of this.controllerRequests) {
      this.rpc.handle(apiKey, async (from, { body }) => ({ body: await serve(from, body) }));
    }
  }

  /** What the controller serves, whether the request came from a peer or from this broker itself. */
  private readonly controllerRequests = new Map<ApiKey, (from: number, body: FrameBody) => Promise<FrameBody>>([
    [ApiKey.CreateTopics, (_from, body) => this.serveCreateTopics(body)],
    [ApiKey.DeleteTopics, (_from, body) => this.serveDeleteTopics(body)],
    [ApiKey.AlterPartition, (from, body) => this.serveAlterPartition(from, body)],
  ]);

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const store = options.logs.store;
    const election = parsePersisted(await store.getMeta(ELECTION_STATE_KEY));
    const { metadataLog, stored } = await MetadataLog.open(options.logs);
    const member = new ClusterMember({
      brokerId: options.brokerId,
      random: Math.random,
      persisted: { election, entries: stored.entries, highWatermark: stored.highWatermark },
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
      ...(options.electionTimeoutMs === undefined ? {} : { electionTimeoutMs: options.electionTimeoutMs }),
    });
    const node = new ClusterNode(options, member, metadataLog);
    options.port.onmessage = (event: MessageEvent<unknown>) => node.receive(event.data);
    await node.apply({ type: 'start' });
    return node;
  }

  status(): ClusterStatus {
    const member = this.member;
    return {
      brokerId: this.options.brokerId,
      controllerId: member.controllerId,
      controllerEpoch: member.controllerEpoch,
      isController: member.isActiveController,
      members: [...member.view.members],
      liveMembers: member.liveMembers,
      connectedPeers: [...this.connected].sort((a, b) => a - b),
      metadataHighWatermark: member.highWatermark,
      metadataLogEnd: member.metadataLog.length,
      events: [...this.history],
    };
  }

  metadata(): ClusterMetadata {
    return describeMetadata(this.options.brokerId, this.member);
  }

  /** Creates topics through the controller, wherever it is; resolves once this broker's metadata shows them. */
  async createTopics(requests: readonly NewTopic[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.throughController(ApiKey.CreateTopics, { topics: requests }, timeoutMs);
  }

  async deleteTopics(names: readonly string[], timeoutMs: number): Promise<TopicOutcome[]> {
    return this.throughController(ApiKey.DeleteTopics, { topics: names }, timeoutMs);
  }

  /** As a partition leader: asks the controller for a new ISR; resolves once it is committed here. */
  async alterPartition(body: AlterPartitionBody, timeoutMs: number): Promise<TopicOutcome[]> {
    return this.throughController(ApiKey.AlterPartition, { ...body }, timeoutMs);
  }

  /** Called after every change of the committed metadata (and once at start). */
  onMetadata(listener: (image: MetadataImage) => void): void {
    this.metadataListeners.push(listener);
    listener(this.member.image);
  }

  /**
   * Settles as `work` does, unless first a change of the committed metadata makes `abandon`
   * return an error: a leader that went silent never answers, so a request to it is given up
   * as soon as the metadata names another.
   */
  untilMetadata<T>(work: Promise<T>, abandon: (image: MetadataImage) => Error | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watcher = (image: MetadataImage) => {
        const error = abandon(image);
        if (!error) return;
        this.metadataWatchers.delete(watcher);
        reject(error);
      };
      this.metadataWatchers.add(watcher);
      work.then(resolve, reject).finally(() => this.metadataWatchers.delete(watcher));
    });
  }

  get peers(): PeerRpc {
    return this.rpc;
  }

  get brokerId(): number {
    return this.options.brokerId;
  }

  /** The cluster view's members (what `status().members` lists, without building a status). */
  get members(): readonly number[] {
    return this.member.view.members;
  }

  /** The metadata image as committed here. */
  get image(): MetadataImage {
    return this.member.image;
  }

  /** Clean shutdown: tells the others (so the cluster forgets this broker), then stops. */
  async leave(): Promise<void> {
    await this.apply({ type: 'leave' });
    // The LEAVE frames may wait behind a full channel buffer: let them out before the channels close.
    await Promise.race([Promise.all([...this.sending]), sleep(LEAVE_FLUSH_MS)]);
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.options.port.onmessage = null;
    this.rpc.close();
    this.channels.close();
    for (const waiter of this.waiters) waiter.reject(new NotControllerError(this.options.brokerId, null));
    this.waiters.clear();
  }

  // ---------------------------------------------------------------- admin requests

  private async throughController(apiKey: ApiKey, body: FrameBody, timeoutMs: number): Promise<TopicOutcome[]> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - this.now();
      try {
        const controller = this.member.controllerId;
        if (controller === null) throw new NotControllerError(this.options.brokerId, null);
        const answer =
          controller === this.options.brokerId
            ? await this.controllerRequests.get(apiKey)!(this.options.brokerId, body)
            : (await this.rpc.request(controller, apiKey, { body }, Math.max(1, Math.min(remaining, ATTEMPT_TIMEOUT_MS)))).body;
        const { results, commitOffset } = parseTopicOutcomes(answer);
        // Read-your-writes: once this resolves, this broker's own metadata shows the change.
        await this.waitForCommit(commitOffset, deadline).catch(() => undefined);
        return results;
      } catch (error) {
        const retriable = error instanceof TabkaError && error.retriable;
        if (!retriable || this.now() + RETRY_BACKOFF_MS >= deadline) {
          throw retriable ? new RequestTimedOutError(`topic change (${String(error)})`, timeoutMs) : error;
        }
        await sleep(RETRY_BACKOFF_MS);
      }
    }
  }

  private serveAlterPartition(from: number, body: FrameBody): Promise<FrameBody> {
    const request = parseAlterPartitionBody(body);
    return this.decide((now) => this.member.alterPartition({ ...request, leader: from }, now));
  }

  private serveCreateTopics(body: FrameBody): Promise<FrameBody> {
    const requests = parseCreateTopicsBody(body);
    return this.decide((now) => {
      // Like Kafka's default.replication.factor, but sized to survive a tab: 3, or every broker if fewer.
      const live = this.member.liveMembers.length;
      const resolved = requests.map((r) => ({
        ...r,
        numPartitions: r.numPartitions ?? 1,
        replicationFactor: r.replicationFactor ?? Math.max(1, Math.min(3, live)),
      }));
      return this.member.createTopics(resolved, now);
    });
  }

  private serveDeleteTopics(body: FrameBody): Promise<FrameBody> {
    const names = parseDeleteTopicsBody(body);
    return this.decide((now) => this.member.deleteTopics(names, now));
  }

  /** Runs a controller decision in turn with every other input, and answers once it is committed. */
  private async decide(
    decision: (now: number) => { results: readonly TopicResult[]; commitOffset: number; output: ClusterOutput },
  ): Promise<FrameBody> {
    const { results, commitOffset, proposedEpoch } = await this.queue.run(async () => {
      if (this.stopped) throw new NotControllerError(this.options.brokerId, null);
      const outcome = decision(this.now());
      await this.applyOutput(this.now(), outcome.output);
      return { ...outcome, proposedEpoch: this.member.metadataLog[outcome.commitOffset - 1]?.epoch };
    });
    await this.waitForCommit(commitOffset, this.now() + ATTEMPT_TIMEOUT_MS);
    // Committed at that offset is not necessarily ours: a controller that lost its seat may see
    // its uncommitted tail replaced by the next controller's records. An epoch writes an offset
    // once, so the same epoch there means the same record; otherwise the client retries.
    if (this.member.metadataLog[commitOffset - 1]?.epoch !== proposedEpoch) throw new NotControllerError(this.options.brokerId, this.member.controllerId);
    return {
      commitOffset,
      results: results.map(({ name, result }) => ({ name, error: result.ok ? null : result.error.toJSON() })),
    };
  }

  private waitForCommit(offset: number, deadline: number): Promise<void> {
    if (this.member.highWatermark >= offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new RequestTimedOutError(`commit of metadata offset ${offset - 1}`, Math.max(0, deadline - this.now())));
      }, Math.max(0, deadline - this.now()));
      const waiter: CommitWaiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private releaseWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.member.highWatermark >= waiter.offset) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  // ---------------------------------------------------------------- the mesh

  private receive(data: unknown): void {
    const message = parsePageToBroker(data);
    if (!message) return;
    switch (message.type) {
      case 'channel':
        this.channels.attach(message.brokerId, message.linkId, message.channel);
        return;
      case 'peer-announced':
        void this.apply({ type: 'peerAnnounced', id: message.brokerId });
        return;
      case 'peer-up':
        this.connected.add(message.brokerId);
        void this.apply({ type: 'peerUp', id: message.brokerId });
        this.channels.up(message.brokerId, message.linkId);
        return;
      case 'peer-down':
        this.channels.detach(message.brokerId, message.linkId);
        // A connection that never came up was never a peer for the broker.
        if (!message.wasUp) return;
        this.connected.delete(message.brokerId);
        this.rpc.peerDown(message.brokerId);
        void this.apply({ type: 'peerDown', id: message.brokerId });
        return;
      case 'frame':
        this.receiveFrame(message.from, message.bytes);
    }
  }

  private receiveFrame(from: number, bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch {
      // The link layer already vetted the peer; a frame we cannot read is dropped, not fatal.
      return;
    }
    if (this.rpc.receive(from, frame)) return;
    const channel = channelOf(frame.apiKey);
    if (channel) void this.apply({ type: 'message', from, channel, message: frame.body['message'] });
  }

  private apply(input: ClusterInput): Promise<void> {
    return this.queue.run(async () => {
      if (this.stopped) return;
      const now = this.now();
      await this.applyOutput(now, this.member.handle(input, now));
    });
  }

  /** Storage first (votes, then the metadata log), then frames: nothing is promised before it is stored. */
  private async applyOutput(now: number, output: ClusterOutput): Promise<void> {
    const election = output.persist.election;
    // A founding that drops a copied log stores the drop first: stored the other way round, a
    // crash between would come back as the founder of a view of itself over the copied log.
    const logFirst = output.events.some((event) => event.type === 'replaced');
    if (election && !logFirst) await this.options.logs.store.putMeta(ELECTION_STATE_KEY, election);
    if (output.persist.log.length > 0) await this.metadataLog.write(output.persist.log);
    if (election && logFirst) await this.options.logs.store.putMeta(ELECTION_STATE_KEY, election);
    // Election and quorum messages are fire and forget: a lost one is made up by the next tick.
    for (const { to, channel, message } of output.send) this.sendFrame(to, eventFrame(channel, message)).catch(() => undefined);
    for (const event of output.events) this.record(now, event);
    this.schedule(output.wakeAt);
    this.releaseWaiters();
    if (this.member.image !== this.lastImage) {
      this.lastImage = this.member.image;
      for (const watcher of [...this.metadataWatchers]) watcher(this.member.image);
      for (const listener of this.metadataListeners) listener(this.member.image);
    }
    if (output.send.length > 0 || this.goodbyeEpoch !== this.member.controllerEpoch) this.refreshGoodbye(now);
  }

  /**
   * Keeps the page holding the LEAVE this broker would send now. Peers honour a LEAVE only if
   * it is at least as new as everything else they heard from this broker, so it is remade
   * whenever something is sent (heartbeats included), stamped with the same clock reading.
   */
  private refreshGoodbye(now: number): void {
    const epoch = this.member.controllerEpoch;
    this.goodbyeEpoch = epoch;
    this.post({ type: 'goodbye', bytes: eventFrame('election', { type: 'LEAVE', epoch, ts: now }) });
  }

  private schedule(wakeAt: number | null): void {
    clearTimeout(this.timer);
    if (wakeAt === null || this.stopped) return;
    this.timer = setTimeout(() => void this.apply({ type: 'tick' }), Math.max(0, wakeAt - this.now()));
  }

  private record(at: number, event: ClusterEvent): void {
    this.history.push({ at, event });
    if (this.history.length > MAX_EVENT_RECORDS) this.history.shift();
  }

  private post(message: BrokerToPage): void {
    this.options.port.postMessage(message, message.type === 'goodbye' ? [message.bytes.buffer] : []);
  }

  /** Straight onto the peer's data channel; fails when there is no open one to `to` (not up yet, or gone). */
  private sendFrame(to: number, bytes: Uint8Array): Promise<void> {
    const sending = this.channels.send(to, bytes);
    const settled = sending.catch(() => undefined);
    this.sending.add(settled);
    void settled.then(() => this.sending.delete(settled));
    return sending;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function channelOf(apiKey: number): Channel | undefined {
  if (apiKey === ApiKey.Election) return 'election';
  if (apiKey === ApiKey.MetadataQuorum) return 'metadata';
  return undefined;
}

function eventFrame(channel: Channel, message: unknown): Uint8Array {
  const apiKey = channel === 'election' ? ApiKey.Election : ApiKey.MetadataQuorum;
  return encodeFrame({ kind: FrameKind.Event, apiKey, apiVersion: 0, correlationId: 0, errorCode: 0, body: { message }, blobs: [] });
}

function describeMetadata(brokerId: number, member: ClusterMember): ClusterMetadata {
  const { image, view } = member;
  const live = new Set(member.liveMembers);
  const ids = new Set([...view.members, ...image.brokers.keys()]);
  return {
    brokerId,
    controllerId: member.controllerId,
    controllerEpoch: member.controllerEpoch,
    offset: image.offset,
    brokers: [...ids]
      .sort((a, b) => a - b)
      .map((nodeId) => ({
        nodeId,
        member: view.members.includes(nodeId),
        active: image.brokers.get(nodeId)?.fenced === false,
        live: live.has(nodeId) || nodeId === brokerId,
      })),
    topics: [...image.topics.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((topic) => ({
        name: topic.name,
        topicId: topic.topicId,
        configs: { ...topic.configs },
        partitions: topic.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
        })),
      })),
  };
}

/** A stored vote that does not read back as one is treated as none (a fresh broker). */
function parsePersisted(value: unknown): ElectionPersistedState | null {
  if (typeof value !== 'object' || value === null) return null;
  const { epoch, votedFor, view } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(epoch) || !(votedFor === null || Number.isSafeInteger(votedFor))) return null;
  if (typeof view !== 'object' || view === null) return null;
  const { epoch: viewEpoch, seq, members } = view as Record<string, unknown>;
  if (!Number.isSafeInteger(viewEpoch) || !Number.isSafeInteger(seq) || !Array.isArray(members)) return null;
  if (!members.every((member) => Number.isSafeInteger(member))) return null;
  const parsedView: ClusterView = { epoch: viewEpoch as number, seq: seq as number, members: members as number[] };
  return { epoch: epoch as number, votedFor: votedFor as number | null, view: parsedView };
}
