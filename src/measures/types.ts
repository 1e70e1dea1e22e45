/**
 * Types of the margin engine: the account a user submits (data), the margin model parameter
 * sets (presets/*.json, interpreted by a few generic mechanisms) and the result per account.
 *
 * Units: every amount in a result is USD unless its name says otherwise (per-currency figures
 * are in that currency). Price moves are relative (−0.16 = −16 %). Vols are annualised
 * fractions. Position sizes follow Deribit: options, linear futures/perpetuals and spot in
 * coin; inverse futures/perpetuals in USD of notional.
 */
import type { ErrorCode } from '../errors.js';
import type { ScenarioInfo, ScenarioSet, VolDirection, VolShockParams } from '../scenarios/types.js';

export type { ScenarioInfo, VolDirection, VolShockParams } from '../scenarios/types.js';
import type { AccountMode, CollateralParams } from '../instruments/types.js';
export * from '../instruments/types.js';

// ───────────────────────────── model parameters ─────────────────────────────

/** Fields every preset file carries (presets/*.json). */
export interface ModelHeader {
  id: string;
  version: string;
  description: string;
  /** Where the parameters come from (venue docs, papers), with any assumption stated. */
  source: string;
}

/** Deribit-style standard margin per contract, in coin (docs/margin.md "rule-based"). */
export interface StandardOptionParams {
  /** IM base fraction of the underlying (0.15), reduced by OTM/underlying, floored at imMin. */
  imBase: number;
  /** IM floor fraction (0.10). */
  imMin: number;
  /** MM fraction of the underlying for short calls and puts (0.075). */
  mmBase: number;
  /** Short put MM = max(mmBase, putMmMarkFactor × mark) + mark (0.075). */
  putMmMarkFactor: number;
}

/** Futures margin fraction of notional growing with size: base + slope × |size in coin| / step. */
export interface FuturesTierParams {
  imBase: number;
  mmBase: number;
  /** Added to both fractions per `stepCoin` of position size (0.00005 = 0.005 %). */
  slope: number;
  stepCoin: number;
}

export interface RuleBasedModel extends ModelHeader {
  mechanism: 'rule-based';
  option: StandardOptionParams;
  futures: FuturesTierParams;
  /** Per-underlying overrides of the futures tiers (e.g. ETH steps of 1000 ETH). */
  futuresByUnderlying?: Record<string, Partial<FuturesTierParams>>;
  collateral: CollateralParams;
}

/**
 * One scenario of the template every underlying's grid is built from. `range` is a fraction of
 * the scan range (positive moves use rangeUp, negative rangeDown); `move` is an absolute relative
 * move (extended tables). Exactly one of them is given. `weight` < 1 counts the loss at a fraction.
 */
export interface ScenarioSpec {
  range?: number;
  move?: number;
  vol: VolDirection;
  weight: number;
  label?: string;
}

export interface UnderlyingScanParams {
  rangeUp: number;
  rangeDown: number;
  vol: VolShockParams;
}

export interface GridAddOns {
  /** Contingency per net short option contract, as a fraction of the index (0.01 = 0.01 coin per contract). */
  shortOption?: { fractionOfSpot: number; netting: 'expiry-strike' | 'instrument' };
  /** Charge on futures/perpetual notional (coin × index): 'gross' = all, 'offsetting' = min(long, short) per underlying. */
  futures?: { fraction: number; basis: 'gross' | 'offsetting' };
  /** SPAN short option minimum: IM ≥ fractionOfSpot × index × short option contracts. */
  shortOptionMinimum?: { fractionOfSpot: number };
}

export interface GridModel extends ModelHeader {
  mechanism: 'scenario-grid';
  scan: UnderlyingScanParams;
  /** Overrides of the scan per underlying (e.g. ETH moves more than BTC). */
  scanByUnderlying?: Record<string, Partial<Omit<UnderlyingScanParams, 'vol'>> & { vol?: Partial<VolShockParams> }>;
  scenarios: ScenarioSpec[];
  /** How the smile moves with the price: sticky-moneyness (vol at K/(1+m)) or sticky-strike. */
  smile: 'sticky-moneyness' | 'sticky-strike';
  addOns: GridAddOns;
  /** MM = mmFraction × IM. */
  mmFraction: number;
  /** IM floor in USD (a venue's minimum equity), 0 for none. */
  minimumMarginUsd: number;
  /** Combination of the per-underlying requirements: plain sum, or sum − credit × (sum − largest). */
  crossUnderlying: { rule: 'sum' } | { rule: 'credit'; credit: number };
  collateral: CollateralParams;
}

