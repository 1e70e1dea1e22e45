/**
 * Equity of the book's accounts: per sub-account its collateral lines (after haircut) then its
 * parts — per underlying, the sum of its positions' values (parts.ts) — in the equity's one order
 * (instruments/valuation.ts: sumParts; futuresValue, markValue, collateralValue are the one home
 * of the values, which positionValue composes the same way). A tick re-sums only the parts on its
 * moved underlyings (`moved`): the others hold the same doubles as before. Every array lives in a
 * SharedArrayBuffer, so the same function runs on the main thread (a load, a trade) and in the
 * pool's chunks (a tick: tasks.ts), with the same doubles whoever runs it.
 */
import { collateralValue, futuresValue, markValue, sumParts } from '../../instruments/valuation.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import type { CurrencyPrices, PartInstrumentArrays, ResidentAccounts, ResidentPositions } from '../../wasm/equity.js';

/** What an account's equity reads (instruments, sub-accounts, positions, parts, collateral lines, currencies), all shared. */
export interface EquityArrays extends PartInstrumentArrays {
  /** a tick: 1 per underlying slot it moved (only the parts on those are re-summed); null: every part */
  moved: Uint8Array | null;
  /** per instrument: kind (and, from PartInstrumentArrays, how it is valued, its slot, contract size, forward, unit value; each slot's index) */
  kind: Uint8Array;
  /** per sub-account: its parts [subPartStart[j], subPartStart[j+1]), its collateral lines [subColFrom, subColTo) */
  subPartStart: Int32Array;
  subColFrom: Int32Array;
  subColTo: Int32Array;
  /** per part: slot, value (written), original positions [partOpStart[q], partOpStart[q+1]), first entry price (in opEntry) */
  partSlot: Int32Array;
  partValue: Float64Array;
  partOpStart: Int32Array;
  partEntryStart: Int32Array;
  /** per original position (stored grouped by part): instrument (~instrument when it has an entry price), size; the entry prices of those that have one, in order */
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
  /** the positions, parts and accounts above with their counts, edits and identity, for copies resident in WASM (wasm/equity.ts: a tick's chunks compute the equities there) */
  positions: ResidentPositions;
  accounts: ResidentAccounts;
  /** instruments in the arrays above */
  nInstruments: number;
}

/** USD price of a unit of currency `cur` (its coin's index; 1 when USD-pegged). */
function currencyPrice(e: EquityArrays, cur: number): number {
  const coin = e.curCoin[cur];
  return coin < 0 ? 1 : e.slotSpot[e.slot[coin]];
}

/** Each currency's price and haircut (what the WASM kernel's collateral lines read). */
export function currencyPrices(e: EquityArrays): CurrencyPrices {
  return { price: Float64Array.from(e.curCoin, (_, cur) => currencyPrice(e, cur)), haircut: e.curHaircut };
}

/** USD value of collateral line c after haircut. */
export function lineValue(e: EquityArrays, c: number): number {
  const cur = e.colCur[c];
  return collateralValue(e.colAmount[c], currencyPrice(e, cur), e.curHaircut[cur]);
}

/**
 * The value of part q: its positions' values summed in its order from 0, from the current
 * instrument arrays — futures from their entry price or at mark, the others at mark. The
 * reference of the WASM kernel (assembly/equity.ts partSum) a tick's chunks run: same doubles.
 */
export function partSum(e: EquityArrays, q: number): number {
  const { opInstr, opSize, opEntry, fromEntry, inverse, cs, forward, unitValue, slotSpot } = e;
  const instrSlot = e.slot;
  let v = 0;
  let n = e.partEntryStart[q];
  for (let p = e.partOpStart[q], end = e.partOpStart[q + 1]; p < end; p++) {
    const x = opInstr[p];
    if (x >= 0 && fromEntry[x] === 0) {
      v += markValue(opSize[p], unitValue[x]); // most positions (options) take this one test
      continue;
    }
    const i = x < 0 ? ~x : x;
    if (x < 0) {
      // entry given: used by futures and perpetuals (the others are valued at mark all the same)
      const entry = opEntry[n++];
      v += fromEntry[i] ? futuresValue(inverse[i], cs[i], forward[i], slotSpot[instrSlot[i]], unitValue[i], opSize[p], entry) : markValue(opSize[p], unitValue[i]);
    } else {
      const F = forward[i];
      v += futuresValue(inverse[i], cs[i], F, slotSpot[instrSlot[i]], unitValue[i], opSize[p], F);
    }
  }
  return v;
}

/** Whether part q is re-summed (on a moved slot, or every part when `moved` is null). */
function resummed(e: EquityArrays, q: number): boolean {
  return e.moved === null || e.moved[e.partSlot[q]] === 1;
}

/** Equity of sub-account j into red.subEquity (its parts re-summed first: all, or those on moved slots); returns its collateral value. */
function subEquity(e: EquityArrays, red: ReduceArrays, j: number): number {
  let cv = 0;
  for (let c = e.subColFrom[j]; c < e.subColTo[j]; c++) cv += lineValue(e, c);
  const from = e.subPartStart[j];
  const to = e.subPartStart[j + 1];
  for (let q = from; q < to; q++) if (resummed(e, q)) e.partValue[q] = partSum(e, q);
  red.subEquity[j] = sumParts(cv, e.partValue, from, to);
  return cv;
}

/**
 * Equities of account k's sub-accounts and its collateral value (red.accCv), from the current
 * instrument arrays. Accounts not on the vectorized path are skipped. The reference of the WASM
 * kernel (assembly/equity.ts accountEquities) a tick's chunks run: same doubles.
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
