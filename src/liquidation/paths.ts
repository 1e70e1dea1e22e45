/**
 * Paths for the cascade simulator: the market at every step. Three sources, all re-using the
 * risk engine's scenario sets (src/risk: one home for market moves):
 *   shocks     a JSON file { "steps": [ <stress scenario>, … ] }: each step is a stress scenario
 *              (moves per underlying relative to the base market, optional vol ratio / shifts,
 *              the schema of `optmargin stress`), applied to the base market;
 *   history    daily closes (and DVOL) from FROM to TO: step t moves each underlying by
 *              S_t / S_FROM and scales its vols by DVOL_t / DVOL_FROM; the impact model's daily vol
 *              is DVOL_t / √365. A missing day (a gap in the dates) or a missing DVOL is an error;
 *   snapshots  market snapshots or Deribit chain CSVs in time order, each with its own surface.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { marketHashOf, type MarginMarket } from '../market/margin-market.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import { loadHistory, type HistorySpec } from '../risk/history.js';
import { makeScenarioSet } from '../risk/scenario-set.js';
import { parseStressScenario, shockedMarket, stressScenarioSet } from '../risk/stress.js';

const basename = (f: string): string => f.slice(Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\')) + 1);

export interface PathStep {
  label: string;
  market: MarginMarket;
  /** daily volatility per underlying for the impact model (absent: the mechanism's) */
  dailyVol: Record<string, number>;
}

export interface SimPath {
  kind: 'shocks' | 'history' | 'snapshots';
  source: string;
  steps: PathStep[];
}

const hashedMemo = new WeakMap<object, MarginMarket>();
/** The market with its hash computed once (a snapshot hashes its whole surface: not once per margin engine). */
export function hashed(m: MarginMarket): MarginMarket {
  if (m.hash) return m;
  let w = hashedMemo.get(m);
  if (w) return w;
  w = hashedAs(m, marketHashOf(m));
  hashedMemo.set(m, w);
  return w;
}

/** `m` carrying `hash` (computed elsewhere: a worker planning on a market the main thread hashed). */
export function hashedAs(m: MarginMarket, hash: string): MarginMarket {
  return {
    valuationTime: m.valuationTime,
    rate: m.rate,
    hash,
    hasUnderlying: (u) => m.hasUnderlying(u),
    spot: (u) => m.spot(u),
    perpetual: (u) => m.perpetual(u),
    forward: (u, e) => m.forward(u, e),
    timeToExpiry: (e) => m.timeToExpiry(e),
    vol: (u, e, k) => m.vol(u, e, k),
  };
}

/** Shock steps from a parsed path document { steps: [...] } on a base market. */
export function shocksPath(base: MarginMarket, doc: unknown, source = 'shocks'): SimPath {
  const o = check.object('path', doc);
  const list = check.array('path.steps', o.steps).map((s, i) => parseStressScenario(s, `path.steps[${i}]`));
  if (list.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'path.steps must not be empty', 'path.steps');
  const set = stressScenarioSet(list);
  const resolved = typeof (base as Partial<ResolvedMarket>).shocked === 'function' ? (base as ResolvedMarket) : null;
  const market = (i: number): MarginMarket => {
    const s = list[i];
    // price-only steps on a resolved market: its shocked view (the book engine's fast path); else the risk engine's shocked market
    const priceOnly = Object.keys(s.volRatio ?? {}).length === 0 && Object.keys(s.volShift ?? {}).length === 0;
    return resolved && priceOnly ? resolved.shocked({ priceMove: s.moves }) : shockedMarket(base, set, i);
  };
  return { kind: 'shocks', source, steps: list.map((s, i) => ({ label: s.name, market: market(i), dailyVol: {} })) };
}

const DAY = 86_400_000;

/** Daily steps from price (and DVOL) histories between two dates (inclusive; FROM is the base). */
export function historyPath(base: MarginMarket, specs: HistorySpec[], from?: string, to?: string): SimPath {
  const h = loadHistory(specs);
  const i0 = from === undefined ? 0 : h.dates.indexOf(from);
  const i1 = to === undefined ? h.dates.length - 1 : h.dates.indexOf(to);
  if (i0 < 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `path FROM ${from} is not a date of the history (${h.dates[0]} … ${h.dates[h.dates.length - 1]})`, 'path');
  if (i1 < 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `path TO ${to} is not a date of the history (${h.dates[0]} … ${h.dates[h.dates.length - 1]})`, 'path');
  if (i1 <= i0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `path TO (${h.dates[i1]}) must come after FROM (${h.dates[i0]})`, 'path');
  for (let t = i0 + 1; t <= i1; t++) {
    if (Date.parse(h.dates[t]) - Date.parse(h.dates[t - 1]) !== DAY) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the path has a gap: no close between ${h.dates[t - 1]} and ${h.dates[t]} (${h.underlyings.join('+')} aligned)`, 'path');
    }
  }
  const us = h.underlyings.filter((u) => base.hasUnderlying(u));
  if (us.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `none of the history's underlyings (${h.underlyings.join(', ')}) is in the market`, 'path');
  const n = i1 - i0;
  const logReturn: Record<string, Float64Array> = {};
  const volRatio: Record<string, Float64Array> = {};
  const dv: Record<string, Float64Array> = {};
  for (const u of us) {
    const c = h.close[u];
    logReturn[u] = Float64Array.from({ length: n }, (_, s) => Math.log(c[i0 + 1 + s] / c[i0]));
    const v = h.vol[u];
    if (v) {
      for (let t = i0; t <= i1; t++) {
        if (!(v[t] > 0)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the path has a gap: no implied vol for ${u} on ${h.dates[t]}`, 'path');
      }
      volRatio[u] = Float64Array.from({ length: n }, (_, s) => v[i0 + 1 + s] / v[i0]);
      dv[u] = Float64Array.from({ length: n }, (_, s) => v[i0 + 1 + s] / Math.sqrt(365));
    } else volRatio[u] = new Float64Array(n).fill(1);
  }
  const labels = h.dates.slice(i0 + 1, i1 + 1);
  const set = makeScenarioSet('historical', `path:${h.dates[i0]}..${h.dates[i1]}`, us, logReturn, volRatio, { from: h.dates[i0], to: h.dates[i1], history: h.hash }, labels);
  return {
    kind: 'history',
    source: `${h.sources.map((s) => basename(s.file)).join(',')} ${h.dates[i0]}..${h.dates[i1]}`,
    steps: labels.map((d, s) => ({ label: d, market: shockedMarket(base, set, s), dailyVol: Object.fromEntries(us.filter((u) => dv[u]).map((u) => [u, dv[u][s]])) })),
  };
}

/** Snapshot steps: market snapshots or Deribit chain CSVs, in the order given (time order). */
export function snapshotsPath(files: string[]): SimPath {
  if (files.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'the snapshot path has no files', 'path');
  const steps: PathStep[] = files.map((f) => ({ label: basename(f), market: resolveMarket(loadMarket(f)), dailyVol: {} }));
  for (let s = 1; s < steps.length; s++) {
    if (!(steps[s].market.valuationTime > steps[s - 1].market.valuationTime)) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `snapshots must be in time order: ${steps[s].label} is not after ${steps[s - 1].label}`, 'path');
    }
  }
  return { kind: 'snapshots', source: files.map((f) => basename(f)).join(','), steps };
}
