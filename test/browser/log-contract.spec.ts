import { expect, test } from '@playwright/test';
import type { ContractWindow } from './pages/contract-runner';

// The same contract cases test/unit/log-contract.test.ts runs in Node, here over real
// IndexedDB inside a real Web Worker in Chromium.
test('the partition log contract holds over IndexedDB in a Web Worker', async ({ page }) => {
  await page.goto('/test/browser/pages/log-contract.html');
  await page.waitForFunction(() => 'logContract' in window);
  const names = await page.evaluate(() => (window as unknown as ContractWindow).logContract.names());
  expect(names.length).toBeGreaterThanOrEqual(20);
  for (const name of names) {
    await test.step(name, async () => {
      const outcome = await page.evaluate((caseName) => (window as unknown as ContractWindow).logContract.run(caseName), name);
      expect.soft(outcome, name).toEqual({ ok: true });
    });
  }
});
