import { StorageError } from '../errors';
import { partitionKey } from './log-store';
import type { BatchEntry, LogStore, LogWrite, PartitionMeta, StoredBatch, StoredPartition } from './log-store';

interface MemoryPartition {
  meta: PartitionMeta | undefined;
  batches: StoredBatch[];
}

/** The in-memory LogStore for Node tests and simulations; same contract as IndexedDB. */
export class MemoryLogStore implements LogStore {
  private readonly partitions = new Map<string, MemoryPartition>();
  private readonly metaValues = new Map<string, unknown>();
  private closed = false;

  async load(): Promise<StoredPartition[]> {
    this.assertOpen();
    const loaded: StoredPartition[] = [];
    for (const { meta, batches } of this.partitions.values()) {
      if (meta) loaded.push({ meta, entries: batches.map((batch) => batch.entry) });
    }
    return loaded;
  }

  async write(change: LogWrite, validate?: () => void): Promise<void> {
    this.assertOpen();
    validate?.();
    const current = this.partitions.get(partitionKey(change.topic, change.partition));
    let batches = current?.batches ?? [];
    const { deleteBelow, deleteFrom } = change;
    if (deleteBelow !== undefined) batches = batches.filter((b) => b.entry.baseOffset >= deleteBelow);
    if (deleteFrom !== undefined) batches = batches.filter((b) => b.entry.baseOffset < deleteFrom);
    if (change.put?.length) {
      // Copies, so a caller reusing its buffer cannot rewrite history.
      const added = change.put.map(({ entry, bytes }) => ({ entry, bytes: bytes.slice() }));
      const replaced = new Set(added.map((b) => b.entry.baseOffset));
      batches = [...batches.filter((b) => !replaced.has(b.entry.baseOffset)), ...added];
      batches.sort((a, b) => a.entry.baseOffset - b.entry.baseOffset);
    }
    this.partitions.set(partitionKey(change.topic, change.partition), { meta: change.meta ?? current?.meta, batches });
  }

  async readBatches(topic: string, partition: number, fromBaseOffset: number, toBaseOffset: number): Promise<Uint8Array[]> {
    this.assertOpen();
    const batches = this.partitions.get(partitionKey(topic, partition))?.batches ?? [];
    return batches
      .filter(({ entry }) => inRange(entry, fromBaseOffset, toBaseOffset))
      .map(({ bytes }) => bytes.slice());
  }

  async removePartition(topic: string, partition: number): Promise<void> {
    this.assertOpen();
    this.partitions.delete(partitionKey(topic, partition));
  }

  async getMeta(key: string): Promise<unknown> {
    this.assertOpen();
    return this.metaValues.get(key);
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    this.assertOpen();
    this.metaValues.set(key, value);
  }

  close(): void {
    this.closed = true;
  }

  /** A restarted broker process: same contents, open again. */
  reopen(): MemoryLogStore {
    this.closed = false;
    return this;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('closed', 'the log store is closed');
  }
}


function inRange(entry: BatchEntry, from: number, to: number): boolean {
  return entry.baseOffset >= from && entry.baseOffset <= to;
}
