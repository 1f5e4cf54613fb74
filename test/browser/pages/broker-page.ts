// A bare broker tab for browser tests: starts this tab's broker and offers helpers that do the
// heavy work inside the page, so the test ships numbers over the protocol, not megabytes.
import * as tabkaLib from '../../../src/index';
import { LocalBroker, decodeRecordBatch, encodeRecordBatch } from '../../../src/index';
import type { BrokerInfo } from '../../../src/index';

export interface VerifyResult {
  readonly count: number;
  readonly firstMismatch: string | null;
}

export interface BrokerTab {
  info(): BrokerInfo;
  appendRecords(topic: string, partition: number, count: number, perBatch: number, tag: string): Promise<number>;
  verifyRecords(topic: string, partition: number, count: number, tag: string): Promise<VerifyResult>;
  broker: LocalBroker;
}

const text = new TextEncoder();
const VALUE_BYTES = 100;

function valueFor(tag: string, n: number): string {
  return `${tag}:${n}:`.padEnd(VALUE_BYTES, '.');
}

const cluster = new URLSearchParams(location.search).get('cluster') ?? 'test';
const broker = await LocalBroker.start({ cluster });

const tab: BrokerTab = {
  broker,
  info: () => broker.info,
  async appendRecords(topic, partition, count, perBatch, tag) {
    let end = 0;
    for (let first = 0; first < count; first += perBatch) {
      const records = Array.from({ length: Math.min(perBatch, count - first) }, (_, i) => ({
        key: text.encode(`k${first + i}`),
        value: text.encode(valueFor(tag, first + i)),
        timestamp: Date.now(),
      }));
      end = (await broker.append(topic, partition, encodeRecordBatch(records))).logEndOffset;
    }
    return end;
  },
  async verifyRecords(topic, partition, count, tag) {
    const decoder = new TextDecoder();
    let next = 0;
    let firstMismatch: string | null = null;
    while (next < count) {
      const { batches } = await broker.read(topic, partition, next, { maxBytes: 1024 * 1024 });
      if (batches.length === 0) break;
      for (const batch of batches) {
        for (const record of decodeRecordBatch(batch).records) {
          if (record.offset < next) continue;
          const value = decoder.decode(record.value ?? undefined);
          if (firstMismatch === null && (record.offset !== next || value !== valueFor(tag, next))) {
            firstMismatch = `offset ${record.offset} (expected ${next}): ${value}`;
          }
          next = record.offset + 1;
        }
      }
    }
    return { count: next, firstMismatch };
  },
};

Object.assign(window, { tab, tabkaLib });
document.body.dataset.ready = 'true';
