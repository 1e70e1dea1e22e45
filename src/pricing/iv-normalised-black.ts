/**
 * The normalised Black function and the special functions it needs, evaluated
 * to (close to) full double precision everywhere, including far in the wings.
 * This is the accuracy foundation of the implied-volatility solver in iv.ts.
 *
 * Normalisation (P. Jäckel, "Let's Be Rational", Wilmott, January 2015, §2):
 *   x = ln(F/K)          (log-moneyness)
 *   s = σ·√t             (total standard deviation)
 *   b(x, s, θ) = B(F, K, σ, t, θ) / √(F·K)    (B = undiscounted Black-76 value, USD)
 *              = θ·[ e^{x/2}·Φ(θ·(x/s + s/2)) − e^{−x/2}·Φ(θ·(x/s − s/2)) ]
 * with θ = +1 for a call, −1 for a put.  b is dimensionless; it is bounded by
 * the normalised intrinsic ι = max(θ·(e^{x/2} − e^{−x/2}), 0) below and by
 * e^{θx/2} above.
 *
 * Why not just Φ(d1)·F − Φ(d2)·K: out of the money and for small s both terms
 * are tiny and nearly equal; their difference loses every significant digit,
 * and a root-finder on it cannot reach 1e-10 in σ. Following Jäckel we evaluate
 * b for x ≤ 0 (an out-of-the-money call; anything else is mapped onto it by
 * put–call parity and the reciprocal-strike symmetry b(x,s,−1) = b(−x,s,+1))
 * in one of four regions, each with a formula that keeps relative accuracy:
 *   1. h = x/s ≪ 0 and t = s/2 small: asymptotic expansion (Abramowitz & Stegun 26.2.12);
 *   2. t small: Taylor expansion in t to twelfth order;
 *   3. h + t > 0.85 (b close to its maximum): the plain Φ form, no cancellation there;
 *   4. otherwise: Φ written with the scaled complementary error function,
 *      b = ½·e^{−(h²+t²)/2}·[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)], one exponential only.
 *
 * erfcx / erfc: W. J. Cody, "Rational Chebyshev approximations for the error
 * function", Math. Comp. 23 (1969) 631–637, coefficients of his SPECFUN routine
 * CALERF (netlib, public domain), which approximates erfcx(x) for x > 4 without
 * any exponential. Inverse normal CDF: M. J. Wichura, "Algorithm AS 241: the
 * percentage points of the normal distribution", Appl. Statist. 37 (1988) 477–484.
 *
 * This module is written from the paper and from reading the structure of the
 * MIT-licensed port vollib/py_lets_be_rational (itself a port of Jäckel's
 * reference C++, © 2013–2016 P. Jäckel, free to use with notice); the code here
 * is our own. Measured: b(x, s, θ) agrees with the LBR reference values of
 * lets_be_rational_testvalues.json ("normalised_black") to a relative 1.5e-15
 * (see test/iv.test.ts).
 */

export const DBL_EPSILON = 2.220446049250313e-16;
export const DBL_MIN = 2.2250738585072014e-308;
export const DBL_MAX = Number.MAX_VALUE;
const SQRT_DBL_MIN = Math.sqrt(DBL_MIN);

const ONE_OVER_SQRT_TWO = 0.7071067811865475244;
const ONE_OVER_SQRT_TWO_PI = 0.3989422804014326779;
const SQRT_PI_OVER_TWO = 1.2533141373155002512;
/** 1/√π */
const ONE_OVER_SQRT_PI = 0.56418958354775628695;

// ---------------------------------------------------------------------------
// Cody's rational approximations (CALERF). Coefficients as published.
// ---------------------------------------------------------------------------
/** erf(x) on |x| ≤ 0.46875 */
const ERF_NUM = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const ERF_DEN = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
/** erfcx(x) on 0.46875 < x ≤ 4 */
const ERFC_MID_NUM = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const ERFC_MID_DEN = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
/** erfcx(x) on x > 4, as a series in 1/x² */
const ERFC_TAIL_NUM = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4,
  0.0163153871373020978,
];
const ERFC_TAIL_DEN = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];

