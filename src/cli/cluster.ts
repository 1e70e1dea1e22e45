/**
 * The CLI side of a distributed run (docs/scale-out.md):
 *   optmargin worker --nats URL [--threads N]     joins: computes shards until SIGINT/SIGTERM
 *   optmargin book BOOK --nats URL …              the coordinator (book.ts calls distributedBook)
 * The coordinator writes the same --out bytes as the local run, or fails with
 * OPTMARGIN_CLUSTER_FAILED (exit 1) and writes nothing.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { BookAccountResult, BookSummary } from '../io/results.js';
import { accountAt, Mode, type BookColumns } from '../instruments/columns.js';
import type { resolveMarket } from '../market/index.js';
import { loadModel } from '../measures/models.js';
import { inputOf, invalidResult } from '../runner/book/inputs.js';
import { BookEngine } from '../runner/book/runner.js';
import { InvalidEntry } from '../runner/book/types.js';
// the NATS client and the cluster modules load only when a cluster command runs (CLI start-up)
const broker = () => import('../cluster/broker.js');
import type { BookCommandOptions, BookOutcome, BookStages } from './book.js';
import { intOption, readInputBytes, warn } from './io.js';
import { resolve } from 'node:path';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { parseBook } from '../io/book-file.js';
import { marketHashOf, type MarginMarket } from '../market/margin-market.js';
import type { QuantileConvention } from '../measures/quantiles.js';
import type { ScenarioSet } from '../risk/scenario-set.js';
import { tailLength } from '../risk/book-var.js';
import type { DistributedVarResult, VarSource } from '../cluster/var-coordinator.js';
import type { VarCliOptions } from './var.js';
import { registerResidentCommand } from './resident.js';

/**
 * The book's valid accounts as the coordinator takes them (a length and slices, each account
 * rebuilt from the columns only when its shard is published), and where each account's result is:
 * an invalid account's error result stays here (the same as the local run's), it is never sent.
 */
function shardSource(cols: BookColumns): { accounts: { length: number; slice: (from: number, to: number) => unknown[] }; rank: Int32Array } {
  const rank = new Int32Array(cols.n);
  const valid: number[] = [];
  for (let k = 0; k < cols.n; k++) {
    rank[k] = cols.mode[k] === Mode.Invalid ? -1 : valid.length;
    if (rank[k] >= 0) valid.push(k);
  }
  const slice = (from: number, to: number): unknown[] => valid.slice(from, to).map((k) => accountAt(cols, k));
  return { accounts: { length: valid.length, slice }, rank };
}

/** `book --nats`: the book's shards computed by the cluster's workers, finished like a local run. */
export async function distributedBook(
  cols: BookColumns,
  snapshot: unknown,
  market: ReturnType<typeof resolveMarket>,
  opts: BookCommandOptions,
  before: Pick<BookStages, 'read' | 'parse'>,
  finish: (o: BookOutcome) => Promise<BookSummary>,
): Promise<BookSummary> {
  const url = opts.nats!;
  (await broker()).parseNatsUrl(url);
  const { DEFAULT_SHARD_ACCOUNTS, runDistributedBook } = await import('../cluster/coordinator.js');
  const shardAccounts = opts.shardAccounts === undefined ? DEFAULT_SHARD_ACCOUNTS : intOption('shard-accounts', opts.shardAccounts, 1, 1_000_000);
  const stallS = opts.natsTimeout === undefined ? 120 : intOption('nats-timeout', opts.natsTimeout, 1, 86_400);
  const model = loadModel(opts.model ?? 'deribit-pm');
  const t1 = performance.now();
  // the header (model, market hash, valuation time) as the local runner states it
  const local = BookEngine.create({ market, model, threads: 1 });
  const header = local.header();
  await local.close();
  const { accounts, rank } = shardSource(cols);
  const { results, positions, stats } = await runDistributedBook({ url, accounts, snapshot, marketHash: header.marketHash, model, shardAccounts, stallS });
  const resultAt = (k: number): BookAccountResult => (rank[k] >= 0 ? results[rank[k]] : invalidResult(inputOf([], cols, k) as InvalidEntry));
  // stdout without --timings stays the same for the same inputs: only the counts and sizes
  const { shards, duplicates, workBytes, maxWorkBytes, resultBytes, maxResultBytes } = stats;
  const load = { accounts: cols.n, positions, cluster: { shards, duplicates, workBytes, maxWorkBytes, resultBytes, maxResultBytes } };
  // resolving and recomputing happen on the workers: both are in `recompute` (publish to last result)
  const stages = { ...before, resolve: 0, recompute: performance.now() - t1 };
  return finish({ n: cols.n, resultAt, positions, header, timed: { cluster: stats }, load, stages });
}

