/**
 * The cascade simulator: a book moved along a path, liquidated by a mechanism at every step.
 * One step (Simulation.step, the function a backend can drive itself):
 *   1. tick     the book engine re-margins what the new market moved (incremental, per underlying),
 *               with the permanent price impact of earlier liquidations applied on top of the path;
 *   2. liquidate every account below maintenance margin (equity < MM; an isolated account: one of
 *               its positions below its own MM, plan-isolated.ts), in input order, each at
 *               most once per step, by the mechanism's plan (plan.ts); a round is a batch auction:
 *               each plan's impact is priced on the notional of the step's earlier rounds, not on
 *               the plans before it in the round; the book takes the account after the plan
 *               (BookEngine.replace: an in-place edit of its rows);
 *   3. shortfall a bankrupt account's negative equity (after its plan, or when it closes nothing), and
 *               an isolated plan's isolatedDeficit, are covered by the insurance fund, then
 *               socialised among the step's winners pro rata to their step profit, or deleveraged
 *               against ranked counterparties (ADL) — shortfall-book.ts; a Dutch auction's
 *               insolvent payouts (security module, then socialised) are that account's bad debt;
 *   4. impact   the liquidators' cumulative net flow of the step per underlying moves its price
 *               by the square-root law (execution.ts); when a round moves a price by more than
 *               impactTolerance the book ticks the moved underlyings again and
 *               newly liquidatable accounts are liquidated: rounds repeat until none is left or
 *               the move is within tolerance (at most maxRounds); the last move reaches the
 *               book with the next step's tick.
 * Closed ledger: Σ account equity + liquidators' gains + insurance fund changes only by the
 * market P&L of the ticks (the residual is reported every step; tests assert it is ~0). Exact
 * when settlement currencies carry no haircut (every shipped preset).
 */
import { check, ErrorCodes, OptmarginError } from '../errors.js';
import { BookEngine } from '../runner/book/runner.js';
import type { FiguresOut } from '../runner/book/results.js';
import { HEALTHS } from '../measures/health.js';
import { movedMarket, type MarginMarket } from '../market/margin-market.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadModel } from '../measures/models.js';
import type { AccountInput, LoadedModel } from '../measures/types.js';
import { impactFraction } from './execution.js';
import { summarizeBook, type BookSummaryBefore } from './book-summary.js';
import type { ColumnParts } from '../instruments/column-parts.js';
import { loadMechanism, type Mechanism } from './mechanism.js';
import { hashed } from './paths.js';
import { planRound, type RoundPlan } from './plan-round.js';
import { ShortfallBook } from './shortfall-book.js';
import { CurrencyLedger, emptyShortfall, ledgerOf, type CurrencyStep } from './ledger.js';
import { sumCurrencies, type BankruptAccount, type StepReport } from './step-report.js';
import type { InsuranceFund } from './shortfall.js';
import { firstUnpinned, pinBook } from './pin-entries.js';

export interface SimulationOptions {
  /**
   * The book: account values (validated and resolved here), or a parsed book's columns
   * (io/ingest.ts ingestBookParts' parts as ColumnParts: no object per account built). Futures
   * and perpetuals without an entry price are pinned to their forward on `market` (pin-entries.ts:
   * entered at the start's mark, their P&L follows the path). Omitted with `book`: the accounts
   * that engine holds, as loaded on `market` — loaded pinned (e.g. by ingestInto with `pin` as a
   * file is parsed: `optmargin simulate`); an engine holding such a future unpinned is refused
   * (INVALID_OPTION, naming the account and instrument).
   */
  accounts?: readonly unknown[] | ColumnParts;
  market: MarginMarket;
  model: string | LoadedModel;
  mechanism: string | Mechanism;
  threads?: number;
  /** starting insurance fund (USD; each currency's fund starts at it, converted at the first index); default the mechanism's insuranceFund.initialUsd */
  insuranceFundUsd?: number;
  /** cascade rounds per step (default 5) */
  maxRounds?: number;
  /**
   * A round whose impact moves no price by more than this (relative) ends the step's cascade:
   * the move is kept and reaches the book with the next step's tick (default 1e-3; 0: re-tick on
   * any move, as long as maxRounds allows).
   */
  impactTolerance?: number;
  /**
   * Re-lay the book out at the start of a step when the rows liquidations appended exceed this
   * fraction of the rows of the last load (default 0.5; Infinity: never): see compactIfDead.
   */
  compactDeadRows?: number;
  /**
   * Share each cascade round's plans with the book's worker pool (plan-round.ts shareRound: the
   * main thread plans chunks while the workers plan others; the same plans, booked in account
   * order; fixed-price mechanisms without hedging, on a price-only resolved market). Default
   * false: on the shared 2-core machine it paid only where plans are long, as in a deep crash,
   * and lost where they are short (docs/liquidation.md, *Plans on the pool*).
   */
  poolPlans?: boolean;
  /**
   * A book engine of the same model to load the accounts into (BookEngine.reload: its pool and
   * its workers' compiled code reused by simulations one after another — `optmargin simulate`'s
   * mechanisms under one model), or that holds them (`accounts` omitted); `threads` is then the
   * engine's. Not closed by close(): its owner's.
   */
  book?: BookEngine;
}

