/**
 * Equity of the book's accounts: per sub-account its collateral lines (after haircut) then its
 * original positions' values, summed in the account runner's order (instruments/valuation.ts:
 * positionValue, collateralValue — the one home of that arithmetic). Every array lives in a
 * SharedArrayBuffer, so the same function runs on the main thread (a load, a trade) and in the
 * pool's chunks (a tick: tasks.ts), with the same doubles whoever runs it.
 */
import { collateralValue, positionValue } from '../../instruments/valuation.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';

/** What an account's equity reads (instruments, sub-accounts, positions, collateral lines, currencies), all shared. */
export interface EquityArrays {
  /** per instrument: kind, inverse flag, underlying slot, contract size, forward (USD), unit value (USD per unit) */
  kind: Uint8Array;
  inverse: Uint8Array;
  slot: Int32Array;
  cs: Float64Array;
  forward: Float64Array;
  unitValue: Float64Array;
  /** index price per underlying slot, USD */
  slotSpot: Float64Array;
  /** per sub-account: its original positions [subPosFrom, subPosTo) and collateral lines [subColFrom, subColTo) */
  subPosFrom: Int32Array;
  subPosTo: Int32Array;
  subColFrom: Int32Array;
  subColTo: Int32Array;
  /** per original position: instrument, size, entry price (NaN = entered at mark), value (USD) at the last computation */
  opInstr: Int32Array;
  opSize: Float64Array;
  opEntry: Float64Array;
  opValue: Float64Array;
  /** per collateral line: currency index, amount */
  colCur: Int32Array;
  colAmount: Float64Array;
  /** per currency: haircut, coin instrument (−1 = USD-pegged) */
  curHaircut: Float64Array;
  curCoin: Int32Array;
  /** per account: account-level collateral lines of an isolated account [accColFrom, accColTo) */
  accColFrom: Int32Array;
  accColTo: Int32Array;
}

/** USD value of collateral line c after haircut. */
export function lineValue(e: EquityArrays, c: number): number {
  const cur = e.colCur[c];
  const coin = e.curCoin[cur];
  return collateralValue(e.colAmount[c], coin < 0 ? 1 : e.slotSpot[e.slot[coin]], e.curHaircut[cur]);
}

/**
 * Equity of sub-account j into red.subEquity; returns its collateral value. Positions' values are
 * recomputed when on `slot` (−1: all), the others read from opValue — the same doubles, summed
 * in the same order.
 */
function subEquity(e: EquityArrays, red: ReduceArrays, j: number, slot: number): number {
  let cv = 0;
  for (let c = e.subColFrom[j]; c < e.subColTo[j]; c++) cv += lineValue(e, c);
  let eq = cv;
  const { opInstr, opSize, opEntry, opValue, kind, inverse, cs, forward, unitValue, slotSpot } = e;
  const instrSlot = e.slot;
  for (let p = e.subPosFrom[j], end = e.subPosTo[j]; p < end; p++) {
    const i = opInstr[p];
    const s = instrSlot[i];
    if (slot < 0 || s === slot) {
      const F = forward[i];
      const entry = opEntry[p];
      opValue[p] = positionValue(kind[i], inverse[i], cs[i], F, slotSpot[s], unitValue[i], opSize[p], entry === entry ? entry : F);
    }
    eq += opValue[p];
  }
  red.subEquity[j] = eq;
  return cv;
}

/**
 * Equities of account k's sub-accounts and its collateral value (red.accCv). `slot` ≥ 0: only that
 * underlying moved since the last call for this account (a tick), so only its positions are
 * revalued; −1 (a load or a trade): every position. Accounts not on the vectorized path are skipped.
 */
export function accountEquity(e: EquityArrays, red: ReduceArrays, k: number, slot = -1): void {
  const kind = red.accKind[k];
  if (kind === AccKind.None) return;
  if (kind === AccKind.Pooled) {
    red.accCv[k] = subEquity(e, red, red.accSubFrom[k], slot);
    return;
  }
  let cv = 0;
  for (let c = e.accColFrom[k]; c < e.accColTo[k]; c++) cv += lineValue(e, c);
  red.accCv[k] = cv;
  for (let j = red.accSubFrom[k]; j < red.accSubTo[k]; j++) subEquity(e, red, j, slot);
}
