/**
 * Kafka's CooperativeStickyAssignor ('cooperative-sticky', cooperative), in three steps:
 *
 * 1. Stick: every partition stays with its current owner if that member still subscribes to its
 *    topic. The current owner is the member whose `ownedPartitions` hold it; when a zombie makes
 *    two members claim one partition, the claim with the highest `generation` wins, ties going to
 *    the lower member id. Claims of partitions that no longer exist are dropped.
 * 2. Fill: the partitions left over (new, unowned, or owned by a member that unsubscribed) go one
 *    by one, in topic and partition order, to the least loaded subscriber.
 * 3. Balance: while some member could hand one partition, possibly along a chain of members each
 *    passing one on to the next subscriber, to a member holding at least two fewer, do it (the
 *    shortest chain, to the least loaded such member). When no such chain is left the load spread
 *    is optimal for the subscriptions (a "semi-matching" without cost-reducing paths minimises
 *    the largest load and the sum of squared loads at once), so members with identical
 *    subscriptions end up at most one apart. Partitions filled in step 2 are moved first, and
 *    owned ones only after no chain of those helps, so a member gives up what it owned only
 *    when it holds more than its share (or, with differing subscriptions, when it sits in a
 *    chain and swaps one partition for another).
 *
 * Then the cooperative rule (`withholdMovedPartitions`): a partition headed for a member other
 * than its current owner is left out this round; the owner revokes it, rejoins, and the
 * follow-up rebalance hands it over. Because the balance step moves leftovers before owned
 * partitions, that follow-up reaches a balanced assignment without moving anything again.
 *
 * Differences from Kafka: Kafka drops every claim of a member from an older generation and
 * invalidates a partition claimed twice within one generation. Here only a contested claim is
 * decided, and the best one wins, so the partition keeps being consumed by one of its claimants
 * instead of sitting idle for a round.
 */
import type {
  AssignmentContext,
  Assignor,
  GroupAssignment,
  MemberSubscription,
  TopicPartition,
} from '../assignor';
import { compareStrings, partitionCount, sortByMemberId } from './assignor-helpers';

export const cooperativeStickyAssignor: Assignor = Object.freeze({
  name: 'cooperative-sticky',
  rebalanceProtocol: 'cooperative',
  assign: assignCooperativeSticky,
});

/**
 * The cooperative rule, for any assignor: drops from `assignment` each partition whose current
 * owner (per `members`' claims, best claim winning as above) is another member. Keys and list
 * order are kept; the input is not modified.
 */
export function withholdMovedPartitions(
  assignment: GroupAssignment,
  members: readonly MemberSubscription[],
): GroupAssignment {
  const owners = currentOwners(members);
  const result: GroupAssignment = new Map();
  for (const [memberId, partitions] of assignment) {
    result.set(
      memberId,
      partitions.filter((tp) => {
        const owner = owners.get(tp.topic)?.get(tp.partition);
        return owner === undefined || owner === memberId;
      }),
    );
  }
  return result;
}

/** topic -> partition -> member id. */
type Owners = Map<string, Map<number, string>>;

function currentOwners(members: readonly MemberSubscription[]): Owners {
  // Best claim first, so the first claim seen for a partition is the one that stands.
  const ranked = [...members].sort(
    (a, b) => b.generation - a.generation || compareStrings(a.memberId, b.memberId),
  );
  const owners: Owners = new Map();
  for (const member of ranked) {
    for (const { topic, partition } of member.ownedPartitions) {
      let byPartition = owners.get(topic);
      if (!byPartition) owners.set(topic, (byPartition = new Map()));
      if (!byPartition.has(partition)) byPartition.set(partition, member.memberId);
    }
  }
  return owners;
}

/** One member while the assignment is being built. Partition lists are kept ascending. */
interface Holder {
  readonly memberId: string;
  /** Subscribed topics that exist, sorted. */
  readonly topics: readonly string[];
  /** topic -> partitions it owns and keeps so far: moving one costs a revocation. */
  readonly owned: Map<string, number[]>;
  /** topic -> partitions it holds but does not own: moving one costs nothing. */
  readonly fresh: Map<string, number[]>;
  load: number;
}

/** Which partitions the balance step may move. */
type Movable = 'fresh' | 'any';

/** One hop of a chain: `from` hands one partition of `topic` to `to`. */
interface Hop {
  readonly from: Holder;
  readonly to: Holder;
  readonly topic: string;
}

