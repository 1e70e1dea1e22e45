/**
 * A fixed-price plan's trade and candidate (plan-fixed.ts), and what the planner rewrites per
 * candidate: one set per thread.
 */
import { marginFigures } from '../measures/health.js';
import type { AccountInput, MarginFigures, PositionChange } from '../measures/types.js';
import type { Booking } from './execution.js';
import { growPlain } from '../platform/typed.js';

/**
 * What a plan rewrites per candidate, one set per thread (plans run one at a time, each candidate
 * read before the next is made): no object per plan. A futures position's value (positionValueInto);
 * the change figuresAfter reads and its table index (its position's: figuresAfter's hint, no lookup
 * by name); the balance deltas by currency (one record per currency); venue order's one candidate
 * (a step takes the first that improves: the ones before it are dropped), its figures from kept
 * vectors (figuresAfter's `out`), and the plan's figures once a step took them (copied: cur then).
 */
export const scratch = {
  pv: new Float64Array(2),
  change: { instrument: '', size: 0, entryPrice: undefined } as PositionChange,
  changes: [] as PositionChange[],
  changeIndex: new Int32Array(1),
  deltas: new Map<string, Record<string, number>>(),
  candidate: null! as Candidate,
  figures: marginFigures(0, 0, 0),
  own: marginFigures(0, 0, 0),
};
scratch.changes.push(scratch.change);

/**
 * The planner's per-position arrays (remaining size, venue rank, underlying, notional now) and its
 * notional per underlying, one set per thread grown to the largest plan (a typed array per plan
 * and position count was an off-heap store past 64 bytes): a plan reads its first n entries.
 */
export const planArrays = { remaining: new Float64Array(16), rank: new Int32Array(16), uid: new Int32Array(16), notionalNow: new Float64Array(16), cum: new Float64Array(16) };

/** planArrays with room for n positions (and as many underlyings). */
export function planArraysFor(n: number): typeof planArrays {
  const a = planArrays;
  if (a.remaining.length < n) {
    a.remaining = growPlain(a.remaining, n);
    a.rank = growPlain(a.rank, n);
    a.uid = growPlain(a.uid, n);
    a.notionalNow = growPlain(a.notionalNow, n);
    a.cum = growPlain(a.cum, n);
  }
  return a;
}

/** One step's trade: q of position k at `price`, its fee, booking and the liquidator's gain. */
export interface Trade {
  k: number;
  q: number;
  price: number;
  fee: number;
  gain: number;
  notional: number;
  booking: Booking;
}

/** A trade evaluated on the plan's account: its figures (set by candidate()). */
export interface Candidate extends Trade {
  r: MarginFigures;
  /** the account after the step, when it was built to margin it (else built by take) */
  account: AccountInput | null;
}

scratch.candidate = { k: 0, q: 0, price: 0, fee: 0, gain: 0, notional: 0, booking: { cash: 0, currency: '', cashUsd: 0, feeUnits: 0 }, r: scratch.figures, account: null };
