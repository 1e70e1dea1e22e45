/**
 * The book's instruments: a snapshot of the instrument table's arrays the rows and the
 * reductions read (kind, forward, unit value, group...), the revaluation matrix of the
 * scenario set (shared with the workers) and each underlying's weights, index and labels. A
 * tick re-reads its underlyings from the new market (refreshMarks, then revalue); a trade appends the instruments it brought.
 */
import { Kind } from '../../instruments/kind.js';
import { valuedFromEntry } from '../../instruments/valuation.js';
import { InstrumentTable, type ValuedInstruments } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import type { Instrument } from '../../market/types.js';
import type { BaseInstruments } from '../../measures/grid/addons.js';
import { Revaluation, type KnownValues } from '../../scenarios/revaluation.js';
import type { ScenarioSet } from '../../scenarios/types.js';
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { growShared, sharedF64, sharedI32, sharedU8 } from './arrays.js';
import { growPlain } from '../../platform/typed.js';

/** A tick's underlying whose marks are read and whose revaluation is still to do (BookInstruments.revalue). */
export interface PendingRevaluation {
  slot: number;
  /** the underlying's instruments valued on the new market, and each one's book index */
  sub: InstrumentTable;
  map: number[];
}

/** Row numberings made in this process (BookInstruments.layout). */
let layouts = 0;

export class BookInstruments implements BaseInstruments {
  n = 0;
  kind: Uint8Array = new Uint8Array(0);
  /** 1 when the instrument is valued from its entry price (futures, perpetuals: valuedFromEntry), else 0 — the equity pass's fast test */
  fromEntry: Uint8Array = new Uint8Array(0);
  inverse: Uint8Array = new Uint8Array(0);
  /** underlying slot of each instrument */
  slot: Int32Array = new Int32Array(0);
  group = new Int32Array(0);
  forward: Float64Array = new Float64Array(0);
  unitValue: Float64Array = new Float64Array(0);
  /** contract size */
  cs: Float64Array = new Float64Array(0);
  names: string[] = [];
  /** each instrument as parsed by the table (null: a coin) — a tick values them again without parsing */
  private parsed: (Instrument | null)[] = [];
  underlyings: string[] = [];
  groupCount = 0;
  /** revaluation matrix n × nScen (shared), its version, and per slot: weights (nSlots × nScen, shared), index (shared), labels */
  nScen = 0;
  risk: Float64Array = new Float64Array(0);
  riskVersion = 0;
  weights: Float64Array = new Float64Array(0);
  slotSpot: Float64Array = new Float64Array(0);
  scenarioLabels: string[][] = [];
  /** instrument index by name (rowOf), made when first asked for; kept by extend, dropped by snapshot */
  private byName: Map<string, number> | null = null;
  /** this numbering of the rows, unique in the process (each snapshot lays the instruments out anew: a row index means nothing across them) */
  layout = 0;
  /** per slot, its instruments as its last tick read them (readMarks); dropped when the instruments change (snapshot, extend) */
  private lastMarks: (PendingRevaluation | undefined)[] = [];

  constructor(private readonly set: ScenarioSet | null) {}

  /**
   * The revaluation matrix as KnownValues for an account runner on the book's current market and
   * model (a cascade round's plans: liquidation/plan-round.ts), while `current()` holds — the book
   * still on that market (a tick moves it on; a trade's extend only adds rows valued on it). An
   * instrument's row is read by name from the matrix in force at each call. Null without a scenario set.
   */
  knownValues(current: () => boolean): KnownValues | null {
    if (!this.set) return null;
    const ns = this.nScen;
    return {
      nScen: ns,
      into: (name, out, offset) => {
        const i = this.rowOf(name);
        if (i < 0 || !current()) return false;
        out.set(this.risk.subarray(i * ns, i * ns + ns), offset);
        return true;
      },
    };
  }

  /**
   * The instruments as the book's ticks valued them, for an account runner's table on the book's
   * current market (a cascade round's engine), while `current()` holds (the guard of knownValues):
   * an instrument's underlying as its last tick read it. Null for an instrument whose underlying
   * has not been read since the instruments changed (snapshot, extend): the runner values it.
   */
  valued(current: () => boolean): ValuedInstruments {
    return {
      tableOf: (name) => {
        const i = this.rowOf(name);
        return i < 0 || !current() ? null : (this.lastMarks[this.slot[i]]?.sub ?? null);
      },
    };
  }

