import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import type { Tabka } from '../../src/index';
import { encodeRecordBatch } from '../../src/protocol/record-batch';
import { formCluster, hangTab, joinTab } from './cluster-tab';

type ClusterWindow = Window & { tabka: Tabka };

/** Every replica of every partition has the same log end and high watermark: replication caught up. */
async function replicasInSync(pages: Page[], topic: string): Promise<boolean> {
  const statuses = await Promise.all(
    pages.map(async (page) => {
      const status = await page.evaluate(() => (window as unknown as ClusterWindow).tabka.broker.replicaStatus());
      return status;
    }),
  );
  const byPartition = new Map<number, { leo: number; hw: number }[]>();
  for (const status of statuses) {
    for (const replica of status.filter((r) => r.topic === topic)) {
      byPartition.set(replica.partition, [...(byPartition.get(replica.partition) ?? []), { leo: replica.logEndOffset, hw: replica.highWatermark }]);
    }
  }
  return [...byPartition.values()].every((replicas) => replicas.every((r) => r.leo === replicas[0]!.leo && r.hw === r.leo));
}

test('a producer tab sends keyed records with acks=all and a consumer tab reads every one, in order, exactly once', async ({ context }) => {
  const cluster = `data-${Date.now()}`;
  const pages = await formCluster(context, cluster, 3);
  const [producerTab, consumerTab] = pages as [Page, Page, Page];
  await producerTab.evaluate(() =>
    (window as unknown as ClusterWindow).tabka.admin().createTopics({
      topics: [{ topic: 'events', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    }),
  );

  const sent = await producerTab.evaluate(async () => {
    const producer = (window as unknown as ClusterWindow).tabka.producer();
    await producer.connect();
    const acknowledged: { partition: number; offset: number }[] = [];
    // 20 sends of 250 records each, all in flight together: batching and per-partition order under load.
    await Promise.all(
      Array.from({ length: 20 }, async (_, send) => {
        const messages = Array.from({ length: 250 }, (_, i) => ({ key: `user-${(send * 250 + i) % 37}`, value: `${send}:${i}` }));
        const result = await producer.send({ topic: 'events', messages, acks: -1 });
        for (const meta of result) acknowledged.push({ partition: meta.partition, offset: Number(meta.baseOffset) });
      }),
    );
    await producer.disconnect();
    return acknowledged.length;
  });
  expect(sent).toBeGreaterThan(0);

  const received = await consumerTab.evaluate(async () => {
    const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId: 'readers' });
    await consumer.subscribe({ topic: 'events', fromBeginning: true });
    const decoder = new TextDecoder();
    const seen: { partition: number; offset: number; key: string; value: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, offset: Number(message.offset), key: decoder.decode(message.key!), value: decoder.decode(message.value!) });
      },
    });
    const deadline = Date.now() + 30_000;
    while (seen.length < 5000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300)); // anything beyond 5000 would be a duplicate
    await consumer.stop();
    return seen;
  });

  expect(received.length).toBe(5000);
  expect(new Set(received.map((r) => r.value)).size).toBe(5000);
  const byPartition = new Map<number, typeof received>();
  for (const record of received) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record]);
  expect(byPartition.size).toBe(3);
  // (Violations are collected and asserted once: one expect per record would take minutes.)
  const outOfOrder: string[] = [];
  for (const records of byPartition.values()) {
    // Offsets are dense from 0 and, within one send, records of a key keep their order.
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    const lastIndexBySendAndKey = new Map<string, number>();
    for (const { key, value } of records) {
      const [send, index] = value.split(':').map(Number) as [number, number];
      const id = `${send}/${key}`;
      if (index <= (lastIndexBySendAndKey.get(id) ?? -1)) outOfOrder.push(value);
      lastIndexBySendAndKey.set(id, index);
    }
  }
  expect(outOfOrder).toEqual([]);
  // The same key always lands on the same partition (Kafka's murmur2 partitioner).
  const partitionsOfKey = new Map<string, Set<number>>();
  for (const { key, partition } of received) partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(partition));
  expect([...partitionsOfKey.values()].filter((partitions) => partitions.size > 1)).toEqual([]);
  // Every replica holds every record: acks=all waited for the ISR.
  await expect.poll(() => replicasInSync(pages, 'events'), { timeout: 10_000 }).toBe(true);
  // The producer's tab follows the partitions it does not lead: their leaders sent its own
  // batches back as headers alone, and it restored them (the records above are those bytes).
  const producerFollows = (await producerTab.evaluate(() => (window as unknown as ClusterWindow).tabka.broker.replicaStatus())).filter(
    (r) => r.topic === 'events' && r.role === 'follower',
  );
  expect(producerFollows.length).toBeGreaterThan(0);
  for (const replica of producerFollows) expect(replica.echoedBatches).toBeGreaterThan(0);

  // Admin: offsets per partition, then DeleteRecords moves the log start on every replica.
  const offsets = await consumerTab.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().fetchTopicOffsets('events'));
  expect(offsets.map((o) => Number(o.high)).reduce((a, b) => a + b, 0)).toBe(5000);
  expect(offsets.every((o) => o.low === '0' && o.offset === o.high && o.logEndOffset === o.high)).toBe(true);
  await consumerTab.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().deleteTopicRecords({ topic: 'events', partitions: [{ partition: 0, offset: '100' }] }));
  const logStarts = () =>
    Promise.all(pages.map((page) => page.evaluate(async () => (await (window as unknown as ClusterWindow).tabka.broker.replicaStatus()).find((r) => r.topic === 'events' && r.partition === 0)?.logStartOffset)));
  await expect.poll(logStarts, { timeout: 10_000 }).toEqual([100, 100, 100]);
  const beyond = await consumerTab.evaluate(() =>
    (window as unknown as ClusterWindow).tabka.admin().deleteTopicRecords({ topic: 'events', partitions: [{ partition: 1, offset: '999999' }] }).then(() => 'deleted', (e: Error) => e.name),
  );
  expect(beyond).toBe('OffsetOutOfRangeError');

  // Topic configs are enforced by the brokers: max.message.bytes refuses a larger batch.
  const tooLarge = await producerTab.evaluate(async () => {
    const admin = (window as unknown as ClusterWindow).tabka.admin();
    await admin.createTopics({ topics: [{ topic: 'tiny', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] });
    const producer = (window as unknown as ClusterWindow).tabka.producer();
    return producer.send({ topic: 'tiny', messages: [{ value: 'x'.repeat(5000) }], timeout: 5000 }).then(() => 'sent', (e: Error) => e.name);
  });
  expect(tooLarge).toBe('RecordTooLargeError');
});

