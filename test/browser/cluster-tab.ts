// Opening a tab that joins a tabka cluster (test/browser/pages/cluster.html), for the specs.
import { expect } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import type { Tabka } from '../../src/index';

/** A new tab that has joined the cluster named in `query` (default: over BroadcastChannel). */
export async function joinTab(context: BrowserContext, query: Record<string, string>): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`/test/browser/pages/cluster.html?${new URLSearchParams(query)}`);
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached' });
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) throw new Error(`tab failed to join: ${error}`);
  return page;
}

/** `size` tabs joining `cluster` over BroadcastChannel, once every one of them sees all `size` brokers active. */
export async function formCluster(context: BrowserContext, cluster: string, size: number): Promise<Page[]> {
  const pages = await Promise.all(Array.from({ length: size }, () => joinTab(context, { cluster, via: 'broadcast' })));
  for (const page of pages) {
    await expect
      .poll(async () => (await page.evaluate(() => (window as unknown as { tabka: Tabka }).tabka.admin().describeCluster())).brokers.filter((b) => b.active).length, { timeout: 30_000 })
      .toBe(size);
  }
  return pages;
}

/**
 * The tab stops dead without a word: its broker's worker (which holds the data channels) and
 * its page both spin forever, so peers hear nothing more, no goodbye, no closed channel, just
 * silence. (CDP's Page.crash took the neighbouring tabs down with it in this Chromium, so a
 * hang stands in for a crash.) Hanging the page alone no longer silences a broker.
 */
export async function hangTab(page: Page): Promise<void> {
  const spin = () => {
    for (;;) {
      // spin
    }
  };
  for (const worker of page.workers()) void worker.evaluate(spin).catch(() => undefined);
  void page.evaluate(spin).catch(() => undefined);
}
