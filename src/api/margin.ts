/**
 * Public API of the margin models (issue 4). See docs/margin.md.
 */
import { InstrumentTable } from '../instruments/table.js';
import type { MarginMarket } from '../market/margin-market.js';
import { loadModel } from '../measures/models.js';
import { buildRiskArrays as buildRiskArraysOnTable, type UnderlyingScenarios } from '../scenarios/revaluation.js';
import type { GridModel, LoadedModel, MarginModel } from '../measures/types.js';
import { ErrorCodes, OptmarginError } from '../errors.js';

export * from '../measures/types.js';
export { validateAccount, decodeAccount, validateChanges } from '../instruments/account.js';
export { loadModel, listModels, validateModel, hashOf, canonicalJson, presetsDir, type ModelSummary } from '../measures/models.js';
export { MarginEngine, createMarginEngine, healthOf, errorResult, type MarginEngineOptions } from '../runner/account/runner.js';
export { tableMarket, movedMarket, marketHashOf, type MarginMarket, type TableMarketSpec } from '../market/margin-market.js';
export { InstrumentTable } from '../instruments/table.js';
export { RiskArrays, buildScenarios, shockVol, volShockSize, type UnderlyingScenarios } from '../scenarios/revaluation.js';
export { aggregateInto, addPositionInto, worstScenario } from '../scenarios/aggregate.js';
export { standardPositionMargin } from '../measures/standard.js';
export { lyraNakedShorts, type LyraFeeds } from '../measures/lyra/pmrm.js';
export { marginPricer, marginPricerName, setMarginPricer, referencePriceOnlyInto, type PriceOnlyFn } from '../scenarios/pricer.js';

/**
 * Risk arrays of a book's distinct instruments under a grid model, computed once:
 * values[indices[k]·nScen + s] is the USD P&L of one unit of instruments[k] in scenario s of
 * its underlying (table.underlyingOf[index] → scenarios[slot]). The returned table can be
 * passed on to resolve further instruments (and coin collateral: table.coinIndex(coin)).
 */
export function buildRiskArrays(
  market: MarginMarket,
  model: LoadedModel | MarginModel | string,
  instruments: readonly string[],
): { table: InstrumentTable; indices: Int32Array; nScen: number; values: Float64Array; scenarios: UnderlyingScenarios[] } {
  const m = typeof model === 'string' ? loadModel(model) : 'hash' in model && 'params' in model ? (model as LoadedModel) : loadModel(model as MarginModel);
  if (m.params.mechanism !== 'scenario-grid') {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${m.params.id} is a ${m.params.mechanism} model; risk arrays need a scenario-grid model`);
  }
  const table = new InstrumentTable(market);
  const r = buildRiskArraysOnTable(table, m.params as GridModel, instruments);
  return { table, indices: r.indices, nScen: r.nScen, values: r.values, scenarios: r.scenarios };
}
