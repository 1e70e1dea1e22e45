/** The spot (BSM) variant against Haug's Greek tables, and Deribit's on-screen Greeks against a real ticker. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { blackScholesSpot, deribitDisplayGreeks, priceOptions } from '../src/pricing/index.js';
import { HAVE_SHARED, SHARED_DATA, sharedSkipNote } from './helpers.js';

describe.skipIf(!HAVE_SHARED)(sharedSkipNote('Haug / QuantLib testGreekValues and a real Deribit ticker'), () => {
  const haug = HAVE_SHARED ? JSON.parse(readFileSync(join(SHARED_DATA, 'haug_european.json'), 'utf8')) : null;
  test('Haug pp. 11–16 Greeks (delta, gamma, vega, theta, rho, dividend rho, elasticity) within 1e-4', () => {
    const rows = haug.test_greek_values.rows as any[];
    const out = blackScholesSpot(rows.map((x) => ({ type: x.type, spot: x.spot, strike: x.strike, vol: x.vol, t: x.t, rate: x.r, carryYield: x.q })));
    rows.forEach((x, i) => {
      const g = out[i] as unknown as Record<string, number>;
      const got = x.greek === 'thetaPerDay' ? g.theta / 365 : g[x.greek];
      expect(Math.abs(got - x.expected), `${x.greek} row ${i}`).toBeLessThanOrEqual(x.tolerance);
    });
    expect(rows.length).toBe(11);
  });
  test('Haug value table through the spot variant within 1e-4', () => {
    const rows = haug.test_values.rows as any[];
    const out = blackScholesSpot(rows.map((x) => ({ type: x.type, spot: x.spot, strike: x.strike, vol: x.vol, t: x.t, rate: x.r, carryYield: x.q })));
    rows.forEach((x, i) => expect(Math.abs(out[i].price - x.expected), `row ${i}`).toBeLessThanOrEqual(x.tolerance));
  });
  test("Deribit's displayed Greeks and coin mark of BTC-30SEP22-60000-C are reproduced", () => {
    const ex = JSON.parse(readFileSync(join(SHARED_DATA, 'deribit_ticker_greeks_example.json'), 'utf8'));
    const tk = ex.ticker;
    const t = (Date.parse(ex.expiry_utc) - tk.timestamp) / (365 * 86400e3);
    const input = { type: 'call' as const, forward: tk.underlying_price, strike: 60000, vol: tk.mark_iv / 100, t };
    const shown = deribitDisplayGreeks(input);
    // Deribit shows its Greeks to 5 decimals, computed from unrounded inputs; the ticker gives
    // mark_iv to 0.01 vol point and the underlying to 0.5 USD. A shown value is reproduced when
    // ours is within half a display unit plus what the inputs' own rounding can move it
    // (|∂G/∂σ|·0.005 vol pt + |∂G/∂F|·0.25 USD, by central differences).
    const up = (dv: number, dF: number) => deribitDisplayGreeks({ ...input, vol: input.vol + dv, forward: input.forward + dF });
    const [vUp, vDn, fUp, fDn] = [up(0.5e-4, 0), up(-0.5e-4, 0), up(0, 0.25), up(0, -0.25)];
    for (const k of ['delta', 'gamma', 'vega', 'theta', 'rho'] as const) {
      const budget = 0.5e-5 + Math.abs(vUp[k] - vDn[k]) / 2 + Math.abs(fUp[k] - fDn[k]) / 2;
      expect(Math.abs(shown[k] - tk.greeks[k]), `${k}: ours ${shown[k]} shown ${tk.greeks[k]} budget ${budget}`).toBeLessThanOrEqual(budget);
    }
    // gamma's input sensitivity is far below its display unit: it must round to the shown digits
    expect(Math.abs(vUp.gamma - vDn.gamma) + Math.abs(fUp.gamma - fDn.gamma)).toBeLessThan(1e-7);
    expect(Math.round(shown.gamma * 1e5) / 1e5).toBe(tk.greeks.gamma);
    const [coin] = priceOptions([{ ...input, settlement: 'inverse' }]);
    expect(Math.abs(coin.price - tk.mark_price)).toBeLessThan(0.0001); // the mark is shown on the 0.0001 tick
  });
});

test('spot variant: q = r reduces to Black-76 on the forward', () => {
  const [s] = blackScholesSpot([{ type: 'put', spot: 100, strike: 95, vol: 0.4, t: 0.5, rate: 0.03, carryYield: 0.03 }]);
  const [f] = priceOptions([{ type: 'put', forward: 100, strike: 95, vol: 0.4, t: 0.5, rate: 0.03 }]);
  expect(s.price).toBe(f.price);
  expect(s.delta).toBe(f.delta);
});

test('bad spot input names the element and field', () => {
  expect(() => blackScholesSpot([{ type: 'call', spot: -1, strike: 1, vol: 0.2, t: 1, rate: 0 }])).toThrow('[0].spot must be > 0, got -1');
});
