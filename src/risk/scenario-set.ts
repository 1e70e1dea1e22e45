/**
 * A scenario set is a value: joint moves of every underlying, with an id and a content hash that
 * results carry (like a model's hash and a market's hash). Scenario s moves underlying u's index,
 * perpetual and forwards by the factor e^{logReturn[u][s]} (joint across underlyings), its implied
 * vols by the factor volRatio[u][s] (1 = unchanged), then, for stress sets, by the absolute shifts
 * of `volShift` (parallel, per tenor, smile tilt). Measures (VaR, ES, margin) read P&L vectors
 * built from a set; they never build scenarios themselves.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { sha256OfParts } from '../platform/hash.js';

export type ScenarioKind = 'historical' | 'fhs' | 'monte-carlo' | 'stress';

/** Absolute vol moves of a stress scenario, in vol units (0.10 = +10 vol points). */
export interface VolShift {
  /** parallel shift, every expiry and strike */
  parallel?: number;
  /** shift by tenor (days to expiry), linear in days between points, flat outside */
  byTenor?: { days: number; shift: number }[];
  /** smile tilt: + tilt × ln(K/F) */
  tilt?: number;
}

export interface ScenarioSet {
  readonly id: string;
  readonly hash: string;
  readonly kind: ScenarioKind;
  /** number of scenarios */
  readonly n: number;
  readonly underlyings: string[];
  /** per underlying, per scenario: log price move (the price is multiplied by e^r) */
  readonly logReturn: Record<string, Float64Array>;
  /** per underlying, per scenario: implied-vol multiplier */
  readonly volRatio: Record<string, Float64Array>;
  /** stress only: absolute vol moves per underlying per scenario (null = none) */
  readonly volShift?: Record<string, (VolShift | null)[]>;
  /** per scenario: the date of the return (historical, FHS), the episode or user label (stress) */
  readonly labels?: string[];
  /** how the set was built (method, as-of, lookback, horizon, λ, seed, …), echoed in results */
  readonly params: Record<string, unknown>;
}

/** Builds the value: validates shapes, computes the content hash, fills the id. */
export function makeScenarioSet(
  kind: ScenarioKind,
  idBody: string,
  underlyings: string[],
  logReturn: Record<string, Float64Array>,
  volRatio: Record<string, Float64Array>,
  params: Record<string, unknown>,
  labels?: string[],
  volShift?: Record<string, (VolShift | null)[]>,
): ScenarioSet {
  const n = underlyings.length ? logReturn[underlyings[0]].length : 0;
  for (const u of underlyings) {
    if (logReturn[u]?.length !== n || volRatio[u]?.length !== n) {
      throw new OptmarginError(ErrorCodes.INTERNAL, `scenario set ${idBody}: ${u} has ${logReturn[u]?.length} moves for ${n} scenarios`);
    }
    for (let s = 0; s < n; s++) {
      if (!Number.isFinite(logReturn[u][s]) || !(volRatio[u][s] > 0)) {
        throw new OptmarginError(ErrorCodes.INTERNAL, `scenario set ${idBody}: scenario ${s} of ${u} is not finite`);
      }
    }
  }
  const parts: (string | Float64Array)[] = [JSON.stringify({ kind, underlyings, params, labels: labels ?? null, volShift: volShift ?? null })];
  for (const u of underlyings) parts.push(u, logReturn[u], volRatio[u]);
  const hash = sha256OfParts(parts).slice(0, 16);
  const set: ScenarioSet = { id: `${kind}:${idBody}`, hash, kind, n, underlyings, logReturn, volRatio, params };
  if (labels) (set as { labels?: string[] }).labels = labels;
  if (volShift) (set as { volShift?: Record<string, (VolShift | null)[]> }).volShift = volShift;
  return set;
}

/**
 * Scenarios [from, to) of a set, as a set of their own (a distributed VaR shard's block): the same
 * moves, so each scenario revalues to the same doubles as in the whole set.
 */
export function scenarioBlock(set: ScenarioSet, from: number, to: number): ScenarioSet {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= set.n)) {
    throw new OptmarginError(ErrorCodes.INTERNAL, `scenario block [${from}, ${to}) of a set of ${set.n}`);
  }
  const cut = <T>(r: Record<string, ArrayLike<T> & { slice(a: number, b: number): ArrayLike<T> }>) => Object.fromEntries(set.underlyings.map((u) => [u, r[u].slice(from, to)]));
  const block: ScenarioSet = {
    ...set,
    id: `${set.id}[${from}:${to}]`,
    hash: `${set.hash}[${from}:${to}]`,
    n: to - from,
    logReturn: cut(set.logReturn) as Record<string, Float64Array>,
    volRatio: cut(set.volRatio) as Record<string, Float64Array>,
  };
  if (set.volShift) (block as { volShift?: ScenarioSet['volShift'] }).volShift = cut(set.volShift as Record<string, (VolShift | null)[]>) as ScenarioSet['volShift'];
  if (set.labels) (block as { labels?: string[] }).labels = set.labels.slice(from, to);
  return block;
}

/** The absolute vol shift of `v` for an option `days` to expiry and log-moneyness ln(K/F). */
export function volShiftAt(v: VolShift, days: number, logMoneyness: number): number {
  let s = v.parallel ?? 0;
  const c = v.byTenor;
  if (c && c.length) {
    if (days <= c[0].days) s += c[0].shift;
    else if (days >= c[c.length - 1].days) s += c[c.length - 1].shift;
    else {
      let k = 1;
      while (c[k].days < days) k++;
      const w = (days - c[k - 1].days) / (c[k].days - c[k - 1].days);
      s += c[k - 1].shift + w * (c[k].shift - c[k - 1].shift);
    }
  }
  if (v.tilt) s += v.tilt * logMoneyness;
  return s;
}
