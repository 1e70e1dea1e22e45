/**
 * Revaluation of a risk scenario set through the one revaluation of the engine
 * (src/scenarios/revaluation.ts `Revaluation`, the same that serves the margin grids): a risk
 * ScenarioSet (log returns, vol ratios, stress shifts) is seen through the scenarios seam as
 * relative moves e^r − 1 and a 'surface' vol shock σ' = max(0.01, σ(K/(1+m))·ρ + shift(days, ln K/F')).
 * values[i·n + s] = USD P&L of one unit of instrument i in scenario s, so the aggregation
 * kernels (TS aggregateInto, WASM aggregateAccounts / aggregateTails) serve VaR as they serve margin.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { MIN_SHOCKED_VOL } from '../market/resolved.js';
import type { InstrumentTable } from '../instruments/table.js';
import { Revaluation } from '../scenarios/revaluation.js';
import type { ScenarioInfo, ScenarioSet as SeamSet, UnderlyingScenarios } from '../scenarios/types.js';
import { volShiftAt, type ScenarioSet } from './scenario-set.js';

export interface ScenarioValues {
  set: ScenarioSet;
  table: InstrumentTable;
  n: number;
  /** nInstruments × n, row-major (instruments of the table when it was last synced) */
  values: Float64Array;
  revaluation: Revaluation;
}

const seams = new WeakMap<ScenarioSet, SeamSet>();

/** The risk set as a scenarios-seam set (memoised per set). */
export function seamSet(set: ScenarioSet): SeamSet {
  let seam = seams.get(set);
  if (seam) return seam;
  const weights = new Float64Array(set.n).fill(1);
  seam = {
    id: `${set.id}#${set.hash}`,
    size: set.n,
    smile: 'sticky-moneyness',
    forUnderlying(u: string, spot: number): UnderlyingScenarios {
      const r = set.logReturn[u];
      if (!r) {
        throw new OptmarginError(
          ErrorCodes.INVALID_INPUT,
          `the scenario set ${set.id} has no moves for ${u} (it has ${set.underlyings.join(', ')}): add a --history file for ${u}`,
          'history',
        );
      }
      const moves = Float64Array.from(r, Math.expm1);
      const ratio = set.volRatio[u];
      const shifts = set.volShift?.[u];
      const info: ScenarioInfo[] = Array.from({ length: set.n }, (_, k) => ({
        index: k,
        label: set.labels?.[k] ?? `s${k}`,
        priceMove: moves[k],
        vol: ratio[k] > 1 ? 'up' : ratio[k] < 1 ? 'down' : 'same',
        weight: 1,
      }));
      const shift = shifts?.some((x) => x !== null) ? (s: number, days: number, lm: number) => (shifts[s] ? volShiftAt(shifts[s]!, days, lm) : 0) : undefined;
      return { underlying: u, spot, moves, vol: { kind: 'surface', ratio, floor: MIN_SHOCKED_VOL, ...(shift ? { shift } : {}) }, weights, info };
    },
  };
  seams.set(set, seam);
  return seam;
}

/** Values of every instrument of the table under the set (revaluing only what `prev` lacks). */
export function revalueInstruments(table: InstrumentTable, set: ScenarioSet, prev?: ScenarioValues): ScenarioValues {
  const revaluation = prev && prev.set === set && prev.table === table ? prev.revaluation : new Revaluation(table, seamSet(set));
  revaluation.sync();
  return { set, table, n: set.n, values: revaluation.values.subarray(0, table.count * set.n), revaluation };
}
