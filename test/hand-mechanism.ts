/**
 * The liquidation mechanism of the hand-checked plans (test/liquidation-plan.test.ts,
 * test/liquidation-isolated.test.ts): fixed-price, discount 0.5 %, fee 0.1 % of notional, no
 * impact, greedy to MM × 1.1, steps of 10 % — round numbers a hand calculation can follow.
 */
import type { liquidation } from '../src/index.js';

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
