import { describe, expect, it } from 'vitest';
import { parseFetchEchoes } from '../../src/broker/data-requests';
import { BatchOrigins, SentBatches, echoHeaders, restoreEchoes } from '../../src/broker/produce-echo';
import { InvalidRequestError } from '../../src/errors';
import { BATCH_HEADER_SIZE, encodeRecordBatch, setBaseOffset, setPartitionLeaderEpoch, verifyRecordBatch } from '../../src/protocol/record-batch';

const value = (text: string) => new TextEncoder().encode(text);

/** A producer's batch as it leaves the producer: offset 0, no leader epoch yet. */
function produced(baseSequence: number, texts: string[], producerId = 7): Uint8Array {
  return encodeRecordBatch(
    texts.map((text) => ({ key: null, value: value(text), timestamp: 1_700_000_000_000 })),
    { producerId, producerEpoch: 0, baseSequence },
  );
}

/** What the leader stores: the same bytes with its offset and leader epoch stamped in. */
function stored(batch: Uint8Array, baseOffset: number, leaderEpoch: number): Uint8Array {
  const copy = batch.slice();
  setBaseOffset(copy, baseOffset);
  setPartitionLeaderEpoch(copy, leaderEpoch);
  return copy;
}

describe('produce echo', () => {
  it('a follower restores its own batch from the leader header, byte for byte as the leader stores it', () => {
    const sent = new SentBatches();
    const mine = produced(0, ['a', 'b', 'c']);
    sent.remember('t', 0, mine);
    const atLeader = stored(mine, 40, 3);
    const whole = sent.take('t', 0, atLeader.subarray(0, BATCH_HEADER_SIZE));
    expect(whole).toEqual(atLeader);
    expect(verifyRecordBatch(whole!).baseOffset).toBe(40);
    // Once: a second echo of the same header finds nothing.
    expect(sent.take('t', 0, atLeader.subarray(0, BATCH_HEADER_SIZE))).toBeUndefined();
  });

  it('matches on topic, partition, producer and sequence, and keeps nothing without a producer id', () => {
    const sent = new SentBatches();
    const mine = produced(10, ['x']);
    sent.remember('t', 0, mine);
    const header = stored(mine, 5, 1).subarray(0, BATCH_HEADER_SIZE);
    expect(sent.take('t', 1, header)).toBeUndefined();
    expect(sent.take('u', 0, header)).toBeUndefined();
    expect(sent.take('t', 0, stored(produced(11, ['x']), 5, 1).subarray(0, BATCH_HEADER_SIZE))).toBeUndefined();
    expect(sent.take('t', 0, header)).toBeDefined();

    const anonymous = encodeRecordBatch([{ key: null, value: value('y'), timestamp: 1 }]);
    sent.remember('t', 0, anonymous);
    expect(sent.size).toBe(0);
  });

  it('forgets the oldest batches past its byte budget', () => {
    const first = produced(0, ['1'.repeat(400)]);
    const sent = new SentBatches(first.byteLength * 2 + 10);
    sent.remember('t', 0, first);
    sent.remember('t', 0, produced(1, ['2'.repeat(400)]));
    sent.remember('t', 0, produced(2, ['3'.repeat(400)]));
    expect(sent.size).toBe(2);
    expect(sent.take('t', 0, stored(first, 0, 0).subarray(0, BATCH_HEADER_SIZE))).toBeUndefined();
  });

  it('forgets batches that never came back within its age limit, and those sent to a partition before its leader changed', () => {
    let now = 1_000;
    const sent = new SentBatches(1024 * 1024, 30_000, () => now);
    const old = produced(0, ['old']);
    sent.remember('t', 0, old);
    now += 20_000;
    const other = produced(1, ['other partition']);
    sent.remember('t', 1, other);
    now += 15_000; // the first is 35 s old now, the second 15 s
    sent.remember('t', 1, produced(2, ['new']));
    expect(sent.size).toBe(2);
    expect(sent.take('t', 0, stored(old, 0, 0).subarray(0, BATCH_HEADER_SIZE))).toBeUndefined();

    sent.forgetPartition('t', 1);
    expect(sent.size).toBe(0);
    expect(sent.take('t', 1, stored(other, 0, 0).subarray(0, BATCH_HEADER_SIZE))).toBeUndefined();
  });

  it('the leader sends headers alone for the follower that produced them, whole batches otherwise', () => {
    const origins = new BatchOrigins();
    const batches = [stored(produced(0, ['a']), 0, 2), stored(produced(1, ['b']), 1, 2), stored(produced(0, ['c'], 9), 2, 2)];
    origins.record(0, 5);
    origins.record(1, 5);
    origins.record(2, 6);
    const forFive = echoHeaders(batches, 5, (offset) => origins.originOf(offset));
    expect(forFive.echoes).toEqual([0, 1]);
    expect(forFive.blobs.map((b) => b.byteLength)).toEqual([BATCH_HEADER_SIZE, BATCH_HEADER_SIZE, batches[2]!.byteLength]);
    expect(echoHeaders(batches, 7, (offset) => origins.originOf(offset)).echoes).toEqual([]);
    origins.clear();
    expect(echoHeaders(batches, 5, (offset) => origins.originOf(offset)).echoes).toEqual([]);
  });

  it('restores up to the first echo it cannot, so the rest is fetched whole and order is kept', () => {
    const sent = new SentBatches();
    const a = produced(0, ['a']);
    const c = produced(2, ['c']);
    sent.remember('t', 0, a);
    const atLeader = [stored(a, 0, 1), stored(produced(1, ['b'], 3), 1, 1), stored(c, 2, 1), stored(produced(3, ['d']), 3, 1)];
    const blobs = atLeader.map((batch, i) => (i === 1 ? batch : batch.subarray(0, BATCH_HEADER_SIZE)));
    const { batches, complete } = restoreEchoes(blobs, [0, 2, 3], (header) => sent.take('t', 0, header));
    expect(complete).toBe(false);
    expect(batches).toEqual(atLeader.slice(0, 2)); // c was never sent by this broker
  });

  it('a peer announcing echoes that are not headers, out of order or out of range is refused with a typed error', () => {
    const header = new Uint8Array(BATCH_HEADER_SIZE);
    const whole = produced(0, ['a']);
    expect(parseFetchEchoes({}, [whole])).toEqual([]);
    expect(parseFetchEchoes({ echoes: [0, 2] }, [header, whole, header])).toEqual([0, 2]);
    for (const echoes of [[1], [0, 0], [2, 0], ['0'], 'all', [0.5], [3]]) {
      expect(() => parseFetchEchoes({ echoes }, [header, whole, header])).toThrow(InvalidRequestError);
    }
  });
});
