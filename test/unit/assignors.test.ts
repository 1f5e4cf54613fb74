import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  AssignmentContext,
  Assignor,
  GroupAssignment,
  MemberSubscription,
  TopicPartition,
} from '../../src/consumer/assignor';
import {
  Assignors,
  cooperativeStickyAssignor,
  rangeAssignor,
  roundRobinAssignor,
  withholdMovedPartitions,
} from '../../src/consumer/assignors';

// ---------------------------------------------------------------------------------------------
// Helpers

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
const key = ({ topic, partition }: TopicPartition): string => `${topic}-${partition}`;

function member(
  memberId: string,
  topics: readonly string[],
  ownedPartitions: readonly TopicPartition[] = [],
  generation = ownedPartitions.length > 0 ? 1 : -1,
): MemberSubscription {
  return { memberId, topics, ownedPartitions, generation };
}

/** The assignment as plain data, `{ member: ['topic-0', ...] }`, for readable expectations. */
function plain(assignment: GroupAssignment): Record<string, string[]> {
  return Object.fromEntries([...assignment].map(([id, partitions]) => [id, partitions.map(key)]));
}

function run(
  assignor: Assignor,
  members: readonly MemberSubscription[],
  partitionsPerTopic: Record<string, number>,
): Record<string, string[]> {
  return plain(assignor.assign({ members, partitionsPerTopic }));
}

