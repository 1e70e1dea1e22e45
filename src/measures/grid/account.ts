/**
 * The scenario-grid margin measure of one account: P&L vectors per underlying (scenarios/
 * portfolio-pnl.ts) → per row its worst weighted loss, add-on bases and IM (addons.ts) → the
 * account's figures (reduce.ts). The book's workers run the same row and reduce functions on
 * whole books; this class only lays one account out for them.
 *
 * What-if (portfolio/cross): the vectors of the last account margined are kept with that account
 * object, a change adds size × value to the vector of its underlying: O(changes × scenarios).
 * One slot, not a WeakMap of every account margined: a long-lived engine margining a stream of
 * fresh account objects (a server's requests, `optmargin margin` on an array) would otherwise keep
 * one ephemeron per account, and V8's young-generation collections then copy and promote their
 * vectors — measured: scavenges of ~1.2 ms instead of ~0.1 ms and old space growing by ~0.8 MB
 * per scavenge, for 20-option accounts at ~50 µs each.
 */
import type { AccountResolver, CollateralLine, Resolved } from '../../instruments/resolve.js';
import type { InstrumentTable } from '../../instruments/table.js';
import { addPositionInto, worstScenario } from '../../scenarios/aggregate.js';
import type { PnlVectors, PortfolioPnl } from '../../scenarios/portfolio-pnl.js';
import type { Revaluation } from '../../scenarios/revaluation.js';
import { greeksOf } from '../greeks.js';
import { copyFiguresInto, figuresOf, HEALTHS, healthOf, marginFigures, marginFiguresInto } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import type { AccountInput, CurrencyFigures, MarginFigures, PositionBreakdown, PositionChange, UnderlyingGridBreakdown } from '../types.js';
import { RowBases, BASES, rowIm, type RowTrades } from './addons.js';
import { KeptNets } from './kept-nets.js';
import { rowBreakdown } from './row-breakdown.js';
import { rowOf, WhatIfMoves } from './whatif-moves.js';
import { IsolatedSubs } from './isolated-subs.js';
import type { GridMeasureParams } from './params.js';
import { AccKind, combineRows, plainReduceArrays, reduceAccount, type ReduceArrays } from './reduce.js';

/** An account's vectors kept for what-if, with the figures they gave. */
interface GridState {
  account: AccountInput;
  v: PnlVectors;
  /** its figures: the margin's (handed out to its caller), then, once advance moves the state, an object of its own that advance rewrites (never a what-if's) */
  figures: MarginFigures;
  figuresOwn: boolean;
  /** the positions array object and length this state was computed from (cheap staleness check) */
  positionsRef: unknown;
  positionsLen: number;
  /**
   * per kept row, its IM as rows() computes it from the kept vectors and holdings alone (no
   * what-if trades), valid where rowOk: a what-if that leaves a row's vector and holdings alone
   * reads it instead of computing the row again (the same doubles)
   */
  rowIm: Float64Array;
  rowOk: Uint8Array;
}

/** The last what-if, until the next one: what keep() moves the state to (its vector: the scratch's first pnlLength values). */
interface Pending {
  st: GridState;
  slots: number[];
  pnlLength: number;
  equity: number;
  figures: MarginFigures;
  changes: PositionChange[];
  idx: Int32Array;
}

