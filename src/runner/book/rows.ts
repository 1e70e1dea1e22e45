/**
 * The book's rows: one per (sub-account, underlying), ordered underlying-major (one
 * underlying's rows are contiguous), each owning its holdings (instrument indices + sizes) in
 * input order — a CSR in SharedArrayBuffers that the workers make resident in their WASM
 * memory once per load. Per row: its add-on bases (measures/grid/addons.ts), worst loss and
 * scenario. Trades append rows at the end (the account's old rows become dead until the next
 * load); a reduction (BookEngine.replace: a liquidation) edits an account's holdings in place
 * (applyEdit, logged in csr.edits for the workers' resident copies); a tick resizes the inverse futures' coin legs entered at mark (size / F) and re-sums their
 * rows' futures bases, in its chunks (forwards.ts).
 */
import { BASES, RowBases } from '../../measures/grid/addons.js';
import type { GridMeasureParams } from '../../measures/grid/params.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';
import type { BookCsr } from '../../wasm/aggregate.js';
import { F64, I32, growShared, sharedF64, sharedI32, sharedU8 } from './arrays.js';
import { growPlain } from '../../platform/typed.js';
import type { BookAccounts } from './accounts.js';
import type { Holdings } from './holdings.js';
import type { BookInstruments } from './instruments.js';
import type { SizeEdit } from './edit.js';
import type { ForwardFollow } from './forwards.js';

/** Whether instrument i gives its row a market base: an inverse future or perpetual, whose futures base moves with the forward (a tick re-sums it: forwards.ts). */
function marketBased(ins: BookInstruments, i: number): boolean {
  return ins.fromEntry[i] === 1 && ins.inverse[i] !== 0;
}

export class BookRows {
  nRows = 0;
  /** rows of the load (rows after it were appended by trades) */
  loadedRows = 0;
  csr: BookCsr = { key: '', rowStart: new Int32Array(1), posInstr: new Int32Array(0), posSize: new Float64Array(0), nRows: 0, nHold: 0, legPos: new Int32Array(0), nLeg: 0, edits: new Int32Array(0), nEdit: 0 };
  private csrVersion = 0;
  rowSub = new Int32Array(0);
  rowSlot = new Int32Array(0);
  /** coin legs whose size follows F (inverse futures entered at mark), ascending holding index (csr.legPos), and the original position of each (shared) */
  private legPos = new I32(1024, true);
  private legOp = new I32(1024, true);
  /** per slot: loaded rows [from, to), rows appended by trades */
  slotRowFrom: number[] = [];
  slotRowTo: number[] = [];
  tailRows: number[][] = [];
  /** add-on bases (BASES per row), worst weighted loss and scenario per row (shared) */
  bases: Float64Array = new Float64Array(0);
  loss: Float64Array = new Float64Array(0);
  worst: Int32Array = new Int32Array(0);
  /** per slot: its rows holding inverse futures/perpetuals, ascending (their futures bases move with the forward; shared) */
  private marketRows: I32[] = [];
  /** per row, its net futures in first-appearance order (instrument, net size): what a tick re-sums (forwards.ts; shared) */
  private rowFutStart = new I32(1024, true);
  private futInstr = new I32(1024, true);
  private futNet = new F64(1024, true);
  private readonly rowBases = new RowBases();
  /** records a computed row's net futures (computeBases: one function, not one per row) */
  private readonly recordFutures = (i: number, net: number): void => {
    this.futInstr.push(i);
    this.futNet.push(net);
  };
  /** holdings edited in place since the last load or full copy (csr.edits), and an edit's scratch */
  private editLog = new I32(1024, true);
  private readonly scratch = { instr: new I32(), size: new F64(), fut: new I32(), net: new F64() };
  /** an edit's rows' new bases (BASES per row) and recorded futures' nets (each row's, in turn), written once every row fits */
  private readonly edited = { bases: new F64(BASES * 16), nets: new F64(64) };
  /** editedRow's row futures (rowInto's callback: one function, not one per row) */
  private readonly editedFutures = (i: number, net: number): void => {
    this.scratch.fut.push(i);
    this.scratch.net.push(net);
  };
  /** subSlots' (sub-account, slot) pairs and their row lengths, reused by every call (read before the next): a trade's append allocated two 4 KiB backing stores */
  private readonly pairs = { slot: new Int32Array(1024), len: new Int32Array(1024) };