/** The members again, now owning what `assignment` gave them, one generation on. */
function nextRound(
  members: readonly MemberSubscription[],
  assignment: GroupAssignment,
  generation: number,
): MemberSubscription[] {
  return members.map((m) => ({ ...m, ownedPartitions: assignment.get(m.memberId) ?? [], generation }));
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function existingTopics(context: AssignmentContext, m: MemberSubscription): Set<string> {
  return new Set(m.topics.filter((t) => Object.hasOwn(context.partitionsPerTopic, t)));
}

/** Every partition of every topic someone subscribes to, as keys. */
function subscribedPartitions(context: AssignmentContext): Set<string> {
  const keys = new Set<string>();
  for (const m of context.members) {
    for (const topic of existingTopics(context, m)) {
      const count = context.partitionsPerTopic[topic] ?? 0;
      for (let p = 0; p < count; p++) keys.add(key(tp(topic, p)));
    }
  }
  return keys;
}

/** The claim that stands per partition key: highest generation, then lowest member id. */
function standingClaims(members: readonly MemberSubscription[]): Map<string, string> {
  const best = new Map<string, MemberSubscription>();
  for (const m of members) {
    for (const owned of m.ownedPartitions) {
      const current = best.get(key(owned));
      const better =
        !current ||
        m.generation > current.generation ||
        (m.generation === current.generation && compareStrings(m.memberId, current.memberId) < 0);
      if (better) best.set(key(owned), m);
    }
  }
  return new Map([...best].map(([k, m]) => [k, m.memberId]));
}

const counts = (assignment: GroupAssignment): number[] => [...assignment.values()].map((l) => l.length);
const spread = (assignment: GroupAssignment): number => {
  const c = counts(assignment);
  return c.length === 0 ? 0 : Math.max(...c) - Math.min(...c);
};

/** What every assignor promises, whatever the protocol. */
function expectWellFormed(context: AssignmentContext, assignment: GroupAssignment): void {
  expect([...assignment.keys()].sort()).toEqual(context.members.map((m) => m.memberId).sort());
  const seen = new Set<string>();
  for (const m of context.members) {
    const partitions = assignment.get(m.memberId) ?? [];
    const sorted = [...partitions].sort((a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition);
    expect(partitions).toEqual(sorted);
    const topics = existingTopics(context, m);
    for (const p of partitions) {
      expect(topics.has(p.topic)).toBe(true);
      expect(p.partition).toBeGreaterThanOrEqual(0);
      expect(p.partition).toBeLessThan(context.partitionsPerTopic[p.topic] ?? 0);
      expect(seen.has(key(p))).toBe(false);
      seen.add(key(p));
    }
  }
}

function assignedKeys(assignment: GroupAssignment): Set<string> {
  return new Set([...assignment.values()].flat().map(key));
}

/**
 * No member could hand a partition straight to a subscriber holding two fewer: a necessary
 * condition of an optimal spread, and for identical subscriptions the "at most one apart" rule.
 */
function expectNoDirectImprovement(context: AssignmentContext, assignment: GroupAssignment): void {
  for (const from of context.members) {
    const held = assignment.get(from.memberId) ?? [];
    for (const to of context.members) {
      const topics = existingTopics(context, to);
      if (!held.some((p) => topics.has(p.topic))) continue;
      expect((assignment.get(to.memberId) ?? []).length).toBeGreaterThanOrEqual(held.length - 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random groups

const POOL = ['a', 'b', 'c', 'd', 'gone'] as const; // 'gone' never exists

interface GroupShape {
  maxMembers: number;
  maxTopics: number;
  maxPartitions: number;
}

function groupArb({ maxMembers, maxTopics, maxPartitions }: GroupShape): fc.Arbitrary<AssignmentContext> {
  const owned = fc.record({ topic: fc.constantFrom(...POOL), partition: fc.integer({ min: 0, max: maxPartitions + 1 }) });
  return fc
    .record({
      partitionCounts: fc.array(fc.integer({ min: 0, max: maxPartitions }), { minLength: 1, maxLength: maxTopics }),
      members: fc.uniqueArray(
        fc.record({
          id: fc.integer({ min: 0, max: 30 }),
          topics: fc.subarray([...POOL]),
          owned: fc.array(owned, { maxLength: 10 }),
          generation: fc.integer({ min: -1, max: 3 }),
        }),
        { minLength: 1, maxLength: maxMembers, selector: (m) => m.id },
      ),
    })
    .map(({ partitionCounts, members }) => ({
      partitionsPerTopic: Object.fromEntries(partitionCounts.map((n, i) => [POOL[i], n])),
      // Ids like m3, m12 sort as strings (m12 < m3): the assignors must not assume numeric order.
      members: members.map((m) => member(`m${m.id}`, m.topics, m.owned, m.generation)),
    }));
}

const anyGroup = groupArb({ maxMembers: 8, maxTopics: 4, maxPartitions: 12 });
/** Every member subscribes to the first member's topics. */
const sameSubscriptions = anyGroup.map((g) => ({
  ...g,
  members: g.members.map((m) => ({ ...m, topics: g.members[0]?.topics ?? [] })),
}));

const eager: readonly Assignor[] = [rangeAssignor, roundRobinAssignor];
const all: readonly Assignor[] = [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor];

// ---------------------------------------------------------------------------------------------

describe('Assignors', () => {
  it('names each assignor with its Kafka protocol name and rebalance protocol', () => {
    expect(Assignors.range).toBe(rangeAssignor);
    expect(Assignors.roundRobin).toBe(roundRobinAssignor);
    expect(Assignors.cooperativeSticky).toBe(cooperativeStickyAssignor);
    expect([rangeAssignor.name, rangeAssignor.rebalanceProtocol]).toEqual(['range', 'eager']);
    expect([roundRobinAssignor.name, roundRobinAssignor.rebalanceProtocol]).toEqual(['roundrobin', 'eager']);
    expect([cooperativeStickyAssignor.name, cooperativeStickyAssignor.rebalanceProtocol]).toEqual([
      'cooperative-sticky',
      'cooperative',
    ]);
  });
});

// Cases every Kafka assignor test class repeats (RangeAssignorTest, RoundRobinAssignorTest,
// AbstractStickyAssignorTest): with nothing owned, all three assignors agree on them.
describe.each(all.map((a) => [a.name, a] as const))('%s: Kafka common cases', (_name, assignor) => {
  it('testOneConsumerNoTopic: a member without topics is still in the result', () => {
    expect(run(assignor, [member('consumer', [])], {})).toEqual({ consumer: [] });
  });

  it('testOneConsumerNonexistentTopic: a topic absent from partitionsPerTopic is ignored', () => {
    expect(run(assignor, [member('consumer', ['topic'])], {})).toEqual({ consumer: [] });
  });

  it('testOneConsumerOneTopic', () => {
    expect(run(assignor, [member('consumer', ['topic'])], { topic: 3 })).toEqual({
      consumer: ['topic-0', 'topic-1', 'topic-2'],
    });
  });

  it('testOnlyAssignsPartitionsFromSubscribedTopics', () => {
    expect(run(assignor, [member('consumer', ['topic'])], { topic: 3, otherTopic: 3 })).toEqual({
      consumer: ['topic-0', 'topic-1', 'topic-2'],
    });
  });

  it('testOneConsumerMultipleTopics', () => {
    expect(run(assignor, [member('consumer', ['topic1', 'topic2'])], { topic1: 1, topic2: 2 })).toEqual({
      consumer: ['topic1-0', 'topic2-0', 'topic2-1'],
    });
  });

  it('testTwoConsumersOneTopicOnePartition', () => {
    const members = [member('consumer1', ['topic']), member('consumer2', ['topic'])];
    expect(run(assignor, members, { topic: 1 })).toEqual({ consumer1: ['topic-0'], consumer2: [] });
  });

  it('testTwoConsumersOneTopicTwoPartitions', () => {
    const members = [member('consumer1', ['topic']), member('consumer2', ['topic'])];
    expect(run(assignor, members, { topic: 2 })).toEqual({ consumer1: ['topic-0'], consumer2: ['topic-1'] });
  });

  it('returns an empty assignment for an empty group', () => {
    expect(assignor.assign({ members: [], partitionsPerTopic: { topic: 3 } }).size).toBe(0);
  });

  it('reads a topic named like an Object.prototype member only from partitionsPerTopic', () => {
    expect(run(assignor, [member('c', ['constructor', 'toString'])], {})).toEqual({ c: [] });
    expect(run(assignor, [member('c', ['constructor'])], { constructor: 2 })).toEqual({
      c: ['constructor-0', 'constructor-1'],
    });
  });

  it('rejects a duplicate member id and an invalid partition count', () => {
    expect(() => assignor.assign({ members: [member('c', ['t']), member('c', ['t'])], partitionsPerTopic: { t: 1 } }))
      .toThrow(RangeError);
    expect(() => assignor.assign({ members: [member('c', ['t'])], partitionsPerTopic: { t: -1 } })).toThrow(RangeError);
    expect(() => assignor.assign({ members: [member('c', ['t'])], partitionsPerTopic: { t: 1.5 } })).toThrow(RangeError);
  });

  it('gives the same result for any order of members and of their topics', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const shuffled = {
          ...group,
          members: [...group.members].reverse().map((m) => ({ ...m, topics: [...m.topics].reverse() })),
        };
        expect([...assignor.assign(shuffled)]).toEqual([...assignor.assign(group)]);
      }),
    );
  });
});

describe.each(eager.map((a) => [a.name, a] as const))('%s: eager properties', (_name, assignor) => {
  it('assigns every partition of every subscribed topic once, only to subscribers', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const assignment = assignor.assign(group);
        expectWellFormed(group, assignment);
        expect(assignedKeys(assignment)).toEqual(subscribedPartitions(group));
      }),
    );
  });

  it('ignores ownedPartitions', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const disowned = { ...group, members: group.members.map((m) => ({ ...m, ownedPartitions: [], generation: -1 })) };
        expect(plain(assignor.assign(group))).toEqual(plain(assignor.assign(disowned)));
      }),
    );
  });
});

