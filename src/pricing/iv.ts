/**
 * Implied volatility of Black-76 options, linear (price in USD) and inverse
 * (coin-settled: price in coin = USD value / F), by Peter Jäckel's
 * "Let's Be Rational" (LBR):
 *
 *   P. Jäckel, "Let's Be Rational", Wilmott, January 2015, pp. 40–53
 *   (preprint 2013, reference implementation revised 2016).
 *
 * The algorithm, in the normalised coordinates x = ln(F/K), s = σ√t,
 * β = (price − intrinsic)/√(FK) of an out-of-the-money call (every option is
 * mapped onto one by put–call parity and b(x,s,put) = b(−x,s,call)):
 *   1. Four branches split at three points of b(s): s_c = √(2|x|) (the inflexion
 *      point of b), s_l = s_c − b_c/v_c and s_h = s_c + (b_max − b_c)/v_c (where the
 *      tangent at s_c meets 0 and b_max).
 *   2. Initial guess from a rational cubic (Delbourgo & Gregory 1985, shape
 *      preserving) in each branch: in the two middle branches of s as a function
 *      of b; in the lowest branch of a "lower map" f(b) ≈ (2π/√27)|x|Φ(−|x|/(√3 s))³
 *      that linearises b → 0; in the highest of f = Φ(−s/2), which linearises b → b_max.
 *      Each map is inverted in closed form. Measured: median relative error of the
 *      guess 1.6e-4, worst ~10% (|x| ≈ s ≈ 1e-3), which is what the next step is for.
 *   3. At most two Householder iterations of order 3 on an objective transformed
 *      per branch so it is nearly linear in s: 1/ln b − 1/ln β (lowest),
 *      b − β (middle), ln((b_max − β)/(b_max − b)) (highest, when β > b_max/2).
 *      A bracket kept from the branch ends and tightened at each step falls back
 *      to bisection if a step leaves it (per Jäckel, only for |x| in the hundreds).
 *      Householder(3) converges with order four: measured |Δs|/s after two steps is at most
 *      9× the one-ulp conditioning ε·b/(s·b') over x ∈ [−50, −1e-6], s ∈ [1e-3, 10].
 *
 * The normalised Black function it inverts is evaluated to relative machine
 * precision everywhere (iv-normalised-black.ts, erfcx-based), which is what makes
 * the result accurate to a few ulps of s and not just to the price's tolerance.
 *
 * Written from the paper and from reading the MIT-licensed port of Jäckel's code,
 * vollib/py_lets_be_rational (commit b85a0d8); the implementation is our own.
 *
 * Measured accuracy (test/iv.test.ts):
 *   - lets_be_rational_testvalues.json (outputs of Jäckel's reference code), 971 identifiable
 *     rows: max |σ − σ_LBR| = 5.6e-16; the 29 non-identifiable rows give IvStatus.NoTimeValue
 *     (vol 0) or, where a few ulps of time value remain, the same vol as LBR itself;
 *   - seeded round trip through the Black-76 reference (K/F 0.2–5, σ 1%–400%, t 1 h–5 y,
 *     rates, puts/calls, linear/inverse): max |Δσ| = 1.6e-12 wherever the price determines σ
 *     (criterion in the test), limited by the reference price's own rounding;
 *   - Deribit snapshots (coin marks, rate 0, ACT/365): median |σ − σ_mark| 3.5e-5 to 4.1e-5 on
 *     calm days (the IV is printed to 1e-4), every row consistent in price space with the data's
 *     rounding; 6.9e-4 median on the 2026-02-05 crash snapshot, whose marks and forwards were
 *     not captured at the same instant.
 * Speed (Node 20, plain TS): about 0.7 µs per option in impliedVolInto.
 */
import { ErrorCodes, OptmarginError, check, show } from '../errors.js';
import { rationalCubicInterpolation, convexControlLeft, convexControlRight } from './rational-cubic.js';
import { OptionFlag, type OptionBatch, type OptionType, type Settlement } from './types.js';
import {
  DBL_EPSILON,
  DBL_MAX,
  DBL_MIN,
  inverseNormCdf,
  normCdf,
  normPdf,
  normalisedBlackCall,
  normalisedIntrinsic,
  normalisedVega,
} from './iv-normalised-black.js';

