/**
 * A fixed-price plan's close steps as a simulation round books them (plan-round.ts): per step the
 * position, the account's trade, its notional, fee and liquidator's gain, in typed arrays reused
 * plan after plan — no step object per step (a deep crash's plans take about 50 steps each; the
 * round reads none of a step's figures). With them, the planner's facts of the account's positions
 * (the round's flow reads each closed position's underlying and delta) and what the account after
 * the plan is built from: each position's remaining size and the plan's account-level balances
 * (execution.ts accountOf; built where it is booked: plan-round.ts, plan-wire.ts).
 */
import { growPlain } from '../platform/typed.js';
import type { PositionFacts } from './execution.js';
import { addTrade, noTotals, type LiquidationPlan } from './plan-core.js';

export class CloseTrail {
  /** steps recorded */
  n = 0;
  position = new Int32Array(64);
  /** the account's trade (−size closed), as CloseStep.size */
  size = new Float64Array(64);
  notional = new Float64Array(64);
  fee = new Float64Array(64);
  gain = new Float64Array(64);
  /** the plan's facts of each position of its input account */
  facts: readonly PositionFacts[] = [];
  /** after the plan (set when it took a step): the remaining size of each position of its input account, in their order, and its balances */
  remaining = new Float64Array(64);
  collateral: Record<string, number> | null = null;
  /** an isolated plan's (plan-isolated.ts): each position's own collateral after it; null for other plans */
  own: (Record<string, number> | undefined)[] | null = null;
  /** an isolated plan's isolatedDeficit (USD; LiquidationPlan.totals) */
  deficit = 0;
  /** the planner's equity after its last step (an isolated position's sub-account: its own collateral once closed) */
  equity = 0;

  /** A new plan: no step yet. */
  begin(facts: readonly PositionFacts[]): void {
    this.n = 0;
    this.facts = facts;
    this.collateral = null;
    this.own = null;
    this.deficit = 0;
  }

  /** The plan's end: the first `n` remaining sizes and the balances (the planner's own object: it no longer changes them), its equity after. */
  end(remaining: ArrayLike<number>, n: number, collateral: Record<string, number>, equity: number): void {
    if (this.remaining.length < n) this.remaining = growPlain(this.remaining, n);
    for (let k = 0; k < n; k++) this.remaining[k] = remaining[k];
    this.collateral = collateral;
    this.equity = equity;
  }

  add(position: number, size: number, notional: number, fee: number, gain: number): void {
    const j = this.n++;
    if (j === this.position.length) {
      this.position = growPlain(this.position, j + 1);
      this.size = growPlain(this.size, j + 1);
      this.notional = growPlain(this.notional, j + 1);
      this.fee = growPlain(this.fee, j + 1);
      this.gain = growPlain(this.gain, j + 1);
    }
    this.position[j] = position;
    this.size[j] = size;
    this.notional[j] = notional;
    this.fee[j] = fee;
    this.gain[j] = gain;
  }

  /** The fees (USD) of the plan's steps summed per position of its input account (P of them). */
  feesByPosition(P: number): Float64Array {
    const out = new Float64Array(P);
    for (let j = 0; j < this.n; j++) out[this.position[j]] += this.fee[j];
    return out;
  }

  /** The plan's totals: summed as finishPlan sums the same close steps (plan-core.ts addTrade, in step order from 0: the same doubles). */
  totals(): LiquidationPlan['totals'] {
    const totals = noTotals(this.n);
    for (let j = 0; j < this.n; j++) addTrade(totals, this.notional[j], this.fee[j], this.gain[j]);
    totals.isolatedDeficit = this.deficit;
    return totals;
  }
}
