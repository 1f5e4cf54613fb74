/**
 * The cluster view: the set of brokers a broker "knows", i.e. the voters whose majority an
 * election and an active controller need. Kafka keeps the registered brokers in the metadata
 * log; here the view is a small versioned value that only an active controller changes, one
 * broker at a time (Raft's single-server membership change), and every broker persists.
 *
 * A view is identified by (epoch, seq): the controller epoch that wrote it and a change
 * counter within that epoch. At most one controller is active per epoch, so (epoch, seq)
 * names exactly one member set, and comparing ids says which view is newer. Views spread by
 * gossip (every heartbeat carries the sender's) and a broker only ever moves to a newer one.
 */

export interface ClusterView {
  /** Controller epoch of the controller that wrote this view (0: never written). */
  readonly epoch: number;
  /** Change number within that epoch; a new controller restamps its view as (epoch, 0). */
  readonly seq: number;
  /** Broker ids, strictly ascending. */
  readonly members: readonly number[];
}

/** What a broker that never joined a cluster holds. */
export const EMPTY_VIEW: ClusterView = Object.freeze({ epoch: 0, seq: 0, members: Object.freeze([]) });

/**
 * Total order on views: by (epoch, seq). Two different member sets under one id can only
 * come from two clusters founded apart (see ControllerElection); the member tiebreak just
 * keeps the order total so such clusters still converge on one view.
 */
export function compareViews(a: ClusterView, b: ClusterView): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  if (a.members.length !== b.members.length) return a.members.length < b.members.length ? -1 : 1;
  for (let i = 0; i < a.members.length; i++) {
    const x = a.members[i] as number;
    const y = b.members[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function isMember(view: ClusterView, brokerId: number): boolean {
  return view.members.includes(brokerId);
}

/** Smallest number of members that is more than half of the view. */
export function majorityOf(view: ClusterView): number {
  return majorityOfCount(view.members.length);
}

/** Smallest number of `size` voters that is more than half of them. */
export function majorityOfCount(size: number): number {
  return Math.floor(size / 2) + 1;
}

export function viewWith(view: ClusterView, epoch: number, seq: number, add: number): ClusterView {
  const members = [...view.members.filter((id) => id !== add), add].sort((x, y) => x - y);
  return { epoch, seq, members };
}

export function viewWithout(view: ClusterView, epoch: number, seq: number, remove: number): ClusterView {
  return { epoch, seq, members: view.members.filter((id) => id !== remove) };
}

export function formatView(view: ClusterView): string {
  return `v${view.epoch}.${view.seq}[${view.members.join(',')}]`;
}
