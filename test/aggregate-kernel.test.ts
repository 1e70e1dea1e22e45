/** The WASM aggregation kernels against the plain-TS loops of src/margin/aggregate.ts, on both builds, bit for bit. */
import { describe, expect, test } from 'vitest';
import { aggregateInto, addPositionInto, worstScenario } from '../src/scenarios/aggregate.js';
import { WasmInstance, simdSupported } from '../src/wasm/module.js';
import { rng } from './helpers.js';

const variants = (simdSupported() ? ['simd', 'scalar'] : ['scalar']) as ('simd' | 'scalar')[];

/** nAcc accounts of 0 to maxCount − 1 positions each (random instruments below nInstr, sizes from `size`), laid out in w's memory. */
function randomAccounts(w: WasmInstance, u: () => number, nAcc: number, maxCount: number, nInstr: number, size: () => number) {
  const counts = Array.from({ length: nAcc }, () => Math.floor(u() * maxCount));
  const nPos = counts.reduce((a, b) => a + b, 0);
  const out = { start: w.alloc('i32', nAcc + 1), instr: w.alloc('i32', nPos), size: w.alloc('f64', nPos) };
  let p = 0;
  for (let a = 0; a < nAcc; a++) {
    out.start.view[a] = p;
    for (let k = 0; k < counts[a]; k++, p++) {
      out.instr.view[p] = Math.floor(u() * nInstr);
      out.size.view[p] = size();
    }
  }
  out.start.view[nAcc] = p;
  return out;
}

/** The first scenario of the largest loss −weight × pnl by a plain scan: ties (±0 included) to the lower index, NaN never the worst, −1 when no loss exceeds −∞. */
function plainWorst(nScen: number, pnl: Float64Array, off: number, weights: Float64Array): { first: number; worst: number } {
  let worst = -Infinity;
  let first = -1;
  for (let s = 0; s < nScen; s++) {
    const l = -(weights[s] * pnl[off + s]);
    if (l > worst) {
      worst = l;
      first = s;
    }
  }
  return { first, worst };
}

