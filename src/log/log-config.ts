/**
 * Per-partition log settings, named after Kafka's topic configs. Defaults are Kafka's:
 * retention.ms 7 days, retention.bytes unlimited, max.message.bytes ~1 MiB.
 */
export interface LogConfig {
  /** retention.ms: batches whose newest timestamp is older than this are deleted. -1 = keep forever. */
  readonly retentionMs: number;
  /** retention.bytes: oldest batches are deleted while the log stays at least this big. -1 = no limit. */
  readonly retentionBytes: number;
  /** max.message.bytes: the largest record batch the log accepts. */
  readonly maxMessageBytes: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  maxMessageBytes: 1024 * 1024,
});

export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config = { ...DEFAULT_LOG_CONFIG, ...overrides };
  requireLimit('retentionMs', config.retentionMs, -1);
  requireLimit('retentionBytes', config.retentionBytes, -1);
  requireLimit('maxMessageBytes', config.maxMessageBytes, 1);
  return Object.freeze(config);
}

function requireLimit(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}
