/**
 * The VaR tail kernel (assembly/tail.ts) on hand-made edge cases, both builds: a scenario count
 * that leaves a remainder at the end of the last block (259 = 256 + 3: the SIMD build's pair and
 * single lanes, the scalar build's tail loop), the worst entries in the last scenarios, an account
 * whose last scenario is large after one whose last scenario is the worst (a lane left stale from
 * the previous account shows), accounts without positions and ties (lower scenario index first).
 * The reference is a plain loop (positions in order from +0, the kernel's documented order, so
 * the doubles are identical) and a sort by (value, index).
 */
import { describe, expect, it } from 'vitest';
import { WasmInstance, simdSupported } from '../src/wasm/module.js';
import { TailKernel } from '../src/wasm/tails.js';

const NS = 259;
let seed = 7;
const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5;
// instrument 0: worst at the last scenario; 1: worst at 257, large at 258; 2: noise
const values = new Float64Array(3 * NS);
for (let j = 0; j < values.length; j++) values[j] = rnd();
values[NS - 1] = -10;
values[NS + 257] = -9;
values[NS + 258] = 50;
// accounts: [0], [1], [2, 0 × 0.5, 1 × −0.25], [] (all 0: ties), [2 × 0] (all 0: ties), [1 × 2, 1 × −2] (all 0)
const accStart = Int32Array.from([0, 1, 2, 5, 5, 6, 8]);
const instr = Int32Array.from([0, 1, 2, 0, 1, 2, 1, 1]);
const size = Float64Array.from([1, 1, 1, 0.5, -0.25, 0, 2, -2]);
const nAcc = accStart.length - 1;

/** The m smallest (value, index) pairs of each account's P&L vector, by a loop and a sort. */
function reference(m: number): { val: Float64Array; idx: Int32Array } {
  const val = new Float64Array(nAcc * m);
  const idx = new Int32Array(nAcc * m);
  for (let a = 0; a < nAcc; a++) {
    const row = new Float64Array(NS);
    for (let s = 0; s < NS; s++) {
      let acc = 0;
      for (let p = accStart[a]; p < accStart[a + 1]; p++) acc += size[p] * values[instr[p] * NS + s];
      row[s] = acc;
    }
    const order = Array.from({ length: NS }, (_, s) => s).sort((x, y) => row[x] - row[y] || x - y);
    for (let j = 0; j < m; j++) {
      val[a * m + j] = row[order[j]];
      idx[a * m + j] = order[j];
    }
  }
  return { val, idx };
}

describe('VaR tail kernel edge cases', () => {
  const builds = simdSupported() ? [true, false] : [false];
  for (const simd of builds) {
    for (const m of [1, 4, 7]) {
      it(`${simd ? 'simd' : 'scalar'} build, m = ${m}: every account's m smallest entries and their scenarios`, () => {
        const k = new TailKernel(new WasmInstance({ simd }));
        k.setValues(values, 'edge');
        const outVal = new Float64Array(nAcc * m).fill(Number.NaN);
        const outIdx = new Int32Array(nAcc * m).fill(-1);
        k.tails({ accStart, instr, size }, NS, m, outVal, outIdx);
        const ref = reference(m);
        expect(Array.from(outIdx)).toEqual(Array.from(ref.idx));
        expect(Array.from(outVal)).toEqual(Array.from(ref.val));
        // by hand: account 0's worst is −10 at the last scenario, account 1's −9 at 257
        expect([outVal[0], outIdx[0]]).toEqual([-10, NS - 1]);
        expect([outVal[m], outIdx[m]]).toEqual([-9, 257]);
        // accounts without P&L: zeros at scenarios 0 .. m−1
        for (const a of [3, 4, 5]) expect(Array.from(outIdx.subarray(a * m, (a + 1) * m))).toEqual(Array.from({ length: m }, (_, j) => j));
      });
    }
  }
});
