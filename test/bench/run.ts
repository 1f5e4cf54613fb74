// `npm run bench [-- suite...] [-- --json]`: runs benchmark suites in real headless Chromium
// and reports every figure beside the raw platform limit measured in the same run.
import { chromium } from '@playwright/test';
import type { Browser } from '@playwright/test';
import { createServer } from 'vite';
import { WEBRTC_PERMISSIONS, chromiumArgs, chromiumPath } from '../browser/chromium';
import { clusterTimings } from './cluster-suite';
import { JSON_RECORD_BYTES, RECORD_BYTES, dataFigures } from './data-suite';
import { rebalanceRuns } from './group-suite';
import type { StorageRound } from './storage-bench';
import type { StorageShape } from './storage-shape';

interface Figure {
  readonly metric: string;
  readonly platform: number;
  readonly tabka: number;
  readonly ratio: number;
  readonly floor: number;
  readonly unit: string;
}

/** A duration with a ceiling it must stay under (there is no platform limit to divide by). */
interface Timing {
  readonly metric: string;
  readonly ms: number;
  readonly ceiling: number;
  readonly runs: readonly number[];
}

interface SuiteResult {
  readonly figures: Figure[];
  readonly timings?: Timing[];
  readonly json: Record<string, number>;
}

interface BenchEnv {
  readonly browser: Browser;
  readonly baseUrl: string;
}

type Suite = (env: BenchEnv) => Promise<SuiteResult>;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const STORAGE_SHAPE: StorageShape = { records: 300_000, perBatch: 1000, recordBytes: 100, readMaxBytes: 50 * 1024 * 1024 };
const STORAGE_ROUNDS = 12;

async function storageSuite({ browser, baseUrl }: BenchEnv): Promise<SuiteResult> {
  const page = await browser.newPage();
  await page.goto(new URL('test/bench/index.html', baseUrl).href);
  await page.waitForSelector('body[data-ready="true"]');
  const rounds = await page.evaluate(
    ([shape, count]) =>
      (window as unknown as { bench: { storage(s: StorageShape, n: number): Promise<StorageRound[]> } }).bench.storage(shape, count),
    [STORAGE_SHAPE, STORAGE_ROUNDS] as const,
  );
  await page.close();
  const rate = (pick: (round: StorageRound) => number) =>
    median(rounds.map((round) => Math.round((STORAGE_SHAPE.records / pick(round)) * 1000)));
  const ratio = (limit: (round: StorageRound) => number, ours: (round: StorageRound) => number) =>
    median(rounds.map((round) => limit(round) / ours(round)));
  const rawWrite = rate((r) => r.raw.writeMs);
  const rawRead = rate((r) => r.raw.readMs);
  if (process.env.BENCH_VERBOSE) console.error(JSON.stringify(rounds));
  const figures: Figure[] = [
    { metric: 'append, log API in the worker', platform: rawWrite, tabka: rate((r) => r.log.writeMs), ratio: ratio((r) => r.raw.writeMs, (r) => r.log.writeMs), floor: 0.8, unit: 'records/s' },
    { metric: 'read, log API in the worker', platform: rawRead, tabka: rate((r) => r.log.readMs), ratio: ratio((r) => r.raw.readMs, (r) => r.log.readMs), floor: 0.8, unit: 'records/s' },
    { metric: 'append from the page (comlink)', platform: rawWrite, tabka: rate((r) => r.page.writeMs), ratio: ratio((r) => r.raw.writeMs, (r) => r.page.writeMs), floor: 0, unit: 'records/s' },
    { metric: 'read from the page (comlink)', platform: rawRead, tabka: rate((r) => r.page.readMs), ratio: ratio((r) => r.raw.readMs, (r) => r.page.readMs), floor: 0, unit: 'records/s' },
  ];
  const [append, read, pageAppend, pageRead] = figures as [Figure, Figure, Figure, Figure];
  return {
    figures,
    json: {
      rawIdbWriteRecordsPerSec: rawWrite,
      appendRecordsPerSec: append.tabka,
      appendVsRawWrite: round3(append.ratio),
      rawIdbReadRecordsPerSec: rawRead,
      readRecordsPerSec: read.tabka,
      readVsRawRead: round3(read.ratio),
      pageAppendRecordsPerSec: pageAppend.tabka,
      pageAppendVsRawWrite: round3(pageAppend.ratio),
      pageReadRecordsPerSec: pageRead.tabka,
      pageReadVsRawRead: round3(pageRead.ratio),
      encodeRecordsPerSec: rate((r) => r.encodeMs),
      storageRounds: rounds.length,
    },
  };
}

