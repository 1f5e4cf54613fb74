import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CliUsageError, parseCliArgs } from '../../src/signaling/cli-args';
import { SignalingClient } from '../../src/signaling/signaling-client';

const BIN = fileURLToPath(new URL('../../bin/tabka-signal.mjs', import.meta.url));
// Starting node with the tsx loader takes a while on a cold cache.
const WAIT_MS = 20_000;

describe('parseCliArgs', () => {
  it('reads flags, with defaults', () => {
    expect(parseCliArgs(['--port', '9000', '--host', '0.0.0.0', '--secret', 's', '--max-rooms', '5'], {})).toEqual({
      port: 9000,
      host: '0.0.0.0',
      secret: 's',
      path: undefined,
      maxRooms: 5,
      maxPeersPerRoom: undefined,
      quiet: false,
    });
    expect(parseCliArgs([], { TABKA_SECRET: 'from-env' })).toMatchObject({ port: 8787, host: '127.0.0.1', secret: 'from-env' });
    expect(parseCliArgs(['--secret', 'flag'], { TABKA_SECRET: 'env' })?.secret).toBe('flag');
    expect(parseCliArgs(['--help'], {})).toBeUndefined();
  });

  it.each([
    [[], 'without a secret'],
    [['--secret', ''], 'without a secret'],
    [['--secret', 's', '--port', '70000'], '--port'],
    [['--secret', 's', '--port', '12ab'], '--port'],
    [['--secret', 's', '--max-peers-per-room', '0'], '--max-peers-per-room'],
    [['--secret', 's', '--path', 'no-slash'], '--path'],
    [['--secret', 's', '--verbose'], 'verbose'],
    [['--secret', 's', 'extra'], 'extra'],
  ])('rejects %j', (argv, mention) => {
    expect(() => parseCliArgs(argv, {})).toThrow(CliUsageError);
    expect(() => parseCliArgs(argv, {})).toThrow(mention);
  });
});

describe('bin/tabka-signal.mjs', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  function run(args: string[], env: Record<string, string | undefined>) {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, TABKA_SECRET: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = () =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const newline = stdout.indexOf('\n');
          if (newline >= 0) resolve(stdout.slice(0, newline));
        };
        child.stdout?.on('data', check);
        child.once('exit', () => reject(new Error(`exited before printing: ${stderr}`)));
        check();
      });
    return { child, exited, firstLine, output: () => ({ stdout, stderr }) };
  }

  it('refuses to start without a secret, saying how to give one', async () => {
    const { exited, output } = run(['--port', '0'], {});
    expect(await exited).toBe(2);
    expect(output().stderr).toContain('refusing to start without a secret');
    expect(output().stderr).toContain('TABKA_SECRET');
  }, WAIT_MS);

  it('prints its URL and serves clients that know the secret from env', async () => {
    const { child, exited, firstLine } = run(['--port', '0', '--quiet'], { TABKA_SECRET: 'cli-secret' });
    const line = await firstLine();
    const match = /^tabka-signal listening on (ws:\/\/127\.0\.0\.1:\d+\/)$/.exec(line);
    expect(match, line).not.toBeNull();
    const url = match?.[1] ?? '';
    const a = await SignalingClient.connect({ url, room: 'cli', brokerId: 1, secret: 'cli-secret', WebSocket });
    const b = await SignalingClient.connect({ url, room: 'cli', brokerId: 2, secret: 'cli-secret', WebSocket });
    expect(b.peers).toEqual([1]);
    const closed = a.once('closed');
    b.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await closed).code).toBe(1001);
  }, WAIT_MS);
});
