/**
 * Raw SVI smiles: evaluation, arbitrage diagnostics and a constrained fit to quoted vols.
 *
 * Total implied variance as a function of log-moneyness k = ln(K/F):
 *   w(k) = a + b·(ρ·(k − m) + √((k − m)² + s²)),   σ(k) = √(w(k)/T)
 * (J. Gatheral, "A parsimonious arbitrage-free implied volatility parameterization", 2004;
 * Gatheral & Jacquier, "Arbitrage-free SVI volatility surfaces", 2014.)
 *
 * The fit keeps every parameter set inside the admissible region by construction
 * (b ≥ 0, |ρ| < 1, s > 0, minimum variance ≥ 0, Lee's bound b(1 + |ρ|) ≤ 2), penalises
 * butterfly arbitrage (Gatheral's density function g(k) < 0) on a grid around the quotes,
 * and minimises the squared error in implied vol (not variance), so the reported errors are
 * what a user sees in vol points.
 */
import type { SmileFitStats, SviSmile } from './types.js';

/** Total implied variance w(k) (years × vol²). */
export function sviTotalVariance(p: SviSmile, k: number): number {
  const x = k - p.m;
  return p.a + p.b * (p.rho * x + Math.sqrt(x * x + p.sigma * p.sigma));
}

/**
 * Gatheral's g(k): the risk-neutral density is n(d2)·g(k)/√w, so g ≥ 0 everywhere ⇔ no
 * butterfly arbitrage in this smile.
 */
export function sviDensityG(p: SviSmile, k: number): number {
  const x = k - p.m;
  const r = Math.sqrt(x * x + p.sigma * p.sigma);
  const w = p.a + p.b * (p.rho * x + r);
  const w1 = p.b * (p.rho + x / r);
  const w2 = (p.b * p.sigma * p.sigma) / (r * r * r);
  if (!(w > 0)) return -Infinity;
  const u = 1 - (k * w1) / (2 * w);
  return u * u - ((w1 * w1) / 4) * (1 / w + 0.25) + w2 / 2;
}

/** Minimum of g over `n` evenly spaced points in [kLo, kHi]. */
export function sviMinDensityG(p: SviSmile, kLo: number, kHi: number, n = 201): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const g = sviDensityG(p, kLo + ((kHi - kLo) * i) / (n - 1));
    if (g < min) min = g;
  }
  return min;
}

/** Checks the admissible region; returns the first violated condition or null. */
export function sviViolation(p: SviSmile): string | null {
  for (const key of ['a', 'b', 'rho', 'm', 'sigma'] as const) {
    if (!Number.isFinite(p[key])) return `${key} must be a finite number`;
  }
  if (p.b < 0) return 'b must be >= 0';
  if (!(Math.abs(p.rho) < 1)) return '|rho| must be < 1';
  if (!(p.sigma > 0)) return 'sigma must be > 0';
  // Small tolerances: parameters written to JSON with ~12 significant digits.
  if (p.a + p.b * p.sigma * Math.sqrt(1 - p.rho * p.rho) < -1e-12) {
    return 'minimum total variance a + b·sigma·√(1 − rho²) must be >= 0';
  }
  if (p.b * (1 + Math.abs(p.rho)) > 2 + 1e-9) return "wing slopes b·(1 + |rho|) must be <= 2 (Lee's bound)";
  return null;
}

// ───────────────────────────── fitting ─────────────────────────────

export interface SviFitInput {
  /** log-moneyness ln(K/F) of each quote */
  k: ArrayLike<number>;
  /** implied vol (fraction) of each quote */
  vol: ArrayLike<number>;
  /** time to expiry, years */
  t: number;
  /** relative weight of each quote's vol error (default 1) */
  weight?: ArrayLike<number>;
}

export interface SviFitResult {
  smile: SviSmile;
  /** root-mean-square and max |σ_fit − σ_quote| over the quotes, vol units */
  rmsVolError: number;
  maxVolError: number;
  butterflyFree: boolean;
  minDensityG: number;
}

