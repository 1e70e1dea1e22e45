/**
 * What the hand-checked plans share. The liquidation mechanism (test/liquidation-plan.test.ts,
 * test/liquidation-isolated.test.ts): fixed-price, discount 0.5 %, fee 0.1 % of notional, no
 * impact, greedy to MM × 1.1, steps of 10 % — round numbers a hand calculation can follow.
 */
import { margin, type liquidation } from '../src/index.js';
import type { AccountInput } from '../src/api/margin.js';

export const handMech: liquidation.FixedPriceMechanism = {
  id: 'hand',
  version: '1',
  mechanism: 'fixed-price',
  description: 'hand check',
  source: 'test',
  discount: { option: 0.005, future: 0.005, perpetual: 0.005, spot: 0.005 },
  fee: { option: { rate: 0.001, basis: 'notional' }, future: { rate: 0.001, basis: 'notional' }, perpetual: { rate: 0.001, basis: 'notional' }, spot: { rate: 0, basis: 'notional' } },
  plan: { target: 'mm-buffer', buffer: 0.1, strategy: 'greedy', order: ['perpetual', 'future', 'option', 'spot'], stepFraction: 0.1 },
  impact: { model: 'none', coefficient: 0, depthUsd: {}, dailyVol: 0 },
  insuranceFund: { initialUsd: 0 },
  shortfall: { rule: 'socialised-loss' },
};

/**
 * The isolated hand checks' market (test/liquidation-isolated.test.ts, -isolated-auction.test.ts):
 * BTC index 100 000, the linear perpetual's mark 99 000; and Deribit's 2024.1 standard model on it.
 */
export const perpMarket = margin.tableMarket({
  valuationTime: Date.UTC(2026, 0, 27, 8),
  underlyings: { BTC: { spot: 100_000, perpetual: 99_000, vol: 0.5, carry: 0.05, expiries: [] } },
});
export const perpStd = margin.createMarginEngine({ market: perpMarket, model: 'deribit-standard-2024.1' });

/** MM of s BTC of the linear perpetual at mark 99 000 (2024.1 rates: notional at mark × (0.02 + 5e-5 × size/100 coin)). */
export const perpMm = (s: number): number => s * 99_000 * (0.02 + (5e-5 * s) / 100);

/**
 * An isolated account of two positions: 0.1 BTC short at mark with 5 000 USDC of its own
 * (healthy); 1 BTC long entered at 100 000 with 2 500 USDC of its own (own equity 1 500, below
 * its MM 1 980.05); the account's own 1 000 000 USDC (its equity ≫ Σ MM).
 */
export const twoIsolated: AccountInput = {
  id: 'iso',
  mode: 'isolated',
  collateral: { USDC: 1_000_000 },
  positions: [
    { instrument: 'BTC_USDC-PERPETUAL', size: -0.1, entryPrice: 99_000, collateral: { USDC: 5_000 } },
    { instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 100_000, collateral: { USDC: 2_500 } },
  ],
};
