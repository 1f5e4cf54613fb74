import { describe, expect, it } from 'vitest';
import type { LocalBroker } from '../../src/broker/local-broker';
import { NotLeaderOrFollowerError, UnknownTopicOrPartitionError, UnsupportedCompressionTypeError } from '../../src/errors';
import { CompressionTypes, decompressRecordBatch } from '../../src/protocol/compression';
import { Producer } from '../../src/producer/producer';
import { decodeRecordBatch, readBatchHeader } from '../../src/protocol/record-batch';

interface Sent {
  readonly topic: string;
  readonly partition: number;
  readonly acks: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly values: string[];
  readonly codec: number;
}

/** A broker that appends to in-memory partitions, and can be told to fail the next produce. */
function fakeBroker(partitions: Record<string, number>) {
  const sent: Sent[] = [];
  /** Base sequences in the order produce was called: the order batches leave for the leader. */
  const issued: number[] = [];
  const ends = new Map<string, number>();
  let failNext = 0;
  let inFlight = 0;
  let maxInFlightPerPartition = 0;
  const inFlightBy = new Map<string, number>();
  const broker = {
    async clusterMetadata() {
      return { topics: Object.entries(partitions).map(([name, count]) => ({ name, partitions: Array.from({ length: count }, (_, partition) => ({ partition })) })) };
    },
    async produce(topic: string, partition: number, bytes: Uint8Array, acks: number) {
      issued.push(readBatchHeader(bytes).baseSequence);
      const key = `${topic}-${partition}`;
      inFlightBy.set(key, (inFlightBy.get(key) ?? 0) + 1);
      maxInFlightPerPartition = Math.max(maxInFlightPerPartition, inFlightBy.get(key)!);
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      inFlightBy.set(key, inFlightBy.get(key)! - 1);
      if (failNext > 0) {
        failNext--;
        throw new NotLeaderOrFollowerError(topic, partition, 1, 2);
      }
      const header = readBatchHeader(bytes);
      const values = decodeRecordBatch(await decompressRecordBatch(bytes)).records.map((r) => new TextDecoder().decode(r.value!));
      const codec = header.attributes & 7;
      sent.push({ topic, partition, acks, producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence, values, codec });
      const baseOffset = ends.get(key) ?? 0;
      ends.set(key, baseOffset + values.length);
      return { baseOffset, lastOffset: baseOffset + values.length - 1, logEndOffset: baseOffset + values.length };
    },
  };
  return {
    broker: broker as unknown as LocalBroker,
    sent,
    issued,
    failNextProduce: (count = 1) => void (failNext = count),
    stats: () => ({ inFlight, maxInFlightPerPartition }),
  };
}

const values = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ value: String(from + i) }));

