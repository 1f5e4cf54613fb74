import { describe, expect, it } from 'vitest';
import { murmur2, toPositive } from '../../src/producer/murmur2';
import { Partitioner } from '../../src/producer/partitioner';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

// apache/kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
// Java's getBytes() and TextEncoder agree here because every input is ASCII.
const KAFKA_UTILS_TEST: ReadonlyArray<readonly [string, Uint8Array, number]> = [
  ['"21"', bytes('21'), -973932308],
  ['"foobar"', bytes('foobar'), -790332482],
  ['"a-little-bit-long-string"', bytes('a-little-bit-long-string'), -985981536],
  ['"a-little-bit-longer-string"', bytes('a-little-bit-longer-string'), -1486304829],
  [
    '"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"',
    bytes('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'),
    -58897971,
  ],
  ["{'a','b','c'}", new Uint8Array([0x61, 0x62, 0x63]), 479470107],
];

// tulios/kafkajs, src/producer/partitioners/defaultJava/murmur2.spec.js ("Generated with
// src/producer/partitioners/defaultJava/Test.java", a copy of Kafka's Utils.murmur2; the same
// table moved to src/producer/partitioners/default/murmur2.spec.js in KafkaJS 2).
const KAFKAJS_JAVA_COMPATIBLE: ReadonlyArray<readonly [string, number]> = [
  ['0', 971027396],
  ['1', -1993445489],
  ['128', -326012175],
  ['2187', -1508407203],
  ['16384', -325739742],
  ['78125', -1654490814],
  ['279936', 1462227128],
  ['823543', -2014198330],
  ['2097152', 607668903],
  ['4782969', -1182699775],
  ['10000000', -1830336757],
  ['19487171', -1603849305],
  ['35831808', -857013643],
  ['62748517', -1167431028],
  ['105413504', -381294639],
  ['170859375', -1658323481],
  ['100:48069', 1009543857],
];

describe('murmur2 (Kafka Utils.murmur2)', () => {
  it.each(KAFKA_UTILS_TEST)('Kafka UtilsTest vector %s', (_label, input, expected) => {
    expect(murmur2(input)).toBe(expected);
  });

  it.each(KAFKAJS_JAVA_COMPATIBLE)('KafkaJS Java-compatible vector %j', (input, expected) => {
    expect(murmur2(bytes(input))).toBe(expected);
  });

  it('hashes a subarray by its own bytes, not the whole backing buffer', () => {
    const backing = bytes('xxfoobaryy');
    // Odd offset, so a DataView that ignored byteOffset (or alignment) would give another hash.
    const view = backing.subarray(2, 8);
    expect(murmur2(view)).toBe(-790332482);
  });

  it('returns a signed 32-bit integer for arbitrary lengths', () => {
    for (let length = 0; length < 64; length++) {
      const h = murmur2(new Uint8Array(length).fill(0xff));
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBe(h | 0);
    }
  });
});

describe('toPositive (Kafka Utils.toPositive)', () => {
  it('clears the sign bit instead of negating', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(2147483647);
    expect(toPositive(0)).toBe(0);
    expect(toPositive(2147483647)).toBe(2147483647);
  });
});

describe('keyed partition from Kafka-sourced hashes', () => {
  // The expected partition is derived from the upstream hash with Kafka's own formula
  // (BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % numPartitions).
  const vectors: ReadonlyArray<readonly [Uint8Array, number]> = [
    ...KAFKA_UTILS_TEST.map(([, input, hash]) => [input, hash] as const),
    ...KAFKAJS_JAVA_COMPATIBLE.map(([input, hash]) => [bytes(input), hash] as const),
  ];

  it.each([1, 2, 3, 7, 12, 100, 1000])('matches the Java client with %i partitions', (numPartitions) => {
    const partitioner = new Partitioner({
      random: () => {
        throw new Error('keyed records must not consume randomness');
      },
    });
    for (const [key, hash] of vectors) {
      expect(partitioner.partition({ topic: 't', key, numPartitions })).toBe(toPositive(hash) % numPartitions);
    }
  });
});
