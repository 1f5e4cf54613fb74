import { expect, test } from '@playwright/test';

// The guided tour, step by step, on a cluster of its own: each button does the real thing,
// and each step shows an outcome that says what Kafka promises.
test('the guided tour runs each step on the live cluster', async ({ page }, testInfo) => {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(`/demo/tour.html?cluster=tour-test-${Date.now()}`);
  await expect(page.locator('#tour-status')).toContainText('Ready: start with step 1', { timeout: 20_000 });
  await expect(page.locator('#dashboard-link')).toHaveAttribute('href', /^\.\/\?cluster=tour-test-/);

  // Step 1: a topic with 3 partitions; each key's records land together in one partition.
  await page.getByRole('button', { name: 'Create a topic with 3 partitions' }).click();
  await expect(page.locator('#topic-outcome')).toContainText(/Created topic tour-\w+: 3 partitions, replication factor 1, min.insync.replicas 1/);
  await page.getByRole('button', { name: 'Produce 3 records for each of 4 keys' }).click();
  const keyRows = page.locator('#keys-outcome tbody tr');
  await expect(keyRows).toHaveCount(4);
  const landed = new Map<string, number>();
  for (const key of ['alice', 'bob', 'carol', 'dave']) {
    const row = page.locator(`#keys-outcome tr[data-key="${key}"]`);
    const partition = Number(await row.getAttribute('data-partition'));
    expect(partition).toBeGreaterThanOrEqual(0);
    expect(partition).toBeLessThan(3);
    landed.set(key, partition);
    await expect(row.locator('td').nth(2)).toHaveText(/^\d+–\d+$/);
  }
  // Offsets per partition are consecutive: the 3 records of each key sharing a partition add up to its log end.
  await expect(page.locator('#keys-outcome .takeaway')).toContainText('Each key\'s records sit together in one partition');

  // Step 2: the replicas, ISR and high watermark; with one broker the leader is the whole ISR.
  await page.getByRole('button', { name: 'Look at the replicas' }).click();
  const replicaRows = page.locator('#replicas-outcome tbody tr');
  await expect(replicaRows).toHaveCount(3);
  let total = 0;
  for (let p = 0; p < 3; p++) {
    const cells = page.locator(`#replicas-outcome tr[data-partition="${p}"] td`);
    const hw = Number(await cells.nth(4).textContent());
    expect(hw).toBe([...landed.values()].filter((x) => x === p).length * 3);
    await expect(cells.nth(5)).toHaveText(String(hw));
    await expect(cells.nth(3)).toHaveText((await cells.nth(1).textContent()) ?? 'missing');
    total += hw;
  }
  expect(total).toBe(12);
  await expect(page.locator('#replicas-outcome .takeaway')).toContainText('With one broker there are no followers');

  // Step 3: acks. acks=0 knows no offset; acks=all returns only once the record is below the high watermark.
  await page.getByRole('button', { name: 'Send one record with each acks setting' }).click();
  await expect(page.locator('#acks-outcome tbody tr')).toHaveCount(3);
  await expect(page.locator('#acks-outcome tr[data-acks="0"] td').nth(2)).toHaveText('unknown');
  await expect(page.locator('#acks-outcome tr[data-acks="1"] td').nth(2)).toHaveText(/^\d+$/);
  const allCells = page.locator('#acks-outcome tr[data-acks="all"] td');
  const offset = Number(await allCells.nth(2).textContent());
  const high = Number(await allCells.nth(3).textContent());
  expect(high).toBeGreaterThan(offset);
  await expect(allCells.nth(4)).toHaveText(/^committed: every in-sync replica has it/);

  // Step 4: queue vs publish/subscribe. A and B split the partitions; C, in another group, reads everything.
  await page.getByRole('button', { name: 'Start two members of one group and one of another' }).click();
  const summary = page.locator('#groups-summary');
  await expect(summary).toHaveAttribute('data-settled', 'true', { timeout: 30_000 });
  await expect(summary).toContainText(/^Queue: members A and B of one group split the partitions and read \d+ \+ \d+ = 15 records, each record once\. Publish\/subscribe: member C, alone in another group, read all 15\.$/);
  const owned = async (member: string) => ((await page.locator(`#groups-outcome tr[data-member="${member}"] td`).nth(2).textContent()) ?? '').split(', ');
  const [a, b, c] = [await owned('member A'), await owned('member B'), await owned('member C')];
  expect([...a, ...b].sort()).toEqual(['0', '1', '2']);
  expect(c).toEqual(['0', '1', '2']);
  await page.getByRole('button', { name: 'Produce 12 more records' }).click();
  await expect(summary).toContainText('= 27 records, each record once', { timeout: 15_000 });
  await expect(summary).toContainText('read all 27');
  await testInfo.attach('tour-1280', { body: await page.screenshot({ path: testInfo.outputPath('tour-1280.png'), fullPage: true }), contentType: 'image/png' });
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await testInfo.attach('tour-390', { body: await page.screenshot({ path: testInfo.outputPath('tour-390.png'), fullPage: true }), contentType: 'image/png' });
  await page.getByRole('button', { name: 'Stop the consumers' }).click();
  await expect(summary).toHaveAttribute('data-settled', 'stopped', { timeout: 15_000 });

  expect(problems).toEqual([]);
});
