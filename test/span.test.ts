import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aggregateInto, buildScenarios, loadModel, worstScenario, type GridModel } from '../src/margin/index.js';

const dir = fileURLToPath(new URL('../../shared/data/', import.meta.url));
const file = dir + 'span_mcmillan_example.json';

describe.skipIf(!existsSync(file))('SPAN: McMillan S&P 500 example (span_mcmillan_example.json; skipped without /work/shared/data)', () => {
  const ex = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;

  it('aggregation + worst-scenario selection reproduce the book scanning risks', () => {
    const arrays: Record<string, number[]> = ex.risk_arrays;
    const names = ['long_1_future', 'long_1_dec410_call'];
    const nScen = 16;
    // printed arrays already carry the 35% weight of scenarios 15/16: weights 1 here
    const values = new Float64Array(names.flatMap((n) => arrays[n]));
    const weights = new Float64Array(nScen).fill(1);
    const cases: [string, number[], number[], number, number][] = [
      // [case, instrument indices, sizes, expected scanning risk, expected worst scenario id (1-based)]
      ['long_1_future', [0], [1], ex.expected.long_1_future.scanning_risk, 13],
      ['long_1_dec410_call', [1], [1], ex.expected.long_1_dec410_call.scanning_risk, ex.expected.long_1_dec410_call.worst_scenario],
      ['covered_write', [0, 1], [1, -1], ex.expected.covered_write.scanning_risk, ex.expected.covered_write.worst_scenario],
      ['short_1_dec410_call', [1], [-1], ex.expected.short_1_dec410_call.scanning_risk, ex.expected.short_1_dec410_call.worst_scenario],
    ];
    for (const [name, instr, size, risk, worstId] of cases) {
      const out = new Float64Array(nScen);
      aggregateInto(1, nScen, new Int32Array([0, instr.length]), new Int32Array(instr), new Float64Array(size), values, out);
      const w = worstScenario(nScen, out, 0, weights);
      expect(Math.max(0, -out[w]), name).toBeCloseTo(risk, 6);
      expect(w + 1, name).toBe(worstId);
    }
    // the covered write's summed array equals the book's printed one
    const out = new Float64Array(nScen);
    aggregateInto(1, nScen, new Int32Array([0, 2]), new Int32Array([0, 1]), new Float64Array([1, -1]), values, out);
    expect(Array.from(out)).toEqual(arrays.covered_write_long_future_short_call);
  });

  it('the span-16 template has CME scenario order, fractions of range and weights', () => {
    const m = loadModel('span-16').params as GridModel;
    const sc = buildScenarios(m, 'BTC', 100_000);
    expect(sc.moves.length).toBe(16);
    ex.scenarios.forEach((s: { id: number; price_move_fraction_of_range: number; vol: string; weight: number }, k: number) => {
      const frac = sc.moves[k] / m.scan.rangeUp;
      if (s.id <= 14) {
        expect(frac).toBeCloseTo(s.price_move_fraction_of_range, 5);
        expect(m.scenarios[k].vol).toBe(s.vol);
      } else {
        // McMillan's extremes are 2× the range; the preset follows DESIGN.md's 3× (same sign, vol unchanged, 35%)
        expect(Math.sign(frac)).toBe(Math.sign(s.price_move_fraction_of_range));
        expect(Math.abs(frac)).toBeCloseTo(3, 12);
        expect(m.scenarios[k].vol).toBe('same');
      }
      expect(sc.weights[k]).toBe(s.weight);
    });
  });
});
