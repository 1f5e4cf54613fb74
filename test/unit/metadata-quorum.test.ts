import { describe, expect, it } from 'vitest';
import { MetadataQuorum, compareLogEnds } from '../../src/cluster/metadata-quorum';
import type { ElectionState, QuorumOutput } from '../../src/cluster/metadata-quorum';
import type { LogEnd } from '../../src/cluster/election-messages';
import type { MetadataEntry, QuorumMessage } from '../../src/cluster/metadata-quorum-messages';
import { parseQuorumMessage } from '../../src/cluster/metadata-quorum-messages';

const register = (brokerId: number) => ({ type: 'RegisterBroker', brokerId }) as const;
const entry = (epoch: number, brokerId: number): MetadataEntry => ({ epoch, record: register(brokerId) });

/** Quorums wired by hand: messages wait in `inbox` until `pump` delivers them (as JSON, like the wire). */
class Bench {
  readonly nodes = new Map<number, MetadataQuorum>();
  readonly inbox: { from: number; to: number; message: QuorumMessage }[] = [];
  readonly outputs: QuorumOutput[] = [];
  now = 0;

  add(id: number, entries: MetadataEntry[] = [], highWatermark = 0): MetadataQuorum {
    const node = new MetadataQuorum({ brokerId: id, entries, highWatermark });
    this.nodes.set(id, node);
    return node;
  }

  feed(id: number, input: Parameters<MetadataQuorum['handle']>[0]): QuorumOutput {
    const output = this.node(id).handle(input, this.now);
    this.outputs.push(output);
    for (const { to, message } of output.send) this.inbox.push({ from: id, to, message });
    return output;
  }

  elect(controller: number, epoch: number, members: number[], logEnds?: Map<number, LogEnd>): void {
    for (const id of this.nodes.keys()) {
      const state: ElectionState = {
        controllerId: controller,
        epoch,
        isActiveController: id === controller,
        members,
        ...(id === controller ? { elected: { epoch, logEnds: logEnds ?? new Map([[id, this.node(id).logEnd]]) } } : {}),
      };
      this.feed(id, { type: 'election', state });
    }
  }

  pump(limit = 100): void {
    for (let i = 0; i < limit && this.inbox.length > 0; i++) {
      const { from, to, message } = this.inbox.shift()!;
      this.feed(to, { type: 'message', from, message: JSON.parse(JSON.stringify(message)) as unknown });
    }
  }

  node(id: number): MetadataQuorum {
    return this.nodes.get(id)!;
  }
}

