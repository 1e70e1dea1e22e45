/**
 * Plain TypeScript reference implementation of Black-76 (the oracle the WASM
 * kernels are tested against, and the baseline they are benchmarked against).
 *
 * It evaluates the same closed forms as assembly/black76.ts but with the
 * platform's Math.exp / Math.log and a straightforward scalar W. J. Cody erfc,
 * so a bug in the kernels' own vectorised exp/log/erfc shows up as a mismatch.
 *
 * Conventions (DESIGN.md §2): undiscounted Black-76 on the forward F, discount
 * factor df = exp(−r·t) applied to the value; t in years; vol annualised.
 * With θ = +1 for a call and −1 for a put:
 *   V = df · θ · (F·N(θ·d1) − K·N(θ·d2)),  d1 = ln(F/K)/(σ√t) + σ√t/2,  d2 = d1 − σ√t.
 */
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

// W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631–637; coefficients of SPECFUN CALERF (netlib, public domain).
const A = [3.1611237438705656, 113.86415415105016, 377.48523768530202, 3209.3775891384695, 0.18577770618460315];
const B = [23.601290952344121, 244.02463793444417, 1282.6165260773723, 2844.2368334391706];
const C = [
  0.56418849698867009, 8.8831497943883759, 66.119190637141630, 298.63513819740013, 881.95222124176909,
  1712.0476126340706, 2051.0783778260715, 1230.3393547979972, 2.1531153547440385e-8,
];
const D = [
  15.744926110709835, 117.69395089131250, 537.18110186200986, 1621.3895745666902, 3290.7992357334596,
  4362.6190901432472, 3439.3676741437216, 1230.3393548037494,
];
const P = [0.30532663496123234, 0.36034489994980444, 0.12578172611122925, 0.016083785148742277, 6.5874916152983780e-4, 0.016315387137302098];
const Q = [2.5685201922898224, 1.8729528499234605, 0.52790510295142841, 0.060518341312441319, 2.3352049762686918e-3];
const SQRPI = 0.56418958354775628695; // 1/√π

/** erfc(y) for y ≥ 0 (Cody's three intervals). */
export function erfcNonNeg(y: number): number {
  if (y < 0.46875) {
    const ysq = y * y;
    let xnum = A[4] * ysq;
    let xden = ysq;
    for (let i = 0; i < 3; i++) {
      xnum = (xnum + A[i]) * ysq;
      xden = (xden + B[i]) * ysq;
    }
    return 1 - (y * (xnum + A[3])) / (xden + B[3]);
  }
  if (y > 26.6) return 0;
  let r: number;
  if (y <= 4) {
    let xnum = C[8] * y;
    let xden = y;
    for (let i = 0; i < 7; i++) {
      xnum = (xnum + C[i]) * y;
      xden = (xden + D[i]) * y;
    }
    r = (xnum + C[7]) / (xden + D[7]);
  } else {
    const z = 1 / (y * y);
    let xnum = P[5] * z;
    let xden = z;
    for (let i = 0; i < 4; i++) {
      xnum = (xnum + P[i]) * z;
      xden = (xden + Q[i]) * z;
    }
    r = (SQRPI - (z * (xnum + P[4])) / (xden + Q[4])) / y;
  }
  // exp(−y²) with y² split as Cody does (ysq = y truncated to 1/16) so that the
  // rounding error of y·y is not amplified by the exponential.
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
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
