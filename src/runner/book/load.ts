/**
 * A load of the book runner in progress: accounts admitted and resolved in input order, either
 * all at once (`load`, `loadColumns`) or chunk by chunk as ingestion delivers them
 * (`columnsLoad`: io/ingest.ts hands each parsed chunk over in input order, so the main thread
 * resolves chunk k while the ingestion workers parse the next ones). Either way the same
 * accounts are resolved in the same order against the same instrument table, so the rows, the
 * figures and the output bytes do not depend on how the input arrived.
 *
 * The number of accounts is known only at the end (JSON lines are counted as they are parsed):
 * each account's placement is recorded here and written into the per-account arrays (the shared
 * reduce arrays, the path, the account-level collateral ranges) by `place` once the load ends.
 */
import { ColumnsBuilder, Mode, MODE_NAMES, type BookColumns } from '../../instruments/columns.js';
import type { AccountInput, AccountMode } from '../../instruments/types.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { I32, reserve, sharedI32 } from './arrays.js';
import type { BookAccounts, ResolveContext, ResolvedAccount } from './accounts.js';
import type { ColumnIndex } from './column-index.js';
import { Holdings } from './holdings.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';
import type { BookLoadReport } from './types.js';

/**
 * A load from columns arriving in chunks, in input order (io/ingest.ts onChunk): each chunk is
 * resolved when added, while the next are parsed; `reserve` (optional) sizes the arrays for every
 * chunk at once when all are known before the first (a columnar file's segments); `finish` takes
 * the chunks themselves (kept, not concatenated) or the whole book's columns and lays out the rows.
 */
export interface ColumnsLoader {
  reserve(chunks: readonly BookColumns[]): void;
  add(chunk: BookColumns, onProgress?: (done: number, total: number) => void): void;
  finish(book: BookColumns | readonly BookColumns[]): BookLoadReport;
}

/** Stride of one account's record: path, kind, subFrom, subTo, colFrom, colTo. */
const REC = 6;

/** Accounts per chunk of a load of objects (BookEngine.load: admitObjects), and the first position capacity of its columns. */
export const OBJECT_CHUNK = 4096;
const OBJECT_CHUNK_POSITIONS = 65536;

export class LoadSession {
  /** accounts admitted so far (the next one's book index) */
  n = 0;
  positions = 0;
  isolated = 0;
  readonly hold = new Holdings();
  private readonly rec = new I32(1 << 16);
  /** the columns of admitObjects' chunks (made at the first) */
  private objects: ColumnsBuilder | null = null;
  private readonly t0 = performance.now();

  constructor(
    private readonly accounts: BookAccounts,
    private readonly ctx: ResolveContext,
    /** the model is a grid model (else every account takes the single path) */
    private readonly grid: boolean,
  ) {}

  /**
   * Resolves the next accounts, in order (null: invalid, it takes the single path, which reports
   * its error). The valid ones are laid out as one chunk of columns — each distinct instrument and
   * currency looked up once for the chunk, at its first use, so the table grows in the same order
   * as one account at a time — and resolved by resolveColumns, the one home of the rules. (Each
   * account laid out alone, as BookAccounts.resolve does for a trade, costs a columns chunk, its
   * lookups and its room per account: on 100,000 generated accounts about a third of the load.)
   */
  admitObjects(batch: readonly (AccountInput | null)[]): void {
    reserve(this.rec, REC * batch.length);
    let cols: BookColumns | null = null;
    let index: ColumnIndex | null = null;
    if (this.grid) {
      const c = (this.objects ??= new ColumnsBuilder(OBJECT_CHUNK_POSITIONS));
      c.reset();
      for (const a of batch) if (a !== null) c.add(a);
      cols = c.view();
      index = this.accounts.columnIndex(this.ctx, cols);
      this.accounts.reserveFor(cols, 0, cols.n, this.hold);
    }
    let j = 0;
    for (const a of batch) {
      const k = this.n++;
      if (a === null) {
        this.record(null);
        continue;
      }
      this.positions += a.positions.length;
      this.record(index ? this.accounts.resolveColumns(this.ctx, cols!, j, k, this.hold, index) : null);
      j++;
    }
  }