  constructor(
    /** identity of the book (keys of the resident copies in workers) */
    private readonly bookId: number,
    private readonly params: GridMeasureParams | null,
  ) {}

  /** Rows [from, to) of slot s and its appended rows, each passed to fn. */
  forEachRowOf(s: number, fn: (r: number) => void): void {
    for (let r = this.slotRowFrom[s]; r < this.slotRowTo[s]; r++) fn(r);
    for (const r of this.tailRows[s]) fn(r);
  }

  /** Lays out the rows of a load: underlying-major, then by sub-account; holdings in each row in input order. */
  layout(hold: Holdings, nSubs: number, ins: BookInstruments, red: ReduceArrays): void {
    const nu = ins.underlyings.length;
    const { subRowStart, subSlots, subRowLen, slotRows } = this.subSlots(hold, nSubs, ins.slot, nu);
    const nRows = subRowStart[nSubs];
    this.nRows = nRows;
    this.loadedRows = nRows;
    this.slotRowFrom = new Array(nu);
    this.slotRowTo = new Array(nu);
    this.tailRows = ins.underlyings.map(() => []);
    this.marketRows = ins.underlyings.map(() => new I32(256, true));
    for (let s = 0, r0 = 0; s < nu; s++) {
      this.slotRowFrom[s] = r0;
      r0 += slotRows[s];
      this.slotRowTo[s] = r0;
    }
    this.allocate(nRows, hold.instr.n, nSubs, red);
    red.subRowStart.set(subRowStart);
    const rowLen = this.assignRows(nSubs, subRowStart, subSlots, subRowLen, red);
    const rowStart = this.csr.rowStart;
    for (let r = 0; r < nRows; r++) rowStart[r + 1] = rowStart[r] + rowLen[r];
    this.fillHoldings(hold, nSubs, subRowStart, ins, red);
    this.rowFutStart = new I32(1024, true);
    this.rowFutStart.push(0);
    this.futInstr = new I32(1024, true);
    this.futNet = new F64(1024, true);
    for (let r = 0; r < nRows; r++) this.computeBases(r, ins);
  }

  /**
   * Distinct slots of each sub-account in first-appearance order (instrument i is on slot
   * slotOf[i]), the holdings of each (sub-account, slot) — its row's length — and rows per slot.
   * subSlots and subRowLen are the reused `pairs` (their first subRowStart[nSubs] entries).
   */
  private subSlots(hold: Holdings, nSubs: number, slotOf: Int32Array, nu: number): { subRowStart: Int32Array; subSlots: Int32Array; subRowLen: Int32Array; slotRows: Int32Array } {
    const hEnd = hold.end.a;
    const hInstr = hold.instr.a;
    const slotRows = new Int32Array(nu);
    const subRowStart = new Int32Array(nSubs + 1);
    let { slot: subSlots, len: subRowLen } = this.pairs;
    const seen = new Int32Array(nu).fill(-1);
    const held = new Int32Array(nu);
    let n = 0;
    for (let j = 0, h = 0; j < nSubs; j++) {
      const q0 = n;
      for (; h < hEnd[j]; h++) {
        const s = slotOf[hInstr[h]];
        if (seen[s] !== j) {
          seen[s] = j;
          if (n === subSlots.length) [subSlots, subRowLen] = [growPlain(subSlots, n + 1), growPlain(subRowLen, n + 1)];
          subSlots[n++] = s;
          held[s] = 0;
          slotRows[s]++;
        }
        held[s]++;
      }
      for (let q = q0; q < n; q++) subRowLen[q] = held[subSlots[q]];
      subRowStart[j + 1] = n;
    }
    this.pairs.slot = subSlots;
    this.pairs.len = subRowLen;
    return { subRowStart, subSlots, subRowLen, slotRows };
  }

