/**
 * Aggregation of one holding set: its P&L vector per underlying over a scenario set,
 * pnl[row·nScen + s] = Σ size × value of the holding's instrument in scenario s, rows in order
 * of first appearance of their underlying. Holdings are the positions, the coin legs of inverse
 * futures (size / entry coin) and coin collateral (after haircut). Revaluation supplies the
 * per-unit values; the sum is the TS twin of the WASM kernel `aggregateAccounts`.
 *
 * Margin (grid measures), VaR/ES and stress reports reduce these vectors in their own way.
 */
import type { CollateralLine, Resolved } from '../instruments/resolve.js';
import type { InstrumentTable } from '../instruments/table.js';
import { collateralExposure, sumParts, underlyingOrder } from '../instruments/valuation.js';
import { aggregateInto } from './aggregate.js';
import type { Revaluation } from './revaluation.js';

/** P&L vectors of a holding set (owned arrays: they stay valid). */
export interface PnlVectors {
  nScen: number;
  /** underlying slot (table.underlyingOf) of each row */
  slots: number[];
  /** rows × nScen, USD */
  pnl: Float64Array;
  /** holdings of row k: [start[k], start[k+1]) of instr / size, in input order */
  start: Int32Array;
  instr: Int32Array;
  size: Float64Array;
  /** collateral value + the positions' value, USD (in the equity's one order: instruments/valuation.ts sumParts) */
  equity: number;
}

/** Released buffers kept at most (an isolated account's positions' vectors are released together), and the smallest buffer made. */
const SPARE_BUFFERS = 32;
const MIN_STORAGE = 1024;

export class PortfolioPnl {
  private slotRow = new Int32Array(0);
  private hInstr = new Int32Array(0);
  private hSize = new Float64Array(0);
  private hRow = new Int32Array(0);
  /** per row: the partial sum of its positions' values and their count; the underlyings holding positions, in name order, and their partial sums (scratch) */
  private rowValue = new Float64Array(0);
  private rowPositions = new Int32Array(0);
  private partSlots = new Int32Array(0);
  private parts = new Float64Array(0);
  /** aggregate's scratch: each row's next holding slot */
  private fill = new Int32Array(0);
  /** storage of vectors their caller released (release): the next vectors' when large enough */
  private readonly spare: ArrayBuffer[] = [];

  constructor(
    readonly table: InstrumentTable,
    readonly revaluation: Revaluation,
  ) {}

  /** Slot → row scratch map (−1 = none; left clean after each use). */
  private slotRowMap(): Int32Array {
    const n = this.table.underlyings.length;
    if (this.slotRow.length < n) this.slotRow = new Int32Array(Math.max(n, 2 * this.slotRow.length)).fill(-1);
    return this.slotRow;
  }

  /** Scratch for n holdings (and as many rows at most). */
  private holdingsScratch(n: number): void {
    if (this.hInstr.length < n) {
      const c = Math.max(n, 2 * this.hInstr.length);
      this.hInstr = new Int32Array(c);
      this.hSize = new Float64Array(c);
      this.hRow = new Int32Array(c);
      this.rowValue = new Float64Array(c);
      this.rowPositions = new Int32Array(c);
      this.partSlots = new Int32Array(c);
      this.parts = new Float64Array(c);
    }
  }