export { normalisedBlack, normalisedBlackCall, normalisedIntrinsic, normalisedVega, erfcx } from './iv-normalised-black.js';

/**
 * Per-option result codes written by impliedVolInto (stable; tools may switch on them).
 *  - Ok: out[i] is the implied vol (annualised).
 *  - BelowIntrinsic: the undiscounted price is below intrinsic max(θ(F−K), 0) by more than
 *    rounding; out[i] = NaN.
 *  - AboveUpperBound: the undiscounted price is ≥ F (call) or ≥ K (put), i.e. the discounted
 *    price ≥ df·F / df·K (in coin: ≥ df / df·K/F); or t = 0 and the price exceeds intrinsic.
 *    No finite vol reaches it; out[i] = NaN.
 *  - NoTimeValue: the price equals intrinsic to within rounding (|price − intrinsic| ≤
 *    4 ulp of max(F, K), undiscounted USD), or t = 0: every vol below some level reproduces
 *    the price to double precision, so the vol is not identifiable; out[i] = 0 by convention.
 *  - InvalidInput: forward/strike not finite and > 0, t not finite and ≥ 0, rate or price not
 *    finite; out[i] = NaN.
 */
export const IvStatus = {
  Ok: 0,
  BelowIntrinsic: 1,
  AboveUpperBound: 2,
  NoTimeValue: 3,
  InvalidInput: 4,
} as const;
export type IvStatusCode = (typeof IvStatus)[keyof typeof IvStatus];

/** Rounding allowance, in units of ε·max(F, K), within which a price counts as equal to intrinsic. */
export const NO_TIME_VALUE_TOLERANCE_ULPS = 4;

/** LBR reaches machine precision in two Householder(3) steps from its rational guess. */
const HOUSEHOLDER_ITERATIONS = 2;

// ---------------------------------------------------------------------------
// The two maps that linearise b near 0 and near b_max (Jäckel §4, §5).
// Results go to module scratch variables (no allocation in the hot loop).
// ---------------------------------------------------------------------------
const SQRT_THREE = 1.7320508075688772935;
const SQRT_ONE_OVER_THREE = 0.57735026918962576451;
const TWO_PI = 6.283185307179586477;
const TWO_PI_OVER_SQRT_27 = 1.2091995761561452337;
const PI_OVER_SIX = 0.52359877559829887308;
const SQRT_PI_OVER_TWO = 1.2533141373155002512;
const SQRT_DBL_MAX = Math.sqrt(DBL_MAX);

let mapF = 0;
let mapFp = 0;
let mapFpp = 0;

/** Lower map f(s) = (2π/√27)·|x|·Φ(−z)³, z = |x|/(√3 s), and df/db, d²f/db² (x ≠ 0). */
function lowerMapAndDerivatives(x: number, s: number): void {
  const ax = Math.abs(x);
  const z = (SQRT_ONE_OVER_THREE * ax) / s;
  const y = z * z;
  const s2 = s * s;
  const Phi = normCdf(-z);
  const phi = normPdf(z);
  mapFpp =
    ((PI_OVER_SIX * y) / (s2 * s)) *
    Phi *
    (8 * SQRT_THREE * s * ax + ((3 * s2 * (s2 - 8) - 8 * x * x) * Phi) / phi) *
    Math.exp(2 * y + 0.25 * s2);
  const Phi2 = Phi * Phi;
  mapFp = TWO_PI * y * Phi2 * Math.exp(y + 0.125 * s2);
  mapF = TWO_PI_OVER_SQRT_27 * ax * (Phi2 * Phi);
}

function inverseLowerMap(x: number, f: number): number {
  return Math.abs(x / (SQRT_THREE * inverseNormCdf(Math.cbrt(f / (TWO_PI_OVER_SQRT_27 * Math.abs(x))))));
}

