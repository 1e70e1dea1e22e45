/**
 * A columns chunk's instrument names and currencies mapped to the load's indices (the instrument
 * table's, the book's collateral currencies'), each looked up once — at its first use, so the
 * table grows in the same order as with one lookup per position, and the rows, the figures and
 * the output bytes are those of an account-by-account resolve. A lookup that fails (an unknown
 * instrument, a currency the model does not accept) fails again, with the same error, on every use.
 */
import { OptmarginError } from '../../errors.js';
import type { BookColumns } from '../../instruments/columns.js';
import type { InstrumentTable } from '../../instruments/table.js';

const UNSEEN = -1;
const FAILED = -2;

/** Memo of one kind of lookup: column index → load index (or the lookup's error). */
class Memo {
  private readonly at: Int32Array;
  private readonly errors = new Map<number, OptmarginError>();
  constructor(
    private readonly keys: readonly string[],
    private readonly lookup: (key: string) => number,
  ) {
    this.at = new Int32Array(keys.length).fill(UNSEEN);
  }
  of(x: number): number {
    const v = this.at[x];
    if (v >= 0) return v;
    if (v === FAILED) throw this.errors.get(x)!;
    try {
      return (this.at[x] = this.lookup(this.keys[x]));
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      this.at[x] = FAILED;
      this.errors.set(x, e);
      throw e;
    }
  }
}

export class ColumnIndex {
  private readonly names: Memo;
  private readonly currencies: Memo;
  constructor(cols: BookColumns, table: InstrumentTable, currencyOf: (code: string) => number) {
    this.names = new Memo(cols.names, (name) => table.indexOf(name));
    this.currencies = new Memo(cols.currencies, currencyOf);
  }
  /** The table index of the columns' instrument x (`instr[p]`). */
  instrument(x: number): number {
    return this.names.of(x);
  }
  /** The book's index of the columns' currency x (`cur[q]`, `pcur[q]`). */
  currency(x: number): number {
    return this.currencies.of(x);
  }
}

/**
 * Whether account j of the columns names a currency twice in its collateral lines or in one
 * position's (possible in a columnar file, not in an account object, whose keys are unique):
 * such an account is resolved from its object (`accountAt`: the last amount of a currency).
 */
export function repeatsCurrency(c: BookColumns, j: number): boolean {
  if (repeats(c.cur, c.colStart[j], c.colStart[j + 1])) return true;
  for (let p = c.posStart[j]; p < c.posStart[j + 1]; p++) if (repeats(c.pcur, c.pcolStart[p], c.pcolStart[p + 1])) return true;
  return false;
}

function repeats(cur: Int32Array, from: number, to: number): boolean {
  for (let q = from + 1; q < to; q++) for (let r = from; r < q; r++) if (cur[q] === cur[r]) return true;
  return false;
}
