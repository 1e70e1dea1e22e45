/**
 * The fixed-price plan of an isolated account (plan.ts). Each position of an isolated account is
 * margined on its own collateral (docs/margin.md, *Modes*): it is liquidated on its own, when its
 * own figures fall short of the target, whatever the account's other balances. So each position
 * is planned as its sub-account — a one-position cross account holding the position's own
 * collateral, whose figures are the isolated position's (the grid and rule-based measures sum
 * them that way) — by the one fixed-price planner (plan-fixed.ts), positions in venue order
 * (kind rank, notional, index), each step's impact priced on the notional of the steps before.
 *
 * Booking: a step's cash and fee go to the position's own collateral, as a venue's isolated
 * margin takes a partial close's realised P&L and fee from the position's margin. A position
 * closed whole returns its own collateral to the account's balances (execution.ts accountOf) —
 * unless that collateral is worth less than nothing: then the trader forfeits it whole and the
 * loss beyond the position's margin is the plan's isolatedDeficit (USD), not charged to the
 * account (on a venue the insurance fund takes it; a simulation's shortfall desk charges the
 * fund, then socialised loss or ADL, and only what no one recovers to the account). A bankrupt
 * position (own equity < 0) is closed whole — by steps that do not improve its gap too, once none
 * does: a venue takes a bankrupt isolated position over, and its trader loses the margin, no more.
 *
 * The account's gap: Σ over open positions of min(0, own gap) + min(0, account equity) — negative
 * when a position is short of the target, or when the account is bankrupt (isolatedHealthCode: its
 * balances owe more than its positions' equity; no position's step can mend that). A step's
 * figures are the account's: its figures before the plan moved by the step's position's own
 * (an isolated account's equity, IM and MM are its balances' value plus its positions' own).
 */
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, PositionInput } from '../measures/types.js';
import { accountOf, notionalUsd, positionFacts, type PositionFacts } from './execution.js';
import { figuresOk, finishPlan, gapOf, planReason, type CloseStep, type LiquidationPlan } from './plan-core.js';
import type { FixedPriceMechanism, PlanSpec } from './mechanism.js';
import { FixedPricePlanner } from './plan-fixed.js';
import { CloseTrail } from './plan-trail.js';

/** A position's plan in trail form (runTrail), read into the account's trail before the next (one per thread). */
const subTrail = new CloseTrail();

export class IsolatedPlanner {
  private readonly facts: PositionFacts[];
  /** per position: its remaining size and its own collateral after the plan */
  private readonly remaining: number[];
  private readonly own: (Record<string, number> | undefined)[];
  /** notional liquidated per underlying so far, the prior notional included */
  private readonly cum: Record<string, number>;
  private deficit = 0;

  constructor(
    private readonly engine: MarginEngine,
    private readonly account: AccountInput,
    private readonly mech: FixedPriceMechanism,
    private readonly spec: PlanSpec,
    prior: Record<string, number> | undefined,
  ) {
    // read before any margin (by name: the table values an instrument on first sight), as plan-fixed.ts firstFigures reports
    // a failed margin's positions; the account itself is margined only by run() (each position's sub-plan margins its own)
    const n = account.positions.length;
    this.facts = new Array<PositionFacts>(n);
    for (let k = 0; k < n; k++) this.facts[k] = positionFacts(engine.table, account.positions[k], k);
    this.remaining = account.positions.map((p) => p.size);
    this.own = account.positions.map((p) => p.collateral);
    this.cum = { ...prior };
  }

