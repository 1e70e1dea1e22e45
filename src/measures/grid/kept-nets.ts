/**
 * The netted holdings of the grid measure's kept what-if state (account.ts): per row k, the nets
 * [start[k], start[k+1]) of (instrument, net size) in order of first appearance — what
 * RowBases.netsInto makes of the row's holdings, kept equal to it as the state advances — so
 * that a what-if adds its changes to these nets (RowBases.nettedRowInto: the same additions in
 * the same order as rowInto's netting of the holdings then the changes) instead of netting the
 * row's holdings again. One per measure, reused: it holds the nets of one state (its owner),
 * and nets another state's holdings when a what-if reads that one.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import type { BaseInstruments, KeptRowNets, RowBases, RowTrades } from './addons.js';
import type { GridMeasureParams } from './params.js';

/** A state's rows of holdings: row k holds (instr[h], size[h]) for h in [start[k], start[k+1]). */
export interface RowHoldings {
  instr: Int32Array;
  size: Float64Array;
  start: Int32Array;
}

export class KeptNets implements KeptRowNets {
  /** the state whose holdings these are the nets of */
  private owner: object | null = null;
  private nRows = 0;
  private start = new Int32Array(1);
  /** per row: 1 when no two of its options share an expiry/strike group (RowBases.singleGroups) */
  private single = new Uint8Array(0);
  instr = new Int32Array(0);
  size = new Float64Array(0);
  /** instrument → index of its net (−1: the owner holds none; coins have none) */
  at = new Int32Array(0);

  constructor(private readonly rowBases: RowBases) {}

  /** The nets become those of `owner`'s holdings h (netted now unless they already are). */
  hold(owner: object, ins: BaseInstruments, nInstr: number, nGroups: number, h: RowHoldings): void {
    if (this.owner === owner) return;
    this.forget();
    const nRows = h.start.length - 1;
    const cap = h.start[nRows];
    if (this.start.length < nRows + 1) {
      this.start = new Int32Array(Math.max(nRows + 1, 2 * this.start.length));
      this.single = new Uint8Array(this.start.length);
    }
    if (this.instr.length < cap) {
      this.instr = new Int32Array(Math.max(cap, 2 * this.instr.length));
      this.size = new Float64Array(this.instr.length);
    }
    if (this.at.length < nInstr) this.at = new Int32Array(Math.max(nInstr, 2 * this.at.length)).fill(-1);
    let n = 0;
    for (let k = 0; k < nRows; k++) {
      this.start[k] = n;
      n += this.rowBases.netsInto(ins, nInstr, h.instr, h.size, h.start[k], h.start[k + 1], this.instr, this.size, n);
      this.single[k] = this.rowBases.singleGroups(ins, nGroups, this.instr, this.start[k], n) ? 1 : 0;
    }
    this.start[nRows] = n;
    for (let j = 0; j < n; j++) {
      // a row is one underlying's holdings: an instrument has its net in one row
      if (this.at[this.instr[j]] >= 0) throw new OptmarginError(ErrorCodes.INTERNAL, `instrument ${this.instr[j]} netted in two rows of a kept state`);
      this.at[this.instr[j]] = j;
    }
    this.nRows = nRows;
    this.owner = owner;
  }

  /** Bases of row r: row k's nets (none for a row past the held ones) with `extra` added (RowBases.nettedRowInto). */
  rowInto(p: GridMeasureParams, ins: BaseInstruments, nInstr: number, nGroups: number, k: number, bases: Float64Array, r: number, extra: RowTrades): void {
    const n0 = k < this.nRows ? this.start[k] : 0;
    const n1 = k < this.nRows ? this.start[k + 1] : 0;
    this.rowBases.nettedRowInto(p, ins, nInstr, nGroups, this, n0, n1, k < this.nRows && this.single[k] === 1, bases, r, extra);
  }

  /**
   * `owner`'s holdings of instrument i — (instr[h], size[h]) for h in [h0, h1): its row from its
   * first holding of i on — changed size: its net is netted again from them (the same
   * additions, in holdings order, as netsInto). Nothing when these are not owner's nets, or i
   * has no net (a coin).
   */
  resized(owner: object, i: number, instr: Int32Array, size: Float64Array, h0: number, h1: number): void {
    if (this.owner !== owner) return;
    const j = i < this.at.length ? this.at[i] : -1;
    if (j < 0) return;
    let q = 0;
    for (let h = h0; h < h1; h++) if (instr[h] === i) q += size[h];
    this.size[j] = q;
  }

  /** No state's nets held (the instrument map left clean). */
  forget(): void {
    const n = this.start[this.nRows];
    for (let j = 0; j < n; j++) this.at[this.instr[j]] = -1;
    this.nRows = 0;
    this.start[0] = 0;
    this.owner = null;
  }
}
