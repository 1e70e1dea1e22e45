/**
 * Scenario sets given scenario by scenario: historical (returns of each underlying over a
 * window, with the change of its implied-vol index), Monte Carlo draws, or a stress list. Each
 * scenario moves every listed underlying by its own relative move; vols move by a relative
 * change (σ' = max(floor, σ × (1 + change))); scenarios/types.ts VolShock 'surface' also takes
 * absolute shifts by tenor and moneyness for stress sets. Weights are 1 (every scenario counts in full).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { ScenarioInfo, ScenarioSet, UnderlyingScenarios } from './types.js';

export interface ExplicitUnderlying {
  /** relative price move per scenario (−0.1 = −10 %), each > −1 */
  moves: ArrayLike<number>;
  /** relative vol change per scenario (0.2 = vols × 1.2); absent = vols unchanged */
  volChanges?: ArrayLike<number>;
}

export interface ExplicitScenarioSpec {
  id: string;
  /** per underlying; every array has the same length (the set's size) */
  underlyings: Record<string, ExplicitUnderlying>;
  /** labels per scenario (e.g. the historical date); default "s<k>" */
  labels?: readonly string[];
  smile?: 'sticky-moneyness' | 'sticky-strike';
  /** lowest vol a negative change may produce (default 0.01) */
  volFloor?: number;
}

function fail(path: string, msg: string): never {
  throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${path} ${msg}`, path);
}

/** Validates the spec once and returns the set. An underlying that is not listed has no scenarios (an error when met). */
export function explicitScenarioSet(spec: ExplicitScenarioSpec): ScenarioSet {
  const names = Object.keys(spec.underlyings);
  if (names.length === 0) fail('underlyings', 'must list at least one underlying');
  const size = spec.underlyings[names[0]].moves.length;
  if (size === 0) fail(`underlyings.${names[0]}.moves`, 'must hold at least one scenario');
  const floor = spec.volFloor ?? 0.01;
  const prepared = new Map<string, { moves: Float64Array; ratio: Float64Array }>();
  for (const u of names) {
    const x = spec.underlyings[u];
    if (x.moves.length !== size) fail(`underlyings.${u}.moves`, `must hold ${size} scenarios, got ${x.moves.length}`);
    const moves = Float64Array.from(x.moves);
    moves.forEach((m, k) => {
      if (!(m > -1) || !Number.isFinite(m)) fail(`underlyings.${u}.moves[${k}]`, `must be a finite move > -1, got ${m}`);
    });
    const ratio = new Float64Array(size).fill(1);
    if (x.volChanges) {
      if (x.volChanges.length !== size) fail(`underlyings.${u}.volChanges`, `must hold ${size} scenarios, got ${x.volChanges.length}`);
      for (let k = 0; k < size; k++) {
        const c = x.volChanges[k];
        if (!(c > -1) || !Number.isFinite(c)) fail(`underlyings.${u}.volChanges[${k}]`, `must be a finite change > -1, got ${c}`);
        ratio[k] = 1 + c;
      }
    }
    prepared.set(u, { moves, ratio });
  }
  if (spec.labels && spec.labels.length !== size) fail('labels', `must hold ${size} labels, got ${spec.labels.length}`);
  const weights = new Float64Array(size).fill(1);
  return {
    id: spec.id,
    size,
    smile: spec.smile ?? 'sticky-moneyness',
    forUnderlying(u: string, spot: number): UnderlyingScenarios {
      const x = prepared.get(u);
      if (!x) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `scenario set ${spec.id} has no scenarios for underlying ${JSON.stringify(u)}`);
      const info: ScenarioInfo[] = [];
      for (let k = 0; k < size; k++) {
        const c = x.ratio[k];
        info.push({ index: k, label: spec.labels?.[k] ?? `s${k}`, priceMove: x.moves[k], vol: c > 1 ? 'up' : c < 1 ? 'down' : 'same', weight: 1 });
      }
      return { underlying: u, spot, moves: x.moves, vol: { kind: 'surface', ratio: x.ratio, floor }, weights, info };
    },
  };
}
