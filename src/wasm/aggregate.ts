/**
 * Typed wrapper over the aggregation kernels of assembly/aggregate.ts. An `Aggregator` owns its
 * Regions in one WasmInstance (one per worker thread, or the main thread's) and grows them by
 * doubling; callers hand it plain typed arrays (or subarrays of SharedArrayBuffers) and get
 * plain typed arrays back — no pointer ever leaves this file.
 *
 * Layout (the kernel's): "sub-accounts" (rows) own contiguous position ranges
 * [rowStart[r], rowStart[r+1]) of posInstr (instrument index into the risk-array matrix) and
 * posSize; risk arrays are row-major, riskValues[i·nScen + s] = USD P&L of one unit of
 * instrument i in scenario s. Summation runs in position order within each row whatever the
 * chunking, so results are bit-identical for any number of threads.
 *
 * Two ways to hand it a book: `worstLossOfRows` copies the rows it is given (one-off calls), or
 * `syncBook` makes a whole book's CSR resident once (a book engine's worker: ~12 bytes per
 * holding copied once per load, then every chunk runs on the resident copy with no copy) and
 * `worstLossResident` runs rows of it.
 */
import type { Region } from './module.js';
import { WasmInstance } from './module.js';

/** The book's rows and holdings (CSR), shared; see Aggregator.syncBook (built by the book engine). */
export interface BookCsr {
  /** identity of the arrays: a new key means a new load (or a reallocation): copy everything */
  key: string;
  rowStart: Int32Array;
  posInstr: Int32Array;
  posSize: Float64Array;
  /** rows and holdings in use (rows appended by trades extend both) */
  nRows: number;
  nHold: number;
  /** the holdings whose size a tick changes (the inverse futures' coin legs): legPos[0..nLeg), ascending */
  legPos: Int32Array;
  nLeg: number;
  /**
   * holdings whose size was edited in place since the load (a liquidation reducing positions:
   * BookRows.setSize), in edit order: edits[0..nEdit); a resident copy re-reads those it has not seen
   */
  edits: Int32Array;
  nEdit: number;
}

export class Aggregator {
  readonly instance: WasmInstance;
  private rowStart: Region<'i32'>;
  private posInstr: Region<'i32'>;
  private posSize: Region<'f64'>;
  private risk: Region<'f64'>;
  private weights: Region<'f64'>;
  private pnl: Region<'f64'>;
  private loss: Region<'f64'>;
  private worst: Region<'i32'>;
  /** identity of the risk matrix currently resident (skip the copy when unchanged) */
  private riskKey: unknown = undefined;
  private riskLength = 0;
  /** resident book (syncBook): its key, rows / holdings copied, size version */
  private bookRowStart: Region<'i32'> | null = null;
  private bookPosInstr: Region<'i32'> | null = null;
  private bookPosSize: Region<'f64'> | null = null;
  private bookKey: string | null = null;
  private bookRows = 0;
  private bookHold = 0;
  /** in-place size edits of the resident book already copied (BookCsr.edits) */
  private bookEdits = 0;

  constructor(instance: WasmInstance) {
    this.instance = instance;
    const w = instance;
    this.rowStart = w.alloc('i32', 1025);
    this.posInstr = w.alloc('i32', 16384);
    this.posSize = w.alloc('f64', 16384);
    this.risk = w.alloc('f64', 4096);
    this.weights = w.alloc('f64', 64);
    this.pnl = w.alloc('f64', 1024 * 32);
    this.loss = w.alloc('f64', 1024);
    this.worst = w.alloc('i32', 1024);
  }


  /**
   * Makes `values` (nInstruments × nScen) the resident risk matrix. `key` identifies a version
   * (e.g. a counter bumped on every tick): an unchanged key skips the copy.
   */
  setRiskArrays(values: Float64Array, key?: unknown): void {
    if (key !== undefined && key === this.riskKey && values.length === this.riskLength) return;
    this.risk = this.instance.room(this.risk, values.length);
    this.risk.view.set(values);
    this.riskKey = key;
    this.riskLength = values.length;
  }

