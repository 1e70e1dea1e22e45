/**
 * The units of parallel work of the book engine. The same functions run in piscina workers
 * (worker.ts) and in-process (threads = 1), so results cannot depend on the thread count.
 *
 *   aggregate  a chunk of rows (a sub-account's holdings on one underlying) → each row's P&L
 *              vector over its underlying's scenarios (WASM, SIMD across scenarios) → its worst
 *              weighted loss and scenario → its IM (worst loss + add-ons, from the row's add-on
 *              bases computed at load).
 *   reduce     a range of accounts → per sub-account the combination of its rows across
 *              underlyings and the minimum margin; per account its equity, IM, MM, available
 *              funds and health (isolated accounts: the sum over their positions' sub-accounts).
 *
 * Every array of a task lives in a SharedArrayBuffer: posting a task shares memory, it copies
 * nothing. The book's CSR (row starts, instrument indices, sizes) is made resident in each
 * worker's WASM memory once per load (`BookCsr.key`), then only what changed is re-copied
 * (rows appended by trades, sizes of the inverse futures' coin legs moved by a tick). Each chunk
 * writes only its own rows / accounts of the outputs.
 *
 * The arithmetic below is the margin engine's (src/margin/engine.ts: reduceGrid and the isolated
 * branch of grid()), operation for operation, so the book gives the same doubles.
 */
import type { Aggregator, BookCsr } from '../../wasm/aggregate.js';

export type { BookCsr } from '../../wasm/aggregate.js';

/** Add-on parameters of a grid model (GridModel.addOns, as plain data). */
export interface AddOnParams {
  shortOption: number | null;
  futuresFraction: number | null;
  futuresGross: boolean;
  shortOptionMinimum: number | null;
}

export interface AggregateTask {
  kind: 'aggregate';
  /** chunk number within its batch and attempt number (0 = first try; retries count up) */
  chunk: number;
  attempt: number;
  nScen: number;
  csr: BookCsr;
  /** risk-array matrix nInstruments × nScen (USD per unit) and its version key */
  risk: Float64Array;
  riskKey: string;
  /** [from, to, slot] triples: row ranges of one underlying slot each */
  ranges: Int32Array;
  /** scenario weights, nSlots × nScen */
  weights: Float64Array;
  /** per row: [short options, long futures coin, short futures coin, short option contracts] */
  rowBase: Float64Array;
  /** index price per slot, USD */
  slotSpot: Float64Array;
  addOns: AddOnParams;
  /** outputs by global row index */
  outLoss: Float64Array;
  outIndex: Int32Array;
  outIm: Float64Array;
  /**
   * Fused round (a full recompute of a book without appended rows): the chunk's ranges hold
   * every row of accounts [from, to), which it then reduces — one pool round instead of an
   * aggregation round and a reduction round with a barrier between them.
   */
  reduce?: { from: number; to: number; arrays: ReduceArrays; combine: CombineParams };
}

/** Account kinds of `ReduceArrays.accKind`. */
export const enum AccKind {
  /** not on the vectorized path (single path: margin engine one account at a time) */
  None = 0,
  /** portfolio or cross: one sub-account */
  Pooled = 1,
  /** isolated: one sub-account per position */
  Isolated = 2,
}

export interface ReduceArrays {
  accKind: Uint8Array;
  accSubFrom: Int32Array;
  accSubTo: Int32Array;
  /** collateral value of the account (isolated: its account-level collateral), USD */
  accCv: Float64Array;
  /** rows of sub-account j: subRows[subRowStart[j] .. subRowStart[j+1]) */
  subRowStart: Int32Array;
  subRows: Int32Array;
  /** equity of each sub-account (its collateral + its positions' value), USD */
  subEquity: Float64Array;
  rowIm: Float64Array;
  rowFailed: Uint8Array;
  accEquity: Float64Array;
  accIm: Float64Array;
  accMm: Float64Array;
  accAvail: Float64Array;
  /** 0 healthy, 1 margin call, 2 liquidatable, 3 bankrupt (results.ts HEALTHS order) */
  accHealth: Uint8Array;
  accFailed: Uint8Array;
}

/** GridModel's combination across underlyings, minimum and MM fraction. */
export interface CombineParams {
  sum: boolean;
  credit: number;
  minimumMarginUsd: number;
  mmFraction: number;
}

export interface ReduceTask {
  kind: 'reduce';
  chunk: number;
  attempt: number;
  /** accounts [from, to) */
  from: number;
  to: number;
  arrays: ReduceArrays;
  combine: CombineParams;
}

export type BookTask = AggregateTask | ReduceTask;

