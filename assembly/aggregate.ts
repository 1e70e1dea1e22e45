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
 * [p0, p1) in order from +0 (SIMD build): scenarios eight at a time in four registers while the
 * positions stream by, then two, then one. Each scenario's sum is the same sequence of products
 * and additions as the scalar build's, so both builds give the same doubles. Shared by the
 * margin aggregation and the VaR tail kernel (assembly/tail.ts).
 */
// @ts-ignore: decorator
@inline
export function sumPositionsSimd(ns: usize, b: usize, e: usize, p0: usize, p1: usize, posInstr: usize, posSize: usize, values: usize, row: usize): void {
  let rowBytes = ns << 3;
  let s = b;
  for (; s + 8 <= e; s += 8) {
    let o = s << 3;
    let a0 = f64x2.splat(0.0);
    let a1 = f64x2.splat(0.0);
    let a2 = f64x2.splat(0.0);
    let a3 = f64x2.splat(0.0);
    for (let p = p0; p < p1; p++) {
      let src = values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o;
      let vs = f64x2.splat(load<f64>(posSize + (p << 3)));
      a0 = f64x2.add(a0, f64x2.mul(vs, v128.load(src)));
      a1 = f64x2.add(a1, f64x2.mul(vs, v128.load(src, 16)));
      a2 = f64x2.add(a2, f64x2.mul(vs, v128.load(src, 32)));
      a3 = f64x2.add(a3, f64x2.mul(vs, v128.load(src, 48)));
    }
    v128.store(row + o, a0);
    v128.store(row + o, a1, 16);
    v128.store(row + o, a2, 32);
    v128.store(row + o, a3, 48);
  }
  for (; s + 2 <= e; s += 2) {
    let o = s << 3;
    let acc = f64x2.splat(0.0);
    for (let p = p0; p < p1; p++) {
      let src = values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o;
      acc = f64x2.add(acc, f64x2.mul(f64x2.splat(load<f64>(posSize + (p << 3))), v128.load(src)));
    }
    v128.store(row + o, acc);
  }
  for (; s < e; s++) {
    let o = s << 3;
    let acc = 0.0;
    for (let p = p0; p < p1; p++) {
      acc += load<f64>(posSize + (p << 3)) * load<f64>(values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o);
    }
    store<f64>(row + o, acc);
  }
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
 * first scenario attaining it (ties resolve to the lowest index, deterministically).
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
    // A scalar scan: argmax needs the first index, and nScen is small (≤ a few hundred).
    for (let s: usize = 0; s < ns; s++) {
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