  /**
   * Makes a book's CSR resident in this instance's memory. A new `key` (a new load, or arrays
   * reallocated) copies everything; the same key copies only rows / holdings appended since
   * (trades), and the sizes edited in place since the last sync (BookCsr.edits). The sizes a tick
   * moves (coin legs) are re-copied per row range before it is aggregated: `syncLegs`.
   */
  syncBook(b: BookCsr): void {
    const full = b.key !== this.bookKey || this.bookRowStart === null || this.bookRowStart.capacity < b.nRows + 1 || this.bookPosInstr!.capacity < b.nHold;
    if (full) {
      // headroom for rows appended by trades before the next reallocation
      const rowCap = b.rowStart.length;
      const holdCap = Math.max(1, b.posInstr.length);
      if (this.bookRowStart === null || this.bookRowStart.capacity < rowCap) this.bookRowStart = this.instance.alloc('i32', rowCap);
      if (this.bookPosInstr === null || this.bookPosInstr.capacity < holdCap) this.bookPosInstr = this.instance.alloc('i32', holdCap);
      if (this.bookPosSize === null || this.bookPosSize.capacity < holdCap) this.bookPosSize = this.instance.alloc('f64', holdCap);
      this.bookRowStart.view.set(b.rowStart.subarray(0, b.nRows + 1));
      this.bookPosInstr!.view.set(b.posInstr.subarray(0, b.nHold));
      this.bookPosSize!.view.set(b.posSize.subarray(0, b.nHold));
      this.bookKey = b.key;
      this.bookRows = b.nRows;
      this.bookHold = b.nHold;
      this.bookEdits = b.nEdit;
      return;
    }
    if (b.nRows > this.bookRows || b.nHold > this.bookHold) {
      this.bookRowStart!.view.set(b.rowStart.subarray(this.bookRows + 1, b.nRows + 1), this.bookRows + 1);
      this.bookPosInstr!.view.set(b.posInstr.subarray(this.bookHold, b.nHold), this.bookHold);
      this.bookPosSize!.view.set(b.posSize.subarray(this.bookHold, b.nHold), this.bookHold);
      this.bookRows = b.nRows;
      this.bookHold = b.nHold;
    }
    if (b.nEdit > this.bookEdits) {
      const dst = this.bookPosSize!.view;
      for (let k = this.bookEdits; k < b.nEdit; k++) dst[b.edits[k]] = b.posSize[b.edits[k]];
      this.bookEdits = b.nEdit;
    }
  }

  /**
   * Re-copies the sizes of the coin legs legPos[k0 .. k1) from the shared CSR (a tick may have
   * resized them since they were copied, in this thread or another): call before aggregating
   * rows holding them.
   */
  syncLegs(b: BookCsr, k0: number, k1: number): void {
    const dst = this.bookPosSize!.view;
    const { legPos, posSize } = b;
    for (let k = k0; k < k1; k++) dst[legPos[k]] = posSize[legPos[k]];
  }

  /**
   * worstLossOfRows on rows [from, to) of the resident book (syncBook): no copy of holdings, and
   * each row's P&L vector reduced right after it is summed (the kernel `aggregateWorst`).
   * outLoss[r] / outIndex[r] receive row r's worst loss and scenario (global row index).
   */
  worstLossResident(from: number, to: number, nScen: number, weights: Float64Array, outLoss: Float64Array, outIndex: Int32Array): void {
    if (to <= from) return;
    if (this.bookRowStart === null || to > this.bookRows) throw new Error(`rows ${from}..${to} are not resident (syncBook first)`);
    const n = to - from;
    this.pnl = this.instance.room(this.pnl, nScen);
    this.loss = this.instance.room(this.loss, n);
    this.worst = this.instance.room(this.worst, n);
    this.weights = this.instance.room(this.weights, nScen);
    this.weights.view.set(weights.subarray(0, nScen));
    const x = this.instance.exports;
    x.aggregateWorst(n, nScen, this.bookRowStart.ptr + 4 * from, this.bookPosInstr!.ptr, this.bookPosSize!.ptr, this.risk.ptr, this.weights.ptr, this.pnl.ptr, this.loss.ptr, this.worst.ptr);
    outLoss.set(this.loss.view.subarray(0, n), from);
    outIndex.set(this.worst.view.subarray(0, n), from);
  }

