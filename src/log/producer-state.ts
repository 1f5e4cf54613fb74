/**
 * Idempotent producers, as a partition's leader sees them (Kafka's ProducerStateManager): for
 * each producer id, its epoch, the last sequence written and the last few batches, so a retried
 * batch is answered with the offsets it already got instead of being written twice, and a gap
 * in sequences is refused instead of reordering records. Followers feed it the batches they
 * replicate, so a new leader dedupes retries aimed at the old one.
 */
import { InvalidProducerEpochError, OutOfOrderSequenceError } from '../errors';
import type { BatchHeader } from '../protocol/record-batch';

/** Kafka keeps the last five batches per producer: max.in.flight.requests.per.connection. */
const RECENT_BATCHES = 5;
const INT32_RANGE = 2 ** 31;

interface BatchRecord {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  recent: BatchRecord[];
}

export interface DuplicateBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /** The offsets a retried batch already got; null for a new one. Throws OutOfOrderSequenceError. */
  check(header: BatchHeader): DuplicateBatch | null {
    if (header.producerId < 0) return null;
    const entry = this.producers.get(header.producerId);
    // A producer (or a producer epoch) starts at sequence 0. A batch further on from one we
    // have no record of waits for its predecessors: with several batches in flight, a later
    // one may reach a new leader first. (Retention that deleted every batch of a live producer
    // makes its next batch fail this way; the producer then starts a new epoch.)
    if (!entry || header.producerEpoch > entry.epoch) {
      if (header.baseSequence !== 0) throw new OutOfOrderSequenceError(header.producerId, 0, header.baseSequence);
      return null;
    }
    // A batch of an epoch the producer has moved past arrived late: writing it now would
    // put it after records the producer sent later.
    if (header.producerEpoch < entry.epoch) throw new InvalidProducerEpochError(header.producerId, header.producerEpoch, entry.epoch);
    const first = header.baseSequence;
    const last = lastSequenceOf(header);
    for (const batch of entry.recent) {
      if (batch.firstSequence === first && batch.lastSequence === last) return { baseOffset: batch.baseOffset, lastOffset: batch.lastOffset };
    }
    const previous = entry.recent.at(-1);
    const expected = previous ? (previous.lastSequence + 1) % INT32_RANGE : 0;
    if (previous && first !== expected) throw new OutOfOrderSequenceError(header.producerId, expected, first);
    return null;
  }

  /** A batch was written at these offsets (by this leader, or replicated from one). */
  record(header: BatchHeader, baseOffset: number, lastOffset: number): void {
    if (header.producerId < 0) return;
    let entry = this.producers.get(header.producerId);
    if (!entry || header.producerEpoch > entry.epoch) {
      entry = { epoch: header.producerEpoch, recent: [] };
      this.producers.set(header.producerId, entry);
    }
    entry.recent.push({ firstSequence: header.baseSequence, lastSequence: lastSequenceOf(header), baseOffset, lastOffset });
    if (entry.recent.length > RECENT_BATCHES) entry.recent.shift();
  }

  /** The log lost everything at or past `offset`: so do the batches remembered there. */
  truncateTo(offset: number): void {
    for (const [id, entry] of this.producers) {
      entry.recent = entry.recent.filter((batch) => batch.lastOffset < offset);
      if (entry.recent.length === 0) this.producers.delete(id);
    }
  }
}

function lastSequenceOf(header: BatchHeader): number {
  return (header.baseSequence + header.lastOffsetDelta) % INT32_RANGE;
}
