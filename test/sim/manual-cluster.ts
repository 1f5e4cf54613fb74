/**
 * A hand-driven cluster for focused tests: ControllerElection machines on a network with a
 * fixed delay, a virtual clock, and faults a test applies by name. No randomness: the story a
 * test tells is the only thing that happens. The seeded simulator lives in
 * election-simulation.ts.
 */
import { ControllerElection } from '../../src/cluster/controller-election';
import type {
  ControllerElectionConfig,
  ElectionEvent,
  ElectionInput,
  ElectionOutput,
  ElectionPersistedState,
} from '../../src/cluster/controller-election';
import { EventQueue } from './event-queue';

type Pending =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly incarnation: number; readonly message: unknown }
  | { readonly kind: 'tick'; readonly id: number; readonly token: number };

export interface RecordedEvent {
  readonly time: number;
  readonly broker: number;
  readonly event: ElectionEvent;
}

export class ManualCluster {
  now = 0;
  /** One-way network delay. */
  delayMs = 5;
  readonly events: RecordedEvent[] = [];
  private readonly machines = new Map<number, ControllerElection>();
  private readonly incarnations = new Map<number, number>();
  private readonly storage = new Map<number, ElectionPersistedState>();
  private readonly blocked = new Set<string>();
  /** Pairs that have had a channel, "a-b" from a's side. */
  private readonly connected = new Set<string>();
  private readonly queue = new EventQueue<Pending>();
  private readonly afterStep: ((cluster: ManualCluster) => void)[] = [];
  /** Earliest pending tick per broker, and a token that retires superseded ones. */
  private readonly wakes = new Map<number, { at: number; token: number }>();
  private nextToken = 0;

  constructor(private readonly config: Omit<ControllerElectionConfig, 'brokerId' | 'persisted'> = {}) {}

  /** Runs `check` after every step from now on. */
  onStep(check: (cluster: ManualCluster) => void): void {
    this.afterStep.push(check);
  }

  /** Starts a broker (from its storage, if it ran before) and opens channels to every running one. */
  start(...ids: number[]): this {
    for (const id of ids) {
      this.wakes.delete(id);
      const machine = new ControllerElection({ ...this.config, brokerId: id, persisted: this.storage.get(id) ?? null });
      this.machines.set(id, machine);
      this.incarnations.set(id, (this.incarnations.get(id) ?? 0) + 1);
      this.input(id, { type: 'start' });
      for (const peer of this.running()) {
        if (peer === id || !this.linked(id, peer) || !this.linked(peer, id)) continue;
        this.connected.add(`${id}-${peer}`).add(`${peer}-${id}`);
        this.input(id, { type: 'peerUp', id: peer });
        this.input(peer, { type: 'peerUp', id });
      }
    }
    return this;
  }

  /** The broker's process dies. `notify`: its channels close and the peers see peerDown. */
  crash(id: number, { notify }: { notify: boolean }): this {
    this.machines.delete(id);
    if (notify) for (const peer of this.running()) this.input(peer, { type: 'peerDown', id });
    return this;
  }

  /** A clean shutdown: the broker says LEAVE, then goes. */
  leave(id: number): this {
    this.input(id, { type: 'leave' });
    this.machines.delete(id);
    return this;
  }

  /** Cuts every link between the groups, silently: messages are just lost. */
  partition(...groups: number[][]): this {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.blocked.add(`${x}>${y}`);
      }
    }
    return this;
  }

  /** Loses every message from `from` to `to`, and nothing the other way. */
  cut(from: number, to: number): this {
    this.blocked.add(`${from}>${to}`);
    return this;
  }

  /** Restores every link; brokers that never had a channel get one now (peerUp). */
  heal(): this {
    this.blocked.clear();
    for (const a of this.running()) {
      for (const b of this.running()) {
        if (a === b || this.connected.has(`${a}-${b}`)) continue;
        this.connected.add(`${a}-${b}`);
        this.input(a, { type: 'peerUp', id: b });
      }
    }
    return this;
  }

  /** Processes everything due in the next `ms`. */
  runFor(ms: number): this {
    const until = this.now + ms;
    for (;;) {
      const at = this.queue.peekTime();
      if (at === undefined || at > until) break;
      const next = this.queue.pop() as { time: number; item: Pending };
      this.now = next.time;
      const item = next.item;
      if (item.kind === 'deliver') {
        if (!this.machines.has(item.to) || this.incarnations.get(item.to) !== item.incarnation) continue;
        if (!this.linked(item.from, item.to)) continue;
        this.input(item.to, { type: 'message', from: item.from, message: item.message });
      } else {
        if (!this.machines.has(item.id) || this.wakes.get(item.id)?.token !== item.token) continue;
        this.wakes.delete(item.id);
        this.input(item.id, { type: 'tick' });
      }
    }
    this.now = until;
    return this;
  }

  /** Hands one input to a broker right now, as its driver would, and returns what it said. */
  input(id: number, input: ElectionInput): ElectionOutput {
    const output = this.machine(id).handle(input, this.now);
    if (output.persist) this.storage.set(id, output.persist);
    for (const event of output.events) this.events.push({ time: this.now, broker: id, event });
    for (const { to, message } of output.send) {
      if (this.linked(id, to)) {
        this.queue.push(this.now + this.delayMs, { kind: 'deliver', from: id, to, incarnation: this.incarnations.get(to) ?? 0, message });
      }
    }
    const pending = this.wakes.get(id);
    if (output.wakeAt !== null && Number.isFinite(output.wakeAt) && (!pending || output.wakeAt < pending.at)) {
      const token = ++this.nextToken;
      this.wakes.set(id, { at: output.wakeAt, token });
      this.queue.push(Math.max(output.wakeAt, this.now), { kind: 'tick', id, token });
    }
    for (const check of this.afterStep) check(this);
    return output;
  }

  machine(id: number): ControllerElection {
    const machine = this.machines.get(id);
    if (!machine) throw new Error(`broker ${id} is not running`);
    return machine;
  }

  stored(id: number): ElectionPersistedState | undefined {
    return this.storage.get(id);
  }

  running(): number[] {
    return [...this.machines.keys()].sort((a, b) => a - b);
  }

  activeControllers(): number[] {
    return this.running().filter((id) => this.machine(id).isActiveController);
  }

  eventsOf(broker: number, type: ElectionEvent['type']): RecordedEvent[] {
    return this.events.filter((e) => e.broker === broker && e.event.type === type);
  }

  private linked(from: number, to: number): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }
}
