import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode } from '../../src/signaling/close-codes';
import { SignalingClient } from '../../src/signaling/signaling-client';
import { tabkaSignaling } from '../../src/signaling/vite-plugin';
import { within } from '../support/within';

// A real Vite dev server on an ephemeral port, empty root, with the plugin.

const WAIT_MS = 10_000;
let vite: ViteDevServer | undefined;
let root: string | undefined;

afterEach(async () => {
  await vite?.close();
  vite = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});


describe('tabkaSignaling vite plugin', () => {
  it('serves signaling at /tabka/signal beside a working HMR socket, and stops with the server', async () => {
    root = mkdtempSync(join(tmpdir(), 'tabka-vite-'));
    vite = await createServer({
      root,
      configFile: false,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0, strictPort: false },
      plugins: [tabkaSignaling({ secret: 'vite-secret' })],
    });
    await vite.listen();
    const address = vite.httpServer?.address();
    if (typeof address !== 'object' || address === null) throw new Error('expected a TCP address');
    const base = `ws://127.0.0.1:${address.port}`;

    const hmr = new WebSocket(`${base}/?token=${vite.config.webSocketToken}`, 'vite-hmr');
    const hello = await within(new Promise<string>((resolve, reject) => {
      hmr.once('message', (data) => resolve(String(data)));
      hmr.once('error', reject);
    }), 'the HMR hello', WAIT_MS);
    expect(JSON.parse(hello)).toMatchObject({ type: 'connected' });
    hmr.close();

    const url = `${base}/tabka/signal`;
    const a = await within(SignalingClient.connect({ url, room: 'demo', brokerId: 1, secret: 'vite-secret', WebSocket }), 'connect a', WAIT_MS);
    const b = await within(SignalingClient.connect({ url, room: 'demo', brokerId: 2, secret: 'vite-secret', WebSocket }), 'connect b', WAIT_MS);
    expect(b.peers).toEqual([1]);
    const refused = await SignalingClient.connect({ url, room: 'demo', brokerId: 3, secret: 'other', WebSocket }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ closeCode: CloseCode.BAD_TOKEN });

    const closed = a.once('closed');
    b.close();
    await vite.close();
    vite = undefined;
    expect((await within(closed, 'closed on shutdown', WAIT_MS)).code).toBe(CloseCode.GOING_AWAY);
  }, 30_000);
});
