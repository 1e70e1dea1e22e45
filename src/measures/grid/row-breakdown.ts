/**
 * The readable breakdown of one grid row (margin()'s `grid` entries): its scenarios' weighted
 * losses, its worst scenario, the add-ons the model has and its IM.
 */
import type { Revaluation } from '../../scenarios/revaluation.js';
import type { UnderlyingGridBreakdown } from '../types.js';
import type { GridMeasureParams } from './params.js';

/**
 * Row of underlying scenarios `sc`: vector pnl[off ..], worst scenario w, its loss `worstLoss`
 * (≥ 0) and IM `im`; `parts` = rowIm's [short option add-on, futures add-on, short option minimum].
 */
export function rowBreakdown(
  p: GridMeasureParams,
  parts: Float64Array,
  sc: ReturnType<Revaluation['scenariosOf']>,
  w: number,
  worstLoss: number,
  pnl: Float64Array,
  off: number,
  im: number,
): UnderlyingGridBreakdown {
  const ns = sc.moves.length;
  const losses = new Array<number>(ns);
  for (let s = 0; s < ns; s++) losses[s] = -sc.weights[s] * pnl[off + s] + 0;
  const addOns: Record<string, number> = {};
  if (p.shortOption !== null) addOns.shortOption = parts[0];
  if (p.futuresFraction !== null) addOns.futures = parts[1];
  if (p.shortOptionMinimum !== null) addOns.shortOptionMinimum = parts[2];
  return { underlying: sc.underlying, spot: sc.spot, worstScenario: sc.info[w], worstLoss, scenarioLosses: losses, scenarios: sc.info, addOns, initialMargin: im };
}