const CLUSTER_RUNS = 5;
const CLUSTER_TABS = 5;

async function clusterSuite({ browser, baseUrl }: BenchEnv): Promise<SuiteResult> {
  const runs = [];
  for (let run = 0; run < CLUSTER_RUNS; run++) {
    const context = await browser.newContext({ permissions: WEBRTC_PERMISSIONS });
    try {
      runs.push(await clusterTimings(context, baseUrl, CLUSTER_TABS, `bench-cluster-${Date.now()}-${run}`));
    } finally {
      await context.close();
    }
  }
  const formation = runs.map((r) => Math.round(r.formationMs));
  const failover = runs.map((r) => Math.round(r.failoverMs));
  return {
    figures: [],
    timings: [
      { metric: `cluster formation (${CLUSTER_TABS} tabs)`, ms: median(formation), ceiling: Number.POSITIVE_INFINITY, runs: formation },
      { metric: 'controller failover (tab closed)', ms: median(failover), ceiling: 2000, runs: failover },
    ],
    json: { clusterFormationMs: median(formation), controllerFailoverMs: median(failover), clusterRuns: runs.length },
  };
}

async function dataSuite({ browser, baseUrl }: BenchEnv): Promise<SuiteResult> {
  const d = await dataFigures(browser, baseUrl, [...WEBRTC_PERMISSIONS]);
  const rf3Bytes = d.produceRf3AcksAllRecordsPerSec * RECORD_BYTES;
  const jsonBytes = d.produceRf3JsonRecordsPerSec * JSON_RECORD_BYTES;
  const gzipBytes = d.produceRf3JsonGzipRecordsPerSec * JSON_RECORD_BYTES;
  const figures: Figure[] = [
    { metric: 'produce, RF 1, acks=1', platform: d.rawIdbWriteRecordsPerSec, tabka: d.produceRf1RecordsPerSec, ratio: d.produceRf1RecordsPerSec / d.rawIdbWriteRecordsPerSec, floor: 0.5, unit: 'records/s vs raw IndexedDB write' },
    { metric: 'produce, RF 3, acks=all (bytes)', platform: d.rawDataChannelBytesPerSec, tabka: rf3Bytes, ratio: rf3Bytes / d.rawDataChannelBytesPerSec, floor: 0.4, unit: 'bytes/s vs one raw data channel' },
    { metric: 'consume 1M records from the start', platform: d.rawIdbReadRecordsPerSec, tabka: d.consumeRecordsPerSec, ratio: d.consumeRecordsPerSec / d.rawIdbReadRecordsPerSec, floor: 0.8, unit: 'records/s vs raw IndexedDB read (best of 3 passes, as the raw read)' },
    { metric: '  the first of those passes', platform: d.rawIdbReadRecordsPerSec, tabka: d.consumeFirstPassRecordsPerSec, ratio: d.consumeFirstPassRecordsPerSec / d.rawIdbReadRecordsPerSec, floor: 0, unit: 'records/s vs raw IndexedDB read' },
    { metric: 'produce JSON, RF 3, acks=all', platform: d.rawDataChannelBytesPerSec, tabka: jsonBytes, ratio: jsonBytes / d.rawDataChannelBytesPerSec, floor: 0, unit: `bytes/s (${JSON_RECORD_BYTES}-byte values) vs one raw data channel` },
    { metric: '  the same with gzip', platform: d.rawDataChannelBytesPerSec, tabka: gzipBytes, ratio: gzipBytes / d.rawDataChannelBytesPerSec, floor: 0, unit: 'bytes/s before compression vs one raw data channel' },
    { metric: '  stored per record, gzip vs none', platform: d.storedBytesPerJsonRecord, tabka: d.storedBytesPerJsonRecordGzip, ratio: d.storedBytesPerJsonRecordGzip / d.storedBytesPerJsonRecord, floor: 0, unit: 'bytes in the leader log' },
  ];
  return {
    figures,
    timings: [
      { metric: 'e2e latency p50 (acks=all, commit 5 s)', ms: d.e2eLatencyP50Ms, ceiling: 5, runs: [d.e2eLatencyP50Ms] },
      { metric: 'e2e latency p99 (acks=all, commit 5 s)', ms: d.e2eLatencyP99Ms, ceiling: 25, runs: [d.e2eLatencyP99Ms] },
      { metric: '  p50, committing after every batch', ms: d.e2eLatencyP50MsCommitEveryBatch, ceiling: Number.POSITIVE_INFINITY, runs: [d.e2eLatencyP50MsCommitEveryBatch] },
      { metric: '  p99, committing after every batch', ms: d.e2eLatencyP99MsCommitEveryBatch, ceiling: Number.POSITIVE_INFINITY, runs: [d.e2eLatencyP99MsCommitEveryBatch] },
      { metric: 'leader failover (leader tab hangs)', ms: d.leaderFailoverMs, ceiling: 3000, runs: [d.leaderFailoverMs] },
    ],
    json: {
      ...d,
      produceRf1VsRawWrite: round3(figures[0]!.ratio),
      produceRf3AcksAllBytesVsRawChannel: round3(figures[1]!.ratio),
      consumeVsRawRead: round3(figures[2]!.ratio),
      consumeFirstPassVsRawRead: round3(figures[3]!.ratio),
      produceRf3JsonVsRawChannel: round3(figures[4]!.ratio),
      produceRf3JsonGzipVsRawChannel: round3(figures[5]!.ratio),
      storedGzipVsNone: round3(figures[6]!.ratio),
    },
  };
}

