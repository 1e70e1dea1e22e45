/**
 * Values of holdings in USD, the one implementation every runner uses (the account runner
 * through InstrumentTable, the book from its snapshot of the table's arrays).
 *
 * A position's value: options and spot at mark (size × unit value); futures and perpetuals at
 * their unrealised P&L from the entry price (absent: entered at mark, P&L 0):
 *   linear   size × cs × (F − entry)
 *   inverse  size × cs × S × (1/entry − 1/F) = coinHeld × S + size × unitValue, where
 *            coinHeld = size × cs / entry is the coin the entry leg holds and unitValue = −S/F × cs.
 * Collateral: amount × price × (1 − haircut); a negative balance (a loan) at full value.
 */
import { Kind } from './kind.js';

/** Whether a kind is valued from its entry price (futures and perpetuals: unrealised P&L); the others at mark (size × unit value). */
export function valuedFromEntry(kind: number): boolean {
  return kind === Kind.Future || kind === Kind.Perpetual;
}

/** Coin of the underlying an inverse future/perpetual position holds through its entry leg (0 otherwise). */
export function entryLegCoin(kind: number, inverse: number, cs: number, size: number, entry: number): number {
  return valuedFromEntry(kind) && inverse ? (size * cs) / entry : 0;
}

/** USD value of a future/perpetual position: its unrealised P&L from `entry` (pass F when entered at mark). */
export function futuresValue(inverse: number, cs: number, F: number, S: number, unitValue: number, size: number, entry: number): number {
  if (inverse) return ((size * cs) / entry) * S + size * unitValue;
  return size * cs * (F - entry);
}

/** USD value of an option, spot or coin position: at mark. */
export function markValue(size: number, unitValue: number): number {
  return size * unitValue;
}

/**
 * USD value of a position of `size` in an instrument of the given kind; `entry` is the entry
 * price of a future/perpetual (pass its forward F when entered at mark); S the index.
 */
export function positionValue(kind: number, inverse: number, cs: number, F: number, S: number, unitValue: number, size: number, entry: number): number {
  return valuedFromEntry(kind) ? futuresValue(inverse, cs, F, S, unitValue, size, entry) : markValue(size, unitValue);
}

/** Value after haircut of a collateral balance at `price` USD per unit. */
export function collateralValue(amount: number, price: number, haircut: number): number {
  return amount > 0 ? amount * price * (1 - haircut) : amount * price;
}

/** The coin exposure a collateral balance adds to its underlying's P&L vector (after haircut). */
export function collateralExposure(amount: number, haircut: number): number {
  return amount > 0 ? amount * (1 - haircut) : amount;
}

/*
 * An account's equity (of a sub-account: an isolated position with its own collateral), the one
 * rule of its order, which every runner follows so that their doubles agree: its collateral value,
 * then for each underlying it holds positions on — in the order of the underlyings' names
 * (underlyingOrder) — the partial sum of its positions' values on that underlying, in input order,
 * from 0 (sumParts). A book keeps each partial sum (runner/book/parts.ts), so a tick re-sums only
 * the moved underlying's positions and still gets the double a fresh sum gives.
 */

/** Equity from the collateral value and the partial sums parts[from, to) (in underlyingOrder). */
export function sumParts(collateralValue: number, parts: Float64Array, from: number, to: number): number {
  let equity = collateralValue;
  for (let q = from; q < to; q++) equity += parts[q];
  return equity;
}

/** Sorts slots[0, n) in place by their underlying's name, names[slot] (an insertion sort: an account holds a few underlyings). */
export function underlyingOrder(slots: Int32Array, n: number, names: readonly string[]): void {
  for (let a = 1; a < n; a++) {
    const s = slots[a];
    const name = names[s];
    let b = a - 1;
    for (; b >= 0 && names[slots[b]] > name; b--) slots[b + 1] = slots[b];
    slots[b + 1] = s;
  }
}