/** Upper map f(s) = Φ(−s/2), and df/db = −½·e^{(x/s)²/2}, d²f/db². */
function upperMapAndDerivatives(x: number, s: number): void {
  mapF = normCdf(-0.5 * s);
  if (x === 0) {
    mapFp = -0.5;
    mapFpp = 0;
  } else {
    const w = (x / s) * (x / s);
    mapFp = -0.5 * Math.exp(0.5 * w);
    mapFpp = ((SQRT_PI_OVER_TWO * Math.exp(w + 0.125 * s * s) * w) / s);
  }
}

function inverseUpperMap(f: number): number {
  return -2 * inverseNormCdf(f);
}

/** Householder(3) step multiplier: [1 + ½·h·n] / [1 + n·(h + h3·n/6)], n = Newton step, h = g''/g', h3 = g'''/g'. */
function householderFactor(newton: number, halley: number, hh3: number): number {
  return (1 + 0.5 * halley * newton) / (1 + newton * (halley + (hh3 * newton) / 6));
}

const enum Objective {
  Lower,
  Middle,
  Upper,
}

/**
 * Normalised implied vol s = σ√t of an out-of-the-money call: x ≤ 0 and
 * 0 < β < b_max = e^{x/2}. The caller has already checked the bounds.
 */
export function otmCallNormalisedImpliedVol(beta: number, x: number, maxIterations: number = HOUSEHOLDER_ITERATIONS): number {
  if (!(beta > 0)) return 0;
  const bMax = Math.exp(0.5 * x);
  let sLeft = DBL_MIN;
  let sRight = DBL_MAX;
  let s: number;
  let objective: Objective = Objective.Middle;

  const sC = Math.sqrt(Math.abs(2 * x));
  const bC = normalisedBlackCall(x, sC);
  const vC = normalisedVega(x, sC);

  if (beta < bC) {
    const sL = sC - bC / vC;
    const bL = normalisedBlackCall(x, sL);
    if (beta < bL) {
      // Lowest branch: interpolate the lower map between (0, 0) with slope 1 and (b_l, f_l).
      lowerMapAndDerivatives(x, sL);
      const fL = mapF;
      const rLL = convexControlRight(0, bL, 0, fL, 1, mapFp, mapFpp, true);
      let f = rationalCubicInterpolation(beta, 0, bL, 0, fL, 1, mapFp, rLL);
      if (!(f > 0)) {
        // Round-off for extreme |x| (> ~500): quadratic through f(0)=0, f'(0)=1 and f(b_l).
        const u = beta / bL;
        f = (fL * u + bL * (1 - u)) * u;
      }
      s = inverseLowerMap(x, f);
      sRight = sL;
      objective = Objective.Lower;
    } else {
      // Lower middle branch: s(b) on [b_l, b_c], slopes 1/vega, s'' = 0 at the inflexion b_c.
      const vL = normalisedVega(x, sL);
      const r = convexControlRight(bL, bC, sL, sC, 1 / vL, 1 / vC, 0, false);
      s = rationalCubicInterpolation(beta, bL, bC, sL, sC, 1 / vL, 1 / vC, r);
      sLeft = sL;
      sRight = sC;
    }
  } else {
    const sH = vC > DBL_MIN ? sC + (bMax - bC) / vC : sC;
    const bH = normalisedBlackCall(x, sH);
    if (beta <= bH) {
      // Upper middle branch: s(b) on [b_c, b_h], s'' = 0 at b_c.
      const vH = normalisedVega(x, sH);
      const r = convexControlLeft(bC, bH, sC, sH, 1 / vC, 1 / vH, 0, false);
      s = rationalCubicInterpolation(beta, bC, bH, sC, sH, 1 / vC, 1 / vH, r);
      sLeft = sC;
      sRight = sH;
    } else {
      // Highest branch: interpolate the upper map between (b_h, f_h) and (b_max, 0) with slope −½.
      upperMapAndDerivatives(x, sH);
      let f = -DBL_MAX;
      if (mapFpp > -SQRT_DBL_MAX && mapFpp < SQRT_DBL_MAX) {
        const rHH = convexControlLeft(bH, bMax, mapF, 0, mapFp, -0.5, mapFpp, true);
        f = rationalCubicInterpolation(beta, bH, bMax, mapF, 0, mapFp, -0.5, rHH);
      }
      if (!(f > 0)) {
        // Quadratic through f(b_h), f(b_max) = 0, f'(b_max) = −½.
        const h = bMax - bH;
        const u = (beta - bH) / h;
        f = (mapF * (1 - u) + 0.5 * h * u) * (1 - u);
      }
      s = inverseUpperMap(f);
      sLeft = sH;
      // Below b_max/2 the plain objective b − β is better conditioned than the log form.
      if (beta > 0.5 * bMax) objective = Objective.Upper;
    }
  }

  // Householder(3) iterations, with a bisection fall-back on the bracket [sLeft, sRight].
  let ds = -DBL_MAX;
  let dsPrevious = 0;
  let reversals = 0;
  const lnBeta = objective === Objective.Lower ? Math.log(beta) : 0;
  const lnBMaxMinusBeta = objective === Objective.Upper ? Math.log(bMax - beta) : 0;
  for (let iteration = 0; iteration < maxIterations && Math.abs(ds) > DBL_EPSILON * s; iteration++) {
    if (ds * dsPrevious < 0) reversals++;
    if (iteration > 0 && (reversals === 3 || !(s > sLeft && s < sRight))) {
      // Looping or leaving the bracket (only for extreme |x|): bisect instead.
      s = 0.5 * (sLeft + sRight);
      if (sRight - sLeft <= DBL_EPSILON * s) break;
      reversals = 0;
      ds = 0;
    }
    dsPrevious = ds;
    const b = normalisedBlackCall(x, s);
    const bp = normalisedVega(x, s);
    if (b > beta && s < sRight) sRight = s;
    else if (b < beta && s > sLeft) sLeft = s;
    // b''/b' and b'''/b' of the normalised Black function in s (closed forms).
    const h = x / s;
    const bHalley = (h * h) / s - s / 4;
    const bHh3 = bHalley * bHalley - 3 * (h / s) * (h / s) - 0.25;
    if (objective === Objective.Lower) {
      // g = 1/ln b − 1/ln β
      if (b <= 0 || bp <= 0) ds = 0.5 * (sLeft + sRight) - s;
      else {
        const lnB = Math.log(b);
        const bpOverB = bp / b;
        const newton = (((lnBeta - lnB) * lnB) / lnBeta) / bpOverB;
        const halley = bHalley - bpOverB * (1 + 2 / lnB);
        const hh3 =
          bHh3 + 2 * bpOverB * bpOverB * (1 + (3 / lnB) * (1 + 1 / lnB)) - 3 * bHalley * bpOverB * (1 + 2 / lnB);
        ds = newton * householderFactor(newton, halley, hh3);
      }
    } else if (objective === Objective.Upper) {
      // g = ln(b_max − β) − ln(b_max − b)
      if (b >= bMax || bp <= DBL_MIN) ds = 0.5 * (sLeft + sRight) - s;
      else {
        const bMaxMinusB = bMax - b;
        const g = lnBMaxMinusBeta - Math.log(bMaxMinusB);
        const gp = bp / bMaxMinusB;
        const newton = -g / gp;
        const halley = bHalley + gp;
        const hh3 = bHh3 + gp * (2 * gp + 3 * bHalley);
        ds = newton * householderFactor(newton, halley, hh3);
      }
    } else {
      // g = b − β
      const newton = (beta - b) / bp;
      ds = newton * householderFactor(newton, bHalley, bHh3);
    }
    ds = Math.max(-0.5 * s, ds);
    s += ds;
  }
  return s;
}

