/**
 * What a partition assignor sees and returns. The group's leader runs it (as in Kafka, the
 * assignment is computed by a client, not the coordinator) over every member's subscription.
 * An assignor is plain data in, plain data out: no I/O, deterministic for a given input.
 */

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** One member's half of the join: what it wants and, for cooperative assignors, what it holds. */
export interface MemberSubscription {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Partitions the member consumes now (empty for an eager assignor, or a new member). */
  readonly ownedPartitions: readonly TopicPartition[];
  /** The generation in which `ownedPartitions` were assigned (-1: none). */
  readonly generation: number;
}

export interface AssignmentContext {
  /** Members in a stable order (by member id). */
  readonly members: readonly MemberSubscription[];
  /** Partition count of every topic any member subscribes to (topics that do not exist are absent). */
  readonly partitionsPerTopic: Readonly<Record<string, number>>;
}

/** Member id -> the partitions it is to consume. Every member appears, possibly with []. */
export type GroupAssignment = Map<string, TopicPartition[]>;

/**
 * 'eager': every member gives up everything before a rebalance (range, roundRobin).
 * 'cooperative': members keep consuming what they retain; a partition that changes owner is
 * first revoked (left unassigned for one round), then assigned in a follow-up rebalance.
 */
export type RebalanceProtocol = 'eager' | 'cooperative';

export interface Assignor {
  /** The protocol name members agree on in JoinGroup ('range', 'roundrobin', 'cooperative-sticky'). */
  readonly name: string;
  readonly rebalanceProtocol: RebalanceProtocol;
  assign(context: AssignmentContext): GroupAssignment;
}
