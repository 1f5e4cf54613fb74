import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, toPositive } from '../../src/producer/murmur2';
import { DEFAULT_BATCH_SIZE, Partitioner, Partitioners } from '../../src/producer/partitioner';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A random source that replays `values` in order and fails loudly when it runs out. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => {
    const value = values[i++];
    if (value === undefined) throw new Error(`random() called more than ${values.length} times`);
    return value;
  };
}

const noRandom = (): number => {
  throw new Error('random() must not be called here');
};

describe('Partitioner: keyed records', () => {
  it('maps a key to the same partition every time and across instances', () => {
    const a = new Partitioner({ random: noRandom });
    const b = new Partitioner({ random: noRandom });
    const key = bytes('test-key');
    const first = a.partition({ topic: 't', key, numPartitions: 12 });
    for (let i = 0; i < 5; i++) expect(a.partition({ topic: 't', key, numPartitions: 12 })).toBe(first);
    expect(b.partition({ topic: 'other', key, numPartitions: 12 })).toBe(first);
    expect(first).toBe(toPositive(murmur2(key)) % 12);
  });

  it('hashes an empty key instead of treating it as no key', () => {
    const p = new Partitioner({ random: noRandom });
    const empty = new Uint8Array(0);
    expect(p.partition({ topic: 't', key: empty, numPartitions: 7 })).toBe(toPositive(murmur2(empty)) % 7);
  });

  it('does not disturb the sticky partition', () => {
    const p = new Partitioner({ random: scripted(0.5) });
    const sticky = p.partition({ topic: 't', key: null, numPartitions: 4 });
    p.partition({ topic: 't', key: bytes('k'), numPartitions: 4 });
    expect(p.partition({ topic: 't', key: null, numPartitions: 4 })).toBe(sticky);
  });
});

describe('Partitioner: explicit partition', () => {
  it('wins over the key and over the sticky choice', () => {
    const p = new Partitioner({ random: noRandom });
    const key = bytes('test-key');
    const hashed = toPositive(murmur2(key)) % 3;
    const explicit = (hashed + 1) % 3;
    expect(p.partition({ topic: 't', key, partition: explicit, numPartitions: 3 })).toBe(explicit);
    expect(p.partition({ topic: 't', key: null, partition: 0, numPartitions: 3 })).toBe(0);
  });

  it('treats a null partition as none given', () => {
    const p = new Partitioner({ random: scripted(0.75) });
    expect(p.partition({ topic: 't', key: null, partition: null, numPartitions: 4 })).toBe(3);
  });

  it.each([-1, 3, 1.5, Number.NaN])('rejects partition %d out of [0, 3)', (partition) => {
    const p = new Partitioner({ random: noRandom });
    expect(() => p.partition({ topic: 't', key: null, partition, numPartitions: 3 })).toThrow(RangeError);
  });
});

describe('Partitioner: validation', () => {
  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects numPartitions %d', (numPartitions) => {
    const p = new Partitioner({ random: noRandom });
    expect(() => p.partition({ topic: 't', key: null, numPartitions })).toThrow(RangeError);
    expect(() => p.partition({ topic: 't', key: bytes('k'), numPartitions })).toThrow(RangeError);
  });

  // Mirrors BuiltInPartitionerTest.testStickyBatchSizeMoreThatZero.
  it('requires batchSize >= 1', () => {
    expect(() => new Partitioner({ batchSize: 0 })).toThrow(RangeError);
    expect(() => new Partitioner({ batchSize: 1.5 })).toThrow(RangeError);
    expect(() => new Partitioner({ batchSize: 1 })).not.toThrow();
  });

  it('defaults batchSize to Kafka’s 16384', () => {
    expect(DEFAULT_BATCH_SIZE).toBe(16384);
    expect(new Partitioner().batchSize).toBe(16384);
  });

  it('rejects a random source outside [0, 1)', () => {
    expect(() => new Partitioner({ random: () => 1 }).partition({ topic: 't', key: null, numPartitions: 2 })).toThrow(
      RangeError,
    );
  });

  it('rejects negative byte counts', () => {
    expect(() => new Partitioner().recordAppended('t', 0, -1)).toThrow(RangeError);
  });
});

