/**
 * Plans of isolated accounts (src/liquidation/plan-isolated.ts): each position is liquidated on
 * its own collateral, whatever the account's balances; a step's cash and fee go to the position's
 * own collateral; a position closed whole returns it to the balances — unless it is worth less
 * than nothing: then it is forfeited and its negative value is the plan's isolatedDeficit, never
 * charged to the account, which the simulator's shortfall desk charges to the fund (the trader's
 * balances end where they were; only what no one recovers comes back to them). Numbers by hand: the same trades as the cross-account hand check of
 * test/liquidation-plan.test.ts (1 BTC linear perpetual entered at 100 000, mark 99 000, index
 * 100 000; Deribit's 2024.1 futures MM = notional at mark × (0.02 + 5e-5 × size/100 coin)).
 */
import { describe, expect, it } from 'vitest';
import { liquidation } from '../src/index.js';
import type { AccountInput } from '../src/api/margin.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { loadModel } from '../src/measures/models.js';
import { hashed } from '../src/liquidation/paths.js';
import { roundPlan } from '../src/liquidation/plan-round.js';
import { loadMechanism } from '../src/liquidation/mechanism.js';
import { validateAccount } from '../src/instruments/account.js';
import { handMech, perpMm, perpStd, twoIsolated } from './hand-mechanism.js';

const std = perpStd;
const mmOf = perpMm;

describe('isolated accounts: each position liquidated on its own collateral', () => {
  // A (position 1): the hand check's position, its own 2 500 USDC (own equity 1 500); B (position 0): healthy; the account's
  // own 1 000 000 USDC. Account-level equity ≫ Σ MM: a plan on the account's figures did nothing.
  const a = twoIsolated;

  it('the short position alone: five steps of 0.1 BTC at 98 505, fee 10, booked to its own collateral; the balances untouched', () => {
    const p = liquidation.planLiquidation(std, a, { mechanism: handMech });
    // before: equity 1 000 000 + (5 000 + 0) + (2 500 − 1 000) = 1 006 500; A's own gap 1 500 − 1.1 × mmOf(1) < 0
    expect(p.before.equity).toBeCloseTo(1_006_500, 8);
    expect(p.before.health).toBe('liquidatable');
    expect(p.before.gap).toBeCloseTo(1500 - 1.1 * mmOf(1), 8);
    expect(p.steps.length).toBe(5);
    p.steps.forEach((s, j) => {
      if (s.type !== 'close') throw new Error('close steps expected');
      expect(s.position).toBe(1);
      expect(s.size).toBeCloseTo(-0.1, 12);
      expect(s.price).toBeCloseTo(98_505, 8);
      expect(s.fee).toBeCloseTo(10, 10);
      // the account's figures: equity falls by 149.5 + 10 − (the mark value 0.1 × 99 000 − 0.1 × 100 000 = −100 it no longer carries) = 59.5 a step
      expect(s.equity).toBeCloseTo(1_006_500 - 59.5 * (j + 1), 8);
      expect(s.maintenanceMargin).toBeCloseTo(mmOf(0.1) + mmOf(1 - 0.1 * (j + 1)), 8);
    });
    expect(p.steps[3].gap).toBeCloseTo(1500 - 4 * 59.5 - 1.1 * mmOf(0.6), 8);
    expect(p.steps[4].gap).toBe(0);
    expect(p.restored).toBe(true);
    expect(p.totals.isolatedDeficit).toBe(0);
    expect(p.after.account).toEqual({
      id: 'iso',
      mode: 'isolated',
      collateral: { USDC: 1_000_000 },
      positions: [
        a.positions[0],
        { instrument: 'BTC_USDC-PERPETUAL', size: expect.closeTo(0.5, 12), entryPrice: 100_000, collateral: { USDC: expect.closeTo(2500 - 5 * 149.5 - 5 * 10, 8) } },
      ],
    });
    // re-margined: its own equity 2 500 − 5 × 149.5 − 5 × 10 = 1 702.5 of collateral, − 500 of P&L on 0.5 BTC = 1 202.5 (the cross hand check's)
    expect(p.after.margin.equity).toBeCloseTo(1_000_000 + 5_000 + 1_202.5, 8);
    // above MM × 1.1 (the target), below its IM 49 500 × (0.04 + 5e-5 × 0.5/100) ≈ 1 980: a margin call, its worst position's
    expect(p.after.margin.health).toBe('margin call');
  });

  it('closed whole below its own margin: its collateral forfeited, the loss beyond it the isolated deficit, the balances untouched', () => {
    // own 500 USDC: own equity −500 (bankrupt); each step releases 0.1 × 1.1 × MM ≈ 218 > its cost 59.5, so all ten are taken;
    // its own collateral after: 500 − 10 × 149.5 − 10 × 10 = −1 095
    const b: AccountInput = { id: 'deficit', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000, collateral: { USDC: 500 } }] };
    const p = liquidation.planLiquidation(std, b, { mechanism: handMech });
    expect(p.before.health).toBe('bankrupt');
    expect(p.steps.length).toBe(10);
    expect(p.steps[8].gap).toBeCloseTo(-500 - 9 * 59.5 - 1.1 * mmOf(0.1), 8);
    expect(p.steps[9].gap).toBe(0);
    expect(p.totals.isolatedDeficit).toBeCloseTo(1095, 8);
    expect(p.after.account).toEqual({ id: 'deficit', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [] });
    expect(p.after.margin.equity).toBe(10_000);
    expect(p.restored).toBe(true);
    // the round plan (trail, what a simulation books) agrees
    const engine = std as unknown as MarginEngine;
    const r = roundPlan(engine, validateAccount(b), loadMechanism(handMech), {})!;
    expect(r.totals.isolatedDeficit).toBe(p.totals.isolatedDeficit);
    expect(r.account).toEqual(p.after.account);
    expect(r.totals.steps).toBe(10);
  });

  it('a bankrupt position is closed whole even when no step improves it (the trader loses its margin, no more)', () => {
    // fixed-price-5pct: 0.1 BTC at 99 000 × 0.95 = 94 050 realises 0.1 × (94 050 − 100 000) = −595, fee 1 % of 0.1 × 100 000 = 100:
    // each step costs more than the MM it releases (the cross hand check: no step), but the position's own equity is
    // 500 − 1 000 = −500: all ten steps are taken, its own collateral ends at 500 − 10 × 695 = −6 450, forfeited
    const b: AccountInput = { id: 'bust', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000, collateral: { USDC: 500 } }] };
    const p = liquidation.planLiquidation(std, b, { mechanism: 'fixed-price-5pct' });
    expect(p.steps.length).toBe(10);
    for (const s of p.steps) if (s.type === 'close') expect(s.price).toBeCloseTo(94_050, 8);
    expect(p.totals.isolatedDeficit).toBeCloseTo(6_450, 8);
    expect(p.after.account).toEqual({ id: 'bust', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [] });
    // the closing step's account figures: the forfeited collateral no longer counts
    expect(p.steps[9].equity).toBe(10_000);
    // a healthy isolated position beside it under the same mechanism is left alone (its steps do not improve, it is not bankrupt)
    const c = liquidation.planLiquidation(std, { ...b, positions: [{ ...b.positions[0], collateral: { USDC: 2_500 } }] }, { mechanism: 'fixed-price-5pct' });
    expect(c.steps.length).toBe(0);
    expect(c.reason).toMatch(/no closing step improves/);
  });

  it('a trail plan equals the stepwise plan on a two-position account', () => {
    const engine = std as unknown as MarginEngine;
    const p = liquidation.planLiquidation(std, a, { mechanism: handMech });
    const r = roundPlan(engine, validateAccount(a), loadMechanism(handMech), {})!;
    expect(r.account).toEqual(p.after.account);
    expect(r.totals).toEqual(p.totals);
    expect(r.flowNotional).toEqual(p.steps.map((s) => s.notionalUsd));
  });
});

