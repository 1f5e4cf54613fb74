import { describe, expect, it } from 'vitest';
import { ClusterMember } from '../../src/cluster/cluster-member';
import type { Channel, ClusterEvent, ClusterInput, ClusterMemberConfig, ClusterOutput } from '../../src/cluster/cluster-member';
import type { ElectionPersistedState } from '../../src/cluster/controller-election';
import type { MetadataEntry } from '../../src/cluster/metadata-quorum-messages';
import { EventQueue } from '../sim/event-queue';
import { Prng } from '../sim/prng';

// Tabs that open at once may not reach each other before their startup grace runs out (a
// WebRTC connection on a busy machine can take longer): each founds a cluster of its own, all
// in epoch 1. When they meet they must end as one cluster with one metadata log. Before, the
// merged brokers kept the other founding's committed entries and appended the winner's after
// them (their epochs matched), so their images refused the winner's records and a topic
// created on the merged cluster never reached them (seen in the dashboard spec).

type Pending =
  | { readonly kind: 'deliver'; readonly from: number; readonly to: number; readonly incarnation: number; readonly channel: Channel; readonly message: unknown }
  | { readonly kind: 'tick'; readonly id: number; readonly token: number };

const DELAY_MS = 5;
/**
 * `MERGE_SEEDS=3000 npx vitest run test/unit/cluster-founded-apart.test.ts` runs more (all
 * pass), and MERGE_TRACE=1 prints a failing seed's cluster events. Always run too: seed 422,
 * where two brokers admitted one after the other before either had copied the log outvoted
 * the one that held it and elected a controller without it (now a view changes only to one a
 * majority of which holds the committed log), and 2457, which a stricter rule (admit only
 * brokers that caught up) deadlocked.
 */
const MERGE_SEEDS = Number(process.env['MERGE_SEEDS'] ?? 200);
const KEPT_SEEDS = [422, 2457];

class MemberCluster {
  now = 0;
  /** One-way delay of each message; links stay in order, as data channels are. */
  delayMs: (from: number, to: number, channel: Channel) => number = () => DELAY_MS;
  private readonly linkClear = new Map<string, number>();
  readonly events: { readonly time: number; readonly broker: number; readonly event: ClusterEvent }[] = [];
  private readonly members = new Map<number, ClusterMember>();
  private readonly wakes = new Map<number, number>();
  private readonly queue = new EventQueue<Pending>();
  private readonly sides: number[][] = [];
  private seed = 1;
  /** What each broker's storage holds, written as its outputs say. */
  private readonly storage = new Map<number, { election: ElectionPersistedState | null; entries: MetadataEntry[]; highWatermark: number }>();
  private readonly incarnations = new Map<number, number>();

  member(id: number): ClusterMember {
    const member = this.members.get(id);
    if (!member) throw new Error(`no broker ${id}`);
    return member;
  }

  ids(): number[] {
    return [...this.members.keys()].sort((a, b) => a - b);
  }

  partition(...sides: number[][]): this {
    this.sides.splice(0, this.sides.length, ...sides);
    return this;
  }

  start(...ids: number[]): this {
    for (const id of ids) this.boot(id);
    this.connectReachable(ids);
    return this;
  }

  /** The broker stops dead; its peers see its channels close. */
  crash(id: number): this {
    this.members.delete(id);
    this.incarnations.set(id, (this.incarnations.get(id) ?? 0) + 1);
    for (const peer of this.ids()) if (this.reachable(id, peer)) this.input(peer, { type: 'peerDown', id });
    return this;
  }

  /** A clean shutdown: the broker says LEAVE, then goes. */
  leave(id: number): this {
    this.input(id, { type: 'leave' });
    this.members.delete(id);
    this.incarnations.set(id, (this.incarnations.get(id) ?? 0) + 1);
    return this;
  }

  /** A crashed broker comes back from its storage. */
  restart(id: number): this {
    const stored = this.storage.get(id);
    return this.restore(id, stored ? { election: stored.election, entries: [...stored.entries], highWatermark: stored.highWatermark } : undefined);
  }

