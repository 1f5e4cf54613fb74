/**
 * Kafka's `Utils.murmur2(byte[])` and `Utils.toPositive(int)`, bit for bit. Keyed records must
 * land on the same partition as they would from the Java client (and librdkafka's
 * murmur2_random, and KafkaJS's JavaCompatiblePartitioner), so every quirk of the Java code is
 * kept: the fixed seed, little-endian 4-byte chunks and the signed 32-bit result.
 */

const SEED = 0x9747b28c;
// Mixing constants of MurmurHash2; Kafka uses the reference values.
const M = 0x5bd1e995;
const R = 24;

/** MurmurHash2 of `data`, as the signed 32-bit int Java's `Utils.murmur2` returns. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  // A DataView honours byteOffset, so a subarray hashes the same as a copy of its bytes.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);

  let h = SEED ^ length;
  const tailStart = length & ~3;

  for (let i = 0; i < tailStart; i += 4) {
    let k = view.getInt32(i, true);
    // Math.imul wraps like Java's int multiplication; a plain `*` would lose the low bits.
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }

  // Java's `switch (length % 4)` falls through 3 -> 2 -> 1; tsconfig forbids fall-through, so the
  // same cascade is written as guards.
  const tail = length & 3;
  if (tail === 3) h ^= view.getUint8(tailStart + 2) << 16;
  if (tail >= 2) h ^= view.getUint8(tailStart + 1) << 8;
  if (tail >= 1) {
    h ^= view.getUint8(tailStart);
    h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit rather than taking Math.abs, because
 * abs(-2^31) overflows in Java and the partition choice has to match Java's exactly.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}
