/**
 * VaR backtest statistics on an exception sequence I_t ∈ {0, 1} (1 = −P&L_t > VaR_t, strict).
 *
 * Kupiec POF (1995), x exceptions in n observations, p = 1 − α:
 *   LR_pof = −2 ln[(1−p)^{n−x} p^x] + 2 ln[(1−x/n)^{n−x} (x/n)^x]          ~ χ²(1)
 * Christoffersen independence (1998), n_ij = #{t : I_{t−1} = i, I_t = j} over the n−1 transitions,
 *   π₀ = n₀₁/(n₀₀+n₀₁), π₁ = n₁₁/(n₁₀+n₁₁), π = (n₀₁+n₁₁)/(n₀₀+n₀₁+n₁₀+n₁₁),
 *   LR_ind = −2 ln[(1−π)^{n₀₀+n₁₀} π^{n₀₁+n₁₁}] + 2 ln[(1−π₀)^{n₀₀} π₀^{n₀₁} (1−π₁)^{n₁₀} π₁^{n₁₁}]   ~ χ²(1)
 * Conditional coverage: LR_cc = LR_pof + LR_ind ~ χ²(2).
 * 0·ln 0 = 0. p-values: χ²(1) survival = erfc(√(x/2)), χ²(2) survival = e^{−x/2}.
 * These are the definitions of MathWorks' varbacktest (pof, cci, cc), whose documentation example
 * the tests reproduce.
 *
 * Basel traffic light (250 observations at 99 %): green 0–4, yellow 5–9, red ≥ 10 exceptions;
 * for other n and α the same cumulative binomial cut-offs: green while P(X ≤ x) < 95 %, yellow
 * while < 99.99 %, red beyond.
 */
import { erfc } from '../pricing/iv-normalised-black.js';

export interface LrTest {
  lr: number;
  p: number;
}

const xlogy = (x: number, y: number): number => (x === 0 ? 0 : x * Math.log(y));

export function chi2Survival1(x: number): number {
  return x <= 0 ? 1 : erfc(Math.sqrt(x / 2));
}

export function chi2Survival2(x: number): number {
  return x <= 0 ? 1 : Math.exp(-x / 2);
}

export function kupiecPof(n: number, x: number, alpha: number): LrTest {
  const p = 1 - alpha;
  const f = x / n;
  const lr = -2 * (xlogy(n - x, 1 - p) + xlogy(x, p)) + 2 * (xlogy(n - x, 1 - f) + xlogy(x, f));
  const v = Math.max(0, lr);
  return { lr: v, p: chi2Survival1(v) };
}

export interface Transitions {
  n00: number;
  n01: number;
  n10: number;
  n11: number;
}

export function transitions(exc: ArrayLike<number>): Transitions {
  const t = { n00: 0, n01: 0, n10: 0, n11: 0 };
  for (let i = 1; i < exc.length; i++) {
    const a = exc[i - 1] ? 1 : 0;
    const b = exc[i] ? 1 : 0;
    if (a === 0 && b === 0) t.n00++;
    else if (a === 0) t.n01++;
    else if (b === 0) t.n10++;
    else t.n11++;
  }
  return t;
}

export function christoffersenIndependence(t: Transitions): LrTest {
  const { n00, n01, n10, n11 } = t;
  const pi0 = n00 + n01 > 0 ? n01 / (n00 + n01) : 0;
  const pi1 = n10 + n11 > 0 ? n11 / (n10 + n11) : 0;
  const all = n00 + n01 + n10 + n11;
  const pi = all > 0 ? (n01 + n11) / all : 0;
  const lr =
    -2 * (xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)) +
    2 * (xlogy(n00, 1 - pi0) + xlogy(n01, pi0) + xlogy(n10, 1 - pi1) + xlogy(n11, pi1));
  const v = Math.max(0, lr);
  return { lr: v, p: chi2Survival1(v) };
}

export function conditionalCoverage(pof: LrTest, ind: LrTest): LrTest {
  const lr = pof.lr + ind.lr;
  return { lr, p: chi2Survival2(lr) };
}

/** P(X ≤ x) for X ~ Binomial(n, p), summed in log space. */
export function binomialCdf(x: number, n: number, p: number): number {
  let s = 0;
  let logC = 0; // ln C(n, k)
  for (let k = 0; k <= x && k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    s += Math.exp(logC + xlogy(k, p) + xlogy(n - k, 1 - p));
  }
  return Math.min(1, s);
}

export type BaselZone = 'green' | 'yellow' | 'red';

export function baselZone(exceptions: number, n: number, alpha: number): BaselZone {
  const c = binomialCdf(exceptions, n, 1 - alpha);
  if (c < 0.95) return 'green';
  if (c < 0.9999) return 'yellow';
  return 'red';
}

export interface BacktestStats {
  observations: number;
  exceptionCount: number;
  expected: number;
  kupiec: LrTest;
  christoffersen: LrTest & Transitions;
  conditionalCoverage: LrTest;
}

export function backtestStats(exc: ArrayLike<number>, alpha: number): BacktestStats {
  const n = exc.length;
  let x = 0;
  for (let i = 0; i < n; i++) if (exc[i]) x++;
  const pof = kupiecPof(n, x, alpha);
  const tr = transitions(exc);
  const ind = christoffersenIndependence(tr);
  return { observations: n, exceptionCount: x, expected: n * (1 - alpha), kupiec: pof, christoffersen: { ...ind, ...tr }, conditionalCoverage: conditionalCoverage(pof, ind) };
}
