/**
 * Stress scenario sets: user files and the shipped library of named episodes
 * (data/stress-episodes.json, derived from daily data by scripts/derive_stress.py).
 *
 * User file (JSON): one scenario or `{ "scenarios": [ … ] }`, each
 *   { "name": "crash", "moves": { "BTC": -0.3, "ETH": -0.35 },           relative price moves
 *     "vol": { "BTC": { "ratio": 1.5, "parallel": 0.1,                     × ratio, + 10 vol points
 *                       "byTenor": [{ "days": 7, "shift": 0.3 }, { "days": 90, "shift": 0.1 }],
 *                       "tilt": -0.05 } } }                                + tilt × ln(K/F)
 * An underlying absent from a scenario does not move. The shocked market of scenario s is the
 * base market with the set's moves applied exactly as revaluation applies them (src/risk/revalue.ts,
 * scenarios/vol-shock.ts).
 */
import { ErrorCodes, OptmarginError, check, invalidInput } from '../errors.js';
import { marketHashOf, type MarginMarket } from '../market/margin-market.js';
import { packagePath, readText } from '../platform/files.js';
import { surfaceVolAt, type SurfaceShock } from '../scenarios/vol-shock.js';
import type { UnderlyingScenarios } from '../scenarios/types.js';
import { seamSet } from './revalue.js';
import { makeScenarioSet, type ScenarioSet, type VolShift } from './scenario-set.js';

export interface StressScenario {
  name: string;
  /** relative price move per underlying */
  moves: Record<string, number>;
  volRatio?: Record<string, number>;
  volShift?: Record<string, VolShift>;
}

interface EpisodeFile {
  episodes: { name: string; title: string; moves: Record<string, { logReturn: number; volRatio: number; source: string }> }[];
}

export function stressLibrary(): EpisodeFile {
  const file = packagePath('data', 'stress-episodes.json');
  return JSON.parse(readText(file)) as EpisodeFile;
}

export function episodeNames(): string[] {
  return stressLibrary().episodes.map((e) => e.name);
}

