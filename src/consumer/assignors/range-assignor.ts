/**
 * Kafka's RangeAssignor ('range', eager). Topic by topic, the members subscribed to the topic,
 * sorted by member id, take contiguous ranges of its partitions; the first `n % members` take one
 * extra. Because every topic is cut the same way, topics with equal partition counts line up
 * (member i gets partition p of both), which co-partitioned joins rely on. The price is skew:
 * with many topics that do not divide evenly, the first members get the extra one every time.
 */
import type {
  AssignmentContext,
  Assignor,
  GroupAssignment,
  MemberSubscription,
  TopicPartition,
} from '../assignor';

export const rangeAssignor: Assignor = Object.freeze({
  name: 'range',
  rebalanceProtocol: 'eager',
  assign: assignRanges,
});

function assignRanges(context: AssignmentContext): GroupAssignment {
  const members = sortByMemberId(context.members);
  const assignment: GroupAssignment = new Map();
  const subscribers = new Map<string, TopicPartition[][]>();
  for (const member of members) {
    const partitions: TopicPartition[] = [];
    assignment.set(member.memberId, partitions);
    for (const topic of new Set(member.topics)) {
      const lists = subscribers.get(topic);
      if (lists) lists.push(partitions);
      else subscribers.set(topic, [partitions]);
    }
  }
  // Topics in order so each member's list comes out sorted by topic, then partition.
  const topics = [...subscribers.keys()].sort(compareStrings);
  for (const topic of topics) {
    const count = partitionCount(context.partitionsPerTopic, topic);
    const lists = subscribers.get(topic);
    if (count === undefined || !lists) continue;
    const base = Math.floor(count / lists.length);
    const extra = count % lists.length;
    lists.forEach((partitions, i) => {
      const start = base * i + Math.min(i, extra);
      const end = start + base + (i < extra ? 1 : 0);
      for (let partition = start; partition < end; partition++) partitions.push({ topic, partition });
    });
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