/** Lyra/Derive v2 PMRM (lyra-finance/v2-core src/risk-managers/PMRMLib.sol), 1e18 parameters as plain numbers. */
export interface LyraPmrmModel extends ModelHeader {
  mechanism: 'lyra-pmrm';
  /** Spot shocks as multipliers (1.15 = +15 %) × vol direction, as Lyra's `Scenario[]`. */
  scenarios: { spotShock: number; vol: VolDirection }[];
  basis: { scenarioSpotUp: number; scenarioSpotDown: number; addFactor: number; multFactor: number };
  other: {
    pegLossThreshold: number;
    pegLossFactor: number;
    confThreshold: number;
    confMargin: number;
    basePercent: number;
    perpPercent: number;
    optionPercent: number;
  };
  margin: { imFactor: number; baseStaticDiscount: number; rateMultScale: number; rateAddScale: number };
  volShock: {
    volRangeUp: number;
    volRangeDown: number;
    shortTermPower: number;
    longTermPower: number;
    /** seconds */
    dteFloor: number;
  };
  /** Currency of cash (Lyra: USDC). Base assets are collateral in the underlying coin. */
  cashCurrency: string;
  collateral: CollateralParams;
}

/** One currency pair's block of Deribit's `model_params.currency_pair` (names as Deribit publishes them). */
export interface PmePairParams {
  price_range: number;
  volatility_range_up: number;
  volatility_range_down: number;
  short_term_vega_power: number;
  long_term_vega_power: number;
  min_volatility_for_shock_up: number;
  extended_table_factor: number;
  /** USD */
  delta_total_liq_shock_threshold: number;
  max_delta_shock: number;
  m_inc: number;
}

/** One settlement/collateral currency's block of Deribit's `model_params.currency`. */
export interface PmeCurrencyParams {
  annualised_move_risk: number;
  min_annualised_move: number;
  /** read as USD */
  extended_dampener: number;
  haircut: number;
  equity_side_impact: 'both' | 'up' | 'down' | 'none';
  pnl_offset: number;
  /** read as USD */
  max_offsetable_pnl: number;
  correlation_set: boolean;
}

/**
 * Deribit's portfolio margin engine (private/pme/simulate): a 9-bucket × 3-vol risk matrix plus an
 * extended table per currency pair, computed in the settlement currency. `segregated` (S:PM): one
 * settlement currency per account, figures in it; `cross` (X:PM): every currency's requirement in
 * USD, collateral in USD after haircuts.
 */
export interface DeribitPmeModel extends ModelHeader {
  mechanism: 'deribit-pme';
  margining: 'segregated' | 'cross';
  general: { mm_factor: number; buckets_count: number; vol_scenarios_count: number };
  /** Relative moves of the extended table (vol up only). */
  extendedMoves: number[];
  /** Days convention of the vol shocks: (referenceDays / max(days, minDays))^power, short-term power below shortTermBelowDays. */
  volShock: { referenceDays: number; shortTermBelowDays: number; minDays: number; floor: number };
  /** by underlying (BTC = Deribit's btc_usd) */
  currencyPair: Record<string, PmePairParams>;
  /** by currency (BTC, ETH; USDC = Deribit's usd block for linear pairs) */
  currency: Record<string, PmeCurrencyParams>;
  collateral: CollateralParams;
}

/** Anti-procyclicality rule of a var-es model (EMIR RTS 153/2013 art. 28(1) (a), (b) or (c)). */
export type ApcRule = 'buffer' | 'stressed-weight' | 'ten-year';

/**
 * Risk-based margin (docs/risk.md "var-es"): IM = ES at α (or VaR at α) over an MPOR of 1–3 days
 * from FHS on `lookback` returns, floored by the stressed period, one APC rule; MM = mmFraction × IM.
 * Its scenario sets come from a history: a LoadedModel of this mechanism carries them
 * (`riskScenarios`, resolved once by risk/var-margin.ts `withHistory`).
 */
export interface VarEsModel extends ModelHeader {
  mechanism: 'var-es';
  measure: 'es' | 'var';
  alpha: number;
  quantile: 'lower' | 'empirical' | 'linear';
  mporDays: number;
  lookback: number;
  lambda: number;
  stressFrom: string;
  stressTo: string;
  apc: { rule: ApcRule; buffer?: number; weight?: number; years?: number };
  mmFraction: number;
  collateral: CollateralParams;
}

/** The scenario sets of a var-es model as of one date (relative moves over the MPOR, revalued on any market). */
export interface VarEsScenarioSets {
  /** the history date T the sets are as of */
  asOf: string;
  /** FHS on the lookback as of T */
  base: ScenarioSet;
  /** historical scenarios of the stressed period */
  stressed: ScenarioSet;
  /** the ten-year rule's HS lookback as of T (apc 'ten-year'), else null */
  tenYear: ScenarioSet | null;
  /** 1-day EWMA vol forecasts of the underlyings as of T */
  dailyVol: Record<string, number>;
  /** ids and content hashes of the sets (carried into results) */
  sets: { id: string; hash: string }[];
}