describe('Producer', () => {
  it('keeps each partition in send order, up to five batches in flight, with growing sequence numbers', async () => {
    const { broker, sent, stats } = fakeBroker({ t: 1 });
    // Small requests, so that a quarter of one (what pipelines behind a batch in flight) fills fast.
    const producer = new Producer(broker, { lingerMs: 0, maxRequestBytes: 8000 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 't', messages: values(i * 100, 100), acks: 1 })));
    const all = sent.flatMap((s) => s.values.map(Number));
    expect(all).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(stats().maxInFlightPerPartition).toBe(5);
    expect(sent.length).toBeGreaterThan(1);
    let sequence = 0;
    for (const batch of sent) {
      expect(batch.baseSequence).toBe(sequence);
      expect(batch.producerId).toBeGreaterThanOrEqual(0);
      sequence += batch.values.length;
    }
    // Each send's base offset is where its first record landed.
    expect(results.map((r) => Number(r[0]!.baseOffset))).toEqual(Array.from({ length: 20 }, (_, i) => i * 100));
  });

  it('compresses each send as it asks (or as the producer defaults), one codec per batch, and sends the batches in sequence order', async () => {
    const { broker, sent, issued } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 0, maxRequestBytes: 8000, compression: CompressionTypes.GZIP });
    const codecs = [CompressionTypes.GZIP, CompressionTypes.None, undefined, CompressionTypes.None, CompressionTypes.GZIP, undefined];
    await Promise.all(
      codecs.map((compression, i) =>
        producer.send({ topic: 't', messages: values(i * 300, 300), acks: 1, ...(compression === undefined ? {} : { compression }) }),
      ),
    );
    // (The fake answers a compressed batch later, after inflating it: order is by sequence.)
    const bySequence = [...sent].sort((a, b) => a.baseSequence - b.baseSequence);
    expect(bySequence.flatMap((s) => s.values.map(Number))).toEqual(Array.from({ length: 1800 }, (_, i) => i));
    const codecOfSend = (value: string) => codecs[Math.floor(Number(value) / 300)] ?? CompressionTypes.GZIP;
    for (const batch of sent) {
      // Sends of one codec may share a batch; sends of two never do.
      expect(new Set(batch.values.map(codecOfSend))).toEqual(new Set([batch.codec]));
    }
    // Compressing takes a while; the leader still got every batch in sequence order.
    expect(issued).toEqual([...issued].sort((a, b) => a - b));
    expect(new Set(sent.map((s) => s.codec))).toEqual(new Set([0, 1]));
  });

  it('a batch whose produce call throws at once still lets the batches behind it go', async () => {
    const fake = fakeBroker({ t: 1 });
    const produce = fake.broker.produce.bind(fake.broker);
    let throwNext = true;
    (fake.broker as { produce: typeof produce }).produce = (...args: Parameters<typeof produce>) => {
      if (throwNext) {
        throwNext = false;
        throw new Error('thrown, not rejected');
      }
      return produce(...args);
    };
    const producer = new Producer(fake.broker, { lingerMs: 0, compression: CompressionTypes.GZIP });
    const first = producer.send({ topic: 't', messages: values(0, 10), acks: 1 });
    await expect(first).rejects.toThrow('thrown, not rejected');
    const later = await Promise.all([producer.send({ topic: 't', messages: values(10, 5), acks: 1 }), producer.send({ topic: 't', messages: values(15, 5), acks: 1, compression: CompressionTypes.None })]);
    expect(later.map((r) => r.length)).toEqual([1, 1]);
    await producer.disconnect();
  });

  it('refuses snappy, lz4 and zstd with UnsupportedCompressionTypeError, in its config or in a send', async () => {
    const { broker, sent } = fakeBroker({ t: 1 });
    expect(() => new Producer(broker, { compression: CompressionTypes.Snappy })).toThrow(UnsupportedCompressionTypeError);
    const producer = new Producer(broker);
    for (const compression of [CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
      await expect(producer.send({ topic: 't', messages: values(0, 1), compression })).rejects.toThrow(UnsupportedCompressionTypeError);
    }
    expect(sent).toEqual([]);
  });

  it('with lingerMs 0, sends made in one task leave together instead of one record first and the rest behind it', async () => {
    const { broker, sent } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 0 });
    await producer.connect();
    // One task's burst: an app's loop of send() calls, none awaited.
    const burst = Array.from({ length: 4 }, (_, i) => producer.send({ topic: 't', messages: values(i, 1), acks: -1 }));
    await Promise.all(burst);
    expect(sent.map((s) => s.values)).toEqual([['0', '1', '2', '3']]);
    // A later send, alone in its task, still leaves at once by itself.
    await producer.send({ topic: 't', messages: values(4, 1), acks: -1 });
    expect(sent.map((s) => s.values.length)).toEqual([4, 1]);
  });

  it('keeps one batch in flight per partition when not idempotent (order needs it)', async () => {
    const { broker, sent, stats } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 0, idempotent: false });
    await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic: 't', messages: values(i * 10, 10) })));
    expect(stats().maxInFlightPerPartition).toBe(1);
    expect(sent.every((s) => s.producerId === -1)).toBe(true);
  });

  it('splits a send larger than maxRequestBytes over several batches and resolves once all are in', async () => {
    const { broker, sent } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 0, maxRequestBytes: 2000 });
    const [meta] = await producer.send({ topic: 't', messages: values(0, 100), acks: -1 });
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.every((s) => s.acks === -1)).toBe(true);
    expect(sent.flatMap((s) => s.values.map(Number))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(meta?.baseOffset).toBe('0');
  });

  it('routes keyed records by murmur2 so one key always lands on one partition', async () => {
    const { broker, sent } = fakeBroker({ t: 4 });
    const producer = new Producer(broker, { lingerMs: 0 });
    await producer.send({ topic: 't', messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 7}`, value: `k${i % 7}` })) });
    const partitionsOf = new Map<string, Set<number>>();
    for (const batch of sent) for (const v of batch.values) partitionsOf.set(v, (partitionsOf.get(v) ?? new Set()).add(batch.partition));
    expect([...partitionsOf.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set(sent.map((s) => s.partition)).size).toBeGreaterThan(1);
  });

  it('rejects the sends of a failed batch, and starts a new producer epoch so later batches are not out of sequence', async () => {
    const { broker, sent, failNextProduce } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 0 });
    await producer.send({ topic: 't', messages: values(0, 10) });
    failNextProduce();
    await expect(producer.send({ topic: 't', messages: values(10, 10) })).rejects.toBeInstanceOf(NotLeaderOrFollowerError);
    await producer.send({ topic: 't', messages: values(20, 10) });
    expect(sent.map((s) => [s.producerEpoch, s.baseSequence])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  it('refuses an unknown topic or partition with a typed error', async () => {
    const { broker } = fakeBroker({ t: 2 });
    const producer = new Producer(broker);
    await expect(producer.send({ topic: 'nope', messages: values(0, 1) })).rejects.toBeInstanceOf(UnknownTopicOrPartitionError);
    await expect(producer.send({ topic: 't', messages: [{ value: 'x', partition: 5 }] })).rejects.toThrow();
  });

  it('flushes what is pending on disconnect, then refuses new sends', async () => {
    const { broker, sent } = fakeBroker({ t: 1 });
    const producer = new Producer(broker, { lingerMs: 1000 });
    const pending = producer.send({ topic: 't', messages: values(0, 3) });
    await producer.disconnect();
    await pending;
    expect(sent.flatMap((s) => s.values)).toEqual(['0', '1', '2']);
    await expect(producer.send({ topic: 't', messages: values(3, 1) })).rejects.toThrow(/disconnected/);
  });
});
