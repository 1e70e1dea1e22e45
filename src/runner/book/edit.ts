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
import type { AccountInput } from '../../measures/types.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { growPlain } from '../../platform/typed.js';
import { F64, I32 } from './arrays.js';
import type { BookAccounts } from './accounts.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';

/** No balances (a closed isolated position's own collateral). */
const NONE: Readonly<Record<string, number>> = Object.freeze({});

/**
 * The sizes an in-place edit writes — original positions, collateral lines, holdings (CSR) and the
 * account's rows (BookRows.applyEdit keeps those it moves) — in arrays reused by every edit of a
 * book (each edit is applied before the next is made), with the matching's scratch.
 */
export class SizeEdit {
  readonly ops = new I32(64);
  readonly opSizes = new F64(64);
  readonly lines = new I32(64);
  readonly amounts = new F64(64);
  readonly holdings = new I32(64);
  readonly sizes = new F64(64);
  readonly rows = new I32(64);
  /** by stored index: the entry price of an original position (read when it has one), the next position matching it (−1: closed) */
  private readonly entries = new F64(64);
  private readonly match = new I32(64);
  /** per underlying slot: the next holding of the sub-account's row there, valid where `stamp` is the sub-account's stamp */
  private cursor = new Int32Array(16);
  private stamp = new Int32Array(16);
  private stamps = 0;

  private clear(): void {
    this.ops.n = this.opSizes.n = this.lines.n = this.amounts.n = this.holdings.n = this.sizes.n = this.rows.n = 0;
  }

  /** Makes the edit that turns account k (sub-account arrays of `acc`) into `next`; false when `next` is not a reduction of it. */
  of(table: InstrumentTable, acc: BookAccounts, rows: BookRows, ins: BookInstruments, red: ReduceArrays, k: number, next: AccountInput): boolean {
    const kind = red.accKind[k];
    if (kind !== (next.mode === 'isolated' ? AccKind.Isolated : AccKind.Pooled)) return false;
    this.clear();
    const j0 = red.accSubFrom[k];
    const j1 = red.accSubTo[k];
    if (!this.matchPositions(table, acc, j0, j1, next)) return false;
    // pooled: the sub-account's lines are the account's balances; isolated: the account-level lines, then each position's own
    if (kind === AccKind.Isolated && !this.matchLines(acc, acc.accColFrom[k], acc.accColTo[k], next.collateral)) return false;
    const firstOp = acc.subPosFrom.a[j0];
    for (let j = j0; j < j1; j++) {
      const from = this.lines.n;
      const hit = kind === AccKind.Pooled ? -1 : this.match.a[acc.subPosFrom.a[j] - firstOp];
      const own = kind === AccKind.Pooled ? next.collateral : hit < 0 ? NONE : (next.positions[hit].collateral ?? NONE);
      if (!this.matchLines(acc, acc.subColFrom.a[j], acc.subColTo.a[j], own)) return false;
      this.placeHoldings(table, acc, rows, ins, red, j, firstOp, from);
    }
    return true;
  }

  /**
   * Original positions of sub-accounts [j0, j1) against next's, in input order (a pooled
   * sub-account stores them grouped by underlying: parts.ts inputOp): a matched one takes next's
   * size, the others 0 (ops / opSizes by stored index). Records the next position matched by each
   * original one, by stored index (−1: closed); false when some next position matches none.
   */
  private matchPositions(table: InstrumentTable, acc: BookAccounts, j0: number, j1: number, next: AccountInput): boolean {
    const np = next.positions;
    const firstOp = acc.subPosFrom.a[j0];
    // an account laid out with no position has no sub-account (j0 = j1): no original position, nothing to write —
    // reading its neighbours' bounds instead wrote stale sizes over other accounts' positions
    const n = j1 > j0 ? acc.subPosTo.a[j1 - 1] - firstOp : 0;
    const entries = room(this.entries, n);
    const match = room(this.match, n);
    const ops = room(this.ops, n);
    const opSizes = room(this.opSizes, n);
    for (let j = j0; j < j1; j++) {
      let q = acc.subEntryFrom.a[j];
      for (let p = acc.subPosFrom.a[j]; p < acc.subPosTo.a[j]; p++) if (acc.opInstr.a[p] < 0) entries[p - firstOp] = acc.opEntry.a[q++];
    }
    let c = 0;
    for (let j = j0; j < j1; j++) {
      const from = acc.subPosFrom.a[j];
      const at = acc.parts.subInput.a[j];
      for (let t = 0; t < acc.subPosTo.a[j] - from; t++) {
        const p = at < 0 ? from + t : acc.parts.inputOp.a[at + t];
        const x = acc.opInstr.a[p];
        const i = x < 0 ? ~x : x;
        const entry = c < np.length ? np[c].entryPrice : undefined;
        // by name (no lookup: a name the table does not have is no match, and the re-layout reports it as before)
        const hit = c < np.length && (x < 0 ? entry === entries[p - firstOp] : entry === undefined) && np[c].instrument === table.names[i] ? c++ : -1;
        match[p - firstOp] = hit;
        ops[p - firstOp] = p;
        opSizes[p - firstOp] = hit < 0 ? 0 : np[hit].size;
      }
    }
    return c === np.length;
  }