describe('range', () => {
  // RangeAssignorTest.testMultipleConsumersMixedTopics
  it('testMultipleConsumersMixedTopics', () => {
    const members = [
      member('consumer1', ['topic1']),
      member('consumer2', ['topic1', 'topic2']),
      member('consumer3', ['topic1']),
    ];
    expect(run(rangeAssignor, members, { topic1: 3, topic2: 2 })).toEqual({
      consumer1: ['topic1-0'],
      consumer2: ['topic1-1', 'topic2-0', 'topic2-1'],
      consumer3: ['topic1-2'],
    });
  });

  // RangeAssignorTest.testTwoConsumersTwoTopicsSixPartitions
  it('testTwoConsumersTwoTopicsSixPartitions', () => {
    const members = [member('consumer1', ['topic1', 'topic2']), member('consumer2', ['topic1', 'topic2'])];
    expect(run(rangeAssignor, members, { topic1: 3, topic2: 3 })).toEqual({
      consumer1: ['topic1-0', 'topic1-1', 'topic2-0', 'topic2-1'],
      consumer2: ['topic1-2', 'topic2-2'],
    });
  });

  it('gives the first n % members one extra, by member id, however the members are listed', () => {
    const members = [member('c', ['t']), member('a', ['t']), member('b', ['t'])];
    expect(run(rangeAssignor, members, { t: 7 })).toEqual({
      a: ['t-0', 't-1', 't-2'],
      b: ['t-3', 't-4'],
      c: ['t-5', 't-6'],
    });
  });

  it('cuts every topic into contiguous ranges, in member id order, at most one apart in size', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const assignment = rangeAssignor.assign(group);
        for (const [topic, count] of Object.entries(group.partitionsPerTopic)) {
          const subscribers = group.members
            .filter((m) => m.topics.includes(topic))
            .sort((a, b) => compareStrings(a.memberId, b.memberId));
          const ranges = subscribers.map((m) =>
            (assignment.get(m.memberId) ?? []).filter((p) => p.topic === topic).map((p) => p.partition),
          );
          expect(ranges.flat()).toEqual(subscribers.length === 0 ? [] : Array.from({ length: count }, (_, i) => i));
          const sizes = ranges.map((r) => r.length);
          for (let i = 1; i < sizes.length; i++) {
            expect(sizes[i]).toBeLessThanOrEqual(sizes[i - 1] ?? 0);
            expect((sizes[0] ?? 0) - (sizes[i] ?? 0)).toBeLessThanOrEqual(1);
          }
        }
      }),
    );
  });
});

