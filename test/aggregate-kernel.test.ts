/** The WASM aggregation kernels against the plain-TS loops of src/margin/aggregate.ts, on both builds, bit for bit. */
import { describe, expect, test } from 'vitest';
import { aggregateInto, addPositionInto, worstScenario } from '../src/scenarios/aggregate.js';
import { WasmInstance, simdSupported } from '../src/wasm/module.js';
import { rng } from './helpers.js';

const variants = (simdSupported() ? ['simd', 'scalar'] : ['scalar']) as ('simd' | 'scalar')[];

describe.each(variants)('aggregation kernels, %s build', (variant) => {
  test('aggregateAccounts, addPosition and worstLoss equal the TS loops exactly', () => {
    const w = new WasmInstance({ simd: variant === 'simd' });
    const u = rng(17);
    const nInstr = 300, nScen = 27, nAcc = 500;
    const risk = w.alloc('f64', nInstr * nScen);
    for (let i = 0; i < nInstr * nScen; i++) risk.view[i] = (u() - 0.5) * 1e4;
    const counts = Array.from({ length: nAcc }, () => Math.floor(u() * 25));
    const nPos = counts.reduce((a, b) => a + b, 0);
    const start = w.alloc('i32', nAcc + 1), instr = w.alloc('i32', nPos), size = w.alloc('f64', nPos);
    let p = 0;
    for (let a = 0; a < nAcc; a++) {
      start.view[a] = p;
      for (let k = 0; k < counts[a]; k++, p++) {
        instr.view[p] = Math.floor(u() * nInstr);
        size.view[p] = Math.round((u() - 0.5) * 200) / 10;
      }
    }
    start.view[nAcc] = p;
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
});