export class GridAccountMeasure {
  private readonly rowBases = new RowBases();
  /** the kept state's rows netted (a what-if adds its changes to them) */
  private readonly nets = new KeptNets(this.rowBases);
  private readonly parts = new Float64Array(3);
  /** the last portfolio/cross account margined (its input object) and its vectors, for what-if */
  private lastKey: object | null = null;
  private last: GridState | null = null;
  /** the last what-if, until the next one: what keep() moves the state to */
  private pending: Pending | null = null;
  /** the one Pending object, rewritten by each what-if (no object per candidate) */
  private readonly next: Pending = { st: null!, slots: [], pnlLength: 0, equity: 0, figures: null!, changes: [], idx: new Int32Array(0) };
  private red: ReduceArrays = plainReduceArrays(1, 8, 8);
  private bases = new Float64Array(BASES * 8);
  private worst = new Int32Array(8);
  private scratch = new Float64Array(0);
  /** a view of the scratch's first values (scratchHead), and the scratch it views */
  private head = new Float64Array(0);
  private headOf: Float64Array | null = null;
  private extra: RowTrades = { instr: new Int32Array(8), size: new Float64Array(8), n: 0 };
  /** what-if scratch: 1 for each row whose vector or holdings the changes move */
  private touched = new Uint8Array(8);
  private idx = new Int32Array(8);
  /** what-if scratch: the changes' instrument indices, the rows they add, the balances they book, the coin exposures they move */
  private readonly moves: WhatIfMoves;
  /** the last isolated account's sub-accounts (figures only), for the next one's equal ones */
  private readonly subs = new IsolatedSubs();

  constructor(
    readonly params: GridMeasureParams,
    readonly table: InstrumentTable,
    readonly resolver: AccountResolver,
    readonly revaluation: Revaluation,
    readonly vectors: PortfolioPnl,
  ) {
    this.moves = new WhatIfMoves(table, resolver);
  }

  /** Room for nSubs sub-accounts and nRows rows in the reduction scratch. */
  private ensure(nSubs: number, nRows: number): void {
    const r = this.red;
    if (r.subEquity.length < nSubs || r.rowIm.length < nRows) this.red = plainReduceArrays(1, Math.max(nSubs, 2 * r.subEquity.length), Math.max(nRows, 2 * r.rowIm.length));
    if (this.worst.length < nRows) {
      this.worst = new Int32Array(Math.max(nRows, 2 * this.worst.length));
      this.bases = new Float64Array(BASES * this.worst.length);
    }
  }

  /**
   * Row IMs of vectors `v` into red.rowIm[row0 ..] (worst scenario of each row in worst[row0 ..]);
   * `detail` receives the readable breakdown.
   */
  private rows(v: PnlVectors, pnl: Float64Array, row0: number, detail: UnderlyingGridBreakdown[] | null): void {
    for (let k = 0; k < v.slots.length; k++) this.row(v, pnl, row0, k, v.slots, detail);
  }

  /** Row k of `slots` (see rows()); `extra`: a what-if's trades on it. */
  private row(v: PnlVectors, pnl: Float64Array, row0: number, k: number, slots: readonly number[], detail: UnderlyingGridBreakdown[] | null, extra?: RowTrades): void {
    const tb = this.table;
    const ns = v.nScen;
    const p = this.params;
    const sc = this.revaluation.scenariosOf(slots[k]);
    const w = worstScenario(ns, pnl, k * ns, sc.weights);
    const loss = -sc.weights[w] * pnl[k * ns + w];
    const r = row0 + k;
    // a what-if's row: the kept state's nets of it (none for a row the what-if adds) plus the trades
    if (extra) this.nets.rowInto(p, tb, tb.count, tb.groupCount, k, this.bases, r, extra);
    else this.rowBases.rowInto(p, tb, tb.count, tb.groupCount, v.instr, v.size, v.start[k], v.start[k + 1], this.bases, r);
    this.parts[0] = this.parts[1] = this.parts[2] = 0;
    const im = rowIm(p, this.bases, r, loss, sc.spot, this.parts);
    this.red.rowIm[r] = im;
    this.red.rowFailed[r] = 0;
    this.worst[r] = w;
    if (detail) detail.push(rowBreakdown(p, this.parts, sc, w, Math.max(0, loss), pnl, k * ns, im));
  }

  /** A new kept state: `v` margined by rows() (every row's IM in red.rowIm valid for what-ifs). */
  private state(account: AccountInput, v: PnlVectors, figures: MarginFigures, positionsRef: unknown): GridState {
    const n = v.slots.length;
    return { account, v, figures, figuresOwn: false, positionsRef, positionsLen: account.positions.length, rowIm: this.red.rowIm.slice(0, n), rowOk: new Uint8Array(n).fill(1) };
  }