const ERF_SMALL_LIMIT = 0.46875;
/** Below this, erf(x) = 2x/√π to double precision: Cody skips x² to avoid underflow. */
const CODY_XSMALL = 1.11e-16;
/** erfc(x) underflows to 0 beyond this. */
const CODY_XBIG = 26.543;
/** erfcx(x) = 1/(x√π) to double precision beyond this. */
const CODY_XHUGE = 6.71e7;
/** erfcx(x) overflows below this (exp(x²) > DBL_MAX). */
const CODY_XNEG = -26.628;

/** erf(x) for |x| ≤ 0.46875 (signed). Horner forms of Cody's loops, unrolled for speed. */
function erfSmall(x: number): number {
  const z = Math.abs(x) > CODY_XSMALL ? x * x : 0;
  const num = (((ERF_NUM[4] * z + ERF_NUM[0]) * z + ERF_NUM[1]) * z + ERF_NUM[2]) * z + ERF_NUM[3];
  const den = (((z + ERF_DEN[0]) * z + ERF_DEN[1]) * z + ERF_DEN[2]) * z + ERF_DEN[3];
  return (x * num) / den;
}

// Coefficients as scalars: V8 keeps them in registers, array loads in the hot path cost ~2x.
const [C0, C1, C2, C3, C4, C5, C6, C7, C8] = ERFC_MID_NUM;
const [D0, D1, D2, D3, D4, D5, D6, D7] = ERFC_MID_DEN;
const [P0, P1, P2, P3, P4, P5] = ERFC_TAIL_NUM;
const [Q0, Q1, Q2, Q3, Q4] = ERFC_TAIL_DEN;

/** erfcx(y) = exp(y²)·erfc(y) for y > 0.46875, from the rational forms alone (no exponential). */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    const num = (((((((C8 * y + C0) * y + C1) * y + C2) * y + C3) * y + C4) * y + C5) * y + C6) * y + C7;
    const den = (((((((y + D0) * y + D1) * y + D2) * y + D3) * y + D4) * y + D5) * y + D6) * y + D7;
    return num / den;
  }
  if (y >= CODY_XHUGE) return ONE_OVER_SQRT_PI / y;
  const z = 1 / (y * y);
  const num = ((((P5 * z + P0) * z + P1) * z + P2) * z + P3) * z + P4;
  const den = ((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4;
  return (ONE_OVER_SQRT_PI - (z * num) / den) / y;
}

/**
 * exp(±y²) with y² split as Cody does: y = a + (y − a) with a = y truncated to
 * 1/16, so a² is exact and the rounding error of y·y is not amplified by exp.
 */
function expSquare(y: number, sign: 1 | -1): number {
  const a = Math.trunc(y * 16) / 16;
  const rest = (y - a) * (y + a);
  return Math.exp(sign * a * a) * Math.exp(sign * rest);
}

/** Scaled complementary error function erfcx(x) = exp(x²)·erfc(x), all real x. */
export function erfcx(x: number): number {
  const y = Math.abs(x);
  let r: number;
  if (y <= ERF_SMALL_LIMIT) {
    const xsq = y > CODY_XSMALL ? x * x : 0;
    return (1 - erfSmall(x)) * Math.exp(xsq);
  }
  r = erfcxLarge(y);
  if (x > 0) return r;
  // erfcx(−y) = 2·exp(y²) − erfcx(y)
  if (x < CODY_XNEG) return Infinity;
  const e = expSquare(y, 1);
  return e + e - r;
}

/** Complementary error function erfc(x), all real x. */
export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= ERF_SMALL_LIMIT) return 1 - erfSmall(x);
  const r = y >= CODY_XBIG ? 0 : erfcxLarge(y) * expSquare(y, -1);
  return x < 0 ? 2 - r : r;
}

