// VaR tails of many accounts (issue 11): each account's P&L vector over nScen
// scenarios is aggregated from the revalued instruments (Σ size × values[instr],
// in position order from +0 for every scenario — the same sums, bit for bit, as
// aggregateAccounts), then its m smallest entries are selected with their
// scenario indices (ascending by value, ties by index: the order the TS
// measures use). Only the tail leaves the kernel, so a 100k-account book at
// 1,000 scenarios never materialises its 800 MB of P&L vectors.
//
// Cache blocking: scenarios are processed in blocks of BLOCK (2 KB of each
// instrument row), up to fourteen at a time in registers while the account's positions
// stream by; an account's rows for one block stay in L1 across its positions.
// The scalar build sums the same products in the same order.

import { sumPositionsSimd } from './aggregate';

const BLOCK: usize = 256;

/**
 * Accounts [0, nAcc) own positions [accStart[a], accStart[a+1]) of posInstr /
 * posSize; values is nInstr × nScen row-major. row is scratch of nScen f64.
 * outVal / outIdx receive m f64 / i32 per account (m ≤ nScen).
 */
export function aggregateTails(
  nAcc: i32,
  nScen: i32,
  accStart: usize,
  posInstr: usize,
  posSize: usize,
  values: usize,
  m: i32,
  row: usize,
  outVal: usize,
  outIdx: usize,
): void {
  let ns = <usize>nScen;
  let mm = <usize>m;
  for (let a: usize = 0; a < <usize>nAcc; a++) {
    let p0 = <usize>load<i32>(accStart + (a << 2));
    let p1 = <usize>load<i32>(accStart + ((a + 1) << 2));
    for (let b: usize = 0; b < ns; b += BLOCK) {
      let e = b + BLOCK < ns ? b + BLOCK : ns;
      aggregateBlock(ns, b, e, p0, p1, posInstr, posSize, values, row);
    }
    selectSmallest(ns, row, mm, outVal + a * (mm << 3), outIdx + a * (mm << 2));
  }
}

/** row[s] = Σ_p size_p × values[instr_p·ns + s] for s in [b, e), positions in order. */
// @ts-ignore: decorator
@inline
function aggregateBlock(ns: usize, b: usize, e: usize, p0: usize, p1: usize, posInstr: usize, posSize: usize, values: usize, row: usize): void {
  if (ASC_FEATURE_SIMD) {
    sumPositionsSimd(ns, b, e, p0, p1, posInstr, posSize, values, row);
    return;
  }
  // scalar build: four scenarios in registers, the same products and sums per scenario
  let rowBytes = ns << 3;
  let s = b;
  for (; s + 4 <= e; s += 4) {
    let o = s << 3;
    let a0 = 0.0;
    let a1 = 0.0;
    let a2 = 0.0;
    let a3 = 0.0;
    for (let p = p0; p < p1; p++) {
      let src = values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o;
      let q = load<f64>(posSize + (p << 3));
      a0 += q * load<f64>(src);
      a1 += q * load<f64>(src, 8);
      a2 += q * load<f64>(src, 16);
      a3 += q * load<f64>(src, 24);
    }
    store<f64>(row + o, a0);
    store<f64>(row + o, a1, 8);
    store<f64>(row + o, a2, 16);
    store<f64>(row + o, a3, 24);
  }
  for (; s < e; s++) {
    let o = s << 3;
    let acc = 0.0;
    for (let p = p0; p < p1; p++) acc += load<f64>(posSize + (p << 3)) * load<f64>(values + (<usize>load<i32>(posInstr + (p << 2))) * rowBytes + o);
    store<f64>(row + o, acc);
  }
}

/**
 * The m smallest of row[0, ns) into outVal/outIdx, ascending; ties keep the
 * lower scenario index first (a later equal value never displaces an earlier
 * one). Insertion into the sorted buffer: O(ns) when the tail is small.
 */
// @ts-ignore: decorator
@inline
function selectSmallest(ns: usize, row: usize, m: usize, outVal: usize, outIdx: usize): void {
  let c: usize = 0;
  for (let s: usize = 0; s < ns; s++) {
    let v = load<f64>(row + (s << 3));
    if (c == m && !(v < load<f64>(outVal + ((m - 1) << 3)))) continue;
    let j = c < m ? c : m - 1;
    // shift larger entries up by one (strictly larger: equal values stay ahead)
    while (j > 0 && load<f64>(outVal + ((j - 1) << 3)) > v) {
      store<f64>(outVal + (j << 3), load<f64>(outVal + ((j - 1) << 3)));
      store<i32>(outIdx + (j << 2), load<i32>(outIdx + ((j - 1) << 2)));
      j--;
    }
    store<f64>(outVal + (j << 3), v);
    store<i32>(outIdx + (j << 2), <i32>s);
    if (c < m) c++;
  }
}