describe('metadata quorum', () => {
  it('replicates proposals to followers and commits them on a majority', () => {
    const bench = new Bench();
    for (const id of [1, 2, 3]) bench.add(id);
    bench.elect(3, 1, [1, 2, 3]);
    expect(bench.node(3).isReady).toBe(true);
    // Alone, the controller has no majority for its LeaderChange entry.
    expect(bench.node(3).highWatermark).toBe(0);
    bench.pump();
    const proposed = bench.feed(3, { type: 'propose', records: [register(1), register(2)] }).proposed;
    expect(proposed).toEqual({ baseOffset: 1, lastOffset: 2 });
    bench.pump();
    for (const id of [1, 2, 3]) {
      expect(bench.node(id).entries.map((e) => e.record.type)).toEqual(['LeaderChange', 'RegisterBroker', 'RegisterBroker']);
      expect(bench.node(id).highWatermark).toBe(3);
    }
    const committed = bench.outputs.filter((o) => o.committed.length > 0 && o.committedFrom === 1);
    expect(committed.length).toBeGreaterThan(0);
  });

  it('parks a fetch with nothing new, and answers it when a proposal arrives or the wait ends', () => {
    const bench = new Bench();
    bench.add(1);
    bench.add(2);
    bench.elect(2, 1, [1, 2]);
    bench.pump();
    expect(bench.inbox.length).toBe(0); // the follower's fetch waits at the controller
    const wake = bench.feed(2, { type: 'tick' }).wakeAt;
    expect(wake).toBe(500);
    bench.feed(2, { type: 'propose', records: [register(7)] });
    expect(bench.inbox.map((m) => m.message.type)).toEqual(['FETCH_RESPONSE']);
    bench.pump();
    expect(bench.node(1).entries.at(-1)?.record).toEqual(register(7));
    bench.pump(); // the follower fetches again and waits
    expect(bench.inbox.length).toBe(0);
    bench.now = 600;
    bench.feed(2, { type: 'tick' });
    // The wait ended: an empty answer, so the follower knows its controller is still there.
    expect(bench.inbox.map((m) => m.message)).toEqual([expect.objectContaining({ type: 'FETCH_RESPONSE', entries: [] })]);
  });

  it('truncates a follower suffix the controller does not hold, never below the high watermark', () => {
    const bench = new Bench();
    // Broker 1 holds an uncommitted epoch-1 entry that the epoch-2 controller never saw.
    bench.add(1, [entry(1, 1), entry(1, 5)], 1);
    bench.add(2, [entry(1, 1), entry(2, 2)], 1);
    bench.add(3, [entry(1, 1), entry(2, 2)], 1);
    bench.elect(3, 3, [1, 2, 3]);
    bench.pump();
    const truncated = bench.outputs.flatMap((o) => o.events).find((e) => e.type === 'truncated');
    expect(truncated).toEqual({ type: 'truncated', offset: 1 });
    expect(bench.node(1).entries).toEqual(bench.node(3).entries);
    expect(bench.node(1).highWatermark).toBe(bench.node(3).entries.length);
  });

  it('takes no high watermark from an answer that says its log diverges: what it kept is not yet checked', () => {
    const bench = new Bench();
    // The controller's epoch 4 ends at offset 3. Broker 1 holds an epoch-3 entry at offset 1
    // that the controller does not, then an epoch-6 one (a controller that never committed).
    const controllerLog = [entry(1, 1), entry(4, 7), entry(4, 8)];
    bench.add(3, controllerLog, 3);
    bench.add(2, [...controllerLog], 3);
    bench.add(1, [entry(1, 1), entry(3, 5), entry(6, 6)], 1);
    bench.elect(3, 7, [1, 2, 3]);
    const matching = () => {
      const ours = bench.node(1).entries;
      const theirs = bench.node(3).entries;
      let n = 0;
      while (n < ours.length && JSON.stringify(ours[n]) === JSON.stringify(theirs[n])) n++;
      return n;
    };
    // Asked at offset 3 after epoch 6, the controller says "epoch 4 ends at 3"; broker 1's own
    // last epoch up to 4 is 3, ending at 2: it keeps offset 1, which the next fetch drops.
    for (let i = 0; i < 20 && bench.inbox.length > 0; i++) {
      bench.pump(1);
      expect(bench.node(1).highWatermark).toBeLessThanOrEqual(matching());
    }
    expect(bench.outputs.flatMap((o) => o.events).filter((e) => e.type === 'truncated')).toEqual([
      { type: 'truncated', offset: 2 },
      { type: 'truncated', offset: 1 },
    ]);
    expect(bench.node(1).entries).toEqual(bench.node(3).entries);
    expect(bench.node(1).highWatermark).toBe(bench.node(3).highWatermark);
  });

  it('makes a new controller copy the freshest voter log before it leads', () => {
    const bench = new Bench();
    const fresh = [entry(1, 1), entry(1, 2), entry(2, 3)];
    bench.add(1, fresh, 2);
    bench.add(2, [entry(1, 1)], 1);
    // The highest id missed epoch 2 and kept an epoch-1 entry that epoch 2 overwrote.
    bench.add(5, [entry(1, 1), entry(1, 2), entry(1, 8)], 1);
    const logEnds = new Map<number, LogEnd>([
      [5, bench.node(5).logEnd],
      [1, bench.node(1).logEnd],
    ]);
    bench.elect(5, 3, [1, 2, 5], logEnds);
    expect(bench.node(5).role).toBe('recovering');
    // A follower asking the recovering controller is told to wait.
    bench.pump();
    expect(bench.node(5).role).toBe('leader');
    expect(bench.node(5).entries.slice(0, 3)).toEqual(fresh);
    expect(bench.node(5).entries[3]).toEqual({ epoch: 3, record: { type: 'LeaderChange', controllerId: 5, epoch: 3 } });
    // Followers that were told "not ready" retry after their backoff.
    bench.now = 200;
    for (const id of [1, 2]) bench.feed(id, { type: 'tick' });
    bench.pump();
    for (const id of [1, 2, 5]) expect(bench.node(id).highWatermark).toBe(4);
  });

  it("right after its election, counts a follower as holding the committed metadata only once it holds the controller's LeaderChange", () => {
    const bench = new Bench();
    // The last controller committed offsets 1 and 2, but broker 3 only heard of offset 0 being
    // committed: its high watermark lags. Broker 1 holds offset 0 alone.
    bench.add(3, [entry(1, 1), entry(1, 2), entry(1, 3)], 1);
    bench.add(1, [entry(1, 1)], 1);
    bench.elect(3, 2, [1, 3]);
    expect(bench.node(3).isReady).toBe(true);
    bench.pump(1); // broker 1's fetch at offset 1: it matches, and holds what the stale high watermark says is committed
    expect(bench.node(3).highWatermark).toBe(1);
    expect(bench.node(3).heldByMajorityOf([1, 3])).toBe(false);
    bench.pump();
    expect(bench.node(1).entries).toEqual(bench.node(3).entries);
    expect(bench.node(3).heldByMajorityOf([1, 3])).toBe(true);
  });

  it('resigns when the freshest voter does not answer in time', () => {
    const bench = new Bench();
    bench.add(1, [entry(1, 1)], 0);
    bench.add(5);
    bench.elect(5, 2, [1, 5], new Map([[1, { epoch: 1, offset: 1 }]]));
    bench.inbox.length = 0; // broker 1 is gone
    bench.now = 3000;
    const output = bench.feed(5, { type: 'tick' });
    expect(output.resign).toBe(true);
    expect(bench.node(5).isReady).toBe(false);
  });

  it('replaces a log of another founding whole, committed entries too, and never counts it as matching', () => {
    // Two clusters founded apart, both in epoch 1: {2, 1} under founder 2, {4, 3} under founder 4.
    const founding = (controllerId: number): MetadataEntry => ({ epoch: 1, record: { type: 'LeaderChange', controllerId, epoch: 1 } });
    const apart = [founding(2), entry(1, 2), entry(1, 1), entry(1, 5), entry(1, 6), entry(1, 7)];
    const winner = [founding(4), entry(1, 4), entry(1, 3), entry(1, 1)];
    const bench = new Bench();
    bench.add(1, apart, 6);
    bench.add(4, winner, 4);
    // Broker 1 now follows 4 in the same epoch it followed 2: epochs alone say its log matches
    // 4's up to 6, past 4's LeaderChange at 4, which would commit 4's entries 4 and 5 on a false match.
    bench.elect(4, 1, [1, 4]);
    bench.feed(4, { type: 'propose', records: [register(8), register(9)] });
    expect(bench.node(4).entries).toHaveLength(7);
    const hwBefore = bench.node(4).highWatermark;
    expect(hwBefore).toBeLessThan(6);
    const fetch = bench.inbox.shift()!;
    expect(fetch.message).toMatchObject({ type: 'FETCH', offset: 6, lastEpoch: 1, origin: { epoch: 1, controllerId: 2 } });
    const answer = bench.feed(4, { type: 'message', from: 1, message: fetch.message });
    expect(answer.send[0]?.message).toMatchObject({ diverging: { epoch: 0, offset: 0 }, entries: [], origin: { epoch: 1, controllerId: 4 } });
    expect(bench.node(4).highWatermark).toBe(hwBefore);
    const replaced = bench.feed(1, { type: 'message', from: 4, message: JSON.parse(JSON.stringify(bench.inbox.shift()!.message)) as unknown });
    expect(replaced.events).toContainEqual({ type: 'replaced', from: 4, discarded: 6 });
    expect(replaced.writes).toEqual([{ type: 'highWatermark', offset: 0 }, { type: 'truncate', offset: 0 }]);
    expect(bench.node(1).highWatermark).toBe(0);
    bench.pump();
    expect(bench.node(1).entries).toEqual(bench.node(4).entries);
    expect(bench.node(1).highWatermark).toBe(bench.node(4).entries.length);
  });

  it('ignores entries from a controller of an older epoch than it acknowledged', () => {
    const bench = new Bench();
    bench.add(1);
    bench.add(2);
    bench.elect(2, 1, [1, 2]);
    const fetch = bench.inbox.shift()!;
    // Broker 1 acknowledges epoch 2 (a new claim) before the old controller's answer arrives.
    bench.feed(1, { type: 'election', state: { controllerId: null, epoch: 2, isActiveController: false, members: [1, 2] } });
    bench.feed(2, { type: 'message', from: 1, message: fetch.message });
    bench.pump();
    expect(bench.node(1).entries).toEqual([]);
  });

  it('reports malformed messages and keeps going', () => {
    const bench = new Bench();
    bench.add(1);
    for (const garbage of [null, { type: 'FETCH' }, { type: 'FETCH_RESPONSE', epoch: 1, offset: 0, highWatermark: 0, entries: [{ epoch: 1, record: { type: 'X' } }], diverging: null, error: null }]) {
      const output = bench.feed(1, { type: 'message', from: 2, message: garbage });
      expect(output.events[0]?.type).toBe('messageRejected');
    }
  });
});

