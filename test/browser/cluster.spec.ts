import { expect, test } from '@playwright/test';
import type { BrowserContext, Page, WebSocketRoute } from '@playwright/test';
import type { ClusterDescription, Tabka, TopicMetadata } from '../../src/index';
import { DEV_SIGNALING_SECRET } from '../../src/signaling/dev-defaults';
import { joinTab } from './cluster-tab';
import type { MeshTab } from './pages/mesh-page';

type ClusterWindow = Window & { tabka: Tabka };

const describe = (page: Page): Promise<ClusterDescription> =>
  page.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().describeCluster());
const brokerIdOf = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId);

/** What every tab should agree on: all members, the highest id as controller. */
function agreement(ids: number[]) {
  return { members: [...ids].sort((a, b) => a - b), controller: Math.max(...ids) };
}

async function viewOf(page: Page) {
  const description = await describe(page);
  return { members: description.brokers.map((b) => b.nodeId), controller: description.controller };
}

const topicsOf = (page: Page): Promise<TopicMetadata[]> =>
  page.evaluate(async () => (await (window as unknown as ClusterWindow).tabka.admin().fetchTopicMetadata()).topics);

/** Leaders and replica sets only: what every broker's copy of the metadata must agree on. */
const layoutOf = async (page: Page) =>
  (await topicsOf(page)).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ leader: p.leader, replicas: p.replicas, isr: p.isr })) }));

test('five tabs of one browser form one cluster and agree on the highest id as controller, then on the next after it closes', async ({ context }) => {
  const cluster = `cluster-five-${Date.now()}`;
  const pages = await Promise.all([0, 1, 2, 3, 4].map(() => joinTab(context, { cluster, via: 'broadcast' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  expect(new Set(ids).size).toBe(5);
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));

  // Topics created from a tab that is not the controller: the request travels to the controller.
  const asker = pages[ids.indexOf(Math.min(...ids))]!;
  const created = await asker.evaluate(() =>
    (window as unknown as ClusterWindow).tabka.admin().createTopics({
      topics: [
        { topic: 'orders', numPartitions: 6, replicationFactor: 3 },
        { topic: 'clicks', numPartitions: 5, replicationFactor: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] },
        { topic: 'audit', numPartitions: 1, replicationFactor: 5 },
      ],
    }),
  );
  expect(created).toBe(true);
  // Read-your-writes on the asking tab, then every tab holds the same committed layout.
  expect((await topicsOf(asker)).map((t) => t.name)).toEqual(['audit', 'clicks', 'orders']);
  const layout = await layoutOf(asker);
  for (const page of pages) await expect.poll(() => layoutOf(page), { timeout: 10_000 }).toEqual(layout);
  const orders = (await topicsOf(asker)).find((t) => t.name === 'orders')!;
  for (const p of orders.partitions) {
    expect(new Set(p.replicas).size).toBe(3); // never two replicas of a partition on one broker
    expect(p.leader).toBe(p.replicas[0]);
  }
  // Kafka's layout spreads leaders: 6 partitions over 5 brokers, no broker leads more than 2.
  const leaderCounts = ids.map((id) => orders.partitions.filter((p) => p.leader === id).length);
  expect(Math.max(...leaderCounts)).toBeLessThanOrEqual(2);
  expect((await topicsOf(asker)).find((t) => t.name === 'clicks')?.configs).toEqual({ 'retention.ms': '60000' });
  // A second create of an existing topic resolves false (KafkaJS), a bad one throws its typed error.
  expect(await asker.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().createTopics({ topics: [{ topic: 'orders' }] }))).toBe(false);
  const tooMany = await asker.evaluate(() =>
    (window as unknown as ClusterWindow).tabka
      .admin()
      .createTopics({ topics: [{ topic: 'wide', replicationFactor: 6 }] })
      .then(
        () => 'created',
        (error: Error) => `${error.name}: ${error.message}`,
      ),
  );
  expect(tooMany).toMatch(/^InvalidReplicationFactorError/);

  const controllerPage = pages[ids.indexOf(Math.max(...ids))]!;
  const survivors = pages.filter((page) => page !== controllerPage);
  const survivorIds = ids.filter((id) => id !== Math.max(...ids));
  await controllerPage.close();
  for (const page of survivors) {
    await expect.poll(async () => (await describe(page)).controller, { timeout: 30_000 }).toBe(Math.max(...survivorIds));
  }
  const epochs = await Promise.all(survivors.map(async (page) => (await describe(page)).controllerEpoch));
  expect(new Set(epochs).size).toBe(1);
  // Its goodbye (LEAVE, sent synchronously on pagehide) lets the cluster forget it.
  for (const page of survivors) await expect.poll(() => viewOf(page), { timeout: 10_000 }).toEqual(agreement(survivorIds));

  // The new controller started from the newest metadata: every topic is still there, and the
  // closed broker leads nothing any more (its partitions moved to ISR members, epochs bumped).
  const gone = Math.max(...ids);
  for (const page of survivors) {
    await expect
      .poll(async () => (await topicsOf(page)).flatMap((t) => t.partitions.filter((p) => p.leader === gone || p.isr.includes(gone))).length, {
        timeout: 10_000,
      })
      .toBe(0);
    expect((await topicsOf(page)).map((t) => t.name)).toEqual(['audit', 'clicks', 'orders']);
  }
  const after = await topicsOf(survivors[0]!);
  for (const topic of after) {
    for (const p of topic.partitions) {
      const before = layout.find((t) => t.name === topic.name)!.partitions[p.partitionId]!;
      expect(p.replicas).toEqual(before.replicas);
      if (before.leader === gone) expect(p.leaderEpoch).toBeGreaterThan(0);
      expect(p.leader).not.toBe(-1);
    }
  }
  // And it takes new work.
  await survivors[0]!.evaluate(() =>
    (window as unknown as ClusterWindow).tabka.admin().createTopics({ topics: [{ topic: 'after-failover', numPartitions: 2 }] }),
  );
  for (const page of survivors) {
    await expect.poll(async () => (await topicsOf(page)).map((t) => t.name), { timeout: 10_000 }).toContain('after-failover');
  }
  await survivors[1]!.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().deleteTopics({ topics: ['clicks'] }));
  for (const page of survivors) {
    await expect.poll(async () => (await topicsOf(page)).map((t) => t.name), { timeout: 10_000 }).toEqual(['after-failover', 'audit', 'orders']);
  }
});

