// Elementary functions for the pricing kernels, each in a scalar (f64) and a
// two-lane SIMD (f64x2) form that perform the SAME operations in the SAME
// order, so the scalar build and the SIMD build return bit-identical results.
//
// No FMA is used anywhere (WebAssembly has none outside relaxed-simd, and a
// fused step in one build but not the other would break bit-identity).
//
// Measured accuracy: test/elementary.test.ts compares each function with a
// 60-digit Python `decimal` reference at a few thousand deterministic points
// (scripts/highprec_elementary.py → test/fixtures/elementary_highprec.json)
// and asserts the bounds quoted below, in units in the last place (ulp).

// ---------------------------------------------------------------------------
// exp(x + xt): Cody–Waite range reduction x = k·ln2 + r, |r| ≤ ln2/2, with
// ln2 split in a 32-bit head (k·LN2_HI exact for |k| < 2^20) and a tail
// (fdlibm's e_exp.c constants). exp(r) by its Taylor series to degree 13:
// truncation error r^14/14! < 5e-18 for |r| ≤ 0.3466, evaluated by Estrin's
// scheme, so the error is that of the rounding steps. The optional tail `xt`
// carries low-order bits of the argument (used for exp(−x²/2) with x² exact).
// Scaling by 2^k uses two factors 2^k1·2^k2 so that gradual underflow down to
// exp(−745) is exact and no intermediate overflows.
// Measured: max 2 ulp over 4,200 points in [−745, 0] ∪ [−1, 1].
// ---------------------------------------------------------------------------
const LN2_HI: f64 = 6.93147180369123816490e-1; // 0x3FE62E42FEE00000
const LN2_LO: f64 = 1.90821492927058770002e-10; // 0x3DEA39EF35793C76
const INV_LN2: f64 = 1.44269504088896338700e0;
const EXP_MIN: f64 = -745.2; // below: exp underflows to 0
const EXP_MAX: f64 = 709.78; // callers never exceed it (arguments are ≤ 0 or tiny)
// 2^52 + 2^51: adding it to a small integer-valued f64 leaves the integer in
// the low mantissa bits (the classic round-to-integer/bit-cast trick).
const MAGIC: f64 = 6755399441055744.0;
const MAGIC_BIAS: f64 = 6755399441056767.0; // MAGIC + 1023 (exponent bias)

const E2: f64 = 1.0 / 2.0;
const E3: f64 = 1.0 / 6.0;
const E4: f64 = 1.0 / 24.0;
const E5: f64 = 1.0 / 120.0;
const E6: f64 = 1.0 / 720.0;
const E7: f64 = 1.0 / 5040.0;
const E8: f64 = 1.0 / 40320.0;
const E9: f64 = 1.0 / 362880.0;
const E10: f64 = 1.0 / 3628800.0;
const E11: f64 = 1.0 / 39916800.0;
const E12: f64 = 1.0 / 479001600.0;
const E13: f64 = 1.0 / 6227020800.0;

// @ts-ignore: decorator
@inline
function pow2(k: f64): f64 {
  return reinterpret<f64>(reinterpret<i64>(k + MAGIC_BIAS) << 52);
}

// @ts-ignore: decorator
@inline
export function expTailS(x: f64, xt: f64): f64 {
  // pmin/pmax semantics (b < a ? b : a), mirrored by f64x2.pmin/pmax: one instruction each.
  let xlo = EXP_MIN > x ? EXP_MIN : x;
  let xc = EXP_MAX < xlo ? EXP_MAX : xlo;
  let k = nearest<f64>(xc * INV_LN2);
  let r = (xc - k * LN2_HI) + (xt - k * LN2_LO);
  // Estrin's scheme: a short dependency chain (the Horner form is 13 dependent
  // multiply-adds, which left the SIMD units waiting on latency).
  let r2 = r * r;
  let r4 = r2 * r2;
  let r8 = r4 * r4;
  let q0 = (1.0 + r) + (E2 + E3 * r) * r2;
  let q1 = (E4 + E5 * r) + (E6 + E7 * r) * r2;
  let q2 = (E8 + E9 * r) + (E10 + E11 * r) * r2;
  let q3 = E12 + E13 * r;
  let p = (q0 + q1 * r4) + (q2 + q3 * r4) * r8;
  let k1 = trunc<f64>(k * 0.5);
  let k2 = k - k1;
  let y = p * pow2(k1) * pow2(k2);
  return x < EXP_MIN ? 0.0 : y;
}

