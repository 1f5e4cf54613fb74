// `npm run test:browser`: Playwright inside a private network namespace with only loopback
// (DESIGN.md), so every WebRTC packet and every request stays inside the test. Where the
// machine does not allow `unshare`, the tests run directly and say so.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const quoted = args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
const canIsolate = spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;

const result = canIsolate
  ? spawnSync('unshare', ['-rn', 'sh', '-c', `ip link set lo up && exec npx playwright test ${quoted}`], { stdio: 'inherit' })
  : (console.warn('tabka: cannot create a network namespace here (unshare -rn); running browser tests directly'),
    spawnSync('npx', ['playwright', 'test', ...args], { stdio: 'inherit' }));
process.exitCode = result.status ?? 1;
