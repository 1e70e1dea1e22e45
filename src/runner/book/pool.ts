/**
 * Where tasks (kernel.ts) run: in-process on the main thread (threads = 1) or on a piscina pool of N worker
 * threads, each with its own WASM instance built from one shared compiled module. Faults are seen:
 *
 *   - a chunk that throws, whose worker dies, or that outlives the task timeout (its worker is
 *     terminated and replaced) is retried, up to `attempts` tries in all;
 *   - every chunk returns a receipt (count + checksum of its outputs, receipt.ts), verified here:
 *     a chunk that returns without doing its work is retried like a crashed one;
 *   - workers that fail to start: the pool runs on those that did start, or in-process when none
 *     did, with a warning;
 *   - a chunk that fails every attempt has its rows reported failed: the engine gives their
 *     accounts OPTMARGIN_WORKER_FAILED results (no account is ever dropped) and the CLI exits 3.
 *
 * Faults can be injected from outside for tests (faults.ts, OPTMARGIN_FAULT).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Aggregator } from '../../wasm/aggregate.js';
import { WasmInstance, chooseVariant, compiledModule, findPackageRoot, type WasmVariant } from '../../wasm/module.js';
import { runTask, type BookTask } from './tasks.js';
import { formatChunk, formatProblem, type FormatTask } from './format-task.js';
import { poisonOutputs, receiptOf, receiptProblem } from './receipt.js';
import { injectFault } from './faults.js';
import { workerExecArgv } from '../../platform/workers.js';

/**
 * The worker entry (a JS file): dist/src/runner/book/worker.js next to this module when running from
 * the build; from the TypeScript sources (tests), the built copy under the package root.
 */
export function defaultWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(findPackageRoot(), 'dist', 'src', 'runner', 'book', 'worker.js') : join(dirname(here), 'worker.js');
  if (!existsSync(file)) {
    throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the book worker ${file} is missing: run \`npm run build:ts\` first`);
  }
  return file;
}

/** A job module's URL as a worker imports it: its built copy (dist/…/.js) when `metaUrl` is a TypeScript source (tests). */
export function jobModuleUrl(metaUrl: string): string {
  const file = fileURLToPath(metaUrl);
  if (!file.endsWith('.ts')) return metaUrl;
  const root = findPackageRoot();
  const rel = file.slice(join(root, 'src').length + 1).replace(/\.ts$/, '.js');
  return pathToFileURL(join(root, 'dist', 'src', rel)).href;
}

export interface ChunkRunnerOptions {
  /** 1 = in-process on the calling thread; N > 1 = a pool of N worker threads. */
  threads: number;
  simd?: boolean;
  /** Worker entry override (a JS module whose default export runs a ChunkTask). */
  workerFile?: string;
  /** Tries per chunk before its rows are reported failed (default 3: two retries). */
  attempts?: number;
  /** A chunk still running after this long is aborted and its worker replaced (default 60 s, or OPTMARGIN_TASK_TIMEOUT_MS). */
  taskTimeoutMs?: number;
  /** Workers that do not answer within this long of the pool's start count as failed to start (default 30 s). */
  startTimeoutMs?: number;
  /** Where warnings go (workers that failed to start, fallback in-process); default: stderr. */
  onWarning?: (message: string) => void;
}

/**
 * A job of another layer run on the book's workers (the liquidation plans of a cascade round):
 * the worker imports `module` (a file URL, once) and returns its default export's answer to
 * `input`. The answer is the caller's to check (`check`: an error message, or null).
 */
export interface JobTask {
  kind: 'job';
  chunk: number;
  attempt?: number;
  module: string;
  input: unknown;
}

/** Any chunk the pool runs: the compute's (tasks.ts), the write stage's (format-task.ts), another layer's job. */
export type PoolTask = BookTask | FormatTask | JobTask;

const jobModules = new Map<string, Promise<{ default: (input: unknown) => unknown }>>();
/** Runs a job (worker or in-process): its module imported once per thread. */
export async function runJob(t: JobTask): Promise<unknown> {
  let m = jobModules.get(t.module);
  if (!m) jobModules.set(t.module, (m = import(t.module) as Promise<{ default: (input: unknown) => unknown }>));
  return (await m).default(t.input);
}