test('tabs opened together, found through both discoveries, make every link on the first try and found one cluster', async ({ context }) => {
  const cluster = `cluster-together-${Date.now()}`;
  const pages = await Promise.all([0, 1, 2, 3].map(() => joinTab(context, { cluster, via: 'broadcast,server' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));
  // An offer that reached a tab before its mesh listened was lost, and that link waited out its
  // authentication timeout; a tab that founded beside a higher one still connecting merged later.
  const rejected = await Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.rejectedPeers())));
  expect(rejected.flat()).toEqual([]);
  const founders = await Promise.all(
    pages.map((page) =>
      page.evaluate(async () =>
        (await (window as unknown as ClusterWindow).tabka.clusterStatus()).events.filter((record) => record.event.type === 'becameController' && record.event.electedWith.epoch === 0).length,
      ),
    ),
  );
  expect(founders.reduce((sum, n) => sum + n, 0)).toBe(1);
  for (const page of pages) await page.close();
});

test('tabs in separate browser contexts join one cluster through the signaling server', async ({ browser }) => {
  const cluster = `cluster-server-${Date.now()}`;
  const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext()));
  const pages = await Promise.all(contexts.map((context) => joinTab(context, { cluster, via: 'server' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));
  await Promise.all(contexts.map((context) => context.close()));
});

/**
 * Routes a context's signaling so that, while `hidden(id)`, its tabs never hear of broker `id`
 * (not in `welcome`, no `peer-joined`, no signals): as if their WebRTC links to it were slow to
 * come up. `introduce` then tells its tabs of brokers they were kept from, as the server would.
 */
async function tapSignaling(context: BrowserContext, hidden: (brokerId: number) => boolean) {
  const routes: WebSocketRoute[] = [];
  await context.routeWebSocket(/\/tabka\/signal/, (page) => {
    const server = page.connectToServer();
    routes.push(page);
    page.onMessage((message) => server.send(message));
    server.onMessage((raw) => {
      const message = JSON.parse(String(raw)) as { type: string; brokerId?: number; from?: number; peers?: number[] };
      if (message.type === 'welcome') message.peers = (message.peers ?? []).filter((id) => !hidden(id));
      else if (message.brokerId !== undefined && message.type !== 'welcome' && hidden(message.brokerId)) return;
      else if (message.from !== undefined && hidden(message.from)) return;
      page.send(JSON.stringify(message));
    });
  });
  return {
    introduce(ids: readonly number[]) {
      for (const route of routes) for (const brokerId of ids) route.send(JSON.stringify({ type: 'peer-joined', brokerId }));
    },
  };
}