/** True for a JSON-lines book of two or more accounts (its first non-blank line is a JSON document by itself). */
function isJsonLines(b: Uint8Array): boolean {
  let at = 0;
  while (at < b.length && (b[at] === 0x20 || b[at] === 0x09 || b[at] === 0x0d || b[at] === 0x0a)) at++;
  if (b[at] !== 0x7b) return false;
  const nl = b.indexOf(10, at);
  if (nl < 0) return false;
  try {
    JSON.parse(Buffer.from(b.subarray(at, nl)).toString('utf8'));
  } catch (e) {
    void e; // not JSON lines: the book is sent inline, read by the book reader as in a local run
    return false;
  }
  for (let i = nl; i < b.length; i++) if (b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== 0x0d && b[i] !== 0x0a) return true;
  return false;
}

/**
 * `var BOOK --nats`: the book's VaR computed by the cluster's workers. A JSON-lines book is read
 * by the workers from the shared file (--nats-book PATH: its path on the workers; default this
 * file's absolute path); other formats, standard input and --nats-inline send the accounts.
 */
export async function distributedVar(
  file: string,
  r: { set: ScenarioSet; market: MarginMarket; alpha: number; quantile: QuantileConvention },
  o: VarCliOptions,
  write: (outcome: DistributedVarResult) => void,
  started: number,
): Promise<number> {
  const url = o.nats!;
  (await broker()).parseNatsUrl(url);
  if (o.components) throw new OptmarginError(ErrorCodes.INVALID_OPTION, '--components is computed on one machine: run it without --nats', '--components');
  const { DEFAULT_VAR_SHARD_ACCOUNTS, runDistributedVar } = await import('../cluster/var-coordinator.js');
  const scenarioBlocks = o.scenarioBlocks === undefined ? 1 : intOption('scenario-blocks', o.scenarioBlocks, 1, r.set.n);
  // a block's result carries the tail of every account (m float64 each): fewer accounts per shard keep it under ~600 KB
  const perAccount = scenarioBlocks > 1 ? 8 * tailLength(r.set.n, r.alpha) + 64 : 0;
  const defaultShard = scenarioBlocks > 1 ? Math.max(1, Math.min(DEFAULT_VAR_SHARD_ACCOUNTS, Math.floor(600_000 / perAccount))) : DEFAULT_VAR_SHARD_ACCOUNTS;
  const shardAccounts = o.shardAccounts === undefined ? defaultShard : intOption('shard-accounts', o.shardAccounts, 1, 1_000_000);
  const stallS = o.natsTimeout === undefined ? 120 : intOption('nats-timeout', o.natsTimeout, 1, 86_400);
  const bytes = readInputBytes(file);
  const name = file === '-' ? 'standard input' : file;
  let source: VarSource;
  if (file !== '-' && !o.natsInline && isJsonLines(bytes)) source = { kind: 'lines', bytes, path: o.natsBook ?? resolve(file), name };
  else {
    const parsed = parseBook(bytes, name);
    if (parsed.format !== 'json' && parsed.accounts.length === 1) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--nats runs a book; ${name} holds one account: run it without --nats`, '--nats');
    source = { kind: 'inline', entries: parsed.accounts };
  }
  const read = performance.now() - started;
  const res = await runDistributedVar({ url, market: r.market, marketKind: o.market ? 'snapshot' : 'table', marketHash: marketHashOf(r.market), set: r.set, alpha: r.alpha, quantile: r.quantile, source, shardAccounts, scenarioBlocks, stallS });
  if (o.timings) {
    const st = res.stats;
    const t = { read, publish: res.stages.publish, gather: res.stages.gather, bookTail: res.stages.bookTail, total: performance.now() - started };
    warn(
      `optmargin var --nats: ${res.ids.length} accounts, ${res.holdings} holdings, ${res.instruments} instruments × ${r.set.n} scenarios, ${st.shards} shards (${source.kind === 'lines' ? 'byte ranges of the shared file' : 'accounts inline'}${scenarioBlocks > 1 ? ` × ${scenarioBlocks} scenario blocks` : ''}), ` +
        `workers ${st.workers.length}, duplicates ${st.duplicates}; messages: work ${st.workBytes} B (largest ${st.maxWorkBytes} B), results ${st.resultBytes} B (largest ${st.maxResultBytes} B); workers' compute ${st.workerMs.toFixed(0)} ms: ` +
        Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', '),
    );
  }
  write(res);
  return 0;
}

