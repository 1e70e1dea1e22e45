/**
 * Scenario grids and risk arrays (DESIGN.md §1, §3.2): each distinct instrument is revalued
 * once per scenario of its underlying; `values[i·nScen + s]` is the USD P&L of one unit of
 * instrument i in scenario s (unweighted; weights apply in the reduction). Every underlying's
 * grid has the same number of scenarios (one template, scaled per underlying), so one
 * nInstruments × nScenarios matrix serves a whole book.
 *
 * Scenario s of underlying u: index, perpetual and every forward × (1 + move_s); the smile
 * sticky in moneyness (vol at K read at K/(1 + move)) or in strike, then shocked per expiry:
 *   size(days) = base × (referenceDays / max(days, minDays))^power
 *   relative: σ' = σ·(1 + size) up, max(floor, σ·(1 − size)) down; absolute: σ ± size.
 * Every option is fully revalued with Black-76 (one batched price-only call).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { OptionFlag, allocOptionBatch, type OptionBatch } from '../pricing/types.js';
import { InstrumentTable, Kind } from '../instruments/table.js';
import { marginPricer } from './pricer.js';
import type { GridModel, ScenarioInfo, UnderlyingScanParams, VolDirection, VolShockParams } from '../measures/types.js';

export interface UnderlyingScenarios {
  underlying: string;
  spot: number;
  scan: UnderlyingScanParams;
  /** relative price move per scenario */
  moves: Float64Array;
  /** +1 vol up, 0 same, −1 down */
  volDir: Int8Array;
  weights: Float64Array;
  info: ScenarioInfo[];
}

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

export function buildScenarios(model: GridModel, u: string, spot: number): UnderlyingScenarios {
  const scan = scanFor(model, u);
  const n = model.scenarios.length;
  const moves = new Float64Array(n);
  const volDir = new Int8Array(n);
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
    volDir[k] = DIR[s.vol];
    weights[k] = s.weight;
    const pct = `${m >= 0 ? '+' : ''}${(m * 100).toFixed(m * 100 === Math.round(m * 100) ? 0 : 2)}%`;
    info.push({ index: k, label: s.label ?? `${pct} vol ${s.vol}`, priceMove: m, vol: s.vol, weight: s.weight });
  });
  return { underlying: u, spot, scan, moves, volDir, weights, info };
}

/** Size of the vol shock of an expiry `t` years away, before its sign (see the module comment). */
export function volShockSize(p: VolShockParams, base: number, t: number): number {
  const days = Math.max(t * 365, p.minDays);
  const power = p.longTermPower !== undefined && days > (p.longTermAfterDays ?? 30) ? p.longTermPower : p.power;
  return base * Math.pow(p.referenceDays / days, power);
}

export function shockVol(p: VolShockParams, vol: number, dir: number, t: number): number {
  if (dir === 0) return vol;
  return applyVolShock(p, vol, dir, dir > 0 ? volShockSize(p, p.up, t) : volShockSize(p, p.down, t));
}

/** The shocked vol given the shock's size for this expiry (sizes depend on t only: computed once per instrument). */
function applyVolShock(p: VolShockParams, vol: number, dir: number, size: number): number {
  if (dir === 0) return vol;
  if (dir > 0) return p.mode === 'relative' ? vol * (1 + size) : vol + size;
  return Math.max(p.floor, p.mode === 'relative' ? vol * (1 - size) : vol - size);
}

/**
 * Risk arrays of a model over an InstrumentTable, filled lazily as instruments appear
 * (`sync()` prices every instrument added since the last call in one batch).
 */
export class RiskArrays {
  readonly table: InstrumentTable;
  readonly model: GridModel;
  readonly nScen: number;
  /** per underlying slot of the table */
  readonly scenarios: UnderlyingScenarios[] = [];
  values: Float64Array;
  private filled = 0;
  private batch: OptionBatch = allocOptionBatch(0);
  private prices = new Float64Array(0);
  private shiftedK = new Float64Array(0);
  private shiftedVol = new Float64Array(0);

  constructor(table: InstrumentTable, model: GridModel) {
    this.table = table;
    this.model = model;
    this.nScen = model.scenarios.length;
    this.values = new Float64Array(64 * this.nScen);
  }

  scenariosOf(slot: number): UnderlyingScenarios {
    while (this.scenarios.length <= slot) {
      const u = this.table.underlyings[this.scenarios.length];
      this.scenarios.push(buildScenarios(this.model, u, this.table.market.spot(u)));
    }
    return this.scenarios[slot];
  }