  /** What the broker's storage holds now. */
  stored(id: number) {
    return this.storage.get(id);
  }

  /** Starts a broker whose storage holds `persisted`. */
  restore(id: number, persisted: ClusterMemberConfig['persisted']): this {
    this.boot(id, persisted);
    this.connectReachable([id]);
    return this;
  }

  /** `at` alone sees its channel to `peer` close (the other end hears nothing yet). */
  channelClosed(at: number, peer: number): this {
    this.input(at, { type: 'peerDown', id: peer });
    return this;
  }

  /** Hands `to` a message as if `from` had sent it just now (a page's stored goodbye, say). */
  deliver(from: number, to: number, channel: Channel, message: unknown): this {
    this.input(to, { type: 'message', from, channel, message });
    return this;
  }

  heal(): this {
    const apart = this.ids().flatMap((a) => this.ids().filter((b) => a < b && !this.reachable(a, b)).map((b) => [a, b] as const));
    this.sides.length = 0;
    for (const [a, b] of apart) {
      this.input(a, { type: 'peerUp', id: b });
      this.input(b, { type: 'peerUp', id: a });
    }
    return this;
  }

  /** An admin request at the controller, as a page's createTopics reaches it. */
  createTopic(controller: number, name: string, replicationFactor: number): void {
    const outcome = this.member(controller).createTopics([{ name, numPartitions: 1, replicationFactor }], this.now);
    expect(outcome.results.map((r) => r.result.ok)).toEqual([true]);
    this.apply(controller, outcome.output);
  }

  runFor(ms: number): this {
    const until = this.now + ms;
    for (let next = this.queue.peekTime(); next !== undefined && next <= until; next = this.queue.peekTime()) {
      const { time, item } = this.queue.pop()!;
      this.now = time;
      if (item.kind === 'tick') {
        if (this.members.has(item.id) && this.wakes.get(item.id) === item.token) this.input(item.id, { type: 'tick' });
      } else if (this.members.has(item.to) && this.incarnations.get(item.to) === item.incarnation && this.reachable(item.from, item.to)) {
        this.input(item.to, { type: 'message', from: item.from, channel: item.channel, message: JSON.parse(JSON.stringify(item.message)) as unknown });
      }
    }
    this.now = until;
    return this;
  }

  private boot(id: number, persisted?: ClusterMemberConfig['persisted']): void {
    if (!this.incarnations.has(id)) this.incarnations.set(id, 0);
    const random = () => ((this.seed = (this.seed * 16807) % 2147483647) / 2147483647);
    this.members.set(id, new ClusterMember({ brokerId: id, random, ...(persisted ? { persisted } : {}) }));
    this.input(id, { type: 'start' });
  }

  private connectReachable(ids: number[]): void {
    for (const id of ids) {
      for (const peer of this.ids()) {
        if (peer === id || !this.reachable(id, peer) || !this.members.has(id)) continue;
        this.input(id, { type: 'peerUp', id: peer });
        this.input(peer, { type: 'peerUp', id });
      }
    }
  }

  private reachable(a: number, b: number): boolean {
    return this.sides.length === 0 || this.sides.some((side) => side.includes(a) && side.includes(b));
  }

  private input(id: number, input: ClusterInput): void {
    this.apply(id, this.member(id).handle(input, this.now));
  }

  private apply(id: number, output: ClusterOutput): void {
    this.store(id, output);
    for (const event of output.events) this.events.push({ time: this.now, broker: id, event });
    for (const { to, channel, message } of output.send) {
      if (!this.reachable(id, to)) continue;
      const link = `${id}>${to}`;
      const at = Math.max(this.now + this.delayMs(id, to, channel), this.linkClear.get(link) ?? 0);
      this.linkClear.set(link, at);
      this.queue.push(at, { kind: 'deliver', from: id, to, incarnation: this.incarnations.get(to) ?? 0, channel, message });
    }
    if (output.wakeAt !== null && Number.isFinite(output.wakeAt)) {
      const token = (this.wakes.get(id) ?? 0) + 1;
      this.wakes.set(id, token);
      this.queue.push(Math.max(output.wakeAt, this.now), { kind: 'tick', id, token });
    }
  }

