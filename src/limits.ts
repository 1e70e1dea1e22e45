/**
 * The documented finite range of every numeric input (docs/book.md "Limits"). Validation checks
 * each field against its range, so every figure computed from valid input stays finite: the
 * largest product the engine forms (size × contract size × price × scenario move, summed over a
 * book of 10 M accounts) stays below 1e60, far from Float64's 1.8e308.
 */
export const LIMITS = {
  /** |position size| in contracts (or coin) */
  size: 1e12,
  /** |collateral balance| per currency */
  collateral: 1e15,
  /** prices: entry prices, index, forwards, perpetual marks, strikes (USD; coin prices of inverse quotes are < 1e3) */
  price: 1e12,
  /** |interest rate| (continuously compounded, per year): 1000 % */
  rate: 10,
  /** implied volatility (per year, 1 = 100 %) */
  vol: 20,
  /** |log-moneyness| of smile nodes and |SVI a, m| */
  logMoneyness: 50,
  /** SVI b (slope) and sigma */
  sviSlope: 100,
  /** instants (ms since the Unix epoch): up to 9999-12-31 */
  instantMs: 253402300799999,
  /** quote fields of market instruments (open interest, volume, marks) */
  quantity: 1e15,
  /** accounts in one book */
  accounts: 10_000_000,
  /** positions in one account */
  positionsPerAccount: 100_000,
} as const;