/** Row IM = max(0, worst loss) + add-ons (reduceGrid's per-row arithmetic). */
export function rowImInto(add: AddOnParams, rowBase: Float64Array, loss: Float64Array, S: number, from: number, to: number, out: Float64Array): void {
  for (let r = from; r < to; r++) {
    const b = 4 * r;
    let rowIm = Math.max(0, loss[r]);
    if (add.shortOption !== null) rowIm += rowBase[b] * add.shortOption * S;
    if (add.futuresFraction !== null) {
      const base = add.futuresGross ? rowBase[b + 1] + rowBase[b + 2] : Math.min(rowBase[b + 1], rowBase[b + 2]);
      rowIm += base * add.futuresFraction * S;
    }
    if (add.shortOptionMinimum !== null) rowIm = Math.max(rowIm, rowBase[b + 3] * add.shortOptionMinimum * S);
    out[r] = rowIm;
  }
}

/** Runs one aggregation chunk; returns the number of rows computed. */
export function runAggregate(agg: Aggregator, t: AggregateTask): number {
  agg.syncBook(t.csr);
  agg.setRiskArrays(t.risk, t.riskKey);
  const ns = t.nScen;
  let rows = 0;
  for (let k = 0; k < t.ranges.length; k += 3) {
    const from = t.ranges[k];
    const to = t.ranges[k + 1];
    const slot = t.ranges[k + 2];
    agg.worstLossResident(from, to, ns, t.weights.subarray(slot * ns, slot * ns + ns), t.outLoss, t.outIndex);
    rowImInto(t.addOns, t.rowBase, t.outLoss, t.slotSpot[slot], from, to, t.outIm);
    rows += to - from;
  }
  if (t.reduce) for (let k = t.reduce.from; k < t.reduce.to; k++) reduceAccount(t.reduce.arrays, t.reduce.combine, k);
  return rows;
}

function healthCode(equity: number, im: number, mm: number): number {
  if (equity < 0) return 3;
  if (equity < mm) return 2;
  if (equity < im) return 1;
  return 0;
}

/** IM of a sub-account from its rows: combination across underlyings, then the minimum. */
function subIm(a: ReduceArrays, c: CombineParams, j: number): number {
  let sum = 0;
  let largest = 0;
  for (let q = a.subRowStart[j]; q < a.subRowStart[j + 1]; q++) {
    const x = a.rowIm[a.subRows[q]];
    sum += x;
    if (x > largest) largest = x;
  }
  const im = c.sum ? sum : sum - c.credit * (sum - largest);
  return Math.max(im, c.minimumMarginUsd);
}

function subFailed(a: ReduceArrays, j: number): boolean {
  for (let q = a.subRowStart[j]; q < a.subRowStart[j + 1]; q++) if (a.rowFailed[a.subRows[q]]) return true;
  return false;
}

/** Figures of account k (AccKind.Pooled or Isolated). */
export function reduceAccount(a: ReduceArrays, c: CombineParams, k: number): void {
  const kind = a.accKind[k];
  if (kind === AccKind.None) return;
  const s0 = a.accSubFrom[k];
  const s1 = a.accSubTo[k];
  let failed = false;
  if (kind === AccKind.Pooled) {
    const im = subIm(a, c, s0);
    const mm = c.mmFraction * im;
    const equity = a.subEquity[s0];
    a.accEquity[k] = equity;
    a.accIm[k] = im;
    a.accMm[k] = mm;
    a.accAvail[k] = equity - im;
    a.accHealth[k] = healthCode(equity, im, mm);
    failed = subFailed(a, s0);
  } else {
    // the margin engine's isolated branch: each position margined on its own collateral
    const cv = a.accCv[k];
    let im = 0;
    let mm = 0;
    let equity = cv;
    let free = cv;
    let health = 0;
    for (let j = s0; j < s1; j++) {
      const pim = subIm(a, c, j);
      const pmm = c.mmFraction * pim;
      const eq = a.subEquity[j];
      const h = healthCode(eq, pim, pmm);
      im += pim;
      mm += pmm;
      equity += eq;
      free += Math.max(0, eq - pim);
      if (h > health) health = h;
      if (subFailed(a, j)) failed = true;
    }
    a.accEquity[k] = equity;
    a.accIm[k] = im;
    a.accMm[k] = mm;
    a.accAvail[k] = free;
    a.accHealth[k] = health;
  }
  a.accFailed[k] = failed ? 1 : 0;
}

export function runReduce(t: ReduceTask): number {
  for (let k = t.from; k < t.to; k++) reduceAccount(t.arrays, t.combine, k);
  return t.to - t.from;
}

/** Runs any book task (the worker's entry and the in-process runner). */
export function runTask(agg: Aggregator, t: BookTask): number {
  return t.kind === 'reduce' ? runReduce(t) : runAggregate(agg, t);
}
