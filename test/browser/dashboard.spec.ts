import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';

// Three dashboards side by side, as a person would watch them: a topic created in one tab
// appears in all, records produced in one are consumed by a group member in another, and
// when the tab leading a partition crashes the other dashboards show the controller moving
// its leadership to an in-sync replica.

interface Tab {
  readonly page: Page;
  readonly brokerId: string;
}

async function openDashboard(context: BrowserContext, cluster: string, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
  await page.goto(`/demo/?cluster=${cluster}`);
  await expect(page.locator('#status')).toHaveText('running', { timeout: 20_000 });
  return page;
}

const partitionRow = (page: Page, topic: string, partition: number) => page.locator(`#topics tr[data-topic="${topic}"][data-partition="${partition}"]`);
const ids = (text: string | null) => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);

test('three dashboards watch a topic, a group and a leader failover', async ({ context }, testInfo) => {
  const problems: string[] = [];
  const cluster = `dash-${Date.now()}`;
  const pages = await Promise.all([0, 1, 2].map(() => openDashboard(context, cluster, problems)));
  const tabs: Tab[] = [];
  for (const page of pages) tabs.push({ page, brokerId: (await page.locator('[data-fact="Broker id"]').textContent()) ?? '' });
  const [a, b, c] = tabs as [Tab, Tab, Tab];

  // Every dashboard sees three live brokers, one controller (marked in the picture), and its own links.
  for (const { page, brokerId } of tabs) {
    await expect(page.locator('#members li:not(.down)')).toHaveCount(3, { timeout: 30_000 });
    await expect(page.locator('#members li.controller')).toHaveCount(1);
    await expect(page.locator('#cluster-picture g.broker')).toHaveCount(3);
    await expect(page.locator(`#cluster-picture g.broker.self[data-broker-id="${brokerId}"]`)).toHaveCount(1);
    await expect(page.locator('#cluster-picture line.link')).toHaveCount(2);
  }
  const controller = await a.page.locator('#controller').textContent();
  for (const { page } of tabs) await expect(page.locator('#controller')).toHaveText(controller ?? 'missing');

  // Create a topic through the UI in tab A: 3 partitions on all 3 brokers, min ISR 2.
  const topicForm = a.page.locator('#topic-form');
  await topicForm.getByLabel('Name').fill('orders');
  await topicForm.getByLabel('Partitions').fill('3');
  await topicForm.getByLabel('Replication factor').fill('3');
  await topicForm.getByLabel('Min in-sync replicas').fill('2');
  await topicForm.getByRole('button', { name: 'Create topic' }).click();
  await expect(a.page.locator('#topic-result')).toHaveText('created topic orders');
  for (const { page } of tabs) {
    await expect(page.locator('#topics tr[data-topic="orders"]')).toHaveCount(3);
    await expect(page.locator('#topics section[data-topic="orders"] h3')).toContainText('replication factor 3 · min.insync.replicas 2');
    for (let p = 0; p < 3; p++) await expect.poll(async () => ids(await partitionRow(page, 'orders', p).locator('td[data-col="isr"]').textContent()).length, { timeout: 15_000 }).toBe(3);
  }

  // Produce 30 keyed records through the UI in tab A.
  const produce = a.page.locator('#produce-form');
  await produce.getByLabel('Topic').fill('orders');
  await produce.getByLabel('Records', { exact: true }).fill('30');
  await produce.getByRole('button', { name: 'Produce', exact: true }).click();
  await expect(a.page.locator('#produce-result')).toContainText('sent 30 record(s)');

  // A group member in tab B reads them all: alone in its group, it owns every partition.
  const group = `watchers-${Date.now()}`;
  const member = b.page.locator('#member-form');
  await member.getByLabel('Group').fill(group);
  await member.getByLabel('Topic').fill('orders');
  await member.getByRole('button', { name: 'Start' }).click();
  await expect(b.page.locator('#member-state')).toHaveText(`member of ${group} reading orders: 30 record(s) consumed`, { timeout: 20_000 });
  await expect(b.page.locator('#member-owns')).toHaveText('owns orders-0, orders-1, orders-2');
  await expect(b.page.locator('#member-records li')).toHaveCount(8);
  await expect(b.page.locator('#cluster-events')).toContainText(`${group}: this tab joined generation`);
  // Tab C, which runs no consumer, sees the group through its coordinator: one member, committed offsets, no lag.
  const groupView = c.page.locator(`#groups section[data-group="${group}"]`);
  await expect(groupView.locator('[data-field="state"]')).toHaveText('Stable', { timeout: 15_000 });
  await expect(groupView.locator('li[data-member]')).toContainText(`dashboard-${b.brokerId}`);
  await expect(groupView.locator('li[data-member]')).toContainText('owns orders-0, orders-1, orders-2');
  await expect.poll(async () => (await groupView.locator('td[data-col="committed"]').allTextContents()).reduce((sum, o) => sum + Number(o), 0), { timeout: 15_000 }).toBe(30);
  await expect(groupView.locator('[data-lag="0"]')).toHaveCount(3);
  // Using a group brought Kafka's internal offsets topic into being; it is shown, marked internal.
  await expect(c.page.locator('#topics section[data-topic="__consumer_offsets"] .badge')).toHaveText('internal');

  // A short steady stream from tab A: tab A's produce chart and tab B's consume chart move.
  const rate = a.page.locator('#stream-rate');
  await rate.fill('40');
  await a.page.getByRole('button', { name: 'Start stream' }).click();
  await expect(a.page.locator('#stream-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(async () => Number(await a.page.locator('figure[data-chart="produced"]').getAttribute('data-peak')), { timeout: 10_000 }).toBeGreaterThan(10);
  await expect.poll(async () => Number(await b.page.locator('figure[data-chart="consumed"]').getAttribute('data-peak')), { timeout: 10_000 }).toBeGreaterThan(10);
  await expect(a.page.locator('figure[data-chart="latency"] [data-series="p99"] strong')).toHaveText(/^\d/);
  await a.page.getByRole('button', { name: 'Stop stream' }).click();
  await expect(a.page.locator('#stream-status')).toContainText(/^stopped to orders: \d+ acknowledged, 0 in flight, 0 failed/);

  // The leader's tab draws its followers' lag: two bars on the partition it leads.
  const leader = (await partitionRow(a.page, 'orders', 0).locator('td[data-col="leader"]').textContent()) ?? '';
  const victim = tabs.find((tab) => tab.brokerId === leader);
  if (!victim) throw new Error(`no tab runs broker ${leader}, the leader of orders-0`);
  await expect(partitionRow(victim.page, 'orders', 0).locator('.replica .lag')).toHaveCount(2);
  await expect(partitionRow(victim.page, 'orders', 0).locator('td[data-col="here"]')).toHaveText(/^leader: /);

  // Screenshots of a busy dashboard, wide and phone-width; at phone width nothing scrolls sideways.
  const top = (page: Page) => page.evaluate(() => window.scrollTo(0, 0));
  const shoot = async (page: Page, name: string, fullPage: boolean) => {
    await top(page);
    await testInfo.attach(name, { body: await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage }), contentType: 'image/png' });
  };
  await a.page.setViewportSize({ width: 1280, height: 800 });
  await shoot(a.page, 'dashboard-1280x800', false);
  await shoot(a.page, 'dashboard-1280x800-full', true);
  await a.page.setViewportSize({ width: 390, height: 844 });
  expect(await a.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await shoot(a.page, 'dashboard-390x844', true);
  await a.page.setViewportSize({ width: 1280, height: 800 });

  // Crash the broker leading orders-0. The other dashboards see it go silent and a new leader from the ISR.
  const isrBefore = ids(await partitionRow(a.page, 'orders', 0).locator('td[data-col="isr"]').textContent());
  await victim.page.getByRole('button', { name: 'Crash this broker' }).click();
  await expect(victim.page.locator('#status')).toHaveText('crashed');
  const survivors = tabs.filter((tab) => tab !== victim);
  for (const { page } of survivors) {
    await expect(page.locator(`#members li[data-broker-id="${leader}"]`)).toHaveClass(/down/, { timeout: 20_000 });
    await expect(page.locator(`#cluster-picture g.broker.down[data-broker-id="${leader}"]`)).toHaveCount(1);
    const newLeader = partitionRow(page, 'orders', 0).locator('td[data-col="leader"]');
    await expect(newLeader).not.toHaveText(leader, { timeout: 20_000 });
    const moved = (await newLeader.textContent()) ?? '';
    expect(isrBefore).toContain(moved);
    expect(survivors.map((tab) => tab.brokerId)).toContain(moved);
    await expect(page.locator('#cluster-events')).toContainText(new RegExp(`orders-0: leader moved from (broker ${leader}|none) to broker ${moved}`));
  }
  for (const { page } of survivors) await expect(page.locator('#members li.controller')).toHaveCount(1, { timeout: 20_000 });

  await shoot(survivors[0]!.page, 'dashboard-after-crash', false);

  // Reload brings the crashed broker back from its slot: the same broker id, live again for the others.
  await victim.page.getByRole('button', { name: 'Reload' }).click();
  await expect(victim.page.locator('#status')).toHaveText('running', { timeout: 20_000 });
  await expect(victim.page.locator('[data-fact="Broker id"]')).toHaveText(leader);
  for (const { page } of survivors) await expect(page.locator(`#members li[data-broker-id="${leader}"]`)).not.toHaveClass(/down/, { timeout: 20_000 });
  expect(problems).toEqual([]);
  for (const { page } of tabs) await page.close();
});
