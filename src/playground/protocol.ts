/**
 * Messages between the playground page and its Web Workers (the engine runs only in workers:
 * the page never blocks on a computation). Every request carries an id; the answer carries the
 * same id and either a result or the engine's error (code, message, field path).
 */
import type { AccountInput, LiquidationPrices, MarginResult, PositionChange, WhatIfResult } from '../measures/types.js';
import type { BookSummary } from '../io/results.js';
import type { BacktestResult } from '../risk/backtest.js';
import type { LiquidationPlan } from '../liquidation/plan.js';
import type { CascadeRequest, CascadeView } from './cascade.js';

export interface CatalogUnderlying {
  underlying: string;
  index: number;
  /** instrument names the market lists (options by expiry, futures, perpetuals) */
  options: { expiry: string; forward: number; names: string[] }[];
  futures: string[];
}

export interface Catalog {
  source: string;
  valuationTime: number;
  marketHash: string;
  underlyings: CatalogUnderlying[];
  models: { id: string; mechanism: string; description: string }[];
  /** shipped liquidation mechanisms */
  mechanisms: string[];
}

/** Equity, IM and MM of an account against one underlying's price (the market moved as a whole). */
export interface PriceProfile {
  underlying: string;
  spot: number;
  prices: number[];
  equity: (number | null)[];
  initialMargin: (number | null)[];
  maintenanceMargin: (number | null)[];
  liquidation: LiquidationPrices;
}

export interface BookView {
  accounts: number;
  positions: number;
  summary: BookSummary;
  /** accounts per bucket of margin ratio (MM / equity), edges in `ratioEdges` */
  ratioHistogram: number[];
  ratioEdges: number[];
  ms: number;
  underlying?: string;
  move?: number;
  changed?: number;
}

export type Request =
  | { type: 'init'; wasm: { simd: string; scalar: string } }
  | { type: 'market'; file: { name: string; text: string } | null }
  | { type: 'instrument'; name: string }
  | { type: 'marginAll'; account: AccountInput; models?: string[] }
  | { type: 'profile'; account: AccountInput; model: string; underlying: string }
  | { type: 'whatif'; account: AccountInput; model: string; changes: PositionChange[] }
  | { type: 'bookGenerate'; accounts: number; seed: number; model: string }
  | { type: 'bookLoad'; text: string; model: string }
  | { type: 'bookTick'; underlying: string; move: number }
  | { type: 'liquidation'; account: AccountInput; model: string; underlying: string; move: number; mechanism: string }
  | { type: 'backtest'; account: AccountInput; files: { name: string; text: string }[]; alpha: number; method: 'hs' | 'fhs'; lookback: number; days: number }
  | ({ type: 'cascade' } & CascadeRequest);

export interface Answers {
  init: Catalog;
  market: Catalog;
  instrument: { name: string; kind: string };
  marginAll: { model: string; result: MarginResult; ms: number }[];
  profile: PriceProfile;
  whatif: WhatIfResult;
  bookGenerate: BookView;
  bookLoad: BookView;
  bookTick: BookView;
  backtest: BacktestResult;
  liquidation: LiquidationPlan;
  cascade: CascadeView;
}

export interface WireError {
  code: string;
  message: string;
  path?: string;
}

export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };
