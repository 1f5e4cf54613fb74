import { defineConfig } from 'vitest/config';

// Node-side tests only: codecs, partitioner, the log contract over the in-memory store,
// simulations. Browser tests live in test/browser and run under Playwright.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    pool: 'threads',
    testTimeout: 30_000,
  },
});
