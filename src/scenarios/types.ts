/**
 * A scenario set: the shocks a portfolio is revalued under, separate from the measure that
 * reduces the resulting P&L vectors (a margin model's worst weighted loss, VaR's quantile, a
 * stress report). A grid template (scenarios/grid.ts) is one; historical, Monte Carlo and stress
 * sets (scenarios/explicit.ts) are others. Every set has the same number of scenarios for every
 * underlying, so one nInstruments × nScenarios matrix (scenarios/revaluation.ts) serves a book.
 *
 * Scenario s of underlying u moves its index, perpetual and every forward by (1 + moves[s]);
 * the smile moves sticky in moneyness (vol at K read at K/(1 + move)) or sticky in strike, then
 * the vol is shocked as `vol` says.
 */
export type VolDirection = 'up' | 'same' | 'down';

export interface VolShockParams {
  up: number;
  down: number;
  power: number;
  longTermPower?: number;
  longTermAfterDays?: number;
  referenceDays: number;
  minDays: number;
  mode: 'relative' | 'absolute';
  /** Lowest vol a down shock may produce (annualised). */
  floor: number;
}

export interface ScenarioInfo {
  index: number;
  label: string;
  /** Relative move of the underlying (−0.16 = −16 %). */
  priceMove: number;
  vol: VolDirection;
  weight: number;
}

/**
 * How vols move per scenario:
 * - 'term': a margin grid's term-structure shock (size per expiry from `params`, direction per
 *   scenario in `dir`: +1 up, 0 unchanged, −1 down);
 * - 'surface': σ' = max(floor, σ × ratio[s] + shift(s, days, ln(K/F'))) — a historical or
 *   simulated change of an implied-vol index (ratio = 1 + its relative change), plus, for
 *   stress sets, absolute shifts by tenor and moneyness (F' the scenario's forward).
 */
export type VolShock =
  | { kind: 'term'; params: VolShockParams; dir: Int8Array }
  | { kind: 'surface'; ratio: Float64Array; floor: number; shift?: (s: number, days: number, logMoneyness: number) => number };

/** The scenarios of one underlying. */
export interface UnderlyingScenarios {
  underlying: string;
  spot: number;
  /** relative price move per scenario */
  moves: Float64Array;
  vol: VolShock;
  /** weight of each scenario's loss in a worst-loss measure (1 = full) */
  weights: Float64Array;
  /** one description per scenario; frozen once a Revaluation holds them (results share them) */
  info: ScenarioInfo[];
}

export interface ScenarioSet {
  /** names the set in results and cache keys */
  readonly id: string;
  /** scenarios per underlying (the same for all) */
  readonly size: number;
  readonly smile: 'sticky-moneyness' | 'sticky-strike';
  /** The scenarios of underlying `u` whose index is `spot`. Throws INVALID_INPUT/INVALID_MODEL for an impossible shock. */
  forUnderlying(u: string, spot: number): UnderlyingScenarios;
}
