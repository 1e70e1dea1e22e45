/**
 * A chunk of round plans as a worker sends them back (plan-round.ts): not the accounts after the
 * plans, which the main thread already holds before them, but what it rebuilds them from — each
 * position's remaining size and the plan's account-level balances, through the planner's own
 * accountOf (execution.ts) — with the totals and the liquidators' flow. The numbers travel as
 * doubles in one Float64Array (exact, and no number text to write and read); the few strings
 * (balances' currencies, the flow's underlyings) in a short JSON header.
 *
 * Per plan that took a step, in `num`: its position count P and flow length F, its seven totals,
 * then P remaining sizes, its C balances, an isolated plan's own collateral of each position
 * (plan-isolated.ts), the fees per position (P, where recorded), F underlying indices (into the
 * header's `us`), F notionals, F coin deltas. The header's `plans` holds, per account of the
 * chunk, null (nothing closed) or the plan's C balance currencies in their order, for an isolated
 * plan each position's own collateral currencies in their order (null: it has none), and `f`
 * when its fees per position follow.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { AccountInput } from '../measures/types.js';
import { growPlain } from '../platform/typed.js';
import { accountOf } from './execution.js';
import type { LiquidationPlan } from './plan-core.js';

/** What a round books of a plan: its totals, the account after it and the liquidators' flow (plan-round.ts RoundPlan). */
export interface WirePlan {
  totals: LiquidationPlan['totals'];
  account: AccountInput;
  flowU: string[];
  flowNotional: number[];
  flowCoin: number[];
  /** the fees (USD) paid on each position of the account before the plan; null where not recorded (an auction's) */
  fees: ArrayLike<number> | null;
}

/** A chunk's plans as they cross threads. */
export interface WirePlans {
  head: string;
  num: Float64Array;
}

interface Head {
  us: string[];
  plans: ({ c: string[]; o?: (string[] | null)[]; f?: 1 } | null)[];
}

const TOTALS = 7;

/** Each position's own collateral currencies (an isolated plan's), or undefined. */
function ownCurrencies(own: readonly (Record<string, number> | undefined)[] | null): (string[] | null)[] | undefined {
  return own ? own.map((o) => (o ? Object.keys(o) : null)) : undefined;
}

/** Writes a chunk's plans, one after the other, into one header and one array of doubles. */
export class PlanWriter {
  private num = new Float64Array(1024);
  private n = 0;
  private readonly head: Head = { us: [], plans: [] };
  private readonly uIndex = new Map<string, number>();

  /** An account with nothing to close. */
  none(): void {
    this.head.plans.push(null);
  }

  /**
   * A plan: `remaining` sizes of its P positions, its balances, an isolated plan's own collateral
   * per position (else null), totals, and F flow entries (`flow(j)` gives
   * entry j's underlying, notional and coin delta).
   */
  plan(
    remaining: ArrayLike<number>,
    P: number,
    collateral: Record<string, number>,
    own: readonly (Record<string, number> | undefined)[] | null,
    totals: LiquidationPlan['totals'],
    fees: ArrayLike<number> | null,
    F: number,
    flow: (j: number, out: FlowEntry) => void,
  ): void {
    const cur = Object.keys(collateral);
    const oc = ownCurrencies(own);
    let nOwn = 0;
    if (oc) for (const c of oc) nOwn += c?.length ?? 0;
    this.room(2 + TOTALS + P + cur.length + nOwn + (fees ? P : 0) + 3 * F);
    const x = this.num;
    let o = this.n;
    x[o++] = P;
    x[o++] = F;
    x[o++] = totals.steps;
    x[o++] = totals.closedNotionalUsd;
    x[o++] = totals.fees;
    x[o++] = totals.liquidatorGain;
    x[o++] = totals.securityModulePaid;
    x[o++] = totals.socialised;
    x[o++] = totals.isolatedDeficit;
    for (let k = 0; k < P; k++) x[o++] = remaining[k];
    for (const c of cur) x[o++] = collateral[c];
    if (oc) for (let k = 0; k < P; k++) for (const c of oc[k] ?? []) x[o++] = own![k]![c];
    if (fees) for (let k = 0; k < P; k++) x[o++] = fees[k];
    const e: FlowEntry = { underlying: '', notional: 0, coin: 0 };
    for (let j = 0; j < F; j++) {
      flow(j, e);
      x[o + j] = this.underlyingIndex(e.underlying);
      x[o + F + j] = e.notional;
      x[o + 2 * F + j] = e.coin;
    }
    this.n = o + 3 * F;
    const h: Head['plans'][number] = { c: cur };
    if (oc) h!.o = oc;
    if (fees) h!.f = 1;
    this.head.plans.push(h);
  }

