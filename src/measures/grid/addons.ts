/**
 * Add-ons of the scenario-grid measure, per row (a row = one sub-account's holdings on one
 * underlying). Each row has four add-on bases, computed from its net holdings:
 *
 *   Base.ShortOptions          net short option contracts (per instrument, or per expiry/strike
 *                              when the preset nets calls and puts of a strike)
 *   Base.LongFuturesCoin       long futures/perpetuals, in coin (inverse: USD size / F)
 *   Base.ShortFuturesCoin      short futures/perpetuals, in coin
 *   Base.ShortOptionContracts  short option contracts per instrument (SPAN short option minimum)
 *
 * and its IM = max(0, worst weighted loss) + short option add-on + futures add-on, floored by
 * the short option minimum. The one implementation: the account runner and the book's workers
 * both call these functions.
 */
import { Kind } from '../../instruments/table.js';
import type { GridMeasureParams } from './params.js';

export const enum Base {
  ShortOptions = 0,
  LongFuturesCoin = 1,
  ShortFuturesCoin = 2,
  ShortOptionContracts = 3,
}
/** add-on bases per row: row r owns bases[BASES·r .. BASES·r + BASES) */
export const BASES = 4;

/** What the bases read of each instrument (InstrumentTable arrays, or a runner's snapshot of them). */
export interface BaseInstruments {
  kind: Uint8Array;
  inverse: Uint8Array;
  forward: Float64Array;
  /** expiry/strike group of an option */
  group: Int32Array;
}

/** Coin size of a futures position for the futures add-on: inverse sizes are USD notional, so size / F. */
export function futuresCoin(ins: BaseInstruments, i: number, net: number): number {
  return ins.inverse[i] ? net / ins.forward[i] : net;
}

/** Adds one net futures holding to a row's futures bases. */
export function addFuturesBase(ins: BaseInstruments, i: number, net: number, bases: Float64Array, b: number): void {
  const coin = futuresCoin(ins, i, net);
  if (coin > 0) bases[b + Base.LongFuturesCoin] += coin;
  else bases[b + Base.ShortFuturesCoin] -= coin;
}

/** A what-if's trades on one row: n (instrument, size) pairs. */
export interface RowTrades {
  instr: Int32Array;
  size: Float64Array;
  n: number;
}

/** Nets kept of several rows (kept-nets.ts): (instr[j], size[j]) each, and at[i] = the index j of instrument i's net (−1: none; past the end: none). */
export interface KeptRowNets {
  instr: Int32Array;
  size: Float64Array;
  at: Int32Array;
}

/**
 * Computes add-on bases of rows from their holdings, netting per instrument in order of first
 * appearance. Holds its scratch (sized to the instrument and group counts, grown on demand).
 */
export class RowBases {
  private instrNet = new Int32Array(0);
  private netIdx = new Int32Array(0);
  private netSize = new Float64Array(0);
  private groupNet = new Float64Array(0);
  /** nettedRowInto's scratch: per trade, its net's index and that net before the trades */
  private heldAt = new Int32Array(0);
  private heldOld = new Float64Array(0);

  /**
   * Bases of one row into bases[BASES·r ..] from holdings [p0, p1) of (instr, size), then — when
   * `extra` is given — the holdings [0, nExtra) of extra (a what-if's trades on this row).
   * Coin holdings (collateral, inverse futures' entry legs) carry no add-on. `onFutures`
   * receives each net futures holding in order (the book records them to refresh the futures
   * bases on a tick without recomputing the row).
   */
  rowInto(
    p: GridMeasureParams,
    ins: BaseInstruments,
    nInstr: number,
    nGroups: number,
    instr: Int32Array,
    size: Float64Array,
    p0: number,
    p1: number,
    bases: Float64Array,
    r: number,
    onFutures?: (i: number, net: number) => void,
    extra?: RowTrades,
  ): void {
    this.ensure(nInstr, nGroups, p1 - p0 + (extra ? extra.n : 0));
    let nNet = this.net(ins, instr, size, p0, p1, 0);
    if (extra) nNet = this.net(ins, extra.instr, extra.size, 0, extra.n, nNet);
    this.basesOfNets(p, ins, this.netIdx, this.netSize, 0, nNet, bases, r, p.shortOptionByStrike, onFutures);
  }