// @ts-ignore: decorator
@inline
function pow2V(k: v128): v128 {
  return i64x2.shl(f64x2.add(k, vc(V_MAGIC_BIAS)), 52);
}

// @ts-ignore: decorator
@inline
export function expTailV(x: v128, xt: v128): v128 {
  let xc = f64x2.pmin(f64x2.pmax(x, vc(V_EXP_MIN)), vc(V_EXP_MAX));
  let k = f64x2.nearest(f64x2.mul(xc, vc(V_INV_LN2)));
  let r = f64x2.add(
    f64x2.sub(xc, f64x2.mul(k, vc(V_LN2_HI))),
    f64x2.sub(xt, f64x2.mul(k, vc(V_LN2_LO))),
  );
  let r2 = f64x2.mul(r, r);
  let r4 = f64x2.mul(r2, r2);
  let r8 = f64x2.mul(r4, r4);
  let q0 = f64x2.add(f64x2.add(vc(V_ONE), r), f64x2.mul(f64x2.add(vc(V_E2), f64x2.mul(vc(V_E3), r)), r2));
  let q1 = f64x2.add(f64x2.add(vc(V_E4), f64x2.mul(vc(V_E5), r)), f64x2.mul(f64x2.add(vc(V_E6), f64x2.mul(vc(V_E7), r)), r2));
  let q2 = f64x2.add(f64x2.add(vc(V_E8), f64x2.mul(vc(V_E9), r)), f64x2.mul(f64x2.add(vc(V_E10), f64x2.mul(vc(V_E11), r)), r2));
  let q3 = f64x2.add(vc(V_E12), f64x2.mul(vc(V_E13), r));
  let p = f64x2.add(f64x2.add(q0, f64x2.mul(q1, r4)), f64x2.mul(f64x2.add(q2, f64x2.mul(q3, r4)), r8));
  let k1 = f64x2.trunc(f64x2.mul(k, vc(V_HALF)));
  let k2 = f64x2.sub(k, k1);
  let y = f64x2.mul(f64x2.mul(p, pow2V(k1)), pow2V(k2));
  return v128.andnot(y, f64x2.lt(x, vc(V_EXP_MIN)));
}

// ---------------------------------------------------------------------------
// log(x) for positive normal x: x = 2^e·m with m ∈ [√½, √2), then
// log m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.1716, by the series
// 2s·(1 + s²/3 + s⁴/5 + … + s²⁰/21): truncation s²²/23 < 1e-18 relative.
// m−1 is exact (Sterbenz), so the error is that of one division and the
// polynomial's rounding; e·ln2 is added in head/tail form.
// Measured: max 3 ulp over 3,000 points in [1e-3, 1e3]; 2 ulp within 1e-6 of 1.
// Subnormal x is outside the domain (callers pass F/K of validated inputs).
// ---------------------------------------------------------------------------
const SQRT2: f64 = 1.4142135623730951;
const L3: f64 = 1.0 / 3.0;
const L5: f64 = 1.0 / 5.0;
const L7: f64 = 1.0 / 7.0;
const L9: f64 = 1.0 / 9.0;
const L11: f64 = 1.0 / 11.0;
const L13: f64 = 1.0 / 13.0;
const L15: f64 = 1.0 / 15.0;
const L17: f64 = 1.0 / 17.0;
const L19: f64 = 1.0 / 19.0;
const L21: f64 = 1.0 / 21.0;
const MANT_MASK: i64 = 0x000fffffffffffff;
const ONE_BITS: i64 = 0x3ff0000000000000;
const TWO52_BITS: i64 = 0x4330000000000000; // 2^52 as f64 bits
const TWO52: f64 = 4503599627370496.0;

