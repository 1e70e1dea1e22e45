/**
 * Accuracy of the kernels' own exp, log and normal tail against a 60-digit
 * reference (scripts/highprec_elementary.py). The bounds asserted here are the
 * figures quoted beside the code in assembly/math.ts; the test prints the
 * measured maxima.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { WasmInstance } from '../src/wasm/module.js';
import { recordSkippedRows } from './helpers.js';
import type { TaskMeta } from 'vitest';

const fx: { exp: [number, number][]; log: [number, number][]; normTail: [number, number][] } = JSON.parse(
  readFileSync(new URL('./fixtures/elementary_highprec.json', import.meta.url), 'utf8'),
);
const k = new WasmInstance({ simd: false }).exports;

/** error in units of the last place of the reference value */
function ulps(got: number, want: number): number {
  if (got === want) return 0;
  const ulp = want === 0 ? Number.MIN_VALUE : 2 ** (Math.floor(Math.log2(Math.abs(want))) - 52);
  return Math.abs(got - want) / Math.max(ulp, Number.MIN_VALUE);
}

function worst(task: { meta: TaskMeta }, rows: [number, number][], f: (x: number) => number): number {
  let w = 0;
  let subnormal = 0;
  for (const [x, want] of rows) {
    if (Math.abs(want) < 2.2250738585072014e-308) {
      // subnormal results: held to an absolute error of 1 ulp of the smallest normal instead
      expect(Math.abs(f(x) - want), `x = ${x}`).toBeLessThanOrEqual(2 ** -1074 * 2 ** 52);
      subnormal++;
      continue;
    }
    w = Math.max(w, ulps(f(x), want));
  }
  recordSkippedRows(task, subnormal, rows.length, 'subnormal results: compared in absolute error (≤ 2^-1022), not in ulps');
  return w;
}

test('exp(x), x ∈ [−745, 0] ∪ [−1, 1]: ≤ 2 ulp', ({ task }) => {
  const e = worst(task, fx.exp, k.elemExp);
  console.log(`exp max error ${e.toFixed(2)} ulp over ${fx.exp.length} points`);
  expect(e).toBeLessThanOrEqual(2);
});

test('log(x): ≤ 3 ulp on x ∈ [1e-3, 1e3]; ≤ 2 ulp relative within 1e-6 of 1', ({ task }) => {
  const far = fx.log.filter(([x]) => Math.abs(x - 1) > 1e-3);
  const near = fx.log.filter(([x]) => Math.abs(x - 1) <= 1e-3);
  const eFar = worst(task, far, k.elemLog);
  const eNear = worst(task, near, k.elemLog);
  console.log(`log max error ${eFar.toFixed(2)} ulp over ${far.length} points, ${eNear.toFixed(2)} ulp over ${near.length} points near 1`);
  expect(eFar).toBeLessThanOrEqual(3);
  expect(eNear).toBeLessThanOrEqual(2);
});

test('normal tail N(−x), x ∈ [0, 38]: ≤ 8 ulp relative', ({ task }) => {
  const e = worst(task, fx.normTail, k.elemNormTail);
  console.log(`normal tail max error ${e.toFixed(2)} ulp over ${fx.normTail.length} points`);
  expect(e).toBeLessThanOrEqual(8);
});
