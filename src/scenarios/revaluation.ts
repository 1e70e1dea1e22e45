/**
 * Revaluation: each distinct instrument of an InstrumentTable revalued once per scenario of its
 * underlying under a ScenarioSet; `values[i·nScen + s]` is the USD P&L of one unit of
 * instrument i in scenario s (unweighted: a measure applies weights when it reduces). Options
 * are fully revalued with Black-76 (one batched price-only call); futures, perpetuals, spot and
 * coin move linearly with the index.
 *
 * Filled lazily as instruments appear in the table (`sync()` prices every instrument added
 * since the last call in one batch). Margin (the grid models), VaR and stress all revalue here.
 * Rows already computed elsewhere for the same market data and scenario set (a book's matrix:
 * KnownValues) are copied instead of priced: the same function of the same inputs, the same doubles.
 */
import { OptionFlag, allocOptionBatch, type OptionBatch } from '../pricing/types.js';
import { InstrumentTable, Kind } from '../instruments/table.js';
import { marginPricer } from './pricer.js';
import { shockedVolsInto, TermShockSizes } from './vol-shock.js';
import type { ScenarioSet, UnderlyingScenarios } from './types.js';

/** Options priced per block (× scenarios: a block of OPTION_BLOCK / nScen instruments). */
const OPTION_BLOCK = 16384;

/**
 * Per-unit scenario values already computed for the same market data and the same scenario set
 * (a book's revaluation matrix on its current market: BookEngine.knownValues): `into` copies the
 * row of instrument `name` (nScen values) to out[offset ..] and returns true, or returns false
 * (then the row is priced here).
 */
export interface KnownValues {
  readonly nScen: number;
  into(name: string, out: Float64Array, offset: number): boolean;
}

/**
 * The option batch and prices of priceBlock, shared by this thread's revaluations: a block is
 * filled, priced and stored in one synchronous call, and a book's tick makes a revaluation every
 * time (a fresh batch was about 1 MB of new arrays per tick).
 */
const scratch = { batch: allocOptionBatch(0), prices: new Float64Array(0) };

export class Revaluation {
  readonly table: InstrumentTable;
  readonly set: ScenarioSet;
  readonly nScen: number;
  /** per underlying slot of the table */
  readonly scenarios: UnderlyingScenarios[] = [];
  values: Float64Array;
  private filled = 0;
  private batch: OptionBatch = allocOptionBatch(0);
  private prices = new Float64Array(0);
  private shiftedK = new Float64Array(0);
  private baseVol = new Float64Array(0);
  private shockedVol = new Float64Array(0);
  /** the options sync() prices (table indices, ascending) */
  private todo = new Int32Array(64);
  /** per option group: the block (priceBlock's number) that last computed its vols, and where in the batch */
  private groupBlock = new Int32Array(0);
  private groupAt = new Int32Array(0);
  private blocks = 0;
  /** the term vol shock's sizes per expiry (computed once each, not per option) */
  private readonly shockSizes = new TermShockSizes();
  private readonly known: KnownValues | null;

  constructor(table: InstrumentTable, set: ScenarioSet, known: KnownValues | null = null) {
    this.table = table;
    this.set = set;
    this.nScen = set.size;
    this.values = new Float64Array(64 * this.nScen);
    this.known = known !== null && known.nScen === set.size ? known : null;
  }

  scenariosOf(slot: number): UnderlyingScenarios {
    while (this.scenarios.length <= slot) {
      const u = this.table.underlyings[this.scenarios.length];
      const sc = this.set.forUnderlying(u, this.table.market.spot(u));
      // results hand these descriptions out as they are (a grid row's `scenarios`): frozen, so that
      // no caller can change the next result's, and so a server may write their JSON once
      for (const x of sc.info) Object.freeze(x);
      Object.freeze(sc.info);
      this.scenarios.push(sc);
    }
    return this.scenarios[slot];
  }