  /** Shared arrays of a load, with headroom for rows and holdings appended by trades. */
  private allocate(nRows: number, holdTotal: number, nSubs: number, red: ReduceArrays): void {
    const rowCap = nRows + Math.max(1024, nRows >> 4);
    const holdCap = holdTotal + Math.max(16384, holdTotal >> 4);
    this.csr = {
      key: `${this.bookId}:${++this.csrVersion}`,
      rowStart: sharedI32(rowCap + 1),
      posInstr: sharedI32(holdCap),
      posSize: sharedF64(holdCap),
      nRows,
      nHold: holdTotal,
      legPos: new Int32Array(0),
      nLeg: 0,
      edits: new Int32Array(0),
      nEdit: 0,
    };
    this.editLog = new I32(1024, true);
    this.bases = sharedF64(BASES * rowCap);
    this.loss = sharedF64(rowCap);
    this.worst = sharedI32(rowCap);
    red.rowIm = sharedF64(rowCap);
    red.rowFailed = sharedU8(rowCap);
    this.rowSub = new Int32Array(rowCap);
    this.rowSlot = new Int32Array(rowCap);
    const subCap = nSubs + Math.max(1024, nSubs >> 4);
    red.subRowStart = sharedI32(subCap + 1);
    red.subRows = sharedI32(rowCap);
    red.subEquity = sharedF64(subCap);
  }

  /** Row ids of every (sub-account, slot) and the row lengths (subSlots' lengths, in row order). */
  private assignRows(nSubs: number, subRowStart: Int32Array, subSlots: Int32Array, subRowLen: Int32Array, red: ReduceArrays): Int32Array {
    const cursor = this.slotRowFrom.slice();
    const rowLen = new Int32Array(this.nRows);
    for (let j = 0; j < nSubs; j++) {
      for (let q = subRowStart[j]; q < subRowStart[j + 1]; q++) {
        const s = subSlots[q];
        const r = cursor[s]++;
        red.subRows[q] = r;
        this.rowSub[r] = j;
        this.rowSlot[r] = s;
        rowLen[r] = subRowLen[q];
      }
    }
    return rowLen;
  }

  /**
   * Holdings into their rows (input order), recording the coin legs that follow F in ascending
   * holding order (for the chunks' range searches): the rows are underlying-major and a slot's
   * rows are filled in sub-account order, so each slot's legs come in ascending order — the
   * slots' lists one after the other are the legs in order, without a sort. Each slot's rows with a
   * market base (marketBased) are recorded on the way, ascending likewise.
   */
  private fillHoldings(hold: Holdings, nSubs: number, subRowStart: Int32Array, ins: BookInstruments, red: ReduceArrays): void {
    const slotOf = ins.slot;
    const { rowStart, posInstr, posSize } = this.csr;
    const hInstr = hold.instr.a;
    const hSize = hold.size.a;
    const hLeg = hold.leg.a;
    const hEnd = hold.end.a;
    const legs = this.slotRowFrom.map(() => ({ pos: new I32(), op: new I32() }));
    const fill = rowStart.slice(0, this.nRows);
    const rowOfSlot = new Int32Array(legs.length);
    for (let j = 0, h = 0; j < nSubs; j++) {
      for (let q = subRowStart[j]; q < subRowStart[j + 1]; q++) rowOfSlot[this.rowSlot[red.subRows[q]]] = red.subRows[q];
      for (; h < hEnd[j]; h++) {
        const i = hInstr[h];
        const s = slotOf[i];
        const r = rowOfSlot[s];
        const d = fill[r]++;
        posInstr[d] = i;
        posSize[d] = hSize[h];
        if (marketBased(ins, i)) this.markMarketRow(s, r);
        if (hLeg[h] >= 0) {
          legs[s].pos.push(d);
          legs[s].op.push(hLeg[h]);
        }
      }
    }
    const nLegs = legs.reduce((n, l) => n + l.pos.n, 0);
    this.legPos = new I32(Math.max(1024, nLegs + 256), true);
    this.legOp = new I32(Math.max(1024, nLegs + 256), true);
    for (const l of legs) for (let k = 0; k < l.pos.n; k++) this.pushLeg(l.pos.a[k], l.op.a[k]);
  }

