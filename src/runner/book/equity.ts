/**
 * Equity of the book's accounts: per sub-account its collateral lines (after haircut) then its
 * original positions' values, summed in the account runner's order (instruments/valuation.ts:
 * futuresValue, markValue, collateralValue — the one home of that arithmetic, which
 * positionValue composes the same way). Every array lives in a
 * SharedArrayBuffer, so the same function runs on the main thread (a load, a trade) and in the
 * pool's chunks (a tick: tasks.ts), with the same doubles whoever runs it.
 */
import { collateralValue, futuresValue, markValue } from '../../instruments/valuation.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';

/** What an account's equity reads (instruments, sub-accounts, positions, collateral lines, currencies), all shared. */
export interface EquityArrays {
  /** per instrument: kind, inverse flag, underlying slot, contract size, forward (USD), unit value (USD per unit) */
  kind: Uint8Array;
  /** per instrument: 1 when valued from its entry price (valuedFromEntry of its kind), else 0 */
  fromEntry: Uint8Array;
  inverse: Uint8Array;
  slot: Int32Array;
  cs: Float64Array;
  forward: Float64Array;
  unitValue: Float64Array;
  /** index price per underlying slot, USD */
  slotSpot: Float64Array;
  /** per sub-account: its original positions [subPosFrom, subPosTo), collateral lines [subColFrom, subColTo), first entry price in opEntry */
  subPosFrom: Int32Array;
  subPosTo: Int32Array;
  subColFrom: Int32Array;
  subColTo: Int32Array;
  subEntryFrom: Int32Array;
  /** per original position: instrument (~instrument when it has an entry price), size; the entry prices of those that have one, in order */
  opInstr: Int32Array;
  opSize: Float64Array;
  opEntry: Float64Array;
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
 * Equity of sub-account j into red.subEquity; returns its collateral value. Every position is
 * valued from the current instrument arrays (those of an underlying no tick moved give the same
 * doubles as before), futures from their entry price or at mark, the others at mark.
 */
function subEquity(e: EquityArrays, red: ReduceArrays, j: number): number {
  let cv = 0;
  for (let c = e.subColFrom[j]; c < e.subColTo[j]; c++) cv += lineValue(e, c);
  let eq = cv;
  const { opInstr, opSize, opEntry, fromEntry, inverse, cs, forward, unitValue, slotSpot } = e;
  const instrSlot = e.slot;
  let q = e.subEntryFrom[j];
  for (let p = e.subPosFrom[j], end = e.subPosTo[j]; p < end; p++) {
    const x = opInstr[p];
    if (x >= 0 && fromEntry[x] === 0) {
      eq += markValue(opSize[p], unitValue[x]); // most positions (options) take this one test
      continue;
    }
    const i = x < 0 ? ~x : x;
    if (x < 0) {
      // entry given: used by futures and perpetuals (the others are valued at mark all the same)
      const entry = opEntry[q++];
      eq += fromEntry[i] ? futuresValue(inverse[i], cs[i], forward[i], slotSpot[instrSlot[i]], unitValue[i], opSize[p], entry) : markValue(opSize[p], unitValue[i]);
    } else {
      const F = forward[i];
      eq += futuresValue(inverse[i], cs[i], F, slotSpot[instrSlot[i]], unitValue[i], opSize[p], F);
    }
  }
  red.subEquity[j] = eq;
  return cv;
}

/**
 * Equities of account k's sub-accounts and its collateral value (red.accCv), from the current
 * instrument arrays. Accounts not on the vectorized path are skipped.
 */
export function accountEquity(e: EquityArrays, red: ReduceArrays, k: number): void {
  const kind = red.accKind[k];
  if (kind === AccKind.None) return;
  if (kind === AccKind.Pooled) {
    red.accCv[k] = subEquity(e, red, red.accSubFrom[k]);
    return;
  }
  let cv = 0;
  for (let c = e.accColFrom[k]; c < e.accColTo[k]; c++) cv += lineValue(e, c);
  red.accCv[k] = cv;
  for (let j = red.accSubFrom[k]; j < red.accSubTo[k]; j++) subEquity(e, red, j);
}
