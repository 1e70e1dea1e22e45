/**
 * Historical and filtered-historical scenario sets from a History.
 *
 * Window: as of date T (index k) with lookback N, the N most recent returns up to and including
 * r_T: r_{k−N+1} … r_k.
 * Horizon h days:
 *   'sqrt'        (default) each 1-day move × √h (prices and vol log-ratios);
 *   'overlapping' (historical only) the N most recent overlapping h-day returns ln(S_t/S_{t−h}),
 *                 t = k−N+1 … k (needs N + h − 1 returns before T).
 * Vol moves: vol ratio σ_t/σ_{t−h} of the history's implied-vol index (DVOL or ATM IV) where both
 * dates have an observation; where either is absent the vol is held (ratio 1, the smile sticky in
 * moneyness). `volCoverage` in the params counts the scenarios that had vol data.
 *
 * FHS (Hull–White): EWMA over the whole file from its first return,
 *   v_1 = mean(r_1², …, r_30²)  (the seed: mean of the first 30 squared returns),
 *   v_{t+1} = λ v_t + (1 − λ) r_t²,
 * so v_t is the forecast for day t made at the close of t−1. Scenario from r_t:
 *   r̃_t = r_t × √(v_{k+1} / v_t)   (devolatilised at its date, revolatilised by today's forecast).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { logReturns, type History } from './history.js';
import { makeScenarioSet, type ScenarioSet } from './scenario-set.js';

export const EWMA_SEED_RETURNS = 30;

export type HorizonMethod = 'sqrt' | 'overlapping';

export interface HistoricalOptions {
  asOfIndex: number;
  lookback: number;
  horizon?: number;
  horizonMethod?: HorizonMethod;
}

export interface FhsOptions extends HistoricalOptions {
  lambda?: number;
}

function checkLookback(h: History, asOfIndex: number, lookback: number, extra: number): void {
  if (!Number.isInteger(lookback) || lookback < 1) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--lookback must be an integer >= 1, got ${lookback}`, 'lookback');
  }
  const first = asOfIndex - lookback + 1 - extra;
  if (first < 1) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `--lookback ${lookback} needs ${lookback + extra} returns up to ${h.dates[asOfIndex]}; the history has ${Math.max(0, asOfIndex)} (from ${h.dates[0]})`,
      'lookback',
    );
  }
}

export function checkHorizon(horizon: number): number {
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > 250) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--horizon must be an integer number of days in 1..250, got ${horizon}`, 'horizon');
  }
  return horizon;
}

/** Vol ratio σ_t/σ_{t−h} or 1 where either is absent. */
function volRatioAt(vol: Float64Array | undefined, t: number, h: number): number {
  if (!vol) return 1;
  const a = vol[t];
  const b = vol[t - h];
  return a > 0 && b > 0 ? a / b : 1;
}

export function historicalScenarios(hist: History, o: HistoricalOptions): ScenarioSet {
  const horizon = checkHorizon(o.horizon ?? 1);
  const method = o.horizonMethod ?? 'sqrt';
  const k = o.asOfIndex;
  const N = o.lookback;
  const overlap = method === 'overlapping' ? horizon - 1 : 0;
  checkLookback(hist, k, N, overlap);
  const scale = method === 'sqrt' ? Math.sqrt(horizon) : 1;
  const step = method === 'overlapping' ? horizon : 1;
  const logReturn: Record<string, Float64Array> = {};
  const volRatio: Record<string, Float64Array> = {};
  let covered = 0;
  for (const u of hist.underlyings) {
    const s = hist.close[u];
    const r = new Float64Array(N);
    const vr = new Float64Array(N);
    for (let j = 0; j < N; j++) {
      const t = k - N + 1 + j;
      r[j] = Math.log(s[t] / s[t - step]) * scale;
      const ratio = volRatioAt(hist.vol[u], t, step);
      vr[j] = method === 'sqrt' && ratio !== 1 ? Math.exp(Math.log(ratio) * scale) : ratio;
      if (hist.vol[u] && ratio !== 1) covered++;
    }
    logReturn[u] = r;
    volRatio[u] = vr;
  }
  const labels = Array.from({ length: N }, (_, j) => hist.dates[k - N + 1 + j]);
  const asOf = hist.dates[k];
  const params = { method: 'hs', asOf, lookback: N, horizon, horizonMethod: method, history: hist.hash, volCoverage: covered };
  return makeScenarioSet('historical', `${hist.underlyings.join('+')}:${asOf}:N${N}:h${horizon}${horizon > 1 ? `:${method}` : ''}`, hist.underlyings, logReturn, volRatio, params, labels);
}

