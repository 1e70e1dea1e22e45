/**
 * Types of the market model: instruments (what is traded), market snapshots
 * (serialisable market data: index, forwards, smiles, quotes) and the resolved,
 * compute-ready market the margin engine reads (typed arrays, cheap shocked copies).
 *
 * Units everywhere: prices of the underlying, forwards and strikes in USD per coin
 * (USDC for linear instruments, treated as USD); times in ms since the Unix epoch
 * (UTC) for instants and in years ACT/365 for durations; volatilities annualised as
 * fractions (0.55 = 55%); rates continuously compounded per year.
 * Conventions follow Deribit (docs/market.md).
 */

// ───────────────────────────── instruments ─────────────────────────────

export type InstrumentKind = 'option' | 'future' | 'perpetual' | 'spot';
/** inverse = coin-settled (premium and P&L in the underlying coin); linear = settled in the quote stablecoin. */
export type Settlement = 'inverse' | 'linear';
export type OptionType = 'call' | 'put';
/**
 * What prices and strikes are quoted in. Inverse instruments reference the USD index ('USD');
 * linear ones name their stablecoin ('USDC', 'USDT').
 */
export type QuoteCurrency = 'USD' | 'USDC' | 'USDT';
/**
 * Unit of a position size (Deribit's `amount`): inverse futures and perpetuals are sized in USD
 * of notional; options (inverse and linear), linear futures/perpetuals and spot in coin.
 */
export type SizeUnit = 'usd' | 'coin';

interface InstrumentCommon {
  /** Canonical Deribit name, e.g. `BTC-27MAR26-80000-P` (what formatInstrument prints). */
  name: string;
  /** Base coin, e.g. 'BTC'. */
  underlying: string;
  quote: QuoteCurrency;
  settlement: Settlement;
  /** Currency P&L and premium are paid in: the coin for inverse, the stablecoin for linear. */
  settlementCurrency: string;
  /**
   * Multiplier from one unit of position size to `sizeUnit` of exposure. Deribit states sizes
   * directly as amounts (1 option = 1 coin; an inverse future of size 1000 = 1000 USD notional),
   * so this is 1 for every Deribit instrument; venues with lots would set it.
   */
  contractSize: number;
  sizeUnit: SizeUnit;
}

/**
 * Option on the future of the same expiry (European, expires 08:00 UTC).
 * Inverse: value in coin = Black-76 USD value / F, 1 contract = 1 coin.
 * Linear (e.g. `BTC_USDC-...`): value in USDC, size in coin.
 */
export interface OptionInstrument extends InstrumentCommon {
  kind: 'option';
  /** Expiry instant, ms since epoch UTC (always 08:00 UTC for Deribit names). */
  expiry: number;
  /** Strike, USD (USDC) per coin. */
  strike: number;
  optionType: OptionType;
}

/**
 * Dated future. Inverse (`BTC-27MAR26`): size in USD, P&L in coin = size × (1/entry − 1/F).
 * Linear (`BTC_USDC-27MAR26`): size in coin, P&L in USDC = size × (F − entry).
 */
export interface FutureInstrument extends InstrumentCommon {
  kind: 'future';
  expiry: number;
}

/** Perpetual swap: like a future without expiry; marked near the index. */
export interface PerpetualInstrument extends InstrumentCommon {
  kind: 'perpetual';
}

/** Spot pair such as `ETH_USDC`: size in coin, value in the quote stablecoin. */
export interface SpotInstrument extends InstrumentCommon {
  kind: 'spot';
}

export type Instrument = OptionInstrument | FutureInstrument | PerpetualInstrument | SpotInstrument;

// ───────────────────────────── snapshot (serialisable) ─────────────────────────────

export const MARKET_FORMAT = 'optmargin.market/1' as const;

/**
 * Raw SVI ("stochastic volatility inspired", Gatheral 2004) smile of one expiry, in total
 * implied variance w = σ²·T as a function of log-moneyness k = ln(K/F):
 *   w(k) = a + b·(ρ·(k − m) + √((k − m)² + s²))
 * Constraints enforced by the fit and by validation: b ≥ 0, |ρ| < 1, s > 0,
 * a + b·s·√(1 − ρ²) ≥ 0 (non-negative minimum variance) and b·(1 + |ρ|) ≤ 2 (Roger Lee's
 * moment bound on the wing slopes). Outside the quoted strikes the same formula is used
 * (total variance asymptotically linear in k: the stated strike extrapolation).
 */
