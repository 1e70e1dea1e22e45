/**
 * Exact sums (src/risk/exact-sum.ts) against Python's math.fsum (CPython 3, the correctly
 * rounded sum; values printed by the script in the comments), and the property the distributed
 * VaR relies on: partial sums merged in any grouping round to the same double.
 */
import { describe, expect, test } from 'vitest';
import { ExactSum } from '../src/risk/exact-sum.js';

const sum = (xs: number[]): number => {
  const s = new ExactSum();
  for (const x of xs) s.add(x);
  return s.value();
};

/** python3: s = 12345; s = s*48271 % 2147483647 per draw; x = ±float(k)*float(10**e)/1e8, k = draw % 2**20, e = draw % 4, sign by draw % 2 */
function terms(): number[] {
  let s = 12345;
  const next = (): number => (s = (s * 48271) % 2147483647);
  const xs: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const k = next() % (1 << 20);
    const e = next() % 4;
    const sign = next() % 2 ? -1 : 1;
    xs.push((sign * (k * 10 ** e)) / 1e8);
  }
  return xs;
}

describe('ExactSum = math.fsum', () => {
  test('cases where the running double sum is off', () => {
    expect(sum(Array(10).fill(0.1))).toBe(1.0); // fsum 1.0; running sum 0.9999999999999999
    expect(sum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50])).toBe(1e-100); // fsum 1e-100; running 0.0
    expect(sum([1.0, 1e-16, 1e-16])).toBe(1.0000000000000002); // half-way case; running 1.0
    expect(sum([2 ** 53, 1.0, -0.5])).toBe(9007199254740992.0);
    expect(sum([])).toBe(0);
  });

  test('5,000 terms of mixed sign and magnitude', () => {
    const xs = terms();
    let running = 0;
    for (const x of xs) running += x;
    expect(running).toBe(-387.00858805000036); // python's running sum: the generator matches
    expect(sum(xs)).toBe(-387.00858805); // math.fsum
    expect(sum(xs.slice(0, 1234))).toBe(-155.65300044);
    expect(sum(xs.slice(1234))).toBe(-231.35558761000001);
  });

  test('partial sums merged in any grouping give the same double', () => {
    const xs = terms();
    for (const cut of [[1], [17, 2500], [999, 1000, 4000], [4999]]) {
      const merged = new ExactSum();
      let from = 0;
      for (const to of [...cut, xs.length]) {
        const part = new ExactSum();
        for (const x of xs.slice(from, to)) part.add(x);
        merged.addExpansion(part.partials);
        from = to;
      }
      expect(merged.value()).toBe(-387.00858805);
    }
  });
});