describe('isolated accounts in the simulator', () => {
  const m = resolveMarket(defaultMarket());
  const spot = m.spot('BTC');
  // 1 BTC long entered 50 % above the index with 1 000 USDC of its own: its own equity ≈ 1 000 − 0.5 × spot (bankrupt);
  // the account's own 200 000 USDC keep its equity positive (before session 21 it was never planned: equity > Σ MM).
  // The inverse one: 50 000 USD of BTC-PERPETUAL entered 50 % above the index with 0.01 BTC of its own, 1 BTC of the
  // account's: its deficit is in BTC, the fund's cover must not turn into a USDC line. Its last steps improve nothing
  // (its own BTC debt grows riskier as the perpetual shrinks): a bankrupt position is closed whole all the same.
  const accounts = [
    { id: 'iso', mode: 'isolated' as const, collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: Math.round(spot * 1.5), collateral: { USDC: 1_000 } }] },
    { id: 'iso-inverse', mode: 'isolated' as const, collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 50_000, entryPrice: Math.round(spot * 1.5), collateral: { BTC: 0.01 } }] },
  ];

  it("a bankrupt isolated position is liquidated though the account's balances cover it; the fund pays its deficit, the balances end where they were", async () => {
    const sim = await Simulation.create({ accounts, market: m, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', insuranceFundUsd: 1e6 });
    try {
      const engine = new MarginEngine({ market: hashed(m), model: loadModel('deribit-pm-2024.1') });
      const before = accounts.map((a) => {
        const r = engine.margin(a);
        if (!r.ok) throw new Error(r.error.message);
        expect(r.health).toBe('bankrupt');
        expect(r.equity).toBeGreaterThan(0);
        return r.equity;
      });
      const r = await sim.step(m, 'same market');
      expect(r.liquidatedAccounts).toEqual([0, 1]);
      expect(r.bankrupt).toBe(2);
      // each one's deficit: its own collateral's value after the close, negative: −(own equity before − fees − liquidator gain),
      // the own equity before = the account's equity − its balances' value; the fund pays it, the balances are never touched
      expect(sim.account(0)).toEqual({ ...accounts[0], positions: [] });
      expect(sim.account(1)).toEqual({ ...accounts[1], positions: [] });
      const balances = 200_000 + 1 * spot;
      expect(r.badDebt).toBeCloseTo(balances - (before[0] + before[1]) + r.fees + r.liquidatorGain, 6);
      expect(r.insuranceCovered).toBeCloseTo(r.badDebt, 9);
      expect(sim.insuranceFundUsd).toBeCloseTo(1e6 - r.badDebt + r.fees, 6);
      expect(sim.totalEquity).toBeCloseTo(balances, 6);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-9);
    } finally {
      await sim.close();
    }
  });

  it('with no fund and no winner, what no one recovers comes back to the account (the ledger stays closed)', async () => {
    const sim = await Simulation.create({ accounts: [accounts[0]], market: m, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', insuranceFundUsd: 0 });
    try {
      const r = await sim.step(m, 'same market');
      // the fund holds the plan's fees only: it covers them; no winner to socialise on; the rest is unrecovered
      expect(r.insuranceCovered).toBeCloseTo(r.fees, 9);
      expect(r.socialised).toBe(0);
      expect(r.unrecovered).toBeCloseTo(r.badDebt - r.fees, 6);
      expect(sim.account(0).collateral.USDC).toBeCloseTo(200_000 - r.unrecovered, 6);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-9);
    } finally {
      await sim.close();
    }
  });
});
