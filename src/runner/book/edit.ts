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
 * Applies only when `next` is the account reduced: an account on the vectorized path, in the same
 * mode, whose next positions are its positions in order (same instrument and entry), some removed
 * or resized, and whose next balances (the account's, and in isolated mode each position's own)
 * are in currencies it already has a line for there. Anything else — a new position, a new
 * currency, a change of mode — returns null, and the book re-lays the account out as a trade
 * does (rows appended).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import { collateralExposure, entryLegCoin } from '../../instruments/valuation.js';
import type { AccountInput, PositionInput } from '../../measures/types.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import type { BookAccounts } from './accounts.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';

/** The sizes an in-place edit writes: original positions, collateral lines, holdings (CSR), and the account's rows (BookRows.applyEdit keeps those it moves). */
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
  const kind = red.accKind[k];
  if (kind !== (next.mode === 'isolated' ? AccKind.Isolated : AccKind.Pooled)) return null;
  const e: SizeEdit = { ops: [], opSizes: [], lines: [], amounts: [], holdings: [], sizes: [], rows: [] };
  const j0 = red.accSubFrom[k];
  const j1 = red.accSubTo[k];
  const matched = matchPositions(table, acc, j0, j1, next, e);
  if (!matched) return null;
  // pooled: the sub-account's lines are the account's balances; isolated: the account-level lines, then each position's own
  if (kind === AccKind.Isolated && !matchLines(acc, acc.accColFrom[k], acc.accColTo[k], next.collateral, e)) return null;
  const firstOp = acc.subPosFrom.a[j0];
  for (let j = j0; j < j1; j++) {
    const from = e.lines.length;
    const own = kind === AccKind.Pooled ? next.collateral : (matched[acc.subPosFrom.a[j] - firstOp]?.collateral ?? {});
    if (!matchLines(acc, acc.subColFrom.a[j], acc.subColTo.a[j], own, e)) return null;
    placeHoldings(table, acc, rows, ins, red, j, e, firstOp, from);
  }
  return e;
}

/**
 * Original positions of sub-accounts [j0, j1) against next's, in input order (a pooled
 * sub-account stores them grouped by underlying: parts.ts inputOp): a matched one takes next's
 * size, the others 0 (e.ops / e.opSizes by stored index). Returns the next position matched by
 * each original one, by stored index (undefined: closed), or null when some next position matches none.
 */
function matchPositions(table: InstrumentTable, acc: BookAccounts, j0: number, j1: number, next: AccountInput, e: SizeEdit): (PositionInput | undefined)[] | null {
  const np = next.positions;
  const firstOp = acc.subPosFrom.a[j0];
  const n = acc.subPosTo.a[j1 - 1] - firstOp;
  const entries: (number | undefined)[] = new Array(n);
  for (let j = j0; j < j1; j++) {
    let q = acc.subEntryFrom.a[j];
    for (let p = acc.subPosFrom.a[j]; p < acc.subPosTo.a[j]; p++) entries[p - firstOp] = acc.opInstr.a[p] < 0 ? acc.opEntry.a[q++] : undefined;
  }
  const out: (PositionInput | undefined)[] = new Array(n);
  let c = 0;
  for (let j = j0; j < j1; j++) {
    const from = acc.subPosFrom.a[j];
    const at = acc.parts.subInput.a[j];
    for (let t = 0; t < acc.subPosTo.a[j] - from; t++) {
      const p = at < 0 ? from + t : acc.parts.inputOp.a[at + t];
      const x = acc.opInstr.a[p];
      const i = x < 0 ? ~x : x;
      // by name (no lookup: a name the table does not have is no match, and the re-layout reports it as before)
      const hit = c < np.length && np[c].entryPrice === entries[p - firstOp] && np[c].instrument === table.names[i] ? np[c++] : undefined;
      out[p - firstOp] = hit;
      e.ops[p - firstOp] = p;
      e.opSizes[p - firstOp] = hit ? hit.size : 0;
    }
  }
  return c === np.length ? out : null;
}

/** Collateral lines [from, to) at `balances`; false when a non-zero balance has no line. */
function matchLines(acc: BookAccounts, from: number, to: number, balances: Record<string, number>, e: SizeEdit): boolean {
  let covered = 0;
  for (let c = from; c < to; c++) {
    const amount = balances[acc.currencies[acc.colCur.a[c]]];
    if (amount !== undefined && amount !== 0) covered++;
    e.lines.push(c);
    e.amounts.push(amount ?? 0);
  }
  let wanted = 0;
  for (const cur of Object.keys(balances)) if (balances[cur] !== 0) wanted++;
  return covered === wanted;
}

/**
 * The holdings of sub-account j with their new sizes, found as the resolve laid them out (each
 * position, then an inverse future's coin leg, then the coin collateral lines e.lines[lineFrom..];
 * a row holds the sub-account's holdings of its underlying in that order). A mismatch is an
 * engine bug.
 */
function placeHoldings(table: InstrumentTable, acc: BookAccounts, rows: BookRows, ins: BookInstruments, red: ReduceArrays, j: number, e: SizeEdit, firstOp: number, lineFrom: number): void {
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
  for (let p = acc.subPosFrom.a[j]; p < acc.subPosTo.a[j]; p++) {
    const x = acc.opInstr.a[p];
    const i = x < 0 ? ~x : x;
    const entry = x < 0 ? acc.opEntry.a[q++] : ins.forward[i];
    const size = e.opSizes[p - firstOp];
    put(i, size);
    const kind = ins.kind[i];
    if ((kind === Kind.Future || kind === Kind.Perpetual) && ins.inverse[i]) put(table.coinIndex(table.underlyings[ins.slot[i]]), entryLegCoin(kind, ins.inverse[i], ins.cs[i], size, entry));
  }
  for (let n = lineFrom; n < e.lines.length; n++) {
    const cur = acc.colCur.a[e.lines[n]];
    const coin = acc.curCoin[cur];
    if (coin >= 0) put(coin, collateralExposure(e.amounts[n], acc.curHaircut[cur]));
  }
  for (let q2 = red.subRowStart[j]; q2 < red.subRowStart[j + 1]; q2++) {
    const r = red.subRows[q2];
    if (cursor.get(rows.rowSlot[r]) !== rowStart[r + 1]) throw new OptmarginError(ErrorCodes.INTERNAL, `in-place edit: row ${r} of sub-account ${j} has holdings the edit did not place`);
  }
}

/** Writes the edit's original sizes and balances (the holdings and rows: BookRows.applyEdit). */
export function applyAccountSizes(acc: BookAccounts, e: SizeEdit): void {
  for (let n = 0; n < e.ops.length; n++) acc.setOpSize(e.ops[n], e.opSizes[n]);
  for (let n = 0; n < e.lines.length; n++) acc.setLineAmount(e.lines[n], e.amounts[n]);
}
