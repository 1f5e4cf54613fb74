// Opening a tab that joins a tabka cluster (test/browser/pages/cluster.html), for the specs.
import type { BrowserContext, Page } from '@playwright/test';

/** A new tab that has joined the cluster named in `query` (default: over BroadcastChannel). */
export async function joinTab(context: BrowserContext, query: Record<string, string>): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`/test/browser/pages/cluster.html?${new URLSearchParams(query)}`);
  await page.waitForSelector('body[data-ready="true"], body[data-error]', { state: 'attached' });
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) throw new Error(`tab failed to join: ${error}`);
  return page;
}
