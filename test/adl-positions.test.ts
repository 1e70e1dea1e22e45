/**
 * ADL by position (src/liquidation/adl-positions.ts): the legs a plan closed, and the ranking's
 * per-position figures, against hand numbers on a table market (BTC index and perpetual 100 000).
 */
import { describe, expect, it } from 'vitest';
import { margin } from '../src/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { closedLegs, holdingsOf, positionPnl } from '../src/liquidation/adl-positions.js';
import { positionFacts } from '../src/liquidation/execution.js';
import type { AccountInput } from '../src/measures/types.js';

const market = margin.tableMarket({ valuationTime: Date.UTC(2026, 0, 27, 8), underlyings: { BTC: { spot: 100_000, perpetual: 100_000, vol: 0.5 } } });
const engine = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
const pv = new Float64Array(2);
const pnl = (instrument: string, size: number, entry?: number) => positionPnl(engine.table, positionFacts(engine.table, { instrument, size }, 0), size, entry, pv);
const account = (positions: AccountInput['positions']): AccountInput => ({ id: 'a', mode: 'cross', collateral: { USDC: 1_000_000 }, positions });

describe('ADL by position', () => {
  it('closed legs: per instrument, the net size reduced on the side held (an increase or an untouched instrument is no leg)', () => {
    const before = account([
      { instrument: 'BTC_USDC-PERPETUAL', size: 1 },
      { instrument: 'BTC-PERPETUAL', size: -50_000 },
      { instrument: 'BTC_USDC-PERPETUAL', size: 1 },
      { instrument: 'BTC-27FEB26-100000-C', size: 2 },
    ]);
    const after = account([
      { instrument: 'BTC_USDC-PERPETUAL', size: 0.5 },
      { instrument: 'BTC-PERPETUAL', size: -20_000 },
      { instrument: 'BTC-27FEB26-100000-C', size: 3 },
    ]);
    expect(closedLegs(before, after)).toEqual([
      { instrument: 'BTC_USDC-PERPETUAL', size: 1.5 },
      { instrument: 'BTC-PERPETUAL', size: -30_000 },
    ]);
  });

  it("a position's uPnL and entry notional, by hand", () => {
    // linear: short 2 entered at 110 000, F = 100 000: uPnL = −2 × (100 000 − 110 000) = 20 000, entry notional 2 × 110 000
    expect(pnl('BTC_USDC-PERPETUAL', -2, 110_000).upnl).toBeCloseTo(20_000, 6);
    expect(pnl('BTC_USDC-PERPETUAL', -2, 110_000).entryNotional).toBeCloseTo(220_000, 6);
    // inverse: short 100 000 USD of face entered at 125 000: coin P&L −100 000 × (1/125 000 − 1/100 000) = 0.2 BTC = 20 000 USD
    expect(pnl('BTC-PERPETUAL', -100_000, 125_000).upnl).toBeCloseTo(20_000, 6);
    expect(pnl('BTC-PERPETUAL', -100_000, 125_000).entryNotional).toBeCloseTo(100_000, 6);
    // entered at mark (no entry price): no P&L
    expect(Math.abs(pnl('BTC_USDC-PERPETUAL', -2).upnl)).toBe(0);
    // an option bought at half its mark: uPnL = 3 × value per unit × (1 − 1/2), its premium at entry the same
    const f = positionFacts(engine.table, { instrument: 'BTC-27FEB26-100000-C', size: 3 }, 0);
    expect(f.mark).toBeGreaterThan(0);
    expect(f.unitUsd).toBeCloseTo(f.mark * 100_000, 6); // a coin-settled option: its mark in BTC, at the index
    const o = pnl('BTC-27FEB26-100000-C', 3, f.mark / 2);
    expect(o.upnl).toBeCloseTo(1.5 * f.unitUsd, 6);
    expect(o.entryNotional).toBeCloseTo(1.5 * f.unitUsd, 6);
    expect(pnl('BTC-27FEB26-100000-C', 3).upnl).toBe(0);
  });

  it("an account's holdings: one per instrument asked for, its positions netted", () => {
    const a = account([
      { instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: 110_000 },
      { instrument: 'BTC-PERPETUAL', size: -10_000 },
      { instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: 80_000 },
    ]);
    const hs = holdingsOf(engine.table, 7, a, new Set(['BTC_USDC-PERPETUAL']), 500_000, 20_000, pv);
    expect(hs).toHaveLength(1);
    const h = hs[0];
    // −1 × (100 000 − 110 000) + −1 × (100 000 − 80 000) = 10 000 − 20 000; entry notional 110 000 + 80 000; notional 2 BTC × 100 000
    expect(h).toMatchObject({ id: '7', k: 7, size: -2, equity: 500_000, mm: 20_000 });
    expect(h.upnl).toBeCloseTo(-10_000, 6);
    expect(h.entryNotional).toBeCloseTo(190_000, 6);
    expect(h.notional).toBeCloseTo(200_000, 6);
  });
});
