// The data path in real Chromium: produce, replicate, consume, latency and leader failover,
// each beside the platform limit it is bound by, measured in the same run (raw IndexedDB
// writes and reads in a worker, one bare RTCDataChannel between two tabs).
import type { Browser, BrowserContext, Page } from '@playwright/test';
import type { Tabka } from '../../src/index';
import { hangTab } from '../browser/cluster-tab';
import type { StorageRound } from './storage-bench';
import type { StorageShape } from './storage-shape';

type ClusterWindow = Window & { tabka: Tabka };

export interface DataFigures {
  rawIdbWriteRecordsPerSec: number;
  rawIdbReadRecordsPerSec: number;
  rawDataChannelBytesPerSec: number;
  produceRf1RecordsPerSec: number;
  produceRf3AcksAllRecordsPerSec: number;
  /** The best of CONSUME_PASSES consumers reading the 1M records from the start, as the raw read is the best of its rounds. */
  consumeRecordsPerSec: number;
  /** The first of those passes alone. */
  consumeFirstPassRecordsPerSec: number;
  /** The consumer commits its offsets every 5 s (Kafka's auto.commit.interval.ms). */
  e2eLatencyP50Ms: number;
  e2eLatencyP99Ms: number;
  /** The same, the consumer committing after every batch (KafkaJS's default). */
  e2eLatencyP50MsCommitEveryBatch: number;
  e2eLatencyP99MsCommitEveryBatch: number;
  leaderFailoverMs: number;
  /** JSON records (JSON_RECORD_BYTES each, uncompressed), RF 3, acks=all, sent uncompressed and with gzip. */
  produceRf3JsonRecordsPerSec: number;
  produceRf3JsonGzipRecordsPerSec: number;
  /** The leader's stored log bytes per record for those two topics. */
  storedBytesPerJsonRecord: number;
  storedBytesPerJsonRecordGzip: number;
}

const RECORD_BYTES = 100;
const RF1_RECORDS = 1_000_000;
const RF3_RECORDS = 200_000;
const CHANNEL_BYTES = 256 * 1024 * 1024;
const LATENCY_SECONDS = 5;
/** Kafka's auto.commit.interval.ms. */
const COMMIT_INTERVAL_MS = 5000;
const CONSUME_PASSES = 3;
const JSON_RECORDS = 100_000;

/** A page-view event as an app would send it; every record differs (its user and sequence number). */
function jsonRecord(n: number): string {
  return JSON.stringify({ type: 'page-view', user: `user-${(n * 7919) % 5000}`, path: '/docs/getting-started', n });
}
const JSON_RECORD_BYTES = jsonRecord(50_000).length;

export async function openTabs(context: BrowserContext, baseUrl: string, count: number, cluster: string): Promise<Page[]> {
  const url = new URL(`test/browser/pages/cluster.html?${new URLSearchParams({ cluster, via: 'broadcast' })}`, baseUrl).href;
  const pages = await Promise.all(Array.from({ length: count }, () => context.newPage()));
  await Promise.all(pages.map((page) => page.goto(url)));
  await Promise.all(pages.map((page) => page.waitForSelector('body[data-ready="true"]', { state: 'attached' })));
  const deadline = Date.now() + 60_000;
  for (const page of pages) {
    for (;;) {
      const active = await page.evaluate(async () => (await (window as unknown as ClusterWindow).tabka.admin().describeCluster()).brokers.filter((b) => b.active).length);
      if (active === count) break;
      if (Date.now() > deadline) throw new Error('the cluster did not form');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return pages;
}

async function createTopic(page: Page, topic: string, replicationFactor: number, configs: Record<string, string> = {}): Promise<number> {
  return page.evaluate(
    async ({ topic, replicationFactor, configs }) => {
      const admin = (window as unknown as ClusterWindow).tabka.admin();
      const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }));
      // Right after forming, a broker may still be settling in as live at the controller: retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor, configEntries }] });
          break;
        } catch (error) {
          if (attempt >= 20 || (error as Error).name !== 'InvalidReplicationFactorError') throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.leader;
    },
    { topic, replicationFactor, configs },
  );
}

const brokerIdOf = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as ClusterWindow).tabka.brokerId);

