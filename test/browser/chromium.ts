import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Debian's Chromium, never a downloaded browser (downloads do not work on our machines).
 * Flags from ../shared/DESIGN.md: no background networking, no throttling of hidden tabs,
 * a resolver that answers only for loopback, and WebRTC that works on loopback alone.
 */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}. Install Debian's: sudo apt-get install -y chromium ` +
        '(or set CHROMIUM_PATH to a Chromium binary). tabka never downloads a browser.',
    );
  }
  return path;
}

/**
 * Chromium keeps only the last --disable-features flag, and Playwright passes its own list:
 * ours must carry Playwright's too, or we silently re-enable what it disabled. The list is
 * read from the installed playwright-core so it follows upgrades.
 */
function playwrightDisabledFeatures(): string[] {
  try {
    const require = createRequire(import.meta.url);
    const packageDir = dirname(require.resolve('playwright-core/package.json'));
    const bundle = readFileSync(join(packageDir, 'lib', 'coreBundle.js'), 'utf8');
    const start = bundle.indexOf('disabledFeatures = [');
    const end = bundle.indexOf('].filter(Boolean)', start);
    if (start < 0 || end < 0) return [];
    const literal = bundle
      .slice(start + 'disabledFeatures = ['.length, end)
      .replace(/\/\/[^\n]*/g, '');
    const evaluate = new Function('process', `return [${literal}];`) as (p: NodeJS.Process) => unknown[];
    return evaluate(process).filter((feature): feature is string => typeof feature === 'string' && feature !== '');
  } catch {
    return [];
  }
}

/**
 * Hermetic WebRTC (DESIGN.md): candidates on 127.0.0.1 instead of mDNS names (which do not
 * resolve here). Pages must also hold camera+microphone permission: see grantWebRtcPermissions.
 */
const webRtcOnLoopback = ['--allow-loopback-in-peer-connection'];
/**
 * Same-site tabs would otherwise share renderer processes (Chromium reuses one process for up
 * to a threshold of main frames per site): crashing one tab's renderer would crash its
 * neighbours too, and the tests need to kill one broker tab alone.
 */
const disabledFeatures = [...new Set([...playwrightDisabledFeatures(), 'WebRtcHideLocalIpsWithMdns', 'ProcessPerSiteUpToMainFrameThreshold'])];

export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  ...webRtcOnLoopback,
  `--disable-features=${disabledFeatures.join(',')}`,
];

/** Chromium lists local interfaces for WebRTC only to a page holding these (nothing is captured). */
export const WEBRTC_PERMISSIONS = ['camera', 'microphone'];
