/**
 * Prints one consumer-group simulation seed's trace, optionally filtered:
 *   npx tsx test/sim/group-trace-cli.ts 12 'FAULT|joined|committed'
 */
import { runGroupSimulation } from './group-simulation';

const seed = Number(process.argv[2]);
const filter = process.argv[3] ? new RegExp(process.argv[3]) : null;
const lines: string[] = [];
const started = Date.now();
await runGroupSimulation(seed, { trace: (line) => lines.push(line) }).then(
  (stats) => console.log(`seed ${seed}: OK ${JSON.stringify(stats)} in ${Date.now() - started} ms`),
  (error: unknown) => console.log(String(error)),
);
for (const line of lines) if (filter === null || filter.test(line)) console.log(line);