function assignCooperativeSticky(context: AssignmentContext): GroupAssignment {
  const members = sortByMemberId(context.members);
  const owners = currentOwners(members);

  const holders: Holder[] = [];
  const byId = new Map<string, Holder>();
  const subscribers = new Map<string, Holder[]>();
  for (const member of members) {
    const topics = [...new Set(member.topics)]
      .filter((topic) => partitionCount(context.partitionsPerTopic, topic) !== undefined)
      .sort(compareStrings);
    const holder: Holder = { memberId: member.memberId, topics, owned: new Map(), fresh: new Map(), load: 0 };
    holders.push(holder);
    byId.set(member.memberId, holder);
    for (const topic of topics) {
      const list = subscribers.get(topic);
      if (list) list.push(holder);
      else subscribers.set(topic, [holder]);
    }
  }

  // Step 1, stick; what no subscribed owner keeps is left over.
  const leftovers: TopicPartition[] = [];
  for (const topic of [...subscribers.keys()].sort(compareStrings)) {
    const count = partitionCount(context.partitionsPerTopic, topic) ?? 0;
    for (let partition = 0; partition < count; partition++) {
      const ownerId = owners.get(topic)?.get(partition);
      const owner = ownerId === undefined ? undefined : byId.get(ownerId);
      if (owner?.topics.includes(topic)) add(owner, topic, partition, owners);
      else leftovers.push({ topic, partition });
    }
  }

  // Step 2, fill. The order hardly matters: step 3 evens out whatever this leaves uneven, and
  // moving a leftover costs no revocation.
  for (const { topic, partition } of leftovers) {
    const target = leastLoaded(subscribers.get(topic) ?? []);
    if (target) add(target, topic, partition, owners);
  }

  // Step 3, balance: leftovers first, so owned partitions move only when nothing else helps.
  balance(holders, subscribers, 'fresh', owners);
  balance(holders, subscribers, 'any', owners);

  const assignment: GroupAssignment = new Map();
  for (const holder of holders) assignment.set(holder.memberId, partitionsOf(holder));
  return withholdMovedPartitions(assignment, members);
}

function balance(holders: readonly Holder[], subscribers: ReadonlyMap<string, readonly Holder[]>, movable: Movable, owners: Owners): void {
  for (;;) {
    // A member with no topic can never take a partition, so it does not set the floor.
    const floor = Math.min(...holders.filter((h) => h.topics.length > 0).map((h) => h.load));
    const byLoad = [...holders].sort((a, b) => b.load - a.load || compareStrings(a.memberId, b.memberId));
    let chain: Hop[] | undefined;
    for (const source of byLoad) {
      if (source.load < floor + 2) break;
      chain = findChain(source, subscribers, movable);
      if (chain) break;
    }
    if (!chain) return;
    // From the far end back, so every member passes on a partition it held before this chain.
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = chain[i];
      if (hop) move(hop, movable, owners);
    }
  }
}

/**
 * Breadth-first from `source` over "holds a movable partition of a topic the other subscribes
 * to": the nearest member holding at least two fewer than `source` (least loaded among equally
 * near ones), as the hops leading to it.
 */
function findChain(source: Holder, subscribers: ReadonlyMap<string, readonly Holder[]>, movable: Movable): Hop[] | undefined {
  const reachedBy = new Map<Holder, Hop>();
  const seen = new Set<Holder>([source]);
  let frontier: Holder[] = [source];
  while (frontier.length > 0) {
    const next: Holder[] = [];
    for (const from of frontier) {
      for (const topic of from.topics) {
        if (!hasMovable(from, topic, movable)) continue;
        for (const to of subscribers.get(topic) ?? []) {
          if (seen.has(to)) continue;
          seen.add(to);
          reachedBy.set(to, { from, to, topic });
          next.push(to);
        }
      }
    }
    const target = leastLoaded(next.filter((h) => h.load <= source.load - 2));
    if (target) {
      const chain: Hop[] = [];
      for (let hop = reachedBy.get(target); hop; hop = reachedBy.get(hop.from)) chain.unshift(hop);
      return chain;
    }
    frontier = next;
  }
  return undefined;
}

function hasMovable(holder: Holder, topic: string, movable: Movable): boolean {
  if ((holder.fresh.get(topic)?.length ?? 0) > 0) return true;
  return movable === 'any' && (holder.owned.get(topic)?.length ?? 0) > 0;
}

/** Hands over the highest movable partition, preferring one `from` does not own. */
function move({ from, to, topic }: Hop, movable: Movable, owners: Owners): void {
  let partition = from.fresh.get(topic)?.pop();
  if (partition === undefined && movable === 'any') partition = from.owned.get(topic)?.pop();
  if (partition === undefined) throw new Error(`no movable partition of ${topic} at ${from.memberId}`);
  from.load--;
  add(to, topic, partition, owners);
}

function add(holder: Holder, topic: string, partition: number, owners: Owners): void {
  // A partition can travel back to its owner along a later chain; it is owned there again.
  const lists = owners.get(topic)?.get(partition) === holder.memberId ? holder.owned : holder.fresh;
  let list = lists.get(topic);
  if (!list) lists.set(topic, (list = []));
  let i = list.length;
  while (i > 0 && (list[i - 1] ?? 0) > partition) i--;
  list.splice(i, 0, partition);
  holder.load++;
}

/** First of the least loaded, in the given (member id) order. */
function leastLoaded(holders: readonly Holder[]): Holder | undefined {
  let best: Holder | undefined;
  for (const holder of holders) if (!best || holder.load < best.load) best = holder;
  return best;
}

function partitionsOf(holder: Holder): TopicPartition[] {
  const partitions: TopicPartition[] = [];
  for (const topic of holder.topics) {
    const merged = [...(holder.owned.get(topic) ?? []), ...(holder.fresh.get(topic) ?? [])].sort((a, b) => a - b);
    for (const partition of merged) partitions.push({ topic, partition });
  }
  return partitions;
}
