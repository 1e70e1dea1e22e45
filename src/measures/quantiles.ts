/**
 * Measures over a P&L vector x (one value per scenario; losses are −x). With n scenarios,
 * β = 1 − α, x₍₁₎ ≤ … ≤ x₍ₙ₎ the ascending order statistics and k = ⌊nβ⌋:
 *   VaR 'lower'     −x₍ₖ₎                        (needs k ≥ 1)
 *   VaR 'empirical' −x₍ₖ₊₁₎                      (the ⌊nβ⌋+1-th worst)
 *   VaR 'linear'    −Q(β), numpy.quantile(x, β) with method 'linear' (h = (n−1)β, numpy's lerp)
 *   ES (Acerbi–Tasche) −(1/(nβ)) [Σ_{i≤k} x₍ᵢ₎ + (nβ − k) x₍ₖ₊₁₎]
 *   tail mean       mean of the losses ≥ VaR (the simple estimator)
 * nβ is rounded to 1e-9 before its floor, so 250 × (1 − 0.99) = 2.5000000000000022 is 2.5 and
 * 100 × (1 − 0.9) = 9.999999999999998 is 10.
 * Euler allocation over positions (their P&L vectors sum to x): the component of a position is
 * its P&L at the scenarios that define the measure, with the same weights (components sum to the
 * measure exactly). Ties in x are ordered by scenario index (stable), so allocations are defined.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';

export type QuantileConvention = 'lower' | 'empirical' | 'linear';
export const QUANTILE_CONVENTIONS: readonly QuantileConvention[] = ['lower', 'empirical', 'linear'];

export function checkAlpha(alpha: number): number {
  if (!(typeof alpha === 'number' && alpha > 0 && alpha < 1)) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--alpha must be in (0, 1), e.g. 0.99, got ${alpha}`, 'alpha');
  }
  return alpha;
}

/** nβ rounded to 1e-9 (so that products meant to be integers or halves are). */
export function tailSize(n: number, alpha: number): number {
  return Math.round(n * (1 - alpha) * 1e9) / 1e9;
}

/**
 * The tail as weights on scenarios: indices of the scenarios (ascending P&L, ties by index) and
 * the weight of each in the measure, for VaR (convention) or ES. −Σ w·x is the measure.
 */
export interface TailWeights {
  scenarios: Int32Array;
  weights: Float64Array;
}

/** Scenario indices of the m smallest values of x (ties by index), ascending by value. */
export function smallestIndices(x: ArrayLike<number>, m: number): Int32Array {
  const n = x.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  // stable order: value, then index (TypedArray sort with comparator is not guaranteed stable)
  idx.sort((a, b) => x[a] - x[b] || a - b);
  return idx.subarray(0, Math.min(m, n));
}

function checkN(n: number, need: number, what: string, alpha: number): void {
  if (n < need) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `${what} at alpha ${alpha} needs at least ${need} scenarios, the set has ${n} (raise --lookback or lower --alpha)`,
      'alpha',
    );
  }
}

/**
 * Which order statistics define VaR (0-based ranks in ascending P&L) and their weights:
 * 'lower' rank k−1, 'empirical' rank k, 'linear' ranks ⌊h⌋, ⌊h⌋+1 with weights 1−g, g.
 * The one home of the conventions: every path (full vectors, WASM tails) goes through it.
 */
export function varRanks(n: number, alpha: number, conv: QuantileConvention): { ranks: number[]; weights: number[] } {
  checkAlpha(alpha);
  const k = Math.floor(tailSize(n, alpha));
  if (conv === 'lower') {
    checkN(k, 1, "VaR 'lower' (n(1-alpha) >= 1)", alpha);
    return { ranks: [k - 1], weights: [1] };
  }
  if (conv === 'empirical') {
    checkN(n, k + 1, "VaR 'empirical'", alpha);
    return { ranks: [k], weights: [1] };
  }
  checkN(n, 1, "VaR 'linear'", alpha);
  const h = (n - 1) * (1 - alpha);
  const lo = Math.floor(h);
  const g = h - lo;
  if (lo + 1 >= n || g === 0) return { ranks: [lo], weights: [1] };
  return { ranks: [lo, lo + 1], weights: [1 - g, g] };
}

/** Entries of the ascending tail every measure at α needs: ⌊nβ⌋ + 2, at most n. */
export function tailLength(n: number, alpha: number): number {
  return Math.min(n, Math.floor(tailSize(n, alpha)) + 2);
}

