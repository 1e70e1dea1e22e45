/**
 * Deribit's portfolio-margin fallback, the delta hedge in the perpetual (src/liquidation/plan-hedge.ts,
 * presets/liquidation/deribit-pm-incremental.json 1.1.0), against hand numbers on a table market
 * (BTC index and perpetual 100 000): the hedge's size, price, fee and booking from the preset's
 * formulas (square-root impact 1 × 3 % × sqrt(N / 2e9), fee 0.5 % of notional, steps of 10 % of the
 * delta), the plan's end, the simulator's flow, and the mechanism's checks.
 */
import { describe, expect, it } from 'vitest';
import { liquidation, margin } from '../src/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { formatPlan } from '../src/cli/liquidate-run.js';
import { validateMechanism, loadMechanism } from '../src/liquidation/mechanism.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import type { AccountInput } from '../src/measures/types.js';

const S = 100_000;
const market = margin.tableMarket({ valuationTime: Date.UTC(2026, 0, 27, 8), underlyings: { BTC: { spot: S, perpetual: S, vol: 0.5 } } });
const engine = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
/** A coin debt and no position: 0.5 BTC owed, `usdc` held. */
const debt = (usdc: number): AccountInput => ({ id: 'debt', mode: 'cross', collateral: { USDC: usdc, BTC: -0.5 }, positions: [] });

/** Hedge j (from 1) of 0.05 BTC = 5 000 USD of BTC-PERPETUAL's face, by hand: its price, and the USD its slippage and fee cost. */
function handHedge(j: number): { price: number; cost: number } {
  const price = S * (1 + 0.03 * Math.sqrt((5_000 * j) / 2e9));
  // the account buys 5 000 USD of face at price: coin booked 5 000 × (1/price − 1/S), worth × S; fee 0.5 % × 5 000
  return { price, cost: -5_000 * (S / price - 1) + 25 };
}

