// Batch Black-76 on the forward: price and Greeks in one pass that shares
// d1, d2, N(·) and n(·). Structure-of-arrays input in linear memory.
//
//   V = df·θ·(F·N(θ·d1) − K·N(θ·d2)),  d1 = ln(F/K)/(σ√t) + σ√t/2,  d2 = d1 − σ√t,
//   θ = +1 call / −1 put, df = exp(−r·t); t in years, σ annualised.
//
// Greeks are raw derivatives (vega per 1.00 of vol, theta per year of calendar
// time with the forward held fixed, rho with the forward held fixed). For
// inverse (coin-settled) options the outputs are the value in coin V/F and
// its derivatives. The formulas and edge cases mirror src/pricing/reference.ts,
// which is the oracle in the tests.
//
// Accuracy, measured by test/kernels.test.ts against a 60-digit reference
// (scripts/highprec_black76.py: 3,000 random options over vol 1%–400%, t from
// one hour to 5 years, K/F 0.2–5, calls/puts, linear/inverse, plus edge cases
// and the Haug table inputs; random draws priced below 1e-11·F are redrawn so
// every row is informative): max relative price error 3.0e-13, asserted
// ≤ 1e-12, with an absolute floor of 1e-12·F for prices below it, except
// σ√t < 1e-3 just outside the erf branch below (3.5e-12 measured at σ√t = 4e-4,
// 3.3 sd OTM: F·N(d1) − K·N(d2) cancels), asserted ≤ 5e-12; Greeks
// ≤ 4.4e-11 relative (delta and gamma of inverse options, where V/F is
// subtracted), asserted ≤ 1e-10 with a floor of 1e-9 of the Greek's scale.
//
// Both builds run the same scalar function for the tail of a batch and for
// degenerate options (σ√t below SD_DEGENERATE); the SIMD loop uses the f64x2
// twins of the same operations, so both builds are bit-identical.

import {
  expNegHalfSqS, expNegHalfSqV, expTailS, expTailV, logS, logV, normTailS, normTailV, erfSmallS,
  erfSmallV,
} from './math';
import {
  vc, V_D_CLAMP, V_HALF, V_INV_SQRT_2PI, V_MINUS_D_CLAMP, V_MINUS_ONE, V_ONE, V_SD_DEGENERATE,
  V_SQRT1_2, V_THRESH, V_TWO, V_ZERO, SQRT1_2, THRESH, INV_SQRT_2PI, SD_DEGENERATE, D_CLAMP,
} from './constants';

const FLAG_PUT: u8 = 1;
const FLAG_INVERSE: u8 = 2;

/** Options per chunk of the SIMD loop (even). */
const CHUNK: usize = 128;
// Scratch for the two stages of the SIMD loop: CHUNK f64 per intermediate.
const SCRATCH: usize = memory.data(6 * 128 * 8 + 64, 16);
const SCRATCH_D1: usize = SCRATCH;
const SCRATCH_D2: usize = SCRATCH + 128 * 8;
const SCRATCH_EX1: usize = SCRATCH + 2 * 128 * 8;
const SCRATCH_EX2: usize = SCRATCH + 3 * 128 * 8;
const SCRATCH_INVSD: usize = SCRATCH + 4 * 128 * 8;
const SCRATCH_INVF: usize = SCRATCH + 5 * 128 * 8;
const SCRATCH_SKIP: usize = SCRATCH + 6 * 128 * 8; // one byte per pair

// Output pointers of the Greeks kernel, set once per call by black76Greeks.
let oPrice: usize = 0;
let oDelta: usize = 0;
let oGamma: usize = 0;
let oVega: usize = 0;
let oTheta: usize = 0;
let oRho: usize = 0;
let oVanna: usize = 0;
let oVolga: usize = 0;

