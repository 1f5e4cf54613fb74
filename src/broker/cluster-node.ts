import { ControllerElection } from '../cluster/controller-election';
import type { ElectionEvent, ElectionInput, ElectionPersistedState } from '../cluster/controller-election';
import type { ClusterView } from '../cluster/cluster-view';
import type { LogStore } from '../log/log-store';
import { ApiKey } from '../protocol/api-keys';
import { FrameKind, decodeFrame, encodeFrame } from '../protocol/frame';
import { parsePageToBroker } from '../transport/mesh-port';
import type { BrokerToPage } from '../transport/mesh-port';
import { SerialQueue } from '../util/serial-queue';

export interface ClusterStatus {
  readonly brokerId: number;
  readonly controllerId: number | null;
  readonly controllerEpoch: number;
  readonly isController: boolean;
  /** The cluster view: the brokers the cluster knows (a crashed one stays until it leaves). */
  readonly members: readonly number[];
  readonly liveMembers: readonly number[];
  readonly connectedPeers: readonly number[];
  readonly events: readonly ClusterEventRecord[];
}

export interface ClusterEventRecord {
  readonly at: number;
  readonly event: ElectionEvent;
}

export interface ClusterNodeOptions {
  readonly brokerId: number;
  readonly port: MessagePort;
  readonly store: LogStore;
  readonly now?: () => number;
  readonly heartbeatIntervalMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly electionTimeoutMs?: number;
}

const ELECTION_STATE_KEY = 'controllerElection';
const MAX_EVENT_RECORDS = 200;

/**
 * The broker's seat in the cluster, inside its worker: drives the controller election state
 * machine with frames from the page's mesh (over a MessagePort), real time and timers, and
 * persists its votes in the broker's database before anything that depends on them is sent.
 */
export class ClusterNode {
  private readonly queue = new SerialQueue();
  private readonly connected = new Set<number>();
  private readonly history: ClusterEventRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private goodbyeEpoch: number | undefined;

  private constructor(
    private readonly options: ClusterNodeOptions,
    private readonly election: ControllerElection,
  ) {}

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const persisted = parsePersisted(await options.store.getMeta(ELECTION_STATE_KEY));
    const election = new ControllerElection({
      brokerId: options.brokerId,
      persisted,
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
      ...(options.electionTimeoutMs === undefined ? {} : { electionTimeoutMs: options.electionTimeoutMs }),
    });
    const node = new ClusterNode(options, election);
    options.port.onmessage = (event: MessageEvent<unknown>) => node.receive(event.data);
    await node.apply({ type: 'start' });
    return node;
  }

  status(): ClusterStatus {
    return {
      brokerId: this.options.brokerId,
      controllerId: this.election.controllerId,
      controllerEpoch: this.election.epoch,
      isController: this.election.isActiveController,
      members: [...this.election.view.members],
      liveMembers: this.election.liveMembers,
      connectedPeers: [...this.connected].sort((a, b) => a - b),
      events: [...this.history],
    };
  }

  /** Clean shutdown: tells the others (so the cluster forgets this broker), then stops. */
  async leave(): Promise<void> {
    await this.apply({ type: 'leave' });
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.options.port.onmessage = null;
  }

  private receive(data: unknown): void {
    const message = parsePageToBroker(data);
    if (!message) return;
    switch (message.type) {
      case 'peer-up':
        this.connected.add(message.brokerId);
        void this.apply({ type: 'peerUp', id: message.brokerId });
        return;
      case 'peer-down':
        this.connected.delete(message.brokerId);
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
    if (frame.apiKey === ApiKey.Election) void this.apply({ type: 'message', from, message: frame.body.message });
  }

  private apply(input: ElectionInput): Promise<void> {
    return this.queue.run(async () => {
      if (this.stopped) return;
      const now = this.now();
      const output = this.election.handle(input, now);
      if (output.persist) await this.options.store.putMeta(ELECTION_STATE_KEY, output.persist);
      for (const { to, message } of output.send) this.post({ type: 'send', to, bytes: electionFrame(message) });
      for (const event of output.events) this.record(now, event);
      this.schedule(output.wakeAt);
      if (output.send.length > 0 || this.goodbyeEpoch !== this.election.epoch) this.refreshGoodbye(now);
    });
  }

  /**
   * Keeps the page holding the LEAVE this broker would send now. Peers honour a LEAVE only if
   * it is at least as new as everything else they heard from this broker, so it is remade
   * whenever something is sent (heartbeats included), stamped with the same clock reading.
   */
  private refreshGoodbye(now: number): void {
    const epoch = this.election.epoch;
    this.goodbyeEpoch = epoch;
    this.post({ type: 'goodbye', bytes: electionFrame({ type: 'LEAVE', epoch, ts: now }) });
  }

  private schedule(wakeAt: number | null): void {
    clearTimeout(this.timer);
    if (wakeAt === null || this.stopped) return;
    this.timer = setTimeout(() => void this.apply({ type: 'tick' }), Math.max(0, wakeAt - this.now()));
  }

  private record(at: number, event: ElectionEvent): void {
    this.history.push({ at, event });
    if (this.history.length > MAX_EVENT_RECORDS) this.history.shift();
  }

  private post(message: BrokerToPage): void {
    this.options.port.postMessage(message, [message.bytes.buffer]);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function electionFrame(message: unknown): Uint8Array {
  return encodeFrame({ kind: FrameKind.Event, apiKey: ApiKey.Election, apiVersion: 0, correlationId: 0, errorCode: 0, body: { message }, blobs: [] });
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
