/**
 * A book's columns kept as the chunks they were parsed in (io/ingest.ts) or the segments of a
 * columnar file, in input order, without concatenating them: account k of the book is account
 * k − starts[i] of parts[i]. A book command resolves each chunk as it arrives and afterwards
 * only rebuilds single accounts from their columns (the single path, a trade), so a copy of
 * every column into one set of arrays — and the memory of both at once — is not needed.
 */
import { accountAt, bookIndexId, Mode, type AccountError, type BookColumns } from './columns.js';
import type { AccountInput } from './types.js';

/** What an account's input is read as without building it (ColumnParts.visit, the book's visitInput). */
export interface InputVisitor {
  /** a position: its instrument and size */
  position(instrument: string, size: number): void;
  /** the currency of a balance (the account's or a position's own) */
  currency(currency: string): void;
}

export class ColumnParts {
  /** book index of each part's first account; starts[parts.length] = n */
  readonly starts: Int32Array;
  readonly n: number;

  /** `parts` in input order; accounts without a usable id (id '') get their `#<book index>` here, in place. */
  constructor(readonly parts: readonly BookColumns[]) {
    this.starts = new Int32Array(parts.length + 1);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const k0 = this.starts[i];
      for (let j = 0; j < p.n; j++) if (p.ids[j] === '') p.ids[j] = bookIndexId(k0 + j);
      this.starts[i + 1] = k0 + p.n;
    }
    this.n = this.starts[parts.length];
  }

  /** The part holding book account k (binary search over the starts). */
  partOf(k: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= k) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Book account k's id. */
  id(k: number): string {
    const i = this.partOf(k);
    return this.parts[i].ids[k - this.starts[i]];
  }

  /** Book account k as an account object (null for an invalid account), as `accountAt` of the whole book's columns. */
  account(k: number): AccountInput | null {
    const i = this.partOf(k);
    return accountAt(this.parts[i], k - this.starts[i]);
  }

  /**
   * Book account k's input read from its columns without building it (false for an invalid
   * account): each position's instrument and size in input order, then each balance's currency —
   * the account's, then each position's own.
   */
  visit(k: number, v: InputVisitor): boolean {
    const i = this.partOf(k);
    const c = this.parts[i];
    const j = k - this.starts[i];
    if (c.mode[j] === Mode.Invalid) return false;
    for (let p = c.posStart[j]; p < c.posStart[j + 1]; p++) v.position(c.names[c.instr[p]], c.size[p]);
    for (let q = c.colStart[j]; q < c.colStart[j + 1]; q++) v.currency(c.currencies[c.cur[q]]);
    for (let q = c.pcolStart[c.posStart[j]]; q < c.pcolStart[c.posStart[j + 1]]; q++) v.currency(c.currencies[c.pcur[q]]);
    return true;
  }

  /** Book account k's validation error, if it is invalid. */
  error(k: number): AccountError | undefined {
    const i = this.partOf(k);
    return this.parts[i].errors.get(k - this.starts[i]);
  }

  /** Every id in book order into `ids` (from index 0). */
  idsInto(ids: string[]): void {
    for (let i = 0, k = 0; i < this.parts.length; i++) for (const id of this.parts[i].ids) ids[k++] = id;
  }
}
