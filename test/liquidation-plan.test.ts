/**
 * Liquidation plans of one account (src/liquidation/plan.ts): a fixed-price liquidation checked
 * by hand, the re-margin identity of after.account, termination, strategies, brute-force
 * minimality on small accounts, and the Dutch-auction plan.
 */
import { describe, expect, it } from 'vitest';
import { liquidation, margin } from '../src/index.js';
import type { AccountInput, PositionInput } from '../src/api/margin.js';
import { accountOf, bookingOf, bookInto, executionPrice, liquidationFee, notionalUsd, positionFacts } from '../src/liquidation/execution.js';
import { gapOf } from '../src/liquidation/plan.js';
import { rng } from './helpers.js';
import { handMech } from './hand-mechanism.js';

const T0 = Date.UTC(2026, 0, 27, 8);
const day = 86_400_000;
const E30 = T0 + 30 * day; // 26FEB26
const market = margin.tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: { spot: 100_000, perpetual: 99_000, vol: 0.5, carry: 0.05, expiries: [{ expiry: E30, forward: 100_400, vol: 0.5 }] },
    ETH: { spot: 3_000, vol: 0.7, carry: 0.05 },
  },
});
// the futures rates of the hand calculations below are those of the 2024.1 standard set (4 % / 2 % + 0.005 % per 100 coin)
const std = margin.createMarginEngine({ market, model: 'deribit-standard-2024.1' });

describe('fixed-price plan checked by hand', () => {
  // 1 BTC long linear perpetual entered at 100 000, mark 99 000, index 100 000, 2 500 USDC:
  // equity = 2500 − 1000 = 1500; Deribit futures MM = notional at mark × (0.02 + 5e-5 × size/100 coin)
  const a: AccountInput = { id: 'p', mode: 'cross', collateral: { USDC: 2500 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000 }] };
  it('five steps of 0.1 BTC at 99 000 × 0.995 = 98 505, fee 10 each; MM × 1.1 restored at the fifth', () => {
    const p = liquidation.planLiquidation(std, a, { mechanism: handMech });
    // each step: realised 0.1 × (98505 − 100000) = −149.5 in USDC, fee 0.001 × 0.1 × 100000 = 10;
    // equity after k steps 1500 − 59.5 k; MM_k = (1 − 0.1k) × 99000 × (0.02 + 5e-5 × (1 − 0.1k)/100)
    // gap_k = equity − 1.1 MM: k=4: 1262 − 1.1 × 1188.0178 = −44.82 < 0; k=5: 1202.5 − 1.1 × 990.012375 = 113.49 ≥ 0
    expect(p.steps.length).toBe(5);
    for (const s of p.steps) {
      if (s.type !== 'close') throw new Error('close steps expected');
      expect(s.size).toBeCloseTo(-0.1, 12);
      expect(s.price).toBeCloseTo(98_505, 8);
      expect(s.fee).toBeCloseTo(10, 10);
      expect(s.liquidatorGain).toBeCloseTo(49.5, 8);
    }
    expect(p.after.account.collateral.USDC).toBeCloseTo(2500 - 5 * 149.5 - 5 * 10, 8);
    expect(p.after.account.positions).toEqual([{ instrument: 'BTC_USDC-PERPETUAL', size: expect.closeTo(0.5, 12), entryPrice: 100_000 }]);
    expect(p.after.margin.equity).toBeCloseTo(1202.5, 8);
    expect(p.after.margin.maintenanceMargin).toBeCloseTo(49_500 * (0.02 + (5e-5 * 0.5) / 100), 8);
    const s4 = p.steps[3];
    expect(s4.gap).toBeCloseTo(1262 - 1.1 * 59_400 * (0.02 + (5e-5 * 0.6) / 100), 8);
    expect(p.restored).toBe(true);
    expect(p.totals.fees).toBeCloseTo(50, 10);
  });
  it('a 5 % discount costs more than the margin it releases: no step improves, the plan says so', () => {
    const p = liquidation.planLiquidation(std, a, { mechanism: 'fixed-price-5pct' });
    expect(p.steps.length).toBe(0);
    expect(p.restored).toBe(false);
    expect(p.reason).toMatch(/no closing step improves/);
  });
  it('re-margining after.account gives after.margin; the input is not modified', () => {
    const before = JSON.stringify(a);
    for (const mech of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl', 'lyra-mainnet', 'lyra-pm-sim']) {
      const p = liquidation.planLiquidation(std, a, { mechanism: mech });
      const r = std.margin(JSON.parse(JSON.stringify(p.after.account)));
      if (!r.ok) throw new Error(r.error.message);
      expect(r.equity).toBe(p.after.margin.equity);
      expect(r.maintenanceMargin).toBe(p.after.margin.maintenanceMargin);
      expect(r.initialMargin).toBe(p.after.margin.initialMargin);
    }
    expect(JSON.stringify(a)).toBe(before);
  });
});

