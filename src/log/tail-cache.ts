import { ownedBytes } from '../util/owned-bytes';
import type { BatchEntry } from './log-store';

interface CachedBatch {
  readonly entry: BatchEntry;
  readonly bytes: Uint8Array;
}

/**
 * The newest committed batches of one log, kept in memory. Kafka serves followers and
 * consumers at the end of a log from the OS page cache, not the disk; here every follower
 * fetch and every consumer at the log end would otherwise read back from IndexedDB what was
 * committed a moment ago (a few ms per read on the acks=all path, and the leader's storage
 * busy with reads while it should be writing). Only committed batches enter, a truncation
 * empties it, and a read it cannot serve whole goes to the store as before.
 */
export class TailCache {
  private batches: CachedBatch[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** After the store committed `entry`: the oldest cached batches make room. */
  add(entry: BatchEntry, bytes: Uint8Array): void {
    if (bytes.byteLength > this.maxBytes) {
      this.clear();
      return;
    }
    // Its own buffer: a view would keep a whole request's buffer alive.
    this.batches.push({ entry, bytes: ownedBytes(bytes) });
    this.bytes += bytes.byteLength;
    while (this.bytes > this.maxBytes) this.bytes -= this.batches.shift()!.bytes.byteLength;
  }

  /**
   * Copies of the batches for `wanted` (consecutive entries of the log), or null unless every
   * one is cached. Copies, because a reader may transfer what it gets to another thread.
   */
  read(wanted: readonly BatchEntry[]): Uint8Array[] | null {
    const at = this.positionOf(wanted);
    return at < 0 ? null : wanted.map((_, i) => this.batches[at + i]!.bytes.slice());
  }

  /** Whether read(wanted) would be served, without copying anything. */
  holds(wanted: readonly BatchEntry[]): boolean {
    return this.positionOf(wanted) >= 0;
  }

  /** The log start moved to `offset`: batches wholly below it go. */
  dropBefore(offset: number): void {
    while (this.batches[0] && this.batches[0].entry.lastOffset < offset) this.bytes -= this.batches.shift()!.bytes.byteLength;
  }

  clear(): void {
    this.batches = [];
    this.bytes = 0;
  }

  /** Where `wanted` starts in the cache if every one of its batches is there, else -1. */
  private positionOf(wanted: readonly BatchEntry[]): number {
    const first = wanted[0];
    const at = first ? this.indexOf(first.baseOffset) : -1;
    if (at < 0 || at + wanted.length > this.batches.length) return -1;
    const all = wanted.every((entry, i) => {
      const cached = this.batches[at + i]!;
      return cached.entry.baseOffset === entry.baseOffset && cached.bytes.byteLength === entry.sizeBytes;
    });
    return all ? at : -1;
  }

  private indexOf(baseOffset: number): number {
    // Readers are nearly always at the newest batches: search from the end.
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const offset = this.batches[i]!.entry.baseOffset;
      if (offset === baseOffset) return i;
      if (offset < baseOffset) return -1;
    }
    return -1;
  }
}
