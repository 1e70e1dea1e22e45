/**
 * VaR / ES of every account of a book at once: one revaluation of the distinct instruments
 * (src/risk/revalue.ts), then per account the WASM tail kernel (assembly/tail.ts: aggregation in
 * cache-sized scenario blocks + selection of the m smallest), sharded by account ranges across the
 * book engine's pool (runner/book/pool.ts ChunkRunner: the same workers, receipts, retries and
 * timeouts; the chunk is runner/book/tasks.ts runTails). Each account's sums run in position order and its
 * selection in scenario order whatever the sharding, so results are bit-identical for any thread
 * count; figures come from the tails through the same convention code as one account
 * (measures/quantiles.ts varFromTail / esFromTail).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { InstrumentTable } from '../instruments/table.js';
import type { AccountInput } from '../measures/types.js';
import { ChunkRunner } from '../runner/book/pool.js';
import type { TailTask } from '../runner/book/tasks.js';
import { esFromTail, tailLength, varFromTail, type QuantileConvention } from '../measures/quantiles.js';
import { balanceHoldingInto, holdingIndex, positionHoldingsInto, resolveHoldings, type HoldingSink } from '../scenarios/holdings.js';
import { InvalidEntry } from '../runner/book/types.js';
import type { ColumnParts } from '../instruments/column-parts.js';
import type { AccountError } from '../instruments/columns.js';
import type { MarginMarket } from '../market/margin-market.js';
import { ExactSum } from './exact-sum.js';
import { riskEntry } from './rolling.js';

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

/**
 * riskCsr of a risk book read into columns (io/ingest.ts with a StrikeSpec), without an account
 * object: each account's holdings in resolveHoldings' order — its positions, each isolated
 * position's own balances, its balances — by the same rule (positionHoldingsInto,
 * balanceHoldingInto). Every entry must be valid (firstRiskError).
 */
export function riskCsrOf(table: InstrumentTable, book: ColumnParts, first = 0): RiskCsr {
  const accStart = new Int32Array(book.n + 1);
  const instr: number[] = [];
  const size: number[] = [];
  const sink: HoldingSink = { add: (i, s) => void (instr.push(i), size.push(s)) };
  const value = new Float64Array(book.n);
  const ids = new Array<string>(book.n);
  const pv = new Float64Array(2);
  for (let c = 0; c < book.parts.length; c++) {
    const part = book.parts[c];
    // each of the part's instrument names resolved once, at its first holding (its error names that position)
    const at = new Int32Array(part.names.length).fill(-1);
    for (let j = 0, k = book.starts[c]; j < part.n; j++, k++) {
      const at0 = first + k; // the entry's index in the whole book (a shard's accounts start at `first`)
      const p0 = part.posStart[j];
      const p1 = part.posStart[j + 1];
      let v = 0;
      for (let p = p0; p < p1; p++) {
        const n = part.instr[p];
        if (at[n] < 0) at[n] = holdingIndex(table, part.names[n], `[${at0}].positions[${p - p0}].instrument`);
        const entry = part.entry[p];
        v += positionHoldingsInto(table, at[n], part.size[p], Number.isNaN(entry) ? undefined : entry, pv, sink);
      }
      for (let p = p0; p < p1; p++) {
        for (let q = part.pcolStart[p]; q < part.pcolStart[p + 1]; q++) v += balanceHoldingInto(table, `[${at0}].positions[${p - p0}].collateral`, part.currencies[part.pcur[q]], part.pamount[q], sink);
      }
      for (let q = part.colStart[j]; q < part.colStart[j + 1]; q++) v += balanceHoldingInto(table, `[${at0}].collateral`, part.currencies[part.cur[q]], part.amount[q], sink);
      ids[k] = part.ids[j];
      value[k] = v;
      accStart[k + 1] = instr.length;
    }
  }
  return { ids, accStart, instr: shared(Int32Array, instr), size: shared(Float64Array, size), value };
}