type ProgressWindow = ClusterWindow & { progress: { acknowledged: string[]; failed: number; done: boolean } };

/** Sends `total` keyed records with acks=all, 500 per send, one send at a time, noting what was acknowledged. */
function startProducing(page: Page, total: number): Promise<void> {
  return page.evaluate(async (count) => {
    const w = window as unknown as ProgressWindow;
    w.progress = { acknowledged: [], failed: 0, done: false };
    const producer = w.tabka.producer();
    for (let sent = 0; sent < count; sent += 500) {
      const messages = Array.from({ length: 500 }, (_, i) => ({ key: `key-${(sent + i) % 101}`, value: String(sent + i) }));
      try {
        await producer.send({ topic: 'orders', messages, acks: -1, timeout: 15_000 });
        for (const m of messages) w.progress.acknowledged.push(m.value);
      } catch {
        w.progress.failed += messages.length;
      }
    }
    w.progress.done = true;
  }, total);
}

const acknowledgedCount = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as ProgressWindow).progress?.acknowledged.length ?? 0);

async function readEverything(page: Page, expected: number): Promise<{ partition: number; offset: number; value: number }[]> {
  return page.evaluate(async (count) => {
    const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId: 'audit' });
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const decoder = new TextDecoder();
    const seen: { partition: number; offset: number; value: number }[] = [];
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) seen.push({ partition: batch.partition, offset: Number(m.offset), value: Number(decoder.decode(m.value!)) });
      },
    });
    const deadline = Date.now() + 60_000;
    while (seen.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for duplicates to show up, if any
    await consumer.stop();
    return seen;
  }, expected);
}

