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
  for (let a: usize = 0; a < <usize>nAcc; a++) aggregateRow(ns, a, accStart, posInstr, posSize, riskArrays, out + a * (ns << 3));
}

/**
 * aggregateAccounts then worstLoss, account by account: each P&L vector is written to `row` (one
 * vector's room, reused: it stays in the core's first-level cache between the two) and reduced
 * there; outLoss / outIndex as worstLoss's. The same doubles as the two kernels in turn.
 */
export function aggregateWorst(
  nAcc: i32,
  nScen: i32,
  accStart: usize,
  posInstr: usize,
  posSize: usize,
  riskArrays: usize,
  weights: usize,
  row: usize,
  outLoss: usize,
  outIndex: usize,
): void {
  let ns = <usize>nScen;
  for (let a: usize = 0; a < <usize>nAcc; a++) {
    aggregateRow(ns, a, accStart, posInstr, posSize, riskArrays, row);
    worstOfRow(ns, row, weights, outLoss + (a << 3), outIndex + (a << 2));
  }
}

/**
 * Account a's P&L vector into row: the SIMD build through `sumPositionsSimd` over all its
 * scenarios (the row written once per pass instead of loaded and stored once per position, as
 * the axpy form is), the scalar build by axpy per position. Bit-identical.
 */
// @ts-ignore: decorator
@inline
function aggregateRow(ns: usize, a: usize, accStart: usize, posInstr: usize, posSize: usize, riskArrays: usize, row: usize): void {
  let p0 = <usize>load<i32>(accStart + (a << 2));
  let p1 = <usize>load<i32>(accStart + ((a + 1) << 2));
  if (ASC_FEATURE_SIMD) {
    sumPositionsSimd(ns, 0, ns, p0, p1, posInstr, posSize, riskArrays, row);
    return;
  }
  let rowBytes = ns << 3;
  memory.fill(row, 0, rowBytes);
  for (let p = p0; p < p1; p++) {
    let src = riskArrays + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes;
    axpy(ns, row, src, load<f64>(posSize + (p << 3)));
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
 * a NaN loss is never the worst; with no loss above −∞ the index is −1 and the loss −∞).
 * The scalar build scans the scenarios in order; the SIMD build finds the largest loss first,
 * then the first scenario equal to it (`firstWorstSimd`): the same scenario, and the loss is
 * that scenario's, computed the same way.
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
  for (let a: usize = 0; a < <usize>nAcc; a++) worstOfRow(ns, pnl + a * (ns << 3), weights, outLoss + (a << 3), outIndex + (a << 2));
}

/** One P&L vector's worst weighted loss into *loss and its first scenario into *index (worstLoss). */
// @ts-ignore: decorator
@inline
function worstOfRow(ns: usize, row: usize, weights: usize, loss: usize, index: usize): void {
  let at = ASC_FEATURE_SIMD ? firstWorstSimd(ns, row, weights) : firstWorstScan(ns, row, weights);
  store<f64>(loss, at < 0 ? -Infinity : lossAt(weights, row, <usize>at));
  store<i32>(index, at);
}

/** −weight_s × pnl_s. */
// @ts-ignore: decorator
@inline
function lossAt(weights: usize, row: usize, s: usize): f64 {
  return -(load<f64>(weights + (s << 3)) * load<f64>(row + (s << 3)));
}

/** Scenarios s and s + 1's losses. */
// @ts-ignore: decorator
@inline
function lossPair(weights: usize, row: usize, s: usize): v128 {
  return f64x2.neg(f64x2.mul(v128.load(weights + (s << 3)), v128.load(row + (s << 3))));
}

/** The first scenario whose loss exceeds every earlier one's and −∞ and is not below a later one's, by one scan (−1: none above −∞). */
// @ts-ignore: decorator
@inline
function firstWorstScan(ns: usize, row: usize, weights: usize): i32 {
  let worst = -Infinity;
  let at: i32 = -1;
  for (let s: usize = 0; s < ns; s++) {
    let loss = lossAt(weights, row, s);
    if (loss > worst) {
      worst = loss;
      at = <i32>s;
    }
  }
  return at;
}

/**
 * firstWorstScan's scenario in the SIMD build: the largest loss first, in two independent pairs
 * of lanes (pmax keeps the running value on a NaN or a tie: no chain through a comparison and a
 * select per scenario), then the first scenario whose loss equals it (== holds for +0 and −0
 * alike, as > fails between them: the scan's first maximum).
 */
// @ts-ignore: decorator
@inline
function firstWorstSimd(ns: usize, row: usize, weights: usize): i32 {
  let m0 = f64x2.splat(-Infinity);
  let m1 = m0;
  let s: usize = 0;
  for (; s + 4 <= ns; s += 4) {
    m0 = f64x2.pmax(m0, lossPair(weights, row, s));
    m1 = f64x2.pmax(m1, lossPair(weights, row, s + 2));
  }
  if (s + 2 <= ns) {
    m0 = f64x2.pmax(m0, lossPair(weights, row, s));
    s += 2;
  }
  m0 = f64x2.pmax(m0, m1);
  let worst = f64x2.extract_lane(m0, 0);
  let w1 = f64x2.extract_lane(m0, 1);
  if (w1 > worst) worst = w1;
  if (s < ns) {
    let loss = lossAt(weights, row, s);
    if (loss > worst) worst = loss;
  }
  if (!(worst > -Infinity)) return -1;
  let wv = f64x2.splat(worst);
  for (s = 0; s + 2 <= ns; s += 2) {
    let eq = f64x2.eq(lossPair(weights, row, s), wv);
    if (v128.any_true(eq)) return <i32>(i64x2.extract_lane(eq, 0) != 0 ? s : s + 1);
  }
  return <i32>s;
}