// @ts-ignore: decorator
@inline
export function logS(x: f64): f64 {
  let bits = reinterpret<i64>(x);
  let ebits = bits >>> 52;
  let m = reinterpret<f64>((bits & MANT_MASK) | ONE_BITS);
  let e = reinterpret<f64>(ebits | TWO52_BITS) - TWO52 - 1023.0;
  let big = m > SQRT2;
  m = big ? m * 0.5 : m;
  e = big ? e + 1.0 : e;
  let s = (m - 1.0) / (m + 1.0);
  let z = s * s;
  let z2 = z * z;
  let z4 = z2 * z2;
  let z8 = z4 * z4;
  let p = ((1.0 + L3 * z) + (L5 + L7 * z) * z2) + ((L9 + L11 * z) + (L13 + L15 * z) * z2) * z4 + ((L17 + L19 * z) + L21 * z2) * z8;
  let logm = 2.0 * s * p;
  return e * LN2_HI + (logm + e * LN2_LO);
}

// @ts-ignore: decorator
@inline
export function logV(x: v128): v128 {
  let ebits = i64x2.shr_u(x, 52);
  let m = v128.or(v128.and(x, i64x2.splat(MANT_MASK)), i64x2.splat(ONE_BITS));
  let e = f64x2.sub(
    f64x2.sub(v128.or(ebits, i64x2.splat(TWO52_BITS)), vc(V_TWO52)),
    vc(V_EXP_BIAS),
  );
  let big = f64x2.gt(m, vc(V_SQRT2));
  m = v128.bitselect(f64x2.mul(m, vc(V_HALF)), m, big);
  e = v128.bitselect(f64x2.add(e, vc(V_ONE)), e, big);
  let s = f64x2.div(f64x2.sub(m, vc(V_ONE)), f64x2.add(m, vc(V_ONE)));
  let z = f64x2.mul(s, s);
  let z2 = f64x2.mul(z, z);
  let z4 = f64x2.mul(z2, z2);
  let z8 = f64x2.mul(z4, z4);
  let pa = f64x2.add(f64x2.add(vc(V_ONE), f64x2.mul(vc(V_L3), z)), f64x2.mul(f64x2.add(vc(V_L5), f64x2.mul(vc(V_L7), z)), z2));
  let pb = f64x2.add(f64x2.add(vc(V_L9), f64x2.mul(vc(V_L11), z)), f64x2.mul(f64x2.add(vc(V_L13), f64x2.mul(vc(V_L15), z)), z2));
  let pc = f64x2.add(f64x2.add(vc(V_L17), f64x2.mul(vc(V_L19), z)), f64x2.mul(vc(V_L21), z2));
  let p = f64x2.add(f64x2.add(pa, f64x2.mul(pb, z4)), f64x2.mul(pc, z8));
  let logm = f64x2.mul(f64x2.mul(vc(V_TWO), s), p);
  return f64x2.add(
    f64x2.mul(e, vc(V_LN2_HI)),
    f64x2.add(logm, f64x2.mul(e, vc(V_LN2_LO))),
  );
}

// ---------------------------------------------------------------------------
// Gaussian factor exp(−x²/2), x ≥ 0, with x² computed exactly as p + lo
// (Dekker's product via Veltkamp splitting, no FMA needed), so the rounding
// of x·x is not amplified by the exponential in the tails (at x = 38 a plain
// x·x would cost ~1e-13 relative).
// ---------------------------------------------------------------------------
const SPLIT: f64 = 134217729.0; // 2^27 + 1

// @ts-ignore: decorator
@inline
export function expNegHalfSqS(x: f64): f64 {
  let c = x * SPLIT;
  let xh = c - (c - x);
  let xl = x - xh;
  let p = x * x;
  let lo = ((xh * xh - p) + 2.0 * xh * xl) + xl * xl;
  return expTailS(-0.5 * p, -0.5 * lo);
}

// @ts-ignore: decorator
@inline
export function expNegHalfSqV(x: v128): v128 {
  let c = f64x2.mul(x, vc(V_SPLIT));
  let xh = f64x2.sub(c, f64x2.sub(c, x));
  let xl = f64x2.sub(x, xh);
  let p = f64x2.mul(x, x);
  let lo = f64x2.add(
    f64x2.add(f64x2.sub(f64x2.mul(xh, xh), p), f64x2.mul(f64x2.mul(vc(V_TWO), xh), xl)),
    f64x2.mul(xl, xl),
  );
  return expTailV(f64x2.mul(vc(V_MINUS_HALF), p), f64x2.mul(vc(V_MINUS_HALF), lo));
}

