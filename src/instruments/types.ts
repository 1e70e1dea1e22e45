/**
 * What a user holds (data): the account submitted for margining, a position change for
 * what-if, and the collateral rules (haircuts) a model values balances with.
 *
 * Position sizes follow Deribit: options, linear futures/perpetuals and spot in coin; inverse
 * futures/perpetuals in USD of notional.
 */
export type AccountMode = 'isolated' | 'cross' | 'portfolio';
export const ACCOUNT_MODES: readonly AccountMode[] = ['isolated', 'cross', 'portfolio'];

export interface PositionInput {
  /** Deribit instrument name, e.g. `BTC-27MAR26-80000-P`. */
  instrument: string;
  /** Signed size (negative = short) in the instrument's size unit (coin, or USD for inverse futures). */
  size: number;
  /**
   * Entry price in the instrument's price unit (coin for inverse options, USD for futures).
   * Futures/perpetuals: defines the unrealised P&L in equity (absent = entered at mark, P&L 0).
   * Options: informational only (premium is assumed already settled in the collateral balances).
   */
  entryPrice?: number;
  /** Isolated mode only: collateral attached to this position, by currency. */
  collateral?: Record<string, number>;
}

export interface AccountInput {
  id: string;
  mode: AccountMode;
  /** Balances by currency (after premiums paid/received), e.g. { BTC: 1.5, USDC: 20000 }. */
  collateral: Record<string, number>;
  positions: PositionInput[];
  /**
   * Settlement currency of a segregated sub-account (deribit-pm): BTC, ETH, USDC... Optional:
   * inferred from the positions' settlement currency and the balances when absent.
   */
  currency?: string;
}

/** A position change for what-if: adds `size` (negative closes/shorts) of `instrument`. */
export interface PositionChange {
  instrument: string;
  size: number;
  entryPrice?: number;
}

/** Haircuts on collateral assets: value counted = amount × price × (1 − haircut). */
export interface CollateralParams {
  /** Haircut per currency (0.02 = 2 %). */
  haircuts: Record<string, number>;
  /** Haircut of a currency not listed (null = such collateral is rejected with an error). */
  defaultHaircut: number | null;
  /** Currencies valued at 1 USD (stablecoins; their depeg is not modelled by the grid). */
  usdPegged: string[];
}