  /** Computes the risk arrays of every instrument added to the table since the last call. */
  sync(): void {
    const tb = this.table;
    const n = tb.count;
    if (this.filled === n) return;
    const ns = this.nScen;
    if (this.values.length < n * ns) {
      const v = new Float64Array(Math.max(n, (this.values.length / ns) * 2) * ns);
      v.set(this.values);
      this.values = v;
    }
    let nOpt = 0;
    for (let i = this.filled; i < n; i++) if (tb.kind[i] === Kind.Option) nOpt++;
    if (nOpt > 0) this.priceOptions(this.filled, n, nOpt);
    const vals = this.values;
    for (let i = this.filled; i < n; i++) {
      const k = tb.kind[i];
      if (k === Kind.Option) continue;
      const sc = this.scenariosOf(tb.underlyingOf[i]);
      const row = i * ns;
      const cs = tb.instruments[i]?.contractSize ?? 1;
      for (let s = 0; s < ns; s++) {
        const m = sc.moves[s];
        // linear future/perp: F·m per coin; spot pair and coin: S·m; inverse future −S/F leg: unchanged.
        if (k === Kind.Future || k === Kind.Perpetual) vals[row + s] = tb.inverse[i] ? 0 : tb.forward[i] * m * cs;
        else vals[row + s] = tb.forward[i] * m * cs;
      }
    }
    this.filled = n;
  }

  private priceOptions(from: number, to: number, nOpt: number): void {
    const tb = this.table;
    const ns = this.nScen;
    const m = tb.market;
    const total = nOpt * ns;
    if (this.batch.forward.length < total) {
      this.batch = allocOptionBatch(total);
      this.prices = new Float64Array(total);
    }
    const b = this.batch;
    const sticky = this.model.smile === 'sticky-moneyness';
    // sticky moneyness: the vol at K/(1 + move) of every scenario of an instrument in one batch
    // call when the market has one (a ResolvedMarket: same arithmetic per strike as vol())
    const volInto = (m as { volInto?: (u: string, e: number, k: Float64Array, out: Float64Array, n?: number) => void }).volInto;
    if (this.shiftedK.length < ns) {
      this.shiftedK = new Float64Array(ns);
      this.shiftedVol = new Float64Array(ns);
    }
    const { shiftedK, shiftedVol } = this;
    let j = 0;
    for (let i = from; i < to; i++) {
      if (tb.kind[i] !== Kind.Option) continue;
      const slot = tb.underlyingOf[i];
      const sc = this.scenariosOf(slot);
      const u = tb.underlyings[slot];
      const flags = (tb.isPut[i] ? OptionFlag.Put : 0) | (tb.inverse[i] ? OptionFlag.Inverse : 0);
      if (sticky && volInto) {
        for (let s = 0; s < ns; s++) shiftedK[s] = tb.strike[i] / (1 + sc.moves[s]);
        volInto.call(m, u, tb.expiry[i], shiftedK, shiftedVol, ns);
      }
      const shockUp = volShockSize(sc.scan.vol, sc.scan.vol.up, tb.t[i]);
      const shockDown = volShockSize(sc.scan.vol, sc.scan.vol.down, tb.t[i]);
      for (let s = 0; s < ns; s++) {
        const mv = sc.moves[s];
        const base = sticky && mv !== 0 ? (volInto ? shiftedVol[s] : m.vol(u, tb.expiry[i], tb.strike[i] / (1 + mv))) : tb.vol[i];
        const dir = sc.volDir[s];
        b.forward[j] = tb.forward[i] * (1 + mv);
        b.strike[j] = tb.strike[i];
        b.vol[j] = applyVolShock(sc.scan.vol, base, dir, dir > 0 ? shockUp : shockDown);
        b.t[j] = tb.t[i];
        b.rate[j] = m.rate;
        b.flags[j] = flags;
        j++;
      }
    }
    b.length = total;
    marginPricer()(b, this.prices);
    j = 0;
    const vals = this.values;
    for (let i = from; i < to; i++) {
      if (tb.kind[i] !== Kind.Option) continue;
      const sc = this.scenariosOf(tb.underlyingOf[i]);
      const cs = tb.instruments[i]?.contractSize ?? 1;
      const row = i * ns;
      const v0 = tb.unitValue[i];
      for (let s = 0; s < ns; s++) {
        // inverse: coin value × shocked index; linear: USD value
        const v = tb.inverse[i] ? this.prices[j] * sc.spot * (1 + sc.moves[s]) : this.prices[j];
        vals[row + s] = v * cs - v0;
        j++;
      }
    }
  }
}

/** The standalone building block for a book: risk arrays of `instruments` under `model` on `market`. */
export function buildRiskArrays(
  table: InstrumentTable,
  model: GridModel,
  instruments: readonly string[],
): { indices: Int32Array; nScen: number; values: Float64Array; scenarios: UnderlyingScenarios[]; arrays: RiskArrays } {
  const arrays = new RiskArrays(table, model);
  const indices = new Int32Array(instruments.length);
  instruments.forEach((name, k) => (indices[k] = table.indexOf(name)));
  arrays.sync();
  for (let s = 0; s < table.underlyings.length; s++) arrays.scenariosOf(s);
  return { indices, nScen: arrays.nScen, values: arrays.values, scenarios: arrays.scenarios, arrays };
}
