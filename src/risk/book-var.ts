/**
 * VaR / ES of every account of a book at once: one revaluation of the distinct instruments
 * (src/risk/revalue.ts), then per account the WASM tail kernel (assembly/tail.ts: aggregation in
 * cache-sized scenario blocks + selection of the m smallest), sharded by account ranges across a
 * piscina pool (the book engine's ChunkRunner). Each account's sums run in position order and its
 * selection in scenario order whatever the sharding, so results are bit-identical for any thread
 * count; figures come from the tails through the same convention code as one account
 * (measures.ts varFromTail / esFromTail).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { InstrumentTable } from '../margin/instrument-table.js';
import type { AccountInput } from '../margin/types.js';
import { WasmInstance, chooseVariant, compiledModule, findPackageRoot } from '../wasm/module.js';
import { TailKernel } from '../wasm/tails.js';
import { esFromTail, tailLength, varFromTail, type QuantileConvention } from './measures.js';
import { resolveHoldings } from './portfolio.js';

export interface RiskCsr {
  ids: string[];
  /** nAcc + 1 */
  accStart: Int32Array;
  instr: Int32Array;
  size: Float64Array;
  /** mark value of each account's holdings */
  value: Float64Array;
}

/** Resolves accounts into one CSR over the table (holdings in position order, as accountPnl sums them). */
export function riskCsr(table: InstrumentTable, accounts: AccountInput[]): RiskCsr {
  const accStart = new Int32Array(accounts.length + 1);
  const instr: number[] = [];
  const size: number[] = [];
  const value = new Float64Array(accounts.length);
  accounts.forEach((a, k) => {
    const h = resolveHoldings(table, a);
    for (const l of h.lines) {
      for (let j = 0; j < l.instr.length; j++) {
        instr.push(l.instr[j]);
        size.push(l.size[j]);
      }
    }
    accStart[k + 1] = instr.length;
    value[k] = h.value;
  });
  return { ids: accounts.map((a) => a.id), accStart, instr: shared(Int32Array, instr), size: shared(Float64Array, size), value };
}

function shared<T extends Int32Array | Float64Array>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, xs: ArrayLike<number>): T {
  const a = new C(new SharedArrayBuffer(Math.max(1, xs.length) * C.BYTES_PER_ELEMENT));
  (a as Float64Array).set(xs as ArrayLike<number>);
  return a;
}

export interface TailTask {
  kind: 'var-tails';
  chunk: number;
  attempt?: number;
  from: number;
  to: number;
  accStart: Int32Array;
  instr: Int32Array;
  size: Float64Array;
  values: Float64Array;
  valuesKey: string;
  nScen: number;
  m: number;
  outVal: Float64Array;
  outIdx: Int32Array;
}

/** Runs one chunk (accounts [from, to)) on a kernel; shared by the worker and the in-process path. */
export function runTailTask(k: TailKernel, t: TailTask): number {
  k.setValues(t.values, t.valuesKey);
  const n = t.to - t.from;
  k.tails(
    { accStart: t.accStart.subarray(t.from, t.to + 1), instr: t.instr, size: t.size },
    t.nScen,
    t.m,
    t.outVal.subarray(t.from * t.m, t.to * t.m),
    t.outIdx.subarray(t.from * t.m, t.to * t.m),
  );
  return n;
}

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(findPackageRoot(), 'dist', 'src', 'risk', 'var-worker.js') : join(dirname(here), 'var-worker.js');
  if (!existsSync(file)) throw new OptmarginError(ErrorCodes.WORKER_FAILED, `the VaR worker ${file} is missing: run \`npm run build:ts\` first`);
  return file;
}

export interface BookTails {
  m: number;
  /** nAcc × m ascending P&L entries and their scenario indices */
  val: Float64Array;
  idx: Int32Array;
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

/** VaR and ES of every account from its tail (the one-account convention code). */
export function figuresFromTails(t: BookTails, nAcc: number, nScen: number, alpha: number, conv: QuantileConvention): { var: Float64Array; es: Float64Array } {
  const v = new Float64Array(nAcc);
  const es = new Float64Array(nAcc);
  for (let a = 0; a < nAcc; a++) {
    const tail = t.val.subarray(a * t.m, (a + 1) * t.m);
    v[a] = varFromTail(tail, nScen, alpha, conv);
    es[a] = esFromTail(tail, nScen, alpha);
  }
  return { var: v, es };
}

export { tailLength };