/** Below this z, Φ(z) uses the asymptotic series (relative accuracy ~1.6e-16 with ≤ 17 terms). */
const NORM_CDF_ASYMPTOTIC_THRESHOLD = -10;
/** Below this z, the asymptotic series is 1 to double precision. */
const NORM_CDF_SERIES_IS_ONE = -1 / Math.sqrt(DBL_EPSILON);

export function normPdf(z: number): number {
  return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * z * z);
}

/**
 * Standard normal CDF Φ(z), with full relative accuracy in the lower tail.
 * For z ≤ −10: Φ(z) = φ(z)/|z|·[1 − 1/z² + 3/z⁴ − 15/z⁶ + …] (Abramowitz & Stegun 26.2.12),
 * summed while the terms still decrease and matter.
 */
export function normCdf(z: number): number {
  if (z > NORM_CDF_ASYMPTOTIC_THRESHOLD) return 0.5 * erfc(-z * ONE_OVER_SQRT_TWO);
  let sum = 1;
  if (z >= NORM_CDF_SERIES_IS_ONE) {
    const invZ2 = 1 / (z * z);
    let term = 1;
    let lastAbs = Infinity;
    for (let k = 1; k < 60; k++) {
      term *= -(2 * k - 1) * invZ2;
      const a = Math.abs(term);
      if (!(a < lastAbs) || a < DBL_EPSILON * Math.abs(sum)) break;
      sum += term;
      lastAbs = a;
    }
  }
  return (-normPdf(z) * sum) / z;
}

// AS 241 (PPND16) coefficients.
const AS241_A = [
  3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125, 45921.953931549871457,
  67265.770927008700853, 33430.575583588128105, 2509.0809287301226727,
];
const AS241_B = [
  1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867, 39307.89580009271061,
  28729.085735721942674, 5226.495278852854561,
];
const AS241_C = [
  1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504, 1.27045825245236838258,
  0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4,
];
const AS241_D = [
  1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459,
  0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9,
];
const AS241_E = [
  6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123, 0.026532189526576123093,
  0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7,
];
const AS241_F = [
  1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4,
  1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15,
];

function poly7(c: readonly number[], r: number): number {
  return ((((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]) * r + c[0];
}

/** Φ⁻¹(u) by AS 241 (relative accuracy about 1e-16). Returns ∓Infinity at u = 0 / 1. */
export function inverseNormCdf(u: number): number {
  if (u <= 0) return -Infinity;
  if (u >= 1) return Infinity;
  const q = u - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly7(AS241_A, r)) / poly7(AS241_B, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? u : 1 - u));
  let z: number;
  if (r <= 5) {
    r -= 1.6;
    z = poly7(AS241_C, r) / poly7(AS241_D, r);
  } else {
    r -= 5;
    z = poly7(AS241_E, r) / poly7(AS241_F, r);
  }
  return q < 0 ? -z : z;
}

// ---------------------------------------------------------------------------
// Normalised Black function
// ---------------------------------------------------------------------------

/** η: region 1 (asymptotic expansion) needs h = x/s below this. */
const ASYMPTOTIC_H_THRESHOLD = -10;
/** τ = 2·ε^(1/16) ≈ 0.2107: below this t = s/2 the twelfth-order small-t expansion is exact to ε (Jäckel). */
const SMALL_T_THRESHOLD = 2 * Math.pow(DBL_EPSILON, 1 / 16);

/**
 * Normalised intrinsic value of a call, e^{x/2} − e^{−x/2} = 2·sinh(x/2), for x > 0 (0 otherwise).
 * Near x = 0 the Taylor series avoids the cancellation of the difference.
 */