  private store(id: number, output: ClusterOutput): void {
    const stored = this.storage.get(id) ?? { election: null, entries: [], highWatermark: 0 };
    this.storage.set(id, stored);
    if (output.persist.election !== null) stored.election = output.persist.election;
    for (const write of output.persist.log) {
      if (write.type === 'truncate') stored.entries.length = Math.min(stored.entries.length, write.offset);
      else if (write.type === 'highWatermark') stored.highWatermark = write.offset;
      else {
        expect(write.baseOffset).toBe(stored.entries.length);
        stored.entries.push(...write.entries);
      }
    }
  }
}

describe('clusters founded apart', () => {
  it('merge into one cluster with one metadata log: the absorbed brokers replace theirs', () => {
    const cluster = new MemberCluster().partition([1, 2], [3, 4]).start(1, 2, 3, 4).runFor(3000);
    // Each side founded its own cluster in epoch 1, and each commits a topic of its own.
    expect(cluster.ids().filter((id) => cluster.member(id).isReadyController)).toEqual([2, 4]);
    expect(cluster.member(2).controllerEpoch).toBe(cluster.member(4).controllerEpoch);
    cluster.createTopic(2, 'left', 2);
    cluster.createTopic(4, 'right', 2);
    cluster.runFor(1000);
    expect([...cluster.member(1).image.topics.keys()]).toEqual(['left']);
    expect([...cluster.member(3).image.topics.keys()]).toEqual(['right']);
    const healedAt = cluster.now;

    cluster.heal().runFor(8000);
    const controller = cluster.member(4);
    expect(controller.isReadyController).toBe(true);
    const log = controller.metadataLog;
    for (const id of cluster.ids()) {
      const member = cluster.member(id);
      expect(member.controllerId).toBe(4);
      expect(member.metadataLog).toEqual(log);
      expect(member.highWatermark).toBe(log.length);
      expect(member.image.offset).toBe(log.length - 1);
      // The surviving cluster's topic everywhere; the absorbed cluster's is gone with its log.
      expect([...member.image.topics.keys()]).toEqual(['right']);
      expect([...member.image.brokers.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    }
    const after = cluster.events.filter((e) => e.time >= healedAt);
    expect(after.filter((e) => e.event.type === 'metadataConflict')).toEqual([]);
    const replaced = after.filter((e) => e.event.type === 'replaced');
    expect(replaced.map((e) => e.broker).sort()).toEqual([1, 2]);
    expect(replaced.map((e) => e.event)).toContainEqual(expect.objectContaining({ type: 'replaced', from: 4 }));

    // And a topic created on the merged cluster reaches every broker.
    cluster.createTopic(4, 'orders', 3);
    cluster.runFor(2000);
    for (const id of cluster.ids()) expect([...cluster.member(id).image.topics.keys()].sort()).toEqual(['orders', 'right']);
  });

  it('a broker that founds a cluster while holding a log copied from another starts a new one', () => {
    // Broker 5 copied cluster {1, 2, 3}'s log while waiting to be admitted, then came back alone.
    const cluster = new MemberCluster().start(1, 2, 3).runFor(3000);
    cluster.createTopic(3, 'right', 2);
    cluster.runFor(1000);
    const copied = { entries: [...cluster.member(1).metadataLog], highWatermark: cluster.member(1).highWatermark };
    cluster.partition([1, 2, 3], [5]).restore(5, copied).runFor(3000);
    expect(cluster.member(5).isReadyController).toBe(true);
    // Its founding LeaderChange opens a log of its own, not the one it copied.
    expect(cluster.member(5).metadataLog[0]?.record).toEqual({ type: 'LeaderChange', controllerId: 5, epoch: cluster.member(5).controllerEpoch });
    cluster.createTopic(5, 'left', 1);
    const healedAt = cluster.runFor(1000).now;

    cluster.heal().runFor(8000);
    const log = cluster.member(5).metadataLog;
    for (const id of cluster.ids()) {
      expect(cluster.member(id).metadataLog).toEqual(log);
      expect(cluster.member(id).highWatermark).toBe(log.length);
      expect([...cluster.member(id).image.topics.keys()]).toEqual([...cluster.member(5).image.topics.keys()]);
    }
    expect(cluster.events.filter((e) => e.time >= healedAt && e.event.type === 'metadataConflict')).toEqual([]);
  });

  it(`any split of the tabs into clusters founded apart ends as one cluster with one metadata log (${MERGE_SEEDS} seeds)`, () => {
    for (const seed of new Set([...Array.from({ length: MERGE_SEEDS }, (_, i) => i + 1), ...KEPT_SEEDS])) {
      const prng = new Prng(seed);
      const ids = new Set<number>();
      const count = prng.int(3, 6);
      while (ids.size < count) ids.add(prng.int(1, 99));
      const shuffled = prng.shuffle([...ids]);
      const cuts = [...new Set([prng.int(1, count - 1), prng.int(1, count - 1)])].sort((a, b) => a - b);
      const groups = [0, ...cuts, count].slice(1).map((end, i, ends) => shuffled.slice(i === 0 ? 0 : ends[i - 1], end));
      const cluster = new MemberCluster();
      cluster.delayMs = () => prng.int(1, 40);
      cluster.partition(...groups).start(...ids).runFor(3000);
      // Each founded cluster may commit a topic of its own before they meet.
      const proposed = new Map<number, string[]>();
      for (const group of groups) {
        const controller = group.find((id) => cluster.member(id).isReadyController);
        if (controller === undefined) continue;
        proposed.set(controller, []);
        if (prng.chance(0.7)) {
          cluster.createTopic(controller, `t${controller}`, Math.min(2, group.length));
          proposed.set(controller, [`t${controller}`]);
        }
      }
      cluster.runFor(prng.int(0, 2000));
      // Every group founded a cluster of its own; what each committed is what a merge may keep.
      const founders = cluster.ids().filter((id) => cluster.member(id).isReadyController);
      expect(founders.length, `seed ${seed}`).toBe(groups.length);
      const founded = founders.map((id) => ({ committed: [...cluster.member(id).image.topics.keys()], proposed: proposed.get(id) ?? [] }));
      const healedAt = cluster.heal().now;
      // Now and then a broker crashes while the clusters merge, and comes back from its storage.
      let elapsed = 0;
      if (prng.chance(0.5)) {
        const victim = prng.pick([...ids]);
        const at = prng.int(0, 300);
        cluster.runFor(at).crash(victim).runFor(prng.int(0, 2000)).restart(victim);
        elapsed = cluster.now - healedAt;
      }
      cluster.runFor(15_000 - elapsed);
      const context = `seed ${seed}, groups ${JSON.stringify(groups)}`;
      const controllers = cluster.ids().filter((id) => cluster.member(id).isReadyController);
      if (controllers[0] !== Math.max(...ids) && process.env['MERGE_TRACE']) {
        for (const e of cluster.events) if (e.event.type !== 'messageRejected' && e.event.type !== 'controllerChanged') console.log(e.time, e.broker, JSON.stringify(e.event));
      }
      expect(controllers, context).toEqual([Math.max(...ids)]);
      const log = cluster.member(controllers[0]!).metadataLog;
      for (const id of cluster.ids()) {
        const member = cluster.member(id);
        expect(member.metadataLog, `${context}: broker ${id}`).toEqual(log);
        expect(member.highWatermark, `${context}: broker ${id}`).toBe(log.length);
        expect(member.image.offset, `${context}: broker ${id}`).toBe(log.length - 1);
        // What it acts on is what its storage holds.
        expect(cluster.stored(id)?.entries, `${context}: broker ${id} storage`).toEqual(member.metadataLog);
        expect(cluster.stored(id)?.highWatermark, `${context}: broker ${id} storage`).toBe(member.highWatermark);
      }
      expect(cluster.events.filter((e) => e.time >= healedAt && e.event.type === 'metadataConflict'), context).toEqual([]);
      // One founding's metadata survives: all it had committed, nothing another founding made.
      const merged = [...cluster.member(controllers[0]!).image.topics.keys()];
      const survivor = founded.find(({ committed, proposed: made }) => committed.every((t) => merged.includes(t)) && merged.every((t) => made.includes(t)));
      if ((survivor === undefined || controllers[0] !== Math.max(...ids)) && process.env['MERGE_TRACE']) {
        for (const e of cluster.events) if (e.event.type !== 'messageRejected') console.log(e.time, e.broker, JSON.stringify(e.event));
      }
      expect(survivor, `${context}: merged topics ${JSON.stringify(merged)} of ${JSON.stringify(founded)}`).toBeDefined();
      // And the merged cluster works: a new topic reaches every broker.
      cluster.createTopic(controllers[0]!, 'after', Math.min(3, count));
      cluster.runFor(3000);
      for (const id of cluster.ids()) expect(cluster.member(id).image.topics.has('after'), `${context}: broker ${id}`).toBe(true);
    }
  });
});

// Views change apart from the metadata log, so a controller must keep every committed entry on
// a majority of each view it makes. A way that once failed, found in review.
describe('view changes keep the committed metadata on a majority', () => {
  it('a recovering controller does not shrink its view broker by broker across elections', () => {
    const cluster = new MemberCluster().start(1, 2, 3).runFor(3000);
    // 3 dies silently; 2 takes over in view {1,2,3} and commits T on {1,2}.
    cluster.crash(3).runFor(4000);
    expect(cluster.member(2).isReadyController).toBe(true);
    cluster.createTopic(2, 'T', 2);
    cluster.runFor(1000);
    // 3 comes back and wins, but its metadata fetches are slow; each broker it copies from leaves.
    cluster.delayMs = (from, _to, channel) => (from === 3 && channel === 'metadata' ? 400 : 5);
    const t0 = cluster.now;
    cluster.restart(3);
    const recovering = () => cluster.events.filter((e) => e.time >= t0 && e.broker === 3 && e.event.type === 'recovering');
    while (recovering().length === 0) cluster.runFor(5);
    const first = (recovering()[0]!.event as { from: number }).from;
    const other = first === 1 ? 2 : 1;
    cluster.runFor(50).leave(first).runFor(200);
    // Its copy from the leaver times out; it is elected again and copies from the other one.
    const copies = recovering().length;
    for (let i = 0; i < 2000 && recovering().length === copies; i++) cluster.runFor(5);
    expect(recovering().length).toBeGreaterThan(copies);
    cluster.runFor(50).leave(other).runFor(10_000);
    const member = cluster.member(3);
    // Before, 3 ended ready alone in a view of itself without T.
    expect(member.isReadyController && !member.image.topics.has('T')).toBe(false);
  });
});

describe('a broker that comes back', () => {
  it('is admitted again and copies the metadata, even with a higher epoch than the controller from a candidacy as it left', () => {
    const cluster = new MemberCluster().start(1, 2, 3).runFor(3000);
    cluster.createTopic(3, 'T', 3);
    cluster.runFor(1000);
    // 2's tab closes: it sees its link to the controller close first, while 1 is still linked,
    // and stands in epoch 2 (1 refuses: it follows a live 3). 3 only gets its goodbye, stamped
    // in epoch 1 before.
    cluster.partition([1, 2], [1, 3]).channelClosed(2, 3).runFor(100);
    expect(cluster.stored(2)?.election?.epoch).toBe(2);
    cluster.deliver(2, 3, 'election', { type: 'LEAVE', epoch: 1, ts: cluster.now }).crash(2).runFor(1000);
    cluster.leave(1).runFor(1000);
    expect(cluster.member(3).view.members).toEqual([3]);
    expect(cluster.member(3).controllerEpoch).toBe(1);

    cluster.heal().restart(2).runFor(6000);
    expect(cluster.member(3).isReadyController).toBe(true);
    expect(cluster.member(3).view.members).toEqual([2, 3]);
    expect(cluster.member(2).controllerId).toBe(3);
    expect(cluster.member(2).image.topics.has('T')).toBe(true);
  });
});
