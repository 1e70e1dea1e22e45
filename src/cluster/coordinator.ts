/**
 * The coordinator of a distributed book run (`optmargin book BOOK --nats URL`): publishes the
 * job (market snapshot + model) once, the book's shards on the work queue, and gathers one
 * result per shard from the results stream (an ordered consumer: a reconnect resumes where it
 * stopped). A shard counts once whatever the number of copies that arrive (keyed by shard id +
 * input hash). The run either returns every account's result, in input order, or throws
 * CLUSTER_FAILED: never a partial book.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { OptmarginError } from '../errors.js';
import type { BookAccountResult } from '../io/results.js';
import type { LoadedModel } from '../measures/types.js';
import { clusterError, connectBroker, ensureTopology, type BrokerOptions } from './broker.js';
import { decodeResult, pack, PROTOCOL_VERSION, STREAMS, subjects, workMessage, type JobSpec, type ResultMessage } from './protocol.js';

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

export interface DistributedStats {
  job: string;
  shards: number;
  workers: string[];
  /** result copies ignored because their shard was already counted */
  duplicates: number;
  /** largest work and result messages, bytes */
  maxWorkBytes: number;
  maxResultBytes: number;
  workBytes: number;
  resultBytes: number;
  /** sum of the workers' compute time, ms */
  workerMs: number;
  publishMs: number;
  gatherMs: number;
}

interface Shard {
  first: number;
  n: number;
  hash: string;
}

export const DEFAULT_SHARD_ACCOUNTS = 500;
/** shards in flight before waiting for the broker's acks (bounded memory on both sides) */
const PUBLISH_WINDOW = 8;
/** a stored-message ack may take long on a loaded broker writing to disk */
const JS_TIMEOUT_MS = 30_000;