describe('roundrobin', () => {
  // RoundRobinAssignorTest.testMultipleConsumersMixedTopics: consumer1 and consumer3 are skipped
  // for topic2's partitions.
  it('testMultipleConsumersMixedTopics', () => {
    const members = [
      member('consumer1', ['topic1']),
      member('consumer2', ['topic1', 'topic2']),
      member('consumer3', ['topic1']),
    ];
    expect(run(roundRobinAssignor, members, { topic1: 3, topic2: 2 })).toEqual({
      consumer1: ['topic1-0'],
      consumer2: ['topic1-1', 'topic2-0', 'topic2-1'],
      consumer3: ['topic1-2'],
    });
  });

  // RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions: the deal runs on across topics.
  it('testTwoConsumersTwoTopicsSixPartitions', () => {
    const members = [member('consumer1', ['topic1', 'topic2']), member('consumer2', ['topic1', 'topic2'])];
    expect(run(roundRobinAssignor, members, { topic1: 3, topic2: 3 })).toEqual({
      consumer1: ['topic1-0', 'topic1-2', 'topic2-1'],
      consumer2: ['topic1-1', 'topic2-0', 'topic2-2'],
    });
  });

  it('is at most one apart when subscriptions are identical', () => {
    fc.assert(
      fc.property(sameSubscriptions, (group) => {
        expect(spread(roundRobinAssignor.assign(group))).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('withholdMovedPartitions', () => {
  it('drops a partition another member owns, keeps unowned and self-owned ones', () => {
    const members = [member('a', ['t'], [tp('t', 0), tp('t', 1)]), member('b', ['t'])];
    const assignment: GroupAssignment = new Map([
      ['a', [tp('t', 0)]],
      ['b', [tp('t', 1), tp('t', 2)]],
    ]);
    const before = plain(assignment);
    const result = withholdMovedPartitions(assignment, members);
    expect(plain(result)).toEqual({ a: ['t-0'], b: ['t-2'] });
    expect(result).not.toBe(assignment);
    expect(plain(assignment)).toEqual(before);
  });

  it('lets the highest generation claim stand, then the lower member id', () => {
    const zombie = member('a', ['t'], [tp('t', 0)], 3);
    const current = member('b', ['t'], [tp('t', 0)], 4);
    const assignment: GroupAssignment = new Map([
      ['a', [tp('t', 0)]],
      ['b', [tp('t', 0)]],
    ]);
    expect(plain(withholdMovedPartitions(assignment, [zombie, current]))).toEqual({ a: [], b: ['t-0'] });
    const tie = [member('a', ['t'], [tp('t', 0)], 4), current];
    expect(plain(withholdMovedPartitions(assignment, tie))).toEqual({ a: ['t-0'], b: [] });
  });

  it('keeps entries for members it has no subscription of', () => {
    const assignment: GroupAssignment = new Map([['x', [tp('t', 0), tp('t', 1)]]]);
    expect(plain(withholdMovedPartitions(assignment, [member('y', ['t'], [tp('t', 1)])]))).toEqual({ x: ['t-0'] });
  });
});

describe('cooperative-sticky: Kafka cases', () => {
  // AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic, in its cooperative form: the
  // partition that moves is withheld for one round.
  it('testAddRemoveConsumerOneTopic', () => {
    const partitionsPerTopic = { topic: 3 };
    let members = [member('consumer1', ['topic'])];
    let assignment = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(assignment)).toEqual({ consumer1: ['topic-0', 'topic-1', 'topic-2'] });

    members = [...nextRound(members, assignment, 1), member('consumer2', ['topic'])];
    assignment = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(assignment)).toEqual({ consumer1: ['topic-0', 'topic-1'], consumer2: [] });

    members = nextRound(members, assignment, 2);
    assignment = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(assignment)).toEqual({ consumer1: ['topic-0', 'topic-1'], consumer2: ['topic-2'] });

    members = nextRound(members, assignment, 3).filter((m) => m.memberId !== 'consumer1');
    assignment = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(assignment)).toEqual({ consumer2: ['topic-0', 'topic-1', 'topic-2'] });
  });

  // AbstractStickyAssignorTest.testOwnedPartitionsAreInvalidatedForConsumerWithStaleGeneration
  it('testOwnedPartitionsAreInvalidatedForConsumerWithStaleGeneration', () => {
    const claimed = [tp('topic', 0), tp('topic', 2), tp('topic2', 1)];
    const members = [member('consumer1', ['topic', 'topic2'], claimed, 10), member('consumer2', ['topic', 'topic2'], claimed, 9)];
    expect(run(cooperativeStickyAssignor, members, { topic: 3, topic2: 3 })).toEqual({
      consumer1: ['topic-0', 'topic-2', 'topic2-1'],
      consumer2: ['topic-1', 'topic2-0', 'topic2-2'],
    });
  });

  // AbstractStickyAssignorTest.testOwnedPartitionsAreStableForConsumerWithMultipleGeneration
  it('testOwnedPartitionsAreStableForConsumerWithMultipleGeneration', () => {
    const topics = ['topic', 'topic2', 'topic3'];
    const members = [
      member('consumer1', topics, [tp('topic', 0), tp('topic2', 0), tp('topic3', 0)], 10),
      member('consumer2', topics, [tp('topic', 1), tp('topic2', 1), tp('topic3', 1)], 9),
      member('consumer3', topics, [tp('topic2', 2), tp('topic3', 2), tp('topic', 1)], 8),
    ];
    expect(run(cooperativeStickyAssignor, members, { topic: 3, topic2: 3, topic3: 3 })).toEqual({
      consumer1: ['topic-0', 'topic2-0', 'topic3-0'],
      consumer2: ['topic-1', 'topic2-1', 'topic3-1'],
      consumer3: ['topic-2', 'topic2-2', 'topic3-2'],
    });
  });

  // AbstractStickyAssignorTest.testAssignmentWithMultipleGenerations1
  it('testAssignmentWithMultipleGenerations1', () => {
    const partitionsPerTopic = { topic: 6 };
    const keys = (list: readonly TopicPartition[] | undefined): string[] => (list ?? []).map(key);
    const r1 = cooperativeStickyAssignor.assign({
      members: ['consumer1', 'consumer2', 'consumer3'].map((id) => member(id, ['topic'])),
      partitionsPerTopic,
    });
    expect(counts(r1)).toEqual([2, 2, 2]);
    const [r1c1, r1c2, r1c3] = [r1.get('consumer1') ?? [], r1.get('consumer2') ?? [], r1.get('consumer3') ?? []];

    const r2 = cooperativeStickyAssignor.assign({
      members: [member('consumer1', ['topic'], r1c1, 1), member('consumer2', ['topic'], r1c2, 1)],
      partitionsPerTopic,
    });
    const [r2c1, r2c2] = [r2.get('consumer1') ?? [], r2.get('consumer2') ?? []];
    expect([r2c1.length, r2c2.length]).toEqual([3, 3]);
    expect(keys(r2c1)).toEqual(expect.arrayContaining(keys(r1c1)));
    expect(keys(r2c2)).toEqual(expect.arrayContaining(keys(r1c2)));
    expect(keys(r2c2).some((k) => keys(r1c3).includes(k))).toBe(true);

    // consumer3 comes back with its generation-1 claims, one of them now consumer2's (generation 2).
    const r3 = cooperativeStickyAssignor.assign({
      members: [member('consumer2', ['topic'], r2c2, 2), member('consumer3', ['topic'], r1c3, 1)],
      partitionsPerTopic,
    });
    const [r3c2, r3c3] = [keys(r3.get('consumer2')), keys(r3.get('consumer3'))];
    expect([r3c2.length, r3c3.length]).toEqual([3, 3]);
    expect(r3c2).toEqual(keys(r2c2));
    expect(r3c2.some((k) => r3c3.includes(k))).toBe(false);
  });

  // AbstractStickyAssignorTest.testAssignmentUpdatedForDeletedTopic
  it('testAssignmentUpdatedForDeletedTopic', () => {
    const assignment = cooperativeStickyAssignor.assign({
      members: [member('consumer', ['topic01', 'topic02', 'topic03'])],
      partitionsPerTopic: { topic01: 1, topic03: 100 },
    });
    expect(assignment.get('consumer')?.length).toBe(101);
    expect(assignment.get('consumer')?.some((p) => p.topic === 'topic02')).toBe(false);
  });

  // AbstractStickyAssignorTest.testNoExceptionThrownWhenOnlySubscribedTopicDeleted
  it('testNoExceptionThrownWhenOnlySubscribedTopicDeleted', () => {
    const owned = [tp('topic', 0), tp('topic', 1), tp('topic', 2)];
    expect(run(cooperativeStickyAssignor, [member('consumer', ['topic'], owned)], {})).toEqual({ consumer: [] });
  });

  // CooperativeStickyAssignorTest.testAllConsumersHaveOwnedPartitionInvalidatedWhenClaimedByMultiple
  // ConsumersInSameGenerationWithEqualPartitionsPerConsumer. Deliberate difference: Kafka drops
  // topic-0 from both claimants; here the tie goes to the lower member id, so consumer1 keeps it
  // and gives up topic-1 instead (withheld this round, consumer3's in the next).
  it('a claim tie within one generation goes to the lower member id (Kafka invalidates both)', () => {
    const members = [
      member('consumer1', ['topic'], [tp('topic', 0), tp('topic', 1)], 5),
      member('consumer2', ['topic'], [tp('topic', 0), tp('topic', 2)], 5),
      member('consumer3', ['topic'], [], 5),
    ];
    const r1 = cooperativeStickyAssignor.assign({ members, partitionsPerTopic: { topic: 3 } });
    expect(plain(r1)).toEqual({ consumer1: ['topic-0'], consumer2: ['topic-2'], consumer3: [] });
    const r2 = cooperativeStickyAssignor.assign({ members: nextRound(members, r1, 6), partitionsPerTopic: { topic: 3 } });
    expect(plain(r2)).toEqual({ consumer1: ['topic-0'], consumer2: ['topic-2'], consumer3: ['topic-1'] });
  });
});

describe('cooperative-sticky: behaviour', () => {
  it('waits for a member that unsubscribed to revoke before handing its partitions on', () => {
    const partitionsPerTopic = { a: 2, b: 2 };
    const members = [member('c1', ['b'], [tp('a', 0), tp('a', 1)]), member('c2', ['a'])];
    const r1 = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(r1)).toEqual({ c1: ['b-0', 'b-1'], c2: [] });
    const r2 = cooperativeStickyAssignor.assign({ members: nextRound(members, r1, 2), partitionsPerTopic });
    expect(plain(r2)).toEqual({ c1: ['b-0', 'b-1'], c2: ['a-0', 'a-1'] });
  });

  it('balances through a chain of members when no direct hand-over helps', () => {
    // x: only c1 and c2 may take it; y: only c2 and c3. Loads 3/2/1 become 2/2/2 by c1 -> c2
    // (an x) and c2 -> c3 (a y); both moved partitions are withheld for one round.
    const partitionsPerTopic = { x: 3, y: 3 };
    const members = [
      member('c1', ['x'], [tp('x', 0), tp('x', 1), tp('x', 2)]),
      member('c2', ['x', 'y'], [tp('y', 0), tp('y', 1)]),
      member('c3', ['y'], [tp('y', 2)]),
    ];
    const r1 = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(r1)).toEqual({ c1: ['x-0', 'x-1'], c2: ['y-0'], c3: ['y-2'] });
    const r2 = cooperativeStickyAssignor.assign({ members: nextRound(members, r1, 2), partitionsPerTopic });
    expect(plain(r2)).toEqual({ c1: ['x-0', 'x-1'], c2: ['x-2', 'y-0'], c3: ['y-1', 'y-2'] });
  });

  it('hands on a partition it does not own rather than one it owns, mid-chain', () => {
    // c2 holds y-0 (owned) and y-1 (unowned, filled in this round); the chain c1 -> c2 -> c3 must
    // pass y-1 on, which needs no revocation, so c3 gets it in this very round.
    const members = [
      member('c1', ['x'], [tp('x', 0), tp('x', 1), tp('x', 2)]),
      member('c2', ['x', 'y'], [tp('y', 0)]),
      member('c3', ['y'], [tp('y', 2)]),
    ];
    expect(run(cooperativeStickyAssignor, members, { x: 3, y: 3 })).toEqual({
      c1: ['x-0', 'x-1'],
      c2: ['y-0'],
      c3: ['y-1', 'y-2'],
    });
  });

  // Found by a property search against a version that let owned partitions move as freely as
  // unowned ones: its follow-up round took a-0 from c1 although c1 kept it in round 1.
  it('in the follow-up round, evens out with unowned partitions before touching owned ones', () => {
    const partitionsPerTopic = { a: 2, b: 2 };
    const members = [
      member('c1', ['a', 'b'], [tp('a', 0), tp('a', 1)]),
      member('c2', ['b']),
      member('c3', ['a', 'b']),
      member('c4', ['a'], [tp('b', 1)]), // unsubscribed from b but not yet revoked
    ];
    const r1 = cooperativeStickyAssignor.assign({ members, partitionsPerTopic });
    expect(plain(r1)).toEqual({ c1: ['a-0'], c2: ['b-0'], c3: [], c4: [] });
    const r2 = cooperativeStickyAssignor.assign({ members: nextRound(members, r1, 2), partitionsPerTopic });
    expect(plain(r2)).toEqual({ c1: ['a-0'], c2: ['b-0'], c3: ['b-1'], c4: ['a-1'] });
  });

  it('spreads a large topic one member hoards over 50 members in two rounds', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const everything = Array.from({ length: 2000 }, (_, p) => tp('t', p));
    const members = ids.map((id, i) => member(id, ['t'], i === 0 ? everything : []));
    const r1 = cooperativeStickyAssignor.assign({ members, partitionsPerTopic: { t: 2000 } });
    expect(r1.get('m00')?.length).toBe(40);
    expect(counts(r1).reduce((a, b) => a + b)).toBe(40);
    const r2 = cooperativeStickyAssignor.assign({ members: nextRound(members, r1, 2), partitionsPerTopic: { t: 2000 } });
    expect(new Set(counts(r2))).toEqual(new Set([40]));
    expect(r2.get('m00')).toEqual(r1.get('m00'));
  });
});