  /** The chunk's plans (the writer is done). */
  done(): WirePlans {
    return { head: JSON.stringify(this.head), num: this.num.slice(0, this.n) };
  }

  private underlyingIndex(u: string): number {
    let i = this.uIndex.get(u);
    if (i === undefined) this.uIndex.set(u, (i = this.head.us.push(u) - 1));
    return i;
  }

  private room(more: number): void {
    if (this.n + more > this.num.length) this.num = growPlain(this.num, this.n + more);
  }
}

/** One flow entry as PlanWriter.plan asks for it. */
export interface FlowEntry {
  underlying: string;
  notional: number;
  coin: number;
}

/** The underlying of index u in the header (plan i's). */
function underlyingAt(head: Head, u: number, i: number): string {
  const name = head.us[u];
  if (typeof name !== 'string') throw broken(`plan ${i} names underlying #${u} of ${head.us.length}`);
  return name;
}

/** How many own-collateral numbers an isolated plan's header announces (0: not isolated). */
function ownCount(o: (string[] | null)[] | undefined, P: number, i: number): number {
  if (o === undefined) return 0;
  if (!Array.isArray(o) || o.length !== P) throw broken(`plan ${i} has ${Array.isArray(o) ? o.length : 'no'} own collateral entries for ${P} positions`);
  let n = 0;
  for (const c of o) {
    if (c !== null && !Array.isArray(c)) throw broken(`plan ${i} has a malformed own collateral entry`);
    n += c?.length ?? 0;
  }
  return n;
}

const broken = (why: string): OptmarginError => new OptmarginError(ErrorCodes.INTERNAL, `a plan chunk's answer is malformed: ${why}`);

/**
 * The plans of a chunk (PlanWriter's), each rebuilt on the account it was planned from
 * (`bases[i]`, the same account the worker was sent): null where nothing was closed. Any
 * inconsistency is an engine fault (INTERNAL), never booked.
 */
export function readPlans(w: WirePlans, bases: readonly AccountInput[]): (WirePlan | null)[] {
  const head = JSON.parse(w.head) as Head;
  if (!Array.isArray(head.plans) || head.plans.length !== bases.length) throw broken(`${head.plans?.length} plans for ${bases.length} accounts`);
  const x = w.num;
  let o = 0;
  const out = new Array<WirePlan | null>(bases.length);
  for (let i = 0; i < bases.length; i++) {
    const h = head.plans[i];
    if (h === null) {
      out[i] = null;
      continue;
    }
    const P = x[o];
    const F = x[o + 1];
    if (!Array.isArray(h.c)) throw broken(`plan ${i} has no balances`);
    const C = h.c.length;
    const O = ownCount(h.o, P, i);
    const FP = h.f === 1 ? P : 0;
    if (P !== bases[i].positions.length || !(F >= 0) || o + 2 + TOTALS + P + C + O + FP + 3 * F > x.length) throw broken(`plan ${i}: ${P} positions, ${F} flow entries`);
    const totals = { steps: x[o + 2], closedNotionalUsd: x[o + 3], fees: x[o + 4], liquidatorGain: x[o + 5], securityModulePaid: x[o + 6], socialised: x[o + 7], isolatedDeficit: x[o + 8] };
    o += 2 + TOTALS;
    const remaining = x.subarray(o, o + P);
    o += P;
    const collateral: Record<string, number> = {};
    for (let c = 0; c < C; c++) collateral[h.c[c]] = x[o++];
    let own: (Record<string, number> | undefined)[] | undefined;
    if (h.o) {
      own = new Array<Record<string, number> | undefined>(P);
      for (let k = 0; k < P; k++) {
        const names = h.o[k];
        if (!names) continue;
        const r: Record<string, number> = (own[k] = {});
        for (const c of names) r[c] = x[o++];
      }
    }
    const account = accountOf(bases[i], remaining, collateral, own);
    const fees = FP ? x.slice(o, o + FP) : null;
    o += FP;
    const flowU = new Array<string>(F);
    const flowNotional = new Array<number>(F);
    const flowCoin = new Array<number>(F);
    for (let j = 0; j < F; j++) {
      flowU[j] = underlyingAt(head, x[o + j], i);
      flowNotional[j] = x[o + F + j];
      flowCoin[j] = x[o + 2 * F + j];
    }
    o += 3 * F;
    out[i] = { totals, account, flowU, flowNotional, flowCoin, fees };
  }
  if (o !== x.length) throw broken(`${x.length - o} numbers left over`);
  return out;
}