describe.each(variants)('aggregation kernels, %s build', (variant) => {
  test('aggregateAccounts, addPosition and worstLoss equal the TS loops exactly', () => {
    const w = new WasmInstance({ simd: variant === 'simd' });
    const u = rng(17);
    const nInstr = 300, nScen = 27, nAcc = 500;
    const risk = w.alloc('f64', nInstr * nScen);
    for (let i = 0; i < nInstr * nScen; i++) risk.view[i] = (u() - 0.5) * 1e4;
    const { start, instr, size } = randomAccounts(w, u, nAcc, 25, nInstr, () => Math.round((u() - 0.5) * 200) / 10);
    const out = w.alloc('f64', nAcc * nScen);
    w.exports.aggregateAccounts(nAcc, nScen, start.ptr, instr.ptr, size.ptr, risk.ptr, out.ptr);
    const ref = new Float64Array(nAcc * nScen);
    aggregateInto(nAcc, nScen, start.view, instr.view, size.view, risk.view, ref);
    for (let i = 0; i < ref.length; i++) if (!Object.is(out.view[i], ref[i])) expect.fail(`pnl[${i}] ${out.view[i]} ≠ ${ref[i]}`);

    // what-if on account 7: add 3 units of instrument 42
    w.exports.addPosition(nScen, out.ptr + 7 * nScen * 8, risk.ptr, 42, 3);
    addPositionInto(nScen, ref, 7 * nScen, risk.view, 42, 3);
    for (let s = 0; s < nScen; s++) expect(out.view[7 * nScen + s]).toBe(ref[7 * nScen + s]);

    const weights = w.alloc('f64', nScen);
    for (let s = 0; s < nScen; s++) weights.view[s] = s % 9 === 0 ? 0.5 : 1;
    const loss = w.alloc('f64', nAcc), at = w.alloc('i32', nAcc);
    w.exports.worstLoss(nAcc, nScen, out.ptr, weights.ptr, loss.ptr, at.ptr);
    for (let a = 0; a < nAcc; a++) {
      const s = worstScenario(nScen, ref, a * nScen, weights.view);
      expect(at.view[a]).toBe(s);
      expect(loss.view[a]).toBe(-(weights.view[s] * ref[a * nScen + s]));
    }
  });

  // every scenario count the SIMD build's passes split differently (blocks of 14, a last pass of
  // up to 15, fewer than 16 in one pass), against the plain loop of src/scenarios/aggregate.ts
  test('aggregateAccounts equals the TS loop exactly for 1 to 45 scenarios', () => {
    const w = new WasmInstance({ simd: variant === 'simd' });
    const u = rng(29);
    const nInstr = 40, nAcc = 60;
    const { start, instr, size } = randomAccounts(w, u, nAcc, 30, nInstr, () => (u() - 0.5) * 300);
    for (let nScen = 1; nScen <= 45; nScen++) {
      const risk = w.alloc('f64', nInstr * nScen);
      for (let i = 0; i < nInstr * nScen; i++) risk.view[i] = (u() - 0.5) * 1e4;
      const out = w.alloc('f64', nAcc * nScen);
      w.exports.aggregateAccounts(nAcc, nScen, start.ptr, instr.ptr, size.ptr, risk.ptr, out.ptr);
      const ref = new Float64Array(nAcc * nScen);
      aggregateInto(nAcc, nScen, start.view, instr.view, size.view, risk.view, ref);
      for (let i = 0; i < ref.length; i++) if (!Object.is(out.view[i], ref[i])) expect.fail(`${nScen} scenarios: pnl[${i}] ${out.view[i]} ≠ ${ref[i]}`);
    }
  });

  // the fused kernel (one row summed and reduced at a time) against the TS loop's P&L and a plain
  // scan of its losses, for every scenario count the SIMD passes split differently
  test('aggregateWorst equals aggregateInto then the first worst scenario, for 1 to 45 scenarios', () => {
    const w = new WasmInstance({ simd: variant === 'simd' });
    const u = rng(37);
    const nInstr = 40, nAcc = 60;
    const { start, instr, size } = randomAccounts(w, u, nAcc, 30, nInstr, () => (u() - 0.5) * 300);
    for (let nScen = 1; nScen <= 45; nScen++) {
      const risk = w.alloc('f64', nInstr * nScen), weights = w.alloc('f64', nScen), row = w.alloc('f64', nScen);
      for (let i = 0; i < nInstr * nScen; i++) risk.view[i] = (u() - 0.5) * 1e4;
      for (let s = 0; s < nScen; s++) weights.view[s] = s % 4 === 0 ? 0.5 : 1;
      const loss = w.alloc('f64', nAcc), at = w.alloc('i32', nAcc);
      w.exports.aggregateWorst(nAcc, nScen, start.ptr, instr.ptr, size.ptr, risk.ptr, weights.ptr, row.ptr, loss.ptr, at.ptr);
      const ref = new Float64Array(nAcc * nScen);
      aggregateInto(nAcc, nScen, start.view, instr.view, size.view, risk.view, ref);
      for (let a = 0; a < nAcc; a++) {
        const { first, worst } = plainWorst(nScen, ref, a * nScen, weights.view);
        if (at.view[a] !== first || !Object.is(loss.view[a], worst)) expect.fail(`${nScen} scenarios, account ${a}: ${at.view[a]} / ${loss.view[a]} ≠ ${first} / ${worst}`);
      }
    }
  });

  // the first scenario of the largest loss, by a plain scan written here: ties (±0 included) to
  // the lower index, NaN never the worst, −1 when no loss exceeds −∞
  test('worstLoss: the first worst scenario, ties, ±0, NaN and −∞, for 1 to 31 scenarios', () => {
    const w = new WasmInstance({ simd: variant === 'simd' });
    const u = rng(31);
    const pick = (): number => {
      const r = u();
      if (r < 0.1) return 0;
      if (r < 0.2) return -0;
      if (r < 0.3) return NaN;
      if (r < 0.35) return Infinity;
      if (r < 0.4) return -Infinity;
      return Math.round((u() - 0.5) * 8); // few distinct values: many ties
    };
    for (let nScen = 1; nScen <= 31; nScen++) {
      const nAcc = 200;
      const pnl = w.alloc('f64', nAcc * nScen), weights = w.alloc('f64', nScen);
      for (let s = 0; s < nScen; s++) weights.view[s] = s % 3 === 0 ? 0.5 : 1;
      for (let i = 0; i < nAcc * nScen; i++) pnl.view[i] = pick();
      for (let s = 0; s < nScen; s++) pnl.view[s] = NaN; // account 0: every loss NaN
      for (let s = 0; s < nScen; s++) pnl.view[nScen + s] = Infinity; // account 1: every loss −∞
      for (let s = 0; s < nScen; s++) pnl.view[2 * nScen + s] = s % 2 === 0 ? 0 : -0; // account 2: +0 and −0 alternate
      const loss = w.alloc('f64', nAcc), at = w.alloc('i32', nAcc);
      w.exports.worstLoss(nAcc, nScen, pnl.ptr, weights.ptr, loss.ptr, at.ptr);
      for (let a = 0; a < nAcc; a++) {
        const { first, worst } = plainWorst(nScen, pnl.view, a * nScen, weights.view);
        if (at.view[a] !== first || !Object.is(loss.view[a], worst)) expect.fail(`${nScen} scenarios, account ${a}: ${at.view[a]} / ${loss.view[a]} ≠ ${first} / ${worst}`);
      }
      expect(at.view[0]).toBe(-1);
      expect(at.view[1]).toBe(-1);
      expect(Object.is(loss.view[2], -0)).toBe(true); // the first scenario's −(1 × 0) = −0, never displaced by an equal +0
    }
  });
});