const optionBook = (seed: number): AccountInput => {
  const r = rng(seed);
  const positions: PositionInput[] = [
    { instrument: 'BTC-26FEB26-90000-P', size: -Math.round(1 + 4 * r()) },
    { instrument: 'BTC-26FEB26-110000-C', size: -Math.round(1 + 4 * r()) },
    { instrument: 'BTC_USDC-PERPETUAL', size: Math.round(1 + 3 * r()) * (r() < 0.5 ? 1 : -1), entryPrice: 98_000 + 4000 * r() },
  ];
  return { id: `b${seed}`, mode: 'cross', collateral: { USDC: 3000 + 4000 * r() }, positions };
};

describe('plans: termination, strategies, minimality by brute force', () => {
  it('venue order closes perpetuals and futures before options (Deribit)', () => {
    const p = liquidation.planLiquidation(std, optionBook(3), { mechanism: 'deribit-incremental' });
    const kinds = p.steps.map((s) => (s.type === 'close' && s.instrument.includes('PERPETUAL') ? 'perp' : 'option'));
    const firstOption = kinds.indexOf('option');
    if (firstOption >= 0) expect(kinds.slice(firstOption).includes('perp')).toBe(false);
  });
  it('a bankrupt account: every position closed, the plan terminates and says the target cannot be met', () => {
    const a: AccountInput = { id: 'x', mode: 'cross', collateral: { USDC: 100 }, positions: [{ instrument: 'BTC-26FEB26-90000-P', size: -50 }] };
    const p = liquidation.planLiquidation(std, a, { mechanism: handMech, strategy: 'venue-order' });
    expect(p.restored).toBe(false);
    expect(p.steps.length).toBeLessThanOrEqual(10);
    expect(p.after.margin.equity).toBeLessThan(0);
  });
  it('proportional: the same fraction of every position per step', () => {
    let checked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const a = optionBook(seed);
      const p = liquidation.planLiquidation(std, a, { mechanism: handMech, strategy: 'proportional', stepFraction: 0.05 });
      if (!p.restored || p.steps.length === 0) continue;
      const k = p.steps.length / a.positions.length;
      expect(Number.isInteger(k)).toBe(true);
      for (let j = 0; j < a.positions.length; j++) expect(p.after.account.positions[j].size).toBeCloseTo(a.positions[j].size * (1 - 0.05 * k), 9);
      // one step fewer would not have restored the target
      const last = p.steps[p.steps.length - a.positions.length - 1];
      if (last) expect(last.gap).toBeLessThan(0);
      checked++;
    }
    expect(checked).toBeGreaterThan(2);
  });

  /** Every combination of whole steps per position (closes commute: no impact), the least notional meeting the target. */
  function bruteForce(a: AccountInput, stepFraction: number): { minNotional: number; maxStep: number } {
    const facts = a.positions.map((p, k) => positionFacts(std.table, p, k));
    const n = Math.round(1 / stepFraction);
    let best = Infinity;
    let maxStep = 0;
    const counts = new Array(a.positions.length).fill(0);
    const visit = (j: number): void => {
      if (j === a.positions.length) {
        const rem = a.positions.map((p, k) => p.size * (1 - counts[k] / n));
        const col = { ...a.collateral };
        let notional = 0;
        a.positions.forEach((p, k) => {
          const q = (p.size * counts[k]) / n;
          if (q === 0) return;
          const f = facts[k];
          const P = executionPrice(f, q, handMech.discount[f.kind]);
          const fee = liquidationFee(handMech.fee[f.kind] as never, f, q);
          bookInto(col, bookingOf(f, p, q, P, fee, ['USDC']));
          notional += notionalUsd(f, q);
        });
        const r = std.margin(accountOf(a, rem, col));
        if (r.ok && gapOf(r, 'mm-buffer', 0.1) >= 0) best = Math.min(best, notional);
        return;
      }
      for (let c = 0; c <= n; c++) {
        counts[j] = c;
        visit(j + 1);
      }
    };
    visit(0);
    a.positions.forEach((p, k) => (maxStep = Math.max(maxStep, notionalUsd(facts[k], p.size * stepFraction))));
    return { minNotional: best, maxStep };
  }

  it('greedy plans close at most one step more than the least notional that restores MM × 1.1 (brute force, 5^3 combinations each)', () => {
    let checked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const a = optionBook(seed);
      const r0 = std.margin(a);
      if (!r0.ok || gapOf(r0, 'mm-buffer', 0.1) >= 0) continue;
      const { minNotional, maxStep } = bruteForce(a, 0.25);
      const p = liquidation.planLiquidation(std, a, { mechanism: handMech, strategy: 'greedy', stepFraction: 0.25 });
      if (minNotional === Infinity) {
        expect(p.restored).toBe(false);
        continue;
      }
      expect(p.restored).toBe(true);
      expect(p.totals.closedNotionalUsd).toBeLessThanOrEqual(minNotional + maxStep + 1e-6);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });
});

