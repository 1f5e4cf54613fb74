/**
 * The group coordinator's rules, one at a time, with a hand-driven clock and an in-memory
 * `__consumer_offsets` log. The whole-group behaviour under faults is the simulation's
 * (test/unit/group-simulation.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { GroupCoordinator } from '../../src/coordinator/group-coordinator';
import type { JoinGroupRequest, SyncGroupRequest } from '../../src/coordinator/group-coordinator';
import type { JoinGroupResponse } from '../../src/coordinator/group-metadata';
import type { GroupRecord } from '../../src/coordinator/group-records';
import type { TopicPartition } from '../../src/consumer/assignor';
import {
  CoordinatorLoadInProgressError,
  GroupIdNotFoundError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  NonEmptyGroupError,
  NotCoordinatorError,
  RebalanceInProgressError,
  RequestTimedOutError,
  UnknownMemberIdError,
} from '../../src/errors';

const GROUP = 'orders';
const TOPIC = 'events';
const SESSION_MS = 3000;
const REBALANCE_MS = 5000;
const WAIT_MS = 1000;

interface Harness {
  readonly coordinator: GroupCoordinator;
  /** What the coordinator's writes appended, in order. */
  readonly log: GroupRecord[];
  /** The next this-many writes fail (nothing is appended). */
  failWrites: number;
  now(): number;
  /** Moves the clock and lets the coordinator act on it. */
  advance(ms: number): void;
}

function harness(options: { load?: readonly GroupRecord[]; startAt?: number; loaded?: boolean } = {}): Harness {
  let time = options.startAt ?? 0;
  let ids = 0;
  const log: GroupRecord[] = [];
  const h: Harness = {
    coordinator: new GroupCoordinator({
      brokerId: 1,
      now: () => time,
      write: async (records) => {
        if (h.failWrites > 0) {
          h.failWrites--;
          throw new RequestTimedOutError('append to __consumer_offsets', 100);
        }
        log.push(...records);
      },
      newMemberId: (clientId) => `${clientId}-${++ids}`,
      heartbeatWaitMs: WAIT_MS,
    }),
    log,
    failWrites: 0,
    now: () => time,
    advance(ms) {
      time += ms;
      h.coordinator.tick();
    },
  };
  if (options.loaded !== false) h.coordinator.load(options.load ?? []);
  return h;
}

/** Lets every promise the last step started settle (the in-memory write included). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Tracked<T> {
  done: boolean;
  value: T | undefined;
  error: unknown;
}

/** Watches a promise without awaiting it, so a test can ask whether it is still parked. */
function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { done: false, value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(tracked, { done: true, value }),
    (error: unknown) => Object.assign(tracked, { done: true, error }),
  );
  return tracked;
}

function joinRequest(memberId: string, clientId = 'c', extra: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: GROUP,
    memberId,
    clientId,
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: { topics: [TOPIC], ownedPartitions: [], generation: -1 } }],
    ...extra,
  };
}

const tps = (...partitions: number[]): TopicPartition[] => partitions.map((partition) => ({ topic: TOPIC, partition }));

/** Generation 2's leader hands out partitions 0-1 to itself and 2-3 to the other member. */
function leaderSyncOfTwo(leader: string, other: string): SyncGroupRequest {
  return {
    groupId: GROUP,
    generationId: 2,
    memberId: leader,
    assignments: [
      { memberId: leader, assignment: tps(0, 1) },
      { memberId: other, assignment: tps(2, 3) },
    ],
  };
}

/** One member, joined and synced with every partition in `partitions`: generation 1, Stable. */
async function oneMember(h: Harness, partitions = tps(0, 1, 2, 3)): Promise<JoinGroupResponse> {
  const joined = await h.coordinator.join(joinRequest('', 'a'));
  await h.coordinator.sync({ groupId: GROUP, generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: partitions }] });
  return joined;
}

/**
 * Two members in generation 2, Stable: `a` (the leader, partitions 0-1) and `b` (2-3). Returns
 * their member ids.
 */