  /**
   * Nets holdings [p0, p1) as rowInto does (first appearance order, coins left out) into
   * outInstr/outSize from index `at`; returns the count. The nets a what-if then starts from
   * (nettedRowInto): the same additions in the same order.
   */
  netsInto(ins: BaseInstruments, nInstr: number, instr: Int32Array, size: Float64Array, p0: number, p1: number, outInstr: Int32Array, outSize: Float64Array, at: number): number {
    this.ensure(nInstr, 0, p1 - p0);
    const n = this.net(ins, instr, size, p0, p1, 0);
    const { instrNet, netIdx, netSize } = this;
    for (let k = 0; k < n; k++) {
      instrNet[netIdx[k]] = -1;
      outInstr[at + k] = netIdx[k];
      outSize[at + k] = netSize[k];
    }
    return n;
  }

  /** True when no two options of nets [n0, n1) of `netInstr` share an expiry/strike group. */
  singleGroups(ins: BaseInstruments, nGroups: number, netInstr: Int32Array, n0: number, n1: number): boolean {
    this.ensure(0, nGroups, 0);
    const seen = this.groupNet; // marks, cleared before returning
    let single = true;
    for (let j = n0; j < n1 && single; j++) {
      const i = netInstr[j];
      if (ins.kind[i] !== Kind.Option) continue;
      if (seen[ins.group[i]] !== 0) single = false;
      seen[ins.group[i]] = 1;
    }
    for (let j = n0; j < n1; j++) if (ins.kind[netInstr[j]] === Kind.Option) seen[ins.group[netInstr[j]]] = 0;
    return single;
  }

  /**
   * Bases of row r as rowInto gives them for holdings whose nets are kept: nets [n0, n1) of
   * `kept` (netsInto's, kept up to date with the holdings), then `extra` added — to the net of
   * its instrument (kept.at), else after them, in order — as rowInto adds it after the holdings.
   * When the row holds every instrument of `extra`, its nets are moved in place and put back
   * after (no copy); then, when no two of them share an expiry/strike group (`singleGroups`,
   * see singleGroups), a group's net is its one option's net and the per-strike short options
   * are those per instrument: the same subtractions in the same order, in one pass.
   */
  nettedRowInto(
    p: GridMeasureParams,
    ins: BaseInstruments,
    nInstr: number,
    nGroups: number,
    kept: KeptRowNets,
    n0: number,
    n1: number,
    singleGroups: boolean,
    bases: Float64Array,
    r: number,
    extra: RowTrades,
  ): void {
    this.ensure(nInstr, nGroups, n1 - n0 + extra.n);
    const held = this.heldAt;
    for (let e = 0; e < extra.n; e++) {
      const i = extra.instr[e];
      const j = i < kept.at.length ? kept.at[i] : -1;
      if (j < n0 || j >= n1) return this.copiedRowInto(p, ins, kept, n0, n1, bases, r, extra);
      held[e] = j;
    }
    // each net moved once, to its sum (several trades of one instrument: added in order), and put back
    const old = this.heldOld;
    const size = kept.size;
    for (let e = 0; e < extra.n; e++) old[e] = size[held[e]];
    for (let e = 0; e < extra.n; e++) size[held[e]] += extra.size[e];
    this.basesOfNets(p, ins, kept.instr, size, n0, n1, bases, r, p.shortOptionByStrike && !singleGroups);
    for (let e = extra.n - 1; e >= 0; e--) size[held[e]] = old[e];
  }

  /** nettedRowInto when `extra` trades an instrument the row does not hold: the nets copied to the scratch, the trades netted after them. */
  private copiedRowInto(p: GridMeasureParams, ins: BaseInstruments, kept: KeptRowNets, n0: number, n1: number, bases: Float64Array, r: number, extra: RowTrades): void {
    const { netIdx, netSize } = this;
    let nNet = n1 - n0;
    for (let k = 0; k < nNet; k++) {
      netIdx[k] = kept.instr[n0 + k];
      netSize[k] = kept.size[n0 + k];
    }
    for (let e = 0; e < extra.n; e++) {
      const i = extra.instr[e];
      const j = i < kept.at.length ? kept.at[i] : -1;
      if (j >= n0 && j < n1) netSize[j - n0] += extra.size[e];
      else nNet = this.net(ins, extra.instr, extra.size, e, e + 1, nNet);
    }
    this.basesOfNets(p, ins, netIdx, netSize, 0, nNet, bases, r, p.shortOptionByStrike);
  }