  /** Collateral lines [from, to) at `balances`; false when a non-zero balance has no line. */
  private matchLines(acc: BookAccounts, from: number, to: number, balances: Readonly<Record<string, number>>): boolean {
    let covered = 0;
    for (let c = from; c < to; c++) {
      const amount = balances[acc.currencies[acc.colCur.a[c]]];
      if (amount !== undefined && amount !== 0) covered++;
      this.lines.push(c);
      this.amounts.push(amount ?? 0);
    }
    let wanted = 0;
    for (const cur in balances) if (balances[cur] !== 0) wanted++;
    return covered === wanted;
  }

  /**
   * The holdings of sub-account j with their new sizes, found as the resolve laid them out (each
   * position, then an inverse future's coin leg, then the coin collateral lines lines[lineFrom..];
   * a row holds the sub-account's holdings of its underlying in that order). A mismatch is an
   * engine bug.
   */
  private placeHoldings(table: InstrumentTable, acc: BookAccounts, rows: BookRows, ins: BookInstruments, red: ReduceArrays, j: number, firstOp: number, lineFrom: number): void {
    const { rowStart } = rows.csr;
    const stamp = this.openCursors(ins.underlyings.length);
    for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
      const r = red.subRows[q];
      this.stamp[rows.rowSlot[r]] = stamp;
      this.cursor[rows.rowSlot[r]] = rowStart[r];
      this.rows.push(r);
    }
    let q = acc.subEntryFrom.a[j];
    for (let p = acc.subPosFrom.a[j]; p < acc.subPosTo.a[j]; p++) {
      const x = acc.opInstr.a[p];
      const i = x < 0 ? ~x : x;
      const entry = x < 0 ? acc.opEntry.a[q++] : ins.forward[i];
      const size = this.opSizes.a[p - firstOp];
      this.put(rows, ins, stamp, j, i, size);
      const kind = ins.kind[i];
      if ((kind === Kind.Future || kind === Kind.Perpetual) && ins.inverse[i]) this.put(rows, ins, stamp, j, table.coinOfSlot(ins.slot[i]), entryLegCoin(kind, ins.inverse[i], ins.cs[i], size, entry));
    }
    for (let n = lineFrom; n < this.lines.n; n++) {
      const cur = acc.colCur.a[this.lines.a[n]];
      const coin = acc.curCoin[cur];
      if (coin >= 0) this.put(rows, ins, stamp, j, coin, collateralExposure(this.amounts.a[n], acc.curHaircut[cur]));
    }
    for (let q2 = red.subRowStart[j]; q2 < red.subRowStart[j + 1]; q2++) {
      const r = red.subRows[q2];
      if (this.cursor[rows.rowSlot[r]] !== rowStart[r + 1]) throw new OptmarginError(ErrorCodes.INTERNAL, `in-place edit: row ${r} of sub-account ${j} has holdings the edit did not place`);
    }
  }

  /** A fresh stamp for one sub-account's cursors over `nSlots` slots (none of them set). */
  private openCursors(nSlots: number): number {
    if (this.cursor.length < nSlots) {
      this.cursor = new Int32Array(2 * nSlots);
      this.stamp = new Int32Array(2 * nSlots);
      this.stamps = 0;
    }
    if (++this.stamps === 0x7fffffff) {
      this.stamp.fill(0);
      this.stamps = 1;
    }
    return this.stamps;
  }

  /** The next holding of instrument i in its row of sub-account j (stamped `stamp`) takes `size`. */
  private put(rows: BookRows, ins: BookInstruments, stamp: number, j: number, i: number, size: number): void {
    const s = ins.slot[i];
    const d = this.stamp[s] === stamp ? this.cursor[s] : -1;
    if (d < 0 || rows.csr.posInstr[d] !== i) throw new OptmarginError(ErrorCodes.INTERNAL, `in-place edit: holding of instrument ${i} not where the layout put it (sub-account ${j})`);
    this.cursor[s] = d + 1;
    this.holdings.push(d);
    this.sizes.push(size);
  }
}

/** g holding n values (grown when short), its array to write them in. */
function room<T extends I32 | F64>(g: T, n: number): T['a'] {
  (g as { a: T['a'] }).a = growPlain<T['a']>(g.a, n);
  g.n = n;
  return g.a;
}

/** Writes the edit's original sizes and balances (the holdings and rows: BookRows.applyEdit). */
export function applyAccountSizes(acc: BookAccounts, e: SizeEdit): void {
  for (let n = 0; n < e.ops.n; n++) acc.setOpSize(e.ops.a[n], e.opSizes.a[n]);
  for (let n = 0; n < e.lines.n; n++) acc.setLineAmount(e.lines.a[n], e.amounts.a[n]);
}
