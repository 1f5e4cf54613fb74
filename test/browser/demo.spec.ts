import { expect, test } from '@playwright/test';

// The demo as a person uses it: the page starts this tab's broker, shows its identity, and the
// forms create partitions, append a batch and read it back, with no console errors.
test('the demo page runs a broker and drives its logs through the UI', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(`/demo/?cluster=demo-test-${Date.now()}`);
  await expect(page.locator('#status')).toHaveText('running');
  await expect(page.locator('[data-fact="Broker id"]')).toHaveText(/^\d+$/);
  await expect(page.locator('[data-fact="Slot"]')).toHaveText('0');
  // Alone, this tab founds a cluster and becomes its controller.
  const brokerId = await page.locator('[data-fact="Broker id"]').textContent();
  await expect(page.locator('#controller')).toHaveText(brokerId ?? 'missing', { timeout: 15_000 });
  await expect(page.locator(`#members li[data-broker-id="${brokerId}"]`)).toHaveClass(/controller/);
  await expect(page.locator('#cluster-events')).toContainText('this broker became the controller');
  expect(await page.evaluate(() => typeof (window as unknown as { tabka?: { admin(): unknown } }).tabka?.admin)).toBe('function');

  const create = page.locator('#create-form');
  await create.getByLabel('Topic').fill('clicks');
  await create.getByLabel('Partitions').fill('2');
  await create.getByRole('button', { name: 'Create partitions' }).click();
  await expect(page.locator('#result')).toHaveText('created clicks partitions 0..1');

  const append = page.locator('#append-form');
  await append.getByLabel('Topic').fill('clicks');
  await append.getByLabel('Partition').fill('1');
  await append.getByLabel('Records').fill('250');
  await append.getByRole('button', { name: 'Append a batch' }).click();
  await expect(page.locator('#result')).toHaveText('appended offsets 0..249');
  await expect(page.locator('#partitions tr', { hasText: 'clicks' })).toHaveCount(2);
  await expect(page.locator('#partitions tr', { hasText: 'clicks' }).nth(1).locator('td').nth(3)).toHaveText('250');
  // The broker's copy of the replicated metadata log is a partition log too (KRaft's __cluster_metadata).
  await expect(page.locator('#partitions tr', { hasText: '__cluster_metadata' })).toHaveCount(1);

  // A topic through the controller: with one broker, it leads every partition.
  const topicForm = page.locator('#topic-form');
  await topicForm.getByLabel('Name').fill('orders');
  await topicForm.getByLabel('Partitions').fill('3');
  await topicForm.getByLabel('Replication factor').fill('1');
  await topicForm.getByRole('button', { name: 'Create topic' }).click();
  await expect(page.locator('#result')).toHaveText('created topic orders');
  await expect(page.locator('#topics tr[data-topic="orders"]')).toHaveCount(3);
  for (const cell of await page.locator('#topics tr[data-topic="orders"] td:nth-child(3)').all()) await expect(cell).toHaveText(brokerId ?? '');
  // Produce through the UI, then read it all back.
  const produceForm = page.locator('#produce-form');
  await produceForm.getByLabel('Topic').fill('orders');
  await produceForm.getByLabel('Records').fill('100');
  await produceForm.getByRole('button', { name: 'Produce' }).click();
  await expect(page.locator('#result')).toContainText('sent 100 records');
  await expect(page.locator('#topics tr[data-topic="orders"] td:nth-child(7)').first()).toHaveText(/^\d+ \/ \d+$/);
  const consumeForm = page.locator('#consume-form');
  await consumeForm.getByLabel('Topic').fill('orders');
  await consumeForm.getByRole('button', { name: 'Read from the beginning' }).click();
  await expect(page.locator('#result')).toContainText('100 records read', { timeout: 10_000 });
  await expect(page.locator('#result')).toContainText(/p\d @0: record \d+ from broker/);

  await topicForm.getByLabel('Replication factor').fill('2');
  await topicForm.getByLabel('Name').fill('wide');
  await topicForm.getByRole('button', { name: 'Create topic' }).click();
  await expect(page.locator('#result')).toContainText('InvalidReplicationFactorError');

  const read = page.locator('#read-form');
  await read.getByLabel('Topic').fill('clicks');
  await read.getByLabel('Partition').fill('1');
  await read.getByLabel('From offset').fill('240');
  await read.getByRole('button', { name: 'Read' }).click();
  await expect(page.locator('#result')).toContainText('240: event 240 from broker');
  await expect(page.locator('#result')).toContainText('(log end offset 250)');

  await read.getByLabel('Topic').fill('bad topic!');
  await read.getByRole('button', { name: 'Read' }).click();
  await expect(page.locator('#result')).toContainText('UnknownTopicOrPartitionError');
  await expect(page.locator('#result')).toHaveClass(/error/);

  expect(problems).toEqual([]);
});
