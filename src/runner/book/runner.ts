/**
 * The book runner: margins every account of a book against one market × one model, with the
 * scenario-grid measure's own row and reduce functions (measures/grid) run in chunks on a pool.
 *
 *   load       validate each account once and resolve it (accounts.ts) into rows (rows.ts);
 *              the instruments' snapshot and revaluation matrix (instruments.ts)
 *   recompute  aggregation → row IM → reduction, sharded on the pool (schedule.ts, tasks.ts)
 *   tick       one underlying moved: its revaluation, its rows, the accounts holding it
 *   trade      an account's new rows appended and aggregated in-process, the account re-reduced
 *
 * Accounts the vectorized path does not cover are margined one by one by the account runner
 * (single.ts). Every account in gives exactly one result out, in input order. `BookEngine` is
 * this runner's public name (kept for the package API).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { validateAccount, validateChanges } from '../../instruments/account.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { BookAccountResult, BookRunStats, ResultFormat } from '../../io/results.js';
import { memoMarketHash, type MarginMarket } from '../../market/margin-market.js';
import { gridMeasureParams, type GridMeasureParams } from '../../measures/grid/params.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { finiteOrError } from '../../measures/finite.js';
import { resolveModel } from '../../measures/models.js';
import type { AccountInput, AccountMode, LoadedModel, MarginResult, PositionChange } from '../../measures/types.js';
import { gridScenarioSet } from '../../scenarios/grid.js';
import { InvalidEntry } from './types.js';
import type { BookColumns } from '../../instruments/columns.js';
import { ColumnParts, type InputVisitor } from '../../instruments/column-parts.js';
import { admitRaw, inputOf, invalidResult, visitInput } from './inputs.js';
import { LoadSession, OBJECT_CHUNK, Path, type ColumnsLoader } from './load.js';
import { MarginEngine } from '../account/runner.js';
import { sharedI32, sharedReduceArrays } from './arrays.js';
import { mergeAscending, ownedCopy, tickUpdate } from './update.js';
import { accountEquity } from './equity.js';
import { BookAccounts, tradeFits, type PositionVisitor, type ResolvedAccount } from './accounts.js';
import { visitPositions } from './positions-in.js';
import { Holdings } from './holdings.js';
import { applyAccountSizes, SizeEdit } from './edit.js';
import { AccountRemargin } from './remargin.js';
import { BookInstruments, tickedUnderlyings } from './instruments.js';
import { ChunkRunner } from './pool.js';
import { BookRows } from './rows.js';
import { BookScheduler, Failures, type ScheduledBook } from './schedule.js';
import { RoundHealth, figuresInto, figuresOfMany, gridResult, resultHeader, type BookHeader, type FiguresOut } from './results.js';
import { streamResults, type ResultSink } from './format.js';
import { singleResult, touchedUnderlyings } from './single.js';
import type { BookEngineOptions, BookLoadReport, BookUpdate } from './types.js';
import { noChunkStages } from './clock.js';
import { poisonOutputs } from './receipt.js';

export type { BookEngineOptions, BookLoadReport, BookUpdate } from './types.js';

export class BookEngine implements ScheduledBook {
  readonly model: LoadedModel;
  market: MarginMarket;
  private readonly params: GridMeasureParams | null;
  private readonly runner: ChunkRunner;
  private readonly scheduler: BookScheduler | null;
  private static counter = 0;
  private readonly id = ++BookEngine.counter;
  /** the account runner of the current market (single path; its table resolves a load), made on demand */
  private engineOf: MarginEngine | null = null;
  /** the instrument table of the last load: the index space of the rows and the revaluation matrix */
  private table: InstrumentTable | null = null;
  /** account re-margins after a trade or an in-place edit (null: no grid model); the scratch of both */
  private readonly remargin: AccountRemargin | null;
  private readonly edit = new SizeEdit();
  private readonly tradeHold = new Holdings();

  n = 0;
  private ids: string[] = [];
  /** the loaded columns (loadColumns), the inputs of accounts no trade or replace has touched */
  private cols: ColumnParts | null = null;
  private inputs: (AccountInput | unknown)[] = [];
  private path: Uint8Array = new Uint8Array(0);
  private modes: AccountMode[] = [];
  /** single-path results and the underlyings each touches (for ticks) */
  private single = new Map<number, MarginResult>();
  private singleUnderlyings = new Map<number, Set<string>>();
  red: ReduceArrays = sharedReduceArrays(0);
  /** a tick's accounts to re-margin (shared: its chunks read their part) */
  private touched: Int32Array = new Int32Array(0);
  /** accounts whose equity a failed chunk may have left part-computed: recomputed in full before the next round */
  private staleEquity = new Set<number>();
  accounts = new BookAccounts(0);
  rows: BookRows;
  ins: BookInstruments;
  readonly failures = new Failures();
  readonly roundHealth = new RoundHealth();

  /** timings of the last run */
  lastStats: BookRunStats | null = null;

  private constructor(opts: BookEngineOptions) {
    this.model = resolveModel(opts.model);
    const p = this.model.params;
    const grid = p.mechanism === 'scenario-grid' ? p : null;
    this.params = grid ? gridMeasureParams(grid) : null;
    this.market = opts.market;
    this.runner = new ChunkRunner({ ...opts, threads: opts.threads ?? 1 });
    const cp = opts.chunkPositions ?? 262144;
    if (!Number.isInteger(cp) || cp < 1) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `chunkPositions must be a positive integer, got ${cp}`);
    this.scheduler = this.params ? new BookScheduler(this.runner, cp, this.id, this.params) : null;
    this.remargin = this.params ? new AccountRemargin(this.runner, this.id, this.params) : null;
    this.rows = new BookRows(this.id, this.params);
    this.ins = new BookInstruments(grid ? gridScenarioSet(grid) : null);
  }

  /** A book runner; `threads` > 1 starts a worker pool (close() it when done). */
  static create(opts: BookEngineOptions): BookEngine { return new BookEngine(opts); }

  get threads(): number { return this.runner.threads; }

  /** Hash of the current market (computed when first asked for, memoized per snapshot). */
  get marketHash(): string { return memoMarketHash(this.market); }

  private get engine(): MarginEngine { return (this.engineOf ??= new MarginEngine({ market: this.market, model: this.model })); }

  isGrid(k: number): boolean { return this.path[k] === Path.Grid; }

  /**
   * The positions accounts `ks` (ascending) hold now in one of the instruments `names`, account by
   * account, a position at a time: a vectorized account's from its resolved positions (sizes as
   * edited in place), another's from its input (what the ADL desk ranks).
   */
  positionsIn(names: ReadonlySet<string>, ks: ArrayLike<number>, visit: PositionVisitor): void {
    const book = { table: this.table, accounts: this.accounts, red: this.red, params: this.params, single: this.single };
    visitPositions(book, names, ks, (k) => (this.path[k] === Path.Grid ? null : this.account(k, true)), visit);
  }

  /** The book pool's workers once started, to parse a load's chunks on; null in-process. */
  sharedPool(): ReturnType<ChunkRunner['sharedPool']> { return this.runner.sharedPool(); }

  /** Account k's input read without building it (inputs.ts visitInput: positions, then balances' currencies); false for an invalid account. */
  visitInput(k: number, v: InputVisitor): boolean { return this.modes[k] !== ('?' as AccountMode) && visitInput(this.inputs, this.cols, k, v); }

  async close(): Promise<void> { await this.runner.close(); }

  /** The resolve context of the load's table (forwards from the snapshot once it has them). */
  private resolveContext(): Parameters<BookAccounts['resolve']>[0] {
    const tb = this.table!;
    return {
      table: tb,
      market: this.market,
      collateral: this.model.params.collateral,
      forwardOf: (i) => (i < this.ins.n ? this.ins.forward[i] : tb.forward[i]),
    };
  }

  /**
   * Validates and resolves `accounts` (raw JSON values: a malformed one gets an error result, never
   * dropped). Replaces any previously loaded book. Results need a `recompute()`. `firstIndex`: the book
   * index of accounts[0] when they are a shard of a larger book, or each account's book index (a
   * resident book's bucket): an account without an id is reported as `#<book index>`, as in the whole book.
   */
  load(accounts: readonly unknown[], onProgress?: (done: number, total: number) => void, firstIndex: number | ArrayLike<number> = 0): BookLoadReport {
    this.cols = null;
    const n = accounts.length;
    const s = this.beginLoad();
    const chunk: (AccountInput | null)[] = [];
    for (let k = 0; k < n; k++) {
      if (onProgress && (k & 8191) === 0) onProgress(k, n);
      chunk.push(admitRaw(accounts[k], k, this.ids, this.inputs, this.modes, typeof firstIndex === 'number' ? firstIndex : firstIndex[k] - k));
      if (chunk.length === OBJECT_CHUNK || k === n - 1) s.admitObjects(chunk.splice(0)); // resolved a chunk at a time (load.ts)
    }
    return this.endLoad(s);
  }

  /** load() of account values — or loadColumns() of a parsed book's parts — on `market`, where the book then sits (a simulation run again on this engine, its pool and warm workers: Simulation's `book`). */
  reload(book: readonly unknown[] | ColumnParts, market: MarginMarket): BookLoadReport {
    this.market = market;
    this.engineOf = null;
    return book instanceof ColumnParts ? this.loadColumns(book.parts) : this.load(book);
  }

  /** Loads a book validated into columns (io/ingest.ts, .ombook), or kept as the chunks it was parsed in (ingestBookParts' parts, in input order: the load columnsLoad makes as they arrive); no object per position kept. */
  loadColumns(cols: BookColumns | readonly BookColumns[], onProgress?: (done: number, total: number) => void): BookLoadReport {
    const s = this.columnsLoad();
    const parts = Array.isArray(cols) ? (cols as readonly BookColumns[]) : [cols as BookColumns];
    s.reserve(parts);
    for (const c of parts) s.add(c, onProgress);
    return s.finish(cols);
  }

  /** Columns arriving in chunks, in input order (load.ts ColumnsLoader): bit for bit loadColumns(all). */
  columnsLoad(): ColumnsLoader {
    const s = this.beginLoad();
    return {
      reserve: (chunks) => s.reserveAll(chunks),
      add: (chunk, onProgress) => s.admitColumns(chunk, this.ids, this.modes, onProgress),
      finish: (book) => {
        const parts = new ColumnParts(Array.isArray(book) ? book : [book as BookColumns]);
        if (parts.n !== s.n) throw new OptmarginError(ErrorCodes.INTERNAL, `columns load: ${s.n} accounts resolved, the book has ${parts.n}`);
        this.cols = parts;
        parts.idsInto(this.ids); // unnamed accounts are numbered once the whole book is in
        return this.endLoad(s);
      },
    };
  }

  private input(k: number): unknown { return inputOf(this.inputs, this.cols, k); } // a trade's or replace's, else the load's

  /** Clears the previous book and starts resolving accounts against this load's table. */
  private beginLoad(): LoadSession {
    this.n = 0;
    this.ids = [];
    this.inputs = [];
    this.modes = [];
    this.single.clear();
    this.singleUnderlyings.clear();
    this.failures.clear();
    this.staleEquity.clear();
    this.table = this.engine.table;
    this.ins.n = 0;
    this.accounts = new BookAccounts(0);
    return new LoadSession(this.accounts, this.resolveContext(), this.params !== null);
  }

  /** Places the resolved accounts, snapshots the instruments, lays out the rows, computes equities. */
  private endLoad(s: LoadSession): BookLoadReport {
    const n = s.n;
    this.n = n;
    this.inputs.length = n;
    this.red = sharedReduceArrays(n);
    this.roundHealth.reset(n);
    this.path = s.place(this.red, this.accounts);
    this.ins.snapshot(this.table!, this.market, this.engine.risk);
    this.rows.layout(s.hold, this.accounts.nSubs, this.ins, this.red);
    let gridAccounts = 0;
    const eq = this.accounts.equityArrays(this.ins);
    this.accounts.trackSlots(this.ins.underlyings.length);
    this.touched = sharedI32(n);
    for (let k = 0; k < n; k++) {
      if (this.path[k] === Path.Grid) {
        accountEquity(eq, this.red, k);
        this.accounts.recordDeps(k, this.red, this.rows.rowSlot, this.ins);
        gridAccounts++;
      } else this.singleUnderlyings.set(k, touchedUnderlyings(this.input(k)));
    }
    return s.report(gridAccounts, this.accounts, this.rows, this.ins);
  }

  private setAccount(k: number, res: ResolvedAccount): void {
    this.red.accKind[k] = res.kind;
    this.red.accSubFrom[k] = res.subFrom;
    this.red.accSubTo[k] = res.subTo;
    this.accounts.accColFrom[k] = res.colFrom;
    this.accounts.accColTo[k] = res.colTo;
  }

  /** Margins every account: aggregation of every row, the per-account reduction (pool or in-process), then the single-path accounts here (`singleMs`). */
  async recompute(): Promise<BookRunStats> {
    const t0 = performance.now();
    let agg = { retried: 0, failedChunks: 0, tasks: 0 };
    let red = { retried: 0, failedChunks: 0, tasks: 0 };
    let t1 = t0;
    const s = this.scheduler;
    this.refreshStaleEquity();
    this.roundHealth.clear();
    if (s) {
      const fused = s.fusedTasks(this);
      if (fused) {
        // one pool round: each chunk aggregates the rows of an account range, then reduces it
        agg = await s.runFused(this, fused);
        t1 = performance.now();
      } else {
        agg = await s.aggregateSlots(this, this.ins.underlyings.map((_, k) => k));
        t1 = performance.now();
        red = await s.reduceAll(this, agg.tasks);
      }
    }
    const t2 = performance.now();
    let singleCount = 0;
    for (let k = 0; k < this.n; k++) {
      if (this.path[k] !== Path.Single) continue;
      this.single.set(k, this.marginSingle(k));
      singleCount++;
    }
    const t3 = performance.now();
    this.lastStats = {
      totalMs: t3 - t0, gridMs: t2 - t0, aggregateMs: t1 - t0, reduceMs: t2 - t1, singleMs: t3 - t2, singleAccounts: singleCount,
      threads: this.runner.threads, variant: this.runner.variant, rows: this.rows.nRows, holdings: this.rows.csr.nHold, scenarios: this.ins.nScen,
      retriedChunks: agg.retried + red.retried, failedChunks: agg.failedChunks + red.failedChunks,
    };
    return this.lastStats;
  }

  private marginSingle(k: number): MarginResult {
    const input = this.input(k);
    if (input instanceof InvalidEntry) return invalidResult(input);
    return this.engine.margin(input);
  }

  /**
   * The market moved for one underlying, or several (marks and/or vols): `market` is the new
   * market, of which only the given underlyings are re-read. Recomputes their instruments and
   * revaluation, re-aggregates only the rows on them, and re-reduces the accounts depending on
   * any of them — several underlyings in one pool round, with the results of ticking them one
   * after the other. Returns the changed accounts' results. `reuse`: an earlier update's `changed`
   * the caller no longer reads, whose buffer this update's list may take (update.ts ownedCopy).
   */
  async tick(underlying: string | readonly string[], market: MarginMarket, reuse?: Int32Array): Promise<BookUpdate> {
    const t0 = performance.now();
    const us = tickedUnderlyings(underlying, market);
    this.market = market;
    this.engineOf = null; // the single path's runner for the new market, made if needed
    let changed: Int32Array | null = null; // the accounts the tick re-margined, the update's own copy (made while the chunks aggregate when there is a pool)
    const slots = us.map((u) => this.ins.underlyings.indexOf(u)).filter((s) => s >= 0);
    const t1 = performance.now();
    let t3 = t1;
    let riskMs = 0;
    let revalueMs = 0;
    let chunks = noChunkStages();
    if (slots.length > 0 && this.table) {
      const moved = new Uint8Array(this.ins.underlyings.length);
      for (const s of slots) moved[s] = 1;
      const follow = this.rows.follow(moved, this.accounts, this.ins);
      const nList = this.accounts.holdersOf(moved, this.touched);
      t3 = performance.now();
      this.refreshStaleEquity();
      if (this.scheduler) {
        // the chunks are sent first; the main thread then reads the marks and revalues, the chunks waiting on `flag` for each
        this.ins.nextMatrix(this.ins.n);
        const flag = sharedI32(1);
        const tasks = this.scheduler.tickTasks(this, moved, this.touched, nList, this.accounts.equityArrays(this.ins, moved), follow, flag);
        const poison = (): void => tasks.forEach(poisonOutputs); // the first attempts' (pool.ts run): off the path before the marks
        const round = await this.scheduler.runTick(this, moved, tasks, () => {
          ({ marksMs: riskMs, revalueMs } = this.ins.refreshSignalling(slots, market, flag, poison));
          changed = ownedCopy(this.touched, nList, this.n, reuse); // while the chunks aggregate, the main thread waiting for them
        });
        if (round.stages) chunks = round.stages;
      } else for (const p of this.ins.refreshMarks(slots, market) ?? []) this.ins.revalue(p); // no scenario set: marks only (riskMs 0)
      for (const k of this.failures.accounts.keys()) this.staleEquity.add(k);
      changed ??= ownedCopy(this.touched, nList, this.n, reuse);
    }
    const t4 = performance.now();
    const all = mergeAscending(changed ?? new Int32Array(0), this.retickSingle(us));
    const t5 = performance.now();
    const stages = { marketMs: t1 - t0, riskMs, selectMs: t3 - t1, poolMs: t4 - t3, revalueMs, singleMs: t5 - t4 };
    return tickUpdate(all, (k) => this.result(k), t5 - t0, stages, chunks);
  }

  /** Every position's value of the accounts a failed tick chunk may have left part-revalued (then reduced by the round that follows). */
  private refreshStaleEquity(): void {
    if (this.staleEquity.size === 0) return;
    const eq = this.accounts.equityArrays(this.ins);
    for (const k of this.staleEquity) accountEquity(eq, this.red, k);
    this.staleEquity.clear();
  }

  /** Re-margins the single-path accounts touching a ticked underlying (and those whose error was missing market data); returns them, ascending. */
  private retickSingle(underlyings: readonly string[]): number[] {
    const changed: number[] = [];
    for (const [k, us] of this.singleUnderlyings) {
      if (this.path[k] !== Path.Single) continue;
      const prev = this.single.get(k);
      // errors that depend on market data may clear (or appear) with the new market
      if (underlyings.some((u) => us.has(u)) || (prev !== undefined && !prev.ok && prev.error.code === ErrorCodes.MISSING_MARKET_DATA)) {
        this.single.set(k, this.marginSingle(k));
        changed.push(k);
      }
    }
    return changed.length > 1 ? changed.sort((a, b) => a - b) : changed;
  }

  /**
   * Adds `changes` (trades at mark unless entryPrice is given) to one account (input index or
   * id) and returns its new margin. On a grid model the account stays vectorized: its new rows
   * are appended and aggregated here, the account re-reduced (its old rows are left dead until
   * the next load). Other accounts are re-margined by the account runner.
   */
  trade(account: number | string, changesIn: PositionChange[] | unknown): { index: number; result: BookAccountResult; ms: number } {
    const t0 = performance.now();
    const k = this.accountIndex(account);
    const changes = validateChanges(changesIn);
    let a: AccountInput;
    try {
      a = validateAccount(this.input(k));
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${this.ids[k]} is invalid, it cannot trade: ${e.message}`);
    }
    const added = changes.filter((c) => c.size !== 0).map((c) => (c.entryPrice === undefined ? { instrument: c.instrument, size: c.size } : { ...c }));
    this.rebook(k, { ...a, positions: [...a.positions, ...added] });
    return { index: k, result: this.result(k), ms: performance.now() - t0 };
  }

  /** Replaces account k by `next` (same id), re-margined on the current market: vectorized accounts stay vectorized (edited in place, or new rows appended as a trade's), others go to the single path. How a liquidation books its trades and cash. */
  replace(account: number | string, next: AccountInput): { index: number; result: BookAccountResult } {
    const k = this.replaceValid(account, validateAccount(next));
    return { index: k, result: this.result(k) };
  }

  /** replace() of a `next` built from a validated account (a plan's after-account): not validated again, no result built; returns its index. */
  replaceValid(account: number | string, next: AccountInput): number {
    const k = this.accountIndex(account);
    this.rebook(k, next);
    return k;
  }
  /** The book's workers, for other layers' jobs (a cascade round's plans: liquidation/plan-round.ts). */
  get pool(): ChunkRunner { return this.runner; }

  /** The input index of an account given by index or id. */
  private accountIndex(account: number | string): number {
    const k = typeof account === 'number' ? account : this.ids.indexOf(account);
    if (!Number.isInteger(k) || k < 0 || k >= this.n) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${JSON.stringify(account)} is not in the book`);
    return k;
  }

  /** Account k's input becomes `a` (valid): a vectorized account reduced is edited in place (edit.ts), else re-laid out vectorized if it can be, else single. */
  private rebook(k: number, a: AccountInput): void {
    this.roundHealth.drop(k);
    if (this.path[k] === Path.Grid && (this.editInPlace(k, a) || this.tradeVectorized(k, a))) this.inputs[k] = a;
    else this.setSingle(k, a);
  }

  /** Account k reduced to `a` in its own rows (no row appended, its holders unchanged; the rows it moves re-aggregated, all of a failed account's); false when `a` is not a reduction of it. */
  private editInPlace(k: number, a: AccountInput): boolean {
    const e = this.edit;
    if (!e.of(this.table!, this.accounts, this.rows, this.ins, this.red, k, a) || !this.rows.applyEdit(e, this.ins, this.failures.accounts.has(k))) return false;
    applyAccountSizes(this.accounts, e);
    this.remarginRows(k, e.rows.a, e.rows.n);
    return true;
  }

  private setSingle(k: number, next: AccountInput): void {
    const r = this.engine.margin(next);
    if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
    this.inputs[k] = next;
    this.path[k] = Path.Single;
    this.red.accKind[k] = AccKind.None;
    this.accounts.recordDeps(k, this.red, this.rows.rowSlot, this.ins);
    this.single.set(k, r);
    this.singleUnderlyings.set(k, touchedUnderlyings(next));
  }

  /** The vectorized trade; false when the account cannot stay vectorized (an error, or an underlying the book does not have). */
  private tradeVectorized(k: number, next: AccountInput): boolean {
    if (!tradeFits(this.table!, this.model.params.collateral, this.market, this.ins.underlyings.length, next)) return false;
    this.ins.extend(this.table!, this.market);
    const hold = this.tradeHold;
    hold.truncate(0, 0);
    const subBase = this.accounts.nSubs;
    const res = this.accounts.resolve(this.resolveContext(), next, k, hold);
    if (!res) return false;
    const rows = this.rows.append(hold, subBase, this.ins, this.red);
    this.setAccount(k, res);
    this.remarginRows(k, rows, rows.length);
    this.accounts.recordDeps(k, this.red, this.rows.rowSlot, this.ins);
    return true;
  }

  /** Aggregates rows[0, n) of account k here (remargin.ts: the pool's kernel, the same doubles), then its equity and figures. */
  private remarginRows(k: number, rows: ArrayLike<number>, n: number): void {
    this.remargin!.run(k, rows, n, this.ins, this.rows, this.accounts, this.red);
    this.failures.accounts.delete(k);
  }

  /** The result of account k (input order); a non-finite figure makes it an OPTMARGIN_NON_FINITE error. */
  result(k: number): BookAccountResult { return finiteOrError(this.rawResult(k)) as BookAccountResult; }

  /** Equity, IM, MM of account k into out[0..2]; returns its health index, −1 without a finite result (no allocation). */
  figuresInto(k: number, out: Float64Array): number { return figuresInto(this.red, this.rows, this.path[k] === Path.Single ? (this.single.get(k) ?? null) : undefined, k, out); }

  /** figuresInto of the accounts `indices` into the caller's arrays in one loop (results.ts figuresOfMany: a path tick's ~100k). */
  figuresOfMany(indices: ArrayLike<number>, into: FiguresOut): void { figuresOfMany(this.red, this.rows.loss, this.path, this.single, this.roundHealth.of, indices, into); }

  private rawResult(k: number): BookAccountResult {
    const id = this.ids[k];
    if (this.path[k] === Path.Single) return singleResult(this.single.get(k), id);
    return gridResult(this.red, this.rows, this.ins, this.failures, id, this.modes[k], k);
  }

  results(): BookAccountResult[] { return Array.from({ length: this.n }, (_, k) => this.result(k)); }

  /** The current input of account k (after any trade or replace), validated: a copy, or (`shared`) the book's own validated object for a caller that only reads it (a liquidation plan) — a load's, a trade's or a replace's; a columns load's account (its values validated as they were parsed) is built from its columns, and kept from its first shared use. */
  account(k: number, shared = false): AccountInput {
    if (!Number.isInteger(k) || k < 0 || k >= this.n) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account index ${k} is not in the book`);
    if (this.modes[k] === ('?' as AccountMode)) return validateAccount(this.input(k)); // throws its validation error
    const kept = this.inputs[k];
    if (kept !== undefined) return shared ? (kept as AccountInput) : validateAccount(kept);
    const a = this.cols!.account(k)!; // a columns load's: validated as parsed
    return shared ? (this.inputs[k] = a) : a;
  }

  /** Account ids in input order, and account k's mode. */
  accountIds(): readonly string[] { return this.ids; }
  modeOf(k: number): AccountMode { return this.modes[k]; }

  /** Every result in input order to `sink`, formatted on the pool's workers after a recompute (format.ts; format null: figures only). */
  streamResults(format: ResultFormat | null, sink: ResultSink, warn: (m: string) => void): Promise<void> { return streamResults(this, this.runner, format, sink, warn); }

  /** Number of holdings × scenarios aggregated per full recompute (every row, dead rows of traded accounts included). */
  get work(): number { return this.rows.csr.nHold * this.ins.nScen; }

  /** model / market header every serialized result set carries. */
  header(): BookHeader { return resultHeader(this.model, this.marketHash, this.market.valuationTime); }
}
