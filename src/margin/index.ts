/**
 * Public API of the margin models (issue 4). See docs/margin.md.
 */
import { InstrumentTable } from './instrument-table.js';
import type { MarginMarket } from './market-view.js';
import { loadModel } from './models.js';
import { buildRiskArrays as buildRiskArraysOnTable, type UnderlyingScenarios } from './risk-arrays.js';
import type { GridModel, LoadedModel, MarginModel } from './types.js';
import { ErrorCodes, OptmarginError } from '../errors.js';

export * from './types.js';
export { validateAccount, decodeAccount, validateChanges } from './account.js';
export { loadModel, listModels, validateModel, hashOf, canonicalJson, presetsDir, type ModelSummary } from './models.js';
export { MarginEngine, createMarginEngine, healthOf, errorResult, type MarginEngineOptions } from './engine.js';
export { tableMarket, movedMarket, marketHashOf, type MarginMarket, type TableMarketSpec } from './market-view.js';
export { InstrumentTable } from './instrument-table.js';
export { RiskArrays, buildScenarios, shockVol, volShockSize, type UnderlyingScenarios } from './risk-arrays.js';
export { aggregateInto, addPositionInto, worstScenario } from './aggregate.js';
export { standardPositionMargin } from './standard.js';
export { lyraNakedShorts, type LyraFeeds } from './lyra.js';
export { marginPricer, marginPricerName, setMarginPricer, referencePriceOnlyInto, type PriceOnlyFn } from './pricing.js';

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
