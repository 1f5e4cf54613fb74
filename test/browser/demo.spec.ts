import { expect, test } from '@playwright/test';

// The dashboard as one person with one tab uses it: the page starts this tab's broker, shows
// its identity and the cluster it founded, and the forms create a topic through the
// controller, produce to it and read it back, with no console errors.
test('the dashboard runs a broker, creates a topic, produces and reads it back through the UI', async ({ page }) => {
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
  const brokerId = (await page.locator('[data-fact="Broker id"]').textContent()) ?? 'missing';
  await expect(page.locator('#controller')).toHaveText(brokerId, { timeout: 15_000 });
  await expect(page.locator(`#members li[data-broker-id="${brokerId}"]`)).toHaveClass(/controller/);
  await expect(page.locator(`#cluster-picture g.broker.self.controller[data-broker-id="${brokerId}"]`)).toHaveCount(1);
  await expect(page.locator('#cluster-events')).toContainText('this broker became the controller');
  expect(await page.evaluate(() => typeof (window as unknown as { tabka?: { admin(): unknown } }).tabka?.admin)).toBe('function');
  // The tour link keeps the cluster, so the tour joins this same cluster.
  await expect(page.locator('#tour-link')).toHaveAttribute('href', /tour\.html\?cluster=demo-test-/);

  // A topic through the controller: with one broker, it leads every partition.
  const topicForm = page.locator('#topic-form');
  await topicForm.getByLabel('Name').fill('orders');
  await topicForm.getByLabel('Partitions').fill('3');
  await topicForm.getByLabel('Replication factor').fill('1');
  await topicForm.getByLabel('Min in-sync replicas').fill('1');
  await topicForm.getByRole('button', { name: 'Create topic' }).click();
  await expect(page.locator('#topic-result')).toHaveText('created topic orders');
  const rows = page.locator('#topics tr[data-topic="orders"]');
  await expect(rows).toHaveCount(3);
  for (const cell of await rows.locator('td[data-col="leader"]').all()) await expect(cell).toHaveText(brokerId);
  await expect(page.locator('#cluster-events')).toContainText('new topic orders: 3 partition(s), replication factor 1');

  // Produce through the UI: 100 keyed records, all acknowledged, all below the high watermark.
  const produceForm = page.locator('#produce-form');
  await produceForm.getByLabel('Topic').fill('orders');
  await produceForm.getByLabel('Records', { exact: true }).fill('100');
  await produceForm.getByRole('button', { name: 'Produce', exact: true }).click();
  await expect(page.locator('#produce-result')).toContainText('sent 100 record(s)');
  await expect.poll(async () => (await rows.locator('td[data-col="hw"]').allTextContents()).reduce((sum, hw) => sum + Number(hw), 0)).toBe(100);

  // Read one partition back from offset 0 with a standalone reader: every record up to its high watermark.
  const partition0 = Number(await rows.nth(0).locator('td[data-col="hw"]').textContent());
  expect(partition0).toBeGreaterThan(0);
  const reader = page.locator('#reader-form');
  await reader.getByLabel('Topic').fill('orders');
  await reader.getByLabel('Partition').fill('0');
  await reader.getByLabel('Offset').fill('0');
  await reader.getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('#reader-state')).toHaveText(`reading orders-0 from offset 0: ${partition0} record(s) consumed`, { timeout: 10_000 });
  await expect(page.locator('#reader-records li').first()).toHaveText(new RegExp(`^p0 @${partition0 - 1} key key-\\d: record \\d+ from broker ${brokerId}`));
  await reader.getByRole('button', { name: 'Stop' }).click();
  await expect(page.locator('#reader-state')).toContainText('stopped after');
  // The consumed chart counted those records (its peak second is above zero).
  await expect.poll(async () => Number(await page.locator('figure[data-chart="consumed"]').getAttribute('data-peak')), { timeout: 5000 }).toBeGreaterThan(0);

  // The controller refuses what it cannot place: replication factor 2 on a one-broker cluster.
  await topicForm.getByLabel('Name').fill('wide');
  await topicForm.getByLabel('Replication factor').fill('2');
  await topicForm.getByRole('button', { name: 'Create topic' }).click();
  await expect(page.locator('#topic-result')).toContainText('InvalidReplicationFactorError');
  await expect(page.locator('#topic-result')).toHaveClass(/error/);

  // This broker's logs in IndexedDB: the topic's partitions, and its copy of the metadata log (KRaft's __cluster_metadata).
  await expect(page.locator('#partitions tr[data-topic="orders"]')).toHaveCount(3);
  await expect(page.locator('#partitions tr[data-topic="__cluster_metadata"]')).toHaveCount(1);
  await expect(page.locator('#partitions tr[data-topic="orders"][data-partition="0"] td[data-col="log-end"]')).toHaveText(String(partition0));

  // The same 100 records again, gzip-compressed: they take fewer bytes in the log, and read back the same.
  const bytes0 = page.locator('#partitions tr[data-topic="orders"][data-partition="0"] td[data-col="bytes"]');
  const plainBytes = Number(await bytes0.textContent());
  await produceForm.getByLabel('Compression').selectOption('gzip');
  await produceForm.getByRole('button', { name: 'Produce', exact: true }).click();
  await expect(page.locator('#produce-result')).toContainText(/sent 100 record\(s\) in \d+ ms with acks=all, gzip/);
  await expect.poll(async () => (await rows.locator('td[data-col="hw"]').allTextContents()).reduce((sum, hw) => sum + Number(hw), 0)).toBe(200);
  const hw0 = Number(await rows.nth(0).locator('td[data-col="hw"]').textContent());
  await expect(page.locator('#partitions tr[data-topic="orders"][data-partition="0"] td[data-col="log-end"]')).toHaveText(String(hw0));
  expect(Number(await bytes0.textContent()) - plainBytes).toBeLessThan(plainBytes * 0.8);
  await reader.getByLabel('Offset').fill(String(partition0));
  await reader.getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('#reader-state')).toHaveText(`reading orders-0 from offset ${partition0}: ${hw0 - partition0} record(s) consumed`, { timeout: 10_000 });
  await expect(page.locator('#reader-records li').first()).toHaveText(new RegExp(`^p0 @${hw0 - 1} key key-\\d: record \\d+ from broker ${brokerId}`));
  await reader.getByRole('button', { name: 'Stop' }).click();

  // Leaving cleanly: the broker says goodbye, the dashboard stops asking and disables what needs a broker.
  await page.getByRole('button', { name: 'Leave the cluster' }).click();
  await expect(page.locator('#status')).toHaveText('left the cluster');
  await expect(produceForm.getByRole('button', { name: 'Produce', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Reload' })).toBeEnabled();
  await expect(page.locator('#cluster-events')).toContainText('this broker left the cluster: reload to join again');

  expect(problems).toEqual([]);
});
