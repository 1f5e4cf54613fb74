import { describe, expect, it } from 'vitest';
import { CorruptRecordError, UnsupportedCompressionTypeError } from '../../src/errors';
import { CompressionTypes, checkCompressedRecords, compressRecordBatch, decompressRecordBatch, isCompressed } from '../../src/protocol/compression';
import { crc32c } from '../../src/protocol/crc32c';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader, verifyRecordBatch } from '../../src/protocol/record-batch';
import type { RecordInput } from '../../src/protocol/record-batch';

const utf8 = new TextEncoder();

function records(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: utf8.encode(`user-${i % 7}`),
    value: utf8.encode(JSON.stringify({ event: 'page-view', path: '/docs/getting-started', seq: i })),
    headers: [{ key: 'source', value: utf8.encode('tab') }],
    timestamp: 1_700_000_000_000 + i,
  }));
}

const idempotent = { baseOffset: 40, partitionLeaderEpoch: 3, producerId: 77, producerEpoch: 2, baseSequence: 9 };

describe('gzip record batches', () => {
  it('keep the header, shrink the records, pass the CRC check, and inflate back to the very same bytes', async () => {
    const plain = encodeRecordBatch(records(500), idempotent);
    const gzip = await compressRecordBatch(plain, CompressionTypes.GZIP);
    expect(isCompressed(gzip)).toBe(true);
    expect(gzip.length).toBeLessThan(plain.length / 5);
    const header = verifyRecordBatch(gzip);
    const plainHeader = readBatchHeader(plain);
    expect(header.attributes & 7).toBe(1);
    expect({ ...header, attributes: 0, crc: 0, batchLength: 0 }).toEqual({ ...plainHeader, crc: 0, batchLength: 0 });
    expect(await decompressRecordBatch(gzip)).toEqual(plain);
    expect(decodeRecordBatch(await decompressRecordBatch(gzip)).records.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => 40 + i));
  });

  it('pass an uncompressed batch through decompression untouched, and compress with None to itself', async () => {
    const plain = encodeRecordBatch(records(3));
    expect(await decompressRecordBatch(plain)).toBe(plain);
    expect(await compressRecordBatch(plain, CompressionTypes.None)).toBe(plain);
  });

  it('refuse snappy, lz4 and zstd with a typed error, and compressing twice', async () => {
    const plain = encodeRecordBatch(records(3));
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
      await expect(compressRecordBatch(plain, type)).rejects.toThrow(UnsupportedCompressionTypeError);
    }
    const gzip = await compressRecordBatch(plain, CompressionTypes.GZIP);
    await expect(compressRecordBatch(gzip, CompressionTypes.GZIP)).rejects.toThrow(RangeError);
  });

  it('turn a bad CRC, bytes gzip cannot read, and a batch that inflates past the limit into CorruptRecordError', async () => {
    const gzip = await compressRecordBatch(encodeRecordBatch(records(200)), CompressionTypes.GZIP);
    const flipped = gzip.slice();
    flipped[flipped.length - 5]! ^= 0xff;
    await expect(decompressRecordBatch(flipped)).rejects.toThrow(CorruptRecordError);
    // The same damage with a CRC made to match, as a broken producer would send it.
    const resealed = flipped.slice();
    new DataView(resealed.buffer).setUint32(17, crc32c(resealed.subarray(21)));
    await expect(decompressRecordBatch(resealed)).rejects.toThrow(CorruptRecordError);
    await expect(decompressRecordBatch(gzip, 1024)).rejects.toThrow(/inflate past 1024 bytes/);
  });

  it('are checked record by record before a leader stores them: a header that lies about its records is corrupt', async () => {
    const gzip = await compressRecordBatch(encodeRecordBatch(records(20)), CompressionTypes.GZIP);
    await expect(checkCompressedRecords(gzip)).resolves.toBeUndefined();
    await expect(checkCompressedRecords(encodeRecordBatch(records(2)))).resolves.toBeUndefined();
    // A million records claimed by a batch of twenty: it would move the log end by a million.
    const lying = gzip.slice();
    const view = new DataView(lying.buffer);
    view.setInt32(57, 1_000_000);
    view.setInt32(23, 999_999);
    view.setUint32(17, crc32c(lying.subarray(21)));
    expect(readBatchHeader(lying).recordCount).toBe(1_000_000); // the header alone looks fine
    await expect(checkCompressedRecords(lying)).rejects.toThrow(CorruptRecordError);
    await expect(checkCompressedRecords(gzip, 100)).rejects.toThrow(CorruptRecordError);
  });
});