  /** Sub-account j of the reduction = rows [row0, row0 + nRows), equity `equity`. */
  private setSub(j: number, row0: number, nRows: number, equity: number): void {
    const red = this.red;
    red.subRowStart[j] = row0;
    for (let q = row0; q < row0 + nRows; q++) red.subRows[q] = q;
    red.subRowStart[j + 1] = row0 + nRows;
    red.subEquity[j] = equity;
  }

  /** Reduces the one account laid out in the scratch into its figures (written into `out` when given). */
  private figures(kind: AccKind, nSubs: number, cv: number, out?: MarginFigures): MarginFigures {
    const red = this.red;
    red.accKind[0] = kind;
    red.accSubFrom[0] = 0;
    red.accSubTo[0] = nSubs;
    red.accCv[0] = cv;
    reduceAccount(red, this.params, 0);
    if (out) return marginFiguresInto(out, red.accEquity[0], red.accIm[0], red.accMm[0], red.accAvail[0], HEALTHS[red.accHealth[0]]);
    return marginFigures(red.accEquity[0], red.accIm[0], red.accMm[0], red.accAvail[0], HEALTHS[red.accHealth[0]]);
  }

  margin(a: AccountInput, r: Resolved, key: object): MarginOutcome {
    return a.mode === 'isolated' ? this.isolated(a, r) : this.pooled(a, r, key);
  }

  /**
   * The headline figures only (what a liquidation plan's steps read): the same rows and
   * reduction as margin(), without the breakdown (positions, grid, greeks) nor a what-if state.
   */
  figuresOf(a: AccountInput, r: Resolved): MarginFigures {
    if (a.mode === 'isolated') return this.isolatedFigures(a, r, null).fig;
    const v = this.vectors.of(r, 0, r.n, r.collateral, r.collateralValue);
    this.ensure(1, v.slots.length);
    this.rows(v, v.pnl, 0, null);
    this.setSub(0, 0, v.slots.length, v.equity);
    const fig = this.figures(AccKind.Pooled, 1, r.collateralValue);
    // kept for what-if as margin() keeps it (a plan's candidate steps start from the account it last margined)
    this.keepState(a, this.state(a, v, fig, a.positions));
    return fig;
  }

  /** `st` becomes the one kept state, under `key`; the state it replaces is read no more: its vectors' storage goes back to the vectors' maker. */
  private keepState(key: object, st: GridState): void {
    const old = this.last;
    this.lastKey = key;
    this.last = st;
    if (old) this.vectors.release(old.v);
  }

  private pooled(a: AccountInput, r: Resolved, key: object): MarginOutcome {
    const tb = this.table;
    const v = this.vectors.of(r, 0, r.n, r.collateral, r.collateralValue);
    const nRows = v.slots.length;
    this.ensure(1, nRows);
    const grid: UnderlyingGridBreakdown[] = [];
    this.rows(v, v.pnl, 0, grid);
    this.setSub(0, 0, nRows, v.equity);
    const fig = this.figures(AccKind.Pooled, 1, r.collateralValue);
    this.keepState(key, this.state(a, v, fig, (key as AccountInput).positions));
    const ns = v.nScen;
    const values = this.revaluation.values;
    const positions: PositionBreakdown[] = new Array(r.n);
    for (let p = 0; p < r.n; p++) {
      const i = r.instr[p];
      const w = this.worst[v.slots.indexOf(tb.underlyingOf[i])];
      // an inverse future's delta sits in its coin (entry) leg: count that leg's P&L too
      const coinLeg = r.posCoin[p] !== 0 ? r.posCoin[p] * values[tb.coinOfSlot(tb.underlyingOf[i]) * ns + w] : 0;
      positions[p] = { index: p, instrument: tb.names[i], size: r.size[p], valueUsd: r.posValue[p], worstScenarioPnl: r.size[p] * values[i * ns + w] + coinLeg };
    }
    const perCurrency: Record<string, CurrencyFigures> = {};
    for (const g of grid) {
      perCurrency[g.underlying] = { initialMargin: g.initialMargin / g.spot, maintenanceMargin: (this.params.mmFraction * g.initialMargin) / g.spot };
    }
    const modeApplied = a.mode === 'cross' ? 'cross' : 'portfolio';
    return { modeApplied, figures: fig, collateralValue: r.collateralValue, perCurrency, greeks: greeksOf(tb, r), positions, grid };
  }

