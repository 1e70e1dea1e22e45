/**
 * OKX portfolio margin arithmetic (docs/margin.md "okx-pm"; every formula's source is in
 * presets/okx-pm.json `source`). Pure functions of numbers: the account measure (account.ts)
 * gathers a risk unit's exposures and calls them.
 *
 * All amounts are USD. A risk unit's exposure to its underlying is linear here (futures,
 * perpetuals, spot in use: options are not modelled), so a spot shock m moves the unit's value
 * by coin × index × m: the index is shocked and each instrument's basis to it held (basis risk
 * is MR4's).
 */

/** A scenario's move and the unit's P&L there (USD). */
export interface ShockResult {
  spotShock: number;
  pnl: number;
}

/** The P&L (USD) of a linear exposure of `coin` units at `index` at 0 and at ±each shock, in that order (OKX's mr1Scenarios). */
export function shockGrid(coin: number, index: number, shocks: readonly number[]): ShockResult[] {
  const out: ShockResult[] = [{ spotShock: 0, pnl: 0 }];
  for (const s of shocks) for (const m of [s, -s]) out.push({ spotShock: m, pnl: coin * index * m });
  return out;
}

/** The worst scenario of a grid; ties keep the first (0, then +s before −s), as OKX reports one. */
export function worstOf(grid: readonly ShockResult[]): ShockResult {
  let worst = grid[0];
  for (const g of grid) if (g.pnl < worst.pnl) worst = g;
  return worst;
}

/** MR1: the largest loss of the spot-shock grid (0 when no scenario loses). */
export function mr1Of(coin: number, index: number, shocks: readonly number[]): { value: number; at: ShockResult; grid: ShockResult[] } {
  const grid = shockGrid(coin, index, shocks);
  const at = worstOf(grid);
  return { value: Math.max(0, -at.pnl), at, grid };
}

/** MR6: `factor` × the loss at ±`move` (OKX's position-builder example: MR6 = ½ × the extreme-move P&L). */
export function mr6Of(coin: number, index: number, move: number, factor: number): { value: number; at: ShockResult } {
  const at = worstOf(shockGrid(coin, index, [move]));
  return { value: factor * Math.max(0, -at.pnl), at };
}

/** MR4 rate of one future: max(annualized move risk × T years, minimum rate); a perpetual has T = 0. */
export function basisRate(t: number, annualizedMoveRisk: number, minRate: number): number {
  return Math.max(annualizedMoveRisk * t, minRate);
}

/**
 * A charge scaled by tiers, slice by slice: the part of `raw` within each tier counts
 * × that tier's multiplier ("only the incremental amount of the raw margin from the previous
 * tier is adjusted by the next tier"). OKX's MR7 example: raw 30,000 with [0, 10,000] × 1 and
 * (10,000, 70,000] × 2 → 10,000 + 20,000 × 2 = 50,000.
 */
export function tieredSum(raw: number, tiers: readonly { upTo: number | null }[], factorOf: (k: number) => number): number {
  let out = 0;
  let lower = 0;
  for (let k = 0; k < tiers.length && raw > lower; k++) {
    const upper = tiers[k].upTo ?? Infinity;
    out += (Math.min(raw, upper) - lower) * factorOf(k);
    lower = upper;
  }
  if (raw > lower) out += (raw - lower) * factorOf(tiers.length - 1);
  return out;
}

/** MR7 after its multiplier tiers (see tieredSum). */
export function mr7Adjusted(raw: number, tiers: readonly { upTo: number | null; multiplier: number }[]): number {
  return tieredSum(raw, tiers, (k) => tiers[k].multiplier);
}

/** A positive balance's discounted amount (coin): each slice of the balance at its tier's rate. */
export function discountedAmount(amount: number, tiers: readonly { upTo: number | null; rate: number }[]): number {
  return tieredSum(amount, tiers, (k) => tiers[k].rate);
}

/** MR9 of a hedging volume (USD) by the stablecoin-depeg tiers, slice by slice (OKX's example: 1M × 0.75 % + 4M × 1.75 % + 5M × 2.5 % = 202,500). */
export function mr9Of(volume: number, tiers: readonly { upTo: number | null; factor: number }[]): number {
  return tieredSum(volume, tiers, (k) => tiers[k].factor);
}

/**
 * Hedging volume between two stablecoin legs of a risk unit (cash deltas in USD): min of the
 * absolute values when they offset (opposite signs), else 0.
 */
export function hedgingVolume(a: number, b: number): number {
  return a * b < 0 ? Math.min(Math.abs(a), Math.abs(b)) : 0;
}

/** Spot in use: the part of a coin balance that offsets the derivatives' coin delta (0 when they do not offset). */
export function spotInUse(balance: number, derivativesCoin: number): number {
  return balance * derivativesCoin < 0 ? Math.sign(balance) * Math.min(Math.abs(balance), Math.abs(derivativesCoin)) : 0;
}

/** A risk unit's MMR: max(max(MR1, MR2, MR6) + MR3 + MR4 + MR5 + MR9, MR7 adjusted). */
export function riskUnitMmr(c: { mr1: number; mr2: number; mr3: number; mr4: number; mr5: number; mr6: number; mr7: number; mr9: number }): number {
  return Math.max(Math.max(c.mr1, c.mr2, c.mr6) + c.mr3 + c.mr4 + c.mr5 + c.mr9, c.mr7);
}
