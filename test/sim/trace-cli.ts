/**
 * Prints one simulation seed's trace, optionally filtered:
 *   npx tsx test/sim/trace-cli.ts 123 'becameController|ready|FAULT'
 */
import { runElectionSimulation } from './election-simulation';

const seed = Number(process.argv[2]);
const filter = process.argv[3] ? new RegExp(process.argv[3]) : null;
const lines: string[] = [];
try {
  runElectionSimulation(seed, { trace: (line) => lines.push(line) });
  console.log(`seed ${seed}: OK`);
} catch (error) {
  console.log(String(error));
}
for (const line of lines) if (filter === null || filter.test(line)) console.log(line);
