/**
 * A tick's forward move on the rows of its underlying: the coin legs of inverse futures entered
 * at mark are resized (size·cs / F, instruments/valuation.ts entryLegCoin) and the futures
 * add-on bases of the rows holding inverse futures re-summed from their recorded net futures
 * (measures/grid/addons.ts addFuturesBase, the order the row was first computed in). Each tick
 * chunk does it for its own row ranges before aggregating them (tasks.ts), so this runs in
 * parallel on the pool; the main thread runs the same function for the ranges of a chunk that
 * failed every attempt. Every array is shared: a chunk writes only its rows' sizes and bases.
 */
import { entryLegCoin } from '../../instruments/valuation.js';
import { BASES, Base, addFuturesBase, type BaseInstruments } from '../../measures/grid/addons.js';

/** What following the forwards of the ticked slots reads and writes (built by BookRows.follow). */
export interface ForwardFollow {
  /** per underlying slot: 1 when the tick moved it (its rows follow the new forwards) */
  moved: Uint8Array;
  /** instruments (the tick's forwards) */
  ins: BaseInstruments & { cs: Float64Array; slot: Int32Array };
  /** original positions: instrument (~instrument when it has an entry price), size */
  opInstr: Int32Array;
  opSize: Float64Array;
  /** coin legs whose size follows F, ascending holding index; legOp[k]: the position of legPos[k] */
  legPos: Int32Array;
  legOp: Int32Array;
  nLeg: number;
  /** per moved slot, its rows holding inverse futures/perpetuals, ascending, and their count (other slots: empty) */
  marketRows: Int32Array[];
  nMarket: Int32Array;
  /** per row, its net futures [rowFutStart[r], rowFutStart[r+1]) of (futInstr, futNet) */
  rowFutStart: Int32Array;
  futInstr: Int32Array;
  futNet: Float64Array;
  /** written: CSR sizes and add-on bases (BASES per row) */
  rowStart: Int32Array;
  posSize: Float64Array;
  bases: Float64Array;
}

/** First k in [0, n) with a[k] >= x (a ascending), else n. */
export function lowerBound(a: Int32Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The futures bases of row r from its recorded net futures, in the same order as when it was first computed. */
export function refreshFuturesBases(ins: BaseInstruments, f: Pick<ForwardFollow, 'rowFutStart' | 'futInstr' | 'futNet' | 'bases'>, r: number): void {
  const b = BASES * r;
  f.bases[b + Base.LongFuturesCoin] = 0;
  f.bases[b + Base.ShortFuturesCoin] = 0;
  for (let q = f.rowFutStart[r]; q < f.rowFutStart[r + 1]; q++) addFuturesBase(ins, f.futInstr[q], f.futNet[q], f.bases, b);
}

/** Rows [from, to) of a moved slot: their coin legs' sizes and futures bases after the forward moved (nothing for a slot the tick did not move). */
export function followRows(f: ForwardFollow, from: number, to: number, slot: number): void {
  if (!f.moved[slot]) return;
  const { ins, opInstr, opSize, legPos, legOp, posSize } = f;
  const hEnd = f.rowStart[to];
  for (let k = lowerBound(legPos, f.nLeg, f.rowStart[from]); k < f.nLeg && legPos[k] < hEnd; k++) {
    const op = legOp[k];
    const i = opInstr[op]; // a leg's position was entered at mark: no entry flag
    if (ins.slot[i] === slot) posSize[legPos[k]] = entryLegCoin(ins.kind[i], ins.inverse[i], ins.cs[i], opSize[op], ins.forward[i]);
  }
  const rows = f.marketRows[slot];
  const n = f.nMarket[slot];
  for (let q = lowerBound(rows, n, from); q < n && rows[q] < to; q++) refreshFuturesBases(ins, f, rows[q]);
}
