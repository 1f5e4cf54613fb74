/**
 * What must hold after every step of an election simulation, checked against the simulator's
 * ground truth rather than against what the brokers say about themselves.
 */
import { compareViews, formatView, majorityOf } from '../../src/cluster/cluster-view';
import type { ClusterView } from '../../src/cluster/cluster-view';
import type { ControllerElection, ElectionPersistedState } from '../../src/cluster/controller-election';
import type { SimNetwork } from './sim-network';

export interface RunningBroker {
  readonly id: number;
  readonly machine: ControllerElection;
  /** What the broker's storage holds. */
  readonly persisted: ElectionPersistedState | null;
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export class ElectionInvariants {
  /** Every (epoch, broker) that was ever active: over all time, not just at one instant. */
  private readonly activeByEpoch = new Map<number, number>();
  /** Per broker id, so a restart that forgot an epoch or a view is caught. */
  private readonly highestEpoch = new Map<number, number>();
  private readonly newestView = new Map<number, ClusterView>();
  /** Who each broker acknowledged in each epoch, from the acknowledgements it actually sent. */
  private readonly votes = new Map<string, number>();
  /** Member set of every view ever written, by id: one id must name one set. */
  private readonly membersById = new Map<string, string>();
  /** Every view written so far that is not committed yet, with the members supporting it. */
  private readonly pending = new Map<string, { view: ClusterView; support: Set<number> }>();
  /** Committed views: a majority of members stored them (or newer) before acknowledging a newer epoch. */
  private readonly committed: ClusterView[] = [];
  /** Each broker's latest write, to credit support for views written after it. */
  private readonly latest = new Map<number, ElectionPersistedState>();

  constructor(
    private readonly network: SimNetwork,
    private readonly sessionTimeoutMs: number,
  ) {}

  /** A broker wrote its state. */
  persisted(id: number, previous: ElectionPersistedState | null, next: ElectionPersistedState): void {
    if (previous && next.epoch < previous.epoch) {
      throw new InvariantViolation(`broker ${id} persisted epoch ${next.epoch} after ${previous.epoch}`);
    }
    if (previous && compareViews(next.view, previous.view) < 0) {
      throw new InvariantViolation(
        `broker ${id} persisted view ${formatView(next.view)} after ${formatView(previous.view)}`,
      );
    }
    if (previous && next.epoch === previous.epoch && previous.votedFor !== null && next.votedFor !== previous.votedFor) {
      throw new InvariantViolation(
        `broker ${id} changed its vote in epoch ${next.epoch} from ${previous.votedFor} to ${next.votedFor}`,
      );
    }
    const key = `${next.view.epoch}.${next.view.seq}`;
    const members = next.view.members.join(',');
    const known = this.membersById.get(key);
    if (known === undefined) {
      this.membersById.set(key, members);
      if (next.view.members.length > 0) {
        const entry = { view: next.view, support: new Set<number>() };
        this.pending.set(key, entry);
        // Brokers that already stored something newer, while still in an old enough epoch, support it.
        for (const [broker, state] of this.latest) this.credit(entry, broker, state);
      }
    } else if (known !== members) {
      throw new InvariantViolation(`view ${key} exists as [${known}] and as [${members}]`);
    }
    this.latest.set(id, next);
    for (const entry of this.pending.values()) this.credit(entry, id, next);
  }

  /**
   * A claim (a vote for oneself) or a granted acknowledgement went out. Checked on the wire,
   * not in storage, so a vote that storage forgot across a restart is caught too.
   */
  voted(voter: number, epoch: number, candidate: number): void {
    const key = `${voter}@${epoch}`;
    const previous = this.votes.get(key);
    if (previous !== undefined && previous !== candidate) {
      throw new InvariantViolation(`broker ${voter} acknowledged both ${previous} and ${candidate} in epoch ${epoch}`);
    }
    this.votes.set(key, candidate);
  }

  /**
   * Like a Raft entry, a view counts as stored by a member only if the member stored it (or a
   * newer one) before it acknowledged any epoch above the view's: a member that has moved on
   * may have voted for a controller that never saw the view, and that vote was legitimate.
   */
  private credit(entry: { view: ClusterView; support: Set<number> }, broker: number, state: ElectionPersistedState): void {
    const { view, support } = entry;
    if (state.epoch > view.epoch || !view.members.includes(broker) || compareViews(state.view, view) < 0) return;
    support.add(broker);
    if (support.size >= majorityOf(view)) {
      this.committed.push(view);
      this.pending.delete(`${view.epoch}.${view.seq}`);
    }
  }

  /**
   * Raft's leader completeness, for views: a controller elected in epoch e must have been
   * elected with a view at least as new as every view committed in an epoch below e. One
   * elected with an older view could undo a membership change that majorities already rely
   * on, and majorities of views more than one change apart need not meet.
   */
  becameController(id: number, epoch: number, electedWith: ClusterView): void {
    for (const view of this.committed) {
      if (view.epoch < epoch && compareViews(electedWith, view) < 0) {
        throw new InvariantViolation(
          `broker ${id} became controller in epoch ${epoch} with view ${formatView(electedWith)}, ` +
            `older than the committed ${formatView(view)}`,
        );
      }
    }
  }

  /** After every step: `now` is simulation time, the brokers' clocks are offset from it. */
  check(brokers: readonly RunningBroker[], now: number): void {
    for (const { id, machine, persisted } of brokers) {
      const epoch = machine.epoch;
      const seen = this.highestEpoch.get(id) ?? 0;
      if (epoch < seen) throw new InvariantViolation(`broker ${id} went back from epoch ${seen} to ${epoch}`);
      this.highestEpoch.set(id, epoch);

      const view = machine.view;
      const newest = this.newestView.get(id);
      if (newest && compareViews(view, newest) < 0) {
        throw new InvariantViolation(`broker ${id} went back from view ${formatView(newest)} to ${formatView(view)}`);
      }
      this.newestView.set(id, view);

      // What a restart would come back with must be what the broker acts on now.
      const state = machine.persistedState;
      if (
        persisted === null
          ? state.epoch !== 0 || state.votedFor !== null || state.view.members.length !== 0
          : persisted.epoch !== state.epoch ||
            persisted.votedFor !== state.votedFor ||
            compareViews(persisted.view, state.view) !== 0
      ) {
        throw new InvariantViolation(`broker ${id} acts on state it did not persist: ${machine.describe()}`);
      }

      if (!machine.isActiveController) continue;
      if (machine.controllerId !== id) {
        throw new InvariantViolation(`broker ${id} is active but names ${machine.controllerId} as controller`);
      }
      const holder = this.activeByEpoch.get(epoch);
      if (holder !== undefined && holder !== id) {
        throw new InvariantViolation(`brokers ${holder} and ${id} were both active controllers in epoch ${epoch}`);
      }
      this.activeByEpoch.set(epoch, id);

      let reached = 1;
      for (const member of view.members) {
        if (member === id) continue;
        const trip = this.network.newestRoundTrip(id, member);
        if (trip !== undefined && trip >= now - this.sessionTimeoutMs) reached++;
      }
      if (!view.members.includes(id) || reached < majorityOf(view)) {
        throw new InvariantViolation(
          `broker ${id} is active in epoch ${epoch} but had round trips with only ${reached} of ` +
            `${formatView(view)} in the last ${this.sessionTimeoutMs} ms`,
        );
      }
    }
  }
}
