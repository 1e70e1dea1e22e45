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
//
// The coefficients and the splatted SIMD constant table live in constants.ts.

import {
  LN2_HI, LN2_LO, INV_LN2, EXP_MIN, EXP_MAX, MAGIC_BIAS, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11,
  E12, E13, SQRT2, L3, L5, L7, L9, L11, L13, L15, L17, L19, L21, MANT_MASK, ONE_BITS, TWO52_BITS,
  TWO52, SPLIT, THRESH, SQRT1_2, SQRPI, A0, A1, A2, A3, A4, B0, B1, B2, B3, C0, C1, C2, C3, C4, C5,
  C6, C7, C8, D0, D1, D2, D3, D4, D5, D6, D7, P0, P1, P2, P3, P4, P5, Q0, Q1, Q2, Q3, Q4,
  V_MAGIC_BIAS, V_EXP_MIN, V_EXP_MAX, V_INV_LN2, V_LN2_HI, V_LN2_LO, V_ONE, V_E2, V_E3, V_E4, V_E5,
  V_E6, V_E7, V_E8, V_E9, V_E10, V_E11, V_E12, V_E13, V_HALF, V_TWO52, V_EXP_BIAS, V_SQRT2, V_L3,
  V_L5, V_L7, V_L9, V_L11, V_L13, V_L15, V_L17, V_L19, V_L21, V_TWO, V_SPLIT, V_MINUS_HALF, V_A4,
  V_A0, V_B0, V_A1, V_B1, V_A2, V_B2, V_A3, V_B3, V_C8, V_C0, V_D0, V_C1, V_D1, V_C2, V_D2, V_C3,
  V_D3, V_C4, V_D4, V_C5, V_D5, V_C6, V_D6, V_C7, V_D7, V_P5, V_P0, V_Q0, V_P1, V_Q1, V_P2, V_Q2,
  V_P3, V_Q3, V_P4, V_Q4, V_SQRPI, V_SQRT1_2, V_THRESH, V_FOUR, V_ZERO, vc,
} from './constants';

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