export function normalisedIntrinsicCall(x: number): number {
  if (x <= 0) return 0;
  const x2 = x * x;
  // 2·sinh(x/2) = x·(1 + x²/24 + x⁴/1920 + x⁶/322560 + x⁸/92897280 + …); Jäckel's switch-over
  // x² < 98·ε^(1/4) (98 ≈ 92897280^(1/4)) keeps the truncated series exact to double precision.
  if (x2 < 98 * Math.sqrt(Math.sqrt(DBL_EPSILON))) {
    return x * (1 + x2 * (1 / 24 + x2 * (1 / 1920 + x2 * (1 / 322560 + x2 / 92897280))));
  }
  const bMax = Math.exp(0.5 * x);
  return Math.max(bMax - 1 / bMax, 0);
}

/** Normalised intrinsic value for θ = +1 (call) / −1 (put). */
export function normalisedIntrinsic(x: number, theta: number): number {
  return normalisedIntrinsicCall(theta < 0 ? -x : x);
}

/**
 * Coefficients of the asymptotic expansion of A(h,t) := (r/t)·[Y(h+t) − Y(h−t)], Y(z) = Φ(z)/φ(z),
 * r = (h+t)(h−t), in powers of q = (h/r)² with e = (t/h)²:
 *   A = Σ_{n=0..17} (2n−1)!!·q^n·c_n(e),   c_n(e) = (−1)^n·2·Σ_{k=0..n} C(2n+1, 2k+1)·e^k
 * (from Φ(z) = φ(z)/|z|·Σ (−1)^n (2n−1)!!/z^{2n}, A&S 26.2.12; 17 orders give a relative
 * 1.64e-16 for h ≤ −10, Jäckel §3). Stored per n, lowest power of e first; all exact integers.
 */
const ASYMPTOTIC_ORDER = 17;
const ASYMPTOTIC_COEFFS: readonly Float64Array[] = (() => {
  const rows: Float64Array[] = [];
  for (let n = 0; n <= ASYMPTOTIC_ORDER; n++) {
    const row = new Float64Array(n + 1);
    // binomial C(2n+1, j) built incrementally, exact in double (max C(35,17) ≈ 4.5e9)
    let binom = 1; // C(2n+1, 0)
    for (let j = 0; j <= 2 * n + 1; j++) {
      if (j % 2 === 1) row[(j - 1) / 2] = (n % 2 === 0 ? 2 : -2) * binom;
      binom = (binom * (2 * n + 1 - j)) / (j + 1);
    }
    rows.push(row);
  }
  return rows;
})();

/**
 * Region 1: h < η, t small relative to |h|: b = e^{−(h²+t²)/2}/√(2π) · (t/r) · A(h,t).
 * One exponential instead of four, which is what keeps the relative accuracy there.
 */
function asymptoticExpansionBlackCall(h: number, t: number): number {
  const e = (t / h) * (t / h);
  const r = (h + t) * (h - t);
  const q = (h / r) * (h / r);
  // Horner in q with the (2n+1) factors of the double factorial: A = c0 + q·(c1 + 3q·(c2 + 5q·(…)))
  let acc = 0;
  for (let n = ASYMPTOTIC_ORDER; n >= 0; n--) {
    const row = ASYMPTOTIC_COEFFS[n];
    let cn = row[n];
    for (let k = n - 1; k >= 0; k--) cn = row[k] + e * cn;
    acc = n === ASYMPTOTIC_ORDER ? cn : cn + (2 * n + 1) * q * acc;
  }
  const b = ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * (h * h + t * t)) * (t / r) * acc;
  return Math.abs(Math.max(b, 0));
}

/**
 * Region 2: t < τ. b = φ-prefactor·[Y(h+t) − Y(h−t)] expanded in t to twelfth order, with
 * a = 1 + h·Y(h), Y(h) = √(π/2)·erfcx(−h/√2). Exact to ε for h ≤ 0 and t < τ (Jäckel).
 */
function smallTExpansionBlackCall(h: number, t: number): number {
  const a = 1 + h * SQRT_PI_OVER_TWO * erfcx(-ONE_OVER_SQRT_TWO * h);
  const w = t * t;
  const h2 = h * h;
  // Coefficients of t^(2k+1), k = 0..6, each a polynomial in a and h² divided by (2k+1)!
  const c1 = (-1 + 3 * a + a * h2) / 6;
  const c2 = (-7 + 15 * a + h2 * (-1 + 10 * a + a * h2)) / 120;
  const c3 = (-57 + 105 * a + h2 * (-18 + 105 * a + h2 * (-1 + 21 * a + a * h2))) / 5040;
  const c4 = (-561 + 945 * a + h2 * (-285 + 1260 * a + h2 * (-33 + 378 * a + h2 * (-1 + 36 * a + a * h2)))) / 362880;
  const c5 =
    (-6555 + 10395 * a + h2 * (-4680 + 17325 * a + h2 * (-840 + 6930 * a + h2 * (-52 + 990 * a + h2 * (-1 + 55 * a + a * h2))))) /
    39916800;
  const c6 =
    (-89055 +
      135135 * a +
      h2 * (-82845 + 270270 * a + h2 * (-20370 + 135135 * a + h2 * (-1926 + 25740 * a + h2 * (-75 + 2145 * a + h2 * (-1 + 78 * a + a * h2)))))) /
    6227020800;
  const expansion = 2 * t * (a + w * (c1 + w * (c2 + w * (c3 + w * (c4 + w * (c5 + w * c6))))));
  const b = ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * (h * h + t * t)) * expansion;
  return Math.abs(Math.max(b, 0));
}

/** Region 3: the direct form, used when b is a large fraction of its maximum (no cancellation). */
function directBlackCall(x: number, s: number): number {
  const h = x / s;
  const t = 0.5 * s;
  const bMax = Math.exp(0.5 * x);
  const b = normCdf(h + t) * bMax - normCdf(h - t) / bMax;
  return Math.abs(Math.max(b, 0));
}

/** Region 4: b = ½·e^{−(h²+t²)/2}·[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)]. */
function erfcxBlackCall(h: number, t: number): number {
  const b = 0.5 * Math.exp(-0.5 * (h * h + t * t)) * (erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t)));
  return Math.abs(Math.max(b, 0));
}

/** Normalised Black call b(x, s, +1) (dimensionless; see the file header). */
export function normalisedBlackCall(x: number, s: number): number {
  // In the money: intrinsic + the out-of-the-money put, which equals the call at −x.
  if (x > 0) return normalisedIntrinsicCall(x) + normalisedBlackCall(-x, s);
  if (s <= 0) return 0; // x ≤ 0 and no time value left
  // Region tests written without dividing by s (h = x/s, t = s/2):
  //   h < η  and  t < τ + |h| − |η|
  if (x < s * ASYMPTOTIC_H_THRESHOLD && 0.5 * s * s + x < s * (SMALL_T_THRESHOLD + ASYMPTOTIC_H_THRESHOLD)) {
    return asymptoticExpansionBlackCall(x / s, 0.5 * s);
  }
  if (0.5 * s < SMALL_T_THRESHOLD) return smallTExpansionBlackCall(x / s, 0.5 * s);
  //   h + t > 0.85
  if (x + 0.5 * s * s > s * 0.85) return directBlackCall(x, s);
  return erfcxBlackCall(x / s, 0.5 * s);
}

/** Normalised Black b(x, s, θ), θ = +1 call, −1 put (b(x,s,−1) = b(−x,s,+1)). */
export function normalisedBlack(x: number, s: number, theta: number): number {
  return normalisedBlackCall(theta < 0 ? -x : x, s);
}

/** Normalised vega ∂b/∂s = e^{−(h²+t²)/2}/√(2π) (h = x/s, t = s/2), the same for calls and puts. */
export function normalisedVega(x: number, s: number): number {
  const ax = Math.abs(x);
  if (ax <= 0) return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.125 * s * s);
  if (s <= 0 || s <= ax * SQRT_DBL_MIN) return 0;
  const h = x / s;
  return ONE_OVER_SQRT_TWO_PI * Math.exp(-0.5 * (h * h + 0.25 * s * s));
}

