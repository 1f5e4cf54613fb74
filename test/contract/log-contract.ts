/**
 * The partition log's contract, written once and run twice: in Node over the in-memory store
 * (test/unit/log-contract.test.ts) and in real Chromium over IndexedDB inside a Web Worker
 * (test/browser/log-contract.spec.ts). A store that passes here is a store the broker can use.
 */
import { expect } from 'chai';
import { loadOrCreateBrokerId } from '../../src/broker/broker-identity';
import {
  CorruptRecordError,
  InvalidRecordError,
  InvalidTopicError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  StorageError,
  UnknownTopicOrPartitionError,
} from '../../src/errors';
import { LogManager } from '../../src/log/log-manager';
import type { LogStore } from '../../src/log/log-store';
import type { PartitionLog } from '../../src/log/partition-log';
import { CompressionTypes, compressRecordBatch, decompressRecordBatch, isCompressed } from '../../src/protocol/compression';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/protocol/record-batch';
import type { DecodedRecord, RecordInput } from '../../src/protocol/record-batch';

export interface LogHarness {
  /** Opens the store over this harness's data; called again after close(), it is a restart. */
  openStore(): Promise<LogStore>;
  /** Makes the store's next write fail the way a full disk does (QuotaExceededError). */
  failNextWrite(): void;
}

export interface ContractCase {
  readonly name: string;
  run(harness: LogHarness): Promise<void>;
}

const text = new TextEncoder();
const TOPIC = 'orders';
const T0 = 1_700_000_000_000;

export function makeRecords(count: number, first = 0, timestamp = T0): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: text.encode(`key-${first + i}`),
    value: text.encode(`value-${first + i}-${'x'.repeat((first + i) % 17)}`),
    timestamp: timestamp + i,
    headers: [{ key: 'n', value: text.encode(String(first + i)) }],
  }));
}

export function makeBatch(count: number, first = 0, timestamp = T0): Uint8Array {
  return encodeRecordBatch(makeRecords(count, first, timestamp));
}

export async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { batches } = await log.read(offset, { maxBytes: 4096 });
    for (const batch of batches) {
      for (const record of decodeRecordBatch(await decompressRecordBatch(batch)).records) if (record.offset >= offset) records.push(record);
    }
    const last = records.at(-1);
    if (!last) throw new Error(`read at ${offset} returned nothing before the log end ${log.logEndOffset}`);
    offset = last.offset + 1;
  }
  return records;
}

function valueOf(record: DecodedRecord): string {
  return new TextDecoder().decode(record.value ?? new Uint8Array(0));
}

function expectedValue(n: number): string {
  return `value-${n}-${'x'.repeat(n % 17)}`;
}

async function rejects<E extends Error>(operation: () => Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await operation();
  } catch (error) {
    expect(error, `expected ${type.name}, got ${String(error)}`).to.be.instanceOf(type);
    return error as E;
  }
  throw new Error(`expected ${type.name}, but the operation succeeded`);
}

async function open(harness: LogHarness): Promise<LogManager> {
  return LogManager.open(await harness.openStore());
}

async function restart(harness: LogHarness, manager: LogManager): Promise<LogManager> {
  manager.close();
  return open(harness);
}

async function withLog(harness: LogHarness, config = {}): Promise<{ manager: LogManager; log: PartitionLog }> {
  const manager = await open(harness);
  const log = await manager.createPartition(TOPIC, 0, config);
  return { manager, log };
}