const statusEventsOf = (page: Page) =>
  page.evaluate(async () => (await (window as unknown as ClusterWindow).tabka.clusterStatus()).events.map((record) => record.event.type));
const topicNamesOf = async (page: Page) => (await topicsOf(page)).map((t) => t.name).sort();

test('clusters founded apart (tabs that could not reach each other in time) merge into one with one metadata log', async ({ browser }) => {
  const cluster = `cluster-apart-${Date.now()}`;
  const [left, right] = await Promise.all([browser.newContext(), browser.newContext()]);
  let apart = true;
  const leftIds = new Set<number>();
  // The left tabs meet each other; once they have, no one else reaches them until they meet the right.
  const leftTap = await tapSignaling(left, (id) => apart && leftIds.size > 0 && !leftIds.has(id));
  const rightTap = await tapSignaling(right, () => apart);
  const leftPages = await Promise.all([0, 1].map(() => joinTab(left, { cluster, via: 'server' })));
  for (const id of await Promise.all(leftPages.map(brokerIdOf))) leftIds.add(id);
  for (const page of leftPages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement([...leftIds]));
  const rightPage = await joinTab(right, { cluster, via: 'server' });
  const rightId = await brokerIdOf(rightPage);
  await expect.poll(() => viewOf(rightPage), { timeout: 30_000 }).toEqual(agreement([rightId]));

  // Each founded cluster commits a topic of its own.
  const create = (page: Page, topic: string, replicationFactor: number) =>
    page.evaluate(
      ({ topic, replicationFactor }) => (window as unknown as ClusterWindow).tabka.admin().createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor }] }),
      { topic, replicationFactor },
    );
  await create(leftPages[0]!, 'left', 2);
  await create(rightPage, 'right', 1);
  for (const page of leftPages) await expect.poll(() => topicNamesOf(page)).toEqual(['left']);
  expect(await topicNamesOf(rightPage)).toEqual(['right']);

  // They meet: one cluster, one controller, one topic list; the absorbed side replaced its log.
  apart = false;
  leftTap.introduce([rightId]);
  rightTap.introduce([...leftIds]);
  const pages = [...leftPages, rightPage];
  const ids = [...leftIds, rightId];
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));
  await expect.poll(async () => new Set(await Promise.all(pages.map(async (page) => JSON.stringify(await topicNamesOf(page))))).size, { timeout: 15_000 }).toBe(1);
  expect([['left'], ['right']]).toContainEqual(await topicNamesOf(rightPage));

  // A topic made after the merge reaches every tab, with all three in its ISR.
  await create(pages[0]!, 'orders', 3);
  for (const page of pages) {
    await expect
      .poll(async () => (await topicsOf(page)).find((t) => t.name === 'orders')?.partitions[0]?.isr.length, { timeout: 15_000 })
      .toBe(3);
  }
  const events = await Promise.all(pages.map(statusEventsOf));
  expect(events.flat().filter((type) => type === 'metadataConflict')).toEqual([]);
  expect(events.flat()).toContain('replaced');
  await Promise.all([left.close(), right.close()]);
});

