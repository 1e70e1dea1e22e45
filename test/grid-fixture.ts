/**
 * The set-up shared by the grid account tests (grid-account, grid-whatif): a valuation time and
 * a 30-day expiry, BTC index, forward and perpetual, the ETH index, and deribit-pm with collateral
 * haircuts (BTC 5 %, ETH 10 %), and the market of BTC and ETH these numbers make (btcEthMarket).
 */
import { margin } from '../src/index.js';
import { gridPreset } from './hand-grid.js';

export const T0 = Date.UTC(2026, 0, 27, 8);
export const E30 = T0 + 30 * 86_400_000; // 26FEB26
export const t = 30 / 365;
export const S = 100_000;
export const F = 100_400;
export const PERP = 100_050;
export const ETH_S = 3_000;
export const exp = { '26FEB26': E30 };

export const base = gridPreset('deribit-pm');
export const model: margin.GridModel = {
  ...structuredClone(base),
  id: 'pm-haircuts',
  collateral: { haircuts: { BTC: 0.05, ETH: 0.1, USDC: 0 }, defaultHaircut: null, usdPegged: ['USDC'] },
};

export function ok(r: margin.MarginResult): margin.MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}

/** The market of these numbers: BTC index, perpetual and the 30-day forward (vol 50 %), ETH index and perpetual 3,010 (vol 70 %). */
export function btcEthMarket(): ReturnType<typeof margin.tableMarket> {
  return margin.tableMarket({
    valuationTime: T0,
    underlyings: {
      BTC: { spot: S, perpetual: PERP, vol: 0.5, expiries: [{ expiry: E30, forward: F, vol: 0.5 }] },
      ETH: { spot: ETH_S, perpetual: 3_010, vol: 0.7 },
    },
  });
}