/** One option, scalar. WITH_GREEKS selects the price-only or the full variant at compile time. */
// @ts-ignore: decorator
@inline
function oneS<WITH_GREEKS>(
  i: usize,
  F: f64,
  K: f64,
  vol: f64,
  t: f64,
  r: f64,
  flags: u8,
  outPrice: usize,
): void {
  let th: f64 = (flags & FLAG_PUT) != 0 ? -1.0 : 1.0;
  let sqrtT = sqrt<f64>(t);
  let sd = vol * sqrtT;
  let df = r == 0.0 ? 1.0 : expTailS(-(r * t), 0.0);
  let price: f64, delta: f64 = 0, gamma: f64 = 0, vega: f64 = 0, vanna: f64 = 0, volga: f64 = 0, decay: f64 = 0;
  if (sd < SD_DEGENERATE) {
    let intrinsic = max<f64>(th * (F - K), 0.0);
    price = df * intrinsic;
    if (sizeof<WITH_GREEKS>() == 8) {
      delta = F == K ? 0.5 * th * df : intrinsic > 0.0 ? th * df : 0.0;
      vega = F == K ? df * F * sqrtT * INV_SQRT_2PI : 0.0;
      decay = t > 0.0 ? (vega * vol) / (2.0 * t) : 0.0;
    }
  } else {
    // Reciprocals taken once: the Greeks then need multiplications only.
    let invSd = 1.0 / sd;
    let invF = 1.0 / F;
    let ratio = F / K;
    let d1 = logS(ratio) * invSd + 0.5 * sd;
    let d2 = d1 - sd;
    // clamp to ±D_CLAMP with pmin/pmax semantics (b < a ? b : a), as the SIMD path
    d1 = -D_CLAMP > d1 ? -D_CLAMP : d1;
    d1 = D_CLAMP < d1 ? D_CLAMP : d1;
    d2 = -D_CLAMP > d2 ? -D_CLAMP : d2;
    d2 = D_CLAMP < d2 ? D_CLAMP : d2;
    let a1 = abs<f64>(d1);
    let a2 = abs<f64>(d2);
    // One exponential per option: exp(−d2²/2) = exp(−d1²/2)·F/K. It is taken at
    // the smaller |d| (|d1| < |d2| exactly when F < K) and scaled to the other,
    // so the scaled factor is the smaller one and never over- or underflows early.
    let below = F < K;
    let exMin = expNegHalfSqS(below ? a1 : a2);
    let ex1 = below ? exMin : exMin * (K * invF);
    let ex2 = below ? exMin * ratio : exMin;
    let t1 = normTailS(a1, ex1);
    let t2 = normTailS(a2, ex2);
    let N1 = th * d1 < 0.0 ? t1 : 1.0 - t1;
    let N2 = th * d2 < 0.0 ? t2 : 1.0 - t2;
    let pv = df * th * (F * N1 - K * N2);
    if (a1 * SQRT1_2 < THRESH && a2 * SQRT1_2 < THRESH) {
      // Near the money with a small σ√t, F·N(d1) − K·N(d2) cancels (1e-12 lost at
      // σ√t = 1e-4). With N(x) = ½ + ½·erf(x/√2) and erf evaluated directly the
      // rounding scales with erf, not with ½.
      pv = df * th * (0.5 * (F - K) + 0.5 * (F * erfSmallS(th * d1 * SQRT1_2) - K * erfSmallS(th * d2 * SQRT1_2)));
    }
    price = pv < 0.0 ? 0.0 : pv;
    if (sizeof<WITH_GREEKS>() == 8) {
      let nd1 = INV_SQRT_2PI * ex1;
      let invVol = invSd * sqrtT; // 1/σ = √t/(σ√t)
      delta = df * th * N1;
      gamma = df * nd1 * invSd * invF;
      vega = df * F * nd1 * sqrtT;
      vanna = -df * nd1 * d2 * invVol;
      volga = vega * d1 * d2 * invVol;
      let w = vol * invSd; // 1/√t
      decay = 0.5 * vega * vol * w * w; // vega·σ/(2t)
    }
  }
  let inverse = (flags & FLAG_INVERSE) != 0;
  if (sizeof<WITH_GREEKS>() == 8) {
    let theta = r * price - decay;
    let rho = -t * price;
    if (inverse) {
      let invF = 1.0 / F;
      let pc = price * invF;
      let deltaC = (delta - pc) * invF;
      store<f64>(oPrice + (i << 3), pc);
      store<f64>(oDelta + (i << 3), deltaC);
      store<f64>(oGamma + (i << 3), (gamma - 2.0 * deltaC) * invF);
      store<f64>(oVega + (i << 3), vega * invF);
      store<f64>(oTheta + (i << 3), theta * invF);
      store<f64>(oRho + (i << 3), rho * invF);
      store<f64>(oVanna + (i << 3), (vanna - vega * invF) * invF);
      store<f64>(oVolga + (i << 3), volga * invF);
    } else {
      store<f64>(oPrice + (i << 3), price);
      store<f64>(oDelta + (i << 3), delta);
      store<f64>(oGamma + (i << 3), gamma);
      store<f64>(oVega + (i << 3), vega);
      store<f64>(oTheta + (i << 3), theta);
      store<f64>(oRho + (i << 3), rho);
      store<f64>(oVanna + (i << 3), vanna);
      store<f64>(oVolga + (i << 3), volga);
    }
  } else {
    store<f64>(outPrice + (i << 3), inverse ? price * (1.0 / F) : price);
  }
}

