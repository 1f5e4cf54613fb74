import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import type { BrokerTab } from './pages/broker-page';

type TabWindow = Window & { tab: BrokerTab };

const RECORDS = 100_000;
const PER_BATCH = 1000;

async function openBroker(page: Page, cluster: string) {
  await page.goto(`/test/browser/pages/broker.html?cluster=${cluster}`);
  await page.waitForSelector('body[data-ready="true"]');
  return page.evaluate(() => (window as unknown as TabWindow).tab.info());
}

async function heldSlotLocks(page: Page, cluster: string): Promise<string[]> {
  return page.evaluate(async (prefix) => {
    const { held = [] } = await navigator.locks.query();
    return held.map((lock) => lock.name ?? '').filter((name) => name.startsWith(prefix)).sort();
  }, `tabka/${cluster}/slot/`);
}

test('each tab claims its own broker slot, and a reloaded or new tab gets the slot, id and logs back', async ({ browser }) => {
  const cluster = `identity-${Date.now()}`;
  const context = await browser.newContext();
  const pages = await Promise.all([0, 1, 2].map(() => context.newPage()));
  const infos = await Promise.all(pages.map((page) => openBroker(page, cluster)));

  expect(new Set(infos.map((info) => info.brokerId)).size).toBe(3);
  expect(infos.map((info) => info.slot).sort()).toEqual([0, 1, 2]);
  expect(await heldSlotLocks(pages[0]!, cluster)).toHaveLength(3);

  for (const [index, page] of pages.entries()) {
    const end = await page.evaluate(
      async ({ records, perBatch, tag }) => {
        const { tab } = window as unknown as TabWindow;
        await tab.broker.createPartition('events', 0);
        return tab.appendRecords('events', 0, records, perBatch, tag);
      },
      { records: RECORDS, perBatch: PER_BATCH, tag: `tab${index}` },
    );
    expect(end).toBe(RECORDS);
  }

  // Reload: the same tab comes back as the same broker, on the same slot, with its log.
  const reloaded = pages[1]!;
  await reloaded.reload();
  await reloaded.waitForSelector('body[data-ready="true"]');
  const afterReload = await reloaded.evaluate(() => (window as unknown as TabWindow).tab.info());
  expect(afterReload).toEqual(infos[1]);
  const verified = await reloaded.evaluate(
    ({ records }) => (window as unknown as TabWindow).tab.verifyRecords('events', 0, records, 'tab1'),
    { records: RECORDS },
  );
  expect(verified).toEqual({ count: RECORDS, firstMismatch: null });

  // Close: the browser frees the slot, and the next new tab takes it and finds its log.
  const closedInfo = infos[2]!;
  await pages[2]!.close();
  await expect.poll(() => heldSlotLocks(pages[0]!, cluster)).toHaveLength(2);
  const newcomer = await context.newPage();
  const newcomerInfo = await openBroker(newcomer, cluster);
  expect(newcomerInfo).toEqual(closedInfo);
  const inherited = await newcomer.evaluate(
    ({ records }) => (window as unknown as TabWindow).tab.verifyRecords('events', 0, records, 'tab2'),
    { records: RECORDS },
  );
  expect(inherited).toEqual({ count: RECORDS, firstMismatch: null });

  // The untouched tab still reads its own log, and no two live tabs share a slot.
  const first = await pages[0]!.evaluate(
    ({ records }) => (window as unknown as TabWindow).tab.verifyRecords('events', 0, records, 'tab0'),
    { records: RECORDS },
  );
  expect(first).toEqual({ count: RECORDS, firstMismatch: null });
  const liveSlots = await Promise.all(
    [pages[0]!, reloaded, newcomer].map((page) => page.evaluate(() => (window as unknown as TabWindow).tab.info().slot)),
  );
  expect(liveSlots.sort()).toEqual([0, 1, 2]);
  await context.close();
});

test('a duplicated tab that inherits a busy slot number takes another slot instead of sharing', async ({ browser }) => {
  const cluster = `duplicate-${Date.now()}`;
  const context = await browser.newContext();
  const original = await context.newPage();
  const originalInfo = await openBroker(original, cluster);
  // A duplicated tab carries a copy of sessionStorage, so it asks for the same slot first.
  const twin = await context.newPage();
  await twin.goto('/test/browser/pages/log-contract.html');
  await twin.evaluate(
    ({ key, slot }) => sessionStorage.setItem(key, String(slot)),
    { key: `tabka/${cluster}/slot`, slot: originalInfo.slot },
  );
  const twinInfo = await openBroker(twin, cluster);
  expect(twinInfo.slot).not.toBe(originalInfo.slot);
  expect(twinInfo.brokerId).not.toBe(originalInfo.brokerId);
  await context.close();
});
