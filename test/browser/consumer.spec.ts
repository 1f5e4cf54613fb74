// The consumer's own controls, the way an app uses them in one tab: message fields, seek back
// to reprocess, pause and resume, eachBatch with resolveOffset, and fetches large enough to be
// handed over in several slices.
import { expect, test } from '@playwright/test';
import type { Tabka } from '../../src/index';
import { joinTab } from './cluster-tab';

type ClusterWindow = Window & { tabka: Tabka };

test('a consumer reads fields intact, seeks back, pauses and resumes, and resolves offsets in eachBatch', async ({ context }) => {
  const tab = await joinTab(context, { cluster: `consumer-${Date.now()}`, via: 'broadcast' });
  const outcome = await tab.evaluate(async () => {
    const { tabka } = window as unknown as ClusterWindow;
    const until = async (done: () => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await tabka.admin().createTopics({ topics: [{ topic: 'fields', numPartitions: 1, replicationFactor: 1 }, { topic: 'bulk', numPartitions: 1, replicationFactor: 1 }] });
    const producer = tabka.producer();
    await producer.send({
      topic: 'fields',
      acks: -1,
      messages: Array.from({ length: 100 }, (_, i) => ({
        key: i % 10 === 0 ? null : `k${i}`,
        value: i % 7 === 0 ? null : `v${i}`,
        timestamp: String(1_700_000_000_000 + i),
        ...(i % 3 === 0 ? { headers: { n: String(i), 'trace-id': `t${i}` } } : {}),
      })),
    });
    // 60,000 records of 200 bytes (~12 MB) written as many batches: one 8 MiB fetch is
    // handed over in several slices.
    const payload = new Uint8Array(200);
    for (let send = 0; send < 6; send++) {
      payload[0] = send;
      await producer.send({ topic: 'bulk', acks: 1, messages: Array.from({ length: 10_000 }, (_, i) => ({ value: payload, key: String(send * 10_000 + i) })) });
    }

    // Fields, then a seek back to 90 after the first pass: 90..99 come again.
    const decoder = new TextDecoder();
    const text = (bytes: Uint8Array | null) => (bytes === null ? null : decoder.decode(bytes));
    const fields: { offset: string; key: string | null; value: string | null; timestamp: string; headers: Record<string, string | null>; json: string }[] = [];
    const reader = tabka.consumer({ groupId: 'fields-reader' });
    reader.assign([{ topic: 'fields' }]);
    reader.seek({ topic: 'fields', partition: 0, offset: '0' });
    let sought = false;
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, text(v)]));
        fields.push({ offset: message.offset, key: text(message.key), value: text(message.value), timestamp: message.timestamp, headers, json: JSON.stringify(message) });
        if (message.offset === '99' && !sought) {
          sought = true;
          reader.seek({ topic: 'fields', partition: 0, offset: '90' });
        }
      },
    });
    await until(() => fields.length >= 110, '110 deliveries');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reader.stop();

    // Pause from inside eachMessage at offset 25: nothing more until resume.
    const pausedSeen: number[] = [];
    let resumeAt: (() => void) | null = null;
    const pauser = tabka.consumer({ groupId: 'pauser' });
    pauser.assign([{ topic: 'fields' }]);
    pauser.seek({ topic: 'fields', partition: 0, offset: '0' });
    await pauser.run({
      eachMessage: async ({ message, pause }) => {
        pausedSeen.push(Number(message.offset));
        if (message.offset === '25' && resumeAt === null) resumeAt = pause();
      },
    });
    await until(() => resumeAt !== null, 'the pause');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = pausedSeen.length;
    (resumeAt as unknown as () => void)();
    await until(() => pausedSeen.length >= 100, 'the rest after resume');
    await pauser.stop();

    // eachBatch without auto-resolve: resolving only up to 4999 of each batch in the first
    // pass makes what follows come again; then everything, sliced.
    const bulk = tabka.consumer({ groupId: 'bulk-reader', maxBytesPerPartition: 8 * 1024 * 1024 });
    bulk.assign([{ topic: 'bulk' }]);
    bulk.seek({ topic: 'bulk', partition: 0, offset: '0' });
    const firstOffsets: number[] = [];
    const batchSizes: number[] = [];
    const keys: number[] = [];
    let heldBack = false;
    await bulk.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        firstOffsets.push(Number(batch.firstOffset()));
        batchSizes.push(batch.messages.length);
        for (const message of batch.messages) {
          if (!heldBack && message.offset === '5000') {
            heldBack = true;
            return; // 0..4999 resolved, the rest of this batch will be fetched again
          }
          keys.push(Number(decoder.decode(message.key!)));
          resolveOffset(message.offset);
        }
      },
    });
    await until(() => keys.length >= 60_000, 'all bulk records');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bulk.stop();
    return { fields, whilePaused, pausedSeen, firstOffsets, batchSizes, keys };
  });

  const first = outcome.fields.slice(0, 100);
  expect(first.map((f) => Number(f.offset))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(first[10]).toMatchObject({ key: null, value: 'v10', timestamp: '1700000000010', headers: {} });
  expect(first[21]).toMatchObject({ key: 'k21', value: null, headers: { n: '21', 'trace-id': 't21' } });
  expect(first[22]).toMatchObject({ key: 'k22', value: 'v22', timestamp: '1700000000022', headers: {} });
  // JSON.stringify sees every field (they are getters on the message).
  expect(Object.keys(JSON.parse(first[3]!.json) as object).sort()).toEqual(['headers', 'key', 'offset', 'timestamp', 'value']);
  expect(outcome.fields.slice(100).map((f) => Number(f.offset))).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);

  expect(outcome.whilePaused).toBe(26); // 0..25, then nothing while paused
  expect(outcome.pausedSeen).toEqual(Array.from({ length: 100 }, (_, i) => i));

  // Every key once, in order, although the first pass held 5000.. back.
  expect(outcome.keys).toEqual(Array.from({ length: 60_000 }, (_, i) => i));
  expect(outcome.firstOffsets.filter((offset) => offset === 5000).length).toBeGreaterThanOrEqual(1);
  // An 8 MiB fetch of ~12 MB came as slices of about 1 MiB: many calls, none near the whole log.
  expect(Math.max(...outcome.batchSizes)).toBeLessThan(20_000);
  await tab.close();
});
