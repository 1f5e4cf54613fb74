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
  TopicPartition,
} from '../assignor';
import { compareStrings, partitionCount, sortByMemberId } from './assignor-helpers';

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
