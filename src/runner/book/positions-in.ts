/**
 * The positions a set of the book's accounts hold in some instruments, a position at a time, with
 * each isolated position's own figures: what the ADL desk ranks (liquidation/shortfall-book.ts).
 * An isolated position is its own sub-account — the position on its own collateral — and the
 * venues rank it on that sub-account: Binance reports an ADL quantile for each isolated position
 * and one for a cross account's positions in a symbol together (developers.binance.com, USDⓈ-M
 * futures REST API "Position ADL Quantile Estimation", read 2026-12-03).
 */
import type { InstrumentTable } from '../../instruments/table.js';
import type { AccountInput, MarginResult } from '../../measures/types.js';
import { AccKind, subFiguresInto, type ReduceArrays } from '../../measures/grid/reduce.js';
import type { GridMeasureParams } from '../../measures/grid/params.js';
import type { BookAccounts, PositionVisitor } from './accounts.js';

/** What the visit reads of the book. */
export interface PositionsSource {
  table: InstrumentTable | null;
  accounts: BookAccounts;
  red: ReduceArrays;
  params: GridMeasureParams | null;
  /** single-path accounts' results */
  single: ReadonlyMap<number, MarginResult>;
}

const own = new Float64Array(2);
const sub = new Float64Array(3);

/**
 * Visits the positions accounts `ks` (ascending) hold in one of `names`, account by account: a
 * vectorized account's from its stored positions (`input(k)` null: sizes as edited in place), its
 * isolated positions with their sub-account's equity and MM; another's from its input, an
 * isolated position with its own equity and MM from the account's result.
 */
export function visitPositions(book: PositionsSource, names: ReadonlySet<string>, ks: ArrayLike<number>, input: (k: number) => AccountInput | null, visit: PositionVisitor): void {
  const { table, red, params } = book;
  const want = table ? table.marks(names) : new Uint8Array(0);
  for (let t = 0; t < ks.length; t++) {
    const k = ks[t];
    const a = input(k);
    if (a === null) {
      const isolated = red.accKind[k] === AccKind.Isolated && params !== null;
      book.accounts.positionsIn(red, k, want, table!.names, (kk, instrument, size, entry, j) => visit(kk, instrument, size, entry, isolated ? gridOwn(red, params!, j) : null));
      continue;
    }
    const r = a.mode === 'isolated' ? book.single.get(k) : undefined;
    a.positions.forEach((p, i) => {
      if (names.has(p.instrument)) visit(k, p.instrument, p.size, p.entryPrice, r ? singleOwn(r, i) : null);
    });
  }
}

/** Sub-account j's equity and MM. */
function gridOwn(red: ReduceArrays, params: GridMeasureParams, j: number): Float64Array {
  subFiguresInto(red, params, j, sub);
  own[0] = sub[0];
  own[1] = sub[2];
  return own;
}

/** Position i's own equity and MM in result r (null when r does not report them: an account in error). */
function singleOwn(r: MarginResult, i: number): Float64Array | null {
  if (!r.ok) return null;
  const b = r.positions[i]?.index === i ? r.positions[i] : r.positions.find((x) => x.index === i);
  if (b?.equity === undefined || b.maintenanceMargin === undefined) return null;
  own[0] = b.equity;
  own[1] = b.maintenanceMargin;
  return own;
}