/**
 * Normalised implied vol: the s with b(x, s, θ) = β (θ = +1 call, −1 put).
 * Returns 0 when β equals the normalised intrinsic, NaN when β is below it or
 * at/above the maximum e^{θx/2}.
 */
export function normalisedImpliedVol(beta: number, x: number, theta: number, maxIterations: number = HOUSEHOLDER_ITERATIONS): number {
  const intrinsic = normalisedIntrinsic(x, theta);
  const timeValue = beta - intrinsic;
  if (!(timeValue >= 0)) return NaN;
  if (timeValue === 0) return 0;
  const xOtm = -Math.abs(x);
  if (timeValue >= Math.exp(0.5 * xOtm)) return NaN;
  return otmCallNormalisedImpliedVol(timeValue, xOtm, maxIterations);
}

// ---------------------------------------------------------------------------
// Market-level API
// ---------------------------------------------------------------------------

/**
 * Scalar core shared by both APIs. Inputs are assumed type-correct; returns the
 * vol (annualised) and leaves the status code in `coreStatus`, the undiscounted
 * USD intrinsic / upper bound in `coreIntrinsic` / `coreUpper` for messages.
 */
let coreStatus: IvStatusCode = IvStatus.Ok;
let coreIntrinsic = 0;
let coreUpper = 0;