// @ts-ignore: decorator
@inline
function laneMask(flags: usize, i: usize, bit: u8): v128 {
  let m0: i64 = (load<u8>(flags + i) & bit) != 0 ? -1 : 0;
  let m1: i64 = (load<u8>(flags + i + 1) & bit) != 0 ? -1 : 0;
  return i64x2.replace_lane(i64x2.splat(m0), 1, m1);
}

// @ts-ignore: decorator
@inline
function batch<WITH_GREEKS>(
  n: i32,
  pF: usize,
  pK: usize,
  pVol: usize,
  pT: usize,
  pR: usize,
  pFlags: usize,
  outPrice: usize,
): void {
  let i: usize = 0;
  let count = <usize>n;
  if (ASC_FEATURE_SIMD) {
    const ONE = vc(V_ONE);
    const ZERO = vc(V_ZERO);
    // Loop fission over chunks of CHUNK options: stage A (log, d1/d2, the
    // exponential) and stage B (normal tails, price, Greeks) each form a loop
    // body short enough for the out-of-order core to overlap successive
    // iterations; one fused body was latency-bound (measured 1.3× scalar, now
    // see BENCHMARKS.md). Intermediates stay in a 7 KiB scratch block (L1).
    while (i + 1 < count) {
      let end = min<usize>(count & ~(<usize>1), i + CHUNK);
      let begin = i;
      // ---- stage A
      for (let j = begin; j < end; j += 2) {
        let o = j << 3;
        let so = (j - begin) << 3;
        let F = v128.load(pF + o);
        let K = v128.load(pK + o);
        let vol = v128.load(pVol + o);
        let t = v128.load(pT + o);
        let sd = f64x2.mul(vol, f64x2.sqrt(t));
        let degenerate = v128.any_true(f64x2.lt(sd, vc(V_SD_DEGENERATE)));
        store<u8>(SCRATCH_SKIP + ((j - begin) >> 1), degenerate ? 1 : 0);
        if (degenerate) {
          // A degenerate lane (expiry or zero vol): both lanes through the scalar path.
          oneS<WITH_GREEKS>(j, load<f64>(pF + o), load<f64>(pK + o), load<f64>(pVol + o), load<f64>(pT + o), load<f64>(pR + o), load<u8>(pFlags + j), outPrice);
          oneS<WITH_GREEKS>(j + 1, load<f64>(pF + o + 8), load<f64>(pK + o + 8), load<f64>(pVol + o + 8), load<f64>(pT + o + 8), load<f64>(pR + o + 8), load<u8>(pFlags + j + 1), outPrice);
          continue;
        }
        let invSd = f64x2.div(ONE, sd);
        let invF = f64x2.div(ONE, F);
        let ratio = f64x2.div(F, K);
        let d1 = f64x2.add(f64x2.mul(logV(ratio), invSd), f64x2.mul(vc(V_HALF), sd));
        let d2 = f64x2.sub(d1, sd);
        d1 = f64x2.pmin(f64x2.pmax(d1, vc(V_MINUS_D_CLAMP)), vc(V_D_CLAMP));
        d2 = f64x2.pmin(f64x2.pmax(d2, vc(V_MINUS_D_CLAMP)), vc(V_D_CLAMP));
        let a1 = f64x2.abs(d1);
        let a2 = f64x2.abs(d2);
        let below = f64x2.lt(F, K);
        let exMin = expNegHalfSqV(v128.bitselect(a1, a2, below));
        v128.store(SCRATCH_D1 + so, d1);
        v128.store(SCRATCH_D2 + so, d2);
        v128.store(SCRATCH_EX1 + so, v128.bitselect(exMin, f64x2.mul(exMin, f64x2.mul(K, invF)), below));
        v128.store(SCRATCH_EX2 + so, v128.bitselect(f64x2.mul(exMin, ratio), exMin, below));
        v128.store(SCRATCH_INVSD + so, invSd);
        v128.store(SCRATCH_INVF + so, invF);
      }
      // ---- stage B
      for (let j = begin; j < end; j += 2) {
        if (load<u8>(SCRATCH_SKIP + ((j - begin) >> 1))) continue;
        let o = j << 3;
        let so = (j - begin) << 3;
        let F = v128.load(pF + o);
        let K = v128.load(pK + o);
        let vol = v128.load(pVol + o);
        let t = v128.load(pT + o);
        let r = v128.load(pR + o);
        let sqrtT = f64x2.sqrt(t);
        let putMask = laneMask(pFlags, j, FLAG_PUT);
        let th = v128.bitselect(vc(V_MINUS_ONE), ONE, putMask);
        // df = exp(−r·t), skipped (exactly 1) when both rates are zero, as in the scalar path.
        let rZero = f64x2.eq(r, ZERO);
        let df = ONE;
        if (!i64x2.all_true(rZero)) {
          df = v128.bitselect(ONE, expTailV(f64x2.neg(f64x2.mul(r, t)), ZERO), rZero);
        }
        let invSd = v128.load(SCRATCH_INVSD + so);
        let invF = v128.load(SCRATCH_INVF + so);
        let d1 = v128.load(SCRATCH_D1 + so);
        let d2 = v128.load(SCRATCH_D2 + so);
        let a1 = f64x2.abs(d1);
        let a2 = f64x2.abs(d2);
        let ex1 = v128.load(SCRATCH_EX1 + so);
        let ex2 = v128.load(SCRATCH_EX2 + so);
        let t1 = normTailV(a1, ex1);
        let t2 = normTailV(a2, ex2);
        let N1 = v128.bitselect(t1, f64x2.sub(ONE, t1), f64x2.lt(f64x2.mul(th, d1), ZERO));
        let N2 = v128.bitselect(t2, f64x2.sub(ONE, t2), f64x2.lt(f64x2.mul(th, d2), ZERO));
        let pv = f64x2.mul(f64x2.mul(df, th), f64x2.sub(f64x2.mul(F, N1), f64x2.mul(K, N2)));
        let nearMoney = v128.and(
          f64x2.lt(f64x2.mul(a1, vc(V_SQRT1_2)), vc(V_THRESH)),
          f64x2.lt(f64x2.mul(a2, vc(V_SQRT1_2)), vc(V_THRESH)),
        );
        if (v128.any_true(nearMoney)) {
          let e1 = erfSmallV(f64x2.mul(f64x2.mul(th, d1), vc(V_SQRT1_2)));
          let e2 = erfSmallV(f64x2.mul(f64x2.mul(th, d2), vc(V_SQRT1_2)));
          let pvn = f64x2.mul(
            f64x2.mul(df, th),
            f64x2.add(
              f64x2.mul(vc(V_HALF), f64x2.sub(F, K)),
              f64x2.mul(vc(V_HALF), f64x2.sub(f64x2.mul(F, e1), f64x2.mul(K, e2))),
            ),
          );
          pv = v128.bitselect(pvn, pv, nearMoney);
        }
        let price = f64x2.pmax(pv, ZERO);
        let invMask = laneMask(pFlags, j, FLAG_INVERSE);
        let anyInverse = v128.any_true(invMask);
        if (sizeof<WITH_GREEKS>() == 8) {
          let nd1 = f64x2.mul(vc(V_INV_SQRT_2PI), ex1);
          let delta = f64x2.mul(f64x2.mul(df, th), N1);
          let gamma = f64x2.mul(f64x2.mul(f64x2.mul(df, nd1), invSd), invF);
          let vega = f64x2.mul(f64x2.mul(f64x2.mul(df, F), nd1), sqrtT);
          let invVol = f64x2.mul(invSd, sqrtT);
          let vanna = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.neg(df), nd1), d2), invVol);
          let volga = f64x2.mul(f64x2.mul(f64x2.mul(vega, d1), d2), invVol);
          let w = f64x2.mul(vol, invSd);
          let decay = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.mul(vc(V_HALF), vega), vol), w), w);
          let theta = f64x2.sub(f64x2.mul(r, price), decay);
          let rho = f64x2.mul(f64x2.neg(t), price);
          if (anyInverse) {
            let pc = f64x2.mul(price, invF);
            let deltaC = f64x2.mul(f64x2.sub(delta, pc), invF);
            let gammaC = f64x2.mul(f64x2.sub(gamma, f64x2.mul(vc(V_TWO), deltaC)), invF);
            let vannaC = f64x2.mul(f64x2.sub(vanna, f64x2.mul(vega, invF)), invF);
            price = v128.bitselect(pc, price, invMask);
            delta = v128.bitselect(deltaC, delta, invMask);
            gamma = v128.bitselect(gammaC, gamma, invMask);
            vanna = v128.bitselect(vannaC, vanna, invMask);
            vega = v128.bitselect(f64x2.mul(vega, invF), vega, invMask);
            theta = v128.bitselect(f64x2.mul(theta, invF), theta, invMask);
            rho = v128.bitselect(f64x2.mul(rho, invF), rho, invMask);
            volga = v128.bitselect(f64x2.mul(volga, invF), volga, invMask);
          }
          v128.store(oPrice + o, price);
          v128.store(oDelta + o, delta);
          v128.store(oGamma + o, gamma);
          v128.store(oVega + o, vega);
          v128.store(oTheta + o, theta);
          v128.store(oRho + o, rho);
          v128.store(oVanna + o, vanna);
          v128.store(oVolga + o, volga);
        } else {
          if (anyInverse) price = v128.bitselect(f64x2.mul(price, invF), price, invMask);
          v128.store(outPrice + o, price);
        }
      }
      i = end;
    }
  }
  for (; i < count; i++) {
    let o = i << 3;
    oneS<WITH_GREEKS>(i, load<f64>(pF + o), load<f64>(pK + o), load<f64>(pVol + o), load<f64>(pT + o), load<f64>(pR + o), load<u8>(pFlags + i), outPrice);
  }
}

