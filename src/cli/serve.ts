/**
 * `optmargin serve [--port N] [--host 127.0.0.1]`: the engine over HTTP (docs/serve.md).
 * `optmargin playground [--port N]`: the browser playground alone, on localhost.
 * Both stop on SIGINT/SIGTERM after draining the requests in flight.
 */
import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { defaultMarket, loadMarket } from '../market/snapshot.js';
import type { Server } from '../serve/server.js';
import { DEFAULT_LIMITS, type ServeLimits } from '../serve/schemas.js';

// Fastify and the server load only when a server starts: every other command starts without them.
const serverModule = () => import('../serve/server.js');
const staticModule = () => import('../serve/static.js');

interface ServeCommandOptions {
  port: string;
  host: string;
  market?: string;
  token?: string;
  threads: string;
  queue: string;
  timeout: string;
  bodyLimit: string;
  maxAccounts: string;
  log?: boolean;
  heapCount?: boolean;
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, name);
  return n;
}

/** Closes `close` on SIGINT/SIGTERM; exits 0 once drained, 1 if draining takes over `graceMs`. */
function onSignals(close: () => Promise<void>, graceMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`optmargin: ${signal}: draining in-flight requests...\n`);
      const timer = setTimeout(() => {
        process.stderr.write(`optmargin: requests still in flight after ${graceMs} ms, exiting\n`);
        process.exit(1);
      }, graceMs);
      timer.unref();
      close().then(
        () => {
          process.stderr.write('optmargin: stopped\n');
          resolve();
        },
        (e) => {
          process.stderr.write(`optmargin: error while stopping: ${(e as Error).message}\n`);
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/**
 * Young-generation collections on the main thread alone (V8 reads the flag at each scavenge). A
 * server's scavenge has little to copy (~30 kB survive per ~14 MB allocated at 5,000 margin
 * requests/s), so the parallel one spent its pause waiting for its helper threads to get a core:
 * on this 2-core machine, under load, the copying phase took 0.1–0.2 ms serial against 0.5–1.8 ms
 * parallel (`--trace-gc-nvp`, docs/serve.md). Set for the `serve` process only: an embedding
 * application keeps its own settings.
 */
function serialScavenges(): void {
  setFlagsFromString('--no-parallel-scavenge');
}

export async function runServe(opts: ServeCommandOptions, version: string): Promise<Server> {
  const limits: Partial<ServeLimits> = {
    queue: int('queue', opts.queue, 1),
    timeoutMs: int('timeout', opts.timeout, 1),
    bodyBytes: int('body-limit', opts.bodyLimit, 1024),
    accountsPerRequest: int('max-accounts', opts.maxAccounts, 1),
  };
  const token = opts.token ?? process.env.OPTMARGIN_TOKEN;
  const [{ startServer }, { playgroundDir }] = await Promise.all([serverModule(), staticModule()]);
  const server = await startServer({
    market: opts.market ? loadMarket(opts.market) : defaultMarket(),
    host: opts.host,
    port: int('port', opts.port, 0),
    token: token || undefined,
    limits,
    maxThreads: int('threads', opts.threads, 1),
    playground: playgroundDir(),
    version,
    log: opts.log,
    heapCount: opts.heapCount,
  });
  process.stderr.write(`optmargin serve: listening on ${server.url} (playground at /, API description at /openapi.json${token ? ', bearer token required' : ''})\n`);
  return server;
}

export function registerServeCommands(program: Command, version: () => string): void {
  program
    .command('serve')
    .description('serve the engine over HTTP (JSON or msgpack): /v1/price, /v1/iv, /v1/margin, /v1/whatif, /v1/liquidation-price, /v1/book..., the playground at / (docs/serve.md)')
    .option('--port <n>', 'port (0: any free port)', '8787')
    .option('--host <address>', 'address to bind; a non-loopback one requires --token', '127.0.0.1')
    .option('--market <file>', 'market snapshot or Deribit chain (default: the shipped default market)')
    .option('--token <token>', 'bearer token required on /v1 (default: $OPTMARGIN_TOKEN)')
    .option('--threads <n>', 'worker threads a book may use', '2')
    .option('--queue <n>', 'requests waiting for the engine before 503', String(DEFAULT_LIMITS.queue))
    .option('--timeout <ms>', 'longest wait in the queue before 503', String(DEFAULT_LIMITS.timeoutMs))
    .option('--body-limit <bytes>', 'largest request body (PUT /v1/book: 256 MiB)', String(DEFAULT_LIMITS.bodyBytes))
    .option('--max-accounts <n>', 'accounts in one POST /v1/margin', String(DEFAULT_LIMITS.accountsPerRequest))
    .option('--log', 'one line per request on stderr')
    .option('--heap-count', 'count the V8 heap bytes allocated (GET /healthz heap.allocatedBytes): runs V8\'s GCProfiler at every collection')
    .option('--parallel-scavenge', "V8's parallel young-generation collections (default: serial, see docs/serve.md)")
    .action(async (opts: ServeCommandOptions & { parallelScavenge?: boolean }) => {
      if (!opts.parallelScavenge) serialScavenges();
      const server = await runServe(opts, version());
      await onSignals(() => server.close());
    });
  program
    .command('playground')
    .description('serve the browser playground (built by npm run build) on localhost')
    .option('--port <n>', 'port (0: any free port)', '8788')
    .option('--host <address>', 'loopback address to bind', '127.0.0.1')
    .action(async (opts: { port: string; host: string }) => {
      const [{ isLoopback }, { playgroundDir, registerPlayground }, { default: Fastify }] = await Promise.all([serverModule(), staticModule(), import('fastify')]);
      if (!isLoopback(opts.host)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `the playground binds to a loopback address only, got ${opts.host}`, 'host');
      const dir = playgroundDir();
      if (!dir) throw new OptmarginError(ErrorCodes.INVALID_FILE, 'the playground is not built: run npm run build');
      const app = Fastify({ logger: false, forceCloseConnections: true });
      registerPlayground(app, dir);
      await app.listen({ host: opts.host, port: int('port', opts.port, 0) });
      const addr = app.server.address();
      process.stderr.write(`optmargin playground: open http://${opts.host}:${typeof addr === 'object' && addr ? addr.port : opts.port}/\n`);
      await onSignals(() => app.close());
    });
}