describe('Partitioner: sticky null-key records', () => {
  it('starts on the partition the random source picks and stays there', () => {
    const p = new Partitioner({ random: scripted(0.6) });
    for (let i = 0; i < 50; i++) expect(p.partition({ topic: 't', key: null, numPartitions: 5 })).toBe(3);
  });

  it('moves to a different partition after onBatchFull', () => {
    // 0.6 of 5 picks 3; after the switch 0.0 of the 4 others picks the one after 3.
    const p = new Partitioner({ random: scripted(0.6, 0) });
    expect(p.partition({ topic: 't', key: null, numPartitions: 5 })).toBe(3);
    p.onBatchFull('t');
    const next = p.partition({ topic: 't', key: null, numPartitions: 5 });
    expect(next).toBe(4);
    expect(p.partition({ topic: 't', key: null, numPartitions: 5 })).toBe(4);
  });

  it('never lands on the partition it just left, whatever the random draw', () => {
    for (const draw of [0, 0.25, 0.5, 0.75, 0.999999]) {
      const p = new Partitioner({ random: scripted(0, draw) });
      expect(p.partition({ topic: 't', key: null, numPartitions: 2 })).toBe(0);
      p.onBatchFull('t');
      expect(p.partition({ topic: 't', key: null, numPartitions: 2 })).toBe(1);
    }
  });

  it('ignores a full batch on a partition that is not the sticky one', () => {
    const p = new Partitioner({ random: scripted(0) });
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(0);
    p.onBatchFull('t', 2);
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(0);
    p.onBatchFull('unknown-topic');
  });

  it('stays on partition 0 with a single partition', () => {
    const p = new Partitioner({ random: () => 0.3, batchSize: 1 });
    for (let i = 0; i < 10; i++) {
      expect(p.partition({ topic: 'one', key: null, numPartitions: 1 })).toBe(0);
      p.recordAppended('one', 0, 1);
      p.onBatchFull('one');
    }
  });

  it('keeps one sticky partition per topic', () => {
    const p = new Partitioner({ random: scripted(0, 0.9) });
    expect(p.partition({ topic: 'a', key: null, numPartitions: 4 })).toBe(0);
    expect(p.partition({ topic: 'b', key: null, numPartitions: 4 })).toBe(3);
    p.onBatchFull('a');
    expect(p.partition({ topic: 'b', key: null, numPartitions: 4 })).toBe(3);
  });

  it('re-picks when the partition count shrinks below the sticky partition', () => {
    const p = new Partitioner({ random: scripted(0.9, 0.5) });
    expect(p.partition({ topic: 't', key: null, numPartitions: 10 })).toBe(9);
    expect(p.partition({ topic: 't', key: null, numPartitions: 4 })).toBe(2);
  });
});