function impliedVolCore(isPut: boolean, inverse: boolean, forward: number, strike: number, t: number, rate: number, price: number): number {
  if (
    !(forward > 0 && forward < Infinity) ||
    !(strike > 0 && strike < Infinity) ||
    !(t >= 0 && t < Infinity) ||
    !Number.isFinite(rate) ||
    !Number.isFinite(price)
  ) {
    coreStatus = IvStatus.InvalidInput;
    return NaN;
  }
  // To the undiscounted USD Black-76 value: coin → USD (× F), then undiscount (÷ e^{−rt}).
  const usd = inverse ? price * forward : price;
  const undiscounted = rate === 0 ? usd : usd * Math.exp(rate * t);
  const intrinsic = isPut ? Math.max(strike - forward, 0) : Math.max(forward - strike, 0);
  const upper = isPut ? strike : forward;
  coreIntrinsic = intrinsic;
  coreUpper = upper;
  // The time value is the out-of-the-money option's price (put–call parity); it is what LBR inverts.
  const timeValue = undiscounted - intrinsic;
  const tolerance = intrinsic > 0 ? NO_TIME_VALUE_TOLERANCE_ULPS * DBL_EPSILON * Math.max(forward, strike) : 0;
  if (timeValue < -tolerance) {
    coreStatus = IvStatus.BelowIntrinsic;
    return NaN;
  }
  if (timeValue <= tolerance) {
    coreStatus = IvStatus.NoTimeValue;
    return 0;
  }
  if (undiscounted >= upper || t === 0) {
    coreStatus = IvStatus.AboveUpperBound;
    return NaN;
  }
  const xOtm = -Math.abs(Math.log(forward / strike));
  const beta = timeValue / (Math.sqrt(forward) * Math.sqrt(strike));
  if (beta >= Math.exp(0.5 * xOtm)) {
    // Same bound after normalisation (can differ from the USD test by rounding).
    coreStatus = IvStatus.AboveUpperBound;
    return NaN;
  }
  coreStatus = IvStatus.Ok;
  return otmCallNormalisedImpliedVol(beta, xOtm) / Math.sqrt(t);
}

/** The fields of an OptionBatch the solver reads (an OptionBatch can be passed as is; vol is ignored). */
export type ImpliedVolBatch = Pick<OptionBatch, 'length' | 'forward' | 'strike' | 't' | 'rate' | 'flags'>;

/**
 * Implied vols of `batch.length` options, never throwing per option.
 * prices[i]: the option's (discounted) price in its settlement unit — USD for linear,
 * coin for inverse (flags bit OptionFlag.Inverse). out[i]: annualised vol, or NaN / 0
 * as documented at IvStatus; status[i] (optional): the IvStatus code.
 */
