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
  TopicPartition,
} from '../assignor';
import { compareStrings, partitionCount, sortByMemberId } from './assignor-helpers';

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