async function twoMembers(h: Harness): Promise<{ a: string; b: string }> {
  const first = await oneMember(h);
  const a = first.memberId;
  const joinB = h.coordinator.join(joinRequest('', 'b'));
  const rejoinA = h.coordinator.join(joinRequest(a, 'a'));
  const [ja, jb] = await Promise.all([rejoinA, joinB]);
  expect(ja.generationId).toBe(2);
  expect(jb.generationId).toBe(2);
  const b = jb.memberId;
  const syncB = h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId: b, assignments: [] });
  const syncA = h.coordinator.sync(leaderSyncOfTwo(a, b));
  await Promise.all([syncA, syncB]);
  expect(h.coordinator.describeGroup(GROUP).state).toBe('Stable');
  return { a, b };
}

describe('group coordinator: joining and syncing', () => {
  it('names a first member, starts generation 1 with it as leader, and hands the leader every subscription', async () => {
    const h = harness();
    const joined = await h.coordinator.join(joinRequest('', 'alpha'));
    expect(joined.memberId).toBe('alpha-1');
    expect(joined.generationId).toBe(1);
    expect(joined.leaderId).toBe(joined.memberId);
    expect(joined.protocolName).toBe('range');
    expect(joined.members).toEqual([{ memberId: 'alpha-1', metadata: { topics: [TOPIC], ownedPartitions: [], generation: -1 } }]);
    expect(h.coordinator.describeGroup(GROUP).state).toBe('CompletingRebalance');
    // The generation was written before the member heard of it.
    expect(h.log.some((r) => r.type === 'group' && r.value?.generation === 1)).toBe(true);

    const synced = await h.coordinator.sync({ groupId: GROUP, generationId: 1, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: tps(0, 1) }] });
    expect(synced.assignment).toEqual(tps(0, 1));
    const described = h.coordinator.describeGroup(GROUP);
    expect(described.state).toBe('Stable');
    expect(described.generation).toBe(1);
    expect(described.members.map((m) => m.assignment)).toEqual([tps(0, 1)]);
  });

  it('rebalances two members: the newcomer waits for the old member to rejoin, only the leader sees the subscriptions', async () => {
    const h = harness();
    const first = await oneMember(h);
    const heartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: first.memberId }));
    const joinB = track(h.coordinator.join(joinRequest('', 'b', { protocols: [{ name: 'range', metadata: { topics: [TOPIC, 'other'], ownedPartitions: [], generation: -1 } }] })));
    await settle();
    // The parked heartbeat tells the old member at once; the newcomer waits for it.
    expect(heartbeat.error).toBeInstanceOf(RebalanceInProgressError);
    expect(joinB.done).toBe(false);
    expect(h.coordinator.describeGroup(GROUP).state).toBe('PreparingRebalance');

    const ja = await h.coordinator.join(joinRequest(first.memberId, 'a'));
    await settle();
    expect(joinB.done).toBe(true);
    const jb = joinB.value!;
    expect(ja.generationId).toBe(2);
    expect(jb.generationId).toBe(2);
    expect(ja.leaderId).toBe(first.memberId);
    expect(jb.leaderId).toBe(first.memberId);
    expect(ja.members.map((m) => m.memberId)).toEqual([first.memberId, jb.memberId]);
    expect(ja.members[1]?.metadata.topics).toEqual([TOPIC, 'other']);
    expect(jb.members).toEqual([]);

    // The follower's sync waits for the leader's assignment.
    const syncB = track(h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId: jb.memberId, assignments: [] }));
    await settle();
    expect(syncB.done).toBe(false);
    const syncA = await h.coordinator.sync(leaderSyncOfTwo(ja.memberId, jb.memberId));
    await settle();
    expect(syncA.assignment).toEqual(tps(0, 1));
    expect(syncB.value?.assignment).toEqual(tps(2, 3));
    expect(h.coordinator.describeGroup(GROUP)).toMatchObject({ state: 'Stable', generation: 2, leader: ja.memberId });
  });

  it('rejects a member whose assignors share none with the group', async () => {
    const h = harness();
    await oneMember(h);
    const odd = h.coordinator.join(joinRequest('', 'z', { protocols: [{ name: 'roundrobin', metadata: { topics: [TOPIC], ownedPartitions: [], generation: -1 } }] }));
    await expect(odd).rejects.toBeInstanceOf(InconsistentGroupProtocolError);
    expect(h.coordinator.describeGroup(GROUP).members).toHaveLength(1);
  });

  it('removes a member that does not rejoin before the rebalance deadline, and completes without it', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    const joinC = track(h.coordinator.join(joinRequest('', 'c')));
    const joinA = track(h.coordinator.join(joinRequest(a, 'a')));
    await settle();
    expect(joinA.done).toBe(false); // b has not rejoined yet
    // b stays alive (its heartbeats keep its session) but never rejoins.
    for (let t = 0; t < REBALANCE_MS - 1; t += 500) {
      await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b })).rejects.toBeInstanceOf(RebalanceInProgressError);
      h.advance(Math.min(500, REBALANCE_MS - 1 - t));
      await settle();
    }
    expect(joinA.done).toBe(false);
    h.advance(1);
    await settle();
    expect(joinA.value?.generationId).toBe(3);
    expect(joinC.value?.generationId).toBe(3);
    const members = h.coordinator.describeGroup(GROUP).members.map((m) => m.memberId);
    expect(members).toContain(a);
    expect(members).not.toContain(b);
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b })).rejects.toBeInstanceOf(UnknownMemberIdError);
  });
});

