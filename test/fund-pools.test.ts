/**
 * Insurance funds per product line (src/liquidation/fund-pools.ts; OKX's funds per business line,
 * underlying and settlement currency): the pools by hand, and in a simulation a bankrupt
 * position's deficit covered only by the pool of its line — the fees another line paid do not
 * reach it, as they do with one fund per currency.
 */
import { describe, expect, it } from 'vitest';
import { FundPools, poolOf } from '../src/liquidation/fund-pools.js';
import { InsuranceFund } from '../src/liquidation/shortfall.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { validateMechanism } from '../src/liquidation/mechanism.js';
import { margin } from '../src/index.js';
import type { AccountInput } from '../src/measures/types.js';
import { handMech } from './hand-mechanism.js';

describe('fund pools by hand', () => {
  it('an instrument\'s pool: line, underlying, settlement currency (futures of every expiry together)', () => {
    expect(poolOf('BTC-PERPETUAL')).toBe('perpetual BTC BTC');
    expect(poolOf('BTC_USDC-PERPETUAL')).toBe('perpetual BTC USDC');
    expect(poolOf('BTC-27MAR26')).toBe('futures BTC BTC');
    expect(poolOf('BTC-26JUN26')).toBe('futures BTC BTC');
    expect(poolOf('ETH-27MAR26-3000-C')).toBe('options ETH ETH');
    expect(poolOf('BTC_USDC-27MAR26-90000-P')).toBe('options BTC USDC');
    expect(poolOf('ETH_USDC')).toBe('spot ETH USDC');
  });

  it('deposits by pool; a deficit shared over its legs\' pools by weight, each share up to its pool; none: pro rata to the balances', () => {
    const fund = new InsuranceFund(200); // two pools of 100 each, already in the fund
    const pools = new FundPools([fund], [['perpetual BTC USDC', 'options BTC BTC']], [100]);
    pools.deposit(0, 'options BTC BTC', 50); // 150 in options, 100 in perpetuals, fund 250
    expect(fund.balance).toBe(250);
    // 300 over perpetual : options = 3 : 1 → 225 asked of perpetuals (100 there), 75 of options → 175 covered, 125 not
    let cov = pools.cover(0, 300, new Map([['perpetual BTC USDC', 3], ['options BTC BTC', 1]]));
    expect(cov.covered).toBeCloseTo(175, 12);
    expect(cov.uncovered).toBeCloseTo(125, 12);
    expect(pools.balances(0)).toEqual({ 'perpetual BTC USDC': 0, 'options BTC BTC': 75 });
    expect(fund.balance).toBeCloseTo(75, 12);
    // no leg: pro rata to the balances (0 and 75) → all 30 from options
    cov = pools.cover(0, 30, new Map());
    expect(cov.covered).toBeCloseTo(30, 12);
    expect(pools.balances(0)['options BTC BTC']).toBeCloseTo(45, 12);
    // a leg in a pool the currency never had: nothing covered
    cov = pools.cover(0, 10, new Map([['futures BTC BTC', 1]]));
    expect(cov.covered).toBe(0);
    expect(cov.uncovered).toBe(10);
  });
});

describe('fund pools in a simulation', () => {
  const at = (S: number) =>
    margin.tableMarket({
      valuationTime: Date.UTC(2026, 0, 27, 8),
      underlyings: { BTC: { spot: S, perpetual: S, vol: 0.5, carry: 0, expiries: [{ expiry: Date.UTC(2026, 1, 26, 8), forward: S, vol: 0.5 }] } },
    });
  const market = at(100_000);
  // A: short BTC puts, liquidated (not bankrupt) after BTC −15 %: its fees go to "options BTC BTC";
  // B: a long linear perpetual on thin collateral, bankrupt after the same move: its deficit's leg is "perpetual BTC USDC"
  // (deribit-pm-2024.1: A's equity 29.5k against MM 30.2k at 85 000, 38.7k against 17.0k before; B's equity −1 000)
  const A: AccountInput = { id: 'A', mode: 'cross', collateral: { USDC: 40_000 }, positions: [{ instrument: 'BTC-26FEB26-80000-P', size: -4 }] };
  const B: AccountInput = { id: 'B', mode: 'cross', collateral: { USDC: 14_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000 }] };
  const mechanism = (pools: 'currency' | 'product-line') => validateMechanism({ ...handMech, id: `hand-${pools}`, insuranceFund: { initialUsd: 0, pools }, shortfall: { rule: 'socialised-loss' } });
  const run = async (accounts: AccountInput[], pools: 'currency' | 'product-line') => {
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: mechanism(pools) });
    try {
      return await sim.step(at(85_000), 'crash');
    } finally {
      await sim.close();
    }
  };

  it('the options line\'s fees do not cover the perpetual line\'s deficit; with one fund per currency they do', async () => {
    const alone = await run([B], 'product-line');
    const pooled = await run([A, B], 'product-line');
    const single = await run([A, B], 'currency');
    expect(alone.bankrupt).toBe(1);
    expect(pooled.bankrupt).toBe(1);
    expect(pooled.liquidated).toBe(2);
    const optionFees = pooled.fees - alone.fees; // A's
    expect(optionFees).toBeGreaterThan(0);
    // B's deficit is covered by its own line's pool only: what its own fees put there, as when A is not in the book
    expect(pooled.badDebt).toBeCloseTo(alone.badDebt, 6);
    expect(pooled.insuranceCovered).toBeCloseTo(alone.insuranceCovered, 6);
    expect(pooled.insuranceCovered).toBeLessThan(pooled.badDebt);
    expect(pooled.currencies[0].pools!['options BTC BTC']).toBeCloseTo(optionFees, 6);
    expect(pooled.currencies[0].pools!['perpetual BTC USDC']).toBeCloseTo(0, 6);
    // one fund per currency: A's fees cover more of B's deficit
    expect(single.insuranceCovered).toBeCloseTo(Math.min(single.badDebt, single.fees), 6);
    expect(single.insuranceCovered).toBeGreaterThan(pooled.insuranceCovered);
    for (const r of [alone, pooled, single]) expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
  });
});