  /** A coin leg at holding d (above every leg so far) following F, of original position op. */
  private pushLeg(d: number, op: number): void {
    this.legPos.push(d);
    this.legOp.push(op);
    this.csr.legPos = this.legPos.a;
    this.csr.nLeg = this.legPos.n;
  }

  /** Records row r (on slot s; rows recorded in ascending order, each at most once) as holding a market base. */
  private markMarketRow(s: number, r: number): void {
    const rows = this.marketRows[s];
    if (rows.n === 0 || rows.a[rows.n - 1] !== r) rows.push(r);
  }

  /** Records row r if it holds a market base (marketBased). */
  private markMarketBase(r: number, ins: BookInstruments): void {
    const { rowStart, posInstr } = this.csr;
    for (let p = rowStart[r]; p < rowStart[r + 1]; p++) {
      if (marketBased(ins, posInstr[p])) {
        this.markMarketRow(this.rowSlot[r], r);
        return;
      }
    }
  }

  /**
   * Add-on bases of row r (rows are computed once each in increasing order — load, then rows
   * appended by trades — which records their net futures for refreshFutures).
   */
  private computeBases(r: number, ins: BookInstruments): void {
    if (!this.params) {
      this.bases.fill(0, BASES * r, BASES * r + BASES);
      return;
    }
    const { rowStart, posInstr, posSize } = this.csr;
    const record = this.rowFutStart.n === r + 1;
    this.rowBases.rowInto(this.params, ins, ins.n, ins.groupCount, posInstr, posSize, rowStart[r], rowStart[r + 1], this.bases, r, record ? this.recordFutures : undefined);
    if (record) this.rowFutStart.push(this.futInstr.n);
  }

  /**
   * What a tick moving the slots of `moved` (1 per moved slot) needs to follow their forwards
   * (forwards.ts): each chunk resizes the coin legs and re-sums the futures bases of its rows on
   * those slots, before aggregating them.
   */
  follow(moved: Uint8Array, accounts: BookAccounts, ins: BookInstruments): ForwardFollow {
    const empty = new Int32Array(0);
    const nMarket = new Int32Array(moved.length);
    const marketRows = Array.from(moved, (m, s) => {
      if (!m) return empty;
      nMarket[s] = this.marketRows[s].n;
      return this.marketRows[s].a;
    });
    return {
      moved,
      ins: { kind: ins.kind, inverse: ins.inverse, forward: ins.forward, group: ins.group, cs: ins.cs, slot: ins.slot },
      opInstr: accounts.opInstr.a,
      opSize: accounts.opSize.a,
      legPos: this.legPos.a,
      legOp: this.legOp.a,
      nLeg: this.legPos.n,
      marketRows,
      nMarket,
      rowFutStart: this.rowFutStart.a,
      futInstr: this.futInstr.a,
      futNet: this.futNet.a,
      rowStart: this.csr.rowStart,
      posSize: this.csr.posSize,
      bases: this.bases,
    };
  }

