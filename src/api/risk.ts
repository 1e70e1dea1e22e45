/** Public API of the risk engine (issue 11): histories, scenario sets, VaR/ES, backtests, stress, var-es margin. See docs/risk.md. */
export { loadHistory, parseHistoryArg, logReturns, dateIndex, closeInstant, type History, type HistorySpec } from '../risk/history.js';
export { makeScenarioSet, volShiftAt, type ScenarioSet, type ScenarioKind, type VolShift } from '../risk/scenario-set.js';
export { historicalScenarios, fhsScenarios, ewmaVariance, type HistoricalOptions, type FhsOptions, type HorizonMethod } from '../risk/historical.js';
export { monteCarloScenarios, ewmaCovariance, cholesky, type McOptions, type McDistribution } from '../risk/monte-carlo.js';
export { stressScenarioSet, loadStressScenarios, parseStressScenario, stressLibrary, shockedMarket, type StressScenario } from '../risk/stress.js';
export {
  valueAtRisk,
  expectedShortfall,
  tailMean,
  riskFigures,
  varWeights,
  esWeights,
  component,
  varFromTail,
  esFromTail,
  tailLength,
  QUANTILE_CONVENTIONS,
  type QuantileConvention,
  type RiskFigures,
} from '../measures/quantiles.js';
export { kupiecPof, christoffersenIndependence, conditionalCoverage, transitions, baselZone, backtestStats, type LrTest, type BacktestStats } from '../risk/backtest-stats.js';
export { backtest, backtestCsv, type BacktestOptions, type BacktestResult } from '../risk/backtest.js';
export { revalueInstruments, seamSet, type ScenarioValues } from '../risk/revalue.js';
export { resolveHoldings, accountPnl, linePnl, riskAccount } from '../scenarios/holdings.js';
export { accountRisk, scenarioSetFor, marketFromHistory, volLevel, type AccountRisk, type ScenarioRequest, type VarMethod } from '../risk/var.js';
export { riskCsr, figuresFromTails, type RiskCsr, type BookTails } from '../risk/book-var.js';
export { TailRunner } from '../risk/book-var.js';
export { varEsMargin, dynamicMargin, loadVarEsModel, validateVarEsParams, withHistory, asOfIndexFor, varEsScenarioSets, type VarEsParams, type VarEsFigures } from '../risk/var-margin.js';
export { materialise } from '../risk/rolling.js';