for (const how of ['closes', 'crashes'] as const) {
  test(`acks=all loses nothing and keeps order when a leader tab ${how} mid-stream`, async ({ context }) => {
    test.setTimeout(180_000);
    const cluster = `failover-${how}-${Date.now()}`;
    const pages = await formCluster(context, cluster, 3);
    const [producerTab, consumerTab, victim] = pages as [Page, Page, Page];
    await producerTab.evaluate(() =>
      (window as unknown as ClusterWindow).tabka.admin().createTopics({
        topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      }),
    );
    const victimId = await victim.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId);
    const led = await producerTab.evaluate(
      async (id) => (await (window as unknown as ClusterWindow).tabka.admin().fetchTopicMetadata({ topics: ['orders'] })).topics[0]!.partitions.filter((p) => p.leader === id).length,
      victimId,
    );
    expect(led).toBeGreaterThan(0); // the tab we take away leads a partition

    const producing = startProducing(producerTab, 50_000);
    await expect.poll(() => acknowledgedCount(producerTab), { timeout: 60_000 }).toBeGreaterThan(10_000);
    const beforeFailure = await acknowledgedCount(producerTab);
    if (how === 'closes') {
      await victim.close({ runBeforeUnload: true });
    } else {
      await hangTab(victim);
    }
    await producing;
    const progress = await producerTab.evaluate(() => (window as unknown as ProgressWindow).progress);
    expect(progress.done).toBe(true);
    // Sends went on after the failure: the leader's partitions moved to in-sync followers.
    expect(progress.acknowledged.length).toBeGreaterThan(beforeFailure);
    // A clean close is invisible to the producer: its broker retried while leadership moved.
    if (how === 'closes') expect(progress.failed).toBe(0);

    const received = await readEverything(consumerTab, progress.acknowledged.length);
    const values = received.map((r) => r.value);
    const duplicates = values.length - new Set(values).size;
    expect(duplicates).toBe(0);
    const present = new Set(values);
    expect(progress.acknowledged.filter((v) => !present.has(Number(v)))).toEqual([]);
    const disorder: number[] = [];
    const lastByPartition = new Map<number, number>();
    for (const { partition, value } of received.sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (value <= (lastByPartition.get(partition) ?? -1)) disorder.push(value);
      lastByPartition.set(partition, value);
    }
    expect(disorder).toEqual([]);
    if (how === 'crashes') await victim.close({ runBeforeUnload: false }).catch(() => undefined);

    // The broker comes back (a new tab takes the freed slot: same broker id, same IndexedDB):
    // it catches up, rejoins the ISR, and gets the partitions it prefers to lead back.
    const returned = await joinTab(context, { cluster, via: 'broadcast' });
    expect(await returned.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId)).toBe(victimId);
    await expect
      .poll(
        async () => {
          const { topics } = await producerTab.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().fetchTopicMetadata({ topics: ['orders'] }));
          return topics[0]!.partitions.filter((p) => p.replicas[0] === victimId && p.leader === victimId && p.isr.length === 3).length;
        },
        { timeout: 30_000 },
      )
      .toBe(led);
    await expect.poll(() => replicasInSync([producerTab, consumerTab, returned], 'orders'), { timeout: 15_000 }).toBe(true);
  });
}

