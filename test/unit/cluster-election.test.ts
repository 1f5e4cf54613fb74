import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ControllerElection, DEFAULT_FOUNDING_PATIENCE_MS } from '../../src/cluster/controller-election';
import type { ElectionPersistedState } from '../../src/cluster/controller-election';
import type { ClusterView } from '../../src/cluster/cluster-view';
import { MAX_EPOCH } from '../../src/cluster/election-messages';
import { ManualCluster } from '../sim/manual-cluster';

const SESSION = 1500;

/** Every running broker follows `id`, and `id` is active. */
function expectController(cluster: ManualCluster, id: number): void {
  expect(cluster.machine(id).isActiveController).toBe(true);
  for (const broker of cluster.running()) expect(cluster.machine(broker).controllerId, `broker ${broker}`).toBe(id);
}

/** A cluster of `ids` that has elected and admitted everyone. */
function formed(...ids: number[]): ManualCluster {
  const cluster = new ManualCluster();
  cluster.start(...ids).runFor(3000);
  return cluster;
}

function view(epoch: number, seq: number, members: number[]): ClusterView {
  return { epoch, seq, members };
}

describe('ControllerElection', () => {
  it('three brokers elect the highest id', () => {
    const cluster = formed(1, 2, 3);
    expectController(cluster, 3);
    for (const id of [1, 2, 3]) expect(cluster.machine(id).knownBrokers).toEqual([1, 2, 3]);
    // Nobody else ever claimed: the lower ones deferred to the highest instead of racing it.
    expect(cluster.events.filter((e) => e.event.type === 'becameController').map((e) => e.broker)).toEqual([3]);
  });

  it('after the controller dies, the next highest takes over with a higher epoch', () => {
    const cluster = formed(1, 2, 3);
    const before = cluster.machine(3).epoch;
    const diedAt = cluster.now;
    cluster.crash(3, { notify: true }).runFor(SESSION);
    expectController(cluster, 2);
    expect(cluster.machine(2).epoch).toBeGreaterThan(before);
    // A closed channel is immediate suspicion: no waiting out the session timeout.
    const tookOver = cluster.eventsOf(2, 'becameController')[0];
    expect(tookOver!.time - diedAt).toBeLessThan(SESSION / 2);
  });

  it('a silently dead controller is replaced once the session timeout passes', () => {
    const cluster = formed(1, 2, 3);
    const diedAt = cluster.now;
    cluster.crash(3, { notify: false }).runFor(4 * SESSION);
    expectController(cluster, 2);
    const tookOver = cluster.eventsOf(2, 'becameController')[0]!.time - diedAt;
    expect(tookOver).toBeGreaterThanOrEqual(SESSION - 250);
    expect(tookOver).toBeLessThan(2 * SESSION);
  });

  it('a higher id joining later takes over cleanly', () => {
    const cluster = formed(1, 2, 3);
    const oldEpoch = cluster.machine(3).epoch;
    let mostActiveAtOnce = 0;
    cluster.onStep((c) => {
      mostActiveAtOnce = Math.max(mostActiveAtOnce, c.activeControllers().length);
    });
    cluster.start(5).runFor(4000);
    expectController(cluster, 5);
    expect(cluster.machine(5).epoch).toBeGreaterThan(oldEpoch);
    expect(cluster.machine(1).knownBrokers).toEqual([1, 2, 3, 5]);
    // Clean: the old controller stepped down when it acknowledged the new one, so there was
    // never a moment with two active controllers.
    expect(mostActiveAtOnce).toBe(1);
    expect(cluster.eventsOf(3, 'resignedController').map((e) => e.event)).toEqual([
      { type: 'resignedController', epoch: oldEpoch, reason: 'takeover' },
    ]);
  });

  it('a returning higher id takes over again from its stored state', () => {
    const cluster = formed(1, 2, 3);
    cluster.crash(3, { notify: true }).runFor(2000);
    expectController(cluster, 2);
    const epochOf2 = cluster.machine(2).epoch;
    cluster.start(3).runFor(3000);
    expectController(cluster, 3);
    expect(cluster.machine(3).epoch).toBeGreaterThan(epochOf2);
  });

  it('ignores a COORDINATOR or controller heartbeat with a lower epoch', () => {
    const cluster = formed(1, 2, 3);
    cluster.crash(3, { notify: true }).runFor(2000).start(3).runFor(3000);
    const follower = cluster.machine(1);
    const epoch = follower.epoch;
    expect(epoch).toBeGreaterThanOrEqual(2);
    const stale = view(1, 0, [1, 2, 3, 9]);
    const claim = cluster.input(1, { type: 'message', from: 9, message: { type: 'COORDINATOR', epoch: epoch - 1, view: stale, ts: 0 } });
    expect(claim.send).toContainEqual({
      to: 9,
      message: expect.objectContaining({ type: 'COORDINATOR_ACK', candidateEpoch: epoch - 1, granted: false }),
    });
    expect(claim.persist).toBeNull();
    const heartbeat = cluster.input(1, {
      type: 'message',
      from: 9,
      message: { type: 'HEARTBEAT', epoch: epoch - 1, controllerId: 9, view: stale, ts: 0, echo: null },
    });
    expect(heartbeat.persist).toBeNull();
    expect(follower.epoch).toBe(epoch);
    expect(follower.controllerId).toBe(3);
  });

  it('the minority side of a split has no active controller', () => {
    const cluster = formed(1, 2, 3, 4, 5);
    cluster.onStep((c) => {
      // Two working controllers at once would be split brain; the old one must stop first.
      expect(c.activeControllers().length).toBeLessThanOrEqual(1);
    });
    cluster.partition([4, 5], [1, 2, 3]).runFor(4 * SESSION);
    expect(cluster.machine(5).isActiveController).toBe(false);
    expect(cluster.machine(4).isActiveController).toBe(false);
    expect(cluster.eventsOf(5, 'resignedController').at(-1)?.event).toMatchObject({ reason: 'lostMajority' });
    expectMajoritySide(cluster, [1, 2, 3], 3);
    cluster.heal().runFor(4 * SESSION);
    expectController(cluster, 5);
  });

  it('a controller that hears its peers but is not heard back steps down', () => {
    const cluster = formed(1, 2, 3);
    // Asymmetric: 3's messages are lost, the others' still reach it.
    cluster.cut(3, 1).cut(3, 2).runFor(4 * SESSION);
    expect(cluster.machine(3).isActiveController).toBe(false);
    expect(cluster.machine(2).isActiveController).toBe(true);
  });

  it('rejects malformed messages without throwing and without changing state', () => {
    const cluster = formed(1, 2, 3);
    const follower = cluster.machine(2);
    const before = JSON.stringify(follower.persistedState);
    const junk: unknown[] = [
      undefined,
      null,
      'COORDINATOR',
      [1, 2],
      { type: 'COORDINATOR' },
      { type: 'COORDINATOR', epoch: 99, view: { epoch: 0, seq: 0, members: [3, 1] }, ts: 0 },
      { type: 'COORDINATOR', epoch: 99, view: { epoch: 0, seq: 0, members: [1, 1] }, ts: 0 },
      { type: 'COORDINATOR', epoch: 2 ** 31, view: { epoch: 0, seq: 0, members: [1] }, ts: 0 },
      { type: 'HEARTBEAT', epoch: 99, controllerId: 9, view: { epoch: 99, seq: 0, members: [9] }, ts: 'now', echo: null },
      { type: 'COORDINATOR_ACK', epoch: 1, candidateEpoch: 1, granted: 1, view: { epoch: 0, seq: 0, members: [] }, echo: 0, logEnd: { epoch: 0, offset: 0 } },
      { type: 'LEAVE', epoch: 1, ts: Number.POSITIVE_INFINITY },
      { type: '__proto__', epoch: 1 },
    ];
    for (const message of junk) {
      const output = cluster.input(2, { type: 'message', from: 9, message });
      expect(output.events.map((e) => e.type)).toContain('messageRejected');
      expect(output.persist).toBeNull();
    }
    // A frame claiming to come from the broker itself, or from no broker at all.
    expect(cluster.input(2, { type: 'message', from: 2, message: { type: 'ELECTION', epoch: 1 } }).events).toContainEqual(
      expect.objectContaining({ type: 'messageRejected' }),
    );
    expect(cluster.input(2, { type: 'message', from: -1, message: { type: 'ELECTION', epoch: 1 } }).events).toContainEqual(
      expect.objectContaining({ type: 'messageRejected' }),
    );
    expect(JSON.stringify(follower.persistedState)).toBe(before);
    expect(follower.controllerId).toBe(3);
  });

  it('never throws out of handle, whatever a peer sends', () => {
    const machine = new ControllerElection({ brokerId: 4 });
    machine.handle({ type: 'start' }, 0);
    let now = 0;
    fc.assert(
      fc.property(fc.oneof(fc.anything(), arbitraryFrame()), fc.integer({ min: 0, max: 10 }), (message, from) => {
        now += 10;
        machine.handle({ type: 'message', from, message }, now);
      }),
      { numRuns: 500 },
    );
  });

  it('after two clean leaves, the remaining three still elect, and forget the leavers', () => {
    const cluster = formed(1, 2, 3, 4, 5);
    cluster.leave(5).leave(4).runFor(2000);
    expectController(cluster, 3);
    cluster.runFor(1000);
    for (const id of [1, 2, 3]) expect(cluster.machine(id).knownBrokers).toEqual([1, 2, 3]);
    // With 4 and 5 forgotten, two of three is a majority: losing one more broker is survivable.
    cluster.crash(2, { notify: false }).runFor(4 * SESSION);
    expectController(cluster, 3);
  });

  it('a controller whose only other member leaves stays the controller of a view of one', () => {
    const cluster = formed(1, 2, 3);
    cluster.leave(2).runFor(2000);
    expectController(cluster, 3);
    cluster.leave(1).runFor(3 * SESSION);
    expectController(cluster, 3);
    expect(cluster.machine(3).knownBrokers).toEqual([3]);
    expect(cluster.eventsOf(3, 'resignedController')).toEqual([]);
  });

  it('a crashed broker stays known, so losing most of the cluster stops elections', () => {
    const cluster = formed(1, 2, 3, 4, 5);
    cluster.crash(5, { notify: true }).crash(4, { notify: true }).crash(3, { notify: true }).runFor(4 * SESSION);
    expect(cluster.activeControllers()).toEqual([]);
    expect(cluster.machine(2).knownBrokers).toEqual([1, 2, 3, 4, 5]);
    cluster.start(4).runFor(3000);
    expectController(cluster, 4);
  });

  it('two clusters founded apart (a documented hazard) merge into one when they meet', () => {
    const cluster = new ManualCluster();
    cluster.partition([1, 2], [3, 4]);
    cluster.start(1, 2, 3, 4).runFor(3000);
    // Neither side could know of the other: each founded a cluster, both in epoch 1.
    expect(cluster.activeControllers()).toEqual([2, 4]);
    expect(cluster.machine(2).epoch).toBe(cluster.machine(4).epoch);
    cluster.heal().runFor(4 * SESSION);
    expectController(cluster, 4);
    for (const id of [1, 2, 3, 4]) expect(cluster.machine(id).knownBrokers).toEqual([1, 2, 3, 4]);
  });

  it('a broker waits for a higher broker that discovery named, instead of founding a cluster beside it', () => {
    const cluster = new ManualCluster();
    // Discovery named them to each other, but their channel is slow to come up.
    cluster.partition([1], [2]).start(1, 2);
    cluster.input(1, { type: 'peerAnnounced', id: 2 });
    cluster.input(2, { type: 'peerAnnounced', id: 1 });
    cluster.runFor(3000);
    expect(cluster.activeControllers()).toEqual([2]);
    expect(cluster.machine(1).knownBrokers).toEqual([]);
    cluster.heal().runFor(4 * SESSION);
    expectController(cluster, 2);
    expect(cluster.machine(1).knownBrokers).toEqual([1, 2]);
    expect(cluster.eventsOf(1, 'becameController')).toEqual([]);
  });

  it('founds alone once an announced higher broker has not come up within the founding patience', () => {
    const cluster = new ManualCluster();
    cluster.partition([1], [2]).start(1);
    cluster.input(1, { type: 'peerAnnounced', id: 2 });
    cluster.runFor(DEFAULT_FOUNDING_PATIENCE_MS - 100);
    expect(cluster.activeControllers()).toEqual([]);
    cluster.runFor(200);
    expect(cluster.activeControllers()).toEqual([1]);
    expect(cluster.machine(1).knownBrokers).toEqual([1]);
  });

  it('a controller still copying the metadata changes no view of three: it neither removes a leaver nor admits a newcomer', () => {
    let metadataReady = true;
    const cluster = new ManualCluster({ metadataReady: () => metadataReady });
    cluster.start(1, 2, 3).runFor(3000);
    expect(cluster.machine(3).knownBrokers).toEqual([1, 2, 3]);
    // 3 restarts and wins again, but has not copied its voters' newest log yet.
    metadataReady = false;
    cluster.crash(3, { notify: true }).runFor(100).start(3).runFor(3000);
    expectController(cluster, 3);
    cluster.start(4).runFor(1000);
    expect(cluster.machine(3).knownBrokers).toEqual([1, 2, 3]);
    cluster.leave(1).runFor(1000);
    expect(cluster.machine(3).knownBrokers).toEqual([1, 2, 3]);
  });

  it('a controller of a view of two still copying the metadata removes the other when it leaves, so it can go on alone', () => {
    let metadataReady = true;
    const cluster = new ManualCluster({ metadataReady: () => metadataReady });
    cluster.start(2, 3).runFor(3000);
    metadataReady = false;
    cluster.crash(3, { notify: true }).runFor(100).start(3).runFor(3000);
    expectController(cluster, 3);
    cluster.leave(2).runFor(1000);
    expect(cluster.machine(3).knownBrokers).toEqual([3]);
  });

  it('a broker that left after a failed candidacy, with a higher epoch than the controller, is admitted again when it returns', () => {
    // Held means "follows the controller", as a metadata fetch only goes to the controller one follows.
    const cluster: ManualCluster = new ManualCluster({
      heldByMajorityOf: (members) => members.filter((id) => cluster.running().includes(id) && cluster.machine(id).controllerId === 3).length * 2 > members.length,
    });
    cluster.start(1, 2, 3).runFor(3000);
    expectController(cluster, 3);
    // 2's page is closing: its link to 3 goes first, so 2 stands in epoch 2 with only 1 in
    // reach (1 refuses: it follows a live 3). Then its goodbye, stamped before, reaches 3.
    cluster.cut(2, 3).cut(3, 2);
    cluster.input(2, { type: 'peerDown', id: 3 });
    cluster.runFor(100);
    expect(cluster.stored(2)?.epoch).toBe(2);
    expect(cluster.machine(3).epoch).toBe(1);
    cluster.input(3, { type: 'message', from: 2, message: { type: 'LEAVE', epoch: 1, ts: cluster.now } });
    cluster.crash(2, { notify: true }).runFor(1000);
    cluster.leave(1).runFor(1000);
    expect(cluster.machine(3).knownBrokers).toEqual([3]);

    cluster.heal().start(2).runFor(4 * SESSION);
    expectController(cluster, 3);
    expect(cluster.machine(3).epoch).toBeGreaterThan(2);
    expect(cluster.machine(3).knownBrokers).toEqual([2, 3]);
  });

  it('claims above a returning non-member that holds its view and a higher epoch, but never steps down for one at the last epoch', () => {
    const returning = (epoch: number) => {
      const cluster = new ManualCluster();
      cluster.start(3).runFor(3000);
      expectController(cluster, 3);
      const machine = cluster.machine(3);
      const greeting = cluster.input(3, { type: 'peerUp', id: 2 }).send.find((s) => s.to === 2)!.message as { ts: number };
      cluster.input(3, {
        type: 'message',
        from: 2,
        message: { type: 'HEARTBEAT', epoch, controllerId: null, view: machine.persistedState.view, ts: 1, echo: greeting.ts },
      });
      cluster.runFor(100);
      return { resigned: cluster.eventsOf(3, 'resignedController').map((e) => e.event), machine };
    };
    const fenced = returning(5);
    expect(fenced.resigned).toEqual([{ type: 'resignedController', epoch: 1, reason: 'higherEpoch' }]);
    expect(fenced.machine.isActiveController).toBe(true);
    expect(fenced.machine.epoch).toBe(6);
    const last = returning(MAX_EPOCH);
    expect(last.resigned).toEqual([]);
    expect(last.machine.epoch).toBe(1);
  });

  it('admits one broker at a time, each only once a majority holds the previous view', () => {
    const cluster = formed(10, 20, 30);
    let largest = 0;
    cluster.onStep((c) => {
      for (const id of c.running()) {
        const members = c.machine(id).knownBrokers;
        // Both newcomers in one view while 10 and 20 never saw the first one added would let
        // {30, 1, 2} and {10, 20} each form a majority of their own view.
        if (members.includes(1) && members.includes(2)) largest = Math.max(largest, members.length);
      }
    });
    cluster.partition([10, 20], [30, 1, 2]);
    cluster.start(1, 2).runFor(4 * SESSION);
    expect(largest).toBe(0);
    expect(cluster.machine(30).knownBrokers.filter((id) => id < 10).length).toBeLessThanOrEqual(1);
    expect(cluster.machine(30).isActiveController).toBe(false);
    expectMajoritySide(cluster, [10, 20], 20);
    cluster.heal().runFor(4 * SESSION);
    expectController(cluster, 30);
    expect(cluster.machine(30).knownBrokers).toEqual([1, 2, 10, 20, 30]);
  });

  it('a restarted broker keeps its vote: it never acknowledges two claims in one epoch', () => {
    const first = new ControllerElection({ brokerId: 1, persisted: { epoch: 4, votedFor: 7, view: view(4, 0, [1, 7, 8]) } });
    first.handle({ type: 'start' }, 0);
    const members = view(4, 0, [1, 7, 8]);
    const granted = first.handle({ type: 'message', from: 7, message: { type: 'COORDINATOR', epoch: 5, view: members, ts: 1 } }, 10);
    expect(granted.persist).toEqual({ epoch: 5, votedFor: 7, view: members });
    const restarted = new ControllerElection({ brokerId: 1, persisted: granted.persist as ElectionPersistedState });
    restarted.handle({ type: 'start' }, 20);
    const second = restarted.handle({ type: 'message', from: 8, message: { type: 'COORDINATOR', epoch: 5, view: members, ts: 2 } }, 30);
    expect(second.send).toContainEqual({ to: 8, message: expect.objectContaining({ granted: false, candidateEpoch: 5 }) });
    expect(restarted.epoch).toBe(5);
  });

  it('refuses a claim whose view is older than its own', () => {
    const machine = new ControllerElection({ brokerId: 1, persisted: { epoch: 3, votedFor: 2, view: view(3, 1, [1, 2, 3, 4]) } });
    machine.handle({ type: 'start' }, 0);
    const out = machine.handle(
      { type: 'message', from: 3, message: { type: 'COORDINATOR', epoch: 4, view: view(3, 0, [1, 2, 3]), ts: 5 } },
      10,
    );
    expect(out.send).toContainEqual({
      to: 3,
      message: expect.objectContaining({ type: 'COORDINATOR_ACK', granted: false, view: view(3, 1, [1, 2, 3, 4]) }),
    });
    expect(machine.epoch).toBe(3);
  });

  it('a cut-off controller steps down within one session of its last round trip', () => {
    const cluster = formed(1, 2, 3);
    const cutAt = cluster.now;
    cluster.partition([3], [1, 2]).runFor(2 * SESSION);
    const resigned = cluster.eventsOf(3, 'resignedController')[0]!.time;
    // Its last round trips started before the cut (heartbeats go every 250 ms each way), and
    // it asked to be woken when they went stale rather than noticing at some later tick.
    expect(resigned).toBeLessThanOrEqual(cutAt + SESSION);
    expect(resigned).toBeGreaterThan(cutAt + SESSION - 600);
  });

  it('rejects a configuration that could not work', () => {
    expect(() => new ControllerElection({ brokerId: -1 })).toThrow(RangeError);
    expect(() => new ControllerElection({ brokerId: 1, heartbeatIntervalMs: 2000, sessionTimeoutMs: 1500 })).toThrow(RangeError);
    expect(() => new ControllerElection({ brokerId: 1, electionTimeoutMs: 1500, sessionTimeoutMs: 1500 })).toThrow(RangeError);
  });
});

/** On `side`, `highest` is active and followed by the rest of `side`. */
function expectMajoritySide(cluster: ManualCluster, side: number[], highest: number): void {
  expect(cluster.machine(highest).isActiveController).toBe(true);
  for (const id of side) expect(cluster.machine(id).controllerId).toBe(highest);
}

/** Frames that look almost right: real types with fields of random shapes. */
function arbitraryFrame(): fc.Arbitrary<unknown> {
  const number = fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 31), fc.constant(-1));
  const members = fc.oneof(fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 6 }), fc.anything());
  const viewish = fc.record({ epoch: number, seq: number, members }, { requiredKeys: [] });
  return fc.record(
    {
      type: fc.constantFrom('HEARTBEAT', 'ELECTION', 'ANSWER', 'COORDINATOR', 'COORDINATOR_ACK', 'LEAVE', 'X'),
      epoch: number,
      controllerId: fc.oneof(fc.constant(null), number),
      view: fc.oneof(viewish, fc.anything()),
      ts: number,
      echo: fc.oneof(fc.constant(null), number),
      candidateEpoch: number,
      granted: fc.oneof(fc.boolean(), fc.anything()),
    },
    { requiredKeys: ['type'] },
  );
}