/** One OKX risk unit's parameters (an underlying: BTC, ETH), names after OKX's MR components. */
export interface OkxRiskUnitParams {
  /** MR1 spot shocks (each taken up and down, plus 0), relative: BTC 0.04, 0.08, 0.12 */
  spotShocks: number[];
  /** MR6 extreme move (±), relative */
  extremeMove: number;
  /** MR6 = extremeFactor × the loss at ±extremeMove */
  extremeFactor: number;
  /** MR4 rate per future = max(annualizedMoveRisk × T years, minRate), × |cash delta| */
  basis: { annualizedMoveRisk: number; minRate: number };
  /** MR7 raw = rate × Σ |cash delta| of the derivatives */
  minimumChargeRate: number;
  /** MR7 scaling: each slice of the raw charge up to `upTo` USD (null: no bound) × `multiplier` */
  minimumChargeTiers: { upTo: number | null; multiplier: number }[];
}

/** A discount-rate tier of a collateral currency: the slice of the balance up to `upTo` coin (null: no bound) counts at `rate`. */
export interface DiscountTier {
  upTo: number | null;
  rate: number;
}

/**
 * OKX portfolio margin (unified account, portfolio margin mode): per risk unit (underlying) the
 * MMR = max(max(MR1, MR2, MR6) + MR3 + MR4 + MR5 + MR9, MR7 adjusted), IMR = imrFactor × MMR;
 * borrowing (MR8) MMR/IMR as fractions of the liability; collateral at tiered discount rates.
 */
export interface OkxPmModel extends ModelHeader {
  mechanism: 'okx-pm';
  imrFactor: number;
  riskUnits: Record<string, OkxRiskUnitParams>;
  borrowing: { mmrRate: number; imrRate: number };
  /** MR9 tiers of the cross-stablecoin hedging volume (USD); null: not sourced (a hedge between USD- and USDC-margined derivatives is then an error) */
  stablecoinDepeg: { upTo: number | null; factor: number }[] | null;
  /** Discount-rate tiers per collateral currency (positive balances); a currency not listed counts at 1 − its haircut */
  discountTiers: Record<string, DiscountTier[]>;
  collateral: CollateralParams;
}

export type MarginModel = RuleBasedModel | GridModel | LyraPmrmModel | DeribitPmeModel | VarEsModel | OkxPmModel;

/** A loaded model: parameters plus the hash every result carries. */
export interface LoadedModel {
  params: MarginModel;
  /** sha256 (hex, first 16 chars) of the canonical JSON of the parameters (var-es: of the parameters' hash, T and the sets' hashes). */
  hash: string;
  /** var-es models: the scenario sets resolved from a history */
  riskScenarios?: VarEsScenarioSets;
}

/** What a var-es model adds to a result: the measures behind IM. */
export interface VarEsBreakdown {
  asOf: string;
  /** measure over the FHS set, USD */
  base: number;
  /** measure over the stressed-period set, USD */
  stressed: number;
  /** measure over the ten-year HS lookback (apc 'ten-year') */
  tenYear?: number;
  dailyVol: Record<string, number>;
  scenarioSets: { id: string; hash: string }[];
}

// ───────────────────────────── results ─────────────────────────────

export type Health = 'healthy' | 'margin call' | 'liquidatable' | 'bankrupt';

export interface UnderlyingGreeks {
  /** ∂(USD value)/∂(underlying price), in coin. */
  delta: number;
  /** ∂²(USD value)/∂price², coin per USD. */
  gamma: number;
  /** USD per 1.00 (100 vol points) of implied vol. */
  vega: number;
  /** USD per year of calendar time, forward fixed (divide by 365 for per day). */
  theta: number;
}

export interface PositionBreakdown {
  index: number;
  instrument: string;
  size: number;
  /** Mark value of the position in USD (options: size × mark; futures: unrealised P&L). */
  valueUsd: number;
  /** Rule-based models and isolated grid positions: the position's own requirement. */
  initialMargin?: number;
  maintenanceMargin?: number;
  /** Grid models (cross/portfolio): the position's P&L in its underlying's worst scenario, USD. */
  worstScenarioPnl?: number;
  /** Isolated mode: the position's own equity and health. */
  equity?: number;
  health?: Health;
}

export interface UnderlyingGridBreakdown {
  underlying: string;
  spot: number;
  worstScenario: ScenarioInfo;
  /** Weighted loss of the worst scenario, USD (≥ 0; 0 when every scenario gains). */
  worstLoss: number;
  /** Weighted loss of each scenario (positive = loss), USD, in scenario order. */
  scenarioLosses: number[];
  scenarios: ScenarioInfo[];
  addOns: Record<string, number>;
  initialMargin: number;
}

