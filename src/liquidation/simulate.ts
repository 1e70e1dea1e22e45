/**
 * The cascade simulator: a book moved along a path, liquidated by a mechanism at every step.
 * One step (Simulation.step, the function a backend can drive itself):
 *   1. tick     the book engine re-margins what the new market moved (incremental, per underlying),
 *               with the permanent price impact of earlier liquidations applied on top of the path;
 *   2. liquidate every account below maintenance margin (equity < MM), in input order, each at
 *               most once per step, by the mechanism's plan (plan.ts: the margin engine re-margins
 *               every step of it); the book takes the account after the plan (BookEngine.replace);
 *   3. shortfall a bankrupt account's negative equity is covered by the insurance fund, then
 *               socialised among the step's winners pro rata to their step profit, or deleveraged
 *               against ranked counterparties (ADL) — shortfall-book.ts;
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
import { HEALTHS } from '../measures/health.js';
import { MarginEngine } from '../runner/account/runner.js';
import { movedMarket, type MarginMarket } from '../market/margin-market.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadModel } from '../measures/models.js';
import type { AccountInput, LoadedModel } from '../measures/types.js';
import { deltaQty, impactFraction, notionalUsd, positionFacts } from './execution.js';
import { loadMechanism, type Mechanism } from './mechanism.js';
import { hashed } from './paths.js';
import { planLiquidation, type LiquidationPlan } from './plan.js';
import { ShortfallBook, type ShortfallTotals } from './shortfall-book.js';
import { InsuranceFund } from './shortfall.js';

export interface SimulationOptions {
  accounts: readonly unknown[];
  market: MarginMarket;
  model: string | LoadedModel;
  mechanism: string | Mechanism;
  threads?: number;
  /** starting insurance fund (USD); default the mechanism's insuranceFund.initialUsd */
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
}

/** One step's report; the shortfall figures (bad debt, fund cover, socialised, ADL, unrecovered, printed) come from ShortfallTotals. */
export interface StepReport extends ShortfallTotals {
  step: number;
  label: string;
  spot: Record<string, number>;
  /** cumulative permanent price impact per underlying (relative) */
  impact: Record<string, number>;
  rounds: number;
  liquidated: number;
  /** input indices of the accounts liquidated in this step, ascending by round then index */
  liquidatedAccounts: number[];
  volumeUsd: number;
  fees: number;
  liquidatorGain: number;
  marketPnl: number;
  insuranceFund: number;
  accountsFailed: number;
  ledger: { accounts: number; liquidators: number; insuranceFund: number; printed: number; residual: number };
  ms: number;
  stages: { tickMs: number; liquidateMs: number; shortfallMs: number };
}

export interface BookSummaryBefore {
  accounts: number;
  accountsFailed: number;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  grossNotionalUsd: number;
  /** capital efficiency: Σ IM / Σ gross notional */
  imPerNotional: number;
  liquidatable: number;
}

export class Simulation {
  readonly model: LoadedModel;
  readonly mechanism: Mechanism;
  readonly fund: InsuranceFund;
  readonly before: BookSummaryBefore;
  liquidatorGains = 0;
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
  private readonly fig = new Float64Array(3);
  private readonly maxRounds: number;
  private readonly compactAt: number;
  private readonly shortfall: ShortfallBook;
  private sumEq = 0;
  private steps = 0;
  private readonly bookUnderlyings: string[];
  private readonly gross0: Float64Array;
  /** scratch of tickAll: accounts already counted as changed */
  private readonly seen: Uint8Array;