function expectValues(records: DecodedRecord[], from: number, to: number): void {
  expect(records.map((r) => r.offset)).to.deep.equal(range(from, to));
  expect(records.map(valueOf)).to.deep.equal(range(from, to).map(expectedValue));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

export const logContract: ContractCase[] = [
  {
    name: 'a new partition is empty and reads nothing at offset 0',
    async run(h) {
      const { log } = await withLog(h);
      expect([log.logStartOffset, log.logEndOffset]).to.deep.equal([0, 0]);
      expect((await log.read(0)).batches).to.deep.equal([]);
    },
  },
  {
    name: 'append assigns contiguous offsets and reads return the records intact',
    async run(h) {
      const { log } = await withLog(h);
      expect(await log.append(makeBatch(10, 0))).to.deep.equal({ baseOffset: 0, lastOffset: 9, logEndOffset: 10 });
      expect(await log.append(makeBatch(5, 10))).to.deep.equal({ baseOffset: 10, lastOffset: 14, logEndOffset: 15 });
      expect(await log.append(makeBatch(1, 15))).to.deep.equal({ baseOffset: 15, lastOffset: 15, logEndOffset: 16 });
      const records = await readAll(log);
      expectValues(records, 0, 16);
      expect(new TextDecoder().decode(records[7]?.key ?? undefined)).to.equal('key-7');
      expect(records[7]?.headers).to.have.length(1);
    },
  },
  {
    name: 'several concatenated batches append in one call',
    async run(h) {
      const { log } = await withLog(h);
      const a = makeBatch(3, 0);
      const b = makeBatch(4, 3);
      const both = new Uint8Array(a.byteLength + b.byteLength);
      both.set(a);
      both.set(b, a.byteLength);
      expect(await log.append(both)).to.deep.equal({ baseOffset: 0, lastOffset: 6, logEndOffset: 7 });
      expect(log.summary().batchCount).to.equal(2);
      expectValues(await readAll(log), 0, 7);
    },
  },
  {
    name: 'concurrent appends get distinct, contiguous offsets',
    async run(h) {
      const { log } = await withLog(h);
      const results = await Promise.all(range(0, 20).map((i) => log.append(makeBatch(5, i * 5))));
      expect(results.map((r) => r.baseOffset)).to.deep.equal(range(0, 20).map((i) => i * 5));
      expect(log.logEndOffset).to.equal(100);
    },
  },
  {
    name: 'a read from inside a batch returns the whole batch holding the offset',
    async run(h) {
      const { log } = await withLog(h);
      await log.append(makeBatch(10, 0));
      await log.append(makeBatch(10, 10));
      const [first] = (await log.read(13)).batches;
      expect(decodeRecordBatch(first as Uint8Array).header.baseOffset).to.equal(10);
    },
  },
  {
    name: 'reads stop at maxBytes but always return at least one batch, and stop at maxOffset',
    async run(h) {
      const { log } = await withLog(h);
      for (let i = 0; i < 5; i++) await log.append(makeBatch(10, i * 10));
      const batchBytes = log.summary().sizeBytes / 5;
      expect((await log.read(0, { maxBytes: 1 })).batches).to.have.length(1);
      const two = (await log.read(0, { maxBytes: Math.ceil(batchBytes * 2.5) })).batches;
      expect(two).to.have.length(2);
      expect((await log.read(0, { maxOffset: 30 })).batches).to.have.length(3);
      expect((await log.read(0)).batches).to.have.length(5);
    },
  },
  {
    // Reads of several MiB are split into runs read side by side: the runs must join up in
    // order with nothing repeated or missing, whatever the batch sizes.
    name: 'a read of many MiB returns every batch once, in order, up to maxBytes and maxOffset',
    async run(h) {
      const { log } = await withLog(h);
      let next = 0;
      for (const count of [12_000, 10, 20_000, 1, 10_000, 16_000, 40, 20_000, 5, 20_000, 12_000, 20_000]) {
        await log.append(makeBatch(count, next));
        next += count;
      }
      const whole = await log.read(0);
      const records = whole.batches.flatMap((batch) => decodeRecordBatch(batch).records);
      expectValues(records, 0, next);
      const sizes = whole.batches.map((batch) => batch.byteLength);
      expect(sizes.reduce((a, b) => a + b, 0), 'enough bytes to be read as several runs').to.be.above(4 * 1024 * 1024);
      const firstFive = sizes.slice(0, 5).reduce((a, b) => a + b, 0);
      expect((await log.read(0, { maxBytes: firstFive })).batches.map((b) => b.byteLength)).to.deep.equal(sizes.slice(0, 5));
      const upTo = (await log.read(12_000, { maxOffset: 58_051 })).batches.flatMap((batch) => decodeRecordBatch(batch).records);
      expect([upTo[0]?.offset, upTo.at(-1)?.offset]).to.deep.equal([12_000, 58_050]);
    },
  },
  {
    name: 'a reader catching up in large steps gets every record once, and never rows read ahead before a truncation',
    async run(h) {
      const { log } = await withLog(h);
      // 4,000 records of 200 bytes a batch (~0.8 MB): reads of two are large enough to read ahead.
      const batchOf = (first: number, tag: string) =>
        encodeRecordBatch(Array.from({ length: 4_000 }, (_, i) => ({ key: null, value: text.encode(`${tag}${String(first + i).padStart(199, '0')}`), timestamp: T0 })));
      for (let first = 0; first < 60_000; first += 4_000) await log.append(batchOf(first, 'a'));
      const step = 2_200_000;
      const tags: string[] = [];
      for (let offset = 0; offset < log.logEndOffset; ) {
        const records = (await log.read(offset, { maxBytes: step })).batches.flatMap((batch) => decodeRecordBatch(batch).records);
        expect(records[0]?.offset).to.equal(offset);
        tags.push(...records.map((record) => new TextDecoder().decode(record.value!).slice(0, 1)));
        offset = records.at(-1)!.offset + 1;
      }
      expect(tags.join('')).to.equal('a'.repeat(60_000));

      // The read of the first two batches starts reading the next two ahead; those are then
      // rewritten with records of the very same sizes. The next read must see the new ones.
      await log.read(0, { maxBytes: step });
      await log.truncateTo(8_000);
      for (let first = 8_000; first < 60_000; first += 4_000) await log.append(batchOf(first, 'b'));
      const next = (await log.read(8_000, { maxBytes: step })).batches.flatMap((batch) => decodeRecordBatch(batch).records);
      expect(next.map((record) => new TextDecoder().decode(record.value!).slice(0, 1)).join('')).to.equal('b'.repeat(8_000));
    },
  },
  {
    name: 'offsets outside the log give OffsetOutOfRangeError with the valid range',
    async run(h) {
      const { log } = await withLog(h);
      await log.append(makeBatch(10, 0));
      const past = await rejects(() => log.read(11), OffsetOutOfRangeError);
      expect([past.offset, past.logStartOffset, past.logEndOffset]).to.deep.equal([11, 0, 10]);
      await log.deleteRecordsBefore(4);
      const before = await rejects(() => log.read(3), OffsetOutOfRangeError);
      expect([before.logStartOffset, before.logEndOffset]).to.deep.equal([4, 10]);
      expect((await log.read(10)).batches).to.deep.equal([]);
    },
  },
  {
    name: 'logs, offsets and configs survive a restart',
    async run(h) {
      let { manager, log } = await withLog(h, { retentionBytes: 12345 });
      await manager.createPartition(TOPIC, 1);
      for (let i = 0; i < 10; i++) await log.append(makeBatch(10, i * 10));
      await manager.get(TOPIC, 1).append(makeBatch(3, 0));
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expect(log.logEndOffset).to.equal(100);
      expect(log.config.retentionBytes).to.equal(12345);
      expect(manager.partitions().map((p) => [p.partition, p.logEndOffset])).to.deep.equal([[0, 100], [1, 3]]);
      expectValues(await readAll(log), 0, 100);
      expect((await log.append(makeBatch(1, 100))).baseOffset).to.equal(100);
    },
  },
  {
    name: 'leader epochs are stamped on batches, checkpointed, answered and kept across restarts',
    async run(h) {
      let { manager, log } = await withLog(h);
      await log.append(makeBatch(5, 0), { leaderEpoch: 0 });
      await log.append(makeBatch(5, 5), { leaderEpoch: 0 });
      await log.append(makeBatch(5, 10), { leaderEpoch: 3 });
      expect(log.epochs).to.deep.equal([{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 10 }]);
      const [, , third] = (await log.read(0)).batches;
      expect(decodeRecordBatch(third as Uint8Array).header.partitionLeaderEpoch).to.equal(3);
      expect(log.endOffsetForEpoch(0)).to.deep.equal({ epoch: 0, startOffset: 10 });
      expect(log.endOffsetForEpoch(2)).to.deep.equal({ epoch: 0, startOffset: 10 });
      expect(log.endOffsetForEpoch(3)).to.deep.equal({ epoch: 3, startOffset: 15 });
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expect(log.epochs).to.deep.equal([{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 10 }]);
      expect(log.summary().leaderEpoch).to.equal(3);
    },
  },
  {
    name: "a follower append keeps the leader's offsets and refuses a gap",
    async run(h) {
      const { log } = await withLog(h);
      const fromLeader = encodeRecordBatch(makeRecords(4, 0), { baseOffset: 0, partitionLeaderEpoch: 2 });
      expect(await log.append(fromLeader, { assignOffsets: false })).to.deep.equal({ baseOffset: 0, lastOffset: 3, logEndOffset: 4 });
      expect(log.epochs).to.deep.equal([{ epoch: 2, startOffset: 0 }]);
      const gap = encodeRecordBatch(makeRecords(2, 9), { baseOffset: 9, partitionLeaderEpoch: 2 });
      await rejects(() => log.append(gap, { assignOffsets: false }), InvalidRecordError);
      expect(log.logEndOffset).to.equal(4);
    },
  },
  {
    name: "a follower's list of fetched batches appends as one write: all of them or, on a failure or a bad batch, none",
    async run(h) {
      let { manager, log } = await withLog(h);
      const fetched = [0, 3, 7].map((first, i) => encodeRecordBatch(makeRecords([3, 4, 2][i]!, first), { baseOffset: first, partitionLeaderEpoch: 1 }));
      h.failNextWrite();
      await rejects(() => log.append(fetched, { assignOffsets: false }), StorageError);
      expect(log.logEndOffset).to.equal(0);
      const corrupt = fetched[2]!.slice();
      corrupt[corrupt.length - 1]! ^= 0xff;
      await rejects(() => log.append([fetched[0]!, fetched[1]!, corrupt], { assignOffsets: false }), CorruptRecordError);
      expect(log.logEndOffset).to.equal(0);
      expect(await log.append(fetched, { assignOffsets: false })).to.deep.equal({ baseOffset: 0, lastOffset: 8, logEndOffset: 9 });
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expect(log.summary().batchCount).to.equal(3);
      expectValues(await readAll(log), 0, 9);
    },
  },
  {
    name: 'truncateTo a batch boundary or inside a batch keeps exactly the records below it',
    async run(h) {
      let { manager, log } = await withLog(h);
      await log.append(makeBatch(10, 0), { leaderEpoch: 1 });
      await log.append(makeBatch(10, 10), { leaderEpoch: 2 });
      await log.append(makeBatch(10, 20), { leaderEpoch: 3 });
      await log.truncateTo(20);
      expect(log.logEndOffset).to.equal(20);
      expect(log.epochs.map((e) => e.epoch)).to.deep.equal([1, 2]);
      await log.truncateTo(14);
      expect(log.logEndOffset).to.equal(14);
      expectValues(await readAll(log), 0, 14);
      await log.truncateTo(50);
      expect(log.logEndOffset).to.equal(14);
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expectValues(await readAll(log), 0, 14);
      expect((await log.append(makeBatch(6, 14), { leaderEpoch: 4 })).baseOffset).to.equal(14);
      expectValues(await readAll(log), 0, 20);
      expect(log.epochs.map((e) => [e.epoch, e.startOffset])).to.deep.equal([[1, 0], [2, 10], [4, 14]]);
    },
  },
  {
    name: 'a gzip batch is stored and read back as sent, and a cut inside it keeps the records below, compressed again',
    async run(h) {
      let { manager, log } = await withLog(h);
      await log.append(makeBatch(10, 0), { leaderEpoch: 1 });
      const gzip = await compressRecordBatch(makeBatch(10, 10), CompressionTypes.GZIP);
      expect((await log.append(gzip, { leaderEpoch: 1 })).baseOffset).to.equal(10);
      const stored = (await log.read(10)).batches;
      expect(stored.map((batch) => isCompressed(batch))).to.deep.equal([true]);
      expect(Array.from(stored[0]!)).to.deep.equal(Array.from(gzip));
      expectValues(await readAll(log), 0, 20);
      await log.truncateTo(15);
      expect(log.logEndOffset).to.equal(15);
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expectValues(await readAll(log), 0, 15);
      expect((await log.read(10)).batches.map((batch) => isCompressed(batch))).to.deep.equal([true]);
    },
  },
  {
    name: 'deleteRecordsBefore moves the log start, drops whole batches below it, and persists',
    async run(h) {
      let { manager, log } = await withLog(h);
      for (let i = 0; i < 4; i++) await log.append(makeBatch(10, i * 10), { leaderEpoch: i });
      expect(await log.deleteRecordsBefore(15)).to.equal(15);
      expect(log.summary().batchCount).to.equal(3);
      expect(log.epochs[0]).to.deep.equal({ epoch: 1, startOffset: 15 });
      expectValues(await readAll(log), 15, 40);
      await rejects(() => log.deleteRecordsBefore(41), OffsetOutOfRangeError);
      expect(await log.deleteRecordsBefore(3)).to.equal(15);
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expect([log.logStartOffset, log.logEndOffset]).to.deep.equal([15, 40]);
      await log.deleteRecordsBefore(40);
      expect([log.logStartOffset, log.logEndOffset, log.summary().batchCount]).to.deep.equal([40, 40, 0]);
      expect((await log.append(makeBatch(1, 40))).baseOffset).to.equal(40);
    },
  },
  {
    name: 'retention by time deletes only batches older than retention.ms, never past the high watermark',
    async run(h) {
      const { log } = await withLog(h, { retentionMs: 1000 });
      await log.append(makeBatch(10, 0, T0));
      await log.append(makeBatch(10, 10, T0 + 500));
      await log.append(makeBatch(10, 20, T0 + 5000));
      expect(await log.applyRetention(T0 + 1200, 5)).to.deep.equal({ deletedBatches: 0, logStartOffset: 0 });
      expect(await log.applyRetention(T0 + 1200)).to.deep.equal({ deletedBatches: 1, logStartOffset: 10 });
      expect(await log.applyRetention(T0 + 1200)).to.deep.equal({ deletedBatches: 0, logStartOffset: 10 });
      expect(await log.applyRetention(T0 + 100_000)).to.deep.equal({ deletedBatches: 2, logStartOffset: 30 });
      expect(log.logEndOffset).to.equal(30);
    },
  },
  {
    name: 'retention by size keeps at least retention.bytes, deleting the oldest batches',
    async run(h) {
      const { manager, log } = await withLog(h);
      for (let i = 0; i < 10; i++) await log.append(makeBatch(10, i * 10));
      const batchBytes = Math.max(...(await Promise.all(range(0, 10).map(async (i) => (await log.read(i * 10, { maxBytes: 1 })).batches[0]?.byteLength ?? 0))));
      await log.updateConfig({ ...log.config, retentionBytes: batchBytes * 3 });
      await manager.applyRetention(T0);
      expect(log.summary().batchCount).to.be.within(3, 4);
      expect(log.summary().sizeBytes).to.be.at.least(batchBytes * 3 - 100);
      expectValues(await readAll(log), log.logStartOffset, 100);
    },
  },
  {
    name: 'a batch over max.message.bytes is refused with RecordTooLargeError and nothing is written',
    async run(h) {
      const { log } = await withLog(h, { maxMessageBytes: 200 });
      const big = makeBatch(20, 0);
      const error = await rejects(() => log.append(big), RecordTooLargeError);
      expect([error.sizeBytes, error.maxBytes]).to.deep.equal([big.byteLength, 200]);
      expect(log.logEndOffset).to.equal(0);
      expect((await log.append(makeBatch(1, 0))).baseOffset).to.equal(0);
    },
  },
  {
    name: 'a corrupt or truncated batch is refused with CorruptRecordError and nothing is written',
    async run(h) {
      const { log } = await withLog(h);
      const flipped = makeBatch(5, 0);
      flipped[flipped.byteLength - 3] = (flipped[flipped.byteLength - 3] ?? 0) ^ 0xff;
      await rejects(() => log.append(flipped), CorruptRecordError);
      await rejects(() => log.append(makeBatch(5, 0).subarray(0, 40)), CorruptRecordError);
      await rejects(() => log.append(new Uint8Array(0)), InvalidRecordError);
      expect(log.logEndOffset).to.equal(0);
    },
  },
  {
    name: 'invalid topic names and unknown partitions give typed errors',
    async run(h) {
      const manager = await open(h);
      for (const bad of ['', '.', '..', 'a/b', 'x'.repeat(250), 'white space']) {
        await rejects(() => manager.createPartition(bad, 0), InvalidTopicError);
      }
      expect(() => manager.get('nope', 0)).to.throw(UnknownTopicOrPartitionError);
      expect(manager.partitions()).to.deep.equal([]);
    },
  },
  {
    name: 'a failing storage write gives StorageError, leaves the log consistent and usable',
    async run(h) {
      let { manager, log } = await withLog(h);
      await log.append(makeBatch(10, 0));
      h.failNextWrite();
      const error = await rejects(() => log.append(makeBatch(10, 10)), StorageError);
      expect(error.reason).to.equal('quota');
      expect(log.logEndOffset).to.equal(10);
      expectValues(await readAll(log), 0, 10);
      h.failNextWrite();
      await rejects(() => log.truncateTo(5), StorageError);
      h.failNextWrite();
      await rejects(() => log.deleteRecordsBefore(5), StorageError);
      expect([log.logStartOffset, log.logEndOffset]).to.deep.equal([0, 10]);
      expect((await log.append(makeBatch(10, 10))).baseOffset).to.equal(10);
      manager = await restart(h, manager);
      log = manager.get(TOPIC, 0);
      expect(log.summary().batchCount).to.equal(2);
      expectValues(await readAll(log), 0, 20);
    },
  },
  {
    name: 'a write queued on a log before it is deleted does not bring it back',
    async run(h) {
      let { manager, log } = await withLog(h);
      await log.append(makeBatch(10, 0));
      const checkpoint = log.checkpointHighWatermark(10); // queued, not yet written
      await manager.deletePartition(TOPIC, 0);
      await checkpoint.catch(() => undefined);
      await rejects(() => log.append(makeBatch(1, 10)), UnknownTopicOrPartitionError);
      manager = await restart(h, manager);
      expect(manager.has(TOPIC, 0)).to.equal(false);
      manager.close();
    },
  },
  {
    name: 'deleting a partition removes its log and leaves the others',
    async run(h) {
      let manager = await open(h);
      await (await manager.createPartition('a', 0)).append(makeBatch(3));
      await (await manager.createPartition('b', 0)).append(makeBatch(4));
      await manager.deletePartition('a', 0);
      manager = await restart(h, manager);
      expect(manager.partitions().map((p) => [p.topic, p.logEndOffset])).to.deep.equal([['b', 4]]);
      const recreated = await manager.createPartition('a', 0);
      expect(recreated.logEndOffset).to.equal(0);
    },
  },
  {
    name: 'the broker id is made once per store and kept across restarts',
    async run(h) {
      const store = await h.openStore();
      const id = await loadOrCreateBrokerId(store);
      expect(id).to.be.a('number').and.to.be.greaterThan(0);
      expect(await loadOrCreateBrokerId(store, () => 0.5)).to.equal(id);
      store.close();
      expect(await loadOrCreateBrokerId(await h.openStore(), () => 0.25)).to.equal(id);
    },
  },
];
