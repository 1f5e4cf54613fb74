import { expect, test } from '@playwright/test';
import type * as Tabka from '../../src/index';
import type { BrokerTab } from './pages/broker-page';

type TabWindow = Window & { tab: BrokerTab; tabkaLib: typeof Tabka };

// Bad input sent from a page to its broker worker comes back as the same typed error a Node
// caller gets: the right class, its code, and the fields a caller acts on, and nothing is lost.
test('bad input gets typed errors across the worker boundary and the log loses nothing', async ({ page }) => {
  await page.goto(`/test/browser/pages/broker.html?cluster=errors-${Date.now()}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  const outcomes = await page.evaluate(async () => {
    const { tab, tabkaLib } = window as unknown as TabWindow;
    const { broker } = tab;
    const text = new TextEncoder();
    const batch = (count: number) =>
      tabkaLib.encodeRecordBatch(
        Array.from({ length: count }, (_, i) => ({ key: null, value: text.encode(`v${i}`.padEnd(100)), timestamp: Date.now() })),
      );
    const caught = async (operation: () => Promise<unknown>) => {
      try {
        await operation();
        return { threw: false };
      } catch (error) {
        const typed = error instanceof tabkaLib.TabkaError;
        return { threw: true, name: (error as Error).name, typed, code: typed ? error.code : undefined, error };
      }
    };
    await broker.createPartition('orders', 0, { maxMessageBytes: 4096 });
    await broker.append('orders', 0, batch(5));

    const badTopic = await caught(() => broker.createPartition('no/slashes', 0));
    const tooLarge = await caught(() => broker.append('orders', 0, batch(100)));
    const corrupt = batch(3);
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff;
    const crc = await caught(() => broker.append('orders', 0, corrupt));
    const outOfRange = await caught(() => broker.read('orders', 0, 6));
    const unknown = await caught(() => broker.read('missing', 0, 0));
    const range = outOfRange.error instanceof tabkaLib.OffsetOutOfRangeError ? [outOfRange.error.logStartOffset, outOfRange.error.logEndOffset] : null;
    const sizes = tooLarge.error instanceof tabkaLib.RecordTooLargeError ? tooLarge.error.maxBytes : null;
    const summary = (await broker.listPartitions())[0];
    const strip = ({ error: _error, ...rest }: { error?: unknown; [key: string]: unknown }) => rest;
    return {
      badTopic: strip(badTopic),
      tooLarge: strip(tooLarge),
      crc: strip(crc),
      outOfRange: strip(outOfRange),
      unknown: strip(unknown),
      range,
      sizes,
      logEnd: summary?.logEndOffset,
      batches: summary?.batchCount,
    };
  });
  expect(outcomes.badTopic).toEqual({ threw: true, name: 'InvalidTopicError', typed: true, code: 'INVALID_TOPIC_EXCEPTION' });
  expect(outcomes.tooLarge).toEqual({ threw: true, name: 'RecordTooLargeError', typed: true, code: 'RECORD_TOO_LARGE' });
  expect(outcomes.crc).toEqual({ threw: true, name: 'CorruptRecordError', typed: true, code: 'CORRUPT_MESSAGE' });
  expect(outcomes.outOfRange).toEqual({ threw: true, name: 'OffsetOutOfRangeError', typed: true, code: 'OFFSET_OUT_OF_RANGE' });
  expect(outcomes.unknown).toEqual({ threw: true, name: 'UnknownTopicOrPartitionError', typed: true, code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  expect(outcomes.range).toEqual([0, 5]);
  expect(outcomes.sizes).toBe(4096);
  expect([outcomes.logEnd, outcomes.batches]).toEqual([5, 1]);
});