  private constructor(book: BookEngine, opts: SimulationOptions, model: LoadedModel, mechanism: Mechanism) {
    this.book = book;
    this.model = model;
    this.mechanism = mechanism;
    this.market = opts.market;
    this.maxRounds = opts.maxRounds ?? 5;
    this.compactAt = opts.compactDeadRows ?? 0.5;
    this.tolerance = check.nonNegative('impactTolerance', opts.impactTolerance ?? 1e-3);
    this.fund = new InsuranceFund(opts.insuranceFundUsd ?? mechanism.insuranceFund?.initialUsd ?? 0);
    const n = book.n;
    this.eq = new Float64Array(n);
    this.mm = new Float64Array(n);
    this.health = new Int8Array(n);
    this.stepStartEq = new Float64Array(n);
    this.seen = new Uint8Array(n);
    for (let k = 0; k < n; k++) this.refresh(k);
    this.sumEq = this.eq.reduce((a, x) => a + x, 0);
    this.shortfall = new ShortfallBook(book, model, mechanism, this.fund);
    this.gross0 = new Float64Array(n);
    const us = new Set<string>();
    this.before = this.summarize(opts.accounts, us);
    this.bookUnderlyings = [...us].sort();
    this.shortfall.start(this.eq, this.gross0);
  }