  /** The matrix row (instrument index) of an instrument or coin key, −1 when the book has none. */
  rowOf(name: string): number {
    const i = (this.byName ??= new Map(this.names.map((x, j) => [x, j]))).get(name);
    return i === undefined || i >= this.n ? -1 : i;
  }

  /** Copies the table's arrays; the revaluation matrix and the scenarios from `rev` (grid models). */
  snapshot(tb: InstrumentTable, market: MarginMarket, rev: Revaluation | null): void {
    const n = tb.count;
    this.n = n;
    // shared: the pool's chunks read them (equity.ts)
    this.kind = sharedCopy(tb.kind, n);
    this.fromEntry = sharedU8(n);
    for (let i = 0; i < n; i++) this.fromEntry[i] = valuedFromEntry(tb.kind[i]) ? 1 : 0;
    this.inverse = sharedCopy(tb.inverse, n);
    this.slot = sharedCopy(tb.underlyingOf, n);
    this.group = tb.group.slice(0, n);
    this.forward = sharedCopy(tb.forward, n);
    this.unitValue = sharedCopy(tb.unitValue, n);
    this.cs = sharedF64(n);
    for (let i = 0; i < n; i++) this.cs[i] = tb.instruments[i]?.contractSize ?? 1;
    this.names = tb.names.slice(0, n);
    this.byName = null;
    this.lastMarks = [];
    this.layout = ++layouts;
    this.parsed = tb.instruments.slice(0, n);
    this.underlyings = tb.underlyings.slice();
    this.groupCount = tb.groupCount;
    const nu = this.underlyings.length;
    this.slotSpot = sharedF64(nu);
    this.underlyings.forEach((u, s) => (this.slotSpot[s] = market.spot(u)));
    this.scenarioLabels = [];
    if (!rev) {
      this.nScen = 0;
      this.risk = new Float64Array(0);
      this.weights = new Float64Array(0);
      return;
    }
    rev.sync();
    const ns = rev.nScen;
    this.nScen = ns;
    this.risk = sharedF64(n * ns);
    this.risk.set(rev.values.subarray(0, n * ns));
    this.weights = sharedF64(nu * ns);
    for (let s = 0; s < nu; s++) {
      const sc = rev.scenariosOf(s);
      this.weights.set(sc.weights, s * ns);
      this.scenarioLabels.push(sc.info.map((x) => x.label));
    }
    this.riskVersion++;
  }

  /**
   * A tick's re-read of the market, first half, for every slot of `slots` (distinct): their
   * instruments' marks (forward, unit value) and index from the market, and one new revaluation
   * matrix (nextMatrix) whose rows of those slots `revalue` fills. Null without a scenario set.
   */
  refreshMarks(slots: readonly number[], market: MarginMarket): PendingRevaluation[] | null {
    if (this.set) this.nextMatrix(this.n);
    const pending = slots.map((slot) => this.readMarks(slot, market));
    return this.set ? pending : null;
  }

  /**
   * A tick on a pool, run by the main thread while the chunks start (they wait on `flag`): the
   * marks of `slots` (flag 1: the chunks follow the forwards and compute the equities), then their
   * revaluation (flag 2: the chunks aggregate; `beforeRevalued` runs just before: the chunks' outputs
   * are poisoned there); −1 when either failed (the error goes on). The new matrix must be made
   * first (nextMatrix: the chunks are sent with it). Returns the ms of each half.
   */
  refreshSignalling(slots: readonly number[], market: MarginMarket, flag: Int32Array, beforeRevalued: () => void): { marksMs: number; revalueMs: number } {
    const signal = (v: number): void => {
      Atomics.store(flag, 0, v);
      Atomics.notify(flag, 0);
    };
    try {
      const t0 = performance.now();
      const pending = slots.map((slot) => this.readMarks(slot, market));
      signal(1);
      const t1 = performance.now();
      for (const p of pending) this.revalue(p);
      beforeRevalued();
      signal(2);
      return { marksMs: t1 - t0, revalueMs: performance.now() - t1 };
    } catch (e) {
      signal(-1);
      throw e;
    }
  }

  /**
   * One slot's instruments valued on `market` into the forward and unit-value arrays, and its
   * index: the slot's table of its last tick repriced (the same instruments, valued again), or on
   * its first tick since the instruments changed a table of them looked up one by one.
   */
  private readMarks(slot: number, market: MarginMarket): PendingRevaluation {
    const u = this.underlyings[slot];
    const last = this.lastMarks[slot];
    const sub = last ? last.sub.repriced(market) : new InstrumentTable(market);
    const map: number[] = last ? last.map : [];
    for (let i = 0; i < this.n && !last; i++) {
      if (this.slot[i] !== slot) continue;
      const inst = this.parsed[i];
      const j = inst ? sub.indexOfInstrument(inst) : sub.coinIndex(u);
      map[j] = i;
    }
    for (let j = 0; j < sub.count; j++) {
      this.forward[map[j]] = sub.forward[j];
      this.unitValue[map[j]] = sub.unitValue[j];
    }
    this.slotSpot[slot] = market.spot(u);
    return (this.lastMarks[slot] = { slot, sub, map });
  }

