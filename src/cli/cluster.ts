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
import type { resolveMarket } from '../market/index.js';
import { loadModel } from '../measures/models.js';
import { BookEngine } from '../runner/book/runner.js';
// the NATS client and the cluster modules load only when a cluster command runs (CLI start-up)
const broker = () => import('../cluster/broker.js');
import type { BookCommandOptions } from './book.js';
import { intOption, warn } from './io.js';

/** What a distributed run hands to the book command's common ending (finishBook in book.ts). */
export interface DistributedOutcome {
  results: BookAccountResult[];
  positions: number;
  header: ReturnType<BookEngine['header']>;
  timed: Record<string, unknown>;
  load: object;
}

/** `book --nats`: the book's shards computed by the cluster's workers, finished like a local run. */
export async function distributedBook(
  accounts: unknown[],
  snapshot: unknown,
  market: ReturnType<typeof resolveMarket>,
  opts: BookCommandOptions,
  finish: (o: DistributedOutcome) => Promise<BookSummary>,
): Promise<BookSummary> {
  const url = opts.nats!;
  (await broker()).parseNatsUrl(url);
  const { DEFAULT_SHARD_ACCOUNTS, runDistributedBook } = await import('../cluster/coordinator.js');
  const shardAccounts = opts.shardAccounts === undefined ? DEFAULT_SHARD_ACCOUNTS : intOption('shard-accounts', opts.shardAccounts, 1, 1_000_000);
  const stallS = opts.natsTimeout === undefined ? 120 : intOption('nats-timeout', opts.natsTimeout, 1, 86_400);
  const model = loadModel(opts.model ?? 'deribit-pm');
  // the header (model, market hash, valuation time) as the local runner states it
  const local = BookEngine.create({ market, model, threads: 1 });
  const header = local.header();
  await local.close();
  const { results, positions, stats } = await runDistributedBook({ url, accounts, snapshot, marketHash: header.marketHash, model, shardAccounts, stallS });
  // stdout without --timings stays the same for the same inputs: only the counts and sizes
  const { shards, duplicates, workBytes, maxWorkBytes, resultBytes, maxResultBytes } = stats;
  const load = { accounts: accounts.length, positions, cluster: { shards, duplicates, workBytes, maxWorkBytes, resultBytes, maxResultBytes } };
  return finish({ results, positions, header, timed: { cluster: stats }, load });
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
