/**
 * Full revaluation of distinct instruments under a joint scenario set: the same layout as the
 * margin grids' risk arrays (src/margin/risk-arrays.ts), values[i·n + s] = USD P&L of one unit of
 * instrument i of an InstrumentTable in scenario s, so the aggregation kernels (TS aggregateInto,
 * WASM aggregateAccounts) serve VaR exactly as they serve margin.
 *
 * Scenario s of underlying u, factor f = e^{r_u,s}:
 *   index, perpetual and every forward × f;
 *   option vol σ' = max(0.01, σ(K/f)·ρ_u,s + shift(days, ln(K/F'))): the smile sticky in moneyness,
 *   times the set's vol ratio, plus a stress set's absolute shifts; expiry time unchanged
 *   (an instantaneous shock); Black-76 through the margin engine's pricer (WASM price-only kernel);
 *   linear future/perp F·(f−1), spot pair and coin S·(f−1), inverse future's −S/F leg 0 (its entry
 *   leg, held as coin, carries the move) — the same rules as the margin grids.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { MIN_SHOCKED_VOL } from '../market/resolved.js';
import { OptionFlag, allocOptionBatch, type OptionBatch } from '../pricing/types.js';
import { InstrumentTable, Kind } from '../instruments/table.js';
import { marginPricer } from '../scenarios/pricer.js';
import { volShiftAt, type ScenarioSet } from './scenario-set.js';

export interface ScenarioValues {
  set: ScenarioSet;
  table: InstrumentTable;
  n: number;
  /** nInstruments × n, row-major */
  values: Float64Array;
}

type VolInto = (u: string, e: number, k: Float64Array, out: Float64Array, n?: number) => void;

/** e^{r} per scenario of each underlying, computed once per set */
const factorCache = new WeakMap<ScenarioSet, Map<string, Float64Array>>();
function factorsOf(set: ScenarioSet, u: string): Float64Array {
  let m = factorCache.get(set);
  if (!m) factorCache.set(set, (m = new Map()));
  let f = m.get(u);
  if (!f) {
    const r = movesOf(set, u);
    f = Float64Array.from(r, Math.exp);
    m.set(u, f);
  }
  return f;
}

function movesOf(set: ScenarioSet, u: string): Float64Array {
  const r = set.logReturn[u];
  if (!r) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `the scenario set ${set.id} has no moves for ${u} (it has ${set.underlyings.join(', ')}): add a --history file for ${u}`,
      'history',
    );
  }
  return r;
}

/** Revalues instruments [from, table.count) of the table into `values` (grown as needed). */
export function revalueInstruments(table: InstrumentTable, set: ScenarioSet, prev?: ScenarioValues): ScenarioValues {
  const n = set.n;
  const from = prev ? prev.values.length / n : 0;
  const count = table.count;
  const values = new Float64Array(count * n);
  if (prev) values.set(prev.values);
  let nOpt = 0;
  for (let i = from; i < count; i++) {
    if (table.kind[i] === Kind.Option) {
      nOpt++;
      continue;
    }
    const f = factorsOf(set, table.underlyings[table.underlyingOf[i]]);
    const cs = table.instruments[i]?.contractSize ?? 1;
    const k = table.kind[i];
    const base = (k === Kind.Future || k === Kind.Perpetual) && table.inverse[i] ? 0 : table.forward[i] * cs;
    const row = i * n;
    for (let s = 0; s < n; s++) values[row + s] = base * (f[s] - 1);
  }
  if (nOpt > 0) priceOptions(table, set, from, count, nOpt, values);
  return { set, table, n, values };
}

function priceOptions(tb: InstrumentTable, set: ScenarioSet, from: number, to: number, nOpt: number, values: Float64Array): void {
  const n = set.n;
  const m = tb.market;
  const volInto = (m as { volInto?: VolInto }).volInto;
  const batch: OptionBatch = allocOptionBatch(nOpt * n);
  const kShift = new Float64Array(n);
  const vShift = new Float64Array(n);
  let j = 0;
  for (let i = from; i < to; i++) {
    if (tb.kind[i] !== Kind.Option) continue;
    const u = tb.underlyings[tb.underlyingOf[i]];
    const f = factorsOf(set, u);
    const rho = set.volRatio[u];
    const shifts = set.volShift?.[u];
    const K = tb.strike[i];
    for (let s = 0; s < n; s++) kShift[s] = K / f[s];
    if (volInto) volInto.call(m, u, tb.expiry[i], kShift, vShift, n);
    else for (let s = 0; s < n; s++) vShift[s] = m.vol(u, tb.expiry[i], kShift[s]);
    const flags = (tb.isPut[i] ? OptionFlag.Put : 0) | (tb.inverse[i] ? OptionFlag.Inverse : 0);
    const days = tb.t[i] * 365;
    for (let s = 0; s < n; s++) {
      const F = tb.forward[i] * f[s];
      const sh = shifts?.[s];
      const v = vShift[s] * rho[s] + (sh ? volShiftAt(sh, days, Math.log(K / F)) : 0);
      batch.forward[j] = F;
      batch.strike[j] = K;
      batch.vol[j] = v < MIN_SHOCKED_VOL ? MIN_SHOCKED_VOL : v;
      batch.t[j] = tb.t[i];
      batch.rate[j] = m.rate;
      batch.flags[j] = flags;
      j++;
    }
  }
  batch.length = j;
  const prices = new Float64Array(j);
  marginPricer()(batch, prices);
  j = 0;
  for (let i = from; i < to; i++) {
    if (tb.kind[i] !== Kind.Option) continue;
    const u = tb.underlyings[tb.underlyingOf[i]];
    const f = factorsOf(set, u);
    const S = m.spot(u);
    const cs = tb.instruments[i]?.contractSize ?? 1;
    const v0 = tb.unitValue[i];
    const row = i * n;
    for (let s = 0; s < n; s++) {
      // inverse: coin value × shocked index; linear: USD value
      const v = tb.inverse[i] ? prices[j] * S * f[s] : prices[j];
      values[row + s] = v * cs - v0;
      j++;
    }
  }
}