describe('group coordinator: heartbeats and sessions', () => {
  it('parks a heartbeat of a stable group until the wait is over', async () => {
    const h = harness();
    const joined = await oneMember(h);
    const heartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: joined.memberId }));
    await settle();
    h.advance(WAIT_MS - 1);
    await settle();
    expect(heartbeat.done).toBe(false);
    h.advance(1);
    await settle();
    expect(heartbeat.done).toBe(true);
    expect(heartbeat.error).toBeUndefined();
  });

  it('answers a parked heartbeat with RebalanceInProgressError as soon as a rebalance starts', async () => {
    const h = harness();
    const joined = await oneMember(h);
    const heartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: joined.memberId }));
    h.advance(10);
    await settle();
    expect(heartbeat.done).toBe(false);
    void h.coordinator.join(joinRequest('', 'b')).catch(() => undefined);
    await settle();
    expect(heartbeat.error).toBeInstanceOf(RebalanceInProgressError);
    // And so is every heartbeat until the member rejoins.
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: joined.memberId })).rejects.toBeInstanceOf(RebalanceInProgressError);
  });

  it('tells a member of an old generation, and a member it does not know', async () => {
    const h = harness();
    const { a } = await twoMembers(h);
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: a })).rejects.toBeInstanceOf(IllegalGenerationError);
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: 'nobody' })).rejects.toBeInstanceOf(UnknownMemberIdError);
  });

  it('expires a member that stops heartbeating, and rebalances the others', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    // a keeps heartbeating; b falls silent.
    let lastHeartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: a }));
    for (let t = 0; t < SESSION_MS; t += 100) {
      h.advance(100);
      await settle();
      if (lastHeartbeat.done) {
        expect(lastHeartbeat.error).toBeUndefined();
        lastHeartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: a }));
      }
    }
    expect(h.coordinator.describeGroup(GROUP).members.map((m) => m.memberId)).toEqual([a, b]);
    h.advance(100);
    await settle();
    expect(h.coordinator.describeGroup(GROUP).members.map((m) => m.memberId)).toEqual([a]);
    expect(lastHeartbeat.error).toBeInstanceOf(RebalanceInProgressError);
    const rejoined = await h.coordinator.join(joinRequest(a, 'a'));
    expect(rejoined.generationId).toBe(3);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([a]);
    await expect(h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId: b, assignments: [] })).rejects.toBeInstanceOf(UnknownMemberIdError);
  });

  it('starts a rebalance when a member leaves', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    const heartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: a }));
    h.coordinator.leave(GROUP, [b]);
    await settle();
    expect(heartbeat.error).toBeInstanceOf(RebalanceInProgressError);
    expect(h.coordinator.describeGroup(GROUP)).toMatchObject({ state: 'PreparingRebalance' });
    const rejoined = await h.coordinator.join(joinRequest(a, 'a'));
    expect(rejoined).toMatchObject({ generationId: 3, leaderId: a });
    expect(rejoined.members.map((m) => m.memberId)).toEqual([a]);
    expect(() => h.coordinator.leave(GROUP, [b])).toThrow(UnknownMemberIdError);
  });

  it('empties the group when its last member leaves, and keeps its offsets', async () => {
    const h = harness();
    const joined = await oneMember(h);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 1, memberId: joined.memberId, offsets: [{ topic: TOPIC, partition: 0, offset: 7 }] });
    h.coordinator.leave(GROUP, [joined.memberId]);
    await settle();
    expect(h.coordinator.describeGroup(GROUP)).toMatchObject({ state: 'Empty', members: [] });
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(7);
    expect(h.coordinator.listGroups()).toEqual([{ groupId: GROUP, protocolType: 'consumer', state: 'Empty' }]);
  });
});

