import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import type { MeshTab } from './pages/mesh-page';

type MeshWindow = Window & { meshTab: MeshTab; checksum(bytes: Uint8Array): number };

async function openMeshTab(context: BrowserContext, query: Record<string, string | number>): Promise<Page> {
  const page = await context.newPage();
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  await page.goto(`/test/browser/pages/mesh.html?${search}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

const connected = (page: Page) => page.evaluate(() => (window as unknown as MeshWindow).meshTab.connected());

test('tabs of one browser form a full mesh over BroadcastChannel signaling and carry chunked frames', async ({ context }) => {
  const cluster = `mesh-bc-${Date.now()}`;
  const ids = [11, 22, 33, 44];
  const pages = await Promise.all(ids.map((id) => openMeshTab(context, { id, cluster, via: 'broadcast' })));
  for (const [i, page] of pages.entries()) {
    await expect.poll(() => connected(page), { timeout: 20_000 }).toEqual(ids.filter((id) => id !== ids[i]));
  }
  // Every link authenticated at the first try: a peer's hello can arrive before simple-peer says
  // 'connect', and answering it with a proof before our own hello once made peers refuse us.
  for (const page of pages) expect(await page.evaluate(() => (window as unknown as MeshWindow).meshTab.rejected())).toEqual([]);
  // 3 MiB crosses as 48 chunks of 64 KiB and arrives whole and in order with its neighbours.
  await pages[0]!.evaluate(async () => {
    const { meshTab } = window as unknown as MeshWindow;
    await meshTab.send(44, 3 * 1024 * 1024, 7);
    await meshTab.send(44, 10, 3);
  });
  const expected = await pages[3]!.evaluate(() => {
    const { checksum } = window as unknown as MeshWindow;
    const make = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * seed) & 0xff);
    return [
      { from: 11, bytes: 3 * 1024 * 1024, sum: checksum(make(3 * 1024 * 1024, 7)) },
      { from: 11, bytes: 10, sum: checksum(make(10, 3)) },
    ];
  });
  await expect.poll(() => pages[3]!.evaluate(() => (window as unknown as MeshWindow).meshTab.received())).toEqual(expected);
  // An election frame (the cluster's heartbeat) sent after a bulk frame overtakes it between
  // its chunks, so a busy link cannot starve the heartbeats past the session timeout.
  await pages[0]!.evaluate(async () => {
    const { meshTab } = window as unknown as MeshWindow;
    const bulk = meshTab.send(44, 3 * 1024 * 1024, 5);
    await meshTab.sendElection(44);
    await bulk;
  });
  await expect
    .poll(() => pages[3]!.evaluate(() => (window as unknown as MeshWindow).meshTab.received().slice(2).map((r) => r.bytes)))
    .toEqual([32, 3 * 1024 * 1024]);

  // A closed tab drops out of everyone's mesh.
  await pages[1]!.close();
  await expect.poll(() => connected(pages[0]!), { timeout: 20_000 }).toEqual([33, 44]);
});

test('tabs in separate browser contexts meet through the signaling server', async ({ browser }) => {
  const cluster = `mesh-server-${Date.now()}`;
  const contexts = await Promise.all([0, 1, 2].map(() => browser.newContext()));
  const pages = await Promise.all(contexts.map((context, i) => openMeshTab(context, { id: 100 + i, cluster, via: 'server' })));
  await expect.poll(() => connected(pages[0]!), { timeout: 20_000 }).toEqual([101, 102]);
  await expect.poll(() => connected(pages[2]!), { timeout: 20_000 }).toEqual([100, 101]);
  await Promise.all(contexts.map((context) => context.close()));
});

test('a tab with the wrong cluster secret is refused by its peers and never joins', async ({ context }) => {
  const cluster = `mesh-auth-${Date.now()}`;
  const good = await openMeshTab(context, { id: 5, cluster, via: 'broadcast', secret: 'right' });
  await openMeshTab(context, { id: 6, cluster, via: 'broadcast', secret: 'right' });
  const intruder = await openMeshTab(context, { id: 9, cluster, via: 'broadcast', secret: 'wrong' });
  await expect.poll(() => connected(good), { timeout: 20_000 }).toEqual([6]);
  await expect
    .poll(() => good.evaluate(() => (window as unknown as MeshWindow).meshTab.rejected().map((r) => r.reason)), { timeout: 20_000 })
    .toContain('the peer does not know the cluster secret');
  expect(await connected(intruder)).toEqual([]);
  expect(await connected(good)).toEqual([6]);
});

test('a peer that sends a malformed chunk is disconnected and the broker carries on', async ({ context }) => {
  const cluster = `mesh-garbage-${Date.now()}`;
  const victim = await openMeshTab(context, { id: 1, cluster, via: 'broadcast' });
  const hostile = await openMeshTab(context, { id: 2, cluster, via: 'broadcast' });
  await expect.poll(() => connected(victim), { timeout: 20_000 }).toEqual([2]);
  await hostile.evaluate(() => (window as unknown as MeshWindow).meshTab.sendRaw(1, [1, 2, 3]));
  // Disconnected at once; the initiator (the victim, lower id) reconnects with backoff.
  await expect
    .poll(() => victim.evaluate(() => (window as unknown as MeshWindow).meshTab.downs()))
    .toContainEqual({ brokerId: 2, reason: 'Invalid frame: a chunk shorter than its header' });
  await expect.poll(() => connected(victim), { timeout: 20_000 }).toEqual([2]);
  await hostile.evaluate(() => (window as unknown as MeshWindow).meshTab.send(1, 100, 1));
  await expect.poll(() => victim.evaluate(() => (window as unknown as MeshWindow).meshTab.received().length)).toBe(1);
});