/**
 * Price and the seven Greeks of n options. Inputs: f64 arrays of forwards,
 * strikes, vols, times (years), rates; u8 flags (bit 0 put, bit 1 inverse).
 * Outputs: eight f64 arrays. All pointers 8-byte aligned (16 for best speed).
 */
export function black76Greeks(
  n: i32,
  pF: usize,
  pK: usize,
  pVol: usize,
  pT: usize,
  pR: usize,
  pFlags: usize,
  price: usize,
  delta: usize,
  gamma: usize,
  vega: usize,
  theta: usize,
  rho: usize,
  vanna: usize,
  volga: usize,
): void {
  oPrice = price;
  oDelta = delta;
  oGamma = gamma;
  oVega = vega;
  oTheta = theta;
  oRho = rho;
  oVanna = vanna;
  oVolga = volga;
  batch<u64>(n, pF, pK, pVol, pT, pR, pFlags, 0);
}

/** Price only (scenario revaluation): same values as black76Greeks' price, bit for bit. */
export function black76Price(
  n: i32,
  pF: usize,
  pK: usize,
  pVol: usize,
  pT: usize,
  pR: usize,
  pFlags: usize,
  price: usize,
): void {
  batch<u8>(n, pF, pK, pVol, pT, pR, pFlags, price);
}