describe('liquidation plan: the delta hedge of a portfolio-margin account (Deribit, 1 August 2023)', () => {
  it('a coin debt with no position is hedged in BTC-PERPETUAL, 0.05 BTC a step, until the MM is covered: prices, fees and balances by hand', () => {
    const a = debt(55_000);
    const before = engine.margin(a);
    if (!before.ok) throw new Error(before.error.message);
    // equity 55 000 − 0.5 S = 5 000; the MM is the grid's loss on a short 0.5 BTC: linear in the net delta, m per BTC
    expect(before.equity).toBeCloseTo(5_000, 9);
    const m = before.maintenanceMargin / 0.5;
    expect(m).toBeGreaterThan(10_000); // the account is below MM: 5 000 < MM
    const p = liquidation.planLiquidation(engine, a, { mechanism: 'deribit-pm-incremental' });
    // by hand: after j hedges equity 5 000 − Σ cost, net delta −0.5 + 0.05 j − Σ fee coin (25 / S a hedge, plus the slippage's coin):
    // the gap equity − m × |delta| turns ≥ 0 at j = 3 (≈ −788, −177, +434)
    let equity = 5_000;
    let coin = -0.5;
    const steps = p.steps.filter(liquidation.isTrade);
    expect(steps.length).toBe(p.steps.length);
    steps.forEach((s, i) => {
      const h = handHedge(i + 1);
      expect(s).toMatchObject({ step: i + 1, type: 'hedge', position: 0, instrument: 'BTC-PERPETUAL', markPrice: S });
      expect(s.size).toBeCloseTo(5_000, 9);
      expect(s.price).toBeCloseTo(h.price, 8);
      expect(s.notionalUsd).toBeCloseTo(5_000, 9);
      expect(s.fee).toBeCloseTo(25, 9);
      expect(s.liquidatorGain).toBeCloseTo(h.cost - 25, 9);
      equity -= h.cost;
      coin += 0.05 + (5_000 * (1 / h.price - 1 / S) - 25 / S);
      expect(s.equity).toBeCloseTo(equity, 6);
      expect(s.maintenanceMargin).toBeCloseTo(m * Math.abs(coin), 4);
    });
    expect(p.steps.length).toBe(3);
    expect(p.restored).toBe(true);
    expect(p.steps[1].gap).toBeLessThan(0);
    expect(p.steps[2].gap).toBeGreaterThan(0);
    // the hedge is one position entered at mark, its cost in the BTC balance
    expect(p.after.account.positions).toEqual([{ instrument: 'BTC-PERPETUAL', size: 15_000, entryPrice: S }]);
    expect(p.after.account.collateral.USDC).toBe(55_000);
    expect(p.after.account.collateral.BTC).toBeCloseTo(coin - 0.15, 12);
    expect(p.after.margin.equity).toBeCloseTo(equity, 6);
    expect(p.totals).toMatchObject({ steps: 3 });
    expect(p.totals.fees).toBeCloseTo(75, 9);
    expect(formatPlan(p)).toMatch(/ {2}1 {2}hedge BTC-PERPETUAL trade 5000/);
  });

  it('a bankrupt coin debt is hedged to (nearly) no delta and stops: the last step the rest, what its fees add (< 1 % of a step) left', () => {
    const p = liquidation.planLiquidation(engine, debt(40_000), { mechanism: 'deribit-pm-incremental' });
    expect(p.restored).toBe(false);
    expect(p.reason).toBe('no closing or hedging step improves the target');
    // ten steps of 0.05 BTC, then the fees' coin (10 × 25 / S and the slippage: ≈ 0.00255 BTC ≥ 1 % of 0.05) in one step
    expect(p.steps.length).toBe(11);
    let fees = 0;
    for (let j = 1; j <= 10; j++) fees += handHedge(j).cost / S;
    const steps = p.steps.filter(liquidation.isTrade);
    expect(steps[10].size / S).toBeCloseTo(fees, 9);
    for (let j = 1; j < steps.length; j++) expect(steps[j].maintenanceMargin).toBeLessThan(steps[j - 1].maintenanceMargin);
  });

  it('deribit-incremental (no hedge) leaves the coin debt as it was; deribit-pm-incremental 1.0 semantics otherwise: a plan that closes enough never hedges', () => {
    const p = liquidation.planLiquidation(engine, debt(55_000), { mechanism: 'deribit-incremental' });
    expect(p.steps).toEqual([]);
    expect(p.restored).toBe(false);
    const long: AccountInput = { id: 'f', mode: 'cross', collateral: { USDC: 1_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: S }] };
    const q = liquidation.planLiquidation(engine, long, { mechanism: 'deribit-pm-incremental' });
    expect(q.restored).toBe(true);
    expect(q.steps.every((s) => s.type === 'close')).toBe(true);
  });

  it('in a simulation the hedge is the liquidation: one account, its flow buys BTC (the impact lifts the index), the ledger closed', async () => {
    const path = shocksPath(market, { steps: [{ moves: { BTC: 0 } }] });
    const sims = await Promise.all(
      ['deribit-pm-incremental', 'deribit-incremental'].map((mechanism) =>
        Simulation.create({ accounts: [debt(55_000)], market, model: 'deribit-pm-2024.1', mechanism, threads: 1, insuranceFundUsd: 0 }),
      ),
    );
    try {
      const [r, none] = await Promise.all(sims.map((sim) => sim.step(path.steps[0].market, path.steps[0].label)));
      expect(r.liquidated).toBe(1);
      expect(r.volumeUsd).toBeCloseTo(15_000, 6);
      expect(r.fees).toBeCloseTo(75, 6);
      expect(r.impact.BTC).toBeGreaterThan(0);
      expect(sims[0].account(0).positions).toEqual([{ instrument: 'BTC-PERPETUAL', size: 15_000, entryPrice: S }]);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
      expect(none.liquidated).toBe(0);
      expect(sims[1].account(0)).toEqual(debt(55_000));
    } finally {
      await Promise.all(sims.map((s) => s.close()));
    }
  });

  it('plan.hedge: named with {U}, fixed-price only, not with funds per product line', () => {
    const base = JSON.parse(JSON.stringify(loadMechanism('deribit-pm-incremental'))) as Record<string, any>;
    expect(base.plan.hedge).toEqual({ instrument: '{U}-PERPETUAL' });
    expect(() => validateMechanism({ ...base, plan: { ...base.plan, hedge: { instrument: 'BTC-PERPETUAL' } } })).toThrow(/plan\.hedge\.instrument must name the underlying as \{U\}.*"BTC-PERPETUAL"/);
    expect(() => validateMechanism({ ...base, insuranceFund: { initialUsd: 0, pools: 'product-line' } })).toThrow(/plan\.hedge cannot go with insuranceFund\.pools "product-line"/);
    const auction = JSON.parse(JSON.stringify(loadMechanism('lyra-mainnet'))) as Record<string, any>;
    expect(() => validateMechanism({ ...auction, plan: { ...base.plan } })).toThrow(/plan\.hedge is for fixed-price mechanisms/);
  });
});