// ---------------------------------------------------------------------------
// Lower normal tail N(−x) = ½·erfc(x/√2) for x ≥ 0, given ex = exp(−x²/2).
// W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631–637, coefficients of SPECFUN's CALERF (netlib,
// public domain); three intervals in y = x/√2: y < 0.46875 (erf form),
// 0.46875 ≤ y ≤ 4, y > 4 (asymptotic form), each rational evaluated by
// Estrin's scheme (all terms positive: as stable as Horner). Cody's designed
// accuracy exceeds double precision. Measured: max 4 ulp (relative) over
// 3,000 points x ∈ [0, 38], i.e. down to N(−38) ≈ 3e-316.
// The SIMD form evaluates only the intervals some lane needs.
// ---------------------------------------------------------------------------
export const THRESH: f64 = 0.46875;
export const SQRT1_2: f64 = 0.70710678118654752440;
const SQRPI: f64 = 0.56418958354775628695; // 1/√π
const A0: f64 = 3.16112374387056560e0;
const A1: f64 = 1.13864154151050156e2;
const A2: f64 = 3.77485237685302021e2;
const A3: f64 = 3.20937758913846947e3;
const A4: f64 = 1.85777706184603153e-1;
const B0: f64 = 2.36012909523441209e1;
const B1: f64 = 2.44024637934444173e2;
const B2: f64 = 1.28261652607737228e3;
const B3: f64 = 2.84423683343917062e3;
const C0: f64 = 5.64188496988670089e-1;
const C1: f64 = 8.88314979438837594e0;
const C2: f64 = 6.61191906371416295e1;
const C3: f64 = 2.98635138197400131e2;
const C4: f64 = 8.81952221241769090e2;
const C5: f64 = 1.71204761263407058e3;
const C6: f64 = 2.05107837782607147e3;
const C7: f64 = 1.23033935479799725e3;
const C8: f64 = 2.15311535474403846e-8;
const D0: f64 = 1.57449261107098347e1;
const D1: f64 = 1.17693950891312499e2;
const D2: f64 = 5.37181101862009858e2;
const D3: f64 = 1.62138957456669019e3;
const D4: f64 = 3.29079923573345963e3;
const D5: f64 = 4.36261909014324716e3;
const D6: f64 = 3.43936767414372164e3;
const D7: f64 = 1.23033935480374942e3;
const P0: f64 = 3.05326634961232344e-1;
const P1: f64 = 3.60344899949804439e-1;
const P2: f64 = 1.25781726111229246e-1;
const P3: f64 = 1.60837851487422766e-2;
const P4: f64 = 6.58749161529837803e-4;
const P5: f64 = 1.63153871373020978e-2;
const Q0: f64 = 2.56852019228982242e0;
const Q1: f64 = 1.87295284992346047e0;
const Q2: f64 = 5.27905102951428412e-1;
const Q3: f64 = 6.05183413124413191e-2;
const Q4: f64 = 2.33520497626869185e-3;

/** erf(y) for |y| < 0.46875 (signed): Cody's first interval. */
// @ts-ignore: decorator
@inline
export function erfSmallS(y: f64): f64 {
  // Estrin's scheme (short dependency chains; all terms positive, so as stable as Horner)
  let u = y * y;
  let u2 = u * u;
  let num = ((A3 + A2 * u) + (A1 + A0 * u) * u2) + A4 * (u2 * u2);
  let den = ((B3 + B2 * u) + (B1 + B0 * u) * u2) + u2 * u2;
  return (y * num) / den;
}

// @ts-ignore: decorator
@inline
function cody1S(y: f64): f64 {
  // ½·erfc(y) = ½ − ½·erf(y) for small y
  return 0.5 - 0.5 * erfSmallS(y);
}

// @ts-ignore: decorator
@inline
function cody2S(y: f64): f64 {
  let y2 = y * y;
  let y4 = y2 * y2;
  let num = ((C7 + C6 * y) + (C5 + C4 * y) * y2) + ((C3 + C2 * y) + (C1 + C0 * y) * y2) * y4 + C8 * (y4 * y4);
  let den = ((D7 + D6 * y) + (D5 + D4 * y) * y2) + ((D3 + D2 * y) + (D1 + D0 * y) * y2) * y4 + y4 * y4;
  return num / den;
}

