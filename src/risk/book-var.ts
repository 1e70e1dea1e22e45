/**
 * VaR / ES of every account of a book at once: one revaluation of the distinct instruments
 * (src/risk/revalue.ts), then per account the WASM tail kernel (assembly/tail.ts: aggregation in
 * cache-sized scenario blocks + selection of the m smallest), sharded by account ranges across a
 * piscina pool (the book engine's ChunkRunner). Each account's sums run in position order and its
 * selection in scenario order whatever the sharding, so results are bit-identical for any thread
 * count; figures come from the tails through the same convention code as one account
 * (measures/quantiles.ts varFromTail / esFromTail).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { InstrumentTable } from '../instruments/table.js';
import type { AccountInput } from '../measures/types.js';
import type { TailKernel } from '../wasm/tails.js';
import { esFromTail, tailLength, varFromTail, type QuantileConvention } from '../measures/quantiles.js';
import { resolveHoldings } from '../scenarios/holdings.js';

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

export function shared<T extends Int32Array | Float64Array>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, xs: ArrayLike<number>): T {
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

export interface BookTails {
  m: number;
  /** nAcc × m ascending P&L entries and their scenario indices */
  val: Float64Array;
  idx: Int32Array;
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