  /** Isolated: each position a sub-account with its own collateral. */
  private isolated(a: AccountInput, r: Resolved): MarginOutcome {
    const grid: UnderlyingGridBreakdown[] = [];
    const { fig, positions } = this.isolatedFigures(a, r, grid);
    return { modeApplied: 'isolated', figures: fig, collateralValue: r.collateralValue, perCurrency: {}, greeks: greeksOf(this.table, r), positions, grid };
  }

  /**
   * An isolated account's figures; with `grid`, the breakdown of every row and position too (else
   * positions is empty). Figures only: a sub-account equal to one of the last such account's is
   * read from it (IsolatedSubs), the others computed and all kept for the next.
   */
  private isolatedFigures(a: AccountInput, r: Resolved, grid: UnderlyingGridBreakdown[] | null): { fig: MarginFigures; positions: PositionBreakdown[] } {
    const n = r.n;
    const subs = grid ? null : this.subs;
    subs?.begin();
    const all: (PnlVectors | number)[] = [];
    const lines: CollateralLine[][] = [];
    let nRows = 0;
    for (let p = 0; p < n; p++) {
      const own: CollateralLine[] = this.resolver.collateralLines(`positions[${p}].collateral`, a.positions[p].collateral ?? {});
      const hit = subs ? subs.match(r.instr[p], r.size[p], a.positions[p].entryPrice, own) : -1;
      if (hit >= 0) {
        all.push(hit);
        nRows += subs!.rowsOf(hit);
      } else {
        let value = 0;
        for (const c of own) value += c.value;
        const v = this.vectors.of(r, p, p + 1, own, value);
        all.push(v);
        nRows += v.slots.length;
      }
      lines.push(own);
    }
    this.ensure(n, nRows);
    const positions: PositionBreakdown[] = grid ? new Array(n) : [];
    for (let p = 0, row0 = 0; p < n; p++) {
      const v = all[p];
      let rows: number;
      let equity: number;
      if (typeof v === 'number') {
        rows = subs!.rowsOf(v);
        equity = subs!.equityOf(v);
        subs!.rowImsInto(v, this.red.rowIm, row0);
        this.red.rowFailed.fill(0, row0, row0 + rows);
      } else {
        rows = v.slots.length;
        equity = v.equity;
        this.rows(v, v.pnl, row0, grid);
      }
      this.setSub(p, row0, rows, equity);
      subs?.record(r.instr[p], r.size[p], a.positions[p].entryPrice, lines[p], this.red.rowIm, row0, rows, equity);
      if (grid && typeof v !== 'number') positions[p] = this.positionBreakdown(r, p, row0, rows, equity);
      row0 += rows;
    }
    subs?.end();
    // the sub-accounts' vectors are not kept (their row IMs are, by subs)
    for (const v of all) if (typeof v !== 'number') this.vectors.release(v);
    return { fig: this.figures(AccKind.Isolated, n, r.collateralValue), positions };
  }

  /** Position p of an isolated account: its sub-account's rows [row0, row0 + nRows) combined, its equity. */
  private positionBreakdown(r: Resolved, p: number, row0: number, nRows: number, equity: number): PositionBreakdown {
    const im = combineRows(this.params, this.red.rowIm, this.red.subRows, row0, row0 + nRows);
    const mm = this.params.mmFraction * im;
    return { index: p, instrument: this.table.names[r.instr[p]], size: r.size[p], valueUsd: r.posValue[p], initialMargin: im, maintenanceMargin: mm, equity, health: healthOf(equity, im, mm) };
  }

  /** The kept state of a portfolio/cross account (the last one margined), or null when it has none (or a stale one). */
  stateOf(input: AccountInput): GridState | null {
    const st = this.lastKey === input ? this.last : null;
    if (!st || st.positionsRef !== input.positions || st.positionsLen !== input.positions.length) return null;
    return st;
  }

