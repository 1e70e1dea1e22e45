/**
 * Lyra's Dutch auction on isolated accounts (src/liquidation/auction-plan.ts): each position below
 * its own MM is auctioned as its sub-account — the position and its own collateral —, never the
 * account's balances nor its other positions. Numbers by hand on the cross hand check's position
 * (test/liquidation-plan.test.ts: 1 BTC linear perpetual entered at 100 000, mark 99 000, index
 * 100 000; Deribit's 2024.1 futures MM = notional at mark × (0.02 + 5e-5 × size/100 coin)) and
 * Lyra's formulas (liquidation.dutchAuction, checked against v2-core's tests in
 * test/liquidation-dutch.test.ts).
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
import { validateAccount } from '../src/instruments/account.js';
import { formatPlan } from '../src/cli/liquidate-run.js';
import { perpMm, perpStd, twoIsolated } from './hand-mechanism.js';

const std = perpStd;
const mmOf = perpMm;
const mainnet = liquidation.loadMechanism('lyra-mainnet');
if (mainnet.mechanism !== 'dutch-auction') throw new Error('auction expected');
const da = liquidation.dutchAuction(mainnet.auction);

describe('Dutch auction on an isolated account: the position below its own MM, on its own collateral', () => {
  // twoIsolated: position 1 (1 BTC long, own equity 1 500) below its own MM 1 980.05, position 0 healthy. The account's
  // figures (equity 1 006 500 ≫ Σ MM) start no auction on the whole portfolio: before, nothing was auctioned.
  const a = twoIsolated;
  // Lyra's state of position 1's sub-account: mm = equity − MM, MtM = equity; the start fee, then the max proportion at t = 0
  const state = { mm: 1_500 - mmOf(1), mtm: 1_500 };
  const fee = da.liquidationFee(state);
  const afterFee = { mm: state.mm - fee, mtm: state.mtm - fee };
  const f = da.maxProportion(afterFee, 0);
  const cash = da.bidPrice(afterFee, 0) * f;

  it('one solvent auction of position 1 alone: fee, max proportion and bid by hand; the balances and position 0 untouched', () => {
    const p = liquidation.planLiquidation(std, a, { mechanism: 'lyra-mainnet', auctionTime: 0 });
    expect(p.before.equity).toBeCloseTo(1_006_500, 8);
    expect(p.steps.map((s) => [s.type, s.type === 'close' ? -1 : s.position])).toEqual([['auction-start', 1], ['auction-bid', 1]]);
    const [start, bid] = p.steps;
    if (liquidation.isTrade(start) || liquidation.isTrade(bid)) throw new Error('auction steps expected');
    expect(start.fee).toBeCloseTo(fee, 9);
    expect(start.equity).toBeCloseTo(1_006_500 - fee, 8);
    expect(f).toBeGreaterThan(0.1);
    expect(f).toBeLessThan(1);
    expect(bid.percent).toBeCloseTo(f, 12);
    expect(bid.cashFromBidder).toBeCloseTo(cash, 9);
    // the balances (1 000 000 USDC) and position 0 as they were; position 1 scaled by 1 − f, its own collateral too, plus the bid
    const left = { ...a.positions[1], size: expect.closeTo(1 - f, 12), collateral: { USDC: expect.closeTo((2_500 - fee) * (1 - f) + cash, 8) } };
    expect(p.after.account).toEqual({ ...a, positions: [a.positions[0], left] });
    // the bid's figures are the account's: re-margining the account after gives them
    expect(bid.equity).toBeCloseTo(p.after.margin.equity, 8);
    expect(bid.maintenanceMargin).toBeCloseTo(p.after.margin.maintenanceMargin, 8);
    // position 1's own buffer margin back to ~0 (its MM is nearly linear in size), so the plan's gap (Σ own gaps) is ~0
    // its own equity: its collateral after, plus the P&L of what is left, (1 − f) × (99 000 − 100 000)
    const ownEquity = (2_500 - fee) * (1 - f) + cash - 1_000 * (1 - f);
    expect(Math.abs(ownEquity - mmOf(1 - f) * (1 + mainnet.auction.bufferMarginPercentage))).toBeLessThan(0.05);
    expect(p.totals.isolatedDeficit).toBe(0);
    // `optmargin liquidate` names the position auctioned
    const text = formatPlan(p);
    expect(text).toMatch(/^ {2}1 {2}solvent auction of position 1 starts/m);
    expect(text).toMatch(/^ {2}2 {2}bid \d+\.\d{4}% of position 1 at t=0s/m);
  });

  it('the same auction as the cross plan of the position with its own collateral', () => {
    const cross: AccountInput = { id: 'p', mode: 'cross', collateral: { USDC: 2_500 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000 }] };
    const c = liquidation.planLiquidation(std, cross, { mechanism: 'lyra-mainnet', auctionTime: 0 });
    const p = liquidation.planLiquidation(std, a, { mechanism: 'lyra-mainnet', auctionTime: 0 });
    expect(p.steps.map((s) => liquidation.isTrade(s) ? 0 : s.percent)).toEqual(c.steps.map((s) => liquidation.isTrade(s) ? 0 : s.percent));
    expect(p.totals.liquidatorGain).toBe(c.totals.liquidatorGain);
    expect(p.totals.fees).toBe(c.totals.fees);
  });

  it("a round plan's flow is position 1's share taken, nothing of position 0", () => {
    const r = roundPlan(std as unknown as MarginEngine, validateAccount(a), mainnet, {}, 1e9)!;
    expect(r.flowU).toEqual(['BTC']);
    // |f BTC| at the index 100 000; the bidder takes the long: its coin delta +f, the liquidators' flow (what they sell) −f
    expect(r.flowNotional[0]).toBeCloseTo(f * 100_000, 6);
    expect(r.flowCoin[0]).toBeCloseTo(-f, 12);
    expect(r.account).toEqual(liquidation.planLiquidation(std, a, { mechanism: 'lyra-mainnet' }).after.account);
  });

  it('an insolvent position: taken whole, the security module pays its bidder, its own collateral goes with it; no isolated deficit', () => {
    // own 500 USDC: own equity −500; Lyra's insolvent price at 300 s of 600 is MtM + (mm − MtM) × ½ (the cross plan's test)
    const b: AccountInput = { id: 'bust', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000, collateral: { USDC: 500 } }] };
    const p = liquidation.planLiquidation(std, b, { mechanism: 'lyra-test-defaults', auctionTime: 300, securityModuleBalance: 1e6 });
    const bid = p.steps.find((s) => s.type === 'auction-bid');
    if (!bid || bid.type !== 'auction-bid') throw new Error('bid expected');
    expect(bid.position).toBe(0);
    expect(bid.insolvent).toBe(true);
    expect(bid.percent).toBe(1);
    const eq = -500;
    expect(bid.cashToBidder).toBeCloseTo(-(eq + (eq - mmOf(1) - eq) * 0.5), 8);
    expect(bid.securityModulePaid).toBeCloseTo(bid.cashToBidder, 8);
    expect(p.after.account).toEqual({ id: 'bust', mode: 'isolated', collateral: { USDC: 10_000 }, positions: [] });
    expect(p.after.margin.equity).toBe(10_000);
    expect(bid.equity).toBeCloseTo(10_000, 9);
    expect(p.totals.isolatedDeficit).toBe(0);
    expect(p.restored).toBe(true);
  });

  it('no position below its own MM: no auction, whatever the account-level figures say', () => {
    // the balances owe 20 000: the account is bankrupt (equity 5 000 − 1 000 − 20 000 < 0), its position is not (own equity 4 000 > MM)
    const c: AccountInput = { id: 'owes', mode: 'isolated', collateral: { USDC: -20_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000, collateral: { USDC: 5_000 } }] };
    const p = liquidation.planLiquidation(std, c, { mechanism: 'lyra-mainnet' });
    expect(p.before.health).toBe('bankrupt');
    expect(p.steps).toEqual([]);
    expect(p.reason).toMatch(/no position is below its own maintenance margin.*owe more/);
    expect(p.after.account).toEqual(c);
  });
});

describe('Dutch auction on isolated accounts in the simulator', () => {
  const m = resolveMarket(defaultMarket());
  const spot = m.spot('BTC');
  // 1 BTC long entered 50 % above the index with 1 000 USDC of its own (bankrupt on its own); the account's 200 000 USDC
  const accounts = [
    { id: 'iso', mode: 'isolated' as const, collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: Math.round(spot * 1.5), collateral: { USDC: 1_000 } }] },
  ];

  it('the insolvent position is taken at t = 0 for its MtM, paid by the fund (the security module); the balances end where they were', async () => {
    const sim = await Simulation.create({ accounts, market: m, model: 'deribit-pm-2024.1', mechanism: 'lyra-mainnet', insuranceFundUsd: 1e6 });
    try {
      // the position's own equity, margined as a one-position cross account on its own collateral (negative)
      const engine = new MarginEngine({ market: hashed(m), model: loadModel('deribit-pm-2024.1') });
      const sub = engine.margin({ id: 'sub', mode: 'cross', collateral: { USDC: 1_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: Math.round(spot * 1.5) }] });
      if (!sub.ok) throw new Error(sub.error.message);
      expect(sub.equity).toBeLessThan(0);
      const r = await sim.step(m, 'same market');
      expect(r.liquidatedAccounts).toEqual([0]);
      expect(sim.account(0)).toEqual({ ...accounts[0], positions: [] });
      expect(sim.totalEquity).toBeCloseTo(200_000, 6);
      // at t = 0 Lyra's insolvent bid price is the MtM: the bidder receives −MtM from the security module and gains nothing
      expect(sim.insuranceFundUsd).toBeCloseTo(1e6 + sub.equity, 6);
      expect(r.liquidatorGain).toBeCloseTo(0, 6);
      // the payout is the account's bad debt, all of it covered by the fund; the account is counted bankrupt once
      expect(r.badDebt).toBeCloseTo(-sub.equity, 6);
      expect(r.insuranceCovered).toBeCloseTo(-sub.equity, 6);
      expect(r.bankrupt).toBe(1);
      // the payout is that account's bad debt
      expect(r.bankruptAccounts.map((b) => b.account)).toEqual([0]);
      expect(r.bankruptAccounts[0].badDebt).toBeCloseTo(-sub.equity, 6);
      expect(r.bankruptAccounts[0].insuranceCovered).toBeCloseTo(-sub.equity, 6);
      expect(r.socialised).toBe(0);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-9);
    } finally {
      await sim.close();
    }
  });

  it('with no fund and no winner, the payout is bad debt the fund does not cover: Lyra prints it (the ledger stays closed)', async () => {
    const sim = await Simulation.create({ accounts, market: m, model: 'deribit-pm-2024.1', mechanism: 'lyra-mainnet', insuranceFundUsd: 0 });
    try {
      const r = await sim.step(m, 'same market');
      expect(r.liquidatedAccounts).toEqual([0]);
      expect(r.badDebt).toBeGreaterThan(0);
      expect(r.insuranceCovered).toBe(0);
      expect(r.socialised + r.printed).toBeCloseTo(r.badDebt, 6);
      expect(r.printed).toBeCloseTo(r.badDebt, 6);
      // the account's payout, printed whole: no fund, no winner
      expect(r.bankruptAccounts.map((b) => b.account)).toEqual([0]);
      expect(r.bankruptAccounts[0].printed).toBeCloseTo(r.bankruptAccounts[0].badDebt, 6);
      expect(r.bankruptAccounts[0].insuranceCovered).toBe(0);
      expect(sim.totalEquity).toBeCloseTo(200_000, 6);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-9);
    } finally {
      await sim.close();
    }
  });
});
