// The storage benchmark's page. Per round, on the same records: raw IndexedDB and tabka's log
// API side by side in one worker, then the path an app takes (page -> comlink -> broker worker).
import { wrap } from 'comlink';
import { LocalBroker } from '../../src/index';
import { workerReady } from '../../src/broker/worker-ready';
import { encodeBatches, nextOffsetAfter } from './storage-shape';
import type { StorageShape } from './storage-shape';
import type { StorageBench, Timing } from './storage.worker';

export interface StorageRound {
  readonly raw: Timing;
  readonly log: Timing;
  readonly page: Timing;
  readonly encodeMs: number;
}

async function startStorageWorker(): Promise<StorageBench> {
  const worker = new Worker(new URL('./storage.worker.ts', import.meta.url), { type: 'module' });
  await workerReady(worker);
  return wrap<StorageBench>(worker) as unknown as StorageBench;
}

async function pageRound(broker: LocalBroker, topic: string, shape: StorageShape): Promise<Timing & { encodeMs: number }> {
  const encodeStart = performance.now();
  const batches = encodeBatches(shape);
  const encodeMs = performance.now() - encodeStart;
  await broker.createPartition(topic, 0, { retentionMs: -1 });
  const writeStart = performance.now();
  for (const batch of batches) await broker.append(topic, 0, batch);
  const writeMs = performance.now() - writeStart;
  const readStart = performance.now();
  let offset = 0;
  while (offset < shape.records) {
    offset = nextOffsetAfter((await broker.read(topic, 0, offset, { maxBytes: shape.readMaxBytes })).batches, offset);
  }
  const readMs = performance.now() - readStart;
  await broker.deletePartition(topic, 0);
  return { writeMs, readMs, encodeMs };
}

async function storage(shape: StorageShape, rounds: number): Promise<StorageRound[]> {
  const bench = await startStorageWorker();
  const broker = await LocalBroker.start({ cluster: `bench-${Date.now()}` });
  const results: StorageRound[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      // The page path runs before or after the side-by-side pair, alternately.
      const pagePath = () => pageRound(broker, `bench-${round}`, shape);
      const pair = () => bench.sideBySide(shape, round);
      let sides: { raw: Timing; log: Timing };
      let pageResult: Awaited<ReturnType<typeof pagePath>>;
      if (round % 2) {
        pageResult = await pagePath();
        sides = await pair();
      } else {
        sides = await pair();
        pageResult = await pagePath();
      }
      const { encodeMs, ...page } = pageResult;
      results.push({ ...sides, page, encodeMs });
    }
  } finally {
    await broker.close();
  }
  return results;
}

Object.assign(window, { bench: { storage } });
document.body.dataset.ready = 'true';
