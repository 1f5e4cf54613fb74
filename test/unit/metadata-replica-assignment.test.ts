import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignReplicasToBrokers } from '../../src/cluster/replica-assignment';
import { InvalidPartitionsError, InvalidReplicationFactorError } from '../../src/errors';

/** Seeded [0, 1) source (mulberry32) so properties replay. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const layout = fc
  .record({
    brokers: fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }),
    partitions: fc.integer({ min: 1, max: 60 }),
    seed: fc.integer(),
  })
  .chain((l) => fc.record({ rf: fc.integer({ min: 1, max: l.brokers.length }) }).map((r) => ({ ...l, ...r })));

describe('assignReplicasToBrokers', () => {
  it("matches Kafka's AdminTest.testReplicaAssignment vector (5 brokers, 10 partitions, rf 3, fixed start 0)", () => {
    const assignment = assignReplicasToBrokers([0, 1, 2, 3, 4], 10, 3, { random: () => 0.5, fixedStartIndex: 0 });
    expect(assignment).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 0],
      [4, 0, 1],
      [0, 2, 3],
      [1, 3, 4],
      [2, 4, 0],
      [3, 0, 1],
      [4, 1, 2],
    ]);
  });

  it('maps indexes to the sorted broker ids, whatever order they are given in', () => {
    const assignment = assignReplicasToBrokers([14, 10, 13, 11, 12], 2, 3, { random: () => 0, fixedStartIndex: 0 });
    expect(assignment).toEqual([
      [10, 11, 12],
      [11, 12, 13],
    ]);
  });

  it('uses the random start index for the first partition leader', () => {
    // random 0.99 on 4 brokers → start index 3, shift 3.
    const assignment = assignReplicasToBrokers([1, 2, 3, 4], 2, 2, { random: () => 0.99 });
    expect(assignment[0]?.[0]).toBe(4);
    expect(assignment[1]?.[0]).toBe(1);
  });

  it('gives every partition rf distinct brokers from the given ones', () => {
    fc.assert(
      fc.property(layout, ({ brokers, partitions, rf, seed }) => {
        const assignment = assignReplicasToBrokers(brokers, partitions, rf, { random: seeded(seed) });
        expect(assignment).toHaveLength(partitions);
        for (const replicas of assignment) {
          expect(replicas).toHaveLength(rf);
          expect(new Set(replicas).size).toBe(rf);
          for (const id of replicas) expect(brokers).toContain(id);
        }
      }),
    );
  });

  it('spreads leaders so counts per broker differ by at most one when partitions >= brokers', () => {
    fc.assert(
      fc.property(layout, ({ brokers, partitions, rf, seed }) => {
        fc.pre(partitions >= brokers.length);
        const assignment = assignReplicasToBrokers(brokers, partitions, rf, { random: seeded(seed) });
        const counts = new Map(brokers.map((id) => [id, 0]));
        for (const replicas of assignment) {
          const leader = replicas[0] as number;
          counts.set(leader, (counts.get(leader) ?? 0) + 1);
        }
        const values = [...counts.values()];
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('is deterministic for a given random source', () => {
    fc.assert(
      fc.property(layout, ({ brokers, partitions, rf, seed }) => {
        const a = assignReplicasToBrokers(brokers, partitions, rf, { random: seeded(seed) });
        const b = assignReplicasToBrokers(brokers, partitions, rf, { random: seeded(seed) });
        expect(a).toEqual(b);
      }),
    );
  });

  it('refuses a replication factor above the broker count, saying how many are available', () => {
    const error = (() => {
      try {
        assignReplicasToBrokers([0, 1, 2], 3, 4, { random: () => 0 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidReplicationFactorError);
    expect(error).toMatchObject({ code: 'INVALID_REPLICATION_FACTOR', requested: 4, available: 3 });
  });

  it('refuses fewer than one partition or replica', () => {
    expect(() => assignReplicasToBrokers([0, 1], 0, 1, { random: () => 0 })).toThrow(InvalidPartitionsError);
    expect(() => assignReplicasToBrokers([0, 1], 2, 0, { random: () => 0 })).toThrow(InvalidReplicationFactorError);
    expect(() => assignReplicasToBrokers([], 1, 1, { random: () => 0 })).toThrow(InvalidReplicationFactorError);
  });
});
