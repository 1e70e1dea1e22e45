/**
 * Reduction of the scenario-grid measure, from row IMs to account figures: per sub-account the
 * combination of its rows across underlyings and the minimum margin; per account its equity,
 * IM, MM, available funds and health. An isolated account is one sub-account per position,
 * each margined on its own collateral, summed. The one implementation: the account runner
 * reduces its one account through these arrays, the book's workers reduce account ranges.
 */
import { healthCode, isolatedHealthCode } from '../health.js';
import type { GridMeasureParams } from './params.js';

/** Account kinds of `ReduceArrays.accKind`. */
export const enum AccKind {
  /** not reduced here (the book's single path: a non-grid model or an account in error) */
  None = 0,
  /** portfolio or cross: one sub-account */
  Pooled = 1,
  /** isolated: one sub-account per position */
  Isolated = 2,
}

/** Inputs (row IMs, sub-account equities, structure) and outputs (account figures) of the reduction. */
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
  /** health code (measures/health.ts HEALTHS order) */
  accHealth: Uint8Array;
  accFailed: Uint8Array;
}

/** Sum of row IMs combined across underlyings (sum, or sum − credit × (sum − largest)), then the minimum margin. */
export function combineRows(p: GridMeasureParams, rowIm: Float64Array, rows: Int32Array, from: number, to: number): number {
  let sum = 0;
  let largest = 0;
  for (let q = from; q < to; q++) {
    const x = rowIm[rows[q]];
    sum += x;
    if (x > largest) largest = x;
  }
  const im = p.sum ? sum : sum - p.credit * (sum - largest);
  return Math.max(im, p.minimumMarginUsd);
}

function subIm(a: ReduceArrays, p: GridMeasureParams, j: number): number {
  return combineRows(p, a.rowIm, a.subRows, a.subRowStart[j], a.subRowStart[j + 1]);
}

function subFailed(a: ReduceArrays, j: number): boolean {
  for (let q = a.subRowStart[j]; q < a.subRowStart[j + 1]; q++) if (a.rowFailed[a.subRows[q]]) return true;
  return false;
}

/** Figures of account k (AccKind.Pooled or Isolated) from its sub-accounts' rows and equities. */
export function reduceAccount(a: ReduceArrays, p: GridMeasureParams, k: number): void {
  const kind = a.accKind[k];
  if (kind === AccKind.None) return;
  if (kind === AccKind.Pooled) reducePooled(a, p, k);
  else reduceIsolated(a, p, k);
}

function reducePooled(a: ReduceArrays, p: GridMeasureParams, k: number): void {
  const j = a.accSubFrom[k];
  const im = subIm(a, p, j);
  const mm = p.mmFraction * im;
  const equity = a.subEquity[j];
  a.accEquity[k] = equity;
  a.accIm[k] = im;
  a.accMm[k] = mm;
  a.accAvail[k] = equity - im;
  a.accHealth[k] = healthCode(equity, im, mm);
  a.accFailed[k] = subFailed(a, j) ? 1 : 0;
}

/** Sub-account j's own figures (an isolated position: the position on its own collateral): out[0] equity, out[1] IM, out[2] MM, USD. */
export function subFiguresInto(a: ReduceArrays, p: GridMeasureParams, j: number, out: Float64Array): void {
  const im = subIm(a, p, j);
  out[0] = a.subEquity[j];
  out[1] = im;
  out[2] = p.mmFraction * im;
}

const subFig = new Float64Array(3);

/** Each position margined on its own collateral; the account sums them (free funds: each position's surplus; health: isolatedHealthCode). */
function reduceIsolated(a: ReduceArrays, p: GridMeasureParams, k: number): void {
  const cv = a.accCv[k];
  let im = 0;
  let mm = 0;
  let equity = cv;
  let free = cv;
  let health = 0;
  let failed = false;
  for (let j = a.accSubFrom[k]; j < a.accSubTo[k]; j++) {
    subFiguresInto(a, p, j, subFig);
    const eq = subFig[0];
    const pim = subFig[1];
    const pmm = subFig[2];
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
  a.accHealth[k] = isolatedHealthCode(health, equity);
  a.accFailed[k] = failed ? 1 : 0;
}

/** Plain (not shared) reduce arrays for n accounts, nSubs sub-accounts and nRows rows (the account runner's scratch). */
export function plainReduceArrays(n: number, nSubs: number, nRows: number): ReduceArrays {
  return {
    accKind: new Uint8Array(n),
    accSubFrom: new Int32Array(n),
    accSubTo: new Int32Array(n),
    accCv: new Float64Array(n),
    subRowStart: new Int32Array(nSubs + 1),
    subRows: new Int32Array(nRows),
    subEquity: new Float64Array(nSubs),
    rowIm: new Float64Array(nRows),
    rowFailed: new Uint8Array(nRows),
    accEquity: new Float64Array(n),
    accIm: new Float64Array(n),
    accMm: new Float64Array(n),
    accAvail: new Float64Array(n),
    accHealth: new Uint8Array(n),
    accFailed: new Uint8Array(n),
  };
}