  /** Scratch for nInstr instruments, nGroups groups and `cap` nets (grown on demand). */
  private ensure(nInstr: number, nGroups: number, cap: number): void {
    if (this.instrNet.length < nInstr) this.instrNet = new Int32Array(Math.max(nInstr, 2 * this.instrNet.length)).fill(-1);
    if (this.netIdx.length < cap) {
      this.netIdx = new Int32Array(Math.max(cap, 2 * this.netIdx.length));
      this.netSize = new Float64Array(this.netIdx.length);
    }
    if (this.heldAt.length < cap) {
      this.heldAt = new Int32Array(this.netIdx.length);
      this.heldOld = new Float64Array(this.netIdx.length);
    }
    if (this.groupNet.length < nGroups) this.groupNet = new Float64Array(Math.max(nGroups, 2 * this.groupNet.length));
  }

  /**
   * Bases of row r from nets [n0, n1) of (netIdx, netSize), short options netted per
   * expiry/strike when `byStrike` (each instrument's slot of the netting map left clean).
   */
  private basesOfNets(
    p: GridMeasureParams,
    ins: BaseInstruments,
    netIdx: Int32Array,
    netSize: Float64Array,
    n0: number,
    n1: number,
    bases: Float64Array,
    r: number,
    byStrike: boolean,
    onFutures?: (i: number, net: number) => void,
  ): void {
    const b = BASES * r;
    for (let j = b; j < b + BASES; j++) bases[j] = 0;
    const { instrNet, groupNet } = this;
    for (let k = n0; k < n1; k++) {
      const i = netIdx[k];
      instrNet[i] = -1;
      const q = netSize[k];
      if (q === 0) continue;
      const kind = ins.kind[i];
      if (kind === Kind.Option) {
        if (q < 0) bases[b + Base.ShortOptionContracts] -= q;
        if (byStrike) groupNet[ins.group[i]] += q;
        else if (q < 0) bases[b + Base.ShortOptions] -= q;
      } else if (kind === Kind.Future || kind === Kind.Perpetual) {
        addFuturesBase(ins, i, q, bases, b);
        if (onFutures) onFutures(i, q);
      }
    }
    if (byStrike) {
      for (let k = n0; k < n1; k++) {
        const i = netIdx[k];
        if (ins.kind[i] !== Kind.Option) continue;
        const g = ins.group[i];
        const q = groupNet[g];
        if (q < 0) bases[b + Base.ShortOptions] -= q;
        groupNet[g] = 0; // each group counted once, and the scratch left clean
      }
    }
  }

  /** Nets holdings [p0, p1) into the scratch after the first nNet entries; returns the new count. */
  private net(ins: BaseInstruments, instr: Int32Array, size: Float64Array, p0: number, p1: number, nNet: number): number {
    const { instrNet, netIdx, netSize } = this;
    for (let p = p0; p < p1; p++) {
      const i = instr[p];
      if (ins.kind[i] === Kind.Coin) continue;
      let k = instrNet[i];
      if (k < 0) {
        k = nNet++;
        instrNet[i] = k;
        netIdx[k] = i;
        netSize[k] = 0;
      }
      netSize[k] += size[p];
    }
    return nNet;
  }
}

/**
 * IM of row r: max(0, worst weighted loss) + add-ons, S the underlying's index. `parts`, when
 * given, receives [short option add-on, futures add-on, short option minimum].
 */
export function rowIm(p: GridMeasureParams, bases: Float64Array, r: number, worstLoss: number, S: number, parts?: Float64Array): number {
  const b = BASES * r;
  let im = Math.max(0, worstLoss);
  if (p.shortOption !== null) {
    const x = bases[b + Base.ShortOptions] * p.shortOption * S;
    im += x;
    if (parts) parts[0] = x;
  }
  if (p.futuresFraction !== null) {
    const long = bases[b + Base.LongFuturesCoin];
    const short = bases[b + Base.ShortFuturesCoin];
    const x = (p.futuresGross ? long + short : Math.min(long, short)) * p.futuresFraction * S;
    im += x;
    if (parts) parts[1] = x;
  }
  if (p.shortOptionMinimum !== null) {
    const x = bases[b + Base.ShortOptionContracts] * p.shortOptionMinimum * S;
    im = Math.max(im, x);
    if (parts) parts[2] = x;
  }
  return im;
}

/** out[r] = rowIm of rows [from, to), all on one underlying of index S (loss[r] = worst weighted loss). */
export function rowImInto(p: GridMeasureParams, bases: Float64Array, loss: Float64Array, S: number, from: number, to: number, out: Float64Array): void {
  for (let r = from; r < to; r++) out[r] = rowIm(p, bases, r, loss[r], S);
}