export interface SviSmile {
  model: 'svi-raw';
  a: number;
  b: number;
  rho: number;
  m: number;
  sigma: number;
}

/**
 * A smile given by nodes: implied vols at log-moneyness points k = ln(K/F), strictly increasing.
 * Interpolated by a monotonicity-preserving cubic (PCHIP, Fritsch–Carlson) in total variance
 * w = σ²·T (C¹, no overshoot between nodes, so no wiggles the quotes do not have); extrapolated
 * flat in vol beyond the first and last node (what Deribit's own marks do in the far wings).
 * This reproduces the quoted marks at the nodes; it is what the Deribit readers build by default.
 */
export interface SplineSmile {
  model: 'spline';
  k: number[];
  vol: number[];
}

export type Smile = SviSmile | SplineSmile;

/** How well a smile reproduces the quotes it was fitted to (vol errors in vol units, 0.01 = 1 vol point). */
export interface SmileFitStats {
  /** number of distinct strikes fitted */
  points: number;
  minStrike: number;
  maxStrike: number;
  rmsVolError: number;
  maxVolError: number;
  /** Gatheral's density g(k) ≥ 0 on a grid spanning the quotes ± a margin: no butterfly arbitrage found. */
  butterflyFree: boolean;
}

/**
 * Where an expiry's forward comes from: the mark of the listed future (`future`), Deribit's
 * synthetic forward `SYN.BTC-…` for expiries without a future (`synthetic`), put–call parity on
 * option marks (`parity`), or given directly by the user (`input`).
 */
export type ForwardSource = 'future' | 'synthetic' | 'parity' | 'input';

export interface ExpiryMarket {
  /** Expiry instant, ms since epoch UTC. */
  expiry: number;
  /** Forward (futures) price for this expiry, USD per coin. */
  forward: number;
  forwardSource: ForwardSource;
  /** Name of the underlying future used, e.g. 'BTC-27MAR26' or 'SYN.BTC-20FEB26'. */
  futureName?: string;
  /** Smile; absent for an expiry that carries only a forward (a future without options). */
  smile?: Smile;
  /** Errors of `smile` against the quotes it was built from. */
  fit?: SmileFitStats;
  /**
   * When `smile` is a spline through the quotes: the raw SVI fitted to the same quotes (a compact,
   * arbitrage-checked summary) and its errors.
   */
  svi?: SviSmile;
  sviFit?: SmileFitStats;
  /**
   * Strikes listed for this expiry (instrument definitions, no prices): lets a book generator
   * draw realistic options from a market that carries no quotes.
   */
  listedStrikes?: number[];
}

export interface UnderlyingMarket {
  /** Base coin, e.g. 'BTC'. */
  underlying: string;
  /** Index price, USD per coin (Deribit `btc_usd`). */
  index: number;
  /** Perpetual mark, USD per coin; when absent the perpetual is marked at the index. */
  perpetual?: number;
  /** Sorted by expiry, strictly increasing. */
  expiries: ExpiryMarket[];
}

/**
 * One instrument's quote as found in the source data. Prices are in the instrument's own
 * quoting unit: inverse options in coin, linear options in USDC, futures/perpetuals in USD.
 */
export interface InstrumentQuote {
  name: string;
  markPrice?: number;
  /** Mark implied vol as a fraction (Deribit's `mark_iv` percent / 100). */
  markIv?: number;
  bidPrice?: number;
  askPrice?: number;
  /** Price of the future (or synthetic forward) the option references, USD per coin. */
  underlyingPrice?: number;
  /** Open interest, in the instrument's size unit (coin for options, USD for inverse futures). */
  openInterest?: number;
  /** 24h volume, in the size unit. */
  volume?: number;
}

/**
 * A market snapshot: everything needed to value instruments at one instant.
 * This is also the JSON / msgpack file format (docs/market.md).
 */
export interface MarketSnapshot {
  format: typeof MARKET_FORMAT;
  /** Valuation instant, ms since epoch UTC. */
  valuationTime: number;
  /** Continuously compounded discount rate per year used to discount option values (Deribit: 0). */
  rate: number;
  /** Free-text provenance (file name, fit method...). */
  source?: string;
  underlyings: UnderlyingMarket[];
  /** Per-instrument quotes (marks, IVs, open interest), when the source had them. */
  instruments?: InstrumentQuote[];
}

// ───────────────────────────── resolved market (compute-ready) ─────────────────────────────

/**
 * Vol shift of a shock as a function of time to expiry. Either a constant (parallel shift), a
 * function of T in years, or Deribit's term form shift(T) = base × (referenceDays / days)^power,
 * days = T·365 floored at `minDays` (default 1) so the shift stays finite near expiry.
 * `mode` 'absolute' (default) adds the shift to the vol (0.05 = +5 vol points); 'relative'
 * multiplies: σ' = σ·(1 + shift).
 */
export type VolShiftSpec =
  | number
  | ((tYears: number) => number)
  | { kind: 'term'; base: number; power: number; referenceDays?: number; minDays?: number; mode?: 'absolute' | 'relative' }
  | { kind: 'parallel'; shift: number; mode?: 'absolute' | 'relative' };

/**
 * A market shock. Price moves are relative (−0.16 = −16%) and apply to the index, the
 * perpetual and every forward of the underlying alike; the smile is sticky-moneyness (it moves
 * with the forward). A number instead of a record applies to every underlying.
 */
export interface MarketShock {
  priceMove?: number | Record<string, number>;
  volShift?: VolShiftSpec | Record<string, VolShiftSpec>;
}

/**
 * The compute-ready market, per underlying in typed arrays. `shocked()` returns a view that
 * shares the base arrays and only holds a price multiplier and a vol shift per expiry.
 */
export interface ResolvedMarket {
  readonly snapshot: MarketSnapshot;
  readonly valuationTime: number;
  readonly rate: number;
  readonly underlyings: readonly string[];
  /** The shock this view was made with (null for the base market; for a view of a view, the last one applied). */
  readonly shock: MarketShock | null;
  hasUnderlying(underlying: string): boolean;
  /** Index price (shocked), USD per coin. */
  spot(underlying: string): number;
  /** Perpetual mark (shocked); the index when the snapshot has none. */
  perpetual(underlying: string): number;
  /**
   * Forward for an expiry (shocked). Listed expiries return their forward; others are interpolated
   * linearly in ln F against T (constant carry between neighbours; from the index at T = 0;
   * after the last expiry the last segment's carry is extended). T ≤ 0 returns the index.
   */
  forward(underlying: string, expiryMs: number): number;
  /** Years ACT/365 from the valuation time to `expiryMs` (negative if already expired). */
  timeToExpiry(expiryMs: number): number;
  /** Expiries with a smile, ms. */
  smileExpiries(underlying: string): Float64Array;
  /** Implied vol (shocked) at a strike for any expiry with T > 0. */
  vol(underlying: string, expiryMs: number, strike: number): number;
  /** Batch vol at one expiry: out[i] = vol(underlying, expiryMs, strikes[i]) for i < count (default strikes.length). */
  volInto(underlying: string, expiryMs: number, strikes: Float64Array, out: Float64Array, count?: number): void;
  /** Batch vol at the i-th smile expiry (index into smileExpiries). */
  impliedVolInto(underlying: string, expiryIndex: number, strikes: Float64Array, out: Float64Array, count?: number): void;
  /** At-the-money-forward vol (shocked) for an expiry. */
  atmVol(underlying: string, expiryMs: number): number;
  /** A cheap shocked view of the BASE market (shocks compose: this view's shock is applied first). */
  shocked(shock: MarketShock): ResolvedMarket;
  /** Whether `other` is a view of the same snapshot giving the same data for `underlying` (same price multiplier, same vol shifts): a runner may keep what it computed from it. */
  sameUnderlying(other: unknown, underlying: string): boolean;
  /** Open interest of an instrument when the snapshot has quotes, else undefined. */
  openInterest(instrumentName: string): number | undefined;
  /** The snapshot's quote of an instrument, if any. */
  quote(instrumentName: string): InstrumentQuote | undefined;
}
