import { parseArgs } from 'node:util';

export const USAGE = `Usage: tabka-signal --port 8787 [--host 127.0.0.1] [--secret S] [--path /tabka/signal]
                    [--max-rooms 100] [--max-peers-per-room 32] [--quiet]

The secret may come from env TABKA_SECRET instead of --secret (preferable: command lines
are visible to other users of the machine). Every tab of a cluster uses the same secret.
Without --path, any path upgrades.`;

export interface CliConfig {
  port: number;
  host: string;
  secret: string;
  path: string | undefined;
  maxRooms: number | undefined;
  maxPeersPerRoom: number | undefined;
  quiet: boolean;
}

/** Bad command line: the message is for the person who typed it. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Returns undefined when help was asked for. */
export function parseCliArgs(argv: string[], env: Record<string, string | undefined>): CliConfig | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        secret: { type: 'string' },
        path: { type: 'string' },
        'max-rooms': { type: 'string' },
        'max-peers-per-room': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return undefined;
  const secret = values.secret ?? env.TABKA_SECRET;
  if (!secret) {
    throw new CliUsageError('refusing to start without a secret: pass --secret S or set TABKA_SECRET');
  }
  if (values.path !== undefined && !values.path.startsWith('/')) throw new CliUsageError('--path must start with /');
  return {
    port: integer(values.port, '--port', 0, 65_535),
    host: values.host,
    secret,
    path: values.path,
    maxRooms: values['max-rooms'] === undefined ? undefined : integer(values['max-rooms'], '--max-rooms', 1),
    maxPeersPerRoom:
      values['max-peers-per-room'] === undefined ? undefined : integer(values['max-peers-per-room'], '--max-peers-per-room', 1),
    quiet: values.quiet,
  };
}

function integer(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new CliUsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}