// @ts-ignore: decorator
@inline
function cody3S(y: f64): f64 {
  let z = 1.0 / (y * y);
  let z2 = z * z;
  let z4 = z2 * z2;
  let num = ((P4 + P3 * z) + (P2 + P1 * z) * z2) + (P0 + P5 * z) * z4;
  let den = ((Q4 + Q3 * z) + (Q2 + Q1 * z) * z2) + (Q0 + z) * z4;
  return (SQRPI - (z * num) / den) / y;
}

/** N(−x) for x ≥ 0, given ex = exp(−x²/2). */
// @ts-ignore: decorator
@inline
export function normTailS(x: f64, ex: f64): f64 {
  let y = x * SQRT1_2;
  if (y < THRESH) return cody1S(y);
  let r = y <= 4.0 ? cody2S(y) : cody3S(y);
  return 0.5 * ex * r;
}

// @ts-ignore: decorator
@inline
export function erfSmallV(y: v128): v128 {
  let u = f64x2.mul(y, y);
  let u2 = f64x2.mul(u, u);
  let num = f64x2.add(
    f64x2.add(f64x2.add(vc(V_A3), f64x2.mul(vc(V_A2), u)), f64x2.mul(f64x2.add(vc(V_A1), f64x2.mul(vc(V_A0), u)), u2)),
    f64x2.mul(vc(V_A4), f64x2.mul(u2, u2)),
  );
  let den = f64x2.add(
    f64x2.add(f64x2.add(vc(V_B3), f64x2.mul(vc(V_B2), u)), f64x2.mul(f64x2.add(vc(V_B1), f64x2.mul(vc(V_B0), u)), u2)),
    f64x2.mul(u2, u2),
  );
  return f64x2.div(f64x2.mul(y, num), den);
}

// @ts-ignore: decorator
@inline
function cody1V(y: v128): v128 {
  return f64x2.sub(vc(V_HALF), f64x2.mul(vc(V_HALF), erfSmallV(y)));
}

// @ts-ignore: decorator
@inline
function cody2V(y: v128): v128 {
  let y2 = f64x2.mul(y, y);
  let y4 = f64x2.mul(y2, y2);
  let num = f64x2.add(
    f64x2.add(
      f64x2.add(f64x2.add(vc(V_C7), f64x2.mul(vc(V_C6), y)), f64x2.mul(f64x2.add(vc(V_C5), f64x2.mul(vc(V_C4), y)), y2)),
      f64x2.mul(f64x2.add(f64x2.add(vc(V_C3), f64x2.mul(vc(V_C2), y)), f64x2.mul(f64x2.add(vc(V_C1), f64x2.mul(vc(V_C0), y)), y2)), y4),
    ),
    f64x2.mul(vc(V_C8), f64x2.mul(y4, y4)),
  );
  let den = f64x2.add(
    f64x2.add(
      f64x2.add(f64x2.add(vc(V_D7), f64x2.mul(vc(V_D6), y)), f64x2.mul(f64x2.add(vc(V_D5), f64x2.mul(vc(V_D4), y)), y2)),
      f64x2.mul(f64x2.add(f64x2.add(vc(V_D3), f64x2.mul(vc(V_D2), y)), f64x2.mul(f64x2.add(vc(V_D1), f64x2.mul(vc(V_D0), y)), y2)), y4),
    ),
    f64x2.mul(y4, y4),
  );
  return f64x2.div(num, den);
}

// @ts-ignore: decorator
@inline
function cody3V(y: v128): v128 {
  let z = f64x2.div(vc(V_ONE), f64x2.mul(y, y));
  let z2 = f64x2.mul(z, z);
  let z4 = f64x2.mul(z2, z2);
  let num = f64x2.add(
    f64x2.add(f64x2.add(vc(V_P4), f64x2.mul(vc(V_P3), z)), f64x2.mul(f64x2.add(vc(V_P2), f64x2.mul(vc(V_P1), z)), z2)),
    f64x2.mul(f64x2.add(vc(V_P0), f64x2.mul(vc(V_P5), z)), z4),
  );
  let den = f64x2.add(
    f64x2.add(f64x2.add(vc(V_Q4), f64x2.mul(vc(V_Q3), z)), f64x2.mul(f64x2.add(vc(V_Q2), f64x2.mul(vc(V_Q1), z)), z2)),
    f64x2.mul(f64x2.add(vc(V_Q0), z), z4),
  );
  return f64x2.div(f64x2.sub(vc(V_SQRPI), f64x2.div(f64x2.mul(z, num), den)), y);
}