describe('metadata quorum messages', () => {
  it('round-trips and rejects bad shapes', () => {
    const response: QuorumMessage = {
      type: 'FETCH_RESPONSE',
      epoch: 2,
      offset: 4,
      highWatermark: 3,
      entries: [entry(2, 1)],
      diverging: { epoch: 1, offset: 3 },
      error: null,
      origin: { epoch: 1, controllerId: 7 },
    };
    expect(parseQuorumMessage(JSON.parse(JSON.stringify(response)))).toEqual(response);
    expect(() => parseQuorumMessage({ ...response, entries: [entry(2, 1), entry(1, 1)] })).toThrow(/epochs go back/);
    expect(() => parseQuorumMessage({ ...response, error: 'boom' })).toThrow(/unknown error/);
    expect(() => parseQuorumMessage({ type: 'FETCH', epoch: 1, offset: 0, lastEpoch: 0, highWatermark: 0 })).toThrow(/recovery/);
    expect(() => parseQuorumMessage({ ...response, origin: { epoch: 1, controllerId: -1 } })).toThrow(/controllerId/);
    expect(() => parseQuorumMessage({ ...response, origin: undefined })).toThrow(/origin/);
    expect(() => parseQuorumMessage({ ...response, entries: Array.from({ length: 1001 }, () => entry(2, 1)) })).toThrow(/at most/);
  });

  it('orders log ends by last epoch, then length', () => {
    expect(compareLogEnds({ epoch: 2, offset: 1 }, { epoch: 1, offset: 9 })).toBeGreaterThan(0);
    expect(compareLogEnds({ epoch: 2, offset: 3 }, { epoch: 2, offset: 4 })).toBeLessThan(0);
    expect(compareLogEnds({ epoch: 2, offset: 4 }, { epoch: 2, offset: 4 })).toBe(0);
  });
});
