/**
 * Resolve of ingestion chunks off the main thread (issue 9; docs/book.md "What runs where").
 * An ingestion worker, having parsed a chunk into columns, resolves its accounts with the same
 * code as a one-thread load (LoadSession.admitColumns → BookAccounts.resolve) into accounts and
 * holdings of the chunk's own, against the worker's instrument table (kept across chunks: each
 * instrument is parsed and valued once per worker). The table records the order in which the
 * chunk first touches each entry. The main thread merges the chunks in input order
 * (LoadSession.admitResolved): it replays each chunk's touched entries, in that order, into the
 * book's table — so every instrument gets the index of its first sight in the book, the index a
 * one-thread load gives it — then appends the chunk's arrays with indices remapped and offsets
 * added (typed-array loops). The rows, figures and output bytes are those of a one-thread load.
 */
import type { BookColumns } from '../../instruments/columns.js';
import { InstrumentTable } from '../../instruments/table.js';
import type { AccountMode, CollateralParams } from '../../instruments/types.js';
import type { MarginMarket } from '../../market/margin-market.js';
import type { Instrument } from '../../market/types.js';
import { BookAccounts } from './accounts.js';
import { I32 } from './arrays.js';
import { LoadSession, type ResolvedChunk } from './load.js';

export type { ResolvedChunk } from './load.js';

/** An instrument table that records, per chunk, the entries touched in order of first touch (what a fresh table would add, in its order). */
class TouchTable extends InstrumentTable {
  private seen = new Uint8Array(64);
  readonly order = new I32(256);

  /** Starts a chunk: nothing touched yet. */
  reset(): void {
    this.seen.fill(0);
    this.order.n = 0;
  }
  private touch(i: number): number {
    if (i >= this.seen.length) {
      const s = new Uint8Array(Math.max(2 * this.seen.length, i + 1));
      s.set(this.seen);
      this.seen = s;
    }
    if (!this.seen[i]) {
      this.seen[i] = 1;
      this.order.push(i);
    }
    return i;
  }
  override indexOf(name: string): number {
    return this.touch(super.indexOf(name));
  }
  override indexOfInstrument(inst: Instrument): number {
    return this.touch(super.indexOfInstrument(inst));
  }
  override coinIndex(u: string): number {
    return this.touch(super.coinIndex(u));
  }
}

/** Resolves chunks of a book for a grid model's collateral rules on `market` (one per ingestion worker). */
export class ChunkResolver {
  private readonly table: TouchTable;
  constructor(
    private readonly market: MarginMarket,
    private readonly collateral: CollateralParams,
  ) {
    this.table = new TouchTable(market);
  }

  resolve(cols: BookColumns): ResolvedChunk {
    const table = this.table;
    table.reset();
    // forwardOf as the book's load reads it (runner.ts resolveContext: the table's, during a load)
    const s = new LoadSession(new BookAccounts(0), { table, market: this.market, collateral: this.collateral, forwardOf: (i) => table.forward[i] }, true);
    s.admitColumns(cols, new Array<string>(cols.n), new Array<AccountMode>(cols.n));
    return s.resolvedChunk(table.names.slice(0, table.count), table.order.trimmed(), table.underlyings.slice());
  }
}
