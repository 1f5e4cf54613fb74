import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';

// axe-core's WCAG 2 A/AA rules over the dashboard and the tour, at desktop and phone widths,
// with a topic, partitions and a group on screen so the tables and charts are not empty.
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length} node(s), e.g. ${v.nodes[0]?.target.join(' ')}`);
}

test('the dashboard and the tour pass axe-core WCAG 2.1 AA checks at desktop and phone widths', async ({ page }) => {
  const cluster = `a11y-${Date.now()}`;
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/demo/?cluster=${cluster}`);
  await expect(page.locator('#status')).toHaveText('running');
  await page.evaluate(async () => {
    const { tabka } = window as unknown as { tabka: import('../../src/index').Tabka };
    await tabka.admin().createTopics({ topics: [{ topic: 'a11y', numPartitions: 2, replicationFactor: 1 }] });
    await tabka.producer().send({ topic: 'a11y', messages: [{ key: 'k', value: 'v' }] });
  });
  await expect(page.locator('body')).toContainText('a11y');
  expect(await violations(page)).toEqual([]);
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await violations(page)).toEqual([]);

  await page.goto(`/demo/tour.html?cluster=${cluster}-tour`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page.locator('button').first()).toBeVisible();
  expect(await violations(page)).toEqual([]);
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await violations(page)).toEqual([]);
});
