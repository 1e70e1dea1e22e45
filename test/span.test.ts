import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aggregateInto, buildScenarios, createMarginEngine, loadModel, tableMarket, worstScenario, type GridModel, type MarginResultOk } from '../src/api/margin.js';

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
        // McMillan's extremes are 2× the range; the preset uses 3× (same sign, vol unchanged, 35%: presets/span-16.json source)
        expect(Math.sign(frac)).toBe(Math.sign(s.price_move_fraction_of_range));
        expect(Math.abs(frac)).toBeCloseTo(3, 12);
        expect(m.scenarios[k].vol).toBe('same');
      }
      expect(sc.weights[k]).toBe(s.weight);
    });
  });

  /**
   * McMillan's parameters on the span-16 engine itself: S&P 500 futures at $500 per point, price
   * scan range 20 points ($10,000), extremes 2× the range counted at 35 %. The future is a
   * linear future of 500 index units; the level (410) does not change its array. The Dec 410
   * call's price, vol, vol scan range and time are not given in the book, so the engine cannot
   * reprice it: its printed array is added to the engine's futures array for the covered write.
   */
  const mcmillan = (): GridModel => {
    const base = loadModel('span-16').params as GridModel;
    const F = 410;
    const range = ex.parameters.price_scan_range_points / F;
    return {
      ...structuredClone(base),
      id: 'span-16-mcmillan',
      scan: { ...base.scan, rangeUp: range, rangeDown: range },
      scenarios: base.scenarios.map((sc) => (Math.abs(sc.range!) === 3 ? { ...sc, range: Math.sign(sc.range!) * 2 } : sc)),
    };
  };
  const spx = tableMarket({ valuationTime: Date.UTC(1993, 8, 17, 8), underlyings: { SPX: { spot: 410, vol: 0.15 } } });
  const margin = (size: number): MarginResultOk => {
    const r = createMarginEngine({ market: spx, model: mcmillan() }).margin({ id: 'm', mode: 'portfolio', collateral: { USDC: 1e5 }, positions: [{ instrument: 'SPX_USDC-17DEC93', size }] });
    if (!r.ok) throw new Error(r.error.message);
    return r;
  };

  it('the span-16 engine reproduces the printed futures risk array (to the book\'s $10 rounding) and its scanning risk', () => {
    const r = margin(500);
    const g = r.grid![0];
    const printed: number[] = ex.risk_arrays.long_1_future;
    // engine losses are weighted losses (35 % on 15/16): P&L = −loss
    g.scenarioLosses.forEach((loss, k) => expect(Math.abs(-loss - printed[k]), `scenario ${k + 1}`).toBeLessThanOrEqual(5));
    expect(r.initialMargin).toBeCloseTo(ex.expected.long_1_future.scanning_risk, 6);
    expect(ex.expected.long_1_future.worst_scenarios).toContain(g.worstScenario.index + 1);
    expect(g.scenarioLosses[14]).toBeCloseTo(-ex.parameters.extreme_move_usd, 6);
    expect(r.maintenanceMargin).toBeCloseTo(r.initialMargin / 1.1, 6);
    // a short future: worst is a full up move, also $10,000
    expect(margin(-500).initialMargin).toBeCloseTo(10_000, 6);
  });

  it('covered write: the engine\'s futures array plus the printed short call array gives the book\'s $6,620 at scenario 13', () => {
    const fut = margin(500).grid![0].scenarioLosses.map((l) => -l);
    const call: number[] = ex.risk_arrays.long_1_dec410_call;
    const pnl = fut.map((x, k) => x - call[k]);
    pnl.forEach((x, k) => expect(Math.abs(x - ex.risk_arrays.covered_write_long_future_short_call[k]), `scenario ${k + 1}`).toBeLessThanOrEqual(5));
    const worst = pnl.indexOf(Math.min(...pnl));
    expect(worst + 1).toBe(ex.expected.covered_write.worst_scenario);
    expect(Math.abs(-pnl[worst] - ex.expected.covered_write.scanning_risk)).toBeLessThanOrEqual(5);
  });
});