/** Sends `count` records of RECORD_BYTES, `perSend` per send with `inFlight` sends outstanding; returns records/s. */
function produce(page: Page, topic: string, count: number, acks: -1 | 1): Promise<number> {
  return page.evaluate(
    async ({ topic, count, acks, recordBytes }) => {
      const producer = (window as unknown as ClusterWindow).tabka.producer();
      await producer.connect();
      const value = new Uint8Array(recordBytes);
      const perSend = 10_000;
      const start = performance.now();
      const sends: Promise<unknown>[] = [];
      for (let sent = 0; sent < count; sent += perSend) {
        const messages = Array.from({ length: Math.min(perSend, count - sent) }, () => ({ value }));
        sends.push(producer.send({ topic, messages, acks, timeout: 120_000 }));
        // A few sends outstanding, like an app that does not await each one.
        if (sends.length >= 4) await sends.shift();
      }
      await Promise.all(sends);
      return (count / (performance.now() - start)) * 1000;
    },
    { topic, count, acks, recordBytes: RECORD_BYTES },
  );
}

/** Sends `count` JSON records (see jsonRecord) with acks=all and `compression`; returns records/s. */
function produceJson(page: Page, topic: string, count: number, compression: 0 | 1): Promise<number> {
  return page.evaluate(
    async ({ topic, count, compression, source }) => {
      const record = new Function('n', `return (${source})(n)`) as (n: number) => string;
      const producer = (window as unknown as ClusterWindow).tabka.producer({ compression });
      await producer.connect();
      const perSend = 10_000;
      const start = performance.now();
      const sends: Promise<unknown>[] = [];
      for (let sent = 0; sent < count; sent += perSend) {
        const messages = Array.from({ length: Math.min(perSend, count - sent) }, (_, i) => ({ value: record(sent + i) }));
        sends.push(producer.send({ topic, messages, acks: -1, timeout: 120_000 }));
        if (sends.length >= 4) await sends.shift();
      }
      await Promise.all(sends);
      return (count / (performance.now() - start)) * 1000;
    },
    { topic, count, compression, source: jsonRecord.toString() },
  );
}

/** The leader's stored bytes per record of a one-partition topic. */
async function storedBytesPerRecord(leaderTab: Page, topic: string, count: number): Promise<number> {
  const bytes = await leaderTab.evaluate(async (topic) => {
    const partitions = await (window as unknown as ClusterWindow).tabka.broker.listPartitions();
    return partitions.find((p) => p.topic === topic)?.sizeBytes ?? Number.NaN;
  }, topic);
  return round2(bytes / count);
}

function consumeAll(page: Page, topic: string, count: number, groupId: string): Promise<number> {
  return page.evaluate(
    async ({ topic, count, groupId }) => {
      const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId, maxBytesPerPartition: 8 * 1024 * 1024 });
      await consumer.subscribe({ topic, fromBeginning: true });
      const progress = { seen: 0, valueBytes: 0, doneAt: 0 };
      const start = performance.now();
      await consumer.run({
        eachBatch: async ({ batch }) => {
          // Like an app, look at every value: fields decoded on access are paid for here.
          for (const message of batch.messages) progress.valueBytes += message.value!.length;
          progress.seen += batch.messages.length;
          if (progress.seen >= count && progress.doneAt === 0) progress.doneAt = performance.now();
        },
      });
      while (progress.doneAt === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const rate = (count / (progress.doneAt - start)) * 1000;
      await consumer.stop();
      return rate;
    },
    { topic, count, groupId },
  );
}

async function rawIndexedDb(browser: Browser, baseUrl: string): Promise<{ write: number; read: number }> {
  const page = await browser.newPage();
  await page.goto(new URL('test/bench/index.html', baseUrl).href);
  await page.waitForSelector('body[data-ready="true"]');
  const shape: StorageShape = { records: 200_000, perBatch: 1000, recordBytes: RECORD_BYTES, readMaxBytes: 50 * 1024 * 1024 };
  const rounds = await page.evaluate(
    ([s, n]) => (window as unknown as { bench: { storage(s: StorageShape, n: number): Promise<StorageRound[]> } }).bench.storage(s, n),
    [shape, 3] as const,
  );
  await page.close();
  const best = (pick: (r: StorageRound) => number) => Math.max(...rounds.map((r) => (shape.records / pick(r)) * 1000));
  return { write: Math.round(best((r) => r.raw.writeMs)), read: Math.round(best((r) => r.raw.readMs)) };
}

async function rawDataChannel(context: BrowserContext, baseUrl: string): Promise<number> {
  const url = new URL('test/bench/pages/channel.html', baseUrl).href;
  const [a, b] = await Promise.all([context.newPage(), context.newPage()]);
  await Promise.all([a!.goto(url), b!.goto(url)]);
  const room = `raw-${Date.now()}`;
  type RawWindow = Window & { rawChannel: { receive(room: string, bytes: number): Promise<number>; send(room: string, bytes: number): Promise<void> } };
  const received = b!.evaluate(([r, n]) => (window as unknown as RawWindow).rawChannel.receive(r, n), [room, CHANNEL_BYTES] as const);
  await a!.evaluate(([r, n]) => (window as unknown as RawWindow).rawChannel.send(r, n), [room, CHANNEL_BYTES] as const);
  const rate = await received;
  await Promise.all([a!.close(), b!.close()]);
  return Math.round(rate);
}

