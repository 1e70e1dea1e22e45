// Per-account aggregation over scenarios (docs/architecture.md §2): an account's P&L
// vector is Σ_p size_p × riskArray[instrument_p], then reduced to its worst
// weighted loss. Risk arrays are row-major: instrument i's value change under
// scenario s sits at riskArrays[i·nScen + s] (USD per unit of size).
//
// Summation runs in position order within each account, whatever the
// sharding of accounts across threads, so results are bit-identical for any
// number of workers. The SIMD build adds two scenarios per instruction; the
// scalar build adds them one at a time in the same order per scenario, so both
// builds agree bit for bit.

/**
 * P&L vectors of nAcc accounts. Account a owns positions
 * [accStart[a], accStart[a+1]) of posInstr (i32 instrument index) and
 * posSize (f64). out receives nAcc × nScen f64, row-major.
 */
export function aggregateAccounts(
  nAcc: i32,
  nScen: i32,
  accStart: usize,
  posInstr: usize,
  posSize: usize,
  riskArrays: usize,
  out: usize,
): void {
  let ns = <usize>nScen;
  let rowBytes = ns << 3;
  if (ASC_FEATURE_SIMD) {
    aggregateAccountsBlocked(nAcc, ns, accStart, posInstr, posSize, riskArrays, out);
    return;
  }
  for (let a: usize = 0; a < <usize>nAcc; a++) {
    let row = out + a * rowBytes;
    memory.fill(row, 0, rowBytes);
    let p0 = <usize>load<i32>(accStart + (a << 2));
    let p1 = <usize>load<i32>(accStart + ((a + 1) << 2));
    for (let p = p0; p < p1; p++) {
      let src = riskArrays + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes;
      axpy(ns, row, src, load<f64>(posSize + (p << 3)));
    }
  }
}

/**
 * The SIMD build's aggregation: each account's row through `sumPositionsSimd` over all its
 * scenarios (the P&L row written once per block of eight instead of loaded and stored once
 * per position, as the axpy form was). Bit-identical to the scalar build.
 */
// @ts-ignore: decorator
@inline
function aggregateAccountsBlocked(
  nAcc: i32,
  ns: usize,
  accStart: usize,
  posInstr: usize,
  posSize: usize,
  riskArrays: usize,
  out: usize,
): void {
  let rowBytes = ns << 3;
  for (let a: usize = 0; a < <usize>nAcc; a++) {
    let p0 = <usize>load<i32>(accStart + (a << 2));
    let p1 = <usize>load<i32>(accStart + ((a + 1) << 2));
    sumPositionsSimd(ns, 0, ns, p0, p1, posInstr, posSize, riskArrays, out + a * rowBytes);
  }
}

/**
 * row[s] = Σ_p size_p × values[instr_p·ns + s] for scenarios s in [b, e), positions p in
 * [p0, p1) in order from +0 (SIMD build): scenarios fourteen at a time in seven registers while
 * the positions stream by, the last 16–29 as fourteen and the rest, and fewer than 16 in one pass
 * of up to seven registers and a scalar. A pass over a row's positions costs a few cycles a
 * position whatever it carries (the loads of the position and the additions' latency), so the
 * fewer passes the better: 27 scenarios take two (14 + 13), where blocks of eight, then two,
 * then one took five. Each scenario's sum is the same sequence of products and additions as the scalar build's, so both
 * builds give the same doubles. Shared by the margin aggregation and the VaR tail kernel
 * (assembly/tail.ts).
 */