test('with min.insync.replicas 2 and two of three tabs gone, acks=all is refused with NotEnoughReplicasError, and nothing is lost once a tab returns', async ({ context }) => {
  test.setTimeout(120_000);
  const cluster = `min-isr-${Date.now()}`;
  const pages = await formCluster(context, cluster, 3);
  // The survivor is the highest id, the controller at the end: a cluster view of two cannot lose
  // its controller and go on (the majority rule; see the README's known limits).
  const ids = await Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId)));
  const order = [...pages].sort((a, b) => ids[pages.indexOf(b)]! - ids[pages.indexOf(a)]!);
  const [survivor, first, second] = order as [Page, Page, Page];
  await survivor.evaluate(() =>
    (window as unknown as ClusterWindow).tabka.admin().createTopics({
      topics: [{ topic: 'ledger', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    }),
  );
  const send = (page: Page, from: number, count: number, acks: -1 | 1) =>
    page.evaluate(
      async ({ from, count, acks }) => {
        const producer = (window as unknown as ClusterWindow).tabka.producer();
        const messages = Array.from({ length: count }, (_, i) => ({ value: String(from + i) }));
        return producer.send({ topic: 'ledger', messages, acks, timeout: 3000 }).then(
          () => 'ok',
          (error: Error) => error.name,
        );
      },
      { from, count, acks },
    );
  expect(await send(survivor, 0, 1000, -1)).toBe('ok');

  await first.close();
  await expect.poll(() => send(survivor, 1000, 100, -1), { timeout: 20_000 }).toBe('ok'); // 2 in sync: still fine
  await second.close();
  // Alone in the ISR: acks=all is refused and writes nothing; acks=1 still goes through.
  await expect.poll(() => send(survivor, 5000, 100, -1), { timeout: 20_000 }).toBe('NotEnoughReplicasError');
  expect(await send(survivor, 2000, 100, 1)).toBe('ok');

  const returned = await joinTab(context, { cluster, via: 'broadcast' });
  await expect.poll(() => send(survivor, 3000, 100, -1), { timeout: 30_000 }).toBe('ok');
  // Tabs that closed said goodbye and went: none stood for controller on the way out (seeing
  // its links close one by one), so the controller never had to step down to take one back.
  const survivorStatus = await survivor.evaluate(() => (window as unknown as ClusterWindow).tabka.clusterStatus());
  expect(survivorStatus.events.filter(({ event }) => event.type === 'resignedController')).toEqual([]);
  const values = await returned.evaluate(async () => {
    const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId: 'check' });
    await consumer.subscribe({ topic: 'ledger', fromBeginning: true });
    const seen: number[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(Number(new TextDecoder().decode(message.value!))) });
    const deadline = Date.now() + 20_000;
    while (seen.length < 1300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.stop();
    return seen;
  });
  const refusedWrites = values.filter((v) => v >= 5000);
  expect(refusedWrites).toEqual([]);
  const expected = [...range(0, 1100), ...range(2000, 2100), ...range(3000, 3100)];
  expect(values.filter((v) => v < 5000).sort((a, b) => a - b)).toEqual(expected);
});

/** A one-partition topic replicated on both of two tabs: which tab leads it, and the other. */
async function replicatedTopic(pages: Page[], topic: string, configs: Record<string, string>): Promise<{ leaderTab: Page; otherTab: Page }> {
  const leader = await pages[0]!.evaluate(
    async ({ topic, configs }) => {
      const admin = (window as unknown as ClusterWindow).tabka.admin();
      const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }));
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 2, configEntries }] });
      return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.leader;
    },
    { topic, configs },
  );
  const ids = await Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId)));
  const leaderTab = pages[ids.indexOf(leader)]!;
  return { leaderTab, otherTab: pages.find((page) => page !== leaderTab)! };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

test("a leader keeps taking acks=all writes while its tab's page is busy: the data channels live in the broker's worker", async ({ context }) => {
  const cluster = `data-busy-${Date.now()}`;
  const pages = await formCluster(context, cluster, 2);
  const { leaderTab, otherTab: producerTab } = await replicatedTopic(pages, 'busy', { 'min.insync.replicas': '2' });

  type AckWindow = ClusterWindow & { ackedAt: number[]; stopSending: boolean };
  const sending = producerTab.evaluate(async () => {
    const w = window as unknown as AckWindow;
    w.ackedAt = [];
    w.stopSending = false;
    const producer = w.tabka.producer({ lingerMs: 0 });
    while (!w.stopSending) {
      await producer.send({ topic: 'busy', messages: [{ value: 'x' }], acks: -1 });
      w.ackedAt.push(Date.now());
    }
  });
  await expect.poll(() => producerTab.evaluate(() => (window as unknown as AckWindow).ackedAt.length)).toBeGreaterThan(10);
  // The leader's page spins for two seconds: the app on it is busy, its broker is not.
  const busy = await leaderTab.evaluate(() => {
    const start = Date.now();
    while (Date.now() - start < 2000) {
      // the app's long task
    }
    return { start, end: Date.now() };
  });
  await producerTab.evaluate(() => ((window as unknown as AckWindow).stopSending = true));
  await sending;
  const acked = await producerTab.evaluate(() => (window as unknown as AckWindow).ackedAt);
  // Acknowledged by the leader and its follower while the leader's page could run nothing.
  expect(acked.filter((at) => at > busy.start + 100 && at < busy.end - 100).length).toBeGreaterThan(10);
  const offsets = await producerTab.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().fetchTopicOffsets('busy'));
  expect(Number(offsets[0]!.high)).toBe(acked.length);
});