describe('Partitioner: switching after batchSize bytes (KIP-794)', () => {
  // Mirrors BuiltInPartitionerTest.testStickyPartitioning: sticky batch size of 3, 1 byte a record.
  it('switches after exactly batchSize bytes, not before', () => {
    const p = new Partitioner({ batchSize: 3, random: scripted(0, 0) });
    const first = p.partition({ topic: 'topicA', key: null, numPartitions: 3 });
    for (let i = 0; i < 3; i++) {
      expect(p.partition({ topic: 'topicA', key: null, numPartitions: 3 })).toBe(first);
      p.recordAppended('topicA', first, 1);
    }
    expect(p.partition({ topic: 'topicA', key: null, numPartitions: 3 })).not.toBe(first);
  });

  it('uses the default batch size of 16384 bytes', () => {
    const p = new Partitioner({ random: scripted(0.5, 0) });
    const first = p.partition({ topic: 't', key: null, numPartitions: 4 });
    p.recordAppended('t', first, 16383);
    expect(p.partition({ topic: 't', key: null, numPartitions: 4 })).toBe(first);
    p.recordAppended('t', first, 1);
    expect(p.partition({ topic: 't', key: null, numPartitions: 4 })).not.toBe(first);
  });

  it('counts only bytes appended to the current sticky partition, and restarts the count after a switch', () => {
    const p = new Partitioner({ batchSize: 100, random: scripted(0, 0, 0) });
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(0);
    p.recordAppended('t', 1, 500);
    p.recordAppended('other', 0, 500);
    p.recordAppended('t', 0, 60);
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(0);
    p.recordAppended('t', 0, 40);
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(1);
    // Late bytes for the partition just left do not count towards the new one.
    p.recordAppended('t', 0, 1000);
    p.recordAppended('t', 1, 99);
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(1);
    p.recordAppended('t', 1, 1);
    expect(p.partition({ topic: 't', key: null, numPartitions: 3 })).toBe(2);
  });

  it('restarts the byte count after onBatchFull', () => {
    const p = new Partitioner({ batchSize: 10, random: scripted(0, 0) });
    expect(p.partition({ topic: 't', key: null, numPartitions: 2 })).toBe(0);
    p.recordAppended('t', 0, 9);
    p.onBatchFull('t', 0);
    expect(p.partition({ topic: 't', key: null, numPartitions: 2 })).toBe(1);
    p.recordAppended('t', 1, 9);
    expect(p.partition({ topic: 't', key: null, numPartitions: 2 })).toBe(1);
  });
});

describe('Partitioner: properties', () => {
  const request = fc.record({
    topic: fc.constantFrom('a', 'b', 'c'),
    key: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
    numPartitions: fc.integer({ min: 1, max: 10_000 }),
    explicit: fc.option(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { nil: null }),
  });

  it('always returns an integer in [0, numPartitions)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.array(fc.tuple(request, fc.constantFrom('none', 'full', 'bytes')), { minLength: 1, maxLength: 50 }),
        (draws, steps) => {
          let i = 0;
          const p = new Partitioner({ batchSize: 64, random: () => draws[i++ % draws.length] ?? 0 });
          for (const [{ topic, key, numPartitions, explicit }, after] of steps) {
            const partition = explicit === null ? undefined : Math.floor(explicit * numPartitions);
            const result = p.partition({ topic, key, partition, numPartitions });
            expect(Number.isInteger(result)).toBe(true);
            expect(result).toBeGreaterThanOrEqual(0);
            expect(result).toBeLessThan(numPartitions);
            if (partition !== undefined) expect(result).toBe(partition);
            else if (key !== null) expect(result).toBe(toPositive(murmur2(key)) % numPartitions);
            if (after === 'full') p.onBatchFull(topic, result);
            if (after === 'bytes') p.recordAppended(topic, result, 32);
          }
        },
      ),
    );
  });

  it('switches to a different partition whenever there is more than one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 1000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (numPartitions, first, second) => {
          const p = new Partitioner({ random: scripted(first, second) });
          const before = p.partition({ topic: 't', key: null, numPartitions });
          p.onBatchFull('t');
          const after = p.partition({ topic: 't', key: null, numPartitions });
          expect(after).not.toBe(before);
          expect(after).toBeGreaterThanOrEqual(0);
          expect(after).toBeLessThan(numPartitions);
        },
      ),
    );
  });
});

describe('Partitioners (KafkaJS names)', () => {
  it('exposes the Java-compatible partitioner under KafkaJS’s names', () => {
    expect(Partitioners.JavaCompatiblePartitioner).toBe(Partitioner);
    expect(Partitioners.DefaultPartitioner).toBe(Partitioner);
    const p = new Partitioners.JavaCompatiblePartitioner({ random: noRandom });
    expect(p.partition({ topic: 't', key: bytes('foobar'), numPartitions: 1000 })).toBe(
      toPositive(-790332482) % 1000,
    );
  });
});
