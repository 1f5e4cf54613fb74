// `npm run bench`: the suites inside a loopback-only network namespace, like the browser tests,
// so the figures do not depend on the host's network interfaces.
import { npxInLoopbackNamespace } from '../loopback-namespace';

process.exitCode = npxInLoopbackNamespace(['tsx', 'test/bench/run.ts', ...process.argv.slice(2)], 'the benchmarks');
