/**
 * The cascade replay, run in the playground's book worker: the loaded book moved along a path of
 * price shocks (one underlying, the same relative move at every step, compounded), liquidated by
 * a mechanism at every step. It is the liquidation engine's own Simulation, as
 * `optmargin simulate BOOK --path shocks.json` runs it: nothing here computes a figure.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadMechanism } from '../liquidation/mechanism.js';
import { MECHANISM_DATA } from '../liquidation/mechanism-presets.js';
import { shocksPath } from '../liquidation/paths.js';
import { Simulation, type BookSummaryBefore, type StepReport } from '../liquidation/simulate.js';

export interface CascadeRequest {
  model: string;
  mechanism: string;
  underlying: string;
  /** relative move of the underlying at every step (−0.03: −3 % a step, compounded) */
  stepMove: number;
  steps: number;
  /** starting insurance fund in USD (absent: the mechanism's) */
  insuranceFundUsd?: number;
}

/** A step as the page shows it (the accounts' indices are left in the worker). */
export type CascadeStep = Omit<StepReport, 'liquidatedAccounts'>;

export interface CascadeView {
  model: string;
  mechanism: string;
  underlying: string;
  before: BookSummaryBefore;
  /** starting insurance fund (USD) and the underlying's index before the path (USD) */
  fund0: number;
  spot0: number;
  steps: CascadeStep[];
  ms: number;
}

export const MAX_CASCADE_STEPS = 200;

/** The path document (the schema of `optmargin simulate --path`): step i moves the index to S·(1 + m)^i. */
export function cascadePathDoc(underlying: string, stepMove: number, steps: number): { steps: { name: string; moves: Record<string, number> }[] } {
  return { steps: Array.from({ length: steps }, (_, i) => ({ name: `step ${i + 1}`, moves: { [underlying]: (1 + stepMove) ** (i + 1) - 1 } })) };
}

function checkRequest(req: CascadeRequest, market: ResolvedMarket): void {
  const steps = check.finite('steps', req.steps);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_CASCADE_STEPS) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `steps must be an integer from 1 to ${MAX_CASCADE_STEPS}, got ${JSON.stringify(req.steps)}`, 'steps');
  }
  const m = check.finite('stepMove', req.stepMove);
  if (!(m > -0.5 && m < 0.5)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `stepMove must be in (−50 %, +50 %), got ${m}`, 'stepMove');
  if (req.insuranceFundUsd !== undefined && !(check.finite('insuranceFundUsd', req.insuranceFundUsd) >= 0)) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `insuranceFundUsd must be ≥ 0, got ${req.insuranceFundUsd}`, 'insuranceFundUsd');
  }
  if (!market.hasUnderlying(req.underlying)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no ${JSON.stringify(req.underlying)}`, 'underlying');
  if (!MECHANISM_DATA[req.mechanism]) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `unknown liquidation mechanism ${JSON.stringify(req.mechanism)}`, 'mechanism');
}

/** Runs the whole path on `accounts` (the book as loaded) and returns every step's report. */
export async function runCascade(accounts: readonly unknown[], market: ResolvedMarket, req: CascadeRequest): Promise<CascadeView> {
  checkRequest(req, market);
  const t0 = performance.now();
  const path = shocksPath(market, cascadePathDoc(req.underlying, req.stepMove, req.steps), 'playground');
  const sim = await Simulation.create({ accounts, market, model: req.model, mechanism: loadMechanism(MECHANISM_DATA[req.mechanism]), threads: 1, insuranceFundUsd: req.insuranceFundUsd });
  const fund0 = sim.insuranceFundUsd;
  const steps: CascadeStep[] = [];
  try {
    for (const p of path.steps) {
      const { liquidatedAccounts: _omitted, ...r } = await sim.step(p.market, p.label, p.dailyVol);
      steps.push(r);
    }
  } finally {
    await sim.close();
  }
  return { model: sim.model.params.id, mechanism: sim.mechanism.id, underlying: req.underlying, before: sim.before, fund0, spot0: market.spot(req.underlying), steps, ms: performance.now() - t0 };
}
