import { describe, expect, it } from 'vitest';
import {
  QUANTILE_CONVENTIONS,
  checkAlpha,
  component,
  esWeights,
  expectedShortfall,
  riskFigures,
  smallestIndices,
  tailLength,
  tailMean,
  valueAtRisk,
  varWeights,
} from '../src/measures/quantiles.js';
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

/** The error a call throws (or null). */
function thrown(f: () => unknown): { message: string; path?: string } | null {
  try {
    f();
  } catch (e) {
    return e as { message: string; path?: string };
  }
  return null;
}

describe('VaR and ES edge cases (hand-computed on x above, n = 10)', () => {
  it('alpha must be a number in (0, 1); the error names the field', () => {
    for (const bad of [0, -0.5, 1, 1.5, '0.9' as unknown as number, Number.NaN]) {
      const e = thrown(() => checkAlpha(bad));
      expect(e?.message, String(bad)).toMatch(/alpha must be in \(0, 1\)/);
      expect(e?.path).toBe('alpha');
    }
    expect(checkAlpha(0.99)).toBe(0.99);
    expect(QUANTILE_CONVENTIONS).toEqual(['lower', 'empirical', 'linear']);
  });
  it('too few scenarios for a convention: the error names the measure and the counts', () => {
    // alpha 0.95: nβ = 0.5, k = 0: 'lower' needs k ≥ 1
    const low = thrown(() => valueAtRisk(x, 0.95, 'lower'));
    expect(low?.message).toBe("VaR 'lower' (n(1-alpha) >= 1) at alpha 0.95 needs at least 1 scenarios, the set has 0 (raise --lookback or lower --alpha)");
    expect(low?.path).toBe('alpha');
    // alpha 1e-17: 1 − α rounds to 1, nβ = n = 10 = k: 'empirical' needs k + 1 = 11 scenarios
    expect(thrown(() => valueAtRisk(x, 1e-17, 'empirical'))?.message).toMatch(/^VaR 'empirical' at alpha 1e-17 needs at least 11 scenarios, the set has 10/);
    expect(thrown(() => valueAtRisk([], 0.5, 'linear'))?.message).toMatch(/^VaR 'linear' at alpha 0.5 needs at least 1 scenarios, the set has 0/);
    // alpha 1 − 1e-12: nβ = 1e-11 rounds to 0: ES has no tail
    for (const f of [() => expectedShortfall(x, 1 - 1e-12), () => esWeights(x, 1 - 1e-12)]) {
      expect(thrown(f)?.message).toMatch(/^ES at alpha 0.999999999999 needs at least 1 scenarios, the set has 0/);
    }
  });
  it('alpha near 0: the whole vector is the tail (ES = −mean = 0.4, linear VaR = −max = −8)', () => {
    expect(expectedShortfall(x, 1e-17)).toBeCloseTo(0.4, 14);
    expect(valueAtRisk(x, 1e-17, 'linear')).toBe(-8);
    expect(Array.from(varWeights(x, 1e-17, 'linear').scenarios)).toEqual([6]); // x[6] = 8
  });
  it('an integer h = (n − 1)β takes one order statistic, an integer nβ one weight per tail scenario', () => {
    // n = 5, alpha 0.75: h = 1 → x(2) alone; nβ = 1.25 → the worst with 1/1.25, the next with 0.25/1.25
    const y = [4, -2, 7, -9, 1];
    const vw = varWeights(y, 0.75, 'linear');
    expect(Array.from(vw.scenarios)).toEqual([1]);
    expect(Array.from(vw.weights)).toEqual([1]);
    expect(valueAtRisk(y, 0.75, 'linear')).toBe(2);
    // x at alpha 0.8: nβ = 2 exactly → the two worst, 1/2 each, no third scenario
    const ew = esWeights(x, 0.8);
    expect(Array.from(ew.scenarios)).toEqual([0, 3]);
    expect(Array.from(ew.weights)).toEqual([0.5, 0.5]);
    expect(riskFigures(x, 0.8, 'empirical').esScenarios).toEqual([0, 3]);
  });
  it('ties are ordered by scenario index; smallestIndices returns m entries', () => {
    const t = [3, -5, 0, -5, -5, 2];
    expect(Array.from(smallestIndices(t, 3))).toEqual([1, 3, 4]);
    expect(Array.from(smallestIndices(t, 4))).toEqual([1, 3, 4, 2]);
    expect(smallestIndices(t, 9).length).toBe(6);
    expect(riskFigures(t, 0.6, 'lower').varScenarios).toEqual([3]); // k = 2: the second of the tied −5s
  });
  it('tail length: ⌊nβ⌋ + 2, at most n', () => {
    expect(tailLength(10, 0.8)).toBe(4);
    expect(tailLength(100, 0.99)).toBe(3);
    expect(tailLength(2, 0.5)).toBe(2);
  });
  it("linear VaR equals numpy.quantile(x, β, method='linear') bit for bit, on both sides of numpy's lerp switch at g = 0.5", () => {
    // numpy 2.4.6: -np.quantile(x, 1 - alpha, method='linear'); the two lerp forms differ in the last bit here
    const cases: [number[], number, number][] = [
      [[23.59, -11.03, -73.55, 94.47, -98.94, 54.72, 92.03], 0.7, -23.53399999999998], // g = 0.8
      [[28.46, -26.11, -71.58, 19.19, 12.77, 91.44, 93.6, 21.72, -29.78, 78.69, -99.81], 0.65, -6.669999999999998], // g = 0.5
      [[99.2, -60.88, 17.29, 24.81, -63.85, 51.8, -63.89, 43.69, 97.29, 95.95, -66.85], 0.7, -60.87999999999997], // g = 4.4e-16
    ];
    for (const [v, alpha, q] of cases) expect(valueAtRisk(v, alpha, 'linear')).toBe(-q);
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