export interface ChunkOutcome {
  /** chunk numbers that failed every attempt, with the last error message */
  failed: { chunk: number; message: string }[];
  retried: number;
}

const errorText = (e: unknown): string => (e as Error)?.message ?? String(e);

export class ChunkRunner {
  /** threads asked for (the pool may run on fewer when some workers failed to start: `liveThreads`) */
  readonly threads: number;
  readonly variant: WasmVariant;
  private readonly attempts: number;
  private readonly taskTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly warn: (message: string) => void;
  private pool: Piscina | null = null;
  private local: Aggregator | null = null;
  private started: Promise<void> | null = null;
  private poolErrors: string[] = [];
  /** threads actually computing (after start-up) */
  liveThreads: number;

  constructor(opts: ChunkRunnerOptions) {
    const t = opts.threads;
    if (!Number.isInteger(t) || t < 1 || t > 256) {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `threads must be an integer from 1 to 256, got ${JSON.stringify(t)}`);
    }
    this.threads = t;
    this.liveThreads = t;
    this.attempts = opts.attempts ?? 3;
    const envTimeout = Number(process.env.OPTMARGIN_TASK_TIMEOUT_MS);
    this.taskTimeoutMs = opts.taskTimeoutMs ?? (envTimeout > 0 ? envTimeout : 60_000);
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.warn = opts.onWarning ?? ((m) => process.stderr.write(`optmargin: ${m}\n`));
    this.variant = chooseVariant(opts.simd === undefined ? {} : { simd: opts.simd });
    if (t === 1) {
      this.local = new Aggregator(new WasmInstance({ simd: this.variant === 'simd' }));
    } else {
      const filename = opts.workerFile ?? defaultWorkerFile();
      if (!existsSync(filename)) throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the book worker ${filename} is missing`);
      this.pool = new Piscina({
        filename: pathToFileURL(filename).href,
        execArgv: workerExecArgv(),
        minThreads: t,
        maxThreads: t,
        idleTimeout: 60_000,
        // a batch's tasks are queued at the workers up front: a worker goes from one chunk to
        // the next without a round trip through the main thread (which may be in a GC pause)
        concurrentTasksPerWorker: 8,
        workerData: { module: compiledModule(this.variant), variant: this.variant },
      });
      // a worker that fails while starting is reported here (piscina emits 'error'), never as an uncaught exception
      this.pool.on('error', (e: unknown) => this.poolErrors.push(errorText(e)));
    }
  }

  /**
   * Waits for the workers (once): each must answer a ping within startTimeoutMs. When none does,
   * the pool is dropped and work runs in-process; when some do, on those; a warning says which.
   */
  private start(): Promise<void> {
    return (this.started ??= (async () => {
      const pool = this.pool!;
      // a ref'd timer (AbortSignal.timeout is unref'd: with every worker dead, nothing else would keep the process alive)
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), this.startTimeoutMs);
      const bootError = new Promise<never>((_, reject) => pool.once('error', (e: unknown) => reject(e)));
      bootError.catch(() => undefined);
      const pings = await Promise.allSettled(Array.from({ length: this.threads }, () => Promise.race([pool.run({ kind: 'ping' }, { signal: ctl.signal }), bootError])));
      clearTimeout(timer);
      const ok = pings.filter((p) => p.status === 'fulfilled' && p.value === 'pong').length;
      if (ok === this.threads || this.pool !== pool) return; // all answered, or the runner was closed meanwhile (a load that failed early)
      const why = this.poolErrors[0] ?? pings.map((p) => (p.status === 'rejected' ? errorText(p.reason) : '')).find((m) => m) ?? 'no answer';
      if (ok === 0) {
        this.pool = null;
        await pool.destroy().catch((e: unknown) => this.poolErrors.push(errorText(e)));
        this.local = new Aggregator(new WasmInstance({ simd: this.variant === 'simd' }));
        this.liveThreads = 1;
        this.warn(`worker threads failed to start (${why}): running in-process on 1 thread`);
      } else {
        this.liveThreads = ok;
        this.warn(`${this.threads - ok} of ${this.threads} worker threads failed to start (${why}): running on ${ok}`);
      }
    })());
  }

  /**
   * The pool once its workers answered (start), for the other tasks of a run — the ingestion of
   * the book it loads (io/ingest.ts: one set of workers to start and warm per run, not two);
   * null when it runs in-process (threads = 1, or no worker started).
   */
  async sharedPool(): Promise<Piscina | null> {
    if (this.pool) await this.start();
    return this.pool;
  }

  /** The in-process aggregator (threads = 1), else null. */
  get localAggregator(): Aggregator | null {
    return this.local;
  }

  /** One attempt of a task in-process (the fault hook applies: throw, silent). */
  private runLocal(t: PoolTask): unknown {
    if (t.kind === 'format') return formatChunk(t, false);
    if (t.kind === 'job') return runJob(t);
    const fake = injectFault(t, false);
    if (fake) return fake;
    return receiptOf(t, runTask(this.local!, t));
  }

  /** One attempt on the pool, aborted (its worker terminated) after taskTimeoutMs; the timer is ref'd so a stuck pool cannot let the process exit. */
  private async runOnPool(pool: Piscina, task: PoolTask): Promise<unknown> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.taskTimeoutMs);
    try {
      return await pool.run(task, { signal: ctl.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs every task (one batch): each verified by its receipt, retried up to `attempts` tries.
   * `whilePending`: main-thread work done once every task is posted, while the pool computes
   * (in-process: before the tasks run) — a tick's revaluation, that its chunks wait for.
   * `onAccepted`: each chunk's answer once its receipt is verified (a format chunk's bytes).
   */
  async run(tasks: PoolTask[], whilePending?: () => void, onAccepted?: (t: PoolTask, answer: unknown) => void, check?: (t: JobTask, answer: unknown) => string | null): Promise<ChunkOutcome> {
    if (this.pool) await this.start();
    const failed: { chunk: number; message: string }[] = [];
    let retried = 0;
    const attempt = async (t: PoolTask): Promise<void> => {
      let last = '';
      for (let a = 0; a < this.attempts; a++) {
        if (a > 0) retried++;
        const task = { ...t, attempt: a };
        // a tick chunk's first attempt writes its outputs only after stage 2, which the tick's own work signals once it poisoned them (refreshSignalling)
        if (task.kind !== 'format' && task.kind !== 'job' && !(a === 0 && task.kind === 'aggregate' && task.revalued)) poisonOutputs(task);
        try {
          const receipt = this.pool ? await this.runOnPool(this.pool, task) : await this.runLocal(task);
          const problem = task.kind === 'format' ? formatProblem(task, receipt) : task.kind === 'job' ? (check?.(task, receipt) ?? null) : receiptProblem(task, receipt);
          if (problem === null) return void onAccepted?.(t, receipt);
          last = problem;
        } catch (e) {
          last = (e as Error)?.name === 'AbortError' ? `chunk ${t.chunk} timed out after ${this.taskTimeoutMs} ms (its worker was restarted)` : errorText(e);
        }
      }
      failed.push({ chunk: t.chunk, message: last });
    };
    if (this.pool) {
      const all = Promise.all(tasks.map(attempt));
      let thrown: { e: unknown } | null = null;
      try {
        whilePending?.();
      } catch (e) {
        thrown = { e };
      }
      await all; // the chunks settle (they fail fast when whilePending failed) before its error goes on
      if (thrown) throw thrown.e;
    } else {
      whilePending?.();
      for (const t of tasks) await attempt(t);
    }
    failed.sort((a, b) => a.chunk - b.chunk);
    return { failed, retried };
  }

  async close(): Promise<void> {
    if (this.pool) {
      const p = this.pool;
      this.pool = null;
      await p.destroy();
    }
  }
}
