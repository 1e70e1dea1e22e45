/**
 * `optmargin worker --nats URL`: pulls shards from the work queue one at a time, margins each
 * with the book runner (runner/book: the same code as a local run, on a local pool of --threads),
 * publishes the shard's results (Nats-Msg-Id = job.shard.hash: the broker drops a republished
 * copy) and only then acknowledges the shard. A worker that dies before the ack loses nothing:
 * the broker redelivers the shard after the consumer's ack wait.
 *
 * Test hook OPTMARGIN_CLUSTER_FAULT (off unless set):
 *   delay=<ms>   wait before computing each shard (a slow worker; lets a test SIGKILL it mid-shard)
 *   duplicate    publish every result twice, the second copy without a message id (a duplicate
 *                the broker cannot drop: the coordinator must)
 */
import type { JsMsg, NatsConnection } from 'nats';
import { ErrorCodes, OptmarginError, isInputError } from '../errors.js';
import { resolveMarket } from '../market/index.js';
import { loadModel } from '../measures/models.js';
import { BookEngine } from '../runner/book/runner.js';
import { clusterError, connectBroker, DEFAULT_MAX_DELIVER, ensureTopology, type BrokerOptions } from './broker.js';
import { checkJob, checkWork, pack, PROTOCOL_VERSION, record, shardAccounts, shardHash, STREAMS, subjects, WORKERS_CONSUMER, type JobSpec, type ResultMessage, type WorkMessage } from './protocol.js';
import { checkVarWork, decodeVarJob, type VarWorkMessage } from './var-protocol.js';
import { VarJob } from './var-shard.js';

export interface ClusterWorkerOptions extends BrokerOptions {
  url: string;
  threads: number;
  /** a line per event (stderr) */
  log?: (line: string) => void;
  /** a line per shard */
  verbose?: boolean;
}

/** A job's state on this worker: a book run's engine, or a VaR run's table and revaluation. */
type LoadedJob = { kind: 'book'; spec: JobSpec; engine: BookEngine } | { kind: 'var'; job: VarJob };

const closeJob = (j: LoadedJob): Promise<void> => (j.kind === 'book' ? j.engine.close() : j.job.close());

function decodeAnyWork(bytes: Uint8Array): WorkMessage | VarWorkMessage {
  const r = record(bytes, 'work message');
  return r.kind === 'var' ? checkVarWork(r) : checkWork(r);
}

const RESULT_ACK_MS = 5000;

/** Jobs whose engine is kept between shards (older ones are closed). */
const KEPT_JOBS = 2;

function faultOf(spec: string | undefined): { delayMs: number; duplicate: boolean } {
  const f = { delayMs: 0, duplicate: false };
  for (const part of (spec ?? '').split(',')) {
    const [k, v] = part.split('=');
    if (k === 'delay') f.delayMs = Number(v) || 0;
    if (k === 'duplicate') f.duplicate = true;
  }
  return f;
}

/** A shard whose job is gone from the broker. */
class OrphanShard extends Error {}