/** N(−x) for x ≥ 0 in both lanes, given ex = exp(−x²/2). */
// @ts-ignore: decorator
@inline
export function normTailV(x: v128, ex: v128): v128 {
  let y = f64x2.mul(x, vc(V_SQRT1_2));
  let small = f64x2.lt(y, vc(V_THRESH));
  let mid = f64x2.le(y, vc(V_FOUR));
  // lanes in the middle interval: mid && !small
  let r = vc(V_ZERO);
  if (v128.any_true(v128.andnot(mid, small))) r = cody2V(y);
  if (!i64x2.all_true(mid)) r = v128.bitselect(r, cody3V(y), mid);
  let tail = f64x2.mul(f64x2.mul(vc(V_HALF), ex), r);
  if (v128.any_true(small)) tail = v128.bitselect(cody1V(y), tail, small);
  return tail;
}

/** 1/√(2π) */
export const INV_SQRT_2PI: f64 = 0.3989422804014327;
/**
 * Below this total standard deviation σ√t the option is valued at its
 * discounted intrinsic value (an ATM option is then worth < 4e-15·F).
 */
export const SD_DEGENERATE: f64 = 1e-14;
/** |d| is clamped here: N(±40) is exactly 1/0 and n(40) underflows in double. */
export const D_CLAMP: f64 = 40.0;

// Splatted f64x2 constants, read with one v128.load each. V8 materialises a
// v128.const with several instructions on every use (it does not hoist them
// out of loops), which cost more than the arithmetic in these kernels.
const VCONST: usize = memory.data<f64>([
  MAGIC_BIAS, MAGIC_BIAS, // 0
  EXP_MIN, EXP_MIN, // 1
  EXP_MAX, EXP_MAX, // 2
  INV_LN2, INV_LN2, // 3
  LN2_HI, LN2_HI, // 4
  LN2_LO, LN2_LO, // 5
  1.0, 1.0, // 6
  E2, E2, // 7
  E3, E3, // 8
  E4, E4, // 9
  E5, E5, // 10
  E6, E6, // 11
  E7, E7, // 12
  E8, E8, // 13
  E9, E9, // 14
  E10, E10, // 15
  E11, E11, // 16
  E12, E12, // 17
  E13, E13, // 18
  0.5, 0.5, // 19
  TWO52, TWO52, // 20
  1023.0, 1023.0, // 21
  SQRT2, SQRT2, // 22
  L3, L3, // 23
  L5, L5, // 24
  L7, L7, // 25
  L9, L9, // 26
  L11, L11, // 27
  L13, L13, // 28
  L15, L15, // 29
  L17, L17, // 30
  L19, L19, // 31
  L21, L21, // 32
  2.0, 2.0, // 33
  SPLIT, SPLIT, // 34
  -0.5, -0.5, // 35
  A4, A4, // 36
  A0, A0, // 37
  B0, B0, // 38
  A1, A1, // 39
  B1, B1, // 40
  A2, A2, // 41
  B2, B2, // 42
  A3, A3, // 43
  B3, B3, // 44
  C8, C8, // 45
  C0, C0, // 46
  D0, D0, // 47
  C1, C1, // 48
  D1, D1, // 49
  C2, C2, // 50
  D2, D2, // 51
  C3, C3, // 52
  D3, D3, // 53
  C4, C4, // 54
  D4, D4, // 55
  C5, C5, // 56
  D5, D5, // 57
  C6, C6, // 58
  D6, D6, // 59
  C7, C7, // 60
  D7, D7, // 61
  P5, P5, // 62
  P0, P0, // 63
  Q0, Q0, // 64
  P1, P1, // 65
  Q1, Q1, // 66
  P2, P2, // 67
  Q2, Q2, // 68
  P3, P3, // 69
  Q3, Q3, // 70
  P4, P4, // 71
  Q4, Q4, // 72
  SQRPI, SQRPI, // 73
  SQRT1_2, SQRT1_2, // 74
  THRESH, THRESH, // 75
  4.0, 4.0, // 76
  0.0, 0.0, // 77
  SD_DEGENERATE, SD_DEGENERATE, // 78
  -1.0, -1.0, // 79
  -D_CLAMP, -D_CLAMP, // 80
  D_CLAMP, D_CLAMP, // 81
  INV_SQRT_2PI, INV_SQRT_2PI, // 82
]);