  /** Computes the values of every instrument added to the table since the last call (copied from `known` where it has them). */
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
    if (this.todo.length < n - this.filled) this.todo = new Int32Array(Math.max(n - this.filled, 2 * this.todo.length));
    let nOpt = 0;
    for (let i = this.filled; i < n; i++) {
      if (this.known?.into(tb.names[i], this.values, i * ns)) continue;
      if (tb.kind[i] === Kind.Option) this.todo[nOpt++] = i;
      else this.linearRow(i);
    }
    if (nOpt > 0) this.priceOptions(nOpt);
    this.filled = n;
  }

  /** Linear future/perp: F·m per coin; spot pair and coin: S·m; inverse future −S/F leg: unchanged. */
  private linearRow(i: number): void {
    const tb = this.table;
    const ns = this.nScen;
    const k = tb.kind[i];
    const sc = this.scenariosOf(tb.underlyingOf[i]);
    const row = i * ns;
    const cs = tb.instruments[i]?.contractSize ?? 1;
    const vals = this.values;
    const flat = (k === Kind.Future || k === Kind.Perpetual) && tb.inverse[i];
    for (let s = 0; s < ns; s++) vals[row + s] = flat ? 0 : tb.forward[i] * sc.moves[s] * cs;
  }

  private ensureScratch(total: number): void {
    const ns = this.nScen;
    if (scratch.batch.forward.length < total) {
      scratch.batch = allocOptionBatch(total);
      scratch.prices = new Float64Array(total);
    }
    this.batch = scratch.batch;
    this.prices = scratch.prices;
    if (this.shiftedK.length < ns) {
      this.shiftedK = new Float64Array(ns);
      this.baseVol = new Float64Array(ns);
      this.shockedVol = new Float64Array(ns);
    }
  }

  /** Unshocked vol of option i in each scenario: sticky moneyness reads the smile at K/(1 + move). */
  private baseVolsOf(i: number, sc: UnderlyingScenarios): Float64Array {
    const tb = this.table;
    const m = tb.market;
    const ns = this.nScen;
    const out = this.baseVol;
    if (this.set.smile !== 'sticky-moneyness') {
      out.fill(tb.vol[i], 0, ns);
      return out;
    }
    const u = sc.underlying;
    // a ResolvedMarket reads every moved strike in one batch call (same arithmetic per strike as vol())
    const volInto = (m as { volInto?: (u: string, e: number, k: Float64Array, out: Float64Array, n?: number) => void }).volInto;
    if (volInto) {
      for (let s = 0; s < ns; s++) this.shiftedK[s] = tb.strike[i] / (1 + sc.moves[s]);
      volInto.call(m, u, tb.expiry[i], this.shiftedK, out, ns);
    }
    for (let s = 0; s < ns; s++) {
      const mv = sc.moves[s];
      if (mv === 0) out[s] = tb.vol[i];
      else if (!volInto) out[s] = m.vol(u, tb.expiry[i], tb.strike[i] / (1 + mv));
    }
    return out;
  }

  /**
   * Prices the `nOpt` options of `todo` under every scenario, in blocks of about OPTION_BLOCK
   * options (a block's batch, prices and kernel buffers stay in cache; one huge batch streams
   * through memory).
   */
  private priceOptions(nOpt: number): void {
    const per = Math.max(1, Math.floor(OPTION_BLOCK / this.nScen));
    this.ensureScratch(Math.min(nOpt, per) * this.nScen);
    for (let b = 0; b < nOpt; b += per) this.priceBlock(b, Math.min(nOpt, b + per));
  }

  /** One block: the batch of the options todo[from, to) × scenarios, priced, stored. */
  private priceBlock(from: number, to: number): void {
    const tb = this.table;
    const ns = this.nScen;
    const b = this.batch;
    const rate = tb.market.rate;
    const block = this.nextBlock(tb.groupCount);
    let j = 0;
    for (let o = from; o < to; o++) {
      const i = this.todo[o];
      const sc = this.scenariosOf(tb.underlyingOf[i]);
      this.volsInto(i, sc, block, j);
      const flags = (tb.isPut[i] ? OptionFlag.Put : 0) | (tb.inverse[i] ? OptionFlag.Inverse : 0);
      const F = tb.forward[i];
      const K = tb.strike[i];
      const t = tb.t[i];
      for (let s = 0; s < ns; s++) {
        b.forward[j + s] = F * (1 + sc.moves[s]);
        b.strike[j + s] = K;
        b.t[j + s] = t;
        b.rate[j + s] = rate;
        b.flags[j + s] = flags;
      }
      j += ns;
    }
    b.length = (to - from) * ns;
    marginPricer()(b, this.prices);
    this.storeOptionValues(from, to);
  }

  /** A new block's number; the per-group records sized to the table's groups. */
  private nextBlock(groups: number): number {
    if (this.groupBlock.length < groups) {
      this.groupBlock = new Int32Array(Math.max(groups, 2 * this.groupBlock.length));
      this.groupAt = new Int32Array(this.groupBlock.length);
    }
    return ++this.blocks;
  }

  /**
   * Option i's shocked vol in every scenario into the batch at j. A call and a put of one strike
   * and expiry (one group: tb.group) read the same smile at the same moved strikes and take the
   * same shocks: the vols of the group's first option in this block are copied, not computed again.
   */
  private volsInto(i: number, sc: UnderlyingScenarios, block: number, j: number): void {
    const tb = this.table;
    const ns = this.nScen;
    const vol = this.batch.vol;
    const g = tb.group[i];
    if (this.groupBlock[g] === block) {
      vol.copyWithin(j, this.groupAt[g], this.groupAt[g] + ns);
      return;
    }
    shockedVolsInto(sc.vol, tb.t[i], tb.strike[i], tb.forward[i], sc.moves, this.baseVolsOf(i, sc), ns, this.shockedVol, this.shockSizes);
    for (let s = 0; s < ns; s++) vol[j + s] = this.shockedVol[s];
    this.groupBlock[g] = block;
    this.groupAt[g] = j;
  }

  /** values = (scenario price × contract size) − unit value; inverse prices are coin: × the shocked index. */
  private storeOptionValues(from: number, to: number): void {
    const tb = this.table;
    const ns = this.nScen;
    const vals = this.values;
    let j = 0;
    for (let o = from; o < to; o++) {
      const i = this.todo[o];
      const sc = this.scenariosOf(tb.underlyingOf[i]);
      const cs = tb.instruments[i]?.contractSize ?? 1;
      const row = i * ns;
      const v0 = tb.unitValue[i];
      for (let s = 0; s < ns; s++) {
        const v = tb.inverse[i] ? this.prices[j] * sc.spot * (1 + sc.moves[s]) : this.prices[j];
        vals[row + s] = v * cs - v0;
        j++;
      }
    }
  }
}

/** The standalone building block: values of `instruments` under `set` on the table's market. */
export function revalue(
  table: InstrumentTable,
  set: ScenarioSet,
  instruments: readonly string[],
): { indices: Int32Array; nScen: number; values: Float64Array; scenarios: UnderlyingScenarios[]; revaluation: Revaluation } {
  const revaluation = new Revaluation(table, set);
  const indices = new Int32Array(instruments.length);
  instruments.forEach((name, k) => (indices[k] = table.indexOf(name)));
  revaluation.sync();
  for (let s = 0; s < table.underlyings.length; s++) revaluation.scenariosOf(s);
  return { indices, nScen: revaluation.nScen, values: revaluation.values, scenarios: revaluation.scenarios, revaluation };
}