/** Margin in k around the quoted range on which butterfly arbitrage is penalised and checked. */
const ARB_MARGIN_K = 0.5;
const ARB_GRID = 41;
const ARB_PENALTY = 1;
/** Minimum total variance is exp(α); this floor keeps exp from underflowing to a degenerate smile. */
const MIN_LOG_VMIN = -30;

/** Minimises f over R^n from x0 with the Nelder–Mead simplex (Lagarias et al. 1998 coefficients). */
export function nelderMead(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  step: ArrayLike<number>,
  maxIter = 2000,
  tol = 1e-12,
): { x: Float64Array; fx: number } {
  const n = x0.length;
  const pts: Float64Array[] = [];
  const vals: number[] = [];
  for (let i = 0; i <= n; i++) {
    const p = Float64Array.from(x0);
    if (i > 0) p[i - 1] += step[i - 1];
    pts.push(p);
    vals.push(f(p));
  }
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  const centroid = new Float64Array(n);
  const xr = new Float64Array(n);
  const xe = new Float64Array(n);
  const xc = new Float64Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    order.sort((i, j) => vals[i] - vals[j]);
    const best = order[0];
    const worst = order[n];
    const second = order[n - 1];
    if (Math.abs(vals[worst] - vals[best]) <= tol * (Math.abs(vals[best]) + 1e-300)) break;
    centroid.fill(0);
    for (let o = 0; o < n; o++) {
      const p = pts[order[o]];
      for (let d = 0; d < n; d++) centroid[d] += p[d] / n;
    }
    const pw = pts[worst];
    for (let d = 0; d < n; d++) xr[d] = centroid[d] + (centroid[d] - pw[d]);
    const fr = f(xr);
    if (fr < vals[best]) {
      for (let d = 0; d < n; d++) xe[d] = centroid[d] + 2 * (centroid[d] - pw[d]);
      const fe = f(xe);
      if (fe < fr) {
        pw.set(xe);
        vals[worst] = fe;
      } else {
        pw.set(xr);
        vals[worst] = fr;
      }
    } else if (fr < vals[second]) {
      pw.set(xr);
      vals[worst] = fr;
    } else {
      const outside = fr < vals[worst];
      for (let d = 0; d < n; d++) xc[d] = outside ? centroid[d] + 0.5 * (xr[d] - centroid[d]) : centroid[d] + 0.5 * (pw[d] - centroid[d]);
      const fc = f(xc);
      if (fc < (outside ? fr : vals[worst])) {
        pw.set(xc);
        vals[worst] = fc;
      } else {
        const pb = pts[best];
        for (let o = 1; o <= n; o++) {
          const p = pts[order[o]];
          for (let d = 0; d < n; d++) p[d] = pb[d] + 0.5 * (p[d] - pb[d]);
          vals[order[o]] = f(p);
        }
      }
    }
  }
  let bi = 0;
  for (let i = 1; i <= n; i++) if (vals[i] < vals[bi]) bi = i;
  return { x: pts[bi], fx: vals[bi] };
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/** Maps unconstrained x = [m, ln s, atanh ρ, logit(b(1+|ρ|)/2), ln vmin] to admissible SVI. */
function decode(x: ArrayLike<number>): SviSmile {
  const m = x[0];
  const sigma = Math.exp(x[1]);
  const rho = Math.tanh(x[2]);
  const b = (2 / (1 + Math.abs(rho))) * logistic(x[3]);
  const vmin = Math.exp(Math.max(x[4], MIN_LOG_VMIN));
  const a = vmin - b * sigma * Math.sqrt(1 - rho * rho);
  return { model: 'svi-raw', a, b, rho, m, sigma };
}

