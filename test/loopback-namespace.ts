// Runs `npx <argv>` inside a private network namespace with only loopback (DESIGN.md), so every
// WebRTC packet between tabs stays on this machine's loopback; where `unshare -rn` is not
// allowed, runs it directly and says so. Returns the exit status.
import { spawnSync } from 'node:child_process';

export function npxInLoopbackNamespace(argv: readonly string[], what: string): number {
  const canIsolate = spawnSync('unshare', ['-rn', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;
  if (!canIsolate) {
    console.warn(`tabka: cannot create a network namespace here (unshare -rn); running ${what} directly`);
    return spawnSync('npx', [...argv], { stdio: 'inherit' }).status ?? 1;
  }
  const quoted = argv.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  return spawnSync('unshare', ['-rn', 'sh', '-c', `ip link set lo up && exec npx ${quoted}`], { stdio: 'inherit' }).status ?? 1;
}
