import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { CONSUMER_OFFSETS_TOPIC, offsetsPartitionFor } from '../../src/coordinator/group-records';
import type { Consumer, Tabka } from '../../src/index';
import { formCluster, hangTab } from './cluster-tab';

interface Processed {
  readonly partition: number;
  readonly offset: number;
  readonly at: number;
}

/** In each tab: its consumers by name, and what each processed. */
type GroupWindow = Window & {
  tabka: Tabka;
  runs?: Record<string, { consumer: Consumer; processed: Processed[] }>;
};

/** Starts a group member in the tab, named `run`, that notes every record it processes. */
function startMember(page: Page, run: string, groupId: string, topic: string): Promise<void> {
  return page.evaluate(
    async ({ run, groupId, topic }) => {
      const w = window as unknown as GroupWindow;
      const consumer = w.tabka.consumer({ groupId });
      const processed: Processed[] = [];
      w.runs = { ...w.runs, [run]: { consumer, processed } };
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          processed.push({ partition, offset: Number(message.offset), at: Date.now() });
        },
      });
    },
    { run, groupId, topic },
  );
}

const assignmentOf = (page: Page, run: string) =>
  page.evaluate((name) => (window as unknown as GroupWindow).runs![name]!.consumer.assignment().map((tp) => tp.partition).sort((a, b) => a - b), run);

const processedBy = (page: Page, run: string) => page.evaluate((name) => [...(window as unknown as GroupWindow).runs![name]!.processed], run);

async function produce(page: Page, topic: string, from: number, count: number): Promise<void> {
  await page.evaluate(
    async ({ topic, from, count }) => {
      const producer = (window as unknown as GroupWindow).tabka.producer();
      const messages = Array.from({ length: count }, (_, i) => ({ key: `k-${(from + i) % 53}`, value: String(from + i) }));
      await producer.send({ topic, messages, acks: -1, timeout: 30_000 });
      await producer.disconnect();
    },
    { topic, from, count },
  );
}

/** The group's committed offsets per partition (-1: none) and the total lag. */
async function committed(page: Page, groupId: string, topic: string): Promise<{ offsets: number[]; lag: number }> {
  const [commits] = await page.evaluate(({ groupId, topic }) => (window as unknown as GroupWindow).tabka.admin().fetchOffsets({ groupId, topics: [topic] }), { groupId, topic });
  const partitions = commits!.partitions.sort((a, b) => a.partition - b.partition);
  return { offsets: partitions.map((p) => Number(p.offset)), lag: partitions.reduce((sum, p) => sum + Number(p.lag), 0) };
}

/** The broker leading the group's partition of __consumer_offsets: its coordinator. */
async function coordinatorOf(page: Page, groupId: string): Promise<number> {
  const partition = offsetsPartitionFor(groupId);
  return page.evaluate(
    async ({ topic, partition }) => {
      const metadata = await (window as unknown as GroupWindow).tabka.broker.clusterMetadata();
      return metadata.topics.find((t) => t.name === topic)?.partitions[partition]?.leader ?? -1;
    },
    { topic: CONSUMER_OFFSETS_TOPIC, partition },
  );
}

const key = (p: Processed) => `${p.partition}:${p.offset}`;

