/**
 * Replica assignment: which brokers host each partition of a new topic, Kafka's rack-unaware
 * algorithm (AdminUtils.assignReplicasToBrokersRackUnaware) step for step, so a topic created
 * here is laid out as Kafka would lay it out for the same start index and shift.
 *
 * The first replica (the preferred leader) of partition p goes to broker (startIndex + p) mod n,
 * so leaders rotate round-robin and leader counts differ by at most one. Followers sit at a
 * shift from the first replica; the shift grows by one after every n partitions, so the
 * follower sets of successive rounds differ and a dead broker's load spreads over many
 * brokers instead of landing on its one neighbour. The shift is 1 + (s + j) mod (n - 1): never
 * 0 and never n, so no partition gets two replicas on one broker.
 */
import { InvalidPartitionsError, InvalidReplicationFactorError } from '../errors';

/** Partition index → broker ids, the first being the preferred leader. */
export type ReplicaAssignment = readonly (readonly number[])[];

export interface AssignOptions {
  /** Uniform in [0, 1), like Math.random; injected so a seed replays the same layout. */
  readonly random: () => number;
  /** Kafka's fixedStartIndex: when >= 0, used as both start index and initial shift (tests). */
  readonly fixedStartIndex?: number;
}

/**
 * Assigns `numPartitions` partitions with `replicationFactor` replicas each to `brokerIds`
 * (sorted here, as Kafka sorts broker metadata by id, so the layout does not depend on the
 * order the caller discovered brokers in).
 */
export function assignReplicasToBrokers(
  brokerIds: readonly number[],
  numPartitions: number,
  replicationFactor: number,
  options: AssignOptions,
): ReplicaAssignment {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const n = brokers.length;
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new InvalidPartitionsError(numPartitions);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > n) {
    throw new InvalidReplicationFactorError(replicationFactor, n);
  }
  const fixed = options.fixedStartIndex ?? -1;
  // Kafka draws the start index first, then the shift: the same order keeps seeds comparable.
  const startIndex = fixed >= 0 ? fixed : nextInt(options.random, n);
  let nextReplicaShift = fixed >= 0 ? fixed : nextInt(options.random, n);
  const result: number[][] = [];
  for (let partition = 0; partition < numPartitions; partition++) {
    if (partition > 0 && partition % n === 0) nextReplicaShift += 1;
    const firstReplicaIndex = (partition + startIndex) % n;
    const replicas = [at(brokers, firstReplicaIndex)];
    for (let j = 0; j < replicationFactor - 1; j++) {
      replicas.push(at(brokers, replicaIndex(firstReplicaIndex, nextReplicaShift, j, n)));
    }
    result.push(replicas);
  }
  return result;
}

/** Kafka's replicaIndex: the j-th follower's position, never the first replica's own. */
export function replicaIndex(
  firstReplicaIndex: number,
  secondReplicaShift: number,
  replicaIndexInPartition: number,
  nBrokers: number,
): number {
  const shift = 1 + ((secondReplicaShift + replicaIndexInPartition) % (nBrokers - 1));
  return (firstReplicaIndex + shift) % nBrokers;
}

/** java.util.Random.nextInt(bound) from a [0, 1) source; clamped in case random() returns 1. */
function nextInt(random: () => number, bound: number): number {
  return Math.min(bound - 1, Math.max(0, Math.floor(random() * bound)));
}

function at(brokers: readonly number[], index: number): number {
  const id = brokers[index];
  if (id === undefined) throw new RangeError(`broker index ${index} out of ${brokers.length}`);
  return id;
}