export class ClusterWorker {
  readonly name = `worker-${globalThis.crypto.randomUUID().slice(0, 8)}`;
  private stopped = false;
  private readonly jobs = new Map<string, LoadedJob>();
  private readonly fault = faultOf(process.env.OPTMARGIN_CLUSTER_FAULT);
  shardsDone = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: ClusterWorkerOptions,
  ) {}

  static async start(opts: ClusterWorkerOptions): Promise<ClusterWorker> {
    const nc = await connectBroker(opts.url, 'optmargin-worker');
    await ensureTopology(nc, opts);
    return new ClusterWorker(nc, opts);
  }

  private log(line: string): void {
    this.opts.log?.(`${this.name}: ${line}`);
  }

  /** Pulls and computes shards until stop() or the connection is lost for good (then throws CLUSTER_FAILED). */
  async run(): Promise<void> {
    let consumer = await this.nc.jetstream().consumers.get(STREAMS.work, WORKERS_CONSUMER);
    this.log(`joined ${this.opts.url} (threads ${this.opts.threads})`);
    while (!this.stopped) {
      if (this.nc.isClosed()) throw clusterError(`lost the NATS broker at ${this.opts.url}`);
      let m: JsMsg | null;
      try {
        // a pull whose request died with a broker restart never answers: a watchdog renews it
        const pull = consumer.next({ expires: 2000 });
        const r = await Promise.race([pull, new Promise<'stuck'>((res) => setTimeout(() => res('stuck'), 5000).unref())]);
        if (r === 'stuck') {
          void pull.then((late) => late?.nak()).catch((e: Error) => this.log(`late pull: ${e.message}`));
          consumer = await this.nc.jetstream().consumers.get(STREAMS.work, WORKERS_CONSUMER);
          continue;
        }
        m = r;
      } catch (e) {
        if (this.stopped || this.nc.isClosed()) break;
        this.log(`waiting for the broker (${(e as Error).message})`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (m) await this.handle(m);
    }
    if (!this.stopped && this.nc.isClosed()) throw clusterError(`lost the NATS broker at ${this.opts.url}`);
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const j of this.jobs.values()) await closeJob(j);
    this.jobs.clear();
    if (!this.nc.isClosed()) await this.nc.drain().catch((e: Error) => this.log(`drain: ${e.message}`));
  }

  /** One delivery: compute, publish, ack; a failure is retried by redelivery, the last one reported to the coordinator. */
  private async handle(m: JsMsg): Promise<void> {
    let w: WorkMessage | VarWorkMessage;
    try {
      w = decodeAnyWork(m.data);
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      this.log(`dropped an unreadable shard message (${e.message})`);
      m.term();
      return;
    }
    if (this.opts.verbose) this.log(`shard ${w.job}.${w.shard} received (delivery ${m.info.redeliveryCount})`);
    if (this.fault.delayMs > 0) await new Promise((r) => setTimeout(r, this.fault.delayMs));
    let reply: ResultMessage;
    try {
      reply = await this.compute(w);
    } catch (e) {
      if (e instanceof OrphanShard) {
        // its coordinator has finished or given up (the job's spec is purged): nobody waits for it
        this.log(`shard ${w.job}.${w.shard} dropped: ${e.message}`);
        m.term();
        return;
      }
      const last = m.info.redeliveryCount >= (this.opts.maxDeliver ?? DEFAULT_MAX_DELIVER) || (e instanceof OptmarginError && isInputError(e.code));
      const code = e instanceof OptmarginError ? e.code : ErrorCodes.INTERNAL;
      this.log(`shard ${w.job}.${w.shard} failed (${code}: ${(e as Error).message})${last ? '; reported to the coordinator' : '; will be redelivered'}`);
      if (!last) {
        m.nak(1000);
        return;
      }
      reply = { v: PROTOCOL_VERSION, job: w.job, shard: w.shard, hash: w.hash, worker: this.name, positions: 0, ms: 0, error: { code, message: (e as Error).message } };
    }
    // a result the broker does not confirm within RESULT_ACK_MS is given up (the shard is redelivered
    // after the ack wait): a broker restarted meanwhile never confirms it, and the worker moves on
    const js = this.nc.jetstream({ timeout: RESULT_ACK_MS });
    let bytes = pack(reply);
    const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
    if (bytes.length > maxPayload) {
      // deterministic: every delivery would produce the same result, so it is reported at once
      const message = `the result of shard ${w.shard} is ${bytes.length} bytes, more than the broker's max payload (${maxPayload}): use a smaller --shard-accounts`;
      this.log(message);
      bytes = pack({ v: PROTOCOL_VERSION, job: w.job, shard: w.shard, hash: w.hash, worker: this.name, positions: 0, ms: 0, error: { code: ErrorCodes.INVALID_OPTION, message } });
    }
    try {
      await js.publish(subjects.result(w.job, w.shard), bytes, { msgID: `${w.job}.${w.shard}.${w.hash}` });
      if (this.fault.duplicate) await js.publish(subjects.result(w.job, w.shard), bytes);
      await m.ackAck();
    } catch (e) {
      // the broker went away between compute and ack: the shard stays unacknowledged and is
      // redelivered after the ack wait; a result that did get stored is dropped as a duplicate
      this.log(`shard ${w.job}.${w.shard}: result not confirmed by the broker (${(e as Error).message}); it will be redelivered`);
      return;
    }
    this.shardsDone++;
    if (this.opts.verbose) this.log(`shard ${w.job}.${w.shard} done (${reply.ms.toFixed(1)} ms, ${bytes.length} bytes of results)`);
  }

  private async compute(w: WorkMessage | VarWorkMessage): Promise<ResultMessage> {
    const job = await this.job(w.job);
    if (job.kind === 'var' || 'kind' in w) {
      if (job.kind !== 'var' || !('kind' in w)) throw clusterError(`shard ${w.shard} of job ${w.job}: a ${'kind' in w ? 'VaR' : 'book'} shard for a ${job.kind} job`);
      return job.job.compute(w, this.name);
    }
    const { spec, engine } = job;
    if (shardHash(spec.marketHash, spec.modelHash, w.first, w.accounts) !== w.hash) {
      throw clusterError(`shard ${w.shard} of job ${w.job}: its accounts do not match its hash (corrupted in transit?)`);
    }
    const t0 = performance.now();
    const accounts = shardAccounts(w);
    const load = engine.load(accounts, undefined, w.first);
    await engine.recompute();
    const results = engine.results();
    if (results.length !== accounts.length) throw new OptmarginError(ErrorCodes.INTERNAL, `shard ${w.shard}: ${accounts.length} accounts in, ${results.length} results out`);
    return { v: PROTOCOL_VERSION, job: w.job, shard: w.shard, hash: w.hash, worker: this.name, positions: load.positions, ms: performance.now() - t0, results };
  }

  /** The job's spec (from the jobs stream) and its book runner, made once per job. */
  private async job(id: string): Promise<LoadedJob> {
    const hit = this.jobs.get(id);
    if (hit) return hit;
    const jsm = await this.nc.jetstreamManager();
    let data: Uint8Array;
    try {
      data = (await jsm.streams.getMessage(STREAMS.jobs, { last_by_subj: subjects.job(id) })).data;
    } catch (e) {
      throw new OrphanShard(`job ${id} has no spec on the broker (${(e as Error).message})`);
    }
    const r = record(data, 'job message');
    const loaded: LoadedJob = r.kind === 'var' ? { kind: 'var', job: VarJob.create(decodeVarJob(r), this.opts.threads) } : await this.bookJob(id, checkJob(r));
    this.jobs.set(id, loaded);
    while (this.jobs.size > KEPT_JOBS) {
      const [oldest, j] = this.jobs.entries().next().value as [string, LoadedJob];
      this.jobs.delete(oldest);
      await closeJob(j);
    }
    return loaded;
  }

  private async bookJob(id: string, spec: JobSpec): Promise<LoadedJob> {
    const model = loadModel(spec.model);
    const market = resolveMarket(spec.market as Parameters<typeof resolveMarket>[0]);
    const engine = BookEngine.create({ market, model, threads: this.opts.threads });
    const h = engine.header();
    if (h.marketHash !== spec.marketHash || model.hash !== spec.modelHash) {
      await engine.close();
      throw clusterError(`job ${id}: the market or model this worker rebuilt hashes differently from the coordinator's (${h.marketHash}/${model.hash} vs ${spec.marketHash}/${spec.modelHash}): mixed optmargin versions?`);
    }
    return { kind: 'book', spec, engine };
  }
}
