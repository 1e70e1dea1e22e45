/**
 * The book VaR runner's thread pool (a Node adapter: worker threads): in-process (threads = 1)
 * or piscina workers (dist/src/risk/var-worker.js) each with its own WASM instance; chunks of
 * accounts run src/risk/book-var.ts runTailTask. Results are bit-identical for any thread count.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { findPackageRoot } from '../platform/files.js';
import { WasmInstance, chooseVariant, compiledModule } from '../wasm/module.js';
import { TailKernel } from '../wasm/tails.js';
import { runTailTask, shared, type BookTails, type RiskCsr, type TailTask } from './book-var.js';
import { workerExecArgv } from '../platform/workers.js';

export type { BookTails };

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(findPackageRoot(), 'dist', 'src', 'risk', 'var-worker.js') : join(dirname(here), 'var-worker.js');
  if (!existsSync(file)) throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the VaR worker ${file} is missing: run \`npm run build:ts\` first`);
  return file;
}

let keySeq = 0;

const ATTEMPTS = 2;
const TASK_TIMEOUT_MS = 120_000;

/**
 * Tail runner: in-process (threads = 1) or a piscina pool of worker threads. A chunk's outputs
 * are poisoned with NaN before it runs and checked after (a worker that returns without its work
 * cannot pass); a failed or timed-out chunk is retried once, then the run fails WORKER_FAILED.
 */
export class TailRunner {
  readonly threads: number;
  private pool: Piscina | null;
  private readonly local: TailKernel | null;

  constructor(threads: number, simd?: boolean) {
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `threads must be an integer from 1 to 256, got ${JSON.stringify(threads)}`);
    }
    this.threads = threads;
    const variant = chooseVariant(simd === undefined ? {} : { simd });
    if (threads === 1) {
      this.pool = null;
      this.local = new TailKernel(new WasmInstance({ simd: variant === 'simd' }));
    } else {
      this.pool = new Piscina({
        filename: pathToFileURL(workerFile()).href,
        execArgv: workerExecArgv(),
        minThreads: threads,
        maxThreads: threads,
        concurrentTasksPerWorker: 4,
        workerData: { module: compiledModule(variant), variant },
      });
      this.local = null;
    }
  }

  private async runOnPool(t: TailTask): Promise<void> {
    let last = '';
    for (let a = 0; a < ATTEMPTS; a++) {
      t.outVal.fill(NaN, t.from * t.m, t.to * t.m);
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), TASK_TIMEOUT_MS);
      try {
        const n = await this.pool!.run({ ...t, attempt: a }, { signal: ctl.signal });
        const bad = t.outVal.subarray(t.from * t.m, t.to * t.m).some((x) => Number.isNaN(x));
        if (n === t.to - t.from && !bad) return;
        last = `chunk ${t.chunk} returned incomplete tails`;
      } catch (e) {
        last = (e as Error)?.name === 'AbortError' ? `chunk ${t.chunk} timed out after ${TASK_TIMEOUT_MS} ms` : String((e as Error)?.message ?? e);
      } finally {
        clearTimeout(timer);
      }
    }
    throw new OptmarginError(ErrorCodes.WORKER_FAILED, `VaR chunk ${t.chunk} (accounts ${t.from}–${t.to - 1}) failed ${ATTEMPTS} times: ${last}`);
  }

  async tails(csr: RiskCsr, values: Float64Array, nScen: number, m: number, chunks = this.threads * 8): Promise<BookTails> {
    const nAcc = csr.ids.length;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new OptmarginError(ErrorCodes.INTERNAL, `revaluation produced a non-finite P&L (instrument ${Math.floor(i / nScen)}, scenario ${i % nScen})`);
    }
    const sharedValues = this.pool ? shared(Float64Array, values) : values;
    const val = new Float64Array(new SharedArrayBuffer(Math.max(1, nAcc * m) * 8));
    const idx = new Int32Array(new SharedArrayBuffer(Math.max(1, nAcc * m) * 4));
    const per = Math.max(1, Math.ceil(nAcc / chunks));
    const tasks: TailTask[] = [];
    const valuesKey = `v${++keySeq}`;
    for (let c = 0, from = 0; from < nAcc; c++, from += per) {
      tasks.push({ kind: 'var-tails', chunk: c, from, to: Math.min(nAcc, from + per), accStart: csr.accStart, instr: csr.instr, size: csr.size, values: sharedValues, valuesKey, nScen, m, outVal: val, outIdx: idx });
    }
    if (this.local) for (const t of tasks) runTailTask(this.local, t);
    else await Promise.all(tasks.map((t) => this.runOnPool(t)));
    return { m, val, idx };
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.destroy();
  }
}