  /**
   * Figures after adding `changes` to a kept state (its figures before: st.figures), and `deltas`
   * to its balances (per currency, after the premiums the changes book: a liquidation's fees and
   * cash). With `next` (that account, built by the caller), the kept state moves to it (advance).
   * `indices`: the changes' table indices when the caller has them (WhatIfMoves.of). `out`: the
   * caller's object the figures are written into (rewritten by its next what-if; the state copies them).
   */
  whatIf(st: GridState, changes: PositionChange[], deltas?: Readonly<Record<string, number>>, next?: AccountInput, indices?: Int32Array, out?: MarginFigures): MarginFigures {
    const tb = this.table;
    const rev = this.revaluation;
    const ns = rev.nScen;
    const v = st.v;
    if (this.idx.length < changes.length) this.idx = new Int32Array(Math.max(changes.length, 2 * this.idx.length));
    const idx = this.idx;
    const moves = this.moves;
    const dEquity = moves.of(st.account.collateral, changes, idx, v.slots, deltas, indices);
    // the underlyings the changes add (rows with no holdings yet), after the kept ones
    const slots = moves.added.length > 0 ? v.slots.concat(moves.added) : v.slots;
    rev.sync();
    for (const s of slots) rev.scenariosOf(s);
    const nRows = slots.length;
    if (this.scratch.length < nRows * ns) this.scratch = new Float64Array(Math.max(nRows * ns, 2 * this.scratch.length));
    const pnl = this.scratch;
    // copied by set (measured: a row of 27 doubles ≈ 3× faster than an element loop), added rows zeroed
    const kept = v.pnl;
    pnl.set(kept);
    if (kept.length < nRows * ns) pnl.fill(0, kept.length, nRows * ns);
    if (this.touched.length < nRows) this.touched = new Uint8Array(Math.max(nRows, 2 * this.touched.length));
    const touched = this.touched;
    for (let k = 0; k < nRows; k++) touched[k] = 0;
    for (let c = 0; c < changes.length; c++) {
      const k = rowOf(slots, tb.underlyingOf[idx[c]]);
      addPositionInto(ns, pnl, k * ns, rev.values, idx[c], changes[c].size);
      touched[k] = 1;
    }
    for (let c = 0; c < moves.nCoin; c++) {
      const ci = moves.coinI[c];
      const k = rowOf(slots, tb.underlyingOf[ci]);
      addPositionInto(ns, pnl, k * ns, rev.values, ci, moves.coinQ[c]);
      touched[k] = 1;
    }
    this.ensure(1, nRows);
    this.whatIfRows(st, pnl, slots, changes, idx);
    this.setSub(0, 0, nRows, v.equity + dEquity);
    const after = this.figures(AccKind.Pooled, 1, 0, out);
    // a view of the scratch (no copy per what-if): keep() copies it; the next what-if, which
    // overwrites the scratch, replaces pending first
    const w = this.next;
    w.st = st;
    w.slots = slots;
    w.pnlLength = nRows * ns;
    w.equity = v.equity + dEquity;
    w.figures = after;
    w.changes = changes;
    w.idx = idx;
    this.pending = w;
    if (next) this.keep(next);
    return after;
  }

  /**
   * The what-if's row IMs into red.rowIm: a row the changes leave alone (this.touched) and whose
   * kept IM is valid is read from the state; the others are computed with the changes on their
   * underlying as extra holdings (an untouched one's IM then becomes valid in the state).
   */
  private whatIfRows(st: GridState, pnl: Float64Array, slots: readonly number[], changes: PositionChange[], idx: Int32Array): void {
    const tb = this.table;
    const touched = this.touched;
    const kept = st.rowIm.length;
    if (this.extra.instr.length < changes.length) this.extra = { instr: new Int32Array(changes.length), size: new Float64Array(changes.length), n: 0 };
    const e = this.extra;
    this.nets.hold(st, tb, tb.count, tb.groupCount, st.v);
    for (let k = 0; k < slots.length; k++) {
      if (k < kept && touched[k] === 0 && st.rowOk[k] === 1) {
        this.red.rowIm[k] = st.rowIm[k];
        this.red.rowFailed[k] = 0;
        continue;
      }
      e.n = 0;
      for (let c = 0; c < changes.length; c++) {
        if (tb.underlyingOf[idx[c]] !== slots[k]) continue;
        e.instr[e.n] = idx[c];
        e.size[e.n++] = changes[c].size;
      }
      this.row(st.v, pnl, 0, k, slots, null, e);
      if (k < kept && touched[k] === 0) {
        st.rowIm[k] = this.red.rowIm[k];
        st.rowOk[k] = 1;
      }
    }
  }