export function checkLambda(lambda: number): number {
  if (!(typeof lambda === 'number' && lambda > 0 && lambda < 1)) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--lambda must be in (0, 1), got ${lambda}`, 'lambda');
  }
  return lambda;
}

/**
 * EWMA variance forecasts of a return series r (r[0] unused, returns r[1..]): v[t] is the
 * forecast for day t made at the close of t−1, for t = 1 … r.length (v[r.length] = tomorrow's).
 */
export function ewmaVariance(r: Float64Array, lambda: number, seedCount = EWMA_SEED_RETURNS): Float64Array {
  const m = r.length - 1;
  if (m < seedCount) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `EWMA needs at least ${seedCount} returns for its seed, the history has ${m}`, 'history');
  }
  const v = new Float64Array(r.length + 1);
  let seed = 0;
  for (let t = 1; t <= seedCount; t++) seed += r[t] * r[t];
  v[1] = seed / seedCount;
  for (let t = 1; t < r.length; t++) v[t + 1] = lambda * v[t] + (1 - lambda) * r[t] * r[t];
  v[0] = NaN;
  return v;
}

export function fhsScenarios(hist: History, o: FhsOptions): ScenarioSet {
  const lambda = checkLambda(o.lambda ?? 0.94);
  const horizon = checkHorizon(o.horizon ?? 1);
  if ((o.horizonMethod ?? 'sqrt') !== 'sqrt') {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'FHS scales 1-day filtered returns by √horizon: --horizon-method must be sqrt', 'horizonMethod');
  }
  const k = o.asOfIndex;
  const N = o.lookback;
  checkLookback(hist, k, N, 0);
  const scale = Math.sqrt(horizon);
  const logReturn: Record<string, Float64Array> = {};
  const volRatio: Record<string, Float64Array> = {};
  const forecast: Record<string, number> = {};
  for (const u of hist.underlyings) {
    // EWMA over the file up to T only: v[k+1] is today's forecast (no look-ahead)
    const r = logReturns(hist, u).subarray(0, k + 1);
    const v = ewmaVariance(r, lambda);
    const today = v[k + 1];
    forecast[u] = Math.sqrt(today);
    const out = new Float64Array(N);
    const vr = new Float64Array(N);
    for (let j = 0; j < N; j++) {
      const t = k - N + 1 + j;
      out[j] = r[t] * Math.sqrt(today / v[t]) * scale;
      const ratio = volRatioAt(hist.vol[u], t, 1);
      vr[j] = ratio !== 1 ? Math.exp(Math.log(ratio) * scale) : 1;
    }
    logReturn[u] = out;
    volRatio[u] = vr;
  }
  const labels = Array.from({ length: N }, (_, j) => hist.dates[k - N + 1 + j]);
  const asOf = hist.dates[k];
  const params = { method: 'fhs', asOf, lookback: N, horizon, horizonMethod: 'sqrt', lambda, seed: `mean of the first ${EWMA_SEED_RETURNS} squared returns`, history: hist.hash, dailyVolForecast: forecast };
  return makeScenarioSet('fhs', `${hist.underlyings.join('+')}:${asOf}:N${N}:h${horizon}:l${lambda}`, hist.underlyings, logReturn, volRatio, params, labels);
}