  /** Loads the book (validate, resolve, first full margin) and returns the simulation. */
  static async create(opts: SimulationOptions): Promise<Simulation> {
    const model = typeof opts.model === 'string' ? loadModel(opts.model) : opts.model;
    const mechanism = loadMechanism(opts.mechanism);
    const book = BookEngine.create({ market: opts.market, model, threads: opts.threads ?? 1 });
    book.load(opts.accounts);
    await book.recompute();
    // a book that does not resolve is an input error: no account is silently left out of the ledger
    const fig = new Float64Array(3);
    for (let k = 0; k < book.n; k++) {
      if (book.figuresInto(k, fig) >= 0) continue;
      const r = book.result(k);
      if (!r.ok) {
        await book.close();
        throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the book does not resolve: account ${r.id} (#${k}): ${r.error.message}`, `accounts[${k}]`);
      }
    }
    return new Simulation(book, opts, model, mechanism);
  }

  async close(): Promise<void> {
    await this.book.close();
  }

  private refresh(k: number): void {
    const h = this.book.figuresInto(k, this.fig);
    this.health[k] = h;
    if (h < 0) {
      this.eq[k] = 0;
      this.mm[k] = 0;
      return;
    }
    this.eq[k] = this.fig[0];
    this.mm[k] = this.fig[2];
  }

  /** Refreshes accounts and returns the change of Σ equity. */
  private refreshAll(indices: readonly number[]): number {
    let d = 0;
    for (const k of indices) {
      const old = this.eq[k];
      this.refresh(k);
      d += this.eq[k] - old;
    }
    this.sumEq += d;
    return d;
  }

  private summarize(accounts: readonly unknown[], us: Set<string>): BookSummaryBefore {
    const engine = new MarginEngine({ market: hashed(this.market), model: this.model });
    let gross = 0;
    let im = 0;
    let mm = 0;
    let failed = 0;
    let liq = 0;
    for (let k = 0; k < this.book.n; k++) {
      const h = this.book.figuresInto(k, this.fig);
      if (h < 0) {
        failed++;
        continue;
      }
      im += this.fig[1];
      mm += this.fig[2];
      if (h >= 2) liq++;
      const a = this.book.account(k);
      let g = 0;
      a.positions.forEach((p, j) => {
        const f = positionFacts(engine.table, p, j);
        us.add(f.underlying);
        g += notionalUsd(f, p.size);
      });
      this.gross0[k] = g;
      gross += g;
    }
    return { accounts: accounts.length, accountsFailed: failed, equity: this.sumEq, initialMargin: im, maintenanceMargin: mm, grossNotionalUsd: gross, imPerNotional: gross > 0 ? im / gross : 0, liquidatable: liq };
  }

  /** Σ account equity now (accounts with a result). */
  get totalEquity(): number {
    return this.sumEq;
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
   * tick are skipped (their accounts cannot have moved) — and refreshes the changed accounts.
   * Returns the market P&L and the changed accounts, ascending.
   */
  private async tickAll(m: MarginMarket, underlyings: readonly string[]): Promise<{ pnl: number; changed: number[] }> {
    let pnl = 0;
    const prev = this.market as Partial<ResolvedMarket>;
    const seen = this.seen;
    seen.fill(0);
    let ticks = 0;
    let last: readonly number[] = [];
    for (const u of underlyings) {
      if (!m.hasUnderlying(u)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the path's market has no underlying ${JSON.stringify(u)} the book holds`);
      if (typeof prev.sameUnderlying === 'function' && prev.sameUnderlying(m, u)) continue;
      const upd = await this.book.tick(u, m);
      pnl += this.refreshAll(upd.indices);
      for (const k of upd.indices) seen[k] = 1;
      last = upd.indices;
      ticks++;
    }
    this.market = m;
    // one tick's indices are ascending already; several: the union, ascending, from the marks
    if (ticks <= 1) return { pnl, changed: last.slice() };
    const changed: number[] = [];
    for (let k = 0; k < seen.length; k++) if (seen[k]) changed.push(k);
    return { pnl, changed };
  }

  /** One step of the path: tick to `market`, liquidate, cover shortfalls, cascade through impact. */
  async step(pathMarket: MarginMarket, label = `step ${this.steps + 1}`, dailyVol: Record<string, number> = {}): Promise<StepReport> {
    const t0 = performance.now();
    const us = this.bookUnderlyings;
    const L0 = this.liquidatorGains;
    const F0 = this.fund.balance;
    const A0 = this.sumEq;
    this.stepStartEq.set(this.eq);
    const r: StepReport = {
      step: ++this.steps, label, spot: {}, impact: {}, rounds: 0, liquidated: 0, liquidatedAccounts: [], bankrupt: 0, volumeUsd: 0, fees: 0, liquidatorGain: 0, marketPnl: 0,
      badDebt: 0, insuranceCovered: 0, socialised: 0, adlPositions: 0, adlCharged: 0, unrecovered: 0, printed: 0, insuranceFund: 0, accountsFailed: 0,
      ledger: { accounts: 0, liquidators: 0, insuranceFund: 0, printed: 0, residual: 0 }, ms: 0, stages: { tickMs: 0, liquidateMs: 0, shortfallMs: 0 },
    };
    await this.compactIfDead();
    for (const [u, x] of this.impact) this.applied.set(u, x);
    let tick = await this.tickAll(this.withImpact(pathMarket), us);
    r.marketPnl += tick.pnl;
    let ta = performance.now();
    r.stages.tickMs += ta - t0;
    const done = new Set<number>();
    const cum: Record<string, number> = {};
    const net = new Map<string, number>();
    const base = new Map(this.impact);
    while (r.rounds < this.maxRounds) {
      // the first round looks at every account (an unchanged one may still be below MM), the cascade's at those its ticks moved
      const todo = this.belowMm(r.rounds === 0 ? null : tick.changed, done);
      if (todo.length === 0) break;
      r.rounds++;
      const engine = new MarginEngine({ market: hashed(this.market), model: this.model });
      for (const k of todo) {
        done.add(k);
        const plan = this.liquidate(k, engine, cum, net, r);
        // the deficit as the book margins the account after the plan (the ledger's figures)
        if (plan && this.eq[k] < 0) this.shortfall.add(k, -this.eq[k], plan);
      }
      const tb = performance.now();
      r.stages.liquidateMs += tb - ta;
      this.shortfall.settle(this.eq, this.stepStartEq, r, (ks) => this.refreshAll(ks));
      const tc = performance.now();
      r.stages.shortfallMs += tc - tb;
      // the cascade: the liquidators' net flow moves prices; the book ticks again unless the move is within tolerance
      const moved = this.applyImpact(net, base, dailyVol);
      if (moved.length === 0 || r.rounds === this.maxRounds) break;
      for (const u of moved) this.applied.set(u, this.impact.get(u)!);
      tick = await this.tickAll(this.withImpact(pathMarket), moved);
      r.marketPnl += tick.pnl;
      ta = performance.now();
      r.stages.tickMs += ta - tc;
    }
    for (const u of us) {
      r.spot[u] = this.market.spot(u);
      r.impact[u] = this.impact.get(u) ?? 0;
    }
    for (let k = 0; k < this.health.length; k++) if (this.health[k] < 0) r.accountsFailed++;
    r.insuranceFund = this.fund.balance;
    const dA = this.sumEq - A0;
    const dL = this.liquidatorGains - L0;
    const dF = this.fund.balance - F0;
    r.ledger = { accounts: dA, liquidators: dL, insuranceFund: dF, printed: r.printed, residual: dA + dL + dF - r.marketPnl - r.printed };
    r.ms = performance.now() - t0;
    return r;
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
   * A liquidated account is re-laid out by BookEngine.replace (new rows appended, its old rows
   * left dead), and every tick still aggregates the dead rows: when the appended rows exceed
   * compactAt × the loaded rows, the book loads the same accounts again on the current market.
   * The figures are the same doubles (the runners agree after trades: test/runners-agree); any
   * difference would show in the step's ledger residual. Timed with the step's tick.
   */
  private async compactIfDead(): Promise<void> {
    const rows = this.book.rows;
    if (!(rows.nRows - rows.loadedRows > this.compactAt * rows.loadedRows)) return;
    const accounts = Array.from({ length: this.book.n }, (_, k) => this.book.account(k));
    this.book.load(accounts);
    await this.book.recompute();
    this.refreshAll(Array.from({ length: this.book.n }, (_, k) => k));
  }

  /** Accounts among `candidates` (null: all) below maintenance margin and not yet liquidated in this step, ascending. */
  private belowMm(candidates: readonly number[] | null, done: Set<number>): number[] {
    const out: number[] = [];
    const below = (k: number): boolean => !done.has(k) && this.health[k] >= 2 && this.eq[k] < this.mm[k];
    if (candidates) {
      for (const k of candidates) if (below(k)) out.push(k);
    } else {
      for (let k = 0; k < this.eq.length; k++) if (below(k)) out.push(k);
    }
    return out;
  }

  /** Liquidates account k by the mechanism's plan and books the result on the book. */
  private liquidate(k: number, engine: MarginEngine, cum: Record<string, number>, flow: Map<string, number>, r: StepReport): LiquidationPlan | null {
    const a = this.book.account(k);
    const plan = planLiquidation(engine, a, { mechanism: this.mechanism, priorNotional: cum, securityModuleBalance: this.fund.balance });
    if (plan.steps.length === 0) return null;
    r.liquidated++;
    r.liquidatedAccounts.push(k);
    r.volumeUsd += plan.totals.closedNotionalUsd;
    r.fees += plan.totals.fees;
    r.liquidatorGain += plan.totals.liquidatorGain;
    this.liquidatorGains += plan.totals.liquidatorGain;
    this.fund.deposit(plan.totals.fees);
    // a Dutch auction's insolvent bidders are paid by the security module (= the fund) and by socialisation
    if (plan.totals.securityModulePaid > 0) this.fund.cover(plan.totals.securityModulePaid);
    this.recordFlow(engine, a, plan, cum, flow);
    this.book.replace(k, plan.after.account);
    this.refreshAll([k]);
    if (plan.totals.socialised > 0) this.shortfall.addPrinted(k, plan.totals.socialised);
    return plan;
  }

  private recordFlow(engine: MarginEngine, a: AccountInput, plan: LiquidationPlan, cum: Record<string, number>, flow: Map<string, number>): void {
    const add = (u: string, notional: number, coin: number): void => {
      cum[u] = (cum[u] ?? 0) + notional;
      flow.set(u, (flow.get(u) ?? 0) + coin);
    };
    for (const s of plan.steps) {
      if (s.type === 'close') {
        const f = positionFacts(engine.table, a.positions[s.position], s.position);
        add(f.underlying, s.notionalUsd, -deltaQty(engine.table, f, -s.size)); // the liquidator sells what the account was long
      } else if (s.type === 'auction-bid' && s.percent > 0) {
        a.positions.forEach((p, j) => {
          const f = positionFacts(engine.table, p, j);
          add(f.underlying, notionalUsd(f, p.size * s.percent), -deltaQty(engine.table, f, p.size * s.percent));
        });
      }
    }
  }
}

export { HEALTHS };