export interface CurrencyFigures {
  /** IM/MM of positions settled in this currency, in that currency. */
  initialMargin: number;
  maintenanceMargin: number;
}

export interface MarginFigures {
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  /** MM / equity; null when equity ≤ 0 (ratio undefined: the account is bankrupt). */
  marginRatio: number | null;
  availableFunds: number;
  health: Health;
}

export interface MarginResultOk extends MarginFigures {
  id: string;
  ok: true;
  mode: AccountMode;
  /** The mode the mechanism applied (a rule-based model computes 'portfolio' accounts as 'cross'). */
  modeApplied: AccountMode;
  model: { id: string; version: string; hash: string; mechanism: MarginModel['mechanism'] };
  marketHash: string;
  valuationTime: number;
  /** Currency of the headline figures (equity, IM, MM, availableFunds): USD, or a segregated account's settlement currency. */
  currency: string;
  /** USD equivalents of the headline figures when `currency` is not USD (at the index price `price`). */
  usd?: UsdFigures;
  /** Deribit PME: the risk matrix of each settlement currency (in that currency). */
  pme?: PmeCurrencyBreakdown[];
  /** OKX portfolio margin: MR1–MR9 of each risk unit (USD). */
  okx?: OkxRiskUnitBreakdown[];
  /** Collateral value after haircuts (a segregated account: its balance), in `currency`. */
  collateralValue: number;
  perCurrency: Record<string, CurrencyFigures>;
  greeks: Record<string, UnderlyingGreeks>;
  positions: PositionBreakdown[];
  grid?: UnderlyingGridBreakdown[];
  /** Mechanism-specific components (Lyra: mtm, basis contingency, static contingency...). */
  components?: Record<string, number>;
  /** var-es models: the measures behind IM, the as-of date and the scenario sets */
  varEs?: VarEsBreakdown;
}

/** USD equivalents of a coin account's headline figures, at the index `price`. */
export interface UsdFigures {
  price: number;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  availableFunds: number;
}

export interface PmePairBreakdown {
  /** Deribit's key: underlying_settlement in lower case, e.g. btc_btc, eth_usdc */
  pair: string;
  underlying: string;
  /** net delta of the pair's positions, coin of the underlying */
  delta: number;
  worstCase: number;
  worstCaseBucket: { index: number; source: 'standard' | 'extended'; bucket: number; side: 'left' | 'right' | 'center' };
  deltaShock: number;
  /** the reduced (offset, dampened) vectors, settlement currency */
  aggregated: { standard: number[]; extended: number[] };
}

export interface PmeCurrencyBreakdown {
  currency: string;
  /** USD per unit of the currency */
  price: number;
  riskMatrixMargin: number;
  worstCase: number;
  rollShock: number;
  deltaShock: number;
  correlationContingency: number;
  initialMargin: number;
  maintenanceMargin: number;
  pairs: PmePairBreakdown[];
}

/** One OKX risk unit's components (USD), as OKX's position builder reports them. */
export interface OkxRiskUnitBreakdown {
  riskUnit: string;
  /** USD cash delta of the derivatives (Σ coin exposure × the instrument's mark), and the spot in use (coin) */
  delta: number;
  spotInUse: number;
  mr1: number;
  mr1Scenario: { spotShock: number; pnl: number };
  /** the P&L at 0 and ±each MR1 shock (linear exposures: the same with vol up, same, down) */
  mr1Scenarios: { spotShock: number; pnl: number }[];
  mr2: number;
  mr3: number;
  mr4: number;
  mr5: number;
  mr6: number;
  mr6Scenario: { spotShock: number; pnl: number };
  /** raw minimum charge and the charge after the multiplier tiers */
  mr7Raw: number;
  mr7: number;
  mr9: number;
  mmr: number;
  imr: number;
}

export interface MarginResultError {
  id: string;
  ok: false;
  error: { code: ErrorCode; message: string; path?: string };
}

export type MarginResult = MarginResultOk | MarginResultError;

export interface WhatIfResult {
  before: MarginFigures;
  after: MarginFigures;
  delta: { equity: number; initialMargin: number; maintenanceMargin: number; availableFunds: number };
}

export interface LiquidationPrices {
  underlying: string;
  spot: number;
  /** Highest price below spot at which equity = MM (null: none within the search range). */
  below: number | null;
  /** Lowest price above spot at which equity = MM (null: none within the search range). */
  above: number | null;
  /** True when the account is already at or below MM at the current price. */
  alreadyLiquidatable: boolean;
}
