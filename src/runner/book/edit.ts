/**
 * An account's positions reduced in place: how a liquidation (or an ADL, or a cash transfer)
 * reaches the book without appending rows. The account keeps its sub-account, its rows and its
 * holdings; only sizes change — a closed position keeps its holding at size 0, a collateral line
 * whose balance went to 0 keeps its line at 0 —, so nothing is left dead, nothing needs a
 * re-layout, and the underlyings the account depends on (the ticks' holders) do not change.
 * Zero terms add nothing to the sums the kernels make (P&L, add-on bases, equity), so the figures
 * are those of the reduced account laid out afresh (up to the order of a row's recorded net
 * futures when one instrument appears twice in it: docs/book.md).
 *
 * Applies only when `next` is `current` reduced: a pooled (portfolio or cross) account on the
 * vectorized path whose next positions are its positions in order (same instrument and entry),
 * some removed or resized, and whose next collateral balances are in currencies it already has a
 * line for. Anything else — a new position, a new currency, an isolated account — returns null,
 * and the book re-lays the account out as a trade does (rows appended).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import { collateralExposure, entryLegCoin } from '../../instruments/valuation.js';
import type { AccountInput } from '../../measures/types.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import type { BookAccounts } from './accounts.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';

/** The sizes an in-place edit writes: original positions, collateral lines, holdings (CSR), and the account's rows. */
export interface SizeEdit {
  ops: number[];
  opSizes: number[];
  lines: number[];
  amounts: number[];
  holdings: number[];
  sizes: number[];
  rows: number[];
}

/** The edit that turns account k (sub-account arrays of `acc`) into `next`, or null when `next` is not a reduction of it. */
export function sizeEdit(table: InstrumentTable, acc: BookAccounts, rows: BookRows, ins: BookInstruments, red: ReduceArrays, k: number, next: AccountInput): SizeEdit | null {
  if (red.accKind[k] !== AccKind.Pooled || next.mode === 'isolated') return null;
  const j = red.accSubFrom[k];
  const e: SizeEdit = { ops: [], opSizes: [], lines: [], amounts: [], holdings: [], sizes: [], rows: [] };
  if (!matchPositions(table, acc, j, next, e) || !matchCollateral(acc, j, next, e)) return null;
  placeHoldings(table, acc, rows, ins, red, j, e);
  return e;
}

/** Original positions of sub-account j against next's, in order: a matched one takes next's size, the others 0. */
function matchPositions(table: InstrumentTable, acc: BookAccounts, j: number, next: AccountInput, e: SizeEdit): boolean {
  const np = next.positions;
  let c = 0;
  let q = acc.subEntryFrom.a[j];
  for (let p = acc.subPosFrom.a[j]; p < acc.subPosTo.a[j]; p++) {
    const x = acc.opInstr.a[p];
    const entry = x < 0 ? acc.opEntry.a[q++] : undefined;
    const i = x < 0 ? ~x : x;
    let size = 0;
    if (c < np.length && np[c].entryPrice === entry && table.indexOf(np[c].instrument) === i) size = np[c++].size;
    e.ops.push(p);
    e.opSizes.push(size);
  }
  return c === np.length;
}

/** Collateral lines of sub-account j at next's balances; false when next has a non-zero balance without a line. */
function matchCollateral(acc: BookAccounts, j: number, next: AccountInput, e: SizeEdit): boolean {
  const from = acc.subColFrom.a[j];
  const to = acc.subColTo.a[j];
  let covered = 0;
  for (let c = from; c < to; c++) {
    const amount = next.collateral[acc.currencies[acc.colCur.a[c]]];
    if (amount !== undefined && amount !== 0) covered++;
    e.lines.push(c);
    e.amounts.push(amount ?? 0);
  }
  let wanted = 0;
  for (const cur of Object.keys(next.collateral)) if (next.collateral[cur] !== 0) wanted++;
  return covered === wanted;
}

/**
 * The holdings of sub-account j with their new sizes, found as the resolve laid them out (each
 * position, then an inverse future's coin leg, then the coin collateral lines; a row holds the
 * sub-account's holdings of its underlying in that order). A mismatch is an engine bug.
 */
function placeHoldings(table: InstrumentTable, acc: BookAccounts, rows: BookRows, ins: BookInstruments, red: ReduceArrays, j: number, e: SizeEdit): void {
  const { rowStart, posInstr } = rows.csr;
  const cursor = new Map<number, number>();
  for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
    const r = red.subRows[q];
    cursor.set(rows.rowSlot[r], rowStart[r]);
    e.rows.push(r);
  }
  const put = (i: number, size: number): void => {
    const s = ins.slot[i];
    const d = cursor.get(s);
    if (d === undefined || posInstr[d] !== i) throw new OptmarginError(ErrorCodes.INTERNAL, `in-place edit: holding of instrument ${i} not where the layout put it (sub-account ${j})`);
    cursor.set(s, d + 1);
    e.holdings.push(d);
    e.sizes.push(size);
  };
  let q = acc.subEntryFrom.a[j];
  for (let n = 0; n < e.ops.length; n++) {
    const x = acc.opInstr.a[e.ops[n]];
    const i = x < 0 ? ~x : x;
    const entry = x < 0 ? acc.opEntry.a[q++] : ins.forward[i];
    put(i, e.opSizes[n]);
    const kind = ins.kind[i];
    if ((kind === Kind.Future || kind === Kind.Perpetual) && ins.inverse[i]) {
      put(table.coinIndex(table.underlyings[ins.slot[i]]), entryLegCoin(kind, ins.inverse[i], ins.cs[i], e.opSizes[n], entry));
    }
  }
  for (let n = 0; n < e.lines.length; n++) {
    const cur = acc.colCur.a[e.lines[n]];
    const coin = acc.curCoin[cur];
    if (coin >= 0) put(coin, collateralExposure(e.amounts[n], acc.curHaircut[cur]));
  }
  for (const r of e.rows) {
    if (cursor.get(rows.rowSlot[r]) !== rowStart[r + 1]) throw new OptmarginError(ErrorCodes.INTERNAL, `in-place edit: row ${r} of sub-account ${j} has holdings the edit did not place`);
  }
}

/** Writes the edit's original sizes and balances (the holdings and rows: BookRows.applyEdit). */
export function applyAccountSizes(acc: BookAccounts, e: SizeEdit): void {
  for (let n = 0; n < e.ops.length; n++) acc.opSize.a[e.ops[n]] = e.opSizes[n];
  for (let n = 0; n < e.lines.length; n++) acc.colAmount.a[e.lines[n]] = e.amounts[n];
}