  /** The plan with its steps (planLiquidation). */
  run(): LiquidationPlan {
    const before = figuresOk(this.engine, this.account);
    const subs = this.venueOrder().map((k) => ({ k, sub: this.subAccount(k) }));
    // each position's own gap (≤ 0 part) before the plan, kept per position as the steps move it: the account's gap sums
    // them afresh (an incremental sum would leave rounding residue where every term is back to 0)
    const ownGap = subs.map(({ sub }) => Math.min(0, gapOf(figuresOk(this.engine, sub), this.spec.target, this.spec.buffer)));
    const sumGaps = (): number => ownGap.reduce((s, g) => s + g, 0);
    const g0 = sumGaps() + Math.min(0, before.equity);
    const fig = { equity: before.equity, im: before.initialMargin, mm: before.maintenanceMargin };
    const steps: CloseStep[] = [];
    subs.forEach(({ k, sub }, i) => {
      const plan = new FixedPricePlanner(this.engine, sub, this.mech, this.spec, this.cum, null, true).run();
      if (plan.steps.length === 0) return;
      const b = plan.before;
      const base = { ...fig };
      const last = plan.steps.length - 1;
      // a position closed (by the plan's last step) has no own gap left: its collateral joined the balances, or was forfeited
      const closed = plan.after.account.positions.length === 0;
      plan.steps.forEach((s, j) => {
        if (s.type !== 'close') return;
        // the closing step of a position below its margin: its collateral forfeited, its own equity no longer the account's
        const own = j === last && closed && s.equity < 0 ? 0 : s.equity;
        fig.equity = base.equity + (own - b.equity);
        fig.im = base.im + (s.initialMargin - b.initialMargin);
        fig.mm = base.mm + (s.maintenanceMargin - b.maintenanceMargin);
        ownGap[i] = j === last && closed ? 0 : Math.min(0, s.gap);
        steps.push({ ...s, step: steps.length + 1, position: k, equity: fig.equity, initialMargin: fig.im, maintenanceMargin: fig.mm, gap: sumGaps() + Math.min(0, fig.equity) });
      });
      this.settle(k, plan.after.account.positions[0]?.size ?? 0, plan.after.account.collateral, plan.totals.closedNotionalUsd, plan.steps[plan.steps.length - 1].equity);
    });
    const after = this.after();
    const afterFigures = figuresOk(this.engine, after);
    const gapAfter = sumGaps() + Math.min(0, afterFigures.equity);
    const restored = gapAfter >= 0;
    const plan = finishPlan(this.engine, this.account, this.mech, this.spec, before, g0, steps, restored, planReason(steps.length, restored, this.openCount()), after, afterFigures);
    plan.totals.isolatedDeficit = this.deficit;
    return plan;
  }

  /** The plan into `trail` (planTrail): its steps, each position's remaining size and own collateral, the deficit. */
  runTrail(trail: CloseTrail): void {
    trail.begin(this.facts);
    for (const k of this.venueOrder()) {
      new FixedPricePlanner(this.engine, this.subAccount(k), this.mech, this.spec, this.cum, subTrail, true).runTrail();
      if (subTrail.n === 0) continue;
      let closed = 0;
      for (let j = 0; j < subTrail.n; j++) {
        trail.add(k, subTrail.size[j], subTrail.notional[j], subTrail.fee[j], subTrail.gain[j]);
        closed += subTrail.notional[j];
      }
      this.settle(k, subTrail.remaining[0], subTrail.collateral!, closed, subTrail.equity);
    }
    if (trail.n === 0) return;
    // the account's own balances are not changed by an isolated plan (NaN: its equity after is not tracked here)
    trail.end(this.remaining, this.remaining.length, this.account.collateral, Number.NaN);
    trail.own = this.own;
    trail.deficit = this.deficit;
  }

  /**
   * Position k's plan took steps: its remaining size and own collateral, its closed notional added
   * to the impact's; closed whole with a negative own equity (`equityAfter`: its sub-account's, its
   * own collateral's value once closed), its collateral forfeited and the deficit.
   */
  private settle(k: number, left: number, own: Record<string, number>, closedNotional: number, equityAfter: number): void {
    this.remaining[k] = left;
    this.own[k] = own;
    const u = this.facts[k].underlying;
    this.cum[u] = (this.cum[u] ?? 0) + closedNotional;
    if (left !== 0 || !(equityAfter < 0)) return;
    // closed below its margin: its own collateral is forfeited (not returned), the rest is the deficit
    this.own[k] = undefined;
    this.deficit -= equityAfter;
  }

  private subAccount(k: number): AccountInput {
    return isolatedSub(this.account, k, this.own[k]);
  }

  /** The positions in venue order: kind rank in the mechanism's order, then notional (desc), then index. */
  private venueOrder(): number[] {
    const order = this.spec.order;
    const rank = (k: number): number => {
      const r = order.indexOf(this.facts[k].kind);
      return r < 0 ? order.length : r;
    };
    const notional = this.facts.map((f, k) => notionalUsd(f, this.account.positions[k].size));
    return this.facts.map((_, k) => k).sort((a, b) => rank(a) - rank(b) || notional[b] - notional[a] || a - b);
  }

  private after(): AccountInput {
    return accountOf(this.account, this.remaining, this.account.collateral, this.own);
  }

  private openCount(): number {
    let n = 0;
    for (const x of this.remaining) if (x !== 0) n++;
    return n;
  }
}

/**
 * Position k of an isolated account as its sub-account: one position, in cross mode, holding
 * `own` (the position's own collateral, as the plan has it so far) as its balances — what an
 * isolated position is margined and liquidated on (its figures are the isolated position's).
 */
export function isolatedSub(account: AccountInput, k: number, own: Readonly<Record<string, number>> | undefined): AccountInput {
  const p = account.positions[k];
  const position: PositionInput = { instrument: p.instrument, size: p.size };
  if (p.entryPrice !== undefined) position.entryPrice = p.entryPrice;
  return { id: account.id, mode: 'cross', collateral: { ...(own ?? {}) }, positions: [position] };
}
