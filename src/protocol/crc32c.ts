/**
 * CRC-32C (Castagnoli), the checksum Kafka's record batch v2 uses.
 *
 * hash-wasm rather than a pure-JS table implementation: measured ~1.1-1.8 GB/s against
 * ~400 MB/s, and every produced and appended batch is hashed. Top-level await keeps the
 * exported function synchronous: the WASM module is compiled once, when this module loads.
 */

import { createCRC32 } from 'hash-wasm';

/** The reflected Castagnoli polynomial; hash-wasm defaults to CRC-32 (IEEE) otherwise. */
const CASTAGNOLI = 0x82f63b78;

const hasher = await createCRC32(CASTAGNOLI);

/** CRC-32C of `bytes` (a view is fine) as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  // Safe to share one hasher: init/update/digest run synchronously, nothing interleaves.
  hasher.init();
  hasher.update(bytes);
  const d = hasher.digest('binary');
  // hash-wasm emits the digest big-endian (check value "123456789" -> E3 06 92 83).
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}