describe('cooperative-sticky: properties', () => {
  it('round 1 is well formed and gives a member only unowned partitions or its own', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const assignment = cooperativeStickyAssignor.assign(group);
        expectWellFormed(group, assignment);
        const claims = standingClaims(group.members);
        for (const [memberId, partitions] of assignment) {
          for (const p of partitions) expect(claims.get(key(p)) ?? memberId).toBe(memberId);
        }
      }),
    );
  });

  it('keeps what a member owns up to its fair share (identical subscriptions)', () => {
    fc.assert(
      fc.property(sameSubscriptions, (group) => {
        const assignment = cooperativeStickyAssignor.assign(group);
        const total = subscribedPartitions(group).size;
        const share = Math.floor(total / group.members.length);
        const claims = standingClaims(group.members);
        const existing = subscribedPartitions(group);
        for (const m of group.members) {
          const valid = new Set([...claims].filter(([k, owner]) => owner === m.memberId && existing.has(k)).map(([k]) => k));
          const kept = (assignment.get(m.memberId) ?? []).filter((p) => valid.has(key(p))).length;
          expect(kept).toBeGreaterThanOrEqual(Math.min(valid.size, share));
        }
      }),
    );
  });

  it('completes in the follow-up round: all assigned, balanced, nothing kept in round 1 moved, then stable', () => {
    fc.assert(
      fc.property(anyGroup, (group) => {
        const r1 = cooperativeStickyAssignor.assign(group);
        const round2 = { ...group, members: nextRound(group.members, r1, 4) };
        const r2 = cooperativeStickyAssignor.assign(round2);
        expectWellFormed(round2, r2);
        expect(assignedKeys(r2)).toEqual(subscribedPartitions(group));
        expectNoDirectImprovement(round2, r2);
        for (const [memberId, partitions] of r1) {
          expect((r2.get(memberId) ?? []).map(key)).toEqual(expect.arrayContaining(partitions.map(key)));
        }
        const r3 = cooperativeStickyAssignor.assign({ ...group, members: nextRound(group.members, r2, 5) });
        expect(plain(r3)).toEqual(plain(r2));
      }),
      // The central promise of the assignor: worth more runs than the default 100.
      { numRuns: 1000 },
    );
  });

  it('is at most one apart after the follow-up round when subscriptions are identical', () => {
    fc.assert(
      fc.property(sameSubscriptions, (group) => {
        const r1 = cooperativeStickyAssignor.assign(group);
        const r2 = cooperativeStickyAssignor.assign({ ...group, members: nextRound(group.members, r1, 4) });
        expect(spread(r2)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('reaches the best spread the subscriptions allow (brute force on small groups)', () => {
    const small = groupArb({ maxMembers: 3, maxTopics: 3, maxPartitions: 3 });
    fc.assert(
      fc.property(small, (group) => {
        const r1 = cooperativeStickyAssignor.assign(group);
        const r2 = cooperativeStickyAssignor.assign({ ...group, members: nextRound(group.members, r1, 4) });
        const loads = group.members.map((m) => r2.get(m.memberId)?.length ?? 0);
        const best = bestSpread(group);
        expect(Math.max(0, ...loads)).toBe(best.maxLoad);
        expect(sumOfSquares(loads)).toBe(best.sumOfSquares);
      }),
    );
  });

  it('moves at most ceil(total / members) partitions when a member joins a balanced group', () => {
    const joining = fc.record({
      ids: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 2, maxLength: 8 }),
      topics: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(joining, ({ ids, topics }) => {
        const partitionsPerTopic = Object.fromEntries(topics.map((n, i) => [POOL[i], n]));
        const names = Object.keys(partitionsPerTopic);
        const [joinerId, ...groupIds] = ids.map((id) => `m${id}`);
        const initial = groupIds.map((id) => member(id, names));
        const balanced = cooperativeStickyAssignor.assign({ members: initial, partitionsPerTopic });
        const total = topics.reduce((a, b) => a + b, 0);
        expect(assignedKeys(balanced).size).toBe(total);
        expect(spread(balanced)).toBeLessThanOrEqual(1);

        const joined = [...nextRound(initial, balanced, 1), member(joinerId ?? 'joiner', names)];
        const r1 = cooperativeStickyAssignor.assign({ members: joined, partitionsPerTopic });
        const r2 = cooperativeStickyAssignor.assign({ members: nextRound(joined, r1, 2), partitionsPerTopic });
        expect(assignedKeys(r2).size).toBe(total);
        expect(spread(r2)).toBeLessThanOrEqual(1);

        const before = ownerByKey(balanced);
        const moved = [...ownerByKey(r2)].filter(([k, owner]) => before.get(k) !== owner);
        expect(moved.length).toBeLessThanOrEqual(Math.ceil(total / joined.length));
        for (const [, owner] of moved) expect(owner).toBe(joinerId);
      }),
    );
  });
});

function ownerByKey(assignment: GroupAssignment): Map<string, string> {
  return new Map([...assignment].flatMap(([id, partitions]) => partitions.map((p) => [key(p), id] as const)));
}

const sumOfSquares = (loads: readonly number[]): number => loads.reduce((s, n) => s + n * n, 0);

/** The smallest largest load and sum of squared loads over every possible assignment. */
function bestSpread(context: AssignmentContext): { maxLoad: number; sumOfSquares: number } {
  // Per partition, the indexes of the members that may take it.
  const candidates: number[][] = [];
  for (const [topic, count] of Object.entries(context.partitionsPerTopic)) {
    const subscribers = context.members.flatMap((m, i) => (m.topics.includes(topic) ? [i] : []));
    if (subscribers.length === 0) continue;
    for (let p = 0; p < count; p++) candidates.push(subscribers);
  }
  const loads = context.members.map(() => 0);
  let best = { maxLoad: Infinity, sumOfSquares: Infinity };
  const visit = (index: number): void => {
    const options = candidates[index];
    if (!options) {
      best = {
        maxLoad: Math.min(best.maxLoad, Math.max(0, ...loads)),
        sumOfSquares: Math.min(best.sumOfSquares, sumOfSquares(loads)),
      };
      return;
    }
    for (const i of options) {
      loads[i] = (loads[i] ?? 0) + 1;
      visit(index + 1);
      loads[i] = (loads[i] ?? 0) - 1;
    }
  };
  visit(0);
  return best;
}
