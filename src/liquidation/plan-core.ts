/**
 * What a liquidation plan is (its options, steps and result) and the helpers both planners use
 * (fixed-price: plan.ts; Dutch auction: auction-plan.ts): the gap to the target, a margin that
 * must be ok, and the plan's closing totals.
 */
import { OptmarginError } from '../errors.js';
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, MarginFigures, MarginResultOk } from '../measures/types.js';
import type { Mechanism, PlanSpec, PlanStrategy, PlanTarget } from './mechanism.js';

export interface PlanOptions {
  /** mechanism id, file or object (default deribit-incremental) */
  mechanism?: Mechanism | string;
  target?: PlanTarget;
  buffer?: number;
  strategy?: PlanStrategy;
  stepFraction?: number;
  /** Dutch auction: seconds after the auction start at which the bids are placed (default 0) */
  auctionTime?: number;
  /** impact: notional already liquidated on each underlying before the plan (in a simulation step, the flow of the step's earlier cascade rounds: a round is a batch auction) */
  priorNotional?: Record<string, number>;
  /** the account is a validated AccountInput already (BookEngine.account's): not validated again */
  validated?: boolean;
  /** Dutch auction: cash of the security module that pays insolvent bidders (default: the mechanism's insuranceFund.initialUsd) */
  securityModuleBalance?: number;
}

export interface CloseStep {
  step: number;
  /** close: a step of a position; hedge: a trade in a perpetual against the account's delta (plan-hedge.ts) */
  type: 'close' | 'hedge';
  /** index in the input account's positions (a hedge's: beyond them, plan-hedge.ts) */
  position: number;
  instrument: string;
  /** the account's trade (a close: opposite sign of the position, −size closed) */
  size: number;
  /** execution price in the instrument's price unit, and its mark */
  price: number;
  markPrice: number;
  notionalUsd: number;
  /** fee paid to the insurance fund (USD) */
  fee: number;
  /** mark value received by the liquidator minus what it paid (USD) */
  liquidatorGain: number;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  gap: number;
}

export interface AuctionBidStep {
  step: number;
  type: 'auction-start' | 'auction-bid';
  /** an isolated account's auction: the position whose sub-account (the position and its own collateral) is auctioned; absent when the whole portfolio is */
  position?: number;
  /** seconds after the auction start */
  t: number;
  insolvent: boolean;
  /** fraction of the then-current portfolio taken by the bidder */
  percent: number;
  discount: number;
  cashFromBidder: number;
  cashToBidder: number;
  securityModulePaid: number;
  socialised: number;
  /** fee charged at the start to the security module (USD) */
  fee: number;
  liquidatorGain: number;
  notionalUsd: number;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  gap: number;
}

export type PlanStep = CloseStep | AuctionBidStep;

/** Whether a step is a trade of the account (a close or a hedge), not an auction's. */
export function isTrade(s: PlanStep): s is CloseStep {
  return s.type === 'close' || s.type === 'hedge';
}

export interface LiquidationPlan {
  id: string;
  mechanism: { id: string; version: string; mechanism: Mechanism['mechanism'] };
  target: { kind: PlanTarget; buffer: number };
  strategy: PlanStrategy | 'dutch-auction';
  stepFraction: number;
  before: { equity: number; initialMargin: number; maintenanceMargin: number; health: string; gap: number };
  steps: PlanStep[];
  restored: boolean;
  reason: string;
  /**
   * isolatedDeficit (USD): an isolated account's loss beyond its positions' own margins — the
   * negative value of the own collateral a position closed whole left (plan-isolated.ts). Not
   * charged to the account (that collateral is forfeited, not returned to its balances); a
   * simulation's shortfall desk charges it to the fund, then socialised loss or ADL.
   */
  totals: { steps: number; closedNotionalUsd: number; fees: number; liquidatorGain: number; securityModulePaid: number; socialised: number; isolatedDeficit: number };
  after: { account: AccountInput; margin: MarginResultOk };
}

/** A plan's totals of `steps` steps before any is summed (finishPlan's, and a round plan's trail: plan-trail.ts). */
export function noTotals(steps: number): LiquidationPlan['totals'] {
  return { steps, closedNotionalUsd: 0, fees: 0, liquidatorGain: 0, securityModulePaid: 0, socialised: 0, isolatedDeficit: 0 };
}

