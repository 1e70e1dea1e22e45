/**
 * One distributed run on the coordinator, whatever it computes (a book's margin, a book's VaR):
 * publishes the job's spec once, its shards on the work queue, and gathers one result per shard
 * from the results stream (an ordered consumer). A shard counts once whatever the number of
 * copies that arrive (keyed by shard id + input hash). The run either returns every shard's
 * result or throws: CLUSTER_FAILED for the cluster (lost broker, stall, a shard failing every
 * delivery), the input's own error code when a worker found the input wrong. Never a partial result.
 */
import type { ConsumerMessages, JetStreamManager, NatsConnection } from 'nats';
import { OptmarginError, isInputError, type ErrorCode } from '../errors.js';
import { clusterError, connectBroker, ensureTopology, type BrokerOptions } from './broker.js';
import { decodeResult, STREAMS, subjects, type ResultMessage } from './protocol.js';

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

export interface JobOptions extends BrokerOptions {
  url: string;
  /** the job's spec message (msgpack), published once */
  spec: Uint8Array;
  /** what the spec holds, for the max-payload error */
  specWhat: string;
  /**
   * Publishes the shards through `emit` (shard number, message bytes), the broker's max payload
   * given; returns each shard's input hash and a label (its accounts) in shard order.
   */
  publish: (emit: (shard: number, bytes: Uint8Array) => Promise<void>, maxPayload: number) => Promise<{ hash: string; label: string }[]>;
  /** each shard's accepted result as it arrives (throwing fails the run) */
  accept?: (r: ResultMessage) => void;
  /** fail when no new shard result arrives for this long (seconds, default 120) */
  stallS?: number;
  onProgress?: (done: number, total: number) => void;
}

/** shards in flight before waiting for the broker's acks (bounded memory on both sides) */
const PUBLISH_WINDOW = 8;
/** a stored-message ack may take long on a loaded broker writing to disk */
const JS_TIMEOUT_MS = 30_000;

/**
 * Ranges of `size` accounts over [0, length), in order, each halved until its encoding fits 90 %
 * of the broker's max payload; `use` gets each range and its encoding.
 */
export async function fittingRanges<T extends { bytes: Uint8Array }>(length: number, size: number, maxPayload: number, encode: (from: number, to: number) => T, use: (from: number, to: number, x: T) => Promise<void>): Promise<void> {
  const ranges: [number, number][] = [];
  for (let first = 0; first < length; first += size) ranges.push([first, Math.min(length, first + size)]);
  while (ranges.length) {
    const [from, to] = ranges.shift()!;
    const x = encode(from, to);
    if (x.bytes.length > maxPayload * 0.9) {
      if (to - from === 1) throw clusterError(`account ${from} alone is ${x.bytes.length} bytes, more than the broker's max payload (${maxPayload}): raise max_payload in nats-server`);
      const mid = from + Math.floor((to - from) / 2);
      ranges.unshift([from, mid], [mid, to]);
      continue;
    }
    await use(from, to, x);
  }
}

export const newJobId = (): string => globalThis.crypto.randomUUID().replace(/-/g, '');

/** Runs a job on the cluster's workers: every shard's result in shard order, or an error. */
export async function runJob(job: string, o: JobOptions): Promise<{ got: ResultMessage[]; stats: DistributedStats }> {
  const nc = await connectBroker(o.url, 'optmargin-coordinator');
  const stats: DistributedStats = { job, shards: 0, workers: [], duplicates: 0, maxWorkBytes: 0, maxResultBytes: 0, workBytes: 0, resultBytes: 0, workerMs: 0, publishMs: 0, gatherMs: 0 };
  let jsm: JetStreamManager | null = null;
  let iter: ConsumerMessages | null = null;
  try {
    jsm = await ensureTopology(nc, o);
    const js = nc.jetstream({ timeout: JS_TIMEOUT_MS });
    const maxPayload = nc.info?.max_payload ?? 1 << 20;
    if (o.spec.length > maxPayload) throw clusterError(`the ${o.specWhat} (${o.spec.length} bytes) exceed the broker's max payload (${maxPayload}): raise max_payload in nats-server`);
    await js.publish(subjects.job(job), o.spec);
    // the results consumer exists before the first shard goes out
    const consumer = await js.consumers.get(STREAMS.results, { filterSubjects: subjects.results(job) });
    iter = await consumer.consume({ max_messages: 256 });
    const t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    const emit = async (shard: number, bytes: Uint8Array): Promise<void> => {
      stats.workBytes += bytes.length;
      stats.maxWorkBytes = Math.max(stats.maxWorkBytes, bytes.length);
      pending.push(js.publish(subjects.work(job, shard), bytes, { msgID: `${job}.work.${shard}` }));
      if (pending.length >= PUBLISH_WINDOW) await Promise.all(pending.splice(0));
    };
    const shards = await o.publish(emit, maxPayload);
    await Promise.all(pending);
    stats.shards = shards.length;
    stats.publishMs = performance.now() - t0;
    const got = await gather(nc, iter, shards, job, o, stats);
    stats.gatherMs = performance.now() - t0 - stats.publishMs;
    return { got, stats };
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
async function gather(nc: NatsConnection, iter: ConsumerMessages, shards: { hash: string; label: string }[], job: string, o: JobOptions, stats: DistributedStats): Promise<ResultMessage[]> {
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
      if (r.error) {
        // the input itself is wrong (every delivery fails alike): the same error as a local run
        if (isInputError(r.error.code)) throw new OptmarginError(r.error.code as ErrorCode, r.error.message);
        throw clusterError(`shard ${r.shard} (${shards[r.shard].label}) failed on ${r.worker}: ${r.error.code}: ${r.error.message}`);
      }
      if (got[r.shard]) {
        stats.duplicates++;
        continue;
      }
      o.accept?.(r);
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