test('one group shares the partitions like a queue, other groups each get everything, and a closing member hands its partitions on', async ({ context }) => {
  test.setTimeout(180_000);
  const pages = await formCluster(context, `groups-${Date.now()}`, 3);
  const [tab0, tab1, tab2] = pages as [Page, Page, Page];
  await tab0.evaluate(() => (window as unknown as GroupWindow).tabka.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 6, replicationFactor: 3 }] }));

  await Promise.all([startMember(tab0, 'a', 'A', 'orders'), startMember(tab1, 'a', 'A', 'orders'), startMember(tab2, 'a', 'A', 'orders')]);
  await startMember(tab0, 'b', 'B', 'orders');
  await startMember(tab1, 'c', 'C', 'orders');
  // Three members of A, six partitions: two each, every partition owned once.
  await expect.poll(async () => (await Promise.all(pages.map((p) => assignmentOf(p, 'a')))).map((a) => a.length), { timeout: 20_000 }).toEqual([2, 2, 2]);
  expect((await Promise.all(pages.map((p) => assignmentOf(p, 'a')))).flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);

  await produce(tab0, 'orders', 0, 600);
  await expect.poll(async () => (await committed(tab0, 'A', 'orders')).lag, { timeout: 30_000 }).toBe(0);
  const before = await committed(tab0, 'A', 'orders');
  expect(before.offsets.reduce((a, b) => a + b, 0)).toBe(600);
  const fromClosingTab = await processedBy(tab2, 'a');
  expect(fromClosingTab.length).toBeGreaterThan(0);

  // The tab closes (pagehide): its broker says goodbye, its member leaves, the group rebalances.
  const closedAt = Date.now();
  await tab2.close({ runBeforeUnload: true });
  await expect.poll(async () => (await Promise.all([tab0, tab1].map((p) => assignmentOf(p, 'a')))).map((a) => a.length), { timeout: 10_000 }).toEqual([3, 3]);
  expect((await Promise.all([tab0, tab1].map((p) => assignmentOf(p, 'a')))).flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);

  await produce(tab0, 'orders', 600, 600);
  await expect.poll(async () => (await committed(tab0, 'A', 'orders')).lag, { timeout: 30_000 }).toBe(0);
  const groupA = [...(await processedBy(tab0, 'a')), ...(await processedBy(tab1, 'a')), ...fromClosingTab];
  // Queue: between them the members processed each of the 1200 records exactly once.
  expect(groupA.length).toBe(1200);
  expect(new Set(groupA.map(key)).size).toBe(1200);
  // Nothing committed before the close was processed again after it.
  const again = groupA.filter((p) => p.at >= closedAt && p.offset < before.offsets[p.partition]!);
  expect(again).toEqual([]);
  // Publish/subscribe: groups B and C each received every record.
  for (const [page, run] of [
    [tab0, 'b'],
    [tab1, 'c'],
  ] as const) {
    await expect.poll(async () => new Set((await processedBy(page, run)).map(key)).size, { timeout: 20_000 }).toBe(1200);
    expect((await processedBy(page, run)).length).toBe(1200);
  }

  // The admin sees the group: two stable members, the assignment, and no lag.
  const description = await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().describeGroups(['A']));
  const groupDescription = description.groups[0]!;
  expect(groupDescription.state).toBe('Stable');
  expect(groupDescription.protocol).toBe('cooperative-sticky');
  expect(groupDescription.members.map((m) => m.memberAssignment.length).sort()).toEqual([3, 3]);
  const listed = await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().listGroups());
  expect(listed.groups.map((g) => g.groupId).sort()).toEqual(['A', 'B', 'C']);

  // An empty group's offsets can be reset and it can be deleted; a live one cannot.
  const refused = await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().deleteGroups(['C']));
  expect(refused[0]!.errorCode).toBe('NON_EMPTY_GROUP');
  await tab1.evaluate(() => (window as unknown as GroupWindow).runs!['c']!.consumer.disconnect());
  await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().resetOffsets({ groupId: 'C', topic: 'orders', earliest: true }));
  expect((await committed(tab1, 'C', 'orders')).offsets).toEqual([0, 0, 0, 0, 0, 0]);
  const deleted = await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().deleteGroups(['C']));
  expect(deleted[0]!.errorCode).toBe(0);
  expect(await tab1.evaluate(() => (window as unknown as GroupWindow).tabka.admin().listGroups().then((r) => r.groups.map((g) => g.groupId).sort()))).toEqual(['A', 'B']);
});

