/**
 * ADL by position (src/liquidation/adl-positions.ts): the legs a plan closed, and the ranking's
 * per-position figures, against hand numbers on a table market (BTC index and perpetual 100 000).
 */
import { describe, expect, it } from 'vitest';
import { margin } from '../src/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { closedLegs, HoldingsCollector, ownPosition, positionPnl, shrinkHolding } from '../src/liquidation/adl-positions.js';
import { positionFacts } from '../src/liquidation/execution.js';
import type { AccountInput } from '../src/measures/types.js';

const market = margin.tableMarket({ valuationTime: Date.UTC(2026, 0, 27, 8), underlyings: { BTC: { spot: 100_000, perpetual: 100_000, vol: 0.5 } } });
const engine = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
const pnl = (instrument: string, size: number, entry?: number) => positionPnl(engine.table, positionFacts(engine.table, { instrument, size }, 0), size, entry);
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

  it("holdings: one per account and instrument, its positions netted, in account order; a net size of 0 is none", () => {
    const figures = (k: number, out: Float64Array): void => {
      out[0] = 100_000 * k; // equity, MM of account k (USD)
      out[1] = 1_000 * k;
    };
    const c = new HoldingsCollector(engine.table, figures);
    // account 7: two shorts of the linear perpetual entered at 110 000 and 80 000, and an inverse short
    c.add(7, 'BTC_USDC-PERPETUAL', -1, 110_000);
    c.add(7, 'BTC-PERPETUAL', -10_000, undefined);
    c.add(7, 'BTC_USDC-PERPETUAL', -1, 80_000);
    // account 9: a long and a short of the same size (net 0: no holding), and a long at mark
    c.add(9, 'BTC-PERPETUAL', 5_000, 90_000);
    c.add(9, 'BTC-PERPETUAL', -5_000, 110_000);
    c.add(9, 'BTC_USDC-PERPETUAL', 3, undefined);
    const byInstrument = c.done();
    const linear = byInstrument.get('BTC_USDC-PERPETUAL')!;
    expect(linear.map((h) => h.k)).toEqual([7, 9]);
    // −1 × (100 000 − 110 000) + −1 × (100 000 − 80 000) = 10 000 − 20 000; entry notional 110 000 + 80 000; notional 2 BTC × 100 000
    expect(linear[0]).toMatchObject({ id: '7', k: 7, size: -2, equity: 700_000, mm: 7_000 });
    expect(linear[0].upnl).toBeCloseTo(-10_000, 6);
    expect(linear[0].entryNotional).toBeCloseTo(190_000, 6);
    expect(linear[0].notional).toBeCloseTo(200_000, 6);
    // at mark: no P&L, entry notional 3 × F
    expect(linear[1]).toMatchObject({ k: 9, size: 3, upnl: 0, equity: 900_000, mm: 9_000 });
    expect(linear[1].entryNotional).toBeCloseTo(300_000, 6);
    // the inverse perpetual: account 7's short of 10 000 USD of face (0.1 BTC at the index); account 9 nets to 0
    const inverse = byInstrument.get('BTC-PERPETUAL')!;
    expect(inverse.map((h) => h.k)).toEqual([7]);
    expect(inverse[0].notional).toBeCloseTo(10_000, 6);
  });

  it("isolated positions: each a holding of its own, on its own equity and MM (× usd), ranked among its account's positions in the instrument", () => {
    const figures = (k: number, out: Float64Array): void => {
      out[0] = 100_000 * k;
      out[1] = 1_000 * k;
    };
    const c = new HoldingsCollector(engine.table, figures, 2);
    const own = (equity: number, mm: number): Float64Array => Float64Array.of(equity, mm);
    // account 4, isolated: two shorts of the linear perpetual (entered at 110 000, and at mark), a closed inverse one (no holding)
    c.add(4, 'BTC_USDC-PERPETUAL', -1, 110_000, own(50_000, 2_000));
    c.add(4, 'BTC-PERPETUAL', 0, undefined, own(1, 1));
    c.add(4, 'BTC_USDC-PERPETUAL', -2, undefined, own(30_000, 4_000));
    // account 5, cross: its net holding on the account's figures
    c.add(5, 'BTC_USDC-PERPETUAL', 1, undefined, null);
    const linear = c.done().get('BTC_USDC-PERPETUAL')!;
    expect(linear.map((h) => h.id)).toEqual(['4/0', '4/1', '5']);
    // own figures times usd (2): 100 000 and 4 000; uPnL −1 × (100 000 − 110 000); notional 1 BTC × 100 000
    expect(linear[0]).toMatchObject({ k: 4, own: 0, size: -1, equity: 100_000, mm: 4_000 });
    expect(linear[0].upnl).toBeCloseTo(10_000, 6);
    expect(linear[0].notional).toBeCloseTo(100_000, 6);
    expect(linear[1]).toMatchObject({ k: 4, own: 1, size: -2, equity: 60_000, mm: 8_000 });
    expect(Math.abs(linear[1].upnl)).toBe(0); // at mark (−0: a short's)
    expect(linear[2]).toMatchObject({ k: 5, own: -1, size: 1, equity: 1_000_000, mm: 10_000 });
    expect(c.done().get('BTC-PERPETUAL')).toBeUndefined();
    // the rank names the position in the account: its own-th open position in the instrument
    const a = account([
      { instrument: 'BTC_USDC-PERPETUAL', size: -1 },
      { instrument: 'BTC-PERPETUAL', size: -10_000 },
      { instrument: 'BTC_USDC-PERPETUAL', size: 0 },
      { instrument: 'BTC_USDC-PERPETUAL', size: -2 },
    ]);
    expect([0, 1, 2].map((r) => ownPosition(a, 'BTC_USDC-PERPETUAL', r))).toEqual([0, 3, -1]);
    // an ADL fill closes 4/0 whole: the account drops it, and 4/1 is now its first open position in the instrument
    shrinkHolding(linear[0], 0, linear);
    expect(linear.map((h) => [h.id, h.own, h.notional])).toEqual([['4/0', 0, 0], ['4/1', 0, linear[1].notional], ['5', -1, linear[2].notional]]);
    expect(ownPosition({ ...a, positions: a.positions.slice(1) }, 'BTC_USDC-PERPETUAL', linear[1].own)).toBe(2);
    // a partial fill keeps the rank
    shrinkHolding(linear[1], 0.5, linear);
    expect(linear[1]).toMatchObject({ own: 0, size: -1, equity: 60_000 });
  });
});
