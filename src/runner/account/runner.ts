/**
 * The account runner: one market × one model, one account at a time (what-if in microseconds).
 *   validate  account JSON → AccountInput (instruments/account.ts)
 *   resolve   → instrument indices, sizes, values, collateral lines (instruments/resolve.ts;
 *             each distinct instrument parsed and valued once per runner)
 *   measure   the model's mechanism: rule-based (measures/standard.ts), scenario grid
 *             (measures/grid: revaluation under the model's scenario set, aggregation, the
 *             shared row/reduce arithmetic the book's workers also run), Lyra PMRM (measures/lyra)
 *   result    the measure's outcome with the model, market hash and valuation time.
 * `MarginEngine` is this runner's public name (kept for the package API).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import { validateAccount, validateChanges } from '../../instruments/account.js';
import { AccountResolver } from '../../instruments/resolve.js';
import { InstrumentTable, type ValuedInstruments } from '../../instruments/table.js';
import { liquidationPrices } from '../../liquidation/price.js';
import { marketHashOf, type MarginMarket } from '../../market/margin-market.js';
import { PmeAccountMeasure } from '../../measures/deribit-pme/measure.js';
import { okxPmMargin } from '../../measures/okx-pm/account.js';
import { GridAccountMeasure } from '../../measures/grid/account.js';
import { gridMeasureParams } from '../../measures/grid/params.js';
import type { LyraFeeds } from '../../measures/lyra/pmrm.js';
import { lyraMargin } from '../../measures/lyra/pmrm.js';
import { finiteOrError } from '../../measures/finite.js';
import { resolveModel } from '../../measures/models.js';
import type { MarginOutcome } from '../../measures/outcome.js';
import { ruleBasedMargin } from '../../measures/standard.js';
import { VarEsAccountMeasure, varEsSetsOf } from '../../measures/var-es/measure.js';
import type {
  AccountInput,
  LiquidationPrices,
  LoadedModel,
  MarginFigures,
  MarginModel,
  MarginResult,
  MarginResultError,
  MarginResultOk,
  PositionChange,
  WhatIfResult,
} from '../../measures/types.js';
import { gridScenarioSet } from '../../scenarios/grid.js';
import { PortfolioPnl } from '../../scenarios/portfolio-pnl.js';
import { Revaluation, type KnownValues } from '../../scenarios/revaluation.js';
import type { ScenarioSet } from '../../scenarios/types.js';

import { figuresOf } from '../../measures/health.js';

export { healthOf, worseHealth } from '../../measures/health.js';

/** The error result of an account: OptmarginErrors keep their code; anything else is an engine bug (INTERNAL). */
export function errorResult(id: string, e: unknown): MarginResultError {
  if (e instanceof OptmarginError) {
    const error: MarginResultError['error'] = { code: e.code, message: e.message };
    if (e.path !== undefined) error.path = e.path;
    return { id, ok: false, error };
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { id, ok: false, error: { code: ErrorCodes.INTERNAL, message: `internal error (please report it): ${message}` } };
}

/** What MarginEngine.figures returns: the headline figures, or margin()'s error. */
export type FiguresResult = (MarginFigures & { id: string; ok: true }) | MarginResultError;

export interface MarginEngineOptions {
  market: MarginMarket;
  /** A LoadedModel, a preset id / file path, or a parameter object. */
  model: LoadedModel | MarginModel | string;
  /** Lyra/Derive feeds the market model does not carry (per-expiry rates, fixed forward portions, confidences). */
  lyraFeeds?: LyraFeeds;
  /**
   * Grid models: per-unit scenario values already computed for this market's data and this
   * model's scenario set (a book's matrix: BookEngine.knownValues), copied instead of priced.
   */
  knownValues?: KnownValues | null;
  /** Instruments already valued on this market's data (a book's: BookInstruments.valued), copied instead of parsed and valued. */
  valued?: ValuedInstruments | null;
}

export class MarginEngine {
  readonly market: MarginMarket;
  readonly model: LoadedModel;
  readonly marketHash: string;
  readonly table: InstrumentTable;
  readonly resolver: AccountResolver;
  /** grid models: the model's scenario set, its revaluation on this market and the measure; else null */
  readonly scenarioSet: ScenarioSet | null;
  readonly risk: Revaluation | null;
  private readonly gridMeasure: GridAccountMeasure | null;
  /** var-es models: the measure over the model's scenario sets revalued on this market; else null */
  private readonly varEs: VarEsAccountMeasure | null;
  /** deribit-pme models: the measure (with its what-if state); else null */
  private readonly pme: PmeAccountMeasure | null;
  readonly lyraFeeds: LyraFeeds | undefined;

  constructor(opts: MarginEngineOptions) {
    this.market = opts.market;
    this.model = resolveModel(opts.model);
    this.marketHash = marketHashOf(opts.market);
    this.table = new InstrumentTable(opts.market, 64, opts.valued ?? null);
    const p = this.model.params;
    this.resolver = new AccountResolver(this.table, this.market, p.collateral, p.id);
    this.lyraFeeds = opts.lyraFeeds;
    this.varEs = p.mechanism === 'var-es' ? new VarEsAccountMeasure(p, varEsSetsOf(this.model), this.table, this.resolver) : null;
    this.pme = p.mechanism === 'deribit-pme' ? new PmeAccountMeasure(this, p) : null;
    if (p.mechanism === 'scenario-grid') {
      this.scenarioSet = gridScenarioSet(p);
      this.risk = new Revaluation(this.table, this.scenarioSet, opts.knownValues ?? null);
      this.gridMeasure = new GridAccountMeasure(gridMeasureParams(p), this.table, this.resolver, this.risk, new PortfolioPnl(this.table, this.risk));
    } else {
      this.scenarioSet = null;
      this.risk = null;
      this.gridMeasure = null;
    }
  }

  private result(a: AccountInput, o: MarginOutcome): MarginResultOk {
    const p = this.model.params;
    const f = o.figures;
    // one literal of a fixed shape (object spreads cost more than the margin maths)
    return {
      id: a.id,
      ok: true,
      mode: a.mode,
      modeApplied: o.modeApplied,
      model: { id: p.id, version: p.version, hash: this.model.hash, mechanism: p.mechanism },
      marketHash: this.marketHash,
      valuationTime: this.market.valuationTime,
      currency: o.currency ?? 'USD',
      usd: o.usd,
      pme: o.pme,
      okx: o.okx,
      equity: f.equity,
      initialMargin: f.initialMargin,
      maintenanceMargin: f.maintenanceMargin,
      marginRatio: f.marginRatio,
      availableFunds: f.availableFunds,
      health: f.health,
      collateralValue: o.collateralValue,
      perCurrency: o.perCurrency,
      greeks: o.greeks,
      positions: o.positions,
      grid: o.grid,
      components: o.components,
      varEs: o.varEs,
    };
  }

  private measure(a: AccountInput, key: object): MarginOutcome {
    const p = this.model.params;
    if (p.mechanism === 'lyra-pmrm') return lyraMargin(this.table, this.market, this.lyraFeeds ?? {}, a, p);
    if (p.mechanism === 'deribit-pme') return this.pme!.margin(a, key);
    if (p.mechanism === 'var-es') return this.varEs!.margin(a);
    if (p.mechanism === 'okx-pm') return okxPmMargin(this, p, a);
    const r = this.resolver.resolve(a);
    if (p.mechanism === 'rule-based') return ruleBasedMargin(p, this.table, this.resolver, a, r);
    return this.gridMeasure!.margin(a, r, key);
  }

  /** Margin of one account. Never throws for a bad account: the result carries the error instead. */
  margin(input: AccountInput | unknown): MarginResult {
    const raw = (input as AccountInput | null)?.id;
    const id = typeof raw === 'string' ? raw : String(raw ?? '?');
    try {
      const a = validateAccount(input);
      // every figure checked: a non-finite one makes the result an OPTMARGIN_NON_FINITE error
      return finiteOrError(this.result(a, this.measure(a, input as object))) as MarginResult;
    } catch (e) {
      return errorResult(id, e);
    }
  }

  /**
   * The headline figures of one account (equity, IM, MM, ratio, available funds, health): the
   * same measure as margin() — the same doubles — without the breakdown a grid model would build
   * (positions, rows, greeks). What a liquidation plan's steps read. Errors as margin()'s, and a
   * non-finite figure makes the result an OPTMARGIN_NON_FINITE error.
   */
  figures(input: AccountInput | unknown): FiguresResult {
    return this.figuresOf(input, true);
  }

  /**
   * figures() of an account that is already valid: one validateAccount returned, or one built
   * from it by changing position sizes (never to 0) and balances — a liquidation plan's
   * intermediate accounts. The validation is skipped; everything else is figures()'.
   */
  figuresOfValid(a: AccountInput): FiguresResult {
    return this.figuresOf(a, false);
  }

  private figuresOf(input: AccountInput | unknown, validate: boolean): FiguresResult {
    const raw = (input as AccountInput | null)?.id;
    const id = typeof raw === 'string' ? raw : String(raw ?? '?');
    try {
      const a = validate ? validateAccount(input) : (input as AccountInput);
      const p = this.model.params;
      if (p.mechanism === 'scenario-grid') return gridFiguresResult(id, this.gridMeasure!.figuresOf(a, this.resolver.resolve(a)));
      const f = p.mechanism === 'deribit-pme' ? this.pme!.figuresOf(a) : this.measure(a, input as object).figures;
      return finiteOrError({ id, ok: true as const, ...f }) as FiguresResult;
    } catch (e) {
      return errorResult(id, e);
    }
  }

  /**
   * The figures of `a` after `changes` (trades at their entry prices, an option's premium booked
   * as whatIf books it) and balance `deltas` (per currency), from the vectors kept by the last
   * figuresOfValid / figures / margin of that same object — O(changes × scenarios) — on a grid
   * model's portfolio/cross account (the grid what-if), or on a segregated Deribit PME account
   * when the changes resize positions it holds (measures/deribit-pme/measure.ts); the same figures
   * as re-margining the changed account up to the order of the sums (last bits). null where no
   * vectors are kept (other models, isolated accounts, PME cross accounts, another account
   * margined since, a non-finite figure): re-margin the changed account.
   * With `next` (the changed account, built by the caller: sizes of held positions and balances
   * changed), the kept vectors move to it, so that a chain of changes (a liquidation plan's steps)
   * costs O(scenarios) per link; their figures then differ from a fresh margin in the last bits.
   * `indices`, when the caller has them (a plan's positions'): each change's instrument's index
   * in this engine's table — a hint, taken where the table names that index so (else the name is
   * looked up). `out`, when given: an object of the caller's the grid what-if writes the figures
   * into (and returns) instead of a new one — rewritten by the caller's next call.
   */
  figuresAfter(a: AccountInput, changes: PositionChange[], deltas: Readonly<Record<string, number>>, next?: AccountInput, indices?: Int32Array, out?: MarginFigures): MarginFigures | null {
    let f: MarginFigures | null = null;
    const g = this.gridMeasure;
    const pme = this.pme;
    if (g) {
      const st = a.mode !== 'isolated' ? g.stateOf(a) : null;
      if (st) f = g.whatIf(st, changes, deltas, next, indices, out);
    } else if (pme) {
      const st = pme.stateOf(a);
      if (st) f = pme.whatIf(st, changes, deltas, next);
    }
    return f && Number.isFinite(f.equity) && Number.isFinite(f.initialMargin) && Number.isFinite(f.maintenanceMargin) ? f : null;
  }

  /**
   * The kept vectors move to `next`, the account after the changes of the last figuresAfter (no
   * account margined since): figuresAfter(…, next) without computing the figures again. False
   * when nothing could be kept (the caller re-margins `next`).
   */
  keepAfter(next: AccountInput): boolean {
    return this.gridMeasure?.keep(next) ?? this.pme?.keep(next) ?? false;
  }

  /**
   * Margin before and after adding `changes` (trades at mark unless entryPrice is given).
   * Portfolio/cross accounts on a grid model reuse the account's P&L vectors (kept by margin()
   * for the last account object it margined): the change costs O(changes × scenarios). Other cases
   * re-margin the changed account.
   */
  whatIf(input: AccountInput, changesIn: PositionChange[] | unknown): WhatIfResult {
    const changes = validateChanges(changesIn);
    const g = this.gridMeasure;
    if (g && input.mode !== 'isolated') {
      let st = g.stateOf(input);
      if (!st) {
        const r = this.margin(input);
        if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
        st = g.stateOf(input);
        if (!st) throw new OptmarginError(ErrorCodes.INTERNAL, 'what-if: the account state was not kept by margin()');
      }
      const before = figuresOf(st.figures);
      return whatIfResult(before, g.whatIf(st, changes));
    }
    const before = this.margin(input);
    if (!before.ok) throw new OptmarginError(before.error.code, before.error.message, before.error.path);
    const after = this.margin(this.afterTrades(input, changes));
    if (!after.ok) throw new OptmarginError(after.error.code, after.error.message, after.error.path);
    return whatIfResult(figuresOf(before), figuresOf(after));
  }

  /**
   * The account after `changes` traded (the re-margin path of whatIf): positions appended; an
   * option's premium (at entry, else at mark) moves its settlement currency's balance, as the
   * grid what-if does.
   */
  private afterTrades(input: AccountInput, changes: PositionChange[]): AccountInput {
    const kept = changes.filter((c) => c.size !== 0);
    let collateral = input.collateral;
    kept.forEach((ch, c) => {
      const i = this.resolver.instrumentIndex(`changes[${c}].instrument`, ch.instrument);
      if (this.table.kind[i] !== Kind.Option) return;
      const inst = this.table.instruments[i]!;
      if (collateral === input.collateral) collateral = { ...input.collateral };
      const cur = inst.settlementCurrency;
      collateral[cur] = (collateral[cur] ?? 0) - ch.size * (ch.entryPrice ?? this.table.mark[i]) * inst.contractSize;
    });
    return { ...input, collateral, positions: [...input.positions, ...kept] };
  }

  /** Prices of `underlying` at which equity would equal MM (liquidation/price.ts). */
  liquidationPrice(input: AccountInput, underlying: string): LiquidationPrices {
    const a = validateAccount(input);
    const remargin = (market: MarginMarket, acc: AccountInput): MarginResult =>
      market === this.market ? this.margin(acc) : new MarginEngine({ market, model: this.model, lyraFeeds: this.lyraFeeds }).margin(acc);
    return liquidationPrices({ market: this.market, marketHash: this.marketHash, table: this.table, remargin }, a, underlying);
  }
}

/**
 * figuresOf's result of a grid model's figures (marginFigures' six members: the same object as
 * the spread, member for member): checked by its five numbers (finiteOrError's walk of the whole
 * result boxed each figure it read), finiteOrError's error when one is not finite.
 */
function gridFiguresResult(id: string, f: MarginFigures): FiguresResult {
  const r = { id, ok: true as const, equity: f.equity, initialMargin: f.initialMargin, maintenanceMargin: f.maintenanceMargin, marginRatio: f.marginRatio, availableFunds: f.availableFunds, health: f.health };
  const ratio = f.marginRatio ?? 0;
  // finite: x − x is 0 (NaN for NaN and ±Infinity)
  if (f.equity - f.equity === 0 && f.initialMargin - f.initialMargin === 0 && f.maintenanceMargin - f.maintenanceMargin === 0 && ratio - ratio === 0 && f.availableFunds - f.availableFunds === 0) return r;
  return finiteOrError(r) as FiguresResult;
}

function whatIfResult(before: MarginFigures, after: MarginFigures): WhatIfResult {
  return {
    before,
    after,
    delta: {
      equity: after.equity - before.equity,
      initialMargin: after.initialMargin - before.initialMargin,
      maintenanceMargin: after.maintenanceMargin - before.maintenanceMargin,
      availableFunds: after.availableFunds - before.availableFunds,
    },
  };
}

export function createMarginEngine(opts: MarginEngineOptions): MarginEngine {
  return new MarginEngine(opts);
}
