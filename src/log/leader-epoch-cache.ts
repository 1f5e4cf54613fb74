/**
 * Kafka's leader-epoch checkpoint (LeaderEpochFileCache, KIP-101): for each leader epoch, the
 * first offset written in it. A follower asks the leader where its last epoch ended and
 * truncates everything past that point, so replicas cannot diverge after a failover.
 * Pure functions over an immutable list, sorted by epoch and by start offset.
 */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

export function latestEpoch(entries: readonly EpochEntry[]): number {
  return entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
}

/**
 * Records that `epoch` starts at `startOffset`. An epoch older than the latest is ignored, as
 * in Kafka (it means records arrived out of order); entries at or past `startOffset` are
 * replaced. Returns the same list when nothing changes.
 */
export function assignEpoch(entries: readonly EpochEntry[], epoch: number, startOffset: number): readonly EpochEntry[] {
  const last = entries.at(-1);
  if (epoch < 0 || (last && epoch <= last.epoch)) return entries;
  const kept = entries.filter((entry) => entry.startOffset < startOffset);
  return [...kept, { epoch, startOffset }];
}

/**
 * OffsetsForLeaderEpoch: the end offset of `requestedEpoch` (the start of the next higher
 * epoch, or the log end for the latest one) and the largest epoch <= the requested one.
 */
export function endOffsetForEpoch(
  entries: readonly EpochEntry[],
  requestedEpoch: number,
  logEndOffset: number,
): EpochEntry {
  const first = entries[0];
  if (!first || requestedEpoch < first.epoch) return { epoch: UNDEFINED_EPOCH, startOffset: UNDEFINED_OFFSET };
  const nextIndex = entries.findIndex((entry) => entry.epoch > requestedEpoch);
  if (nextIndex === -1) return { epoch: latestEpoch(entries), startOffset: logEndOffset };
  const next = entries[nextIndex] as EpochEntry;
  const floor = entries[nextIndex - 1] as EpochEntry;
  return { epoch: floor.epoch, startOffset: next.startOffset };
}

/** After truncating the log to `endOffset`, epochs that began at or past it are gone. */
export function truncateEpochsFromEnd(entries: readonly EpochEntry[], endOffset: number): EpochEntry[] {
  return entries.filter((entry) => entry.startOffset < endOffset);
}

/** After the log start moves to `startOffset`, epochs wholly before it are dropped. */
export function truncateEpochsFromStart(entries: readonly EpochEntry[], startOffset: number): EpochEntry[] {
  const result: EpochEntry[] = [];
  entries.forEach((entry, index) => {
    const next = entries[index + 1];
    if (next && next.startOffset <= startOffset) return;
    result.push(entry.startOffset < startOffset ? { epoch: entry.epoch, startOffset } : entry);
  });
  return result;
}