describe('group coordinator: offsets', () => {
  it('stores a commit of the current generation and answers fetches with it (-1 for none)', async () => {
    const h = harness();
    const { a } = await twoMembers(h);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 1, offset: 42, metadata: 'm' }] });
    expect(h.coordinator.fetchOffsets(GROUP, tps(0, 1))).toEqual([
      { topic: TOPIC, partition: 0, offset: -1, metadata: null },
      { topic: TOPIC, partition: 1, offset: 42, metadata: 'm' },
    ]);
    expect(h.log.filter((r) => r.type === 'offset')).toHaveLength(1);
  });

  it('rejects a commit of a stale generation and keeps the committed offset', async () => {
    const h = harness();
    const { a } = await twoMembers(h);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 0, offset: 10 }] });
    await expect(
      h.coordinator.commitOffsets({ groupId: GROUP, generationId: 1, memberId: a, offsets: [{ topic: TOPIC, partition: 0, offset: 3 }] }),
    ).rejects.toBeInstanceOf(IllegalGenerationError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(10);
  });

  it('rejects a commit for a partition another member of the generation owns', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    await expect(
      h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: b, offsets: [{ topic: TOPIC, partition: 0, offset: 5 }] }),
    ).rejects.toBeInstanceOf(IllegalGenerationError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(-1);
    // Its owner may.
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 0, offset: 5 }] });
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(5);
  });

  it('rejects commits while the group waits for its assignment, accepts them while members rejoin', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    h.coordinator.leave(GROUP, [b]);
    // PreparingRebalance: members of the old generation may still commit what they give up.
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 1, offset: 9 }] });
    const rejoined = await h.coordinator.join(joinRequest(a, 'a'));
    expect(h.coordinator.describeGroup(GROUP).state).toBe('CompletingRebalance');
    await expect(
      h.coordinator.commitOffsets({ groupId: GROUP, generationId: rejoined.generationId, memberId: a, offsets: [{ topic: TOPIC, partition: 1, offset: 11 }] }),
    ).rejects.toBeInstanceOf(RebalanceInProgressError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(1))[0]?.offset).toBe(9);
  });

  it('rejects a standalone commit (generation -1, member "") on a group with members, accepts it on an empty one', async () => {
    const h = harness();
    const joined = await oneMember(h);
    const standalone = { groupId: GROUP, generationId: -1, memberId: '', offsets: [{ topic: TOPIC, partition: 0, offset: 4 }] };
    await expect(h.coordinator.commitOffsets(standalone)).rejects.toBeInstanceOf(UnknownMemberIdError);
    await expect(h.coordinator.commitOffsets(standalone, true)).rejects.toBeInstanceOf(NonEmptyGroupError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(-1);
    h.coordinator.leave(GROUP, [joined.memberId]);
    await settle();
    await h.coordinator.commitOffsets(standalone);
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(4);
    // A group nobody ever joined takes standalone commits too.
    await h.coordinator.commitOffsets({ ...standalone, groupId: 'solo' });
    expect(h.coordinator.fetchOffsets('solo', tps(0))[0]?.offset).toBe(4);
  });

  it('does not apply a commit whose write failed', async () => {
    const h = harness();
    const joined = await oneMember(h);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 1, memberId: joined.memberId, offsets: [{ topic: TOPIC, partition: 0, offset: 3 }] });
    h.failWrites = 1;
    await expect(
      h.coordinator.commitOffsets({ groupId: GROUP, generationId: 1, memberId: joined.memberId, offsets: [{ topic: TOPIC, partition: 0, offset: 8 }] }),
    ).rejects.toBeInstanceOf(RequestTimedOutError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(3);
  });
});

