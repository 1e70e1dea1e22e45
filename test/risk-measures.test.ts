import { describe, expect, it } from 'vitest';
import { component, esWeights, expectedShortfall, riskFigures, tailMean, valueAtRisk, varWeights } from '../src/measures/quantiles.js';
import { backtestStats, baselZone, christoffersenIndependence, conditionalCoverage, kupiecPof } from '../src/risk/backtest-stats.js';

// Hand-computed: sorted x = −10, −7, −4, −3, −1, 0, 2, 5, 6, 8 (n = 10)
const x = [-10, -3, 5, -7, 2, -1, 8, -4, 0, 6];

describe('VaR conventions and ES on a small vector (hand-computed)', () => {
  it('alpha 0.8: nβ = 2', () => {
    expect(valueAtRisk(x, 0.8, 'lower')).toBe(7); // −x(2)
    expect(valueAtRisk(x, 0.8, 'empirical')).toBe(4); // −x(3)
    expect(valueAtRisk(x, 0.8, 'linear')).toBeCloseTo(4.6, 12); // h = 1.8: −(−7 + 0.8·3)
    expect(expectedShortfall(x, 0.8)).toBe(8.5); // (10 + 7) / 2
    expect(tailMean(x, 7)).toBe(8.5);
  });
  it('alpha 0.75: nβ = 2.5 (fractional tail weight)', () => {
    expect(valueAtRisk(x, 0.75, 'lower')).toBe(7);
    expect(valueAtRisk(x, 0.75, 'empirical')).toBe(4);
    expect(valueAtRisk(x, 0.75, 'linear')).toBeCloseTo(3.75, 12); // h = 2.25: −(−4 + 0.25·1)
    expect(expectedShortfall(x, 0.75)).toBeCloseTo(7.6, 12); // (10 + 7 + 0.5·4) / 2.5
  });
  it('alpha 0.95: nβ = 0.5 (lower undefined, ES = worst loss)', () => {
    expect(() => valueAtRisk(x, 0.95, 'lower')).toThrow(/needs at least/);
    expect(valueAtRisk(x, 0.95, 'empirical')).toBe(10);
    expect(valueAtRisk(x, 0.95, 'linear')).toBeCloseTo(8.65, 12); // h = 0.45
    expect(expectedShortfall(x, 0.95)).toBe(10);
  });
  it('n(1 − α) products that are integers in decimal are not floored below', () => {
    const y = Array.from({ length: 100 }, (_, i) => i - 50); // sorted already
    expect(valueAtRisk(y, 0.9, 'lower')).toBe(41); // k = 10 → x(10) = −41
    expect(valueAtRisk(Array.from({ length: 250 }, (_, i) => i), 0.99, 'lower')).toBe(-1); // k = 2 → x(2) = 1
  });
  it('Euler components sum to VaR and ES', () => {
    const a = [1, -2, 3, -4, 0.5, -6, 2, 1, -1, 0];
    const b = x.map((v, i) => v - a[i]);
    for (const alpha of [0.8, 0.75]) {
      const ew = esWeights(x, alpha);
      expect(component(a, ew) + component(b, ew)).toBeCloseTo(expectedShortfall(x, alpha), 12);
      for (const q of ['lower', 'empirical', 'linear'] as const) {
        const vw = varWeights(x, alpha, q);
        expect(component(a, vw) + component(b, vw)).toBeCloseTo(valueAtRisk(x, alpha, q), 12);
      }
    }
    const f = riskFigures(x, 0.8, 'lower');
    expect(f.varScenarios).toEqual([3]); // x[3] = −7
  });
  it('rejects alpha outside (0, 1)', () => {
    expect(() => valueAtRisk(x, 1, 'lower')).toThrow(/alpha must be in \(0, 1\)/);
    expect(() => valueAtRisk(x, 99, 'lower')).toThrow(/got 99/);
  });
});

// MathWorks varbacktest documentation example (load VaRBacktestData; varbacktest(EquityIndex, Normal95)):
// 1043 observations, 57 failures, N00 = 932, N10 = 53, N01 = 53, N11 = 4, VaRLevel 0.95.
// Printed: POF LRatio 0.46147 p 0.49694; CCI LRatio 0.25866 p 0.61104; CC LRatio 0.72013 p 0.69763.
// https://www.mathworks.com/help/risk/varbacktest.pof.html, varbacktest.cci.html, varbacktest.cc.html
describe('backtest statistics: MathWorks varbacktest example to its printed digits', () => {
  const r5 = (v: number) => Number(v.toFixed(5));
  it('POF, CCI and CC from the counts', () => {
    const pof = kupiecPof(1043, 57, 0.95);
    expect(r5(pof.lr)).toBe(0.46147);
    expect(r5(pof.p)).toBe(0.49694);
    const cci = christoffersenIndependence({ n00: 932, n01: 53, n10: 53, n11: 4 });
    expect(r5(cci.lr)).toBe(0.25866);
    expect(r5(cci.p)).toBe(0.61104);
    const cc = conditionalCoverage(pof, cci);
    expect(r5(cc.lr)).toBe(0.72013);
    expect(r5(cc.p)).toBe(0.69763);
  });
  it('the same from an exception sequence with those transitions', () => {
    // 4 runs of two exceptions, 49 single exceptions, separated by zeros: 57 exceptions in 1043 days
    const seq: number[] = [];
    for (let k = 0; k < 4; k++) seq.push(0, 1, 1);
    for (let k = 0; k < 49; k++) seq.push(0, 1);
    while (seq.length < 1043) seq.push(0);
    const s = backtestStats(seq, 0.95);
    expect(s.exceptionCount).toBe(57);
    expect([s.christoffersen.n00, s.christoffersen.n01, s.christoffersen.n10, s.christoffersen.n11]).toEqual([932, 53, 53, 4]);
    expect(r5(s.conditionalCoverage.lr)).toBe(0.72013);
  });
  it('Basel zones for 250 days at 99 %: green 0–4, yellow 5–9, red 10+', () => {
    expect([0, 4, 5, 9, 10, 20].map((e) => baselZone(e, 250, 0.99))).toEqual(['green', 'green', 'yellow', 'yellow', 'red', 'red']);
  });
});
