/**
 * The coordinator of a distributed book run (`optmargin book BOOK --nats URL`): the job (market
 * snapshot + model) and the book's shards (ranges of accounts) through cluster/job.ts runJob;
 * every account's result in input order, or an error: never a partial book.
 */
import type { BookAccountResult } from '../io/results.js';
import type { LoadedModel } from '../measures/types.js';
import { clusterError, type BrokerOptions } from './broker.js';
import { fittingRanges, newJobId, runJob, type DistributedStats } from './job.js';
import { pack, PROTOCOL_VERSION, workMessage, type JobSpec } from './protocol.js';

export type { DistributedStats } from './job.js';

/** The accounts to shard: a length and slices (an array, or accounts rebuilt on demand). */
export interface ShardSource {
  readonly length: number;
  slice(from: number, to: number): unknown[];
}

export interface DistributedBookOptions extends BrokerOptions {
  url: string;
  accounts: ShardSource;
  /** the market snapshot (what resolveMarket takes) and its hash */
  snapshot: unknown;
  marketHash: string;
  model: LoadedModel;
  /** accounts per shard (default 500; a shard is split further if its message would exceed the broker's max payload) */
  shardAccounts?: number;
  /** fail when no new shard result arrives for this long (seconds, default 120) */
  stallS?: number;
  onProgress?: (done: number, total: number) => void;
}

interface Shard {
  first: number;
  n: number;
  hash: string;
  label: string;
}

export const DEFAULT_SHARD_ACCOUNTS = 500;

/** Publishes the shards of the book, splitting any whose message would not fit the broker's max payload. */
async function publishShards(emit: (shard: number, bytes: Uint8Array) => Promise<void>, spec: JobSpec, accounts: ShardSource, size: number, maxPayload: number): Promise<Shard[]> {
  const shards: Shard[] = [];
  await fittingRanges(accounts.length, size, maxPayload, (from, to) => {
    const w = workMessage(spec, shards.length, from, accounts.slice(from, to));
    return { w, bytes: pack(w) };
  }, async (from, to, { w, bytes }) => {
    shards.push({ first: from, n: to - from, hash: w.hash, label: `accounts ${from}–${to - 1}` });
    await emit(w.shard, bytes);
  });
  return shards;
}

/** Runs the book on the cluster's workers; every account's result in input order, or CLUSTER_FAILED. */
export async function runDistributedBook(o: DistributedBookOptions): Promise<{ results: BookAccountResult[]; positions: number; stats: DistributedStats }> {
  const job = newJobId();
  const spec: JobSpec = { v: PROTOCOL_VERSION, job, market: o.snapshot, model: o.model.params, marketHash: o.marketHash, modelHash: o.model.hash };
  let shards: Shard[] = [];
  const publish = async (emit: (shard: number, bytes: Uint8Array) => Promise<void>, maxPayload: number): Promise<Shard[]> =>
    (shards = await publishShards(emit, spec, o.accounts, o.shardAccounts ?? DEFAULT_SHARD_ACCOUNTS, maxPayload));
  const { got, stats } = await runJob(job, { ...o, spec: pack(spec), specWhat: 'market + model', publish });
  const results: BookAccountResult[] = [];
  let positions = 0;
  for (let s = 0; s < shards.length; s++) {
    const r = got[s];
    if (r.results?.length !== shards[s].n) throw clusterError(`shard ${s}: ${shards[s].n} accounts sent, ${r.results?.length ?? 0} results back from ${r.worker}`);
    for (const x of r.results) results.push(x);
    positions += r.positions;
  }
  return { results, positions, stats };
}