  /**
   * Worst weighted loss of rows [from, to) of a CSR book: aggregates each row's P&L vector in
   * WASM (SIMD across scenarios), then takes loss_s = −weight_s × pnl_s and its first maximum.
   * Rows [from, to) must share one weights vector (one underlying's grid).
   * outLoss[r − outOffset] / outIndex[r − outOffset] receive row r's loss (may be negative:
   * every scenario gains) and scenario index. When `pnlOut` is given, the P&L vectors are
   * copied there too ((to − from) × nScen, row-major).
   */
  worstLossOfRows(
    from: number,
    to: number,
    nScen: number,
    rowStart: Int32Array,
    posInstr: Int32Array,
    posSize: Float64Array,
    weights: Float64Array,
    outLoss: Float64Array,
    outIndex: Int32Array,
    outOffset: number,
    pnlOut?: Float64Array,
  ): void {
    const nRows = to - from;
    if (nRows <= 0) return;
    const p0 = rowStart[from];
    const p1 = rowStart[to];
    const nPos = p1 - p0;
    this.rowStart = this.instance.room(this.rowStart, nRows + 1);
    this.posInstr = this.instance.room(this.posInstr, nPos);
    this.posSize = this.instance.room(this.posSize, nPos);
    this.pnl = this.instance.room(this.pnl, nRows * nScen);
    this.loss = this.instance.room(this.loss, nRows);
    this.worst = this.instance.room(this.worst, nRows);
    this.weights = this.instance.room(this.weights, nScen);
    // views after every grow (memory growth detaches older views)
    const rs = this.rowStart.view;
    for (let r = 0; r <= nRows; r++) rs[r] = rowStart[from + r] - p0;
    copyRange(this.posInstr.view, 0, posInstr, p0, p1);
    copyRange(this.posSize.view, 0, posSize, p0, p1);
    copyRange(this.weights.view, 0, weights, 0, nScen);
    const x = this.instance.exports;
    x.aggregateAccounts(nRows, nScen, this.rowStart.ptr, this.posInstr.ptr, this.posSize.ptr, this.risk.ptr, this.pnl.ptr);
    x.worstLoss(nRows, nScen, this.pnl.ptr, this.weights.ptr, this.loss.ptr, this.worst.ptr);
    const off = from - outOffset;
    copyRange(outLoss, off, this.loss.view, 0, nRows);
    copyRange(outIndex, off, this.worst.view, 0, nRows);
    if (pnlOut) pnlOut.set(this.pnl.view.subarray(0, nRows * nScen));
  }

  /** pnl += size × riskArrays[instr] on one vector (the kernel `addPosition`); returns the updated copy. */
  addPosition(pnl: Float64Array, instr: number, size: number): Float64Array {
    const n = pnl.length;
    this.pnl = this.instance.room(this.pnl, n);
    this.pnl.view.set(pnl);
    this.instance.exports.addPosition(n, this.pnl.ptr, this.risk.ptr, instr, size);
    pnl.set(this.pnl.view.subarray(0, n));
    return pnl;
  }
}

/** dst[at ..] = src[from, to): a loop for a short range (a one-row call: no view made per copy), else one `set`. */
function copyRange<T extends Int32Array | Float64Array>(dst: T, at: number, src: T, from: number, to: number): void {
  if (to - from > 64) {
    dst.set(src.subarray(from, to) as never, at);
    return;
  }
  for (let i = from; i < to; i++) dst[at + i - from] = src[i];
}
