// Constants of the elementary functions in math.ts: the scalar coefficients
// (their provenance is stated beside each function in math.ts) and the table of
// splatted f64x2 copies that the SIMD forms read. Values only, no code beyond vc().

// exp: Cody–Waite reduction (fdlibm e_exp.c constants) and Taylor coefficients 1/k!.
export const LN2_HI: f64 = 6.93147180369123816490e-1; // 0x3FE62E42FEE00000
export const LN2_LO: f64 = 1.90821492927058770002e-10; // 0x3DEA39EF35793C76
export const INV_LN2: f64 = 1.44269504088896338700e0;
export const EXP_MIN: f64 = -745.2; // below: exp underflows to 0
export const EXP_MAX: f64 = 709.78; // callers never exceed it (arguments are ≤ 0 or tiny)
// 2^52 + 2^51: adding it to a small integer-valued f64 leaves the integer in
// the low mantissa bits (the classic round-to-integer/bit-cast trick).
export const MAGIC: f64 = 6755399441055744.0;
export const MAGIC_BIAS: f64 = 6755399441056767.0; // MAGIC + 1023 (exponent bias)

export const E2: f64 = 1.0 / 2.0;
export const E3: f64 = 1.0 / 6.0;
export const E4: f64 = 1.0 / 24.0;
export const E5: f64 = 1.0 / 120.0;
export const E6: f64 = 1.0 / 720.0;
export const E7: f64 = 1.0 / 5040.0;
export const E8: f64 = 1.0 / 40320.0;
export const E9: f64 = 1.0 / 362880.0;
export const E10: f64 = 1.0 / 3628800.0;
export const E11: f64 = 1.0 / 39916800.0;
export const E12: f64 = 1.0 / 479001600.0;
export const E13: f64 = 1.0 / 6227020800.0;

// log: 2·atanh series coefficients 1/(2k+1).
export const SQRT2: f64 = 1.4142135623730951;
export const L3: f64 = 1.0 / 3.0;
export const L5: f64 = 1.0 / 5.0;
export const L7: f64 = 1.0 / 7.0;
export const L9: f64 = 1.0 / 9.0;
export const L11: f64 = 1.0 / 11.0;
export const L13: f64 = 1.0 / 13.0;
export const L15: f64 = 1.0 / 15.0;
export const L17: f64 = 1.0 / 17.0;
export const L19: f64 = 1.0 / 19.0;
export const L21: f64 = 1.0 / 21.0;
export const MANT_MASK: i64 = 0x000fffffffffffff;
export const ONE_BITS: i64 = 0x3ff0000000000000;
export const TWO52_BITS: i64 = 0x4330000000000000; // 2^52 as f64 bits
export const TWO52: f64 = 4503599627370496.0;

// Veltkamp splitting factor for the exact square in exp(−x²/2).
export const SPLIT: f64 = 134217729.0; // 2^27 + 1

// Normal tail: W. J. Cody (1969), coefficients of SPECFUN's CALERF (netlib, public domain).
export const THRESH: f64 = 0.46875;
export const SQRT1_2: f64 = 0.70710678118654752440;
export const SQRPI: f64 = 0.56418958354775628695; // 1/√π
export const A0: f64 = 3.16112374387056560e0;
export const A1: f64 = 1.13864154151050156e2;
export const A2: f64 = 3.77485237685302021e2;
export const A3: f64 = 3.20937758913846947e3;
export const A4: f64 = 1.85777706184603153e-1;
export const B0: f64 = 2.36012909523441209e1;
export const B1: f64 = 2.44024637934444173e2;
export const B2: f64 = 1.28261652607737228e3;
export const B3: f64 = 2.84423683343917062e3;
export const C0: f64 = 5.64188496988670089e-1;
export const C1: f64 = 8.88314979438837594e0;
export const C2: f64 = 6.61191906371416295e1;
export const C3: f64 = 2.98635138197400131e2;
export const C4: f64 = 8.81952221241769090e2;
export const C5: f64 = 1.71204761263407058e3;
export const C6: f64 = 2.05107837782607147e3;
export const C7: f64 = 1.23033935479799725e3;
export const C8: f64 = 2.15311535474403846e-8;
export const D0: f64 = 1.57449261107098347e1;
export const D1: f64 = 1.17693950891312499e2;
export const D2: f64 = 5.37181101862009858e2;
export const D3: f64 = 1.62138957456669019e3;
export const D4: f64 = 3.29079923573345963e3;
export const D5: f64 = 4.36261909014324716e3;
export const D6: f64 = 3.43936767414372164e3;
export const D7: f64 = 1.23033935480374942e3;
export const P0: f64 = 3.05326634961232344e-1;
export const P1: f64 = 3.60344899949804439e-1;
export const P2: f64 = 1.25781726111229246e-1;
export const P3: f64 = 1.60837851487422766e-2;
export const P4: f64 = 6.58749161529837803e-4;
export const P5: f64 = 1.63153871373020978e-2;
export const Q0: f64 = 2.56852019228982242e0;
export const Q1: f64 = 1.87295284992346047e0;
export const Q2: f64 = 5.27905102951428412e-1;
export const Q3: f64 = 6.05183413124413191e-2;
export const Q4: f64 = 2.33520497626869185e-3;

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
export const VCONST: usize = memory.data<f64>([
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
