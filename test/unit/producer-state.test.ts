import { describe, expect, it } from 'vitest';
import { InvalidProducerEpochError, OutOfOrderSequenceError } from '../../src/errors';
import { ProducerStateTable } from '../../src/log/producer-state';
import type { BatchHeader } from '../../src/protocol/record-batch';

function header(producerId: number, producerEpoch: number, baseSequence: number, records: number): BatchHeader {
  return {
    baseOffset: 0,
    batchLength: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: 0,
    lastOffsetDelta: records - 1,
    baseTimestamp: 0,
    maxTimestamp: 0,
    producerId,
    producerEpoch,
    baseSequence,
    recordCount: records,
  };
}

describe('ProducerStateTable', () => {
  it('answers a retried batch with the offsets it already got', () => {
    const table = new ProducerStateTable();
    expect(table.check(header(7, 0, 0, 3))).toBeNull();
    table.record(header(7, 0, 0, 3), 10, 12);
    expect(table.check(header(7, 0, 0, 3))).toEqual({ baseOffset: 10, lastOffset: 12 });
    expect(table.check(header(7, 0, 3, 2))).toBeNull();
  });

  it('refuses a gap in sequences, and a late batch from an older epoch', () => {
    const table = new ProducerStateTable();
    table.record(header(7, 1, 0, 3), 0, 2);
    expect(() => table.check(header(7, 1, 5, 1))).toThrow(OutOfOrderSequenceError);
    expect(() => table.check(header(7, 0, 3, 1))).toThrow(InvalidProducerEpochError);
    // A newer epoch, or an unknown producer, starts over at sequence 0 and nowhere else.
    expect(table.check(header(7, 2, 0, 1))).toBeNull();
    expect(() => table.check(header(7, 2, 4, 1))).toThrow(OutOfOrderSequenceError);
    expect(() => table.check(header(8, 0, 4, 1))).toThrow(OutOfOrderSequenceError);
  });

  it('forgets batches a truncation removed, and ignores non-idempotent batches', () => {
    const table = new ProducerStateTable();
    table.record(header(7, 0, 0, 3), 0, 2);
    table.record(header(7, 0, 3, 3), 3, 5);
    table.truncateTo(3);
    expect(table.check(header(7, 0, 3, 3))).toBeNull(); // no longer a duplicate: it must be written again
    expect(table.check(header(-1, -1, -1, 5))).toBeNull();
  });
});
