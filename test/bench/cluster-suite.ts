// Cluster timings in real Chromium: tabs joining over WebRTC until all agree on members and
// controller, and how long the survivors take to agree on a new controller after it closes.
import type { BrowserContext, Page } from '@playwright/test';
import type { ClusterDescription, Tabka } from '../../src/index';

type ClusterWindow = Window & { tabka: Tabka };

const POLL_MS = 10;

async function views(pages: readonly Page[]): Promise<ClusterDescription[]> {
  return Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.admin().describeCluster())));
}

/**
 * Polls until every tab reports the highest of `live` as controller and, when `members` is
 * given, exactly those members. (A closed tab's goodbye is best effort, so after a failover
 * only the controller is compared.)
 */
async function untilAgreed(pages: readonly Page[], live: readonly number[], members?: readonly number[], timeoutMs = 30_000): Promise<void> {
  const expected = members ? [...members].sort((a, b) => a - b).join(',') : undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await views(pages);
    const agreed = all.every(
      (view) =>
        view.controller === Math.max(...live) && (expected === undefined || view.brokers.map((b) => b.nodeId).join(',') === expected),
    );
    if (agreed) return;
    if (Date.now() > deadline) throw new Error(`no agreement within ${timeoutMs} ms: ${JSON.stringify(all)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function clusterTimings(
  context: BrowserContext,
  baseUrl: string,
  tabs: number,
  cluster: string,
): Promise<{ formationMs: number; failoverMs: number }> {
  const url = new URL(`test/browser/pages/cluster.html?${new URLSearchParams({ cluster, via: 'broadcast' })}`, baseUrl).href;
  const pages = await Promise.all(Array.from({ length: tabs }, () => context.newPage()));
  const start = performance.now();
  await Promise.all(pages.map((page) => page.goto(url)));
  await Promise.all(pages.map((page) => page.waitForSelector('body[data-ready="true"]', { state: 'attached' })));
  const ids = await Promise.all(pages.map((page) => page.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId)));
  await untilAgreed(pages, ids, ids);
  const formationMs = performance.now() - start;

  const controller = Math.max(...ids);
  const survivors = pages.filter((_, i) => ids[i] !== controller);
  const closing = pages[ids.indexOf(controller)] as Page;
  const closedAt = performance.now();
  await closing.close();
  await untilAgreed(survivors, ids.filter((id) => id !== controller));
  return { formationMs, failoverMs: performance.now() - closedAt };
}
