/**
 * Each partition's offsets as its leader reports them (log start, high watermark, log end),
 * refreshed in the background. Partitions are asked independently, one request each at a
 * time: while one partition waits out a leader election, the others keep updating.
 */
import type { LocalBroker, PartitionOffsets } from 'tabka';
import { withTimeout } from './dom';

export interface KnownOffsets {
  readonly offsets: PartitionOffsets;
  readonly at: number;
}

const REFRESH_MS = 500;
const REQUEST_TIMEOUT_MS = 6000;

export class OffsetsTracker {
  private readonly known = new Map<string, KnownOffsets>();
  private readonly asking = new Set<string>();
  private readonly askedAt = new Map<string, number>();

  constructor(private readonly broker: LocalBroker) {}

  /** Starts a refresh of these partitions where one is due; answers arrive later. */
  refresh(partitions: readonly { topic: string; partition: number }[]): void {
    const wanted = new Set<string>();
    for (const { topic, partition } of partitions) {
      const key = keyOf(topic, partition);
      wanted.add(key);
      if (this.asking.has(key) || Date.now() - (this.askedAt.get(key) ?? 0) < REFRESH_MS) continue;
      this.asking.add(key);
      this.askedAt.set(key, Date.now());
      withTimeout(this.broker.offsets(topic, partition), REQUEST_TIMEOUT_MS, `offsets of ${key}`)
        .then((offsets) => this.known.set(key, { offsets, at: Date.now() }))
        // No leader right now (an election is under way): the last known offsets stay, marked stale by age.
        .catch(() => undefined)
        .finally(() => this.asking.delete(key));
    }
    for (const key of this.known.keys()) if (!wanted.has(key)) this.known.delete(key);
  }

  get(topic: string, partition: number): KnownOffsets | undefined {
    return this.known.get(keyOf(topic, partition));
  }
}

const keyOf = (topic: string, partition: number) => `${topic}-${partition}`;