// @ts-ignore: decorator
@inline
export function sumPositionsSimd(ns: usize, b: usize, e: usize, p0: usize, p1: usize, posInstr: usize, posSize: usize, values: usize, row: usize): void {
  let s = b;
  for (; s + 30 <= e; s += 14) sumPass(7, false, ns, s, p0, p1, posInstr, posSize, values, row);
  if (e - s >= 16) {
    sumPass(7, false, ns, s, p0, p1, posInstr, posSize, values, row);
    s += 14;
  }
  switch (<i32>(e - s)) {
    case 15: sumPass(7, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 14: sumPass(7, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 13: sumPass(6, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 12: sumPass(6, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 11: sumPass(5, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 10: sumPass(5, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 9: sumPass(4, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 8: sumPass(4, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 7: sumPass(3, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 6: sumPass(3, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 5: sumPass(2, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 4: sumPass(2, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 3: sumPass(1, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 2: sumPass(1, false, ns, s, p0, p1, posInstr, posSize, values, row); break;
    case 1: sumPass(0, true, ns, s, p0, p1, posInstr, posSize, values, row); break;
    default: break;
  }
}

/**
 * One pass over positions [p0, p1): scenarios [s, s + 2·nv + (odd ? 1 : 0)) of row, nv (≤ 7)
 * pairs in registers and the odd one in a scalar. Inlined with constant nv and odd, so each
 * call site compiles to a loop with only the registers it uses.
 */
// @ts-ignore: decorator
@inline
function sumPass(nv: i32, odd: bool, ns: usize, s: usize, p0: usize, p1: usize, posInstr: usize, posSize: usize, values: usize, row: usize): void {
  let rowBytes = ns << 3;
  let o = s << 3;
  let a0 = f64x2.splat(0.0);
  let a1 = f64x2.splat(0.0);
  let a2 = f64x2.splat(0.0);
  let a3 = f64x2.splat(0.0);
  let a4 = f64x2.splat(0.0);
  let a5 = f64x2.splat(0.0);
  let a6 = f64x2.splat(0.0);
  let x = 0.0;
  let last = <usize>(nv << 4);
  for (let p = p0; p < p1; p++) {
    let src = values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o;
    let q = load<f64>(posSize + (p << 3));
    let vs = f64x2.splat(q);
    if (nv > 0) a0 = f64x2.add(a0, f64x2.mul(vs, v128.load(src)));
    if (nv > 1) a1 = f64x2.add(a1, f64x2.mul(vs, v128.load(src, 16)));
    if (nv > 2) a2 = f64x2.add(a2, f64x2.mul(vs, v128.load(src, 32)));
    if (nv > 3) a3 = f64x2.add(a3, f64x2.mul(vs, v128.load(src, 48)));
    if (nv > 4) a4 = f64x2.add(a4, f64x2.mul(vs, v128.load(src, 64)));
    if (nv > 5) a5 = f64x2.add(a5, f64x2.mul(vs, v128.load(src, 80)));
    if (nv > 6) a6 = f64x2.add(a6, f64x2.mul(vs, v128.load(src, 96)));
    if (odd) x += q * load<f64>(src + last);
  }
  if (nv > 0) v128.store(row + o, a0);
  if (nv > 1) v128.store(row + o, a1, 16);
  if (nv > 2) v128.store(row + o, a2, 32);
  if (nv > 3) v128.store(row + o, a3, 48);
  if (nv > 4) v128.store(row + o, a4, 64);
  if (nv > 5) v128.store(row + o, a5, 80);
  if (nv > 6) v128.store(row + o, a6, 96);
  if (odd) store<f64>(row + o + last, x);
}

/**
 * Adds size × riskArray[instr] to one P&L vector in place (what-if: a trade
 * changes one account's vector without re-aggregating its other positions).
 */
export function addPosition(nScen: i32, pnl: usize, riskArrays: usize, instr: i32, size: f64): void {
  let ns = <usize>nScen;
  axpy(ns, pnl, riskArrays + (<usize>instr) * (ns << 3), size);
}

/** dst[s] += a × src[s] for s < n: two scenarios per instruction in the SIMD build, same order per scenario in both. */
// @ts-ignore: decorator
@inline
function axpy(n: usize, dst: usize, src: usize, a: f64): void {
  let s: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let va = f64x2.splat(a);
    for (; s + 1 < n; s += 2) {
      let o = s << 3;
      v128.store(dst + o, f64x2.add(v128.load(dst + o), f64x2.mul(va, v128.load(src + o))));
    }
  }
  for (; s < n; s++) {
    let o = s << 3;
    store<f64>(dst + o, load<f64>(dst + o) + a * load<f64>(src + o));
  }
}

/**
 * Worst weighted loss of each of nAcc P&L vectors: loss_s = −weight_s × pnl_s
 * (weights < 1 count extreme scenarios at a fraction). outLoss[a] receives the
 * largest loss (which may be negative: every scenario a gain), outIndex[a] the
 * first scenario attaining it (ties resolve to the lowest index, deterministically;
 * a NaN loss is never the worst; with no loss above −∞ the index is −1).
 * The SIMD build scans even and odd scenarios in two lanes, each keeping its own first
 * maximum, then takes the larger, the lower index on a tie: the same scenario and value.
 */
export function worstLoss(
  nAcc: i32,
  nScen: i32,
  pnl: usize,
  weights: usize,
  outLoss: usize,
  outIndex: usize,
): void {
  let ns = <usize>nScen;
  for (let a: usize = 0; a < <usize>nAcc; a++) {
    let row = pnl + a * (ns << 3);
    let worst = -Infinity;
    let at: i32 = -1;
    let s: usize = 0;
    if (ASC_FEATURE_SIMD) {
      let wv = f64x2.splat(-Infinity);
      let iv = f64x2.splat(-1.0);
      let idx = f64x2(0.0, 1.0);
      let two = f64x2.splat(2.0);
      for (; s + 2 <= ns; s += 2) {
        let loss = f64x2.neg(f64x2.mul(v128.load(weights + (s << 3)), v128.load(row + (s << 3))));
        let m = f64x2.gt(loss, wv);
        wv = v128.bitselect(loss, wv, m);
        iv = v128.bitselect(idx, iv, m);
        idx = f64x2.add(idx, two);
      }
      let w0 = f64x2.extract_lane(wv, 0);
      let w1 = f64x2.extract_lane(wv, 1);
      let i0 = f64x2.extract_lane(iv, 0);
      let i1 = f64x2.extract_lane(iv, 1);
      let odd = w1 > w0 || (w1 == w0 && i1 < i0);
      worst = odd ? w1 : w0;
      at = <i32>(odd ? i1 : i0);
    }
    // A scalar scan (the scalar build; the SIMD build's last odd scenario): argmax needs the first index.
    for (; s < ns; s++) {
      let loss = -(load<f64>(weights + (s << 3)) * load<f64>(row + (s << 3)));
      if (loss > worst) {
        worst = loss;
        at = <i32>s;
      }
    }
    store<f64>(outLoss + (a << 3), worst);
    store<i32>(outIndex + (a << 2), at);
  }
}
