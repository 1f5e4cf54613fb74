/**
 * Kafka's RoundRobinAssignor ('roundrobin', eager). Every partition of every subscribed topic,
 * sorted by topic then partition, is dealt in turn over the members sorted by id; a member not
 * subscribed to the partition's topic is skipped and the deal moves on to the next one. With
 * identical subscriptions the counts differ by at most one; with differing subscriptions the
 * deal can still leave a member short, as Kafka's does (no rebalancing pass follows).
 */
import type {
  AssignmentContext,
  Assignor,
  GroupAssignment,
  MemberSubscription,
  TopicPartition,
} from '../assignor';

export const roundRobinAssignor: Assignor = Object.freeze({
  name: 'roundrobin',
  rebalanceProtocol: 'eager',
  assign: assignRoundRobin,
});

interface Seat {
  readonly topics: ReadonlySet<string>;
  readonly partitions: TopicPartition[];
}

function assignRoundRobin(context: AssignmentContext): GroupAssignment {
  const members = sortByMemberId(context.members);
  const assignment: GroupAssignment = new Map();
  const seats: Seat[] = members.map((member) => {
    const partitions: TopicPartition[] = [];
    assignment.set(member.memberId, partitions);
    return { topics: new Set(member.topics), partitions };
  });
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort(compareStrings);

  // The deal continues across topics (Kafka's CircularIterator is not reset per topic).
  let cursor = 0;
  for (const topic of topics) {
    const count = partitionCount(context.partitionsPerTopic, topic) ?? 0;
    for (let partition = 0; partition < count; partition++) {
      // Some member subscribes to `topic` (that is how it is in `topics`): one lap finds it.
      for (let step = 0; step < seats.length; step++) {
        const index = (cursor + step) % seats.length;
        const seat = seats[index];
        if (seat?.topics.has(topic)) {
          seat.partitions.push({ topic, partition });
          cursor = (index + 1) % seats.length;
          break;
        }
      }
    }
  }
  return assignment;
}

/** Code-unit order, as Java's String.compareTo: locale-independent, so every client agrees. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortByMemberId(members: readonly MemberSubscription[]): MemberSubscription[] {
  const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  for (let i = 1; i < sorted.length; i++) {
    const id = sorted[i]?.memberId;
    // Two members with one id would have to share one entry of the result.
    if (id === sorted[i - 1]?.memberId) throw new RangeError(`duplicate member id ${JSON.stringify(id)}`);
  }
  return sorted;
}

/** The topic's partition count, or undefined when the topic does not exist. */
function partitionCount(partitionsPerTopic: Readonly<Record<string, number>>, topic: string): number | undefined {
  // hasOwn: a topic named like an Object.prototype member ('constructor') must not read the prototype.
  if (!Object.hasOwn(partitionsPerTopic, topic)) return undefined;
  const count = partitionsPerTopic[topic];
  if (count === undefined) return undefined;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`partition count of topic ${JSON.stringify(topic)} must be an integer >= 0, got ${count}`);
  }
  return count;
}
