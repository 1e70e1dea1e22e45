/**
 * The scenario set of a margin grid: one template of scenarios (a fraction of the scan range or
 * an absolute move, a vol direction, a weight), scaled per underlying by its scan range
 * (`scanByUnderlying` overrides), with the grid's term vol shock.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { GridModel, UnderlyingScanParams } from '../measures/types.js';
import type { ScenarioInfo, ScenarioSet, UnderlyingScenarios, VolDirection } from './types.js';

export function scanFor(model: GridModel, u: string): UnderlyingScanParams {
  const o = model.scanByUnderlying?.[u];
  if (!o) return model.scan;
  return {
    rangeUp: o.rangeUp ?? model.scan.rangeUp,
    rangeDown: o.rangeDown ?? model.scan.rangeDown,
    vol: { ...model.scan.vol, ...(o.vol ?? {}) },
  };
}

const DIR: Record<VolDirection, number> = { up: 1, same: 0, down: -1 };

/** The grid's scenarios of underlying `u` (index `spot`). */
export function buildScenarios(model: GridModel, u: string, spot: number): UnderlyingScenarios & { scan: UnderlyingScanParams } {
  const scan = scanFor(model, u);
  const n = model.scenarios.length;
  const moves = new Float64Array(n);
  const dir = new Int8Array(n);
  const weights = new Float64Array(n);
  const info: ScenarioInfo[] = [];
  model.scenarios.forEach((s, k) => {
    const m = s.move !== undefined ? s.move : s.range! >= 0 ? s.range! * scan.rangeUp : s.range! * scan.rangeDown;
    if (!(m > -1)) {
      throw new OptmarginError(
        ErrorCodes.INVALID_MODEL,
        `${model.id}: scenarios[${k}] moves ${u} by ${(m * 100).toFixed(1)}%, which takes the price to or below zero`,
      );
    }
    moves[k] = m;
    dir[k] = DIR[s.vol];
    weights[k] = s.weight;
    const pct = `${m >= 0 ? '+' : ''}${(m * 100).toFixed(m * 100 === Math.round(m * 100) ? 0 : 2)}%`;
    info.push({ index: k, label: s.label ?? `${pct} vol ${s.vol}`, priceMove: m, vol: s.vol, weight: s.weight });
  });
  return { underlying: u, spot, scan, moves, vol: { kind: 'term', params: scan.vol, dir }, weights, info };
}

/** The scenario set of a grid model (its template for every underlying). */
export function gridScenarioSet(model: GridModel): ScenarioSet {
  return {
    id: `grid:${model.id}@${model.version}`,
    size: model.scenarios.length,
    smile: model.smile,
    forUnderlying: (u, spot) => buildScenarios(model, u, spot),
  };
}