export class Simulation {
  readonly model: LoadedModel;
  readonly mechanism: Mechanism;
  readonly before: BookSummaryBefore;
  /** per-currency ledger: funds, Σ equity, liquidators' gains */
  readonly ledger: CurrencyLedger;
  private readonly book: BookEngine;
  private market: MarginMarket;
  /** permanent impact per underlying (relative), and the part of it the book's market has (the rest reaches it with the next tick) */
  private readonly impact = new Map<string, number>();
  private readonly applied = new Map<string, number>();
  private readonly tolerance: number;
  private readonly eq: Float64Array;
  private readonly mm: Float64Array;
  private readonly health: Int8Array;
  private readonly stepStartEq: Float64Array;
  /** where refreshAll reads the book's figures: eq, mm, health, and each account's change of equity */
  private readonly figs: FiguresOut;
  private readonly maxRounds: number;
  private readonly compactAt: number;
  private readonly poolPlans: boolean;
  private readonly givenBook: boolean;
  private readonly shortfall: ShortfallBook;
  private steps = 0;
  private ticks = 0; // book ticks since the step began
  /** the last tick's changed accounts (tickAll), handed back to the book's next tick (its buffer reused: no fresh pages per tick) */
  private lastChanged: Int32Array | undefined;
  private readonly bookUnderlyings: string[];

  private constructor(book: BookEngine, opts: SimulationOptions, model: LoadedModel, mechanism: Mechanism, ledger: CurrencyLedger) {
    this.book = book;
    this.model = model;
    this.mechanism = mechanism;
    this.market = opts.market;
    this.maxRounds = opts.maxRounds ?? 5;
    this.compactAt = opts.compactDeadRows ?? 0.5;
    this.poolPlans = opts.poolPlans ?? false;
    this.givenBook = opts.book !== undefined;
    this.tolerance = check.nonNegative('impactTolerance', opts.impactTolerance ?? 1e-3);
    this.ledger = ledger;
    const n = book.n;
    this.eq = new Float64Array(n);
    this.mm = new Float64Array(n);
    this.health = new Int8Array(n);
    this.stepStartEq = new Float64Array(n);
    this.figs = { eq: this.eq, mm: this.mm, health: this.health, delta: new Float64Array(n), scratch: new Float64Array(3) };
    this.refreshAll(Array.from({ length: n }, (_, k) => k));
    this.shortfall = new ShortfallBook(book, model, mechanism, ledger);
    const { before, underlyings } = summarizeBook(book, ledger, this.market, model, this.totalEquity);
    this.before = before;
    this.bookUnderlyings = underlyings;
  }

  /** Wall ms of create's stages: the book's load (validate, resolve), its first margin with the ledger's set-up, the book summary before the path (`before`). */
  readonly startup = { loadMs: 0, recomputeMs: 0, summaryMs: 0 };