interface WorkerCommandOptions {
  nats: string;
  threads?: string;
  ackWait?: string;
  verbose?: boolean;
  book?: string;
}

export function registerClusterCommands(program: Command): void {
  registerResidentCommand(program);
  program
    .command('worker')
    .description('join a cluster: compute book shards from a NATS JetStream broker until SIGINT/SIGTERM (docs/scale-out.md)')
    .requiredOption('--nats <url>', 'the broker, nats://HOST:PORT')
    .option('--threads <n>', 'worker threads of the local pool (1 = in-process)')
    .option('--ack-wait <s>', "seconds before an unacknowledged shard is redelivered to another worker (set when the broker's consumer is first created; default 30)")
    .option('--book <name>', 'the resident book this worker holds buckets of (docs/scale-out.md "The resident book")', 'default')
    .option('--verbose', 'a line on stderr per shard')
    .action(async (opts: WorkerCommandOptions) => {
      const threads = opts.threads === undefined ? Math.min(4, availableParallelism()) : intOption('threads', opts.threads, 1, 256);
      const { DEFAULT_ACK_WAIT_S, parseNatsUrl, connectBroker } = await broker();
      const { ClusterWorker } = await import('../cluster/worker.js');
      const { ResidentMember } = await import('../cluster/resident-member.js');
      const { checkBookName } = await import('../cluster/resident-protocol.js');
      const book = checkBookName(opts.book ?? 'default');
      const ackWaitS = opts.ackWait === undefined ? DEFAULT_ACK_WAIT_S : intOption('ack-wait', opts.ackWait, 1, 3600);
      parseNatsUrl(opts.nats);
      const worker = await ClusterWorker.start({ url: opts.nats, threads, ackWaitS, verbose: opts.verbose === true, log: (l) => warn(l) });
      // the same process holds buckets of a resident book (its own connection: its feed never waits behind a shard)
      const rnc = await connectBroker(opts.nats, 'optmargin-resident-member');
      const member = await ResidentMember.start(rnc, worker.name, book, (l) => warn(`${worker.name}: ${l}`), opts.verbose === true, threads);
      const stop = (): void => {
        worker.stop();
        member.stop();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await Promise.all([worker.run().finally(() => member.stop()), member.run()]);
      } finally {
        await worker.close();
        await member.close();
        if (!rnc.isClosed()) await rnc.drain().catch((e: Error) => warn(`${worker.name}: drain: ${e.message}`));
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      warn(`${worker.name}: stopped after ${worker.shardsDone} shards`);
    });
}
