import { describe, expect, it } from 'vitest';
import type { BatchEntry } from '../../src/log/log-store';
import { TailCache } from '../../src/log/tail-cache';

function batch(baseOffset: number, count: number, size: number): { entry: BatchEntry; bytes: Uint8Array } {
  const bytes = new Uint8Array(size).fill(baseOffset % 251);
  return { entry: { baseOffset, lastOffset: baseOffset + count - 1, sizeBytes: size, maxTimestamp: 0, leaderEpoch: 0 }, bytes };
}

function filled(cache: TailCache, batches: ReturnType<typeof batch>[]): TailCache {
  for (const { entry, bytes } of batches) cache.add(entry, bytes);
  return cache;
}

describe('TailCache', () => {
  const a = batch(0, 10, 100);
  const b = batch(10, 5, 200);
  const c = batch(15, 20, 300);

  it('serves consecutive cached batches as copies, and nothing it does not hold whole', () => {
    const cache = filled(new TailCache(1000), [a, b, c]);
    const read = cache.read([b.entry, c.entry])!;
    expect(read.map((bytes) => bytes[0])).toEqual([10, 15]);
    expect(read[0]).not.toBe(b.bytes);
    read[0]![0] = 99; // a reader's copy: the cache keeps its own bytes
    expect(cache.read([b.entry])![0]![0]).toBe(10);
    expect(cache.read([{ ...c.entry, baseOffset: 35 }])).toBeNull();
    expect(cache.read([c.entry, { ...c.entry, baseOffset: 35, lastOffset: 40 }])).toBeNull();
    expect(cache.read([{ ...b.entry, sizeBytes: 201 }])).toBeNull();
    expect(cache.read([])).toBeNull();
  });

  it('evicts the oldest batches beyond its size, keeps nothing larger than itself', () => {
    const cache = filled(new TailCache(550), [a, b, c]);
    expect(cache.read([a.entry])).toBeNull();
    expect(cache.read([b.entry, c.entry])).toHaveLength(2);
    cache.add(batch(35, 1, 600).entry, batch(35, 1, 600).bytes);
    expect(cache.read([c.entry])).toBeNull();
    expect(cache.read([batch(35, 1, 600).entry])).toBeNull();
  });

  it('drops what the log start passes and empties on clear', () => {
    const cache = filled(new TailCache(1000), [a, b, c]);
    cache.dropBefore(12);
    expect(cache.read([a.entry])).toBeNull();
    expect(cache.read([b.entry, c.entry])).toHaveLength(2);
    cache.clear();
    expect(cache.read([c.entry])).toBeNull();
  });
});
