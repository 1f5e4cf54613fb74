import { defineConfig } from '@playwright/test';
import { WEBRTC_PERMISSIONS, chromiumArgs, chromiumPath } from './test/browser/chromium';

const port = Number(process.env.TABKA_TEST_PORT ?? 5179);

// One worker, one browser, tabs as pages: the machines have 2 cores.
export default defineConfig({
  testDir: 'test/browser',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  timeout: 120_000,
  reporter: process.env.CI ? [['list']] : [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: chromiumPath(), args: [...chromiumArgs] },
    trace: 'off',
    permissions: WEBRTC_PERMISSIONS,
  },
  webServer: {
    command: `npx vite --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/demo/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