  /** P&L vectors of positions [from, to) of `r` plus the collateral lines (their value: `collateralValue`). */
  of(r: Resolved, from: number, to: number, collateral: CollateralLine[], collateralValue: number): PnlVectors {
    const tb = this.table;
    const slots: number[] = [];
    const slotRow = this.slotRowMap();
    this.holdingsScratch(2 * (to - from) + collateral.length);
    const { hInstr, hSize, hRow, rowValue, rowPositions } = this;
    let h = 0;
    const rowOf = (slot: number): number => {
      let k = slotRow[slot];
      if (k < 0) {
        k = slots.length;
        slots.push(slot);
        slotRow[slot] = k;
        rowValue[k] = 0;
        rowPositions[k] = 0;
      }
      return k;
    };
    for (let p = from; p < to; p++) {
      const i = r.instr[p];
      hInstr[h] = i;
      hSize[h] = r.size[p];
      const row = rowOf(tb.underlyingOf[i]);
      hRow[h++] = row;
      rowValue[row] += r.posValue[p];
      rowPositions[row]++;
      if (r.posCoin[p] !== 0) {
        const ci = tb.coinIndex(tb.underlyings[tb.underlyingOf[i]]);
        hInstr[h] = ci;
        hSize[h] = r.posCoin[p];
        hRow[h++] = rowOf(tb.underlyingOf[ci]);
      }
    }
    for (const c of collateral) {
      if (c.coin < 0) continue;
      hInstr[h] = c.coin;
      hSize[h] = collateralExposure(c.amount, c.haircut);
      hRow[h++] = rowOf(tb.underlyingOf[c.coin]);
    }
    const equity = this.equity(slots, collateralValue);
    for (const s of slots) slotRow[s] = -1;
    return this.aggregate(slots, h, equity);
  }

  /** The equity: the collateral value, then each underlying's partial sum in the equity's one order (instruments/valuation.ts). */
  private equity(slots: number[], collateralValue: number): number {
    let n = 0;
    for (let k = 0; k < slots.length; k++) if (this.rowPositions[k] > 0) this.partSlots[n++] = slots[k];
    underlyingOrder(this.partSlots, n, this.table.underlyings);
    for (let t = 0; t < n; t++) this.parts[t] = this.rowValue[this.slotRow[this.partSlots[t]]];
    return sumParts(collateralValue, this.parts, 0, n);
  }

  /** Orders the h holdings by row (each row a contiguous range: the kernel's layout) and sums the vectors. */
  private aggregate(slots: number[], h: number, equity: number): PnlVectors {
    const rev = this.revaluation;
    rev.sync();
    for (const s of slots) rev.scenariosOf(s);
    const ns = rev.nScen;
    const nRows = slots.length;
    const start = new Int32Array(nRows + 1);
    for (let k = 0; k < h; k++) start[this.hRow[k] + 1]++;
    for (let k = 0; k < nRows; k++) start[k + 1] += start[k];
    if (this.fill.length < nRows) this.fill = new Int32Array(Math.max(nRows, 2 * this.fill.length));
    const fill = this.fill;
    for (let k = 0; k < nRows; k++) fill[k] = start[k];
    // the three owned arrays share one buffer: one allocation (and one buffer for the collector
    // to sweep) instead of three — or none, a released one; the doubles first, so that each view
    // is aligned (aggregateInto writes every value of pnl: a released buffer's old values go)
    const buf = this.storage(8 * (h + nRows * ns) + 4 * h);
    const size = new Float64Array(buf, 0, h);
    const pnl = new Float64Array(buf, 8 * h, nRows * ns);
    const instr = new Int32Array(buf, 8 * (h + nRows * ns), h);
    for (let k = 0; k < h; k++) {
      const d = fill[this.hRow[k]]++;
      instr[d] = this.hInstr[k];
      size[d] = this.hSize[k];
    }
    aggregateInto(nRows, ns, start, instr, size, rev.values, pnl);
    return { nScen: ns, slots, pnl, start, instr, size, equity };
  }

  /**
   * The caller reads `v` no more, nor any array of it (a margin measure's vectors it replaced or
   * did not keep): its storage may back later vectors — a fresh margin then allocates no buffer
   * (an off-heap allocation costs as much as summing a small account's vectors).
   */
  release(v: PnlVectors): void {
    const buf = v.instr.buffer as ArrayBuffer;
    if (this.spare.length < SPARE_BUFFERS && !this.spare.includes(buf)) this.spare.push(buf);
  }

  /** A released buffer of at least `bytes`, else a new one (a power of two: the next vectors of a few more holdings fit it too). */
  private storage(bytes: number): ArrayBuffer {
    const spare = this.spare;
    for (let j = spare.length - 1; j >= 0; j--) {
      const b = spare[j];
      if (b.byteLength < bytes) continue;
      spare[j] = spare[spare.length - 1];
      spare.pop();
      return b;
    }
    return new ArrayBuffer(Math.max(MIN_STORAGE, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1)))));
  }
}