// Indices into VCONST, named after the scalar constant they splat.
export const V_MAGIC_BIAS: i32 = 0;
export const V_EXP_MIN: i32 = 1;
export const V_EXP_MAX: i32 = 2;
export const V_INV_LN2: i32 = 3;
export const V_LN2_HI: i32 = 4;
export const V_LN2_LO: i32 = 5;
export const V_ONE: i32 = 6;
export const V_E2: i32 = 7;
export const V_E3: i32 = 8;
export const V_E4: i32 = 9;
export const V_E5: i32 = 10;
export const V_E6: i32 = 11;
export const V_E7: i32 = 12;
export const V_E8: i32 = 13;
export const V_E9: i32 = 14;
export const V_E10: i32 = 15;
export const V_E11: i32 = 16;
export const V_E12: i32 = 17;
export const V_E13: i32 = 18;
export const V_HALF: i32 = 19;
export const V_TWO52: i32 = 20;
export const V_EXP_BIAS: i32 = 21;
export const V_SQRT2: i32 = 22;
export const V_L3: i32 = 23;
export const V_L5: i32 = 24;
export const V_L7: i32 = 25;
export const V_L9: i32 = 26;
export const V_L11: i32 = 27;
export const V_L13: i32 = 28;
export const V_L15: i32 = 29;
export const V_L17: i32 = 30;
export const V_L19: i32 = 31;
export const V_L21: i32 = 32;
export const V_TWO: i32 = 33;
export const V_SPLIT: i32 = 34;
export const V_MINUS_HALF: i32 = 35;
export const V_A4: i32 = 36;
export const V_A0: i32 = 37;
export const V_B0: i32 = 38;
export const V_A1: i32 = 39;
export const V_B1: i32 = 40;
export const V_A2: i32 = 41;
export const V_B2: i32 = 42;
export const V_A3: i32 = 43;
export const V_B3: i32 = 44;
export const V_C8: i32 = 45;
export const V_C0: i32 = 46;
export const V_D0: i32 = 47;
export const V_C1: i32 = 48;
export const V_D1: i32 = 49;
export const V_C2: i32 = 50;
export const V_D2: i32 = 51;
export const V_C3: i32 = 52;
export const V_D3: i32 = 53;
export const V_C4: i32 = 54;
export const V_D4: i32 = 55;
export const V_C5: i32 = 56;
export const V_D5: i32 = 57;
export const V_C6: i32 = 58;
export const V_D6: i32 = 59;
export const V_C7: i32 = 60;
export const V_D7: i32 = 61;
export const V_P5: i32 = 62;
export const V_P0: i32 = 63;
export const V_Q0: i32 = 64;
export const V_P1: i32 = 65;
export const V_Q1: i32 = 66;
export const V_P2: i32 = 67;
export const V_Q2: i32 = 68;
export const V_P3: i32 = 69;
export const V_Q3: i32 = 70;
export const V_P4: i32 = 71;
export const V_Q4: i32 = 72;
export const V_SQRPI: i32 = 73;
export const V_SQRT1_2: i32 = 74;
export const V_THRESH: i32 = 75;
export const V_FOUR: i32 = 76;
export const V_ZERO: i32 = 77;
export const V_SD_DEGENERATE: i32 = 78;
export const V_MINUS_ONE: i32 = 79;
export const V_MINUS_D_CLAMP: i32 = 80;
export const V_D_CLAMP: i32 = 81;
export const V_INV_SQRT_2PI: i32 = 82;

/** The splatted constant at index i (use the V_* names). */
// @ts-ignore: decorator
@inline
export function vc(i: i32): v128 {
  return v128.load(VCONST + ((<usize>i) << 4));
}
