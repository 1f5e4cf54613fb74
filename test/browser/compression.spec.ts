// gzip-compressed batches end to end: a producer tab compresses, the brokers store and replicate
// the batches as sent (smaller in IndexedDB and on the data channels), a consumer tab inflates.
import { expect, test } from '@playwright/test';
import type { Tabka } from '../../src/index';
import { CompressionTypes, compressRecordBatch } from '../../src/protocol/compression';
import { crc32c } from '../../src/protocol/crc32c';
import { encodeRecordBatch } from '../../src/protocol/record-batch';
import { formCluster } from './cluster-tab';

type ClusterWindow = Window & { tabka: Tabka };

test('gzip batches are replicated and stored as sent, read back intact and in order, and other codecs are refused with a typed error', async ({ context }) => {
  const pages = await formCluster(context, `gzip-${Date.now()}`, 3);
  const [producerTab, consumerTab] = pages;
  const produced = await producerTab!.evaluate(async () => {
    const { tabka } = window as unknown as ClusterWindow;
    await tabka.admin().createTopics({
      topics: [
        { topic: 'events', numPartitions: 1, replicationFactor: 3 },
        { topic: 'events-plain', numPartitions: 1, replicationFactor: 3 },
      ],
    });
    const GZIP = 1;
    const NONE = 0;
    const messages = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        key: `user-${(from + i) % 13}`,
        value: JSON.stringify({ type: 'page-view', path: '/docs/getting-started', n: from + i }),
        headers: { source: 'tab' },
      }));
    const producer = tabka.producer({ compression: GZIP });
    await producer.send({ topic: 'events', messages: messages(0, 1000), acks: -1 });
    await producer.send({ topic: 'events', messages: messages(1000, 10), acks: -1, compression: NONE });
    await producer.send({ topic: 'events', messages: messages(1010, 990), acks: -1 });
    await tabka.producer().send({ topic: 'events-plain', messages: messages(0, 2000), acks: -1 });

    const storedBytes = async (topic: string) => {
      const { batches } = await tabka.broker.fetch(topic, 0, 0, 0, 16 * 1024 * 1024);
      return { bytes: batches.reduce((sum, b) => sum + b.byteLength, 0), codecs: batches.map((b) => b[22]! & 7) };
    };
    const snappy = await producer.send({ topic: 'events', messages: messages(0, 1), compression: 2 as 1 }).then(
      () => 'sent',
      (error: Error) => error.name,
    );
    return { gzip: await storedBytes('events'), plain: await storedBytes('events-plain'), snappy };
  });
  expect(produced.snappy).toBe('UnsupportedCompressionTypeError');
  // The leader stores the batches as sent: gzip, then the one plain send, then gzip again.
  expect(new Set(produced.gzip.codecs)).toEqual(new Set([0, 1]));
  expect(produced.gzip.codecs[0]).toBe(1);
  expect(produced.gzip.codecs.at(-1)).toBe(1);
  expect(produced.plain.codecs.every((codec) => codec === 0)).toBe(true);
  expect(produced.gzip.bytes).toBeLessThan(produced.plain.bytes / 4);

  // Every replica holds the same log, and a consumer in another tab inflates it.
  await expect
    .poll(async () => {
      const statuses = await Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.broker.replicaStatus())));
      return statuses.map((status) => status.find((r) => r.topic === 'events')?.highWatermark);
    })
    .toEqual([2000, 2000, 2000]);
  const read = await consumerTab!.evaluate(async () => {
    const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId: 'readers' });
    await consumer.subscribe({ topic: 'events', fromBeginning: true });
    const decoder = new TextDecoder();
    const seen: { offset: number; n: number; key: string; source: string }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = JSON.parse(decoder.decode(message.value!)) as { n: number };
        seen.push({ offset: Number(message.offset), n: value.n, key: decoder.decode(message.key!), source: decoder.decode(message.headers['source'] as Uint8Array) });
      },
    });
    const deadline = Date.now() + 20_000;
    while (seen.length < 2000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumer.stop();
    return seen;
  });
  expect(read.map((m) => m.offset)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  expect(read.map((m) => m.n)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  expect(read.every((m) => m.key === `user-${m.n % 13}` && m.source === 'tab')).toBe(true);

  // Sent straight to the broker: a batch that says snappy is unsupported, and a gzip batch whose
  // header claims a million records (of twenty) is corrupt. Neither is stored.
  const lying = await compressRecordBatch(encodeRecordBatch(Array.from({ length: 20 }, (_, i) => ({ key: null, value: new TextEncoder().encode(`v${i}`), timestamp: Date.now() }))), CompressionTypes.GZIP);
  new DataView(lying.buffer).setInt32(57, 1_000_000);
  new DataView(lying.buffer).setInt32(23, 999_999);
  new DataView(lying.buffer).setUint32(17, crc32c(lying.subarray(21)));
  const snappyBatch = encodeRecordBatch([{ key: null, value: new TextEncoder().encode('x'), timestamp: Date.now() }]);
  new DataView(snappyBatch.buffer).setInt16(21, 2);
  new DataView(snappyBatch.buffer).setUint32(17, crc32c(snappyBatch.subarray(21)));
  const refused = await producerTab!.evaluate(async (raws) => {
    const { tabka } = window as unknown as ClusterWindow;
    const outcomes: string[] = [];
    for (const raw of raws) {
      outcomes.push(await tabka.broker.produce('events', 0, new Uint8Array(raw), -1, 3000).then(() => 'stored', (error: Error) => error.name));
    }
    const offsets = await tabka.broker.offsets('events', 0);
    return { outcomes, logEnd: offsets.logEndOffset };
  }, [Array.from(snappyBatch), Array.from(lying)]);
  expect(refused).toEqual({ outcomes: ['UnsupportedCompressionTypeError', 'CorruptRecordError'], logEnd: 2000 });
  for (const page of pages) await page.close();
});
