/**
 * Liquidation plan of one account: which positions to close, in which order and how much, to
 * bring it back to a target, every step's figures from the margin engine (the one home of the
 * margin arithmetic: a fresh margin, or the what-if from the account's kept vectors,
 * MarginEngine.figuresAfter). Fixed-price mechanisms close positions step by step;
 * a Dutch-auction mechanism runs Lyra's auction on the whole portfolio — on an isolated account,
 * on each position below its own MM with its own collateral (auction-plan.ts).
 *
 * Targets (gap ≥ 0 restores the account):
 *   mm-buffer    gap = equity − MM × (1 + buffer)
 *   im           gap = equity − IM
 *   lyra-buffer  gap = BM = mm + (mm − MtM) × b with Lyra's mm = equity − MM and MtM = equity,
 *                i.e. equity − MM × (1 + b): Lyra's buffer margin is the mm-buffer target with
 *                buffer = bufferMarginPercentage.
 * Strategies: venue-order (kinds in the mechanism's order, largest notional first; a step that
 * does not improve the gap moves on to the next position), greedy (at each step the position
 * whose next step releases the most MM per USD of liquidation cost, among steps that improve
 * the gap), largest-release (the position whose next step releases the most MM, among steps
 * that improve the gap: Deribit's portfolio-margin rule since 2023-08-01, the instrument
 * "contributing the most to the overall margin requirements" first), proportional (the same
 * fraction of every position per step).
 * Isolated accounts: each position planned on its own collateral, as its own one-position account
 * (plan-isolated.ts).
 * Termination: every step removes at least one step size (or the rest) of a position, so at most
 * Σ ⌈1 / stepFraction⌉ steps; the plan stops at the first step that restores the target.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { MarginEngine } from '../runner/account/runner.js';
import { validateAccount } from '../instruments/account.js';
import type { AccountInput } from '../measures/types.js';
import { auctionPlan } from './auction-plan.js';
import type { LiquidationPlan, PlanOptions } from './plan-core.js';

export { figuresOk, finishPlan, gapOf, isTrade, marginOk, type AuctionBidStep, type CloseStep, type LiquidationPlan, type PlanOptions, type PlanStep } from './plan-core.js';
import { loadMechanism, type Mechanism, type PlanSpec } from './mechanism.js';
import { FixedPricePlanner } from './plan-fixed.js';
import { IsolatedPlanner } from './plan-isolated.js';
import { hedgedPlan } from './plan-hedge.js';
import type { CloseTrail } from './plan-trail.js';

export function planLiquidation(engine: MarginEngine, accountIn: AccountInput | unknown, opts: PlanOptions = {}): LiquidationPlan {
  const account = opts.validated ? (accountIn as AccountInput) : validateAccount(accountIn);
  const { mech, spec } = planSetup(opts);
  if (mech.mechanism === 'dutch-auction') return auctionPlan(engine, account, mech, spec, opts.auctionTime ?? 0, opts.securityModuleBalance);
  if (account.mode === 'isolated') return new IsolatedPlanner(engine, account, mech, spec, opts.priorNotional).run();
  const plan = new FixedPricePlanner(engine, account, mech, spec, opts.priorNotional, null).run();
  if (plan.restored || !spec.hedge) return plan;
  // Deribit's portfolio-margin fallback: hedges in the perpetual, then closes again (plan-hedge.ts)
  return hedgedPlan(engine, account, mech, spec, opts.priorNotional, plan, (a, prior) => new FixedPricePlanner(engine, a, mech, spec, prior, null).run());
}

/**
 * A fixed-price plan of a validated account with its close steps written into `trail` (no step
 * objects: what a simulation round books, plan-round.ts) — the same steps as planLiquidation's.
 * False, with nothing planned, when the mechanism is a Dutch auction or hedges (planLiquidation
 * plans it: a hedge opens a position the trail's remaining sizes have no room for).
 */
export function planTrail(engine: MarginEngine, account: AccountInput, opts: PlanOptions, trail: CloseTrail): boolean {
  const { mech, spec } = planSetup(opts);
  if (mech.mechanism === 'dutch-auction' || spec.hedge) return false;
  if (account.mode === 'isolated') new IsolatedPlanner(engine, account, mech, spec, opts.priorNotional).runTrail(trail);
  else new FixedPricePlanner(engine, account, mech, spec, opts.priorNotional, trail).runTrail();
  return true;
}

/** The mechanism and the plan's spec (the mechanism's, overridden by the options). */
function planSetup(opts: PlanOptions): { mech: Mechanism; spec: PlanSpec } {
  const mech = loadMechanism(opts.mechanism ?? 'deribit-incremental');
  const spec: PlanSpec = { ...(mech.plan ?? { target: 'lyra-buffer', buffer: 0, strategy: 'proportional', order: ['future', 'perpetual', 'option', 'spot'], stepFraction: 0.01 }) };
  if (opts.target) spec.target = opts.target;
  if (opts.buffer !== undefined) spec.buffer = opts.buffer;
  if (opts.strategy) spec.strategy = opts.strategy;
  if (opts.stepFraction !== undefined) {
    if (!(opts.stepFraction > 0 && opts.stepFraction <= 1)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `stepFraction must be in (0, 1], got ${opts.stepFraction}`);
    spec.stepFraction = opts.stepFraction;
  }
  if (spec.target === 'lyra-buffer' && mech.mechanism === 'dutch-auction' && opts.buffer === undefined) spec.buffer = mech.auction.bufferMarginPercentage;
  return { mech, spec };
}
