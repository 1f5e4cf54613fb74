/**
 * What this tab's clients did, second by second: records produced (acknowledged) and
 * consumed, and how long each producer.send took. Kept for the last few minutes only.
 */
interface Second {
  produced: number;
  consumed: number;
  readonly latencies: number[];
}

export interface MetricSeries {
  /** One entry per whole second, oldest first, ending with the last completed second. */
  readonly produced: number[];
  readonly consumed: number[];
  /** Produce latency percentiles in ms; null for a second without a send. */
  readonly p50: (number | null)[];
  readonly p99: (number | null)[];
}

const KEEP_SECONDS = 180;

export class Meter {
  private readonly seconds = new Map<number, Second>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A send of `records` records that took `latencyMs` from the call to its acknowledgement. */
  produced(records: number, latencyMs: number): void {
    const second = this.current();
    second.produced += records;
    second.latencies.push(latencyMs);
  }

  consumed(records: number): void {
    this.current().consumed += records;
  }

  /** The last `count` completed seconds: the running second would read as a dip. */
  series(count = 60): MetricSeries {
    const last = Math.floor(this.now() / 1000) - 1;
    const produced: number[] = [];
    const consumed: number[] = [];
    const p50: (number | null)[] = [];
    const p99: (number | null)[] = [];
    for (let t = last - count + 1; t <= last; t++) {
      const second = this.seconds.get(t);
      produced.push(second?.produced ?? 0);
      consumed.push(second?.consumed ?? 0);
      const sorted = second ? [...second.latencies].sort((a, b) => a - b) : [];
      p50.push(percentile(sorted, 0.5));
      p99.push(percentile(sorted, 0.99));
    }
    return { produced, consumed, p50, p99 };
  }

  private current(): Second {
    const key = Math.floor(this.now() / 1000);
    let second = this.seconds.get(key);
    if (!second) {
      second = { produced: 0, consumed: 0, latencies: [] };
      this.seconds.set(key, second);
      for (const old of this.seconds.keys()) if (old < key - KEEP_SECONDS) this.seconds.delete(old);
    }
    return second;
  }
}

/** Nearest-rank percentile of sorted samples (null when there are none). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}