/** One step's trade added to a plan's totals (its closed notional, fee and liquidator's gain; the steps in order from 0). */
export function addTrade(totals: LiquidationPlan['totals'], notionalUsd: number, fee: number, liquidatorGain: number): void {
  totals.closedNotionalUsd += notionalUsd;
  totals.fees += fee;
  totals.liquidatorGain += liquidatorGain;
}

/** Why a plan of `steps` steps ended, `restored` or not, with `open` positions left. */
export function planReason(steps: number, restored: boolean, open: number): string {
  if (steps > 0) return restored ? 'target restored' : open === 0 ? 'every position closed: the target cannot be met' : 'no closing step improves the target';
  if (restored) return 'the account already meets the target';
  return open === 0 ? 'no positions to close' : 'no closing step improves the target';
}

export function gapOf(r: MarginFigures, target: PlanTarget, buffer: number): number {
  if (target === 'im') return r.equity - r.initialMargin;
  return r.equity - r.maintenanceMargin * (1 + buffer);
}

/**
 * Whether a step from gap g0 to g (figures `cur` before it) improves the gap: by more than 1e-12
 * of the account's scale (|equity| + IM). A change within rounding of zero — a worthless position
 * closed, the same figures summed in another order — is no improvement, so that a plan's
 * decisions do not depend on the last bits of how a candidate's figures were summed (a fresh
 * margin or the kept vectors' what-if).
 */
export function improves(g: number, g0: number, cur: MarginFigures): boolean {
  return g - g0 > 1e-12 * (Math.abs(cur.equity) + Math.abs(cur.initialMargin));
}

export function marginOk(engine: MarginEngine, a: AccountInput): MarginResultOk {
  const r = engine.margin(a);
  if (!r.ok) throw new OptmarginError(r.error.code, `account ${a.id}: ${r.error.message}`, r.error.path);
  return r;
}

/**
 * The headline figures of a plan's account — the validated input or one built from it by the
 * planner (MarginEngine.figuresOfValid: margin()'s doubles, no breakdown, no re-validation);
 * errors as marginOk's.
 */
export function figuresOk(engine: MarginEngine, a: AccountInput): MarginFigures {
  const r = engine.figuresOfValid(a);
  if (!r.ok) throw new OptmarginError(r.error.code, `account ${a.id}: ${r.error.message}`, r.error.path);
  return r;
}

/** The plan of one account under a mechanism. */
export function finishPlan(
  engine: MarginEngine,
  account: AccountInput,
  mech: Mechanism,
  spec: PlanSpec,
  before: { equity: number; initialMargin: number; maintenanceMargin: number; health: string },
  g0: number,
  steps: PlanStep[],
  restored: boolean,
  reason: string,
  afterAccount: AccountInput,
  afterFigures?: MarginFigures,
): LiquidationPlan {
  // the after account's figures now (an error surfaces with the plan) unless the planner has
  // them already; its full margin result (breakdown included) when first read: a simulation
  // reads the book's figures instead
  if (!afterFigures) figuresOk(engine, afterAccount);
  let margin: MarginResultOk | null = null;
  const after = {
    account: afterAccount,
    get margin(): MarginResultOk {
      return (margin ??= marginOk(engine, afterAccount));
    },
  };
  const totals = noTotals(steps.length);
  for (const s of steps) {
    addTrade(totals, s.notionalUsd, s.fee, s.liquidatorGain);
    if (s.type === 'auction-start' || s.type === 'auction-bid') {
      totals.securityModulePaid += s.securityModulePaid;
      totals.socialised += s.socialised;
    }
  }
  return {
    id: account.id,
    mechanism: { id: mech.id, version: mech.version, mechanism: mech.mechanism },
    target: { kind: spec.target, buffer: spec.buffer },
    strategy: mech.mechanism === 'dutch-auction' ? 'dutch-auction' : spec.strategy,
    stepFraction: spec.stepFraction,
    before: { equity: before.equity, initialMargin: before.initialMargin, maintenanceMargin: before.maintenanceMargin, health: before.health, gap: g0 },
    steps,
    restored,
    reason,
    totals,
    after,
  };
}
