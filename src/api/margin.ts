/**
 * The `margin` namespace of the package: accounts, models (presets), scenario sets,
 * revaluation, the margin measures and the account runner. See docs/margin.md and
 * docs/architecture.md.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InstrumentTable } from '../instruments/table.js';
import type { MarginMarket } from '../market/margin-market.js';
import { resolveModel } from '../measures/models.js';
import type { GridModel, LoadedModel, MarginModel } from '../measures/types.js';
import { gridScenarioSet } from '../scenarios/grid.js';
import { revalue } from '../scenarios/revaluation.js';
import type { UnderlyingScenarios } from '../scenarios/types.js';

export * from '../measures/types.js';
export type { ScenarioSet, UnderlyingScenarios, VolShock } from '../scenarios/types.js';
export { validateAccount, decodeAccount, validateChanges } from '../instruments/account.js';
export { loadModel, listModels, validateModel, resolveModel, hashOf, canonicalJson, presetsDir, type ModelSummary } from '../measures/models.js';
export { MarginEngine, createMarginEngine, errorResult, type MarginEngineOptions } from '../runner/account/runner.js';
export { healthOf, worseHealth, HEALTHS } from '../measures/health.js';
export { tableMarket, movedMarket, marketHashOf, type MarginMarket, type TableMarketSpec } from '../market/margin-market.js';
export { InstrumentTable } from '../instruments/table.js';
export { AccountResolver, type Resolved, type CollateralLine } from '../instruments/resolve.js';
export { Revaluation, Revaluation as RiskArrays, revalue } from '../scenarios/revaluation.js';
export { buildScenarios, gridScenarioSet, scanFor } from '../scenarios/grid.js';
export { explicitScenarioSet, type ExplicitScenarioSpec, type ExplicitUnderlying } from '../scenarios/explicit.js';
export { shockVol, volShockSize } from '../scenarios/vol-shock.js';
export { PortfolioPnl, type PnlVectors } from '../scenarios/portfolio-pnl.js';
export { aggregateInto, addPositionInto, worstScenario } from '../scenarios/aggregate.js';
export { gridMeasureParams, type GridMeasureParams } from '../measures/grid/params.js';
export { standardPositionMargin } from '../measures/standard.js';
export { lyraNakedShorts, type LyraFeeds } from '../measures/lyra/pmrm.js';
export { liquidationPrices, type LiquidationContext } from '../liquidation/price.js';
export { marginPricer, marginPricerName, setMarginPricer, referencePriceOnlyInto, type PriceOnlyFn } from '../scenarios/pricer.js';

/**
 * Risk arrays of instruments under a grid model, computed once:
 * values[indices[k]·nScen + s] is the USD P&L of one unit of instruments[k] in scenario s of
 * its underlying (table.underlyingOf[index] → scenarios[slot]). The returned table can be
 * passed on to resolve further instruments (and coin collateral: table.coinIndex(coin)).
 */
export function buildRiskArrays(
  market: MarginMarket,
  model: LoadedModel | MarginModel | string,
  instruments: readonly string[],
): { table: InstrumentTable; indices: Int32Array; nScen: number; values: Float64Array; scenarios: UnderlyingScenarios[] } {
  const m = resolveModel(model);
  if (m.params.mechanism !== 'scenario-grid') {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${m.params.id} is a ${m.params.mechanism} model; risk arrays need a scenario-grid model`);
  }
  const table = new InstrumentTable(market);
  const r = revalue(table, gridScenarioSet(m.params as GridModel), instruments);
  return { table, indices: r.indices, nScen: r.nScen, values: r.values, scenarios: r.scenarios };
}