describe('Dutch-auction plan (Lyra semantics on the margin engine)', () => {
  it('a solvent account: fee to the security module, one max bid at t, buffer margin back to ~0', () => {
    const a: AccountInput = { id: 'p', mode: 'cross', collateral: { USDC: 2500 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000 }] };
    const p = liquidation.planLiquidation(std, a, { mechanism: 'lyra-mainnet', auctionTime: 0 });
    const m = liquidation.loadMechanism('lyra-mainnet');
    if (m.mechanism !== 'dutch-auction') throw new Error('auction expected');
    const da = liquidation.dutchAuction(m.auction);
    const r0 = std.margin(a);
    if (!r0.ok) throw new Error(r0.error.message);
    const state = { mm: r0.equity - r0.maintenanceMargin, mtm: r0.equity };
    const fee = da.liquidationFee(state);
    expect(p.steps[0]).toMatchObject({ type: 'auction-start', insolvent: false });
    expect(p.steps[0].fee).toBeCloseTo(fee, 9);
    const bid = p.steps[1];
    if (bid.type !== 'auction-bid') throw new Error('bid expected');
    const after = { mm: state.mm - fee, mtm: state.mtm - fee };
    expect(bid.percent).toBeCloseTo(da.maxProportion(after, 0), 12);
    expect(bid.cashFromBidder).toBeCloseTo(da.bidPrice(after, 0) * bid.percent, 9);
    // the perpetual's MM is nearly linear in size (its tier slope adds 5e-5 × size/100 coin): BM = equity − MM × 1.15 ends at ~0
    const bmBefore = r0.equity - r0.maintenanceMargin * 1.15;
    expect(bmBefore).toBeLessThan(-500);
    expect(Math.abs(p.after.margin.equity - p.after.margin.maintenanceMargin * 1.15)).toBeLessThan(0.05);
  });
  it('an insolvent account (equity < 0): the security module pays the bidder, the rest socialised', () => {
    const a: AccountInput = { id: 'q', mode: 'cross', collateral: { USDC: 500 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000 }] };
    const p = liquidation.planLiquidation(std, a, { mechanism: 'lyra-test-defaults', auctionTime: 300 });
    const bid = p.steps.find((s) => s.type === 'auction-bid');
    if (!bid || bid.type !== 'auction-bid') throw new Error('bid expected');
    expect(bid.insolvent).toBe(true);
    expect(bid.percent).toBe(1);
    // insolvent price at 300 s of 600: (MM − MtM) / 2 + MtM with Lyra's MM = equity − MM requirement
    const eq = 500 - 1000;
    const req = 99_000 * (0.02 + 5e-5 / 100);
    expect(bid.cashToBidder).toBeCloseTo(-((eq - req - eq) * 0.5 + eq), 8);
    expect(bid.socialised).toBeCloseTo(bid.cashToBidder, 8);
    expect(p.after.account.positions).toEqual([]);
  });
});
