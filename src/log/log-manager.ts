import { UnknownTopicOrPartitionError } from '../errors';
import { validateTopicName } from '../protocol/topic-name';
import { resolveLogConfig } from './log-config';
import type { LogConfig } from './log-config';
import { partitionKey } from './log-store';
import type { LogStore } from './log-store';
import { PartitionLog } from './partition-log';
import type { PartitionSummary, RetentionResult } from './partition-log';

/**
 * A broker's logs (Kafka's LogManager): every topic-partition this broker hosts, in one store.
 * Opening rebuilds each log from the store's index rows, like a broker restarting on its
 * log.dirs.
 */
export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();

  private constructor(readonly store: LogStore) {}

  static async open(store: LogStore): Promise<LogManager> {
    const manager = new LogManager(store);
    for (const stored of await store.load()) {
      manager.logs.set(partitionKey(stored.meta.topic, stored.meta.partition), new PartitionLog(store, stored));
    }
    return manager;
  }

  /**
   * Creates the partition's log, or returns the existing one (creation is idempotent).
   * `replica`: the cluster makes it (a partition replica or the metadata log), not the page.
   */
  async createPartition(
    topic: string,
    partition: number,
    config: Partial<LogConfig> = {},
    { replica = false, topicId }: { replica?: boolean; topicId?: string } = {},
  ): Promise<PartitionLog> {
    validateTopicName(topic);
    if (!Number.isSafeInteger(partition) || partition < 0) {
      throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
    }
    const existing = this.logs.get(partitionKey(topic, partition));
    if (existing) return existing;
    const meta = {
      topic,
      partition,
      logStartOffset: 0,
      epochs: [],
      config: resolveLogConfig(config),
      ...(replica ? { replica } : {}),
      ...(topicId === undefined ? {} : { topicId }),
    };
    await this.store.write({ topic, partition, meta });
    const log = new PartitionLog(this.store, { meta, entries: [] });
    this.logs.set(partitionKey(topic, partition), log);
    return log;
  }

  get(topic: string, partition: number): PartitionLog {
    const log = this.logs.get(partitionKey(topic, partition));
    if (!log) throw new UnknownTopicOrPartitionError(topic, partition);
    return log;
  }

  /** Whether any of `topic`'s logs here was made for the cluster (see createPartition). */
  hasReplicaOf(topic: string): boolean {
    return [...this.logs.values()].some((log) => log.topic === topic && log.isReplica);
  }

  has(topic: string, partition: number): boolean {
    return this.logs.has(partitionKey(topic, partition));
  }

  async deletePartition(topic: string, partition: number): Promise<void> {
    // Through the log's own queue: a write queued before (an append, a checkpoint) goes first,
    // and none queued after can put its row back.
    await this.get(topic, partition).remove();
    this.logs.delete(partitionKey(topic, partition));
  }

  partitions(): PartitionSummary[] {
    return [...this.logs.values()]
      .map((log) => log.summary())
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * Retention over every log. `limitOf` gives the offset a log's retention must stay below
   * (a replica's high watermark, as Kafka deletes only segments below it); no limit by default.
   */
  async applyRetention(nowMs: number, limitOf: (log: PartitionLog) => number = () => Number.POSITIVE_INFINITY): Promise<RetentionResult[]> {
    return Promise.all([...this.logs.values()].map((log) => log.applyRetention(nowMs, limitOf(log))));
  }

  close(): void {
    this.store.close();
  }
}