function episode(name: string): StressScenario {
  const e = stressLibrary().episodes.find((x) => x.name === name);
  if (!e) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--scenario ${JSON.stringify(name)} is neither a file nor a shipped episode (${episodeNames().join(', ')})`, '--scenario');
  const moves: Record<string, number> = {};
  const volRatio: Record<string, number> = {};
  for (const [u, m] of Object.entries(e.moves)) {
    moves[u] = Math.expm1(m.logReturn);
    volRatio[u] = m.volRatio;
  }
  return { name: e.name, moves, volRatio };
}

function volShiftSpec(path: string, v: unknown): { ratio?: number; shift?: VolShift } {
  const o = check.object(path, v);
  for (const k of Object.keys(o)) if (!['ratio', 'parallel', 'byTenor', 'tilt'].includes(k)) throw invalidInput(`${path}.${k}`, 'is not a vol move field (ratio, parallel, byTenor, tilt)', o[k]);
  const out: { ratio?: number; shift?: VolShift } = {};
  if (o.ratio !== undefined) out.ratio = check.positive(`${path}.ratio`, o.ratio);
  const shift: VolShift = {};
  if (o.parallel !== undefined) shift.parallel = check.finite(`${path}.parallel`, o.parallel);
  if (o.tilt !== undefined) shift.tilt = check.finite(`${path}.tilt`, o.tilt);
  if (o.byTenor !== undefined) {
    shift.byTenor = check.array(`${path}.byTenor`, o.byTenor).map((p, i) => {
      const q = check.object(`${path}.byTenor[${i}]`, p);
      return { days: check.positive(`${path}.byTenor[${i}].days`, q.days), shift: check.finite(`${path}.byTenor[${i}].shift`, q.shift) };
    });
    for (let i = 1; i < shift.byTenor.length; i++) {
      if (!(shift.byTenor[i].days > shift.byTenor[i - 1].days)) throw invalidInput(`${path}.byTenor[${i}].days`, 'must increase', shift.byTenor[i].days);
    }
  }
  if (Object.keys(shift).length) out.shift = shift;
  return out;
}

export function parseStressScenario(v: unknown, path: string): StressScenario {
  const o = check.object(path, v);
  const name = o.name === undefined ? path : check.string(`${path}.name`, o.name);
  const movesIn = check.object(`${path}.moves`, o.moves ?? {});
  const moves: Record<string, number> = {};
  for (const [u, m] of Object.entries(movesIn)) {
    const x = check.finite(`${path}.moves.${u}`, m);
    if (!(x > -1)) throw invalidInput(`${path}.moves.${u}`, 'must be > -1 (a relative move: -0.3 is -30 %)', x);
    moves[u] = x;
  }
  const s: StressScenario = { name, moves, volRatio: {}, volShift: {} };
  if (o.vol !== undefined) {
    for (const [u, vv] of Object.entries(check.object(`${path}.vol`, o.vol))) {
      const spec = volShiftSpec(`${path}.vol.${u}`, vv);
      if (spec.ratio !== undefined) s.volRatio![u] = spec.ratio;
      if (spec.shift) s.volShift![u] = spec.shift;
    }
  }
  return s;
}

/** Scenarios from a --scenario argument: shipped episode names and/or files, comma-separated. */
export function loadStressScenarios(arg: string, readFile: (f: string) => unknown): StressScenario[] {
  const out: StressScenario[] = [];
  for (const item of arg.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (item === 'all') out.push(...episodeNames().map(episode));
    else if (/^\d{4}-\d{2}-\d{2}$/.test(item)) out.push(episode(item));
    else {
      const doc = readFile(item) as { scenarios?: unknown };
      const list = doc && typeof doc === 'object' && Array.isArray(doc.scenarios) ? doc.scenarios : [doc];
      list.forEach((x, i) => out.push(parseStressScenario(x, list.length > 1 ? `scenarios[${i}]` : item)));
    }
  }
  if (!out.length) throw new OptmarginError(ErrorCodes.INVALID_INPUT, '--scenario needs an episode name, `all` or a file', '--scenario');
  return out;
}

export function stressScenarioSet(list: StressScenario[]): ScenarioSet {
  const us = [...new Set(list.flatMap((s) => [...Object.keys(s.moves), ...Object.keys(s.volRatio ?? {}), ...Object.keys(s.volShift ?? {})]))].sort();
  const logReturn: Record<string, Float64Array> = {};
  const volRatio: Record<string, Float64Array> = {};
  const volShift: Record<string, (VolShift | null)[]> = {};
  let anyShift = false;
  for (const u of us) {
    logReturn[u] = Float64Array.from(list, (s) => Math.log1p(s.moves[u] ?? 0));
    volRatio[u] = Float64Array.from(list, (s) => s.volRatio?.[u] ?? 1);
    volShift[u] = list.map((s) => s.volShift?.[u] ?? null);
    anyShift ||= volShift[u].some((x) => x !== null);
  }
  const names = list.map((s) => s.name);
  return makeScenarioSet('stress', names.join('+'), us, logReturn, volRatio, { scenarios: names }, names, anyShift ? volShift : undefined);
}

/**
 * The base market under scenario s of the set (other underlyings unchanged): index, perpetual and
 * forwards × (1 + move), vols by the set's surface shock — the revaluation's own moves and vol rule
 * (scenarios/vol-shock.ts surfaceVolAt, through the set's scenarios seam), so a re-margin on this
 * market sees what revaluation sees.
 */
export function shockedMarket(base: MarginMarket, set: ScenarioSet, s: number): MarginMarket {
  const seam = seamSet(set);
  const per = new Map<string, UnderlyingScenarios | null>();
  const of = (u: string): UnderlyingScenarios | null => {
    if (!per.has(u)) per.set(u, set.logReturn[u] ? seam.forUnderlying(u, base.spot(u)) : null);
    return per.get(u)!;
  };
  const f = (u: string): number => {
    const sc = of(u);
    return sc ? 1 + sc.moves[s] : 1;
  };
  const vol = (u: string, e: number, k: number): number => {
    const sc = of(u);
    if (!sc) return base.vol(u, e, k);
    const fu = 1 + sc.moves[s];
    return surfaceVolAt(sc.vol as SurfaceShock, s, base.vol(u, e, k / fu), base.timeToExpiry(e) * 365, k, base.forward(u, e) * fu);
  };
  return {
    valuationTime: base.valuationTime,
    rate: base.rate,
    hash: `${marketHashOf(base)}:${set.hash}#${s}`,
    hasUnderlying: (u) => base.hasUnderlying(u),
    spot: (u) => base.spot(u) * f(u),
    perpetual: (u) => base.perpetual(u) * f(u),
    forward: (u, e) => base.forward(u, e) * f(u),
    timeToExpiry: (e) => base.timeToExpiry(e),
    vol,
  };
}
