/**
 * Where tasks (kernel.ts) run: in-process on the main thread (threads = 1) or on a piscina pool of N worker
 * threads, each with its own WASM instance built from one shared compiled module. A chunk that
 * fails (the worker throws or dies) is retried on another worker; if it fails again, its rows
 * are reported failed and the engine gives their accounts OPTMARGIN_WORKER_FAILED results —
 * no account is ever dropped.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { Aggregator } from '../wasm/aggregate.js';
import { WasmInstance, chooseVariant, compiledModule, findPackageRoot, type WasmVariant } from '../wasm/module.js';
import { runTask, type BookTask } from './kernel.js';

/**
 * The worker entry (a JS file): dist/src/engine/worker.js next to this module when running from
 * the build; from the TypeScript sources (tests), the built copy under the package root.
 */
export function defaultWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(findPackageRoot(), 'dist', 'src', 'engine', 'worker.js') : join(dirname(here), 'worker.js');
  if (!existsSync(file)) {
    throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the book worker ${file} is missing: run \`npm run build:ts\` first`);
  }
  return file;
}

export interface ChunkRunnerOptions {
  /** 1 = in-process on the calling thread; N > 1 = a pool of N worker threads. */
  threads: number;
  simd?: boolean;
  /** Worker entry override (a JS module whose default export runs a ChunkTask). */
  workerFile?: string;
  /** Tries per chunk before its rows are reported failed (default 2: one retry). */
  attempts?: number;
}

export interface ChunkOutcome {
  /** chunk numbers that failed every attempt, with the last error message */
  failed: { chunk: number; message: string }[];
  retried: number;
}

export class ChunkRunner {
  readonly threads: number;
  readonly variant: WasmVariant;
  private readonly attempts: number;
  private pool: Piscina | null = null;
  private local: Aggregator | null = null;

  constructor(opts: ChunkRunnerOptions) {
    const t = opts.threads;
    if (!Number.isInteger(t) || t < 1 || t > 256) {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `threads must be an integer from 1 to 256, got ${JSON.stringify(t)}`);
    }
    this.threads = t;
    this.attempts = opts.attempts ?? 2;
    this.variant = chooseVariant(opts.simd === undefined ? {} : { simd: opts.simd });
    if (t === 1) {
      this.local = new Aggregator(new WasmInstance({ simd: this.variant === 'simd' }));
    } else {
      const filename = opts.workerFile ?? defaultWorkerFile();
      if (!existsSync(filename)) throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the book worker ${filename} is missing`);
      this.pool = new Piscina({
        filename: pathToFileURL(filename).href,
        minThreads: t,
        maxThreads: t,
        idleTimeout: 60_000,
        // a batch's tasks are queued at the workers up front: a worker goes from one chunk to
        // the next without a round trip through the main thread (which may be in a GC pause)
        concurrentTasksPerWorker: 8,
        workerData: { module: compiledModule(this.variant), variant: this.variant },
      });
    }
  }

  /** The in-process aggregator (threads = 1), else null. */
  get localAggregator(): Aggregator | null {
    return this.local;
  }

  /** Runs every task (one batch); retries failures. */
  async run(tasks: BookTask[]): Promise<ChunkOutcome> {
    const failed: { chunk: number; message: string }[] = [];
    let retried = 0;
    if (this.local) {
      for (const t of tasks) {
        let last = '';
        let ok = false;
        for (let a = 0; a < this.attempts && !ok; a++) {
          if (a > 0) retried++;
          try {
            runTask(this.local, { ...t, attempt: a });
            ok = true;
          } catch (e) {
            last = (e as Error)?.message ?? String(e);
          }
        }
        if (!ok) failed.push({ chunk: t.chunk, message: last });
      }
      return { failed, retried };
    }
    const pool = this.pool!;
    await Promise.all(
      tasks.map(async (t) => {
        let last = '';
        for (let a = 0; a < this.attempts; a++) {
          if (a > 0) retried++;
          try {
            await pool.run({ ...t, attempt: a });
            return;
          } catch (e) {
            last = (e as Error)?.message ?? String(e);
          }
        }
        failed.push({ chunk: t.chunk, message: last });
      }),
    );
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