test("a cluster topic's logs change only through its replicas, and retention deletes only below the high watermark", async ({ context }) => {
  const pages = await formCluster(context, `data-retention-${Date.now()}`, 2);
  const { leaderTab, otherTab: followerTab } = await replicatedTopic(pages, 'ticks', { 'retention.ms': '1' });
  const send = (from: number, acks: -1 | 1) =>
    leaderTab.evaluate(
      async ({ from, acks }) => {
        const producer = (window as unknown as ClusterWindow).tabka.producer();
        await producer.send({ topic: 'ticks', messages: Array.from({ length: 10 }, (_, i) => ({ value: String(from + i) })), acks });
      },
      { from, acks },
    );
  await send(0, -1);
  // The follower stops fetching: what the leader takes now stays above its high watermark.
  await hangTab(followerTab);
  await send(10, 1);

  const outcome = await leaderTab.evaluate(async () => {
    const { broker } = (window as unknown as ClusterWindow).tabka;
    const refusal = (operation: () => Promise<unknown>) =>
      operation().then(
        () => 'done',
        (error: Error) => error.name,
      );
    const refusals = {
      append: await refusal(() => broker.append('ticks', 0, new Uint8Array(100))),
      createPartition: await refusal(() => broker.createPartition('ticks', 1)),
      truncateTo: await refusal(() => broker.truncateTo('ticks', 0, 0)),
      deleteRecordsBefore: await refusal(() => broker.deleteRecordsBefore('ticks', 0, 20)),
      deletePartition: await refusal(() => broker.deletePartition('ticks', 0)),
      metadataLog: await refusal(() => broker.append('__cluster_metadata', 0, new Uint8Array(100))),
    };
    // A log of the tab's own is still the page's to change.
    await broker.createPartition('scratch', 0);
    const ownLog = await refusal(() => broker.deletePartition('scratch', 0));
    const before = (await broker.replicaStatus()).find((r) => r.topic === 'ticks')!;
    await new Promise((resolve) => setTimeout(resolve, 5)); // every batch is now past retention.ms
    await broker.applyRetention();
    const after = (await broker.replicaStatus()).find((r) => r.topic === 'ticks')!;
    return { refusals, ownLog, before, after };
  });
  expect(outcome.refusals).toEqual({
    append: 'InvalidRequestError',
    createPartition: 'InvalidRequestError',
    truncateTo: 'InvalidRequestError',
    deleteRecordsBefore: 'InvalidRequestError',
    deletePartition: 'InvalidRequestError',
    metadataLog: 'InvalidRequestError',
  });
  expect(outcome.ownLog).toBe('done');
  expect([outcome.before.logStartOffset, outcome.before.highWatermark, outcome.before.logEndOffset]).toEqual([0, 10, 20]);
  // Every batch expired, but only those below the high watermark go: the 10 records the
  // follower never fetched stay until it has them (or leaves the ISR).
  expect([outcome.after.logStartOffset, outcome.after.logEndOffset]).toEqual([10, 20]);
  await followerTab.close({ runBeforeUnload: false }).catch(() => undefined);
});

test("a page's own log is not taken for a cluster topic's history when a topic of that name is created", async ({ context }) => {
  const [tab] = (await formCluster(context, `data-stale-${Date.now()}`, 1)) as [Page];
  const oldRecords = encodeRecordBatch(['old-0', 'old-1', 'old-2', 'old-3', 'old-4'].map((v) => ({ key: null, value: new TextEncoder().encode(v), timestamp: Date.now() })));
  const values = await tab.evaluate(async (oldBytes) => {
    const { tabka } = window as unknown as ClusterWindow;
    // The page's own log, written before the cluster had a topic of that name.
    await tabka.broker.createPartition('later', 0);
    await tabka.broker.append('later', 0, new Uint8Array(oldBytes));
    await tabka.admin().createTopics({ topics: [{ topic: 'later', numPartitions: 1, replicationFactor: 1 }] });
    await tabka.producer().send({ topic: 'later', messages: ['new-0', 'new-1', 'new-2'].map((value) => ({ value })), acks: -1 });
    const consumer = tabka.consumer({ groupId: 'stale-check' });
    await consumer.subscribe({ topic: 'later', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(`${message.offset}:${new TextDecoder().decode(message.value!)}`) });
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await consumer.stop();
    return seen;
  }, Array.from(oldRecords));
  expect(values).toEqual(['0:new-0', '1:new-1', '2:new-2']);
});