const GROUP_RUNS = 5;

async function groupSuite({ browser, baseUrl }: BenchEnv): Promise<SuiteResult> {
  const runs = (await rebalanceRuns(browser, baseUrl, [...WEBRTC_PERMISSIONS], GROUP_RUNS)).map(Math.round);
  return {
    figures: [],
    timings: [{ metric: 'rebalance (member tab closed)', ms: median(runs), ceiling: 2000, runs }],
    json: { rebalanceMs: median(runs), rebalanceRuns: runs.length },
  };
}

const suites: Record<string, Suite> = { storage: storageSuite, cluster: clusterSuite, data: dataSuite, groups: groupSuite };

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function printTimings(timings: readonly Timing[]): void {
  for (const t of timings) {
    const ceiling = Number.isFinite(t.ceiling) ? `under ${t.ceiling} ms: ${t.ms < t.ceiling ? 'ok' : 'ABOVE CEILING'}` : '';
    console.log(`${t.metric.padEnd(38)}  median ${String(t.ms).padStart(6)} ms  runs ${t.runs.join(', ')}  ${ceiling}`);
  }
}

function printTable(name: string, figures: Figure[]): void {
  console.log(`\n${name}`);
  if (figures.length === 0) return;
  console.log(
    ['metric'.padEnd(38), 'platform limit'.padStart(15), 'tabka'.padStart(12), 'ratio'.padStart(7), 'floor'.padStart(6), ''].join('  '),
  );
  for (const f of figures) {
    const verdict = f.floor === 0 ? '' : f.ratio >= f.floor ? 'ok' : 'BELOW FLOOR';
    console.log(
      [
        f.metric.padEnd(38),
        f.platform.toLocaleString('en-US').padStart(15),
        f.tabka.toLocaleString('en-US').padStart(12),
        `${f.ratio.toFixed(2)}x`.padStart(7),
        (f.floor === 0 ? '-' : `${f.floor}x`).padStart(6),
        `${f.unit}  ${verdict}`,
      ].join('  '),
    );
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const chosen = args.filter((arg) => !arg.startsWith('--'));
  const unknown = chosen.filter((name) => !(name in suites));
  if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}`);
  const names = chosen.length ? chosen : Object.keys(suites);

  const server = await createServer({ server: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...chromiumArgs], headless: true });
  const combined: Record<string, number> = {};
  let belowFloor = false;
  try {
    for (const name of names) {
      const result = await (suites[name] as Suite)({ browser, baseUrl: url as string });
      if (!json) {
        printTable(name, result.figures);
        printTimings(result.timings ?? []);
      }
      Object.assign(combined, result.json);
      belowFloor ||= result.figures.some((figure) => figure.ratio < figure.floor);
      belowFloor ||= (result.timings ?? []).some((timing) => timing.ms >= timing.ceiling);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  if (json) console.log(JSON.stringify(combined));
  else console.log(`\n${belowFloor ? 'Some figures miss their floors or ceilings.' : 'All figures meet their floors and ceilings.'}`);
  process.exitCode = belowFloor ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});