/** Each instrument held in the CSR, in order of its first holding, with the exact sum of its sizes. */
export function netSizes(csr: RiskCsr): { instr: number[]; sums: ExactSum[] } {
  const at = new Map<number, ExactSum>();
  const instr: number[] = [];
  const end = csr.accStart[csr.ids.length];
  for (let p = 0; p < end; p++) {
    let s = at.get(csr.instr[p]);
    if (!s) {
      s = new ExactSum();
      at.set(csr.instr[p], s);
      instr.push(csr.instr[p]);
    }
    s.add(csr.size[p]);
  }
  return { instr, sums: instr.map((i) => at.get(i)!) };
}

/**
 * The whole book as one holding list netted by instrument: size_i = the exact sum of the book's
 * holdings of instrument i rounded once (risk/exact-sum.ts: independent of how the book is split,
 * so a distributed run nets to the same doubles), listed in instrument order. Its P&L vector is
 * the book's, Σ_i size_i × values_i, at the cost of the distinct instruments rather than of every holding.
 */
export function nettedBook(csr: RiskCsr): RiskCsr {
  const net = netSizes(csr);
  const order = net.instr.map((i, k) => [i, k]).sort((a, b) => a[0] - b[0]);
  let value = 0;
  for (let a = 0; a < csr.ids.length; a++) value += csr.value[a];
  return nettedRow(order.map(([i]) => i), order.map(([, k]) => net.sums[k].value()), value);
}

/** One row holding `instr` × `size` (the netted book). */
export function nettedRow(instr: number[], size: number[], value: number): RiskCsr {
  return { ids: ['book'], accStart: shared(Int32Array, [0, instr.length]), instr: shared(Int32Array, instr), size: shared(Float64Array, size), value: Float64Array.of(value) };
}

/**
 * A book's entries as risk accounts: an entry the book file could not parse fails the run (it is
 * never a zero-risk account); `atm` positions re-struck on the market; paths `[index]` in book order.
 */
export function riskAccounts(entries: readonly unknown[], market: MarginMarket, first = 0): AccountInput[] {
  return entries.map((a, k) => {
    if (a instanceof InvalidEntry) throw riskInputError(first + k, a.id, { code: ErrorCodes.INVALID_FILE, message: a.message });
    return riskEntry(a, market, `[${first + k}]`);
  });
}

/**
 * The error that fails a VaR run on book entry k: an entry that did not parse (no field named) is
 * INVALID_FILE `[k] (id): …`; a field's error is named under `[k]`, as riskEntry names it given
 * that path.
 */
export function riskInputError(k: number, id: string, e: AccountError): OptmarginError {
  const at = `[${k}]`;
  if (e.path === undefined) return new OptmarginError(ErrorCodes.INVALID_FILE, `${at} (${id}): ${e.message}`, at);
  const message = e.message.startsWith(e.path) ? `${at}.${e.message}` : `${at}.${e.path}: ${e.message}`;
  return new OptmarginError(e.code, message, `${at}.${e.path}`);
}

/** Throws riskInputError of the first invalid entry of a risk book read into columns (io/ingest.ts with a StrikeSpec), if it has one; `first`: the book index of its first entry (a shard's). */
export function firstRiskError(book: ColumnParts, first = 0): void {
  for (let i = 0; i < book.parts.length; i++) {
    const errors = book.parts[i].errors;
    if (errors.size === 0) continue;
    let j = Infinity;
    for (const e of errors.keys()) j = Math.min(j, e);
    throw riskInputError(first + book.starts[i] + j, book.parts[i].ids[j], errors.get(j)!);
  }
}

/** Every account of a risk book read into columns (firstRiskError when one is invalid). */
export function riskAccountsOf(book: ColumnParts): AccountInput[] {
  firstRiskError(book);
  const out = new Array<AccountInput>(book.n);
  for (let k = 0; k < book.n; k++) out[k] = book.account(k)!;
  return out;
}