test('a group carries on when its coordinator tab dies, with its committed offsets intact', async ({ context }) => {
  test.setTimeout(180_000);
  const pages = await formCluster(context, `coordinator-${Date.now()}`, 4);
  const [first] = pages as [Page];
  await first.evaluate(() => (window as unknown as GroupWindow).tabka.admin().createTopics({ topics: [{ topic: 'jobs', numPartitions: 4, replicationFactor: 3 }] }));
  // Any group request creates __consumer_offsets; then find the tab coordinating group "workers".
  await first.evaluate(() => (window as unknown as GroupWindow).tabka.admin().fetchOffsets({ groupId: 'workers' }));
  const coordinatorId = await coordinatorOf(first, 'workers');
  const ids = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as GroupWindow).tabka.brokerId)));
  const coordinatorTab = pages[ids.indexOf(coordinatorId)]!;
  const [memberTab1, memberTab2] = pages.filter((p) => p !== coordinatorTab) as [Page, Page, Page];

  await Promise.all([startMember(memberTab1, 'w', 'workers', 'jobs'), startMember(memberTab2, 'w', 'workers', 'jobs')]);
  await expect.poll(async () => (await Promise.all([memberTab1, memberTab2].map((p) => assignmentOf(p, 'w')))).flat().sort(), { timeout: 20_000 }).toEqual([0, 1, 2, 3]);
  await produce(memberTab1, 'jobs', 0, 400);
  await expect.poll(async () => (await committed(memberTab1, 'workers', 'jobs')).lag, { timeout: 30_000 }).toBe(0);
  const before = await committed(memberTab1, 'workers', 'jobs');

  // The coordinator's tab stops dead: no goodbye (worker and page hang, as in the data path test).
  const crashedAt = Date.now();
  await hangTab(coordinatorTab);

  await produce(memberTab1, 'jobs', 400, 400);
  await expect.poll(async () => (await committed(memberTab1, 'workers', 'jobs')).lag, { timeout: 60_000 }).toBe(0);
  const after = await committed(memberTab2, 'workers', 'jobs');
  // Intact: every committed offset is where it was or further, and everything got committed.
  expect(after.offsets.every((offset, p) => offset >= before.offsets[p]!)).toBe(true);
  expect(after.offsets.reduce((a, b) => a + b, 0)).toBe(800);
  const processed = [...(await processedBy(memberTab1, 'w')), ...(await processedBy(memberTab2, 'w'))];
  expect(new Set(processed.map(key)).size).toBe(800);
  expect(processed.filter((p) => p.at >= crashedAt && p.offset < before.offsets[p.partition]!)).toEqual([]);
  expect(await coordinatorOf(memberTab1, 'workers')).not.toBe(coordinatorId);
  await coordinatorTab.close({ runBeforeUnload: false }).catch(() => undefined);
});