  /** The scratch's first n values, as a view kept while the scratch and n stay the same (no view per step). */
  private scratchHead(n: number): Float64Array {
    if (this.headOf !== this.scratch || this.head.length !== n) {
      this.head = this.scratch.subarray(0, n);
      this.headOf = this.scratch;
    }
    return this.head;
  }

  /**
   * The kept state moves to `next`: the account after the last what-if's changes (built by the
   * caller). False (nothing kept) when the kept state changed since that what-if.
   */
  keep(next: AccountInput): boolean {
    const w = this.pending;
    this.pending = null;
    if (!w || w.st !== this.last) {
      this.lastKey = null;
      this.last = null;
      return false;
    }
    this.advance(w.st, next, w.slots, w.pnlLength, w.equity, w.figures, w.changes, w.idx, this.touched);
    return this.last !== null;
  }

  /**
   * The kept state moves to `next` (the state's account after `changes`, resizing positions it
   * holds): its vectors become the what-if's (the scratch's first pnlLength values, copied); the
   * row holdings (the add-on bases' input) take the changed sizes. The state is moved in place
   * (no one else holds it: the one kept state); its arrays are reused when the changes added no
   * row. A change of an instrument the state does not hold drops the state instead.
   */
  private advance(st: GridState, next: AccountInput, slots: number[], pnlLength: number, equity: number, figures: MarginFigures, changes: PositionChange[], idx: Int32Array, touched: Uint8Array): void {
    const v = st.v;
    const pnl = this.scratch;
    const oldStart = v.start;
    let start = oldStart;
    let size = v.size;
    let own = v.pnl;
    let { rowIm, rowOk } = st;
    if (slots === v.slots) own.set(this.scratchHead(pnlLength));
    else {
      start = new Int32Array(slots.length + 1);
      start.set(oldStart);
      start.fill(oldStart[oldStart.length - 1], oldStart.length);
      size = v.size.slice();
      own = pnl.slice(0, pnlLength);
      rowIm = new Float64Array(slots.length);
      rowIm.set(st.rowIm);
      rowOk = new Uint8Array(slots.length);
      rowOk.set(st.rowOk);
    }
    // a row the changes moved was computed with them as extra holdings: computed again from the kept holdings when next needed
    for (let k = 0; k < slots.length; k++) if (touched[k] !== 0) rowOk[k] = 0;
    this.lastKey = null;
    this.last = null;
    for (let c = 0; c < changes.length; c++) {
      const k = rowOf(slots, this.table.underlyingOf[idx[c]]);
      let h = k + 1 < oldStart.length ? oldStart[k] : -1;
      while (h >= 0 && h < oldStart[k + 1] && v.instr[h] !== idx[c]) h++;
      if (h < 0 || h === oldStart[k + 1]) return;
      size[h] += changes[c].size;
      this.nets.resized(st, idx[c], v.instr, size, h, oldStart[k + 1]);
    }
    v.slots = slots;
    v.pnl = own;
    v.start = start;
    v.size = size;
    v.equity = equity;
    st.account = next;
    if (st.figuresOwn) copyFiguresInto(st.figures, figures);
    else {
      st.figures = figuresOf(figures);
      st.figuresOwn = true;
    }
    st.positionsRef = next.positions;
    st.positionsLen = next.positions.length;
    st.rowIm = rowIm;
    st.rowOk = rowOk;
    this.lastKey = next;
    this.last = st;
  }

}