describe('group coordinator: admin', () => {
  it('refuses to delete a group with members, deletes an empty one with its offsets', async () => {
    const h = harness();
    const joined = await oneMember(h);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 1, memberId: joined.memberId, offsets: [{ topic: TOPIC, partition: 2, offset: 6 }] });
    await expect(h.coordinator.deleteGroup(GROUP)).rejects.toBeInstanceOf(NonEmptyGroupError);
    expect(h.coordinator.fetchOffsets(GROUP, tps(2))[0]?.offset).toBe(6);
    h.coordinator.leave(GROUP, [joined.memberId]);
    await settle();
    await h.coordinator.deleteGroup(GROUP);
    expect(h.coordinator.fetchOffsets(GROUP, tps(2))[0]?.offset).toBe(-1);
    expect(() => h.coordinator.describeGroup(GROUP)).toThrow(GroupIdNotFoundError);
    expect(h.coordinator.listGroups()).toEqual([]);
    await expect(h.coordinator.deleteGroup(GROUP)).rejects.toBeInstanceOf(GroupIdNotFoundError);
    // The deletion is in the log too: a coordinator that loads it knows nothing of the group.
    const next = harness({ load: h.log });
    expect(next.coordinator.listGroups()).toEqual([]);
    expect(next.coordinator.fetchOffsets(GROUP, tps(2))[0]?.offset).toBe(-1);
  });
});

describe('group coordinator: failover', () => {
  it('asks callers to wait until the log is loaded', async () => {
    const h = harness({ loaded: false });
    await expect(h.coordinator.join(joinRequest(''))).rejects.toBeInstanceOf(CoordinatorLoadInProgressError);
    expect(() => h.coordinator.fetchOffsets(GROUP, tps(0))).toThrow(CoordinatorLoadInProgressError);
    h.coordinator.load([]);
    expect((await h.coordinator.join(joinRequest(''))).generationId).toBe(1);
  });

  it('load() restores offsets and a stable group whose members heartbeat on without a rebalance', async () => {
    const old = harness();
    const { a, b } = await twoMembers(old);
    await old.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 0, offset: 17 }] });
    await old.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: b, offsets: [{ topic: TOPIC, partition: 3, offset: 23 }] });
    old.coordinator.close();

    const h = harness({ load: old.log, startAt: 60_000 });
    expect(h.coordinator.fetchOffsets(GROUP, tps(0, 1, 3)).map((c) => c.offset)).toEqual([17, -1, 23]);
    const described = h.coordinator.describeGroup(GROUP);
    expect(described).toMatchObject({ state: 'Stable', generation: 2, leader: a, protocol: 'range' });
    expect(described.members.map((m) => [m.memberId, m.assignment])).toEqual([
      [a, tps(0, 1)],
      [b, tps(2, 3)],
    ]);

    // Both keep heartbeating across two session timeouts: no rebalance, nobody expires.
    for (let round = 0; round < 6; round++) {
      const beats = [a, b].map((memberId) => track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId })));
      h.advance(WAIT_MS);
      await settle();
      for (const beat of beats) {
        expect(beat.done).toBe(true);
        expect(beat.error).toBeUndefined();
      }
    }
    expect(h.coordinator.describeGroup(GROUP)).toMatchObject({ state: 'Stable', generation: 2 });
    // The restored assignment still guards the offsets.
    await expect(
      h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: b, offsets: [{ topic: TOPIC, partition: 0, offset: 1 }] }),
    ).rejects.toBeInstanceOf(IllegalGenerationError);
    await h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [{ topic: TOPIC, partition: 0, offset: 18 }] });
    expect(h.coordinator.fetchOffsets(GROUP, tps(0))[0]?.offset).toBe(18);
  });

  it('load() of a group stored mid-rebalance makes its members rejoin, and never reuses its generation', async () => {
    const old = harness();
    const first = await oneMember(old);
    // b joins; a rejoins; generation 2 is written, but nobody syncs before the failover.
    const joins = Promise.all([old.coordinator.join(joinRequest('', 'b')), old.coordinator.join(joinRequest(first.memberId, 'a'))]);
    const [jb] = await joins;
    old.coordinator.close();

    const h = harness({ load: old.log });
    expect(h.coordinator.describeGroup(GROUP)).toMatchObject({ state: 'PreparingRebalance', generation: 2 });
    await expect(h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId: jb.memberId, assignments: [] })).rejects.toBeInstanceOf(RebalanceInProgressError);
    const [ra, rb] = await Promise.all([h.coordinator.join(joinRequest(first.memberId, 'a')), h.coordinator.join(joinRequest(jb.memberId, 'b'))]);
    expect(ra.generationId).toBe(3);
    expect(rb.generationId).toBe(3);
  });

  it('close() answers every parked request with NotCoordinatorError, and every later one too', async () => {
    const h = harness();
    const { a, b } = await twoMembers(h);
    const heartbeatB = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b }));
    const joinC = track(h.coordinator.join(joinRequest('', 'c'))); // parked: a and b have not rejoined
    const joinA = track(h.coordinator.join(joinRequest(a, 'a')));
    await settle();
    expect(heartbeatB.error).toBeInstanceOf(RebalanceInProgressError);
    const heartbeatB2 = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b }));
    await settle();
    expect(joinC.done || joinA.done).toBe(false);
    h.coordinator.close();
    await settle();
    expect(joinC.error).toBeInstanceOf(NotCoordinatorError);
    expect(joinA.error).toBeInstanceOf(NotCoordinatorError);
    expect(heartbeatB2.error).toBeInstanceOf(RebalanceInProgressError);
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: b })).rejects.toBeInstanceOf(NotCoordinatorError);
    await expect(h.coordinator.commitOffsets({ groupId: GROUP, generationId: 2, memberId: a, offsets: [] })).rejects.toBeInstanceOf(NotCoordinatorError);
    expect(() => h.coordinator.fetchOffsets(GROUP)).toThrow(NotCoordinatorError);
    expect(h.coordinator.listGroups()).toEqual([]);
  });

  it('close() answers a parked heartbeat and a parked sync with NotCoordinatorError', async () => {
    const h = harness();
    const first = await oneMember(h);
    const heartbeat = track(h.coordinator.heartbeat({ groupId: GROUP, generationId: 1, memberId: first.memberId }));
    const other = harness();
    const joined = await other.coordinator.join(joinRequest('', 'x'));
    const follower = other.coordinator.join(joinRequest('', 'y'));
    const rejoined = await other.coordinator.join(joinRequest(joined.memberId, 'x'));
    const jy = await follower;
    const sync = track(other.coordinator.sync({ groupId: GROUP, generationId: rejoined.generationId, memberId: jy.memberId, assignments: [] }));
    await settle();
    expect(heartbeat.done).toBe(false);
    expect(sync.done).toBe(false);
    h.coordinator.close();
    other.coordinator.close();
    await settle();
    expect(heartbeat.error).toBeInstanceOf(NotCoordinatorError);
    expect(sync.error).toBeInstanceOf(NotCoordinatorError);
  });
});