function encode(p: SviSmile): Float64Array {
  const rho = Math.max(-0.999, Math.min(0.999, p.rho));
  const sigma = Math.max(1e-4, p.sigma);
  const cap = 2 / (1 + Math.abs(rho));
  const frac = Math.max(1e-6, Math.min(1 - 1e-6, p.b / cap));
  const vmin = Math.max(1e-12, p.a + p.b * sigma * Math.sqrt(1 - rho * rho));
  return Float64Array.from([p.m, Math.log(sigma), Math.atanh(rho), Math.log(frac / (1 - frac)), Math.log(vmin)]);
}

/**
 * Zeliade's quasi-explicit step: for fixed (m, s), w = a + d·y + c·√(y² + 1) with y = (k − m)/s is
 * linear in (a, d, c); solve the weighted least squares (weights 1/(2σT) make a variance residual
 * approximately a vol residual). Used only to find a good starting point.
 */
function quasiExplicit(k: ArrayLike<number>, w: Float64Array, wt: Float64Array, m: number, s: number): { p: SviSmile; sse: number } {
  const n = k.length;
  // normal equations for basis [1, y, z]
  let s11 = 0, s12 = 0, s13 = 0, s22 = 0, s23 = 0, s33 = 0, r1 = 0, r2 = 0, r3 = 0;
  for (let i = 0; i < n; i++) {
    const y = (k[i] - m) / s;
    const z = Math.sqrt(y * y + 1);
    const q = wt[i] * wt[i];
    s11 += q; s12 += q * y; s13 += q * z; s22 += q * y * y; s23 += q * y * z; s33 += q * z * z;
    r1 += q * w[i]; r2 += q * y * w[i]; r3 += q * z * w[i];
  }
  const det = s11 * (s22 * s33 - s23 * s23) - s12 * (s12 * s33 - s23 * s13) + s13 * (s12 * s23 - s22 * s13);
  let a: number, d: number, c: number;
  if (Math.abs(det) < 1e-300) {
    a = r1 / s11; d = 0; c = 0;
  } else {
    a = (r1 * (s22 * s33 - s23 * s23) - s12 * (r2 * s33 - s23 * r3) + s13 * (r2 * s23 - s22 * r3)) / det;
    d = (s11 * (r2 * s33 - s23 * r3) - r1 * (s12 * s33 - s23 * s13) + s13 * (s12 * r3 - r2 * s13)) / det;
    c = (s11 * (s22 * r3 - r2 * s23) - s12 * (s12 * r3 - r2 * s13) + r1 * (s12 * s23 - s22 * s13)) / det;
  }
  // project into the admissible region: c ≥ 0, |d| < c, c + |d| ≤ 2s
  c = Math.max(c, 1e-8);
  d = Math.max(-0.999 * c, Math.min(0.999 * c, d));
  const lee = (c + Math.abs(d)) / (2 * s);
  if (lee > 1) { c /= lee; d /= lee; }
  const b = c / s;
  const rho = d / c;
  a = Math.max(a, -b * s * Math.sqrt(1 - rho * rho) + 1e-12);
  const p: SviSmile = { model: 'svi-raw', a, b, rho, m, sigma: s };
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const e = (sviTotalVariance(p, k[i]) - w[i]) * wt[i];
    sse += e * e;
  }
  return { p, sse };
}

/**
 * Fits a raw SVI smile to quoted implied vols of one expiry (at least 3 distinct strikes; with
 * fewer than 5 the fit is underdetermined but still admissible). Objective: Σ (σ_SVI(k_i) − σ_i)²
 * + a penalty Σ min(g, 0)² on a k grid spanning the quotes ± 0.5.
 */
