// Consumer group rebalancing in real Chromium: three member tabs share a topic's six
// partitions; one tab closes, and the clock runs until the other two consume all six.
import type { Browser, Page } from '@playwright/test';
import type { Consumer, Tabka } from '../../src/index';
import { newContext, openTabs } from './data-suite';

type GroupWindow = Window & { tabka: Tabka; member?: Consumer; fullAt?: number };

const PARTITIONS = 6;
const MEMBERS = 3;

async function startMember(page: Page): Promise<void> {
  await page.evaluate(async (partitions) => {
    const w = window as unknown as GroupWindow;
    const admin = w.tabka.admin();
    // Right after forming, a broker may still be settling in as live at the controller: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.createTopics({ topics: [{ topic: 'work', numPartitions: partitions, replicationFactor: 3 }] });
        break;
      } catch (error) {
        if (attempt >= 20 || (error as Error).name !== 'InvalidReplicationFactorError') throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const member = w.tabka.consumer({ groupId: 'bench-group' });
    w.member = member;
    await member.subscribe({ topic: 'work' });
    await member.run({ eachMessage: async () => undefined });
  }, PARTITIONS);
}

const assigned = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as GroupWindow).member!.assignment().length);

/** Notes, in the tab, when this member consumes `count` partitions (its fetch loops are running). */
function watchFor(page: Page, count: number): Promise<void> {
  return page.evaluate((wanted) => {
    const w = window as unknown as GroupWindow;
    w.fullAt = 0;
    const timer = setInterval(() => {
      if (w.member!.assignment().length !== wanted) return;
      w.fullAt = Date.now();
      clearInterval(timer);
    }, 2);
  }, count);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One run: ms from a member tab's close until the remaining members consume every partition. */
async function rebalanceOnce(browser: Browser, baseUrl: string, permissions: string[], run: number): Promise<number> {
  const context = await newContext(browser, permissions);
  try {
    const pages = await openTabs(context, baseUrl, MEMBERS, `bench-group-${Date.now()}-${run}`);
    for (const page of pages) await startMember(page);
    const share = PARTITIONS / MEMBERS;
    await until(async () => (await Promise.all(pages.map(assigned))).every((n) => n === share), 30_000, 'the first assignment').catch(async (error: unknown) => {
      throw new Error(`${String(error)}: members hold ${(await Promise.all(pages.map(assigned))).join(', ')} partitions`);
    });
    const [leaving, ...staying] = pages as [Page, ...Page[]];
    const after = PARTITIONS / staying.length;
    await Promise.all(staying.map((page) => watchFor(page, after)));
    const closedAt = Date.now();
    await leaving.close({ runBeforeUnload: true });
    await until(async () => (await Promise.all(staying.map((p) => p.evaluate(() => (window as unknown as GroupWindow).fullAt ?? 0)))).every((t) => t > 0), 30_000, 'the rebalance');
    const doneAt = Math.max(...(await Promise.all(staying.map((p) => p.evaluate(() => (window as unknown as GroupWindow).fullAt!)))));
    return doneAt - closedAt;
  } finally {
    await context.close();
  }
}

export async function rebalanceRuns(browser: Browser, baseUrl: string, permissions: string[], runs: number): Promise<number[]> {
  const results: number[] = [];
  for (let run = 0; run < runs; run++) results.push(await rebalanceOnce(browser, baseUrl, permissions, run));
  return results;
}
