import { existsSync } from 'node:fs';

/**
 * Debian's Chromium, never a downloaded browser (downloads do not work on our machines).
 * Flags from ../shared/DESIGN.md: no background networking, no throttling of hidden tabs,
 * and a resolver that answers only for loopback, so start-up never reaches for Google hosts.
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
];
