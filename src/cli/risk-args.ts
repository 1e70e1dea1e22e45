/**
 * Shared option parsing of the risk commands (var, backtest, stress, var-margin): strict numbers
 * and choices, each error naming the flag and the value.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { loadHistory, parseHistoryArg, type History } from '../risk/history.js';
import { QUANTILE_CONVENTIONS, checkAlpha, type QuantileConvention } from '../measures/quantiles.js';
import { VAR_METHODS, type ScenarioRequest, type VarMethod } from '../risk/var.js';
import { modelWithHistory } from '../risk/var-margin.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { LoadedModel } from '../measures/types.js';
import type { HorizonMethod } from '../risk/historical.js';
import type { McDistribution } from '../risk/monte-carlo.js';

export interface RiskCliOptions {
  history?: string;
  asOf?: string;
  method?: string;
  lookback?: string;
  alpha?: string;
  quantile?: string;
  horizon?: string;
  horizonMethod?: string;
  lambda?: string;
  scenarios?: string;
  seed?: string;
  distribution?: string;
  dof?: string;
  market?: string;
  json?: boolean;
  progress?: boolean;
}

export function num(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${flag} must be a number, got ${JSON.stringify(v)}`, flag);
  return x;
}

export function int(flag: string, v: string | undefined, dflt: number): number {
  const x = num(flag, v, dflt);
  if (!Number.isInteger(x)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${flag} must be an integer, got ${JSON.stringify(v)}`, flag);
  return x;
}

export function historyFrom(o: RiskCliOptions): History {
  if (!o.history) throw new OptmarginError(ErrorCodes.INVALID_INPUT, '--history FILE[,FILE…] is required (daily CSVs with date and close)', '--history');
  return loadHistory(parseHistoryArg(o.history));
}

export function alphaFrom(o: RiskCliOptions): number {
  return checkAlpha(num('--alpha', o.alpha, 0.99));
}

export function quantileFrom(o: RiskCliOptions): QuantileConvention {
  return check.oneOf('--quantile', o.quantile ?? 'empirical', QUANTILE_CONVENTIONS);
}

/** The scenario request of the flags, as of history index k. */
export function scenarioRequestFrom(o: RiskCliOptions, asOfIndex: number): ScenarioRequest {
  const method = check.oneOf('--method', o.method ?? 'hs', VAR_METHODS) as VarMethod;
  return {
    method,
    asOfIndex,
    lookback: int('--lookback', o.lookback, 250),
    horizon: int('--horizon', o.horizon, 1),
    horizonMethod: check.oneOf('--horizon-method', o.horizonMethod ?? 'sqrt', ['sqrt', 'overlapping'] as const) as HorizonMethod,
    lambda: num('--lambda', o.lambda, 0.94),
    scenarios: int('--scenarios', o.scenarios, 10_000),
    seed: int('--seed', o.seed, 1),
    distribution: check.oneOf('--distribution', o.distribution ?? 'normal', ['normal', 'student-t'] as const) as McDistribution,
    dof: num('--dof', o.dof, 5),
  };
}

/**
 * The model of `--model ID|FILE` on `market`: a var-es model resolved once with `--history` (and
 * `--as-of`, default: the last close at or before the market's valuation time); any other model as it is.
 */
export function modelFrom(id: string, market: MarginMarket, o: { history?: string; asOf?: string }): LoadedModel {
  let h: History | undefined;
  return modelWithHistory(id, market, o.history ? () => (h ??= historyFrom(o)) : undefined, o.asOf);
}