describe('group coordinator: failed writes', () => {
  it('a failed write of the new generation fails the joins; the members rejoin into a later generation', async () => {
    const h = harness();
    h.failWrites = 1;
    await expect(h.coordinator.join(joinRequest('', 'a'))).rejects.toBeInstanceOf(RequestTimedOutError);
    const described = h.coordinator.describeGroup(GROUP);
    expect(described.state).toBe('PreparingRebalance');
    const memberId = described.members[0]!.memberId;
    // The member is known (it rejoins with its id); the generation it never heard of is skipped.
    const rejoined = await h.coordinator.join(joinRequest(memberId, 'a'));
    expect(rejoined).toMatchObject({ memberId, generationId: 2 });
    const synced = await h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId, assignments: [{ memberId, assignment: tps(0) }] });
    expect(synced.assignment).toEqual(tps(0));
    expect(h.coordinator.describeGroup(GROUP).state).toBe('Stable');
  });

  it('a failed write of the assignment fails the syncs and starts a rebalance: heartbeats say rejoin', async () => {
    const h = harness();
    const first = await oneMember(h);
    const joinB = h.coordinator.join(joinRequest('', 'b'));
    const ja = await h.coordinator.join(joinRequest(first.memberId, 'a'));
    const jb = await joinB;
    const syncB = track(h.coordinator.sync({ groupId: GROUP, generationId: 2, memberId: jb.memberId, assignments: [] }));
    h.failWrites = 1;
    const syncA = track(h.coordinator.sync(leaderSyncOfTwo(ja.memberId, jb.memberId)));
    await settle();
    expect(syncA.error).toBeInstanceOf(RequestTimedOutError);
    expect(syncB.error).toBeInstanceOf(RequestTimedOutError);
    const described = h.coordinator.describeGroup(GROUP);
    expect(described.state).toBe('PreparingRebalance');
    expect(described.members.every((m) => m.assignment.length === 0)).toBe(true);
    await expect(h.coordinator.heartbeat({ groupId: GROUP, generationId: 2, memberId: jb.memberId })).rejects.toBeInstanceOf(RebalanceInProgressError);
    // The members are still the group's: they rejoin (with their ids) into generation 3.
    const [ra, rb] = await Promise.all([h.coordinator.join(joinRequest(ja.memberId, 'a')), h.coordinator.join(joinRequest(jb.memberId, 'b'))]);
    expect(ra.generationId).toBe(3);
    expect(rb.generationId).toBe(3);
  });
});

