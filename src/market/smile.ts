/**
 * Smile evaluation for both models (raw SVI and the PCHIP spline in total variance), in a
 * compiled form that evaluates without allocation: the resolved market keeps one
 * CompiledSmile per expiry.
 */
import { sviTotalVariance } from './svi.js';
import type { Smile, SplineSmile } from './types.js';

/**
 * Fritsch–Carlson (PCHIP) slopes for nodes (x, y): harmonic mean of neighbouring secants where
 * they have the same sign, 0 at local extrema; one-sided three-point ends, clipped to keep
 * monotonicity (Fritsch & Carlson 1980; Moler, Numerical Computing with MATLAB §3.4).
 */
export function pchipSlopes(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const n = x.length;
  const d = new Float64Array(n);
  if (n < 2) return d;
  const h = new Float64Array(n - 1);
  const del = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    h[i] = x[i + 1] - x[i];
    del[i] = (y[i + 1] - y[i]) / h[i];
  }
  if (n === 2) {
    d[0] = d[1] = del[0];
    return d;
  }
  for (let i = 1; i < n - 1; i++) {
    if (del[i - 1] * del[i] > 0) {
      const w1 = 2 * h[i] + h[i - 1];
      const w2 = h[i] + 2 * h[i - 1];
      d[i] = (w1 + w2) / (w1 / del[i - 1] + w2 / del[i]);
    } else d[i] = 0;
  }
  const end = (h0: number, h1: number, d0: number, d1: number): number => {
    let s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if (Math.sign(s) !== Math.sign(d0)) s = 0;
    else if (Math.sign(d0) !== Math.sign(d1) && Math.abs(s) > Math.abs(3 * d0)) s = 3 * d0;
    return s;
  };
  d[0] = end(h[0], h[1], del[0], del[1]);
  d[n - 1] = end(h[n - 2], h[n - 3], del[n - 2], del[n - 3]);
  return d;
}

/**
 * A smile ready to evaluate. For SVI: params [a, b, rho, m, sigma]. For the spline: node
 * log-moneyness, total variances (w = vol²·T at the snapshot's T) and PCHIP slopes.
 * `variance(k)` returns the total variance at the smile's own expiry.
 */
export interface CompiledSmile {
  readonly model: 'svi-raw' | 'spline';
  /** expiry time the smile's total variances refer to, years */
  readonly t: number;
  variance(k: number): number;
  /** w(k), w'(k), w''(k) into out[0..2] (for arbitrage checks) */
  derivatives(k: number, out: Float64Array): void;
}

class SviCompiled implements CompiledSmile {
  readonly model = 'svi-raw' as const;
  constructor(
    readonly t: number,
    private readonly a: number,
    private readonly b: number,
    private readonly rho: number,
    private readonly m: number,
    private readonly s: number,
  ) {}
  variance(k: number): number {
    const x = k - this.m;
    return this.a + this.b * (this.rho * x + Math.sqrt(x * x + this.s * this.s));
  }
  derivatives(k: number, out: Float64Array): void {
    const x = k - this.m;
    const r = Math.sqrt(x * x + this.s * this.s);
    out[0] = this.a + this.b * (this.rho * x + r);
    out[1] = this.b * (this.rho + x / r);
    out[2] = (this.b * this.s * this.s) / (r * r * r);
  }
}

class SplineCompiled implements CompiledSmile {
  readonly model = 'spline' as const;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly d: Float64Array;
  constructor(readonly t: number, k: ArrayLike<number>, vol: ArrayLike<number>) {
    this.x = Float64Array.from(k);
    this.y = Float64Array.from(vol, (v) => v * v * t);
    this.d = pchipSlopes(this.x, this.y);
  }
  private segment(k: number): number {
    // binary search: largest i with x[i] ≤ k, clamped to [0, n-2]
    const x = this.x;
    let lo = 0;
    let hi = x.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (x[mid] <= k) lo = mid;
      else hi = mid;
    }
    return lo;
  }
  variance(k: number): number {
    const x = this.x;
    const n = x.length;
    // flat vol (= flat total variance at fixed T) outside the nodes
    if (k <= x[0]) return this.y[0];
    if (k >= x[n - 1]) return this.y[n - 1];
    const i = this.segment(k);
    const h = x[i + 1] - x[i];
    const s = (k - x[i]) / h;
    const s2 = s * s;
    const s3 = s2 * s;
    return (
      (2 * s3 - 3 * s2 + 1) * this.y[i] + (s3 - 2 * s2 + s) * h * this.d[i] + (-2 * s3 + 3 * s2) * this.y[i + 1] + (s3 - s2) * h * this.d[i + 1]
    );
  }
  derivatives(k: number, out: Float64Array): void {
    const x = this.x;
    const n = x.length;
    if (k <= x[0] || k >= x[n - 1]) {
      out[0] = k <= x[0] ? this.y[0] : this.y[n - 1];
      out[1] = 0;
      out[2] = 0;
      return;
    }
    const i = this.segment(k);
    const h = x[i + 1] - x[i];
    const s = (k - x[i]) / h;
    const y0 = this.y[i], y1 = this.y[i + 1], d0 = this.d[i], d1 = this.d[i + 1];
    out[0] = this.variance(k);
    out[1] = ((6 * s * s - 6 * s) * y0 + (3 * s * s - 4 * s + 1) * h * d0 + (-6 * s * s + 6 * s) * y1 + (3 * s * s - 2 * s) * h * d1) / h;
    out[2] = ((12 * s - 6) * y0 + (6 * s - 4) * h * d0 + (-12 * s + 6) * y1 + (6 * s - 2) * h * d1) / (h * h);
  }
}

/** Compiles a smile whose total variances refer to expiry time `t` (years). */
export function compileSmile(smile: Smile, t: number): CompiledSmile {
  if (smile.model === 'svi-raw') return new SviCompiled(t, smile.a, smile.b, smile.rho, smile.m, smile.sigma);
  return new SplineCompiled(t, smile.k, smile.vol);
}

/** Implied vol of a smile at log-moneyness k (T = the smile's own expiry time). */
export function smileVol(smile: Smile, k: number, t: number): number {
  const w = smile.model === 'svi-raw' ? sviTotalVariance(smile, k) : compileSmile(smile, t).variance(k);
  return Math.sqrt(Math.max(w, 0) / t);
}

/**
 * Minimum of Gatheral's g(k) (density ∝ g ≥ 0 ⇔ no butterfly arbitrage) over n points of
 * [kLo, kHi]; evaluated from w, w', w'' of the compiled smile.
 */
export function minDensityG(c: CompiledSmile, kLo: number, kHi: number, n = 201): number {
  const o = new Float64Array(3);
  let min = Infinity;
  for (let j = 0; j < n; j++) {
    const k = kLo + ((kHi - kLo) * j) / (n - 1);
    c.derivatives(k, o);
    const [w, w1, w2] = o;
    if (!(w > 0)) return -Infinity;
    const u = 1 - (k * w1) / (2 * w);
    const g = u * u - ((w1 * w1) / 4) * (1 / w + 0.25) + w2 / 2;
    if (g < min) min = g;
  }
  return min;
}

/** Spline smile through (k, vol) nodes (sorted, deduplicated by the caller). */
export function splineSmile(k: number[], vol: number[]): SplineSmile {
  return { model: 'spline', k: k.slice(), vol: vol.slice() };
}
