/**
 * The ScenarioSet seam: an explicit (historical / Monte Carlo / stress) set revalues through the
 * same Revaluation and aggregation as the margin grids; values checked against Black-76 by hand.
 */
import { describe, expect, test } from 'vitest';
import {
  AccountResolver,
  InstrumentTable,
  PortfolioPnl,
  Revaluation,
  explicitScenarioSet,
  loadModel,
  tableMarket,
} from '../src/api/margin.js';
import { black76Reference } from '../src/pricing/reference.js';

const T0 = Date.UTC(2026, 0, 27, 8);
const E30 = T0 + 30 * 86_400_000;
const market = tableMarket({
  valuationTime: T0,
  underlyings: { BTC: { spot: 100_000, vol: 0.5, expiries: [{ expiry: E30, forward: 100_400, vol: 0.5 }] }, ETH: { spot: 3_000, vol: 0.7 } },
});

describe('explicit scenario sets', () => {
  const set = explicitScenarioSet({
    id: 'hist-test',
    underlyings: { BTC: { moves: [-0.1, 0, 0.05], volChanges: [0.2, 0, -0.1] }, ETH: { moves: [-0.2, 0.01, 0.03] } },
    labels: ['2026-02-05', '2026-02-06', '2026-02-07'],
  });

  test('an inverse put revalued under each scenario equals Black-76 on the moved forward and scaled vol', () => {
    const table = new InstrumentTable(market);
    const rev = new Revaluation(table, set);
    const i = table.indexOf('BTC-26FEB26-100000-P');
    rev.sync();
    const t = 30 / 365;
    const F = 100_400;
    const v0 = (black76Reference(true, F, 100_000, 0.5, t, 0, false).price / F) * 100_000;
    [
      [-0.1, 1.2],
      [0, 1],
      [0.05, 0.9],
    ].forEach(([m, ratio], s) => {
      const F1 = F * (1 + m);
      const v1 = (black76Reference(true, F1, 100_000, 0.5 * ratio, t, 0, false).price / F1) * 100_000 * (1 + m);
      expect(rev.values[i * 3 + s]).toBeCloseTo(v1 - v0, 6);
    });
    expect(rev.scenariosOf(0).info.map((x) => x.label)).toEqual(['2026-02-05', '2026-02-06', '2026-02-07']);
  });

  test('an account P&L vector per underlying: positions × values plus coin collateral', () => {
    const table = new InstrumentTable(market);
    const rev = new Revaluation(table, set);
    const resolver = new AccountResolver(table, market, loadModel('deribit-pm').params.collateral, 'deribit-pm');
    const r = resolver.resolve({ id: 'a', mode: 'portfolio', collateral: { BTC: 2, ETH: 10, USDC: 1000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10_000 }] });
    const v = new PortfolioPnl(table, rev).of(r, 0, r.n, r.collateral, r.collateralValue);
    expect(v.slots.map((s) => table.underlyings[s])).toEqual(['BTC', 'ETH']);
    // BTC: 2 coin + the inverse perpetual's entry leg (10,000 USD / 100,000 = 0.1 coin) move with the index; the −S/F leg is flat
    [-0.1, 0, 0.05].forEach((m, s) => expect(v.pnl[s]).toBeCloseTo((2 + 0.1) * 100_000 * m, 6));
    [-0.2, 0.01, 0.03].forEach((m, s) => expect(v.pnl[3 + s]).toBeCloseTo(10 * 3_000 * m, 8));
  });

  test('bad input names the field', () => {
    expect(() => explicitScenarioSet({ id: 'x', underlyings: { BTC: { moves: [0.1, -1.5] } } })).toThrow(/underlyings\.BTC\.moves\[1\] must be a finite move > -1, got -1\.5/);
    expect(() => explicitScenarioSet({ id: 'x', underlyings: { BTC: { moves: [0.1] }, ETH: { moves: [0.1, 0.2] } } })).toThrow(/underlyings\.ETH\.moves must hold 1 scenarios, got 2/);
    expect(() => set.forUnderlying('SOL', 100)).toThrow(/has no scenarios for underlying "SOL"/);
  });
});