test('a tab with the wrong secret is refused by the signaling server and by peers and never becomes a member', async ({ browser, context }) => {
  const cluster = `cluster-secret-${Date.now()}`;
  const pages = await Promise.all([0, 1].map(() => joinTab(context, { cluster, via: 'broadcast,server' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  await expect.poll(() => viewOf(pages[0]!), { timeout: 30_000 }).toEqual(agreement(ids));

  // Over the signaling server the wrong secret is refused at the door (close code 4001).
  const other = await browser.newContext();
  const refused = await other.newPage();
  const signalingUrl = `${(test.info().project.use.baseURL ?? '').replace(/^http/, 'ws')}/tabka/signal`;
  await refused.goto(`/test/browser/pages/cluster.html?${new URLSearchParams({ cluster, via: 'server', secret: 'wrong', signalingUrl })}`);
  await refused.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached' });
  expect(await refused.evaluate(() => document.body.dataset.error)).toMatch(/SignalingConnectionError.*4001/);

  // Over BroadcastChannel it reaches the peers, which refuse it after the HMAC check.
  const intruder = await joinTab(context, { cluster, via: 'broadcast', secret: 'wrong' });
  const intruderId = await brokerIdOf(intruder);
  for (const page of pages) {
    await expect
      .poll(() => page.evaluate(() => (window as unknown as ClusterWindow).tabka.rejectedPeers().map((r) => [r.brokerId, r.reason])), { timeout: 30_000 })
      .toContainEqual([intruderId, 'the peer does not know the cluster secret']);
  }
  expect((await intruder.evaluate(() => (window as unknown as ClusterWindow).tabka.clusterStatus())).connectedPeers).toEqual([]);
  for (const page of pages) {
    const view = await viewOf(page);
    expect(view).toEqual(agreement(ids));
    expect(view.members).not.toContain(intruderId);
  }
  await other.close();
});

test('a tab running an older tabka protocol is refused at the handshake, each side naming the tab to reload', async ({ context }) => {
  const cluster = `cluster-protocol-${Date.now()}`;
  const pages = await Promise.all([0, 1].map(() => joinTab(context, { cluster, via: 'broadcast' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  await expect.poll(() => viewOf(pages[0]!), { timeout: 30_000 }).toEqual(agreement(ids));

  // An older bundle, as a tab left open across a deploy runs: the same code one protocol back.
  const older = await context.newPage();
  let served = false;
  await older.route(/\/src\/transport\/peer-auth\.ts/, async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace(/PROTOCOL_VERSION = (\d+)/, (_, version: string) => `PROTOCOL_VERSION = ${Number(version) - 1}`);
    served = true;
    await route.fulfill({ response, body });
  });
  await older.goto(`/test/browser/pages/cluster.html?${new URLSearchParams({ cluster, via: 'broadcast' })}`);
  await older.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  expect(served).toBe(true);
  const olderId = await brokerIdOf(older);
  const reasons = (page: Page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.rejectedPeers().map((r) => [r.brokerId, r.reason]));
  for (const page of pages) {
    await expect
      .poll(() => reasons(page), { timeout: 30_000 })
      .toContainEqual([olderId, expect.stringMatching(/^the peer runs tabka protocol \d+ and this tab \d+: tabs of one cluster must run the same version \(reload the peer\)$/)]);
  }
  for (const id of ids) {
    await expect.poll(() => reasons(older), { timeout: 30_000 }).toContainEqual([id, expect.stringMatching(/\(reload this tab\)$/)]);
  }
  expect((await older.evaluate(() => (window as unknown as ClusterWindow).tabka.clusterStatus())).connectedPeers).toEqual([]);
  for (const page of pages) expect((await viewOf(page)).members).not.toContain(olderId);
  await older.close();
});

test('a peer that sends garbage on its data channel is hung up on, and the broker carries on', async ({ context }) => {
  const cluster = `cluster-hostile-${Date.now()}`;
  const victim = await joinTab(context, { cluster, via: 'broadcast' });
  const victimId = await brokerIdOf(victim);
  // A bare mesh tab that knows the secret: it authenticates, then writes straight onto the
  // data channel that the victim's broker worker reads (the page is not in that path).
  const hostile = await context.newPage();
  await hostile.goto(`/test/browser/pages/mesh.html?${new URLSearchParams({ id: '1', cluster, via: 'broadcast', secret: DEV_SIGNALING_SECRET })}`);
  await hostile.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  type HostileWindow = Window & { meshTab: MeshTab };
  await expect.poll(() => hostile.evaluate(() => (window as unknown as HostileWindow).meshTab.connected()), { timeout: 20_000 }).toEqual([victimId]);

  // A well-chunked frame that is no frame: dropped, the link stays. Then a chunk shorter than
  // its header: the worker asks its page to hang up, and says why.
  await hostile.evaluate((to) => (window as unknown as HostileWindow).meshTab.sendRawData(to, [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9, 9]), victimId);
  await hostile.evaluate((to) => (window as unknown as HostileWindow).meshTab.sendRawData(to, [1, 2, 3]), victimId);
  const refusals = () => victim.evaluate(() => (window as unknown as ClusterWindow).tabka.rejectedPeers().map(({ brokerId, reason }) => ({ brokerId, reason })));
  await expect.poll(refusals).toEqual([{ brokerId: 1, reason: 'Invalid frame: a chunk shorter than its header' }]);

  // The broker is unharmed: it still answers, writes and reads.
  await hostile.close();
  const offsets = await victim.evaluate(async () => {
    const { tabka } = window as unknown as ClusterWindow;
    await tabka.admin().createTopics({ topics: [{ topic: 'after-garbage', numPartitions: 1, replicationFactor: 1 }] });
    await tabka.producer().send({ topic: 'after-garbage', messages: [{ value: 'still here' }], acks: 1 });
    return tabka.admin().fetchTopicOffsets('after-garbage');
  });
  expect(offsets.map((o) => o.high)).toEqual(['1']);
});
