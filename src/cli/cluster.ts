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
import { intOption, warn } from './io.js';

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

interface WorkerCommandOptions {
  nats: string;
  threads?: string;
  ackWait?: string;
  verbose?: boolean;
}

export function registerClusterCommands(program: Command): void {
  program
    .command('worker')
    .description('join a cluster: compute book shards from a NATS JetStream broker until SIGINT/SIGTERM (docs/scale-out.md)')
    .requiredOption('--nats <url>', 'the broker, nats://HOST:PORT')
    .option('--threads <n>', 'worker threads of the local pool (1 = in-process)')
    .option('--ack-wait <s>', "seconds before an unacknowledged shard is redelivered to another worker (set when the broker's consumer is first created; default 30)")
    .option('--verbose', 'a line on stderr per shard')
    .action(async (opts: WorkerCommandOptions) => {
      const threads = opts.threads === undefined ? Math.min(4, availableParallelism()) : intOption('threads', opts.threads, 1, 256);
      const { DEFAULT_ACK_WAIT_S, parseNatsUrl } = await broker();
      const { ClusterWorker } = await import('../cluster/worker.js');
      const ackWaitS = opts.ackWait === undefined ? DEFAULT_ACK_WAIT_S : intOption('ack-wait', opts.ackWait, 1, 3600);
      parseNatsUrl(opts.nats);
      const worker = await ClusterWorker.start({ url: opts.nats, threads, ackWaitS, verbose: opts.verbose === true, log: (l) => warn(l) });
      const stop = (): void => worker.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await worker.run();
      } finally {
        await worker.close();
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      warn(`${worker.name}: stopped after ${worker.shardsDone} shards`);
    });
}
