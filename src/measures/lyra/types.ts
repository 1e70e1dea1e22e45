/** Lyra/Derive PMRM data: the feeds a market snapshot does not carry and the arranged portfolio. */
import type { PositionBreakdown, UnderlyingGreeks } from '../types.js';

/** Feeds of Lyra's oracles that a market snapshot does not carry. Defaults: fixed 0, rate = market.rate, confidences 1, stable 1. */
export interface LyraFeeds {
  /** Fixed (already-settled) portion of the forward of an expiry, USD; variable = forward − fixed. */
  forwardFixedPortion?(underlying: string, expiryMs: number): number;
  /** Interest rate of an expiry (Lyra's rate feed), annualised. */
  rate?(underlying: string, expiryMs: number): number;
  spotConfidence?(underlying: string): number;
  perpConfidence?(underlying: string): number;
  forwardConfidence?(underlying: string, expiryMs: number): number;
  rateConfidence?(underlying: string, expiryMs: number): number;
  volConfidence?(underlying: string, expiryMs: number, strike: number): number;
  /** Price of the cash stablecoin in USD (Lyra's stable feed). */
  stablePrice?: number;
}

/** The options of one expiry with its feeds (PMRM's ExpiryHoldings). */
export interface ExpiryHolding {
  expiry: number;
  /** years and seconds to expiry */
  t: number;
  sec: number;
  /** forward = variable × spot shock + fixed */
  fixed: number;
  variable: number;
  rate: number;
  minConfidence: number;
  options: { i: number; amount: number; vol: number }[];
}

/** One underlying's portfolio (Lyra runs one PMRM per market): options by expiry, perpetual, base asset. */
export interface LyraPortfolio {
  expiries: Map<number, ExpiryHolding>;
  perp: number;
  perpValue: number;
  base: number;
}

/** An account arranged: portfolios per underlying (insertion order), cash, and the breakdown. */
export interface ArrangedAccount {
  portfolios: Map<string, LyraPortfolio>;
  cash: number;
  positions: PositionBreakdown[];
  greeks: Record<string, UnderlyingGreeks>;
}