export function impliedVolInto(batch: ImpliedVolBatch, prices: Float64Array, out: Float64Array, status?: Uint8Array): void {
  const n = batch.length;
  if (!(Number.isInteger(n) && n >= 0)) throw invalidBatch('batch.length', 'must be an integer >= 0', n);
  const arrays: [string, { length: number }][] = [
    ['batch.forward', batch.forward],
    ['batch.strike', batch.strike],
    ['batch.t', batch.t],
    ['batch.rate', batch.rate],
    ['batch.flags', batch.flags],
    ['prices', prices],
    ['out', out],
  ];
  if (status !== undefined) arrays.push(['status', status]);
  for (const [name, a] of arrays) {
    if (a.length < n) throw invalidBatch(`${name}.length`, `must be >= batch.length (${n})`, a.length);
  }
  const { forward, strike, t, rate, flags } = batch;
  for (let i = 0; i < n; i++) {
    const f = flags[i];
    out[i] = impliedVolCore((f & OptionFlag.Put) !== 0, (f & OptionFlag.Inverse) !== 0, forward[i], strike[i], t[i], rate[i], prices[i]);
    if (status !== undefined) status[i] = coreStatus;
  }
}

function invalidBatch(path: string, requirement: string, value: unknown): OptmarginError {
  return new OptmarginError(ErrorCodes.INVALID_INPUT, `${path} ${requirement}, got ${show(value)}`, path);
}

export interface ImpliedVolInput {
  type: OptionType;
  /** forward (futures) price F, USD per coin */
  forward: number;
  strike: number;
  /** time to expiry, years (ACT/365); 0 allowed (then only price = intrinsic is valid, giving 0) */
  t: number;
  /** continuously compounded rate per year; default 0 (Deribit's convention) */
  rate?: number;
  /** discounted option price: USD for linear, coin for inverse */
  price: number;
  /** default 'linear' */
  settlement?: Settlement;
}

/**
 * Implied vol of one option (annualised; 0.55 = 55%).
 * Throws OptmarginError INVALID_INPUT naming the field for bad input, and
 * PRICE_OUT_OF_BOUNDS when the price is below the discounted intrinsic value or at/above
 * the upper bound (df·F call, df·K put; in coin df and df·K/F). A price equal to the
 * intrinsic value within rounding (IvStatus.NoTimeValue) returns 0.
 */
export function impliedVol(input: ImpliedVolInput): number {
  check.object('input', input);
  const type = check.oneOf('type', input.type, ['call', 'put'] as const);
  const forward = check.positive('forward', input.forward);
  const strike = check.positive('strike', input.strike);
  const t = check.nonNegative('t', input.t);
  const rate = input.rate === undefined ? 0 : check.finite('rate', input.rate);
  const price = check.finite('price', input.price);
  const settlement = input.settlement === undefined ? 'linear' : check.oneOf('settlement', input.settlement, ['linear', 'inverse'] as const);
  const inverse = settlement === 'inverse';
  const vol = impliedVolCore(type === 'put', inverse, forward, strike, t, rate, price);
  if (coreStatus === IvStatus.Ok || coreStatus === IvStatus.NoTimeValue) return vol;
  // Bounds in the caller's unit: discounted, and in coin for inverse options.
  const toUser = Math.exp(-rate * t) / (inverse ? forward : 1);
  const unit = inverse ? 'coin' : 'USD';
  const what = `${type} (forward ${forward}, strike ${strike}, t ${t}, rate ${rate})`;
  if (coreStatus === IvStatus.BelowIntrinsic) {
    throw new OptmarginError(
      ErrorCodes.PRICE_OUT_OF_BOUNDS,
      `price ${price} ${unit} is below the discounted intrinsic value ${coreIntrinsic * toUser} ${unit} of this ${what}: no implied volatility exists`,
      'price',
    );
  }
  if (t === 0) {
    throw new OptmarginError(
      ErrorCodes.PRICE_OUT_OF_BOUNDS,
      `price ${price} ${unit} exceeds the intrinsic value ${coreIntrinsic * toUser} ${unit} of this ${what}, but with t = 0 no volatility gives time value`,
      'price',
    );
  }
  throw new OptmarginError(
    ErrorCodes.PRICE_OUT_OF_BOUNDS,
    `price ${price} ${unit} is at or above the upper no-arbitrage bound ${coreUpper * toUser} ${unit} (${type === 'call' ? 'df·F' : 'df·K'}${inverse ? '/F' : ''}) of this ${what}: no implied volatility exists`,
    'price',
  );
}
