/**
 * The `var-es` risk-based margin measure (docs/risk.md "var-es as a margin model"): one account's
 * holdings (scenarios/holdings.ts: positions, inverse futures' coin legs, coin collateral at its
 * full amount) revalued under the model's scenario sets — resolved once from a history
 * (risk/var-margin.ts withHistory) and carried by the LoadedModel — then
 *
 *   base      = measure (ES at α, or VaR at α under `quantile`) over the FHS set
 *   stressed  = the same measure over the stressed period's historical set
 *   IM        = apcIm(base, stressed, tenYear) (EMIR RTS 153/2013 art. 28(1) (a), (b) or (c))
 *   MM        = mmFraction × IM; equity = the holdings' mark value (USD); health as every model.
 *
 * Every runner calls this one measure: the account runner (margin, what-if, liquidation price),
 * the book runner (through the account runner) and `optmargin var-margin`.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import type { AccountResolver } from '../../instruments/resolve.js';
import type { InstrumentTable } from '../../instruments/table.js';
import { accountPnl, resolveHoldings, type ScenarioValues } from '../../scenarios/holdings.js';
import { Revaluation } from '../../scenarios/revaluation.js';
import type { ScenarioSet } from '../../scenarios/types.js';
import { greeksOf } from '../greeks.js';
import { marginFigures } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import { expectedShortfall, valueAtRisk } from '../quantiles.js';
import type { AccountInput, LoadedModel, PositionBreakdown, VarEsBreakdown, VarEsModel, VarEsScenarioSets } from '../types.js';

/** The measure of a P&L vector under the model (a loss amount ≥ 0). */
export function varEsMeasureOf(x: Float64Array, p: VarEsModel): number {
  return Math.max(0, p.measure === 'es' ? expectedShortfall(x, p.alpha) : valueAtRisk(x, p.alpha, p.quantile));
}

/** IM from the three measures under the model's anti-procyclicality rule; the stressed figure is a floor under every rule. */
export function apcIm(p: VarEsModel, base: number, stressed: number, tenYear: number | null): number {
  const a = p.apc;
  if (a.rule === 'buffer') return Math.max(base * (1 + a.buffer!), stressed);
  if (a.rule === 'stressed-weight') return Math.max((1 - a.weight!) * base + a.weight! * stressed, stressed);
  return Math.max(base, tenYear!, stressed);
}

/** The scenario sets of a var-es model, or INVALID_MODEL saying how to give it a history. */
export function varEsSetsOf(model: LoadedModel): VarEsScenarioSets {
  const s = model.riskScenarios;
  if (!s) {
    throw new OptmarginError(
      ErrorCodes.INVALID_MODEL,
      `model ${model.params.id} is a var-es model: it needs a price history (CLI: --history FILE[,FILE…] [--as-of DATE]; API: withHistory(model, history, asOf))`,
      'model',
    );
  }
  return s;
}

export class VarEsAccountMeasure {
  private readonly revaluations: Revaluation[];

  constructor(
    readonly params: VarEsModel,
    readonly sets: VarEsScenarioSets,
    private readonly table: InstrumentTable,
    private readonly resolver: AccountResolver,
  ) {
    const all: ScenarioSet[] = [sets.base, sets.stressed, ...(sets.tenYear ? [sets.tenYear] : [])];
    this.revaluations = all.map((s) => new Revaluation(table, s));
  }

  /** Values of the table's instruments under set k (revaluing the instruments added since the last call). */
  private valuesOf(k: number): ScenarioValues {
    const r = this.revaluations[k];
    r.sync();
    return { n: r.nScen, values: r.values };
  }

  margin(a: AccountInput): MarginOutcome {
    const p = this.params;
    const r = this.resolver.resolve(a);
    const hold = resolveHoldings(this.table, a);
    const base = varEsMeasureOf(accountPnl(hold, this.valuesOf(0)), p);
    const stressed = varEsMeasureOf(accountPnl(hold, this.valuesOf(1)), p);
    const tenYear = this.sets.tenYear ? varEsMeasureOf(accountPnl(hold, this.valuesOf(2)), p) : null;
    const im = apcIm(p, base, stressed, tenYear);
    const varEs: VarEsBreakdown = { asOf: this.sets.asOf, base, stressed, dailyVol: this.sets.dailyVol, scenarioSets: this.sets.sets };
    if (tenYear !== null) varEs.tenYear = tenYear;
    const positions: PositionBreakdown[] = a.positions.map((pos, k) => ({ index: k, instrument: pos.instrument, size: pos.size, valueUsd: r.posValue[k] }));
    return {
      modeApplied: 'portfolio',
      figures: marginFigures(hold.value, im, p.mmFraction * im),
      collateralValue: r.collateralValue,
      perCurrency: {},
      greeks: greeksOf(this.table, r),
      positions,
      varEs,
    };
  }
}