export function shared<T extends Int32Array | Float64Array>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, xs: ArrayLike<number>): T {
  const a = new C(new SharedArrayBuffer(Math.max(1, xs.length) * C.BYTES_PER_ELEMENT));
  (a as Float64Array).set(xs as ArrayLike<number>);
  return a;
}

export interface BookTails {
  m: number;
  /** nAcc × m ascending P&L entries and their scenario indices */
  val: Float64Array;
  idx: Int32Array;
}

/**
 * The tails of a scenario set split into blocks: each part holds, per account, the m smallest
 * P&L entries of one block (ascending); the m smallest of their union are the account's tail over
 * the whole set (the same values as one pass: every entry is the same sum whatever the block).
 */
export function mergeTails(parts: readonly Float64Array[], nAcc: number, m: number): Pick<BookTails, 'm' | 'val'> {
  const val = new Float64Array(nAcc * m);
  const all = new Float64Array(parts.length * m);
  for (let a = 0; a < nAcc; a++) {
    parts.forEach((p, k) => all.set(p.subarray(a * m, (a + 1) * m), k * m));
    all.sort();
    val.set(all.subarray(0, m), a * m);
  }
  return { m, val };
}

/** VaR and ES of every account from its tail (the one-account convention code). */
export function figuresFromTails(t: { m: number; val: Float64Array; idx?: Int32Array }, nAcc: number, nScen: number, alpha: number, conv: QuantileConvention): { var: Float64Array; es: Float64Array } {
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

let keySeq = 0;

/**
 * Book tails on the book engine's pool: in-process (threads = 1) or worker threads, each chunk
 * an account range; a chunk that fails every attempt fails the run (WORKER_FAILED).
 */
export class TailRunner {
  private readonly runner: ChunkRunner;

  constructor(threads: number, simd?: boolean) {
    this.runner = new ChunkRunner({ threads, ...(simd === undefined ? {} : { simd }) });
  }

  get threads(): number {
    return this.runner.threads;
  }

  async tails(csr: RiskCsr, values: Float64Array, nScen: number, m: number, chunks = this.threads * 8): Promise<BookTails> {
    const nAcc = csr.ids.length;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new OptmarginError(ErrorCodes.INTERNAL, `revaluation produced a non-finite P&L (instrument ${Math.floor(i / nScen)}, scenario ${i % nScen})`);
    }
    const sharedValues = this.threads > 1 ? shared(Float64Array, values) : values;
    const val = new Float64Array(new SharedArrayBuffer(Math.max(1, nAcc * m) * 8));
    const idx = new Int32Array(new SharedArrayBuffer(Math.max(1, nAcc * m) * 4));
    const per = Math.max(1, Math.ceil(nAcc / chunks));
    const valuesKey = `v${++keySeq}`;
    const tasks: TailTask[] = [];
    for (let c = 0, from = 0; from < nAcc; c++, from += per) {
      const to = Math.min(nAcc, from + per);
      tasks.push({ kind: 'tails', chunk: c, attempt: 0, from, to, accStart: csr.accStart, instr: csr.instr, size: csr.size, values: sharedValues, valuesKey, nScen, m, outVal: val, outIdx: idx });
    }
    const out = await this.runner.run(tasks);
    if (out.failed.length) {
      const f = out.failed[0];
      const t = tasks[f.chunk];
      throw new OptmarginError(ErrorCodes.WORKER_FAILED, `VaR chunk ${f.chunk} (accounts ${t.from}–${t.to - 1}) failed every attempt: ${f.message}`);
    }
    return { m, val, idx };
  }

  /** The runner's workers once started, for the ingestion of the book it runs (one set of workers per run); null in-process. */
  sharedPool(): ReturnType<ChunkRunner['sharedPool']> {
    return this.runner.sharedPool();
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