export function fitSvi(input: SviFitInput): SviFitResult {
  const { k, vol, t } = input;
  const n = k.length;
  const qw = Float64Array.from({ length: n }, (_, i) => (input.weight ? input.weight[i] : 1));
  const w = new Float64Array(n);
  const wt = new Float64Array(n);
  let kLo = Infinity, kHi = -Infinity, kAtMin = 0, volMin = Infinity;
  for (let i = 0; i < n; i++) {
    w[i] = vol[i] * vol[i] * t;
    wt[i] = qw[i] / (2 * vol[i] * t);
    if (k[i] < kLo) kLo = k[i];
    if (k[i] > kHi) kHi = k[i];
    if (vol[i] < volMin) { volMin = vol[i]; kAtMin = k[i]; }
  }
  const span = Math.max(kHi - kLo, 1e-3);
  const gridLo = kLo - ARB_MARGIN_K;
  const gridHi = kHi + ARB_MARGIN_K;

  // 1) starting point: best quasi-explicit solution over a coarse (m, s) grid, refined by NM in 2-D.
  let bestM = kAtMin, bestLs = Math.log(0.1 * span), bestSse = Infinity;
  for (const mf of [-0.25, 0, 0.25]) {
    for (const sf of [0.02, 0.1, 0.3, 1]) {
      const m = kAtMin + mf * span;
      const s = Math.max(1e-3, sf * span);
      const { sse } = quasiExplicit(k, w, wt, m, s);
      if (sse < bestSse) { bestSse = sse; bestM = m; bestLs = Math.log(s); }
    }
  }
  const outer = nelderMead(
    (x) => quasiExplicit(k, w, wt, x[0], Math.exp(x[1])).sse,
    [bestM, bestLs],
    [0.1 * span, 0.5],
    400,
  );
  const start = quasiExplicit(k, w, wt, outer.x[0], Math.exp(outer.x[1])).p;

  // 2) full constrained fit in vol space from that start (two NM passes: a restart escapes
  //    the simplex collapse NM is prone to in 5-D).
  const objective = (x: Float64Array): number => {
    const p = decode(x);
    let sse = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.sqrt(Math.max(sviTotalVariance(p, k[i]), 0) / t) - vol[i];
      sse += qw[i] * qw[i] * e * e;
    }
    let pen = 0;
    for (let j = 0; j < ARB_GRID; j++) {
      const g = sviDensityG(p, gridLo + ((gridHi - gridLo) * j) / (ARB_GRID - 1));
      if (g < 0) pen += g === -Infinity ? 1e6 : g * g;
    }
    return sse + ARB_PENALTY * pen;
  };
  let x = encode(start);
  const steps = [0.05 * span + 0.01, 0.3, 0.2, 0.3, 0.3];
  for (let pass = 0; pass < 3; pass++) x = nelderMead(objective, x, steps, 3000, 1e-14).x;
  const smile = decode(x);
  const stats = sviFitStats(smile, k, vol, t);
  const minDensityG = sviMinDensityG(smile, gridLo, gridHi);
  return { smile, rmsVolError: stats.rms, maxVolError: stats.max, butterflyFree: minDensityG >= 0, minDensityG };
}

/** RMS and max |σ_SVI − σ_quote| (vol units). */
export function sviFitStats(p: SviSmile, k: ArrayLike<number>, vol: ArrayLike<number>, t: number): { rms: number; max: number } {
  let sse = 0, max = 0;
  for (let i = 0; i < k.length; i++) {
    const e = Math.abs(Math.sqrt(Math.max(sviTotalVariance(p, k[i]), 0) / t) - vol[i]);
    sse += e * e;
    if (e > max) max = e;
  }
  return { rms: Math.sqrt(sse / Math.max(k.length, 1)), max };
}

/** Builds the SmileFitStats stored in a snapshot. */
export function smileFitStats(
  strikes: ArrayLike<number>,
  fit: { rmsVolError: number; maxVolError: number; butterflyFree: boolean },
): SmileFitStats {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < strikes.length; i++) {
    if (strikes[i] < lo) lo = strikes[i];
    if (strikes[i] > hi) hi = strikes[i];
  }
  return {
    points: strikes.length,
    minStrike: lo,
    maxStrike: hi,
    rmsVolError: fit.rmsVolError,
    maxVolError: fit.maxVolError,
    butterflyFree: fit.butterflyFree,
  };
}