test('consumer details: events, reset policies, commit thresholds, admin offsets and a custom assignor', async ({ context }) => {
  const [tab] = (await formCluster(context, `consumer-api-${Date.now()}`, 1)) as [Page];
  const outcome = await tab.evaluate(async () => {
    const { tabka } = window as unknown as GroupWindow;
    const admin = tabka.admin();
    await admin.createTopics({ topics: [{ topic: 'ledger', numPartitions: 2, replicationFactor: 1 }] });
    const producer = tabka.producer();
    await producer.send({ topic: 'ledger', messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, value: String(i) })) });
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return check();
    };

    // Events, and commits every 5 messages (autoCommitThreshold) from the beginning.
    const events: string[] = [];
    const commits: number[] = [];
    const first = tabka.consumer({ groupId: 'ledger-readers' });
    first.on('consumer.group_join', (e) => events.push(`join:${e.payload.isLeader}:${e.payload.groupProtocol}`));
    first.on('consumer.commit_offsets', (e) => commits.push(e.payload.topics.flatMap((t) => t.partitions).length));
    let seen = 0;
    await first.subscribe({ topic: 'ledger', fromBeginning: true });
    await first.run({ autoCommitThreshold: 5, eachMessage: async () => void seen++ });
    const sawAll = await until(() => seen === 40);
    const committedAll = await until(() => commits.length > 0);
    await first.disconnect();
    const afterFirst = await admin.fetchOffsets({ groupId: 'ledger-readers', topics: ['ledger'] });

    // A new member of the same group starts from the committed offsets: nothing again.
    await producer.send({ topic: 'ledger', messages: [{ partition: 0, value: 'late' }] });
    const second = tabka.consumer({ groupId: 'ledger-readers' });
    const secondSeen: string[] = [];
    await second.subscribe({ topic: 'ledger' });
    await second.run({ eachMessage: async ({ message }) => void secondSeen.push(new TextDecoder().decode(message.value!)) });
    await until(() => secondSeen.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.disconnect();

    // 'none' with no committed offset is an error event, not a silent choice.
    const strict = tabka.consumer({ groupId: 'strict', autoOffsetReset: 'none' });
    const crashes: string[] = [];
    strict.on('consumer.crash', (e) => crashes.push(e.payload.error.name));
    await strict.subscribe({ topic: 'ledger' });
    await strict.run({ eachMessage: async () => undefined });
    await until(() => crashes.length === 2);
    await strict.disconnect();

    // The admin's setOffsets moves an empty group back; committed offsets win over 'latest'.
    await admin.setOffsets({ groupId: 'rewind', topic: 'ledger', partitions: [{ partition: 0, offset: '18' }, { partition: 1, offset: '19' }] });
    const rewound = tabka.consumer({ groupId: 'rewind', autoOffsetReset: 'latest' });
    const rewoundSeen: string[] = [];
    await rewound.subscribe({ topic: 'ledger' });
    await rewound.run({ eachMessage: async ({ message }) => void rewoundSeen.push(new TextDecoder().decode(message.value!)) });
    await until(() => rewoundSeen.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rewound.disconnect();

    // A custom assignor: everything to the member with the lowest id.
    const greedy = {
      name: 'lowest-takes-all',
      rebalanceProtocol: 'eager' as const,
      assign: ({ members, partitionsPerTopic }: { members: readonly { memberId: string }[]; partitionsPerTopic: Readonly<Record<string, number>> }) => {
        const all = Object.entries(partitionsPerTopic).flatMap(([topic, count]) => Array.from({ length: count }, (_, partition) => ({ topic, partition })));
        return new Map(members.map((m, i) => [m.memberId, i === 0 ? all : []]));
      },
    };
    const custom = [tabka.consumer({ groupId: 'custom', partitionAssigners: [greedy] }), tabka.consumer({ groupId: 'custom', partitionAssigners: [greedy] })];
    for (const c of custom) {
      await c.subscribe({ topic: 'ledger' });
      await c.run({ eachMessage: async () => undefined });
    }
    await until(() => custom.map((c) => c.assignment().length).sort().join() === '0,2');
    const customShares = custom.map((c) => c.assignment().length).sort();
    const customGroup = (await admin.describeGroups(['custom'])).groups[0]!;
    await Promise.all(custom.map((c) => c.disconnect()));
    return { sawAll, committedAll, events, afterFirst, secondSeen, crashes, rewoundSeen, customShares, customProtocol: customGroup.protocol };
  });
  expect(outcome.sawAll).toBe(true);
  expect(outcome.committedAll).toBe(true);
  expect(outcome.events[0]).toBe('join:true:cooperative-sticky');
  expect(outcome.afterFirst[0]!.partitions.map((p) => [p.offset, p.lag])).toEqual([
    ['20', '0'],
    ['20', '0'],
  ]);
  expect(outcome.secondSeen).toEqual(['late']);
  expect(outcome.crashes).toEqual(['NoOffsetForPartitionError', 'NoOffsetForPartitionError']);
  // Partition 0 holds the even values and 'late' (offset 20), partition 1 the odd ones.
  expect(outcome.rewoundSeen.sort()).toEqual(['36', '38', '39', 'late']);
  expect(outcome.customShares).toEqual([0, 2]);
  expect(outcome.customProtocol).toBe('lowest-takes-all');
});