// Found by the group simulation (seeds 38, 86, 97, ... before the fixes).
describe('group coordinator regressions', () => {
  it('a member whose join waited longer than its session timeout is not expired as the join completes', async () => {
    const h = harness();
    const c = h.coordinator;
    const req = (memberId: string, clientId: string) => joinRequest(memberId, clientId, { sessionTimeoutMs: 3000, rebalanceTimeoutMs: 10_000 });
    const a = await c.join(req('', 'a'));
    await c.sync({ groupId: GROUP, generationId: 1, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: [] }] });
    const joinB = c.join(req('', 'b')).then((r) => r, (e: unknown) => e); // parked until a rejoins or goes
    // a falls silent; b's join keeps it in the group meanwhile. At 3100 ms a's session is over.
    for (let step = 0; step < 31; step++) h.advance(100);
    const answer = await joinB;
    // b is the only member left: its join must complete generation 2 with b leading.
    expect(answer).toMatchObject({ generationId: 2, memberId: 'b-2', leaderId: 'b-2' });
    expect(c.describeGroup(GROUP).members.map((m) => m.memberId)).toEqual(['b-2']);
  });

  it('a leader that never syncs is removed at the deadline; the members that did sync stay and rejoin', async () => {
    const h = harness();
    const c = h.coordinator;
    const req = (memberId: string, clientId: string) => joinRequest(memberId, clientId, { sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 5000 });
    const a = await c.join(req('', 'a'));
    await c.sync({ groupId: GROUP, generationId: 1, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: [] }] });
    const joinB = c.join(req('', 'b'));
    await c.join(req(a.memberId, 'a')); // generation 2, a leads
    const b = await joinB;
    const syncB = c.sync({ groupId: GROUP, generationId: 2, memberId: b.memberId, assignments: [] }).catch((e: unknown) => e);
    // The leader a never syncs.
    h.advance(5000);
    expect(await syncB).toBeInstanceOf(RebalanceInProgressError);
    expect(c.describeGroup(GROUP).members.map((m) => m.memberId)).toEqual([b.memberId]);
    const rejoined = await c.join(req(b.memberId, 'b'));
    expect(rejoined.generationId).toBe(3);
  });

  it('admits a joining member only if it supports a protocol every member supports', async () => {
    const c = harness().coordinator;
    const req = (memberId: string, clientId: string, names: string[]) =>
      joinRequest(memberId, clientId, { protocols: names.map((name) => ({ name, metadata: { topics: [TOPIC], ownedPartitions: [], generation: -1 } })) });
    const a = await c.join(req('', 'a', ['range', 'roundrobin']));
    const jb = c.join(req('', 'b', ['roundrobin', 'cooperative-sticky']));
    // c shares range with a and cooperative-sticky with b, but no protocol with both.
    const jc = c.join(req('', 'c', ['cooperative-sticky', 'range'])).then((r) => r, (e: unknown) => e);
    const ja = c.join(req(a.memberId, 'a', ['range', 'roundrobin']));
    expect(await Promise.race([jc, new Promise((resolve) => setImmediate(() => resolve('parked')))])).toBeInstanceOf(InconsistentGroupProtocolError);
    // a and b go on with the protocol they share.
    const answers = await Promise.all([ja, jb]);
    expect(answers.map((x) => x.protocolName)).toEqual(['roundrobin', 'roundrobin']);
  });
});
