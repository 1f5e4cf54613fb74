import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import type { ClusterDescription, Tabka } from '../../src/index';

type ClusterWindow = Window & { tabka: Tabka };

async function joinTab(context: BrowserContext, query: Record<string, string>): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`/test/browser/pages/cluster.html?${new URLSearchParams(query)}`);
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached' });
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) throw new Error(`tab failed to join: ${error}`);
  return page;
}

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

test('five tabs of one browser form one cluster and agree on the highest id as controller, then on the next after it closes', async ({ context }) => {
  const cluster = `cluster-five-${Date.now()}`;
  const pages = await Promise.all([0, 1, 2, 3, 4].map(() => joinTab(context, { cluster, via: 'broadcast' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  expect(new Set(ids).size).toBe(5);
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));

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
});

test('tabs in separate browser contexts join one cluster through the signaling server', async ({ browser }) => {
  const cluster = `cluster-server-${Date.now()}`;
  const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext()));
  const pages = await Promise.all(contexts.map((context) => joinTab(context, { cluster, via: 'server' })));
  const ids = await Promise.all(pages.map(brokerIdOf));
  for (const page of pages) await expect.poll(() => viewOf(page), { timeout: 30_000 }).toEqual(agreement(ids));
  await Promise.all(contexts.map((context) => context.close()));
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