  /** Room for `rows` rows (per-row arrays; shared ones reallocated with headroom when full). */
  private ensureRows(rows: number, red: ReduceArrays): void {
    const c = this.csr;
    if (rows + 1 > c.rowStart.length) {
      c.rowStart = growShared(c.rowStart, rows + 1);
      c.key = `${this.bookId}:${++this.csrVersion}`;
    }
    this.bases = growShared(this.bases, BASES * rows);
    this.loss = growShared(this.loss, rows);
    this.worst = growShared(this.worst, rows);
    red.rowIm = growShared(red.rowIm, rows);
    red.rowFailed = growShared(red.rowFailed, rows);
    this.rowSub = growPlain(this.rowSub, rows);
    this.rowSlot = growPlain(this.rowSlot, rows);
  }

  private ensureHoldings(nHold: number): void {
    const c = this.csr;
    if (nHold > c.posInstr.length) {
      c.posInstr = growShared(c.posInstr, nHold);
      c.posSize = growShared(c.posSize, nHold);
      c.key = `${this.bookId}:${++this.csrVersion}`;
    }
  }

  /**
   * Writes an in-place edit's holdings (edit.ts) and its rows' add-on bases and recorded net
   * futures; false — nothing written — when a row's new net futures are not its recorded ones
   * (an instrument whose net was 0 becomes non-zero: the row must be laid out again). Unless
   * `all`, e.rows keeps only the rows whose sizes the edit moves: the others hold the same
   * holdings, so their bases, nets and aggregates stand (the book re-aggregates e.rows).
   */
  applyEdit(e: SizeEdit, ins: BookInstruments, all: boolean): boolean {
    if (!all) this.keepMoved(e);
    const rows = e.rows.a;
    const nRows = e.rows.n;
    const { bases, nets } = this.edited;
    if (bases.a.length < BASES * nRows) bases.a = new Float64Array(2 * BASES * nRows);
    nets.n = 0;
    for (let n = 0; n < nRows; n++) if (!this.editedRow(e, rows[n], ins, bases.a, n)) return false;
    const c = this.csr;
    for (let n = 0; n < e.holdings.n; n++) {
      c.posSize[e.holdings.a[n]] = e.sizes.a[n];
      this.editLog.push(e.holdings.a[n]);
    }
    if (this.editLog.n > c.nHold) {
      // a log longer than the book: the workers copy the whole CSR again instead
      this.editLog.n = 0;
      c.key = `${this.bookId}:${++this.csrVersion}`;
    }
    c.edits = this.editLog.a;
    c.nEdit = this.editLog.n;
    for (let n = 0, f = 0; n < nRows; n++) {
      const r = rows[n];
      for (let b = 0; b < BASES; b++) this.bases[BASES * r + b] = bases.a[BASES * n + b];
      for (let at = this.rowFutStart.a[r], to = this.rowFutStart.a[r + 1]; at < to; at++) this.futNet.a[at] = nets.a[f++];
    }
    return true;
  }

  /** Drops from e.rows, in place and in order, the rows whose sizes the edit does not move. */
  private keepMoved(e: SizeEdit): void {
    let m = 0;
    for (let n = 0; n < e.rows.n; n++) if (this.moves(e, e.rows.a[n])) e.rows.a[m++] = e.rows.a[n];
    e.rows.n = m;
  }

  /** Whether the edit gives some holding of row r another size (bit for bit: a −0 for a +0 counts). */
  private moves(e: SizeEdit, r: number): boolean {
    const { rowStart, posSize } = this.csr;
    for (let h = 0; h < e.holdings.n; h++) {
      const d = e.holdings.a[h];
      if (d >= rowStart[r] && d < rowStart[r + 1] && !Object.is(e.sizes.a[h], posSize[d])) return true;
    }
    return false;
  }

