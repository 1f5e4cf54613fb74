/**
 * A follower does not need its own produce requests sent back to it. When a producer's tab is
 * also a follower of the partition (every tab of a three-tab cluster replicates every
 * partition at replication factor 3), the leader would otherwise return each batch over the
 * same channel it just came in on. Instead the leader answers that follower's fetch with the
 * batch's 61-byte header alone (its offset and leader epoch are the leader's), and the follower
 * puts the header back on the bytes it sent. The rest of a batch is the producer's, unchanged
 * by the leader, and the CRC the follower checks on append covers it: a wrong match cannot
 * slip in. What the follower no longer holds it fetches whole.
 */
import { BATCH_HEADER_SIZE, peekBatchIdentity } from '../protocol/record-batch';

/** What identifies a batch from an idempotent producer, and its size, read from its header; null otherwise. */
function identityOf(header: Uint8Array): { key: string; size: number } | null {
  let batch;
  try {
    batch = peekBatchIdentity(header);
  } catch {
    return null; // no header, or fields past 2^53: nothing this broker sent
  }
  if (batch.producerId < 0) return null; // no producer id, no identity: such batches always travel whole
  return { key: `${batch.producerId}:${batch.producerEpoch}:${batch.baseSequence}:${batch.size}`, size: batch.size };
}

/**
 * The follower's side: batches this broker sent to leaders, until they come back as headers.
 * An echo comes back with the follower's next fetch, within milliseconds; a batch that has not
 * come back within `maxAgeMs` never will (its produce failed, say), and the batches sent to a
 * partition's previous leader never come back as headers from the next one.
 */
export class SentBatches {
  private readonly batches = new Map<string, { readonly bytes: Uint8Array; readonly at: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A produce request's records on their way to a remote leader (one whole batch, else ignored). */
  remember(topic: string, partition: number, records: Uint8Array): void {
    this.forgetOlderThan(this.now() - this.maxAgeMs);
    const identity = identityOf(records);
    if (identity === null || identity.size !== records.byteLength || records.byteLength > this.maxBytes) return;
    const key = `${partitionPrefix(topic, partition)}${identity.key}`;
    if (this.batches.has(key)) return; // a retry of the same batch: the same bytes
    this.batches.set(key, { bytes: records, at: this.now() });
    this.bytes += records.byteLength;
    // Oldest first: a batch never echoed (its produce failed, say) goes when space is needed.
    for (const [oldest, batch] of this.batches) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(oldest, batch.bytes);
    }
  }

  /** The partition has a new leader: nothing sent to the previous one comes back as a header. */
  forgetPartition(topic: string, partition: number): void {
    const prefix = partitionPrefix(topic, partition);
    for (const [key, batch] of this.batches) if (key.startsWith(prefix)) this.forget(key, batch.bytes);
  }

  private forgetOlderThan(time: number): void {
    for (const [key, batch] of this.batches) {
      if (batch.at >= time) break; // in the order remembered: the rest are younger
      this.forget(key, batch.bytes);
    }
  }

  private forget(key: string, bytes: Uint8Array): void {
    this.batches.delete(key);
    this.bytes -= bytes.byteLength;
  }

  /** The whole batch for the leader's `header`, with that header, if this broker sent it; once. */
  take(topic: string, partition: number, header: Uint8Array): Uint8Array | undefined {
    const identity = identityOf(header);
    if (identity === null || header.byteLength !== BATCH_HEADER_SIZE) return undefined;
    const key = `${partitionPrefix(topic, partition)}${identity.key}`;
    const sent = this.batches.get(key)?.bytes;
    if (!sent) return undefined;
    this.forget(key, sent);
    const whole = new Uint8Array(sent.byteLength);
    whole.set(sent);
    whole.set(header, 0);
    return whole;
  }

  get size(): number {
    return this.batches.size;
  }
}

function partitionPrefix(topic: string, partition: number): string {
  return `${topic}\u0000${partition}\u0000`;
}

/** The leader's side: which broker sent each recent batch of one partition, by base offset. */
export class BatchOrigins {
  private readonly origins = new Map<number, number>();

  constructor(private readonly maxEntries = 4096) {}

  record(baseOffset: number, brokerId: number): void {
    this.origins.set(baseOffset, brokerId);
    if (this.origins.size > this.maxEntries) {
      const oldest = this.origins.keys().next().value as number;
      this.origins.delete(oldest);
    }
  }

  originOf(baseOffset: number): number | undefined {
    return this.origins.get(baseOffset);
  }

  /** Leadership moved or the log was cut: offsets may now name other batches. */
  clear(): void {
    this.origins.clear();
  }
}

/** The fetch answer's blobs for `follower`: headers alone for the batches it sent itself. */
export function echoHeaders(batches: readonly Uint8Array[], follower: number, originOf: (baseOffset: number) => number | undefined): { blobs: Uint8Array[]; echoes: number[] } {
  const echoes: number[] = [];
  const blobs = batches.map((batch, index) => {
    if (originOf(peekBatchIdentity(batch).baseOffset) !== follower || identityOf(batch) === null) return batch;
    echoes.push(index);
    return batch.subarray(0, BATCH_HEADER_SIZE);
  });
  return { blobs, echoes };
}

/**
 * The follower's side of an answer with echoes: the batches, each echo restored from what this
 * broker sent, up to the first it cannot restore (`complete` false: fetch the rest whole).
 */
export function restoreEchoes(
  batches: readonly Uint8Array[],
  echoes: readonly number[],
  restore: (header: Uint8Array) => Uint8Array | undefined,
): { batches: Uint8Array[]; complete: boolean } {
  const echoed = new Set(echoes);
  const restored: Uint8Array[] = [];
  for (const [index, batch] of batches.entries()) {
    if (!echoed.has(index)) {
      restored.push(batch);
      continue;
    }
    const whole = restore(batch);
    if (!whole) return { batches: restored, complete: false };
    restored.push(whole);
  }
  return { batches: restored, complete: true };
}
