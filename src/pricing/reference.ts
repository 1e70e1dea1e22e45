/**
 * Plain TypeScript reference implementation of Black-76 (the oracle the WASM
 * kernels are tested against, and the baseline they are benchmarked against).
 *
 * It evaluates the same closed forms as assembly/black76.ts but with the
 * platform's Math.exp / Math.log and the scalar TypeScript Cody erfc of
 * iv-normalised-black.ts, so a bug in the kernels' own vectorised exp/log/erfc
 * shows up as a mismatch.
 *
 * Conventions (docs/market.md): undiscounted Black-76 on the forward F, discount
 * factor df = exp(−r·t) applied to the value; t in years; vol annualised.
 * With θ = +1 for a call and −1 for a put:
 *   V = df · θ · (F·N(θ·d1) − K·N(θ·d2)),  d1 = ln(F/K)/(σ√t) + σ√t/2,  d2 = d1 − σ√t.
 */
import { erfc } from './iv-normalised-black.js';
import { OptionFlag, type Greeks, type GreeksBatch, type OptionBatch } from './types.js';

const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const SQRT1_2 = 0.7071067811865476; // 1/√2
/**
 * Below this total standard deviation σ√t the distribution of F at expiry is a
 * point mass for double precision purposes (an ATM option is worth < 4e-15·F):
 * the option is valued at its discounted intrinsic value.
 */
export const SD_DEGENERATE = 1e-14;
/** |d| is clamped here: N(±40) is exactly 1/0 and n(40) underflows in double, so nothing is lost. */
export const D_CLAMP = 40;

/** erfc(y) for y ≥ 0: W. J. Cody's CALERF (the TypeScript implementation shared with the implied-vol solver). */
export function erfcNonNeg(y: number): number {
  return erfc(y);
}

/** Standard normal CDF N(x), accurate in relative terms in the lower tail. */
export function normCdf(x: number): number {
  const t = 0.5 * erfcNonNeg(Math.abs(x) * SQRT1_2);
  return x < 0 ? t : 1 - t;
}

export function normPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** Price and all Greeks of one option. See types.ts for units. */
export function black76Reference(
  isPut: boolean,
  forward: number,
  strike: number,
  vol: number,
  t: number,
  rate: number,
  inverse: boolean,
): Greeks {
  const theta = isPut ? -1 : 1;
  const df = Math.exp(-rate * t);
  const sqrtT = Math.sqrt(t);
  const sd = vol * sqrtT;
  let price: number, delta: number, gamma: number, vega: number, vanna: number, volga: number;
  if (sd < SD_DEGENERATE) {
    // Point-mass limit: intrinsic value; vega keeps its one-sided limit at the money.
    const intrinsic = Math.max(theta * (forward - strike), 0);
    price = df * intrinsic;
    delta = forward === strike ? 0.5 * theta * df : intrinsic > 0 ? theta * df : 0;
    gamma = 0;
    vega = forward === strike ? df * forward * sqrtT * INV_SQRT_2PI : 0;
    vanna = 0;
    volga = 0;
  } else {
    let d1 = Math.log(forward / strike) / sd + 0.5 * sd;
    let d2 = d1 - sd;
    d1 = Math.min(Math.max(d1, -D_CLAMP), D_CLAMP);
    d2 = Math.min(Math.max(d2, -D_CLAMP), D_CLAMP);
    const nd1 = normPdf(d1);
    const Nd1 = normCdf(theta * d1);
    const Nd2 = normCdf(theta * d2);
    price = df * theta * (forward * Nd1 - strike * Nd2);
    if (price < 0) price = 0; // rounding in the ITM subtraction can leave −1 ulp
    delta = df * theta * Nd1;
    gamma = (df * nd1) / (forward * sd);
    vega = df * forward * nd1 * sqrtT;
    vanna = (-df * nd1 * d2) / vol;
    volga = (vega * d1 * d2) / vol;
  }
  const thetaT = rate * price - (t > 0 ? (vega * vol) / (2 * t) : 0);
  const rho = -t * price;
  if (!inverse) return { price, delta, gamma, vega, theta: thetaT, rho, vanna, volga };
  // Coin value Vc = V/F: product rule for the forward derivatives; σ, t and r
  // derivatives just divide by F.
  const invF = 1 / forward;
  const pc = price * invF;
  const deltaC = (delta - pc) * invF;
  return {
    price: pc,
    delta: deltaC,
    gamma: (gamma - 2 * deltaC) * invF,
    vega: vega * invF,
    theta: thetaT * invF,
    rho: rho * invF,
    vanna: (vanna - vega * invF) * invF,
    volga: volga * invF,
  };
}

/** Price-only batch form of the reference: out[i] = value of option i (coin value for inverse flags). */
export function black76ReferencePriceOnlyInto(batch: OptionBatch, out: Float64Array): void {
  for (let i = 0; i < batch.length; i++) {
    const f = batch.flags[i];
    out[i] = black76Reference((f & OptionFlag.Put) !== 0, batch.forward[i], batch.strike[i], batch.vol[i], batch.t[i], batch.rate[i], (f & OptionFlag.Inverse) !== 0).price;
  }
}

/** Batch form of the reference (the benchmark baseline): fills `out` for batch.length options. */
export function black76ReferenceInto(batch: OptionBatch, out: GreeksBatch): void {
  for (let i = 0; i < batch.length; i++) {
    const f = batch.flags[i];
    const g = black76Reference(
      (f & OptionFlag.Put) !== 0,
      batch.forward[i],
      batch.strike[i],
      batch.vol[i],
      batch.t[i],
      batch.rate[i],
      (f & OptionFlag.Inverse) !== 0,
    );
    out.price[i] = g.price;
    out.delta[i] = g.delta;
    out.gamma[i] = g.gamma;
    out.vega[i] = g.vega;
    out.theta[i] = g.theta;
    out.rho[i] = g.rho;
    out.vanna[i] = g.vanna;
    out.volga[i] = g.volga;
  }
}
