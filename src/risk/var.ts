/**
 * VaR / ES of accounts: the runner that ties a history, a scenario set, a market and the
 * measures together. Every runner (one account, a book, a backtest day, the var-es margin) goes
 * through `scenarioSetFor` → `revalueInstruments` → `accountPnl` → `riskFigures`.
 *
 * Market: `--market FILE` when given; otherwise the history as of T: index (and every forward)
 * = the close of T (carry 0), valued at the close instant (next 00:00 UTC), option vol flat at the
 * history's implied-vol index on T (DVOL / ATM IV) where present, else the EWMA daily vol
 * forecast × √365 (λ as given).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InstrumentTable } from '../instruments/table.js';
import { marketHashOf, tableMarket, type MarginMarket, type TableUnderlying } from '../market/margin-market.js';
import type { AccountInput } from '../measures/types.js';
import { closeInstant, logReturns, type History } from './history.js';
import { ewmaVariance, fhsScenarios, historicalScenarios, type HorizonMethod } from './historical.js';
import { component, esWeights, riskFigures, smallestIndices, valueAtRisk, expectedShortfall, varWeights, type QuantileConvention, type RiskFigures } from '../measures/quantiles.js';
import { monteCarloScenarios, type McDistribution } from './monte-carlo.js';
import { accountPnl, linePnl, resolveHoldings } from '../scenarios/holdings.js';
import { revalueInstruments, type ScenarioValues } from './revalue.js';
import type { ScenarioSet } from './scenario-set.js';

export type VarMethod = 'hs' | 'fhs' | 'mc';
export const VAR_METHODS: readonly VarMethod[] = ['hs', 'fhs', 'mc'];

export interface ScenarioRequest {
  method: VarMethod;
  asOfIndex: number;
  lookback: number;
  horizon?: number;
  horizonMethod?: HorizonMethod;
  lambda?: number;
  /** Monte Carlo */
  scenarios?: number;
  seed?: number;
  distribution?: McDistribution;
  dof?: number;
}

export function scenarioSetFor(h: History, q: ScenarioRequest): ScenarioSet {
  if (q.method === 'hs') return historicalScenarios(h, q);
  if (q.method === 'fhs') return fhsScenarios(h, q);
  return monteCarloScenarios(h, { asOfIndex: q.asOfIndex, scenarios: q.scenarios ?? 10_000, seed: q.seed ?? 1, distribution: q.distribution, dof: q.dof, lambda: q.lambda, horizon: q.horizon });
}

/** Implied vol level of u at index k: the history's vol index, else EWMA daily vol × √365. */
export function volLevel(h: History, u: string, k: number, lambda = 0.94): number {
  const v = h.vol[u]?.[k];
  if (v !== undefined && v > 0) return v;
  const r = logReturns(h, u).subarray(0, k + 1);
  return Math.sqrt(ewmaVariance(r, lambda)[k + 1] * 365);
}

/** The market as of history index k (see the module comment). */
export function marketFromHistory(h: History, k: number, lambda = 0.94): MarginMarket {
  const underlyings: Record<string, TableUnderlying> = {};
  for (const u of h.underlyings) underlyings[u] = { spot: h.close[u][k], vol: volLevel(h, u, k, lambda) };
  return tableMarket({ valuationTime: closeInstant(h.dates[k]), rate: 0, underlyings });
}

export interface LineRisk {
  label: string;
  /** Euler components: sum to the account's var / es */
  componentVar: number;
  componentEs: number;
  /** account figure minus the figure without this line */
  incrementalVar: number;
  incrementalEs: number;
  /** the line alone */
  standaloneVar: number;
}

export interface AccountRisk extends RiskFigures {
  id: string;
  currency: 'USD';
  /** mark value of the holdings */
  value: number;
  scenarioSet: { id: string; hash: string; kind: string; params: Record<string, unknown> };
  marketHash: string;
  valuationTime: string;
  /** the VaR scenario(s) by label (dates for historical sets) */
  varScenarioLabels?: string[];
  lines?: LineRisk[];
}

export interface AccountRiskOptions {
  alpha: number;
  quantile: QuantileConvention;
  /** per-line Euler and incremental figures */
  components?: boolean;
}

function lineFigures(x: Float64Array, lines: Float64Array, labels: string[], n: number, o: AccountRiskOptions): LineRisk[] {
  const order = smallestIndices(x, n);
  const vw = varWeights(x, o.alpha, o.quantile, order);
  const ew = esWeights(x, o.alpha, order);
  const v = valueAtRisk(x, o.alpha, o.quantile, order);
  const es = expectedShortfall(x, o.alpha, order);
  const rest = new Float64Array(n);
  return labels.map((label, k) => {
    const y = lines.subarray(k * n, (k + 1) * n);
    for (let s = 0; s < n; s++) rest[s] = x[s] - y[s];
    return {
      label,
      componentVar: component(y, vw),
      componentEs: component(y, ew),
      incrementalVar: v - valueAtRisk(rest, o.alpha, o.quantile),
      incrementalEs: es - expectedShortfall(rest, o.alpha),
      standaloneVar: valueAtRisk(y, o.alpha, o.quantile),
    };
  });
}

/** VaR / ES of one account under a scenario set on a market (revaluing what the table lacks). */
export function accountRisk(account: AccountInput, table: InstrumentTable, set: ScenarioSet, o: AccountRiskOptions, sv?: ScenarioValues): { result: AccountRisk; values: ScenarioValues } {
  const h = resolveHoldings(table, account);
  const values = sv && sv.values.length === table.count * set.n ? sv : revalueInstruments(table, set, sv);
  const x = accountPnl(h, values);
  const f = riskFigures(x, o.alpha, o.quantile);
  const result: AccountRisk = {
    id: account.id,
    currency: 'USD',
    ...f,
    value: h.value,
    scenarioSet: { id: set.id, hash: set.hash, kind: set.kind, params: set.params },
    marketHash: marketHashOf(table.market),
    valuationTime: new Date(table.market.valuationTime).toISOString(),
  };
  if (set.labels) result.varScenarioLabels = f.varScenarios.map((s) => set.labels![s]);
  if (o.components) {
    result.lines = lineFigures(x, linePnl(h, values), h.lines.map((l) => l.label), set.n, o);
  }
  return { result, values };
}

export function requireUnderlyings(set: ScenarioSet, market: MarginMarket): void {
  for (const u of set.underlyings) {
    if (!market.hasUnderlying(u)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no ${u}, which the history moves`, 'market');
    }
  }
}
