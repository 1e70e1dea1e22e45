/**
 * Monte Carlo scenario sets: joint log returns r = √h · L z with L the Cholesky factor of the
 * EWMA covariance forecast for the day after T, and z
 *   'normal'    iid N(0, 1);
 *   'student-t' iid standardised Student-t with ν > 2 degrees of freedom, z = n·√((ν−2)/W),
 *               W ~ χ²_ν (one W per scenario: the multivariate t, unit covariance).
 * EWMA covariance: C_1 = mean of the first 30 outer products r_t r_tᵀ, C_{t+1} = λC_t + (1−λ) r_t r_tᵀ.
 * Vols are held (ratio 1). The generator is the project's sfc32 (src/engine/gen-book.ts; same seed →
 * same set on every platform: 32-bit integer arithmetic); normals by Box–Muller, χ² by Marsaglia–Tsang.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { logReturns, type History } from './history.js';
import { EWMA_SEED_RETURNS, checkHorizon, checkLambda } from './historical.js';
import { makeScenarioSet, type ScenarioSet } from './scenario-set.js';
import { Rng } from '../platform/rng.js';

export type McDistribution = 'normal' | 'student-t';

export interface McOptions {
  asOfIndex: number;
  scenarios: number;
  seed: number;
  distribution?: McDistribution;
  dof?: number;
  lambda?: number;
  horizon?: number;
}

/** Draws for Monte Carlo on the project's sfc32 generator (src/engine/gen-book.ts): 53-bit uniforms, normals, gammas. */
export class McSampler {
  private readonly rng: Rng;
  private spare = NaN;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  /** one 32-bit output of the generator (next() is t / 2^32 exactly) */
  private u32(): number {
    return this.rng.next() * 4294967296;
  }
  /** uniform in (0, 1), 53 bits */
  uniform(): number {
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = NaN;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
  /** Gamma(shape, 1) by Marsaglia–Tsang (shape ≥ 1; boosted below 1). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniform(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }
}

/** EWMA covariance forecast for the day after index k (row-major d×d). */
export function ewmaCovariance(rets: Float64Array[], k: number, lambda: number, seedCount = EWMA_SEED_RETURNS): Float64Array {
  const d = rets.length;
  if (k < seedCount) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the EWMA covariance needs at least ${seedCount} returns up to the as-of date, the history has ${k}`, 'history');
  }
  const c = new Float64Array(d * d);
  for (let t = 1; t <= seedCount; t++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] += (rets[i][t] * rets[j][t]) / seedCount;
  for (let t = 1; t <= k; t++) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[i * d + j] = lambda * c[i * d + j] + (1 - lambda) * rets[i][t] * rets[j][t];
  }
  return c;
}

/** Lower Cholesky factor of a symmetric positive-definite d×d matrix. */
export function cholesky(c: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = c[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'the EWMA covariance is not positive definite (identical or degenerate series?)', 'history');
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  return l;
}

export function monteCarloScenarios(hist: History, o: McOptions): ScenarioSet {
  const lambda = checkLambda(o.lambda ?? 0.94);
  const horizon = checkHorizon(o.horizon ?? 1);
  const dist = o.distribution ?? 'normal';
  const nu = o.dof ?? 5;
  if (!Number.isInteger(o.scenarios) || o.scenarios < 1 || o.scenarios > 10_000_000) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--scenarios must be an integer in 1..10000000, got ${o.scenarios}`, 'scenarios');
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--seed must be an integer in 0..4294967295, got ${o.seed}`, 'seed');
  }
  if (dist === 'student-t' && !(nu > 2)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--dof must be > 2, got ${nu}`, 'dof');
  const us = hist.underlyings;
  const d = us.length;
  const k = o.asOfIndex;
  const cov = ewmaCovariance(us.map((u) => logReturns(hist, u)), k, lambda);
  const L = cholesky(cov, d);
  const rng = new McSampler(o.seed);
  const n = o.scenarios;
  const out = us.map(() => new Float64Array(n));
  const z = new Float64Array(d);
  const scale = Math.sqrt(horizon);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < d; i++) z[i] = rng.normal();
    const m = dist === 'student-t' ? Math.sqrt((nu - 2) / (2 * rng.gamma(nu / 2))) : 1;
    for (let i = 0; i < d; i++) {
      let x = 0;
      for (let j = 0; j <= i; j++) x += L[i * d + j] * z[j];
      out[i][s] = x * m * scale;
    }
  }
  const logReturn: Record<string, Float64Array> = {};
  const volRatio: Record<string, Float64Array> = {};
  us.forEach((u, i) => {
    logReturn[u] = out[i];
    volRatio[u] = new Float64Array(n).fill(1);
  });
  const asOf = hist.dates[k];
  const params = { method: 'mc', asOf, scenarios: n, seed: o.seed, distribution: dist, ...(dist === 'student-t' ? { dof: nu } : {}), lambda, horizon, covariance: Array.from(cov), history: hist.hash };
  return makeScenarioSet('monte-carlo', `${us.join('+')}:${asOf}:${dist}:n${n}:seed${o.seed}:h${horizon}`, us, logReturn, volRatio, params);
}