  /**
   * Admits every account of a chunk of columns (the next ones of the book, in order), recording
   * each id and mode at its book index, and resolves each straight from the columns (no object
   * per account or position; each distinct instrument and currency of the chunk looked up once).
   */
  admitColumns(cols: BookColumns, ids: string[], modes: AccountMode[], onProgress?: (done: number, total: number) => void): void {
    const index = this.grid ? this.accounts.columnIndex(this.ctx, cols) : null;
    if (index) this.accounts.reserveFor(cols, 0, cols.n, this.hold); // the chunk's room at once, not doubling by doubling
    reserve(this.rec, REC * cols.n);
    for (let j = 0; j < cols.n; j++) {
      if (onProgress && (j & 8191) === 0) onProgress(j, cols.n);
      const k = this.n++;
      ids[k] = cols.ids[j];
      const m = cols.mode[j];
      if (m === Mode.Invalid) {
        modes[k] = '?' as AccountMode;
        this.record(null);
        continue;
      }
      modes[k] = MODE_NAMES[m];
      this.positions += cols.posStart[j + 1] - cols.posStart[j];
      this.record(index ? this.accounts.resolveColumns(this.ctx, cols, j, k, this.hold, index) : null);
    }
  }

  /** Room for all of `chunks` (the book's, known before the first is admitted: a columnar file's segments) in one growth of each array. */
  reserveAll(chunks: readonly BookColumns[]): void {
    if (this.grid) this.accounts.reserveForAll(chunks, this.hold);
    reserve(this.rec, REC * chunks.reduce((n, c) => n + c.n, 0));
  }

  /** Records the placement of the account just admitted (null: the single path). */
  private record(res: ResolvedAccount | null): void {
    const r = this.rec;
    reserve(r, REC);
    if (!res) {
      for (let i = 0; i < REC; i++) r.put(i === 0 ? Path.Single : 0);
      return;
    }
    if (res.kind === AccKind.Isolated) this.isolated++;
    r.put(Path.Grid);
    r.put(res.kind);
    r.put(res.subFrom);
    r.put(res.subTo);
    r.put(res.colFrom);
    r.put(res.colTo);
  }

  /** The load's report, once the rows are laid out (resolveMs: from the start of the load). */
  report(gridAccounts: number, accounts: BookAccounts, rows: BookRows, ins: BookInstruments): BookLoadReport {
    const n = this.n;
    return {
      accounts: n, gridAccounts, isolatedAccounts: this.isolated, singleAccounts: n - gridAccounts, subAccounts: accounts.nSubs, positions: this.positions,
      rows: rows.nRows, holdings: rows.csr.nHold, instruments: ins.n, scenarios: ins.nScen, resolveMs: performance.now() - this.t0,
    };
  }

  /** Writes each account's placement into the load's per-account arrays; returns the path of each account. */
  place(red: ReduceArrays, accounts: BookAccounts): Uint8Array {
    const n = this.n;
    const path = new Uint8Array(n);
    accounts.accColFrom = sharedI32(n); // shared, like BookAccounts' own (the tick's equity tasks read them)
    accounts.accColTo = sharedI32(n);
    const r = this.rec.a;
    for (let k = 0, q = 0; k < n; k++, q += REC) {
      path[k] = r[q];
      if (r[q] !== Path.Grid) continue;
      red.accKind[k] = r[q + 1];
      red.accSubFrom[k] = r[q + 2];
      red.accSubTo[k] = r[q + 3];
      accounts.accColFrom[k] = r[q + 4];
      accounts.accColTo[k] = r[q + 5];
    }
    return path;
  }
}

/** Path of an account. */
export const enum Path {
  /** vectorized: rows of the CSR, pooled aggregation and reduction (grid models) */
  Grid = 0,
  /** one by one through the account runner (non-grid models, input the runner rejects) */
  Single = 1,
}
