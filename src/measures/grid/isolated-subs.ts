/**
 * The sub-accounts of the last isolated account margined for its figures, kept by value. An
 * isolated position's sub-account — its P&L vectors, its rows' IMs and its equity — is a function
 * of the position's instrument, size and entry price and of its own collateral lines, on the
 * engine's market and model alone. The next isolated account (a liquidation plan's candidate:
 * one position resized or closed, the others as they were, on the same engine) reads the row IMs
 * and the equity of each sub-account equal to one of the last account's instead of computing them
 * again: the same doubles, since the same function of the same inputs gave them.
 *
 * Matched by value (instrument index, size, entry price, each collateral line's currency and
 * amount), never by object identity: an account object changed in place is simply not matched.
 * Positions keep their order in a plan's accounts, a closed one drops out: a position is looked
 * for at the last account's next unmatched sub-account and the one after it.
 */
import type { CollateralLine } from '../../instruments/resolve.js';
import { growPlain } from '../../platform/typed.js';

/** One account's sub-accounts (structure of arrays, grown as needed). */
class SubStore {
  n = 0;
  instr = new Int32Array(8);
  size = new Float64Array(8);
  /** entry price where hasEntry */
  entry = new Float64Array(8);
  hasEntry = new Uint8Array(8);
  lineFrom = new Int32Array(9);
  rowFrom = new Int32Array(9);
  equity = new Float64Array(8);
  currencies: string[] = [];
  amounts = new Float64Array(8);
  rowIm = new Float64Array(8);

  clear(): void {
    this.n = 0;
    this.lineFrom[0] = 0;
    this.rowFrom[0] = 0;
  }

  /** Room for one more sub-account with `lines` collateral lines and `rows` rows. */
  ensure(lines: number, rows: number): void {
    const n = this.n;
    if (n + 1 >= this.instr.length) {
      const c = 2 * (n + 1);
      this.instr = growPlain(this.instr, c);
      this.size = growPlain(this.size, c);
      this.entry = growPlain(this.entry, c);
      this.hasEntry = growPlain(this.hasEntry, c);
      this.equity = growPlain(this.equity, c);
      this.lineFrom = growPlain(this.lineFrom, c + 1);
      this.rowFrom = growPlain(this.rowFrom, c + 1);
    }
    const l = this.lineFrom[n] + lines;
    if (l > this.amounts.length) this.amounts = growPlain(this.amounts, 2 * l);
    const r = this.rowFrom[n] + rows;
    if (r > this.rowIm.length) this.rowIm = growPlain(this.rowIm, 2 * r);
  }
}

export class IsolatedSubs {
  /** the last account's sub-accounts (read), and the account's being margined (written) */
  private last = new SubStore();
  private next = new SubStore();
  /** the last account's first sub-account not matched yet */
  private cursor = 0;

  /** A new account: its sub-accounts are matched against the last one's. */
  begin(): void {
    this.next.clear();
    this.cursor = 0;
  }

  /** The account's sub-accounts become the last ones. */
  end(): void {
    const t = this.last;
    this.last = this.next;
    this.next = t;
  }

  /** The last account's sub-account equal to this position's (−1: none). */
  match(instr: number, size: number, entry: number | undefined, lines: readonly CollateralLine[]): number {
    const s = this.last;
    const to = Math.min(this.cursor + 2, s.n);
    for (let j = this.cursor; j < to; j++) {
      if (s.instr[j] !== instr || !Object.is(s.size[j], size) || !sameEntry(s, j, entry)) continue;
      if (!sameLines(s, j, lines)) continue;
      this.cursor = j + 1;
      return j;
    }
    return -1;
  }

  /** Rows of the last account's sub-account j. */
  rowsOf(j: number): number {
    return this.last.rowFrom[j + 1] - this.last.rowFrom[j];
  }

  equityOf(j: number): number {
    return this.last.equity[j];
  }

  /** The last account's sub-account j's row IMs into rowIm[row0 ..]. */
  rowImsInto(j: number, rowIm: Float64Array, row0: number): void {
    const s = this.last;
    rowIm.set(s.rowIm.subarray(s.rowFrom[j], s.rowFrom[j + 1]), row0);
  }

  /** Records the account's next sub-account: its position, lines, row IMs rowIm[row0, row0 + nRows) and equity. */
  record(instr: number, size: number, entry: number | undefined, lines: readonly CollateralLine[], rowIm: Float64Array, row0: number, nRows: number, equity: number): void {
    const s = this.next;
    s.ensure(lines.length, nRows);
    const n = s.n;
    s.instr[n] = instr;
    s.size[n] = size;
    s.hasEntry[n] = entry === undefined ? 0 : 1;
    s.entry[n] = entry ?? 0;
    s.equity[n] = equity;
    const l0 = s.lineFrom[n];
    for (let c = 0; c < lines.length; c++) {
      s.currencies[l0 + c] = lines[c].currency;
      s.amounts[l0 + c] = lines[c].amount;
    }
    s.lineFrom[n + 1] = l0 + lines.length;
    const r0 = s.rowFrom[n];
    s.rowIm.set(rowIm.subarray(row0, row0 + nRows), r0);
    s.rowFrom[n + 1] = r0 + nRows;
    s.n = n + 1;
  }
}

function sameEntry(s: SubStore, j: number, entry: number | undefined): boolean {
  return entry === undefined ? s.hasEntry[j] === 0 : s.hasEntry[j] === 1 && Object.is(s.entry[j], entry);
}

function sameLines(s: SubStore, j: number, lines: readonly CollateralLine[]): boolean {
  const l0 = s.lineFrom[j];
  if (s.lineFrom[j + 1] - l0 !== lines.length) return false;
  for (let c = 0; c < lines.length; c++) if (s.currencies[l0 + c] !== lines[c].currency || !Object.is(s.amounts[l0 + c], lines[c].amount)) return false;
  return true;
}