  /** Loads the book (validate, resolve, first full margin) and returns the simulation. */
  static async create(opts: SimulationOptions): Promise<Simulation> {
    const t0 = performance.now();
    const model = typeof opts.model === 'string' ? loadModel(opts.model) : opts.model;
    const mechanism = loadMechanism(opts.mechanism);
    checkBookSource(opts, model);
    const book = opts.book ?? BookEngine.create({ market: opts.market, model, threads: opts.threads ?? 1 });
    const release = (): Promise<void> => (opts.book ? Promise.resolve() : book.close());
    // futures and perpetuals without an entry price entered at the start market's mark: the path moves show their P&L
    if (opts.accounts !== undefined) book.reload(pinBook(opts.accounts, opts.market), opts.market);
    const t1 = performance.now();
    await book.recompute();
    // a book that does not resolve is an input error: no account is silently left out of the ledger
    const fig = new Float64Array(3);
    for (let k = 0; k < book.n; k++) {
      if (book.figuresInto(k, fig) >= 0) continue;
      const r = book.result(k);
      if (!r.ok) {
        await release();
        throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the book does not resolve: account ${r.id} (#${k}): ${r.error.message}`, `accounts[${k}]`);
      }
    }
    const ledger = ledgerOf(book, model, mechanism, opts.insuranceFundUsd ?? mechanism.insuranceFund?.initialUsd ?? 0, opts.market);
    if (ledger instanceof OptmarginError) {
      await release();
      throw ledger;
    }
    const t2 = performance.now();
    const sim = new Simulation(book, opts, model, mechanism, ledger);
    Object.assign(sim.startup, { loadMs: t1 - t0, recomputeMs: t2 - t1, summaryMs: performance.now() - t2 });
    return sim;
  }

  /** Closes the book engine (its pool) unless it was given (SimulationOptions.book). */
  async close(): Promise<void> {
    if (!this.givenBook) await this.book.close();
  }

  /** Refreshes accounts (one bulk read of the book's figures); the change of Σ equity goes to the ledger's currencies (and to `pnl`, per currency, when given), in the order of `indices`. */
  private refreshAll(indices: ArrayLike<number>, pnl?: CurrencyStep[]): void {
    if (indices.length > this.figs.delta.length) this.figs.delta = new Float64Array(indices.length);
    this.book.figuresOfMany(indices, this.figs);
    const of = this.ledger.of;
    const d = this.figs.delta;
    // per currency, its accounts' changes added one by one in the order of indices (the sums in locals: one pass per currency)
    for (let c = 0; c < this.ledger.n; c++) {
      let eq = this.ledger.equity[c];
      let mp = pnl ? pnl[c].marketPnl : 0;
      for (let i = 0; i < indices.length; i++) {
        if (of[indices[i]] !== c) continue;
        eq += d[i];
        mp += d[i];
      }
      this.ledger.equity[c] = eq;
      if (pnl) pnl[c].marketPnl = mp;
    }
  }

  /** Σ account equity now (accounts with a result), in USD: each currency at the book's index. */
  get totalEquity(): number {
    let s = 0;
    for (let c = 0; c < this.ledger.n; c++) s += this.ledger.equity[c] * this.ledger.price(c, this.market);
    return s;
  }

  /** Account k (input order) as the book holds it now, in the input format: after the liquidations and transfers booked so far. */
  account(k: number): AccountInput {
    return this.book.account(k);
  }

  /** The insurance funds now, in USD (each currency's at the book's index). */
  get insuranceFundUsd(): number {
    return this.ledger.fundsUsd(this.market);
  }

  /** The insurance fund of each margin currency (its units). */
  get funds(): Record<string, InsuranceFund> {
    return Object.fromEntries(this.ledger.currencies.map((c, i) => [c, this.ledger.funds[i]]));
  }

  /** The path's market with the permanent impact of liquidations applied (the part the book has: `applied`). */
  private withImpact(m: MarginMarket): MarginMarket {
    const moves: Record<string, number> = {};
    for (const [u, x] of this.applied) if (x !== 0 && m.hasUnderlying(u)) moves[u] = x;
    if (Object.keys(moves).length === 0) return m;
    // a resolved market's shocked view keeps the book engine's fast revaluation path
    if (typeof (m as Partial<ResolvedMarket>).shocked === 'function') return (m as ResolvedMarket).shocked({ priceMove: moves });
    let out = hashed(m);
    for (const [u, x] of Object.entries(moves)) out = movedMarket(out, u, x, out.hash);
    return out;
  }

  /**
   * Ticks the book to `m` on `underlyings` — those whose data did not change since the last
   * tick are skipped (their accounts cannot have moved) — in one book tick (one pool round for
   * all of them: BookEngine.tick of several underlyings), and refreshes the changed accounts,
   * their change of equity booked as market P&L of `recs`' currencies. Returns the changed
   * accounts, ascending (the update's own typed array: no plain-array copy per tick).
   */
  private async tickAll(m: MarginMarket, underlyings: readonly string[], recs: CurrencyStep[]): Promise<Int32Array> {
    const prev = this.market as Partial<ResolvedMarket>;
    const moved: string[] = [];
    for (const u of underlyings) {
      if (!m.hasUnderlying(u)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the path's market has no underlying ${JSON.stringify(u)} the book holds`);
      if (typeof prev.sameUnderlying === 'function' && prev.sameUnderlying(m, u)) continue;
      moved.push(u);
    }
    this.market = m;
    if (moved.length === 0) return NONE;
    // the last tick's list is read no more (the step's rounds read only the latest): its buffer goes to this one
    const upd = await this.book.tick(moved, m, this.lastChanged);
    this.lastChanged = upd.changed;
    this.ticks++;
    this.refreshAll(upd.changed, recs);
    return upd.changed; // the update's own array, written by no one after the tick: no copy
  }

  /** One step of the path: tick to `market`, liquidate, cover shortfalls, cascade through impact. */
  async step(pathMarket: MarginMarket, label = `step ${this.steps + 1}`, dailyVol: Record<string, number> = {}): Promise<StepReport> {
    const t0 = performance.now();
    const us = this.bookUnderlyings;
    const start = this.ledger.mark();
    const recs = this.ledger.stepRecords();
    this.stepStartEq.set(this.eq);
    this.shortfall.beginStep();
    const r: StepReport = {
      step: ++this.steps, label, spot: {}, impact: {}, rounds: 0, ticks: 0, liquidated: 0, liquidatedAccounts: [], bankruptAccounts: [], volumeUsd: 0, fees: 0, liquidatorGain: 0, marketPnl: 0, ...emptyShortfall(), insuranceFund: 0, accountsFailed: 0,
      ledger: { accounts: 0, liquidators: 0, insuranceFund: 0, printed: 0, residual: 0 }, currencies: recs, ms: 0, stages: { tickMs: 0, liquidateMs: 0, bookMs: 0, shortfallMs: 0, compactMs: 0 },
    };
    await this.compactIfDead();
    this.ticks = 0;
    const t1 = performance.now();
    r.stages.compactMs = t1 - t0;
    for (const [u, x] of this.impact) this.applied.set(u, x);
    let changed = await this.tickAll(this.withImpact(pathMarket), us, recs);
    let ta = performance.now();
    r.stages.tickMs += ta - t1;
    const done = new Set<number>();
    const cum: Record<string, number> = {};
    const net = new Map<string, number>();
    const base = new Map(this.impact);
    while (r.rounds < this.maxRounds) {
      // the first round looks at every account (an unchanged one may still be below MM), the cascade's at those its ticks moved
      const todo = this.belowMm(r.rounds === 0 ? null : changed, done);
      if (todo.length === 0) break;
      r.rounds++;
      for (const k of todo) done.add(k);
      // a batch auction: every plan of the round prices its impact against the step's flow before the round (not the plans before it in the round);
      // planned on the pool's workers (plan-round.ts), booked here in account order
      const round = { book: this.book, model: this.model, mechanism: this.mechanism, market: this.market, pool: this.poolPlans };
      await planRound(round, todo, { ...cum }, (k) => this.ledger.funds[this.ledger.of[k]].balance, (k, plan) => {
        const tk = performance.now();
        if (plan) this.liquidate(k, plan, cum, net, r, recs[this.ledger.of[k]]);
        // a bankrupt account's deficit as the book margins it after its plan (the ledger's figures) — also when the plan closes
        // nothing (no position left, or no step improves it) — and an isolated plan's, which the account was never charged (plan-isolated.ts)
        const pre = plan ? plan.totals.isolatedDeficit / this.ledger.price(this.ledger.of[k], this.market) : 0;
        const deficit = pre + Math.max(-this.eq[k], 0);
        if (deficit > 0) this.shortfall.add(k, deficit, plan, pre);
        // an insolvent auction's payout is the account's bad debt (bankrupt: counted with its deficit, if any)
        if (plan) this.shortfall.payout(k, plan.totals, recs[this.ledger.of[k]], this.ledger.price(this.ledger.of[k], this.market), deficit > 0);
        r.stages.bookMs += performance.now() - tk;
      });
      const tb = performance.now();
      r.stages.liquidateMs += tb - ta;
      this.shortfall.settle(this.eq, this.stepStartEq, recs, (ks) => this.refreshAll(ks));
      const tc = performance.now();
      r.stages.shortfallMs += tc - tb;
      // the cascade: the liquidators' net flow moves prices; the book ticks again unless the move is within tolerance
      const moved = this.applyImpact(net, base, dailyVol);
      if (moved.length === 0 || r.rounds === this.maxRounds) break;
      for (const u of moved) this.applied.set(u, this.impact.get(u)!);
      changed = await this.tickAll(this.withImpact(pathMarket), moved, recs);
      ta = performance.now();
      r.stages.tickMs += ta - tc;
    }
    r.ticks = this.ticks;
    for (const u of us) {
      r.spot[u] = this.market.spot(u);
      r.impact[u] = this.impact.get(u) ?? 0;
    }
    for (let k = 0; k < this.health.length; k++) if (this.health[k] < 0) r.accountsFailed++;
    this.ledger.close(recs, start, this.market);
    sumCurrencies(r, recs);
    r.bankruptAccounts = this.bankruptAccounts(recs);
    r.ms = performance.now() - t0;
    return r;
  }

  /** The step's bankrupt accounts (the shortfall desk's), each at its currency's closing index. */
  private bankruptAccounts(recs: readonly CurrencyStep[]): BankruptAccount[] {
    const ids = this.book.accountIds();
    return this.shortfall.bankrupts().map(({ k, figures: { bankrupt: _one, ...own } }) => {
      const c = recs[this.ledger.of[k]];
      return { account: k, id: ids[k], currency: c.currency, ...own, badDebtUsd: own.badDebt * c.price };
    });
  }

  /**
   * The step's permanent impact: the square-root law on the liquidators' cumulative net flow of
   * the step per underlying (coin, at the current index), on top of the impact before the step
   * (`base`). Returns the underlyings whose price this round moved by more than the tolerance
   * (relative): the book re-ticks those; a smaller move is kept and reaches the book with the
   * next step's tick.
   */
  private applyImpact(net: ReadonlyMap<string, number>, base: ReadonlyMap<string, number>, dailyVol: Record<string, number>): string[] {
    const moved: string[] = [];
    for (const [u, coin] of net) {
      const x = Math.sign(coin) * impactFraction(this.mechanism.impact, u, Math.abs(coin) * this.market.spot(u), dailyVol[u]);
      const next = (1 + (base.get(u) ?? 0)) * (1 + x) - 1;
      const prev = this.impact.get(u) ?? 0;
      if (next === prev) continue;
      this.impact.set(u, next);
      if (Math.abs((1 + next) / (1 + (this.applied.get(u) ?? 0)) - 1) > this.tolerance) moved.push(u);
    }
    return moved.sort();
  }

  /**
   * BookEngine.replace edits a liquidated account in place; only an account given a new position
   * or currency (a fund transfer in a currency it did not hold) is re-laid out — new rows
   * appended, its old rows left dead, still aggregated by every tick: when the appended rows exceed
   * compactAt × the loaded rows, the book loads the same accounts again on the current market.
   * The figures are the same doubles (the runners agree after trades: test/runners-agree); any
   * difference would show in the step's ledger residual. Timed as the step's compactMs.
   */
  private async compactIfDead(): Promise<void> {
    const rows = this.book.rows;
    if (!(rows.nRows - rows.loadedRows > this.compactAt * rows.loadedRows)) return;
    const accounts = Array.from({ length: this.book.n }, (_, k) => this.book.account(k));
    this.book.load(accounts);
    await this.book.recompute();
    this.refreshAll(Array.from({ length: this.book.n }, (_, k) => k));
  }

  /**
   * Accounts among `candidates` (null: all) below maintenance margin (liquidatable or bankrupt:
   * equity < MM — for an isolated account, a position's own equity below its own MM, or the
   * account's equity negative) and not yet liquidated in this step, ascending.
   */
  private belowMm(candidates: Int32Array | null, done: Set<number>): number[] {
    const out: number[] = [];
    const below = (k: number): boolean => !done.has(k) && this.health[k] >= 2;
    if (candidates) {
      for (let i = 0; i < candidates.length; i++) if (below(candidates[i])) out.push(candidates[i]);
    } else {
      for (let k = 0; k < this.eq.length; k++) if (below(k)) out.push(k);
    }
    return out;
  }

  /** Books account k's plan (planned on the round's market, impact priced on the step's earlier rounds): its notional adds to `cum`, its net delta to `flow`. */
  private liquidate(k: number, plan: RoundPlan, cum: Record<string, number>, flow: Map<string, number>, r: StepReport, rc: CurrencyStep): void {
    const c = this.ledger.of[k];
    r.liquidated++;
    r.liquidatedAccounts.push(k);
    r.volumeUsd += plan.totals.closedNotionalUsd;
    r.fees += plan.totals.fees;
    r.liquidatorGain += plan.totals.liquidatorGain;
    // the plan's USD amounts in the account's currency, at the index its coin bookings used
    const usd = this.ledger.price(c, this.market);
    rc.fees += plan.totals.fees / usd;
    rc.liquidatorGain += plan.totals.liquidatorGain / usd;
    this.ledger.liquidators[c] += plan.totals.liquidatorGain / usd;
    this.ledger.depositFees(c, plan.totals.fees, plan.fees, plan.fees ? this.book.account(k, true) : null, usd);
    for (let j = 0; j < plan.flowU.length; j++) {
      const u = plan.flowU[j];
      cum[u] = (cum[u] ?? 0) + plan.flowNotional[j];
      flow.set(u, (flow.get(u) ?? 0) + plan.flowCoin[j]);
    }
    this.shortfall.planned(k, plan);
    this.book.replaceValid(k, plan.account);
    this.refreshAll([k]);
  }
}

/**
 * A simulation's book: its accounts, or (omitted) the engine given as loaded on the simulation's
 * market; an engine given margins with the simulation's model. INVALID_OPTION otherwise.
 */
function checkBookSource(opts: SimulationOptions, model: LoadedModel): void {
  const b = opts.book;
  if (b && b.model.hash !== model.hash) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `the book engine given margins with model ${b.model.params.id} (${b.model.hash}), the simulation with ${model.params.id} (${model.hash})`);
  if (opts.accounts !== undefined) return;
  if (!b) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'accounts is required unless a loaded book engine is given (book)', 'accounts');
  if (b.market !== opts.market) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'the book engine given holds its accounts on another market than the simulation\'s: give the accounts to load them on it', 'market');
  const u = firstUnpinned(b, opts.market);
  if (u) {
    const why = `account ${JSON.stringify(b.accountIds()[u.k])} (#${u.k}) holds ${u.instrument} without an entry price, which the path would re-enter at each step's mark (no P&L)`;
    throw new OptmarginError(ErrorCodes.INVALID_OPTION, `the book engine given was not loaded pinned: ${why}; load it pinned on the simulation's market (BookEngine.reload(liquidation.pinBook(accounts, market), market)) or give the accounts`, 'book');
  }
}

/** No account changed (a tick that moved nothing). */
const NONE = new Int32Array(0);

export { HEALTHS };
export type { BookSummaryBefore, BankruptAccount, StepReport };