/**
 * Producer tab -> leader tab -> consumer tab, 1000 records/s, acks=all, linger 0. The consumer
 * commits its offsets every `autoCommitInterval` ms, or after every batch with null: each commit
 * is an acks=all write of __consumer_offsets, as much traffic again as the records themselves.
 */
async function latency(producerTab: Page, consumerTab: Page, topic: string, autoCommitInterval: number | null): Promise<{ p50: number; p99: number }> {
  const samples = consumerTab.evaluate(
    async ({ topic, seconds, autoCommitInterval }) => {
      const consumer = (window as unknown as ClusterWindow).tabka.consumer({ groupId: `latency-${topic}`, maxWaitTimeInMs: 1000 });
      await consumer.subscribe({ topic, fromBeginning: false });
      const latencies: number[] = [];
      const decoder = new TextDecoder();
      await consumer.run({
        autoCommitInterval,
        eachBatch: async ({ batch }) => {
          const now = performance.timeOrigin + performance.now();
          for (const m of batch.messages) latencies.push(now - Number(decoder.decode(m.value!)));
        },
      });
      (window as unknown as { latencyReady: string }).latencyReady = topic;
      await new Promise((resolve) => setTimeout(resolve, (seconds + 2) * 1000));
      await consumer.stop();
      return latencies;
    },
    { topic, seconds: LATENCY_SECONDS, autoCommitInterval },
  );
  while (!(await consumerTab.evaluate((topic) => (window as unknown as { latencyReady?: string }).latencyReady === topic, topic))) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // the consumer's first fetch is parked at the leader
  await producerTab.evaluate(
    async ({ topic, seconds }) => {
      const producer = (window as unknown as ClusterWindow).tabka.producer({ lingerMs: 0 });
      await producer.connect();
      const start = performance.now();
      let sent = 0;
      const pending: Promise<unknown>[] = [];
      while (performance.now() - start < seconds * 1000) {
        const due = Math.floor(performance.now() - start); // one record per millisecond
        for (; sent < due; sent++) {
          pending.push(producer.send({ topic, messages: [{ value: String(performance.timeOrigin + performance.now()) }], acks: -1 }));
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(pending);
    },
    { topic, seconds: LATENCY_SECONDS },
  );
  const latencies = (await samples).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { p50: round2(at(0.5)), p99: round2(at(0.99)) };
}

/** The leader tab hangs, worker and page (no goodbye): time until an acks=all send started after that succeeds. */
async function leaderFailover(pages: Page[], topic: string, leader: number): Promise<number> {
  const ids = await Promise.all(pages.map(brokerIdOf));
  const victim = pages[ids.indexOf(leader)]!;
  const producerTab = pages.find((p) => p !== victim)!;
  type FailoverWindow = ClusterWindow & { acks: { start: number; end: number }[]; stopSending: boolean };
  const sending = producerTab.evaluate(async (topic) => {
    const w = window as unknown as FailoverWindow;
    w.acks = [];
    w.stopSending = false;
    const producer = w.tabka.producer({ lingerMs: 0 });
    while (!w.stopSending) {
      const start = Date.now();
      try {
        await producer.send({ topic, messages: [{ value: 'x' }], acks: -1, timeout: 30_000 });
        w.acks.push({ start, end: Date.now() });
      } catch {
        // counted by its absence
      }
    }
  }, topic);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const hungAt = Date.now();
  await hangTab(victim);
  let recovered: number | undefined;
  while (recovered === undefined && Date.now() - hungAt < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const acks = await producerTab.evaluate(() => (window as unknown as FailoverWindow).acks);
    recovered = acks.find((a) => a.start > hungAt + 100)?.end;
  }
  await producerTab.evaluate(() => ((window as unknown as FailoverWindow).stopSending = true));
  await sending;
  await victim.close({ runBeforeUnload: false }).catch(() => undefined);
  if (recovered === undefined) throw new Error('acks=all sends did not resume within 30 s of the leader hanging');
  return recovered - hungAt;
}

/**
 * The bench runs under tsx, whose esbuild keeps function names with a `__name` helper; the
 * callbacks handed to page.evaluate carry calls to it into the page, where it must exist.
 */
export async function newContext(browser: Browser, permissions: string[]): Promise<BrowserContext> {
  const context = await browser.newContext({ permissions });
  await context.addInitScript('globalThis.__name = (target) => target;');
  return context;
}

export async function dataFigures(browser: Browser, baseUrl: string, permissions: string[]): Promise<DataFigures> {
  const raw = await rawIndexedDb(browser, baseUrl);
  const channelContext = await newContext(browser, permissions);
  const rawDataChannelBytesPerSec = await rawDataChannel(channelContext, baseUrl);
  await channelContext.close();

  // One tab: replication factor 1, acks=1, then a consumer reading it all back.
  const single = await newContext(browser, permissions);
  const [alone] = await openTabs(single, baseUrl, 1, `bench-rf1-${Date.now()}`);
  await createTopic(alone!, 'rf1', 1);
  const produceRf1RecordsPerSec = Math.round(await produce(alone!, 'rf1', RF1_RECORDS, 1));
  const consumeRates: number[] = [];
  for (let pass = 0; pass < CONSUME_PASSES; pass++) consumeRates.push(Math.round(await consumeAll(alone!, 'rf1', RF1_RECORDS, `bench-${pass}`)));
  await single.close();

  // Three tabs. Latency first, before the throughput run leaves the tabs' storage compacting
  // 60 MB in the background, so it measures the data path rather than that.
  const trio = await newContext(browser, permissions);
  const pages = await openTabs(trio, baseUrl, 3, `bench-rf3-${Date.now()}`);
  const ids = await Promise.all(pages.map(brokerIdOf));
  const latencyLeader = await createTopic(pages[0]!, 'latency', 3);
  const others = pages.filter((_, i) => ids[i] !== latencyLeader);
  const { p50, p99 } = await latency(others[0]!, others[1]!, 'latency', COMMIT_INTERVAL_MS);
  const commitsLeader = await createTopic(pages[0]!, 'latency-commits', 3);
  const notLeading = pages.filter((_, i) => ids[i] !== commitsLeader);
  const everyBatch = await latency(notLeading[0]!, notLeading[1]!, 'latency-commits', null);

  // Replication factor 3, acks=all, from a tab that leads nothing.
  const rf3Leader = await createTopic(pages[0]!, 'rf3', 3);
  const producerTab = pages.find((_, i) => ids[i] !== rf3Leader)!;
  const produceRf3AcksAllRecordsPerSec = Math.round(await produce(producerTab, 'rf3', RF3_RECORDS, -1));

  // The same JSON records, uncompressed and with gzip, from a tab that leads neither topic.
  const jsonLeader = await createTopic(pages[0]!, 'json', 3);
  const gzipLeader = await createTopic(pages[0]!, 'json-gzip', 3);
  const jsonTab = pages.find((_, i) => ids[i] !== jsonLeader && ids[i] !== gzipLeader) ?? pages.find((_, i) => ids[i] !== jsonLeader)!;
  const produceRf3JsonRecordsPerSec = Math.round(await produceJson(jsonTab, 'json', JSON_RECORDS, 0));
  const produceRf3JsonGzipRecordsPerSec = Math.round(await produceJson(jsonTab, 'json-gzip', JSON_RECORDS, 1));
  const storedBytesPerJsonRecord = await storedBytesPerRecord(pages[ids.indexOf(jsonLeader)]!, 'json', JSON_RECORDS);
  const storedBytesPerJsonRecordGzip = await storedBytesPerRecord(pages[ids.indexOf(gzipLeader)]!, 'json-gzip', JSON_RECORDS);

  const failoverLeader = await createTopic(pages[0]!, 'failover', 3, { 'min.insync.replicas': '2' });
  const leaderFailoverMs = await leaderFailover(pages, 'failover', failoverLeader);
  await trio.close();

  return {
    rawIdbWriteRecordsPerSec: raw.write,
    rawIdbReadRecordsPerSec: raw.read,
    rawDataChannelBytesPerSec,
    produceRf1RecordsPerSec,
    produceRf3AcksAllRecordsPerSec,
    consumeRecordsPerSec: Math.max(...consumeRates),
    consumeFirstPassRecordsPerSec: consumeRates[0]!,
    e2eLatencyP50Ms: p50,
    e2eLatencyP99Ms: p99,
    e2eLatencyP50MsCommitEveryBatch: everyBatch.p50,
    e2eLatencyP99MsCommitEveryBatch: everyBatch.p99,
    leaderFailoverMs,
    produceRf3JsonRecordsPerSec,
    produceRf3JsonGzipRecordsPerSec,
    storedBytesPerJsonRecord,
    storedBytesPerJsonRecordGzip,
  };
}

export { JSON_RECORD_BYTES, RECORD_BYTES };

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