/** Publishes the shards of the book, splitting any whose message would not fit the broker's max payload. */
async function publishShards(js: JetStreamClient, spec: JobSpec, accounts: ShardSource, size: number, maxPayload: number, stats: DistributedStats): Promise<Shard[]> {
  const shards: Shard[] = [];
  const pending: Promise<unknown>[] = [];
  const ranges: [number, number][] = [];
  for (let first = 0; first < accounts.length; first += size) ranges.push([first, Math.min(accounts.length, first + size)]);
  while (ranges.length) {
    const [from, to] = ranges.shift()!;
    const w = workMessage(spec, shards.length, from, accounts.slice(from, to));
    const bytes = pack(w);
    if (bytes.length > maxPayload * 0.9) {
      if (to - from === 1) throw clusterError(`account ${from} alone is ${bytes.length} bytes, more than the broker's max payload (${maxPayload}): raise max_payload in nats-server`);
      const mid = from + Math.floor((to - from) / 2);
      ranges.unshift([from, mid], [mid, to]);
      continue;
    }
    shards.push({ first: from, n: to - from, hash: w.hash });
    stats.workBytes += bytes.length;
    stats.maxWorkBytes = Math.max(stats.maxWorkBytes, bytes.length);
    pending.push(js.publish(subjects.work(spec.job, w.shard), bytes, { msgID: `${spec.job}.work.${w.shard}` }));
    if (pending.length >= PUBLISH_WINDOW) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return shards;
}

/** Runs the book on the cluster's workers; every account's result in input order, or CLUSTER_FAILED. */
export async function runDistributedBook(o: DistributedBookOptions): Promise<{ results: BookAccountResult[]; positions: number; stats: DistributedStats }> {
  const nc = await connectBroker(o.url, 'optmargin-coordinator');
  const job = globalThis.crypto.randomUUID().replace(/-/g, '');
  const stats: DistributedStats = { job, shards: 0, workers: [], duplicates: 0, maxWorkBytes: 0, maxResultBytes: 0, workBytes: 0, resultBytes: 0, workerMs: 0, publishMs: 0, gatherMs: 0 };
  let jsm: JetStreamManager | null = null;
  let iter: ConsumerMessages | null = null;
  try {
    jsm = await ensureTopology(nc, o);
    const js = nc.jetstream({ timeout: JS_TIMEOUT_MS });
    const spec: JobSpec = { v: PROTOCOL_VERSION, job, market: o.snapshot, model: o.model.params, marketHash: o.marketHash, modelHash: o.model.hash };
    const specBytes = pack(spec);
    const maxPayload = nc.info?.max_payload ?? 1 << 20;
    if (specBytes.length > maxPayload) throw clusterError(`the market + model (${specBytes.length} bytes) exceed the broker's max payload (${maxPayload}): raise max_payload in nats-server`);
    await js.publish(subjects.job(job), specBytes);
    // the results consumer exists before the first shard goes out
    const consumer = await js.consumers.get(STREAMS.results, { filterSubjects: subjects.results(job) });
    iter = await consumer.consume({ max_messages: 256 });
    const t0 = performance.now();
    const shards = await publishShards(js, spec, o.accounts, o.shardAccounts ?? DEFAULT_SHARD_ACCOUNTS, maxPayload, stats);
    stats.shards = shards.length;
    stats.publishMs = performance.now() - t0;
    const got = await gather(nc, iter, shards, job, o, stats);
    stats.gatherMs = performance.now() - t0 - stats.publishMs;
    const results: BookAccountResult[] = [];
    let positions = 0;
    for (let s = 0; s < shards.length; s++) {
      const r = got[s];
      if (r.results!.length !== shards[s].n) throw clusterError(`shard ${s}: ${shards[s].n} accounts sent, ${r.results!.length} results back from ${r.worker}`);
      for (const x of r.results!) results.push(x);
      positions += r.positions;
    }
    return { results, positions, stats };
  } catch (e) {
    // the client's own errors (timeouts, refused publishes) are the cluster's, not engine bugs
    if (e instanceof OptmarginError) throw e;
    throw clusterError(`NATS: ${(e as Error).message}; nothing was written`);
  } finally {
    iter?.stop();
    if (jsm && !nc.isClosed()) {
      // the job leaves nothing behind: its spec, any shard not yet taken, its results (a broker
      // that is gone gets 2 s: its leftovers expire with the streams' max age, and workers drop
      // shards whose spec is gone)
      const m = jsm;
      await Promise.race([
        Promise.allSettled([
          m.streams.purge(STREAMS.jobs, { filter: subjects.job(job) }),
          m.streams.purge(STREAMS.work, { filter: `optmargin.work.${job}.*` }),
          m.streams.purge(STREAMS.results, { filter: subjects.results(job) }),
        ]),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
    }
    if (!nc.isClosed()) await nc.close();
  }
}

/** Collects one result per shard; throws on a worker's error, a lost broker or a stall. */
async function gather(nc: NatsConnection, iter: ConsumerMessages, shards: Shard[], job: string, o: DistributedBookOptions, stats: DistributedStats): Promise<ResultMessage[]> {
  const got: ResultMessage[] = new Array(shards.length);
  let done = 0;
  let last = performance.now();
  const stallMs = (o.stallS ?? 120) * 1000;
  const workers = new Set<string>();
  let fail: ((e: Error) => void) | null = null;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const timer = setInterval(() => {
    if (performance.now() - last > stallMs) {
      fail!(clusterError(`no shard result for ${(stallMs / 1000).toFixed(0)} s: ${done} of ${shards.length} shards done (are workers running? optmargin worker --nats ${o.url}); nothing was written`));
    }
  }, 250);
  // a lost connection ends the run: results published while it was down may never reach this
  // consumer, so the coordinator fails clearly rather than wait (the workers reconnect and carry on)
  const lost = (why: string): void => fail!(clusterError(`lost the connection to the NATS broker at ${o.url} (${why}) with ${done} of ${shards.length} shards done; nothing was written: run again once the broker is back`));
  void nc.closed().then((e) => lost(e ? e.message : 'closed'));
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'disconnect') lost('disconnected');
  })();
  const loop = (async () => {
    for await (const m of iter) {
      const r = decodeResult(m.data);
      if (r.job !== job || r.shard >= shards.length) continue;
      if (r.hash !== shards[r.shard].hash) throw clusterError(`shard ${r.shard}: result for other inputs (hash ${r.hash.slice(0, 12)}…, expected ${shards[r.shard].hash.slice(0, 12)}…)`);
      if (r.error) throw clusterError(`shard ${r.shard} (accounts ${shards[r.shard].first}–${shards[r.shard].first + shards[r.shard].n - 1}) failed on ${r.worker}: ${r.error.code}: ${r.error.message}`);
      if (got[r.shard]) {
        stats.duplicates++;
        continue;
      }
      got[r.shard] = r;
      stats.resultBytes += m.data.length;
      stats.maxResultBytes = Math.max(stats.maxResultBytes, m.data.length);
      stats.workerMs += r.ms;
      workers.add(r.worker);
      last = performance.now();
      done++;
      o.onProgress?.(done, shards.length);
      if (done === shards.length) return;
    }
    throw clusterError(`the results stream ended with ${done} of ${shards.length} shards done; nothing was written`);
  })();
  try {
    await Promise.race([loop, failed]);
  } finally {
    clearInterval(timer);
  }
  stats.workers = [...workers].sort();
  return got;
}