  /**
   * Row r's bases with the edit's sizes into out[BASES·n ..] and its recorded futures' new nets
   * appended to the edit's nets (in the record's order, 0 where absent); false when they do not fit the record.
   */
  private editedRow(e: SizeEdit, r: number, ins: BookInstruments, out: Float64Array, n: number): boolean {
    const { instr, size, fut, net } = this.scratch;
    const { rowStart, posInstr, posSize } = this.csr;
    instr.n = size.n = fut.n = net.n = 0;
    const d0 = rowStart[r];
    const d1 = rowStart[r + 1];
    for (let d = d0; d < d1; d++) {
      instr.push(posInstr[d]);
      size.push(posSize[d]);
    }
    for (let h = 0; h < e.holdings.n; h++) if (e.holdings.a[h] >= d0 && e.holdings.a[h] < d1) size.a[e.holdings.a[h] - d0] = e.sizes.a[h];
    if (this.params) this.rowBases.rowInto(this.params, ins, ins.n, ins.groupCount, instr.a, size.a, 0, instr.n, out, n, this.editedFutures);
    else out.fill(0, BASES * n, BASES * n + BASES);
    // the recorded futures keep their order; each new non-zero net must be one of them, in that order
    const from = this.rowFutStart.a[r];
    const to = this.rowFutStart.a[r + 1];
    const nets = this.edited.nets;
    const base = nets.n;
    for (let at = from; at < to; at++) nets.push(0);
    let at = from;
    for (let f = 0; f < fut.n; f++) {
      while (at < to && this.futInstr.a[at] !== fut.a[f]) at++;
      if (at === to) return false;
      nets.a[base + at++ - from] = net.a[f];
    }
    return true;
  }

  /**
   * Appends the rows of sub-accounts [subBase, subBase + hold.end.n) at the end of the CSR (a
   * trade): rows in first-appearance order of their underlyings, holdings in input order.
   */
  append(hold: Holdings, subBase: number, ins: BookInstruments, red: ReduceArrays): number[] {
    const nSubsNew = hold.end.n;
    const { subRowStart: first, subSlots: slots } = this.subSlots(hold, nSubsNew, ins.slot, ins.underlyings.length);
    const rowsNeeded = first[nSubsNew];
    const c = this.csr;
    this.ensureRows(this.nRows + rowsNeeded, red);
    this.ensureHoldings(c.nHold + hold.instr.n);
    red.subRowStart = growShared(red.subRowStart, subBase + nSubsNew + 1);
    red.subEquity = growShared(red.subEquity, subBase + nSubsNew);
    red.subRows = growShared(red.subRows, red.subRowStart[subBase] + rowsNeeded);
    const newRows: number[] = [];
    for (let l = 0, h0 = 0; l < nSubsNew; l++) {
      const j = subBase + l;
      const h1 = hold.end.a[l];
      let q = red.subRowStart[j];
      for (let t = first[l]; t < first[l + 1]; t++) {
        const r = this.appendRow(hold, h0, h1, slots[t], j, ins, red);
        red.subRows[q++] = r;
        newRows.push(r);
      }
      red.subRowStart[j + 1] = q;
      h0 = h1;
    }
    c.nRows = this.nRows;
    return newRows;
  }

  private appendRow(hold: Holdings, h0: number, h1: number, s: number, j: number, ins: BookInstruments, red: ReduceArrays): number {
    const c = this.csr;
    const r = this.nRows++;
    let d = c.rowStart[r];
    for (let h = h0; h < h1; h++) {
      if (ins.slot[hold.instr.a[h]] !== s) continue;
      c.posInstr[d] = hold.instr.a[h];
      c.posSize[d] = hold.size.a[h];
      if (hold.leg.a[h] >= 0) this.pushLeg(d, hold.leg.a[h]);
      d++;
    }
    c.rowStart[r + 1] = d;
    c.nHold = d;
    this.rowSub[r] = j;
    this.rowSlot[r] = s;
    red.rowFailed[r] = 0;
    this.markMarketBase(r, ins);
    this.computeBases(r, ins);
    this.tailRows[s].push(r);
    return r;
  }
}
