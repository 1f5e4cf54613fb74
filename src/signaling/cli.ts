import { CliUsageError, USAGE, parseCliArgs } from './cli-args';
import type { CliConfig } from './cli-args';
import { createSignalingServer } from './signaling-server';

// Entry point of bin/tabka-signal.mjs: runs on import.

function readConfig(): CliConfig | undefined {
  try {
    const config = parseCliArgs(process.argv.slice(2), process.env);
    if (!config) console.log(USAGE);
    return config;
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    console.error(`tabka-signal: ${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
}

const config = readConfig();
if (config) {
  const server = await createSignalingServer({
    port: config.port,
    host: config.host,
    secret: config.secret,
    path: config.path,
    maxRooms: config.maxRooms,
    maxPeersPerRoom: config.maxPeersPerRoom,
    log: config.quiet ? undefined : (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  console.log(`tabka-signal listening on ws://${host}:${server.port}${config.path ?? '/'}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