/** VaR from the ascending smallest entries `tail` of an n-vector. */
export function varFromTail(tail: ArrayLike<number>, n: number, alpha: number, conv: QuantileConvention): number {
  const { ranks, weights } = varRanks(n, alpha, conv);
  if (ranks.length === 2) return -numpyLerp(tail[ranks[0]], tail[ranks[1]], weights[1]);
  return -tail[ranks[0]];
}

/** Acerbi–Tasche ES from the ascending smallest entries `tail` of an n-vector. */
export function esFromTail(tail: ArrayLike<number>, n: number, alpha: number): number {
  checkAlpha(alpha);
  const nb = tailSize(n, alpha);
  checkN(Math.ceil(nb), 1, 'ES', alpha);
  const k = Math.floor(nb);
  let s = 0;
  for (let i = 0; i < k; i++) s += tail[i];
  if (nb > k && k < n) s += (nb - k) * tail[k];
  return -s / nb;
}

/** The scenarios and weights that define VaR under a convention. */
export function varWeights(x: ArrayLike<number>, alpha: number, conv: QuantileConvention, order?: Int32Array): TailWeights {
  const { ranks, weights } = varRanks(x.length, alpha, conv);
  const o = order ?? smallestIndices(x, ranks[ranks.length - 1] + 1);
  return { scenarios: Int32Array.from(ranks, (r) => o[r]), weights: Float64Array.from(weights) };
}

/** numpy's linear interpolation between a (weight 1−g) and b (weight g), bit for bit. */
export function numpyLerp(a: number, b: number, g: number): number {
  const diff = b - a;
  return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

function sortedTail(x: ArrayLike<number>, m: number, order?: Int32Array): Float64Array {
  const o = order ?? smallestIndices(x, m);
  return Float64Array.from(o.subarray(0, m), (i) => x[i]);
}

export function valueAtRisk(x: ArrayLike<number>, alpha: number, conv: QuantileConvention, order?: Int32Array): number {
  return varFromTail(sortedTail(x, tailLength(x.length, alpha), order), x.length, alpha, conv);
}

/** Acerbi–Tasche weights: 1/(nβ) on the k worst, (nβ−k)/(nβ) on the next. */
export function esWeights(x: ArrayLike<number>, alpha: number, order?: Int32Array): TailWeights {
  checkAlpha(alpha);
  const n = x.length;
  const nb = tailSize(n, alpha);
  checkN(Math.ceil(nb), 1, 'ES', alpha);
  const k = Math.floor(nb);
  const frac = nb - k;
  const m = frac > 0 && k < n ? k + 1 : k;
  const o = order ?? smallestIndices(x, m);
  const scenarios = Int32Array.from(o.subarray(0, m));
  const weights = new Float64Array(m).fill(1 / nb);
  if (m > k) weights[k] = frac / nb;
  return { scenarios, weights };
}

export function expectedShortfall(x: ArrayLike<number>, alpha: number, order?: Int32Array): number {
  return esFromTail(sortedTail(x, tailLength(x.length, alpha), order), x.length, alpha);
}

/** Mean of the losses at or beyond VaR: the simple tail-mean estimator. */
export function tailMean(x: ArrayLike<number>, varValue: number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < x.length; i++) {
    if (-x[i] >= varValue) {
      s += -x[i];
      c++;
    }
  }
  return c ? s / c : varValue;
}

export interface RiskFigures {
  var: number;
  es: number;
  tailMean: number;
  alpha: number;
  quantile: QuantileConvention;
  scenarios: number;
  /** scenario indices of the VaR order statistic(s) and of the ES tail */
  varScenarios: number[];
  esScenarios: number[];
}

/** VaR, ES and tail mean of one P&L vector with one sort. */
export function riskFigures(x: ArrayLike<number>, alpha: number, conv: QuantileConvention): RiskFigures {
  checkAlpha(alpha);
  const order = smallestIndices(x, x.length);
  const v = valueAtRisk(x, alpha, conv, order);
  const es = expectedShortfall(x, alpha, order);
  const vw = varWeights(x, alpha, conv, order);
  const ew = esWeights(x, alpha, order);
  return { var: v, es, tailMean: tailMean(x, v), alpha, quantile: conv, scenarios: x.length, varScenarios: Array.from(vw.scenarios), esScenarios: Array.from(ew.scenarios) };
}

/** Euler component: −Σ_j w_j · y[s_j] of a part's P&L vector y at the measure's tail weights. */
export function component(y: ArrayLike<number>, w: TailWeights): number {
  let s = 0;
  for (let j = 0; j < w.scenarios.length; j++) s += w.weights[j] * y[w.scenarios[j]];
  return -s;
}