  /** The second half: the revaluation of a pending underlying's instruments into the matrix, its weights and labels. */
  revalue(p: PendingRevaluation): void {
    const rev = new Revaluation(p.sub, this.set!);
    rev.sync();
    this.fillRows((j) => p.map[j], rev, p.sub.count);
    const sc = rev.scenariosOf(0);
    this.weights.set(sc.weights, p.slot * this.nScen);
    this.scenarioLabels[p.slot] = sc.info.map((x) => x.label);
  }

  /**
   * A new matrix for n instruments, the current one's rows copied (the old one is shared with
   * workers that may be running: a fresh buffer per version keeps them consistent).
   */
  nextMatrix(n: number): void {
    const ns = this.nScen;
    const next = sharedF64(n * ns);
    next.set(this.risk.subarray(0, Math.min(this.risk.length, n * ns)));
    this.risk = next;
    this.riskVersion++;
  }

  /** Rows of `rev` written into the matrix at target(j). */
  private fillRows(target: (j: number) => number | undefined, rev: Revaluation, count: number): void {
    const ns = this.nScen;
    for (let j = 0; j < count; j++) {
      const i = target(j);
      if (i !== undefined) this.risk.set(rev.values.subarray(j * ns, j * ns + ns), i * ns);
    }
  }

  /** Instruments a trade added to the table: valued on the current market (a side table: the table may hold an older market's values), revalued. */
  extend(tb: InstrumentTable, market: MarginMarket): void {
    const from = this.n;
    const n = tb.count;
    if (n === from) return;
    this.lastMarks = [];
    this.kind = growShared(this.kind, n);
    this.fromEntry = growShared(this.fromEntry, n);
    this.inverse = growShared(this.inverse, n);
    this.slot = growShared(this.slot, n);
    this.group = growPlain(this.group, n);
    this.forward = growShared(this.forward, n);
    this.unitValue = growShared(this.unitValue, n);
    this.cs = growShared(this.cs, n);
    const side = new InstrumentTable(market);
    const map: number[] = [];
    for (let i = from; i < n; i++) {
      this.kind[i] = tb.kind[i];
      this.fromEntry[i] = valuedFromEntry(tb.kind[i]) ? 1 : 0;
      this.inverse[i] = tb.inverse[i];
      this.slot[i] = tb.underlyingOf[i];
      this.group[i] = tb.group[i];
      this.cs[i] = tb.instruments[i]?.contractSize ?? 1;
      this.names[i] = tb.names[i];
      this.byName?.set(tb.names[i], i);
      this.parsed[i] = tb.instruments[i];
      const j = tb.kind[i] === Kind.Coin ? side.coinIndex(tb.underlyings[tb.underlyingOf[i]]) : side.indexOf(tb.names[i]);
      map[j] = i;
      this.forward[i] = side.forward[j];
      this.unitValue[i] = side.unitValue[j];
    }
    this.groupCount = tb.groupCount;
    this.n = n;
    if (!this.set) return;
    const rev = new Revaluation(side, this.set);
    rev.sync();
    this.nextMatrix(n);
    this.fillRows((j) => map[j], rev, side.count);
  }
}

/** A shared copy of a[0, n). */
function sharedCopy<T extends Uint8Array | Int32Array | Float64Array>(a: T, n: number): T {
  const b = (a instanceof Uint8Array ? sharedU8(n) : a instanceof Int32Array ? sharedI32(n) : sharedF64(n)) as T;
  b.set(a.subarray(0, n) as never);
  return b;
}

/** A tick's underlyings (one, or several: distinct, in the order given), each in the new market. */
export function tickedUnderlyings(underlying: string | readonly string[], market: MarginMarket): string[] {
  const us = typeof underlying === 'string' ? [underlying] : [...new Set(underlying)];
  if (us.length === 0) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'a tick needs at least one underlying, got none');
  for (const u of us) {
    if (typeof u !== 'string' || !market.hasUnderlying(u)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the new market has no underlying ${JSON.stringify(u)}`);
  }
  return us;
}
