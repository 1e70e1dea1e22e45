/**
 * The book's accounts after resolve: the unit that owns holdings is the *sub-account* — a
 * portfolio or cross account is one; an isolated account is one per position (the position
 * with its own collateral), plus its account-level collateral, which only counts in its equity.
 * Each sub-account keeps its original positions (instrument, size, entry) and collateral lines
 * for its equity, and its holdings (positions, inverse futures' coin legs, coin collateral) go
 * to the row layout (rows.ts).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { AccountInput, CollateralParams } from '../../instruments/types.js';
import { accountAt, ColumnsBuilder, Mode, type BookColumns } from '../../instruments/columns.js';
import { ColumnIndex, repeatsCurrency } from './column-index.js';
import { collateralExposure, entryLegCoin } from '../../instruments/valuation.js';
import type { MarginMarket } from '../../market/margin-market.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { F64, I32, claim, reserve, sharedI32 } from './arrays.js';
import type { Holdings } from './holdings.js';
import type { EquityArrays } from './equity.js';
import type { BookInstruments } from './instruments.js';
import { EquityParts } from './parts.js';
import { EditLogs, residentAccounts, residentPositions } from './resident.js';

/**
 * One position of account k: its instrument, size and entry price (undefined: entered at mark);
 * `own`: an isolated position's own figures (its sub-account: [equity, MM], in the units of the
 * account's figures), null for a position of a cross or portfolio account.
 */
export type PositionVisitor = (k: number, instrument: string, size: number, entry: number | undefined, own: Float64Array | null) => void;

/** A stored position of account k, in sub-account j. */
export type StoredPositionVisitor = (k: number, instrument: string, size: number, entry: number | undefined, j: number) => void;

/** Where an account's resolved data sits. */
export interface ResolvedAccount {
  kind: AccKind;
  subFrom: number;
  subTo: number;
  colFrom: number;
  colTo: number;
}

/** What resolving reads: the load's table, the market, the model's collateral rules, the forward of an instrument. */
export interface ResolveContext {
  table: InstrumentTable;
  market: MarginMarket;
  collateral: CollateralParams;
  forwardOf(i: number): number;
}

export class BookAccounts {
  nSubs = 0;
  subAcc = new I32();
  /** original positions [subPosFrom, subPosTo), collateral lines [subColFrom, subColTo) and first entry price (opEntry) of each sub-account */
  subPosFrom = new I32(1024, true);
  subPosTo = new I32(1024, true);
  subColFrom = new I32(1024, true);
  subColTo = new I32(1024, true);
  subEntryFrom = new I32(1024, true);
  /**
   * original positions: instrument (its complement ~i when the position has an entry price), size;
   * the entry prices of those that have one, in position order (most positions are entered at
   * mark: the equity of a tick reads 12 bytes per position)
   */
  opInstr = new I32(1024, true);
  opSize = new F64(1024, true);
  opEntry = new F64(1024, true);
  /** the in-place edits since the load, logged for the copies resident in WASM (resident.ts) */
  readonly logs = new EditLogs();
  /** per sub-account, its positions' partial sums per underlying (the equity's parts: parts.ts) */
  readonly parts = new EquityParts();
  /** collateral lines: currency index, amount */
  colCur = new I32(1024, true);
  colAmount = new F64(1024, true);
  /** per currency: code, haircut, coin instrument index (−1 = USD-pegged) */
  currencies: string[] = [];
  private curIndex = new Map<string, number>();
  curHaircut: number[] = [];
  curCoin: number[] = [];
  /** curHaircut and curCoin as the equity reads them, made when first asked for after a currency is added */
  private curArrays: { haircut: Float64Array; coin: Int32Array } | null = null;
  /** account-level collateral lines of isolated accounts [accColFrom, accColTo) (pooled accounts: in their sub-account) */
  accColFrom: Int32Array;
  accColTo: Int32Array;
  /** per account × underlying slot: 1 when the account's figures depend on that underlying (a tick re-margins those) */
  private deps = new Uint8Array(0);
  /** recordDeps' scratch: one account's row of deps */
  private depRow = new Uint8Array(0);
  private nSlots = 0;
  /** per set of slots, the list holdersOf last found (dropped whenever an account's set of underlyings changes) */
  private holders = new Map<string, Int32Array>();
  /** the arrays with one entry per sub-account (reserveFor) */
  private readonly perSub = [this.subAcc, this.subPosFrom, this.subPosTo, this.subColFrom, this.subColTo, this.subEntryFrom];

  constructor(nAccounts: number) {
    this.accColFrom = sharedI32(nAccounts);
    this.accColTo = sharedI32(nAccounts);
  }

  /** Scratch columns of one account (`resolve` of an object: a trade, a replace, `load` of objects). */
  private readonly scratch = new ColumnsBuilder(16);

  /**
   * Appends account k's sub-accounts (an account object: laid out as one account's columns and
   * resolved by `resolveColumns`, the one home of the rules). Returns null — and appends nothing —
   * when the account cannot be laid out (an instrument or collateral the market or the model
   * rejects: an OptmarginError); the book then margins it on the single path, which reports that
   * error with the account runner's message. Any other exception is an engine bug and propagates.
   */
  resolve(ctx: ResolveContext, a: AccountInput, k: number, hold: Holdings): ResolvedAccount | null {
    const c = this.scratch;
    c.reset();
    c.add(a);
    const cols = c.view();
    this.reserveFor(cols, 0, 1, hold);
    return this.resolveColumns(ctx, cols, 0, k, hold, this.columnIndex(ctx, cols));
  }

  /** The lookups of a chunk of columns into this load's instrument table and currencies. */
  columnIndex(ctx: ResolveContext, cols: BookColumns): ColumnIndex {
    return new ColumnIndex(cols, ctx.table, (code) => this.currency(ctx, code));
  }

  /**
   * Appends the sub-accounts of account j of `cols` as book account k, straight from the columns
   * (no object per account or position; `index` maps the columns' names and currencies to the
   * load's, each looked up once), in the room the caller reserved (reserveFor: a chunk's at
   * once). Null — nothing appended — as `resolve`.
   */
  resolveColumns(ctx: ResolveContext, cols: BookColumns, j: number, k: number, hold: Holdings, index: ColumnIndex): ResolvedAccount | null {
    if (repeatsCurrency(cols, j)) return this.resolve(ctx, accountAt(cols, j)!, k, hold); // lines as an object holds them: the last of a currency
    const marks = { hold: hold.instr.n, holdSubs: hold.end.n, subs: this.nSubs, op: this.opInstr.n, entry: this.opEntry.n, col: this.colCur.n, parts: this.parts.mark() };
    try {
      return this.append(ctx, cols, j, k, hold, index);
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      hold.truncate(marks.hold, marks.holdSubs);
      this.nSubs = marks.subs;
      this.subAcc.n = this.subPosFrom.n = this.subPosTo.n = this.subColFrom.n = this.subColTo.n = this.subEntryFrom.n = marks.subs;
      this.opInstr.n = this.opSize.n = marks.op;
      this.opEntry.n = marks.entry;
      this.colCur.n = this.colAmount.n = marks.col;
      this.parts.rollback(marks.parts, marks.op);
      return null;
    }
  }

  /**
   * Room for accounts [j0, j1) of the columns in every array they append to (at most one
   * sub-account per position plus one per account, two holdings per position — an inverse
   * future's coin leg — and one per collateral line): resolving them never grows an array.
   */
  reserveFor(c: BookColumns, j0: number, j1: number, hold: Holdings): void {
    const p0 = c.posStart[j0];
    const p1 = c.posStart[j1];
    this.reserveRoom(j1 - j0, p1 - p0, c.colStart[j1] - c.colStart[j0] + c.pcolStart[p1] - c.pcolStart[p0], hold);
  }

  /** Room for every account of `chunks` at once (reserveFor's bounds summed): a book whose chunks are all known before the first is resolved. */
  reserveForAll(chunks: readonly BookColumns[], hold: Holdings): void {
    let n = 0;
    let nPos = 0;
    let nCol = 0;
    for (const c of chunks) {
      n += c.n;
      nPos += c.nPos;
      nCol += c.colStart[c.n] + c.pcolStart[c.nPos];
    }
    this.reserveRoom(n, nPos, nCol, hold);
  }

  /** Room for n accounts holding nPos positions and nCol collateral lines (reserveFor). */
  private reserveRoom(n: number, nPos: number, nCol: number, hold: Holdings): void {
    const subs = nPos + n;
    hold.reserve(2 * nPos + nCol, subs);
    for (const g of this.perSub) reserve(g, subs);
    reserve(this.opInstr, nPos);
    reserve(this.opSize, nPos);
    reserve(this.opEntry, nPos);
    reserve(this.colCur, nCol);
    reserve(this.colAmount, nCol);
    this.parts.reserve(nPos, subs);
  }

  private append(ctx: ResolveContext, c: BookColumns, j: number, k: number, hold: Holdings, index: ColumnIndex): ResolvedAccount {
    const subFrom = this.nSubs;
    const p0 = c.posStart[j];
    const p1 = c.posStart[j + 1];
    let colFrom = 0;
    let colTo = 0;
    const isolated = c.mode[j] === Mode.Isolated;
    if (isolated) {
      // the account runner resolves every position and the account collateral first
      for (let p = p0; p < p1; p++) index.instrument(c.instr[p]);
      colFrom = this.colCur.n;
      this.collateralLines(ctx, c.cur, c.amount, c.colStart[j], c.colStart[j + 1], index, null);
      colTo = this.colCur.n;
      for (let p = p0; p < p1; p++) {
        this.openSub(k);
        const instr = this.parts.instruments(1);
        instr[0] = index.instrument(c.instr[p]);
        this.positionHoldings(ctx, instr, c, p, 1, hold, null, this.opInstr.n);
        this.pushPositions(instr, c, p, 1, null);
        this.parts.addInput(null, 1, 0);
        this.collateralLines(ctx, c.pcur, c.pamount, c.pcolStart[p], c.pcolStart[p + 1], index, hold);
        this.closeSub(hold, ctx.table);
      }
    } else {
      this.openSub(k);
      this.pooledPositions(ctx, c, p0, p1, hold, index);
      this.collateralLines(ctx, c.cur, c.amount, c.colStart[j], c.colStart[j + 1], index, hold);
      this.closeSub(hold, ctx.table);
    }
    return { kind: isolated ? AccKind.Isolated : AccKind.Pooled, subFrom, subTo: this.nSubs, colFrom, colTo };
  }

  private openSub(k: number): void {
    this.subAcc.put(k);
    this.subPosFrom.put(this.opInstr.n);
    this.subColFrom.put(this.colCur.n);
    this.subEntryFrom.put(this.opEntry.n);
    this.nSubs++;
  }

  /** Ends the last sub-account opened: its ranges, its equity's parts (parts.ts). */
  private closeSub(hold: Holdings, tb: InstrumentTable): void {
    const j = this.nSubs - 1;
    this.parts.addSub(this.opInstr.a, this.subPosFrom.a[j], this.opInstr.n, this.subEntryFrom.a[j], tb.underlyingOf);
    this.subPosTo.put(this.opInstr.n);
    this.subColTo.put(this.colCur.n);
    hold.end.put(hold.instr.n);
  }

  /**
   * A pooled sub-account's positions [p0, p1) of the columns: their holdings in input order (the
   * rows'), the positions themselves stored grouped by underlying (the equity's parts: parts.ts).
   */
  private pooledPositions(ctx: ResolveContext, c: BookColumns, p0: number, p1: number, hold: Holdings, index: ColumnIndex): void {
    const n = p1 - p0;
    const instr = this.parts.instruments(n);
    for (let t = 0; t < n; t++) instr[t] = index.instrument(c.instr[p0 + t]);
    const order = this.parts.group(n, ctx.table.underlyingOf, ctx.table.underlyings);
    const op0 = this.opInstr.n;
    this.parts.addInput(order, n, op0);
    if (order === null) this.positionHoldings(ctx, instr, c, p0, n, hold, null, op0);
    else this.positionHoldings(ctx, instr, c, p0, n, hold, this.parts.inputOp.a, this.parts.subInput.a[this.nSubs - 1]);
    this.pushPositions(instr, c, p0, n, order);
  }

  /**
   * Stores n original positions, the columns' p0 + t of instrument instr[t] (of the table), t in
   * `order` (group's; null: input order): instrument, or its complement when it has an entry price,
   * size, and the entry prices of those that have one.
   */
  private pushPositions(instr: Int32Array, c: BookColumns, p0: number, n: number, order: Int32Array | null): void {
    const { size, entry } = c;
    const opInstr = this.opInstr.a;
    const opSize = this.opSize.a;
    const opEntry = this.opEntry.a;
    let o = claim(this.opInstr, n);
    claim(this.opSize, n);
    let e = claim(this.opEntry, n);
    for (let s = 0; s < n; s++, o++) {
      const t = order === null ? s : order[s];
      const x = entry[p0 + t];
      const atMark = x !== x;
      opInstr[o] = atMark ? instr[t] : ~instr[t];
      opSize[o] = size[p0 + t];
      if (!atMark) opEntry[e++] = x;
    }
    this.opEntry.n = e;
  }

  /**
   * The holdings of n positions, the columns' p0 + t of instrument instr[t] (of the table), in
   * input order: each position itself, and the coin leg of an inverse future/perpetual
   * (size·cs / entry; entered at mark: it follows F, recorded with its stored position —
   * inputOp[at + t], or at + t when they are stored in input order: inputOp null).
   */
  private positionHoldings(ctx: ResolveContext, instr: Int32Array, c: BookColumns, p0: number, n: number, hold: Holdings, inputOp: Int32Array | null, at: number): void {
    const tb = ctx.table;
    const { size, entry } = c;
    const hInstr = hold.instr.a;
    const hSize = hold.size.a;
    const hLeg = hold.leg.a;
    let h = hold.claim(2 * n);
    for (let t = 0; t < n; t++, h++) {
      const i = instr[t];
      const q = size[p0 + t];
      hInstr[h] = i;
      hSize[h] = q;
      hLeg[h] = -1;
      const kind = tb.kind[i];
      if ((kind === Kind.Future || kind === Kind.Perpetual) && tb.inverse[i]) {
        const x = entry[p0 + t];
        const atMark = x !== x;
        const cs = tb.instruments[i]?.contractSize ?? 1;
        h++;
        hInstr[h] = tb.coinOfSlot(tb.underlyingOf[i]);
        hSize[h] = entryLegCoin(kind, tb.inverse[i], cs, q, atMark ? ctx.forwardOf(i) : x);
        hLeg[h] = atMark ? (inputOp === null ? at + t : inputOp[at + t]) : -1;
      }
    }
    hold.written(h);
  }

  /** Collateral lines [from, to) of currency index (into the columns' currencies) / amount, in order (zero balances skipped); with `hold`, coin balances become holdings too. */
  private collateralLines(ctx: ResolveContext, cur: Int32Array, amounts: Float64Array, from: number, to: number, index: ColumnIndex, hold: Holdings | null): void {
    for (let q = from; q < to; q++) {
      const amount = amounts[q];
      if (amount === 0) continue;
      const c = index.currency(cur[q]);
      this.colCur.put(c);
      this.colAmount.put(amount);
      const coin = this.curCoin[c];
      if (hold && coin >= 0) hold.put(coin, collateralExposure(amount, this.curHaircut[c]), -1);
    }
  }

  /** Index of a collateral currency (its haircut and coin instrument recorded on first sight). */
  private currency(ctx: ResolveContext, cur: string): number {
    const hit = this.curIndex.get(cur);
    if (hit !== undefined) return hit;
    const col = ctx.collateral;
    const h = col.haircuts[cur] ?? col.defaultHaircut;
    if (h === null || h === undefined) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `collateral ${cur} is not accepted by the model`);
    let coin = -1;
    if (!col.usdPegged.includes(cur)) {
      if (!ctx.market.hasUnderlying(cur)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no index price for ${cur}`);
      coin = ctx.table.coinIndex(cur);
    }
    const c = this.currencies.length;
    this.currencies.push(cur);
    this.curHaircut.push(h);
    this.curCoin.push(coin);
    this.curIndex.set(cur, c);
    this.curArrays = null;
    return c;
  }

  /** Edits the size of position p in place (a reduction: edit.ts), logged for the copies resident in WASM. */
  setOpSize(p: number, size: number): void {
    this.opSize.a[p] = size;
    this.logs.push(this.logs.ops, p, this.opInstr.n);
  }

  /** Edits the amount of collateral line c in place (edit.ts), logged likewise. */
  setLineAmount(c: number, amount: number): void {
    this.colAmount.a[c] = amount;
    this.logs.push(this.logs.lines, c, this.opInstr.n);
  }

  /**
   * The equity arrays of the book (equity.ts) over these accounts and `ins`: shared views, no copy
   * (currencies: a few numbers). `moved` (a tick: 1 per moved slot): only the parts on those slots
   * are re-summed; null: every part.
   */
  equityArrays(ins: BookInstruments, moved: Uint8Array | null = null): EquityArrays {
    const parts = this.parts;
    return {
      moved,
      subPartStart: parts.subStart.a,
      partSlot: parts.slot.a,
      partValue: parts.value.a,
      partOpStart: parts.opStart.a,
      partEntryStart: parts.entryStart.a,
      kind: ins.kind,
      fromEntry: ins.fromEntry,
      inverse: ins.inverse,
      slot: ins.slot,
      cs: ins.cs,
      forward: ins.forward,
      unitValue: ins.unitValue,
      slotSpot: ins.slotSpot,
      subColFrom: this.subColFrom.a,
      subColTo: this.subColTo.a,
      opInstr: this.opInstr.a,
      opSize: this.opSize.a,
      opEntry: this.opEntry.a,
      colCur: this.colCur.a,
      colAmount: this.colAmount.a,
      curHaircut: (this.curArrays ??= { haircut: Float64Array.from(this.curHaircut), coin: Int32Array.from(this.curCoin) }).haircut,
      curCoin: this.curArrays.coin,
      accColFrom: this.accColFrom,
      accColTo: this.accColTo,
      positions: residentPositions(this),
      accounts: residentAccounts(this),
      nInstruments: ins.n,
    };
  }

  /** Sizes the per-account record of the underlyings each depends on (after a load's layout: `nSlots` underlyings). */
  trackSlots(nSlots: number): void {
    this.nSlots = nSlots;
    this.deps = new Uint8Array(this.accColFrom.length * nSlots);
    this.depRow = new Uint8Array(nSlots);
    this.holders.clear();
  }

  /**
   * Records the underlyings account k's figures depend on: those of its rows and, for an isolated
   * account, of its account-level coin collateral (it moves its equity); none off the vectorized
   * path. Called after every change of k's record: logged for the copies resident in WASM.
   */
  recordDeps(k: number, red: ReduceArrays, rowSlot: Int32Array, ins: BookInstruments): void {
    this.logs.push(this.logs.accounts, k, this.opInstr.n);
    const at = k * this.nSlots;
    const row = this.depRow.fill(0);
    if (red.accKind[k] !== AccKind.None) {
      for (let j = red.accSubFrom[k]; j < red.accSubTo[k]; j++) {
        for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) row[rowSlot[red.subRows[q]]] = 1;
      }
      for (let c = this.accColFrom[k]; c < this.accColTo[k]; c++) {
        const coin = this.curCoin[this.colCur.a[c]];
        if (coin >= 0) row[ins.slot[coin]] = 1;
      }
    }
    // the holders lists stand while no account's set of underlyings changes (an in-place edit keeps it)
    let changed = false;
    for (let s = 0; s < this.nSlots; s++) {
      if (this.deps[at + s] !== row[s]) changed = true;
      this.deps[at + s] = row[s];
    }
    if (changed && this.holders.size > 0) this.holders.clear();
  }

  /**
   * Visits account k's stored positions (its live sub-accounts [accSubFrom, accSubTo) of `red`, in
   * stored order) in an instrument marked in `want` (by table index; `names`: the table's): its
   * size as edited in place (closed ones, at 0, skipped), entry price (undefined: at mark) and sub-account.
   */
  positionsIn(red: ReduceArrays, k: number, want: Uint8Array, names: readonly string[], visit: StoredPositionVisitor): void {
    const op = this.opInstr.a;
    for (let j = red.accSubFrom[k]; j < red.accSubTo[k]; j++) {
      let e = this.subEntryFrom.a[j];
      for (let o = this.subPosFrom.a[j]; o < this.subPosTo.a[j]; o++) {
        const x = op[o];
        const i = x >= 0 ? x : ~x;
        const entry = x >= 0 ? undefined : this.opEntry.a[e++];
        const q = this.opSize.a[o];
        if (want[i] === 1 && q !== 0) visit(k, names[i], q, entry, j);
      }
    }
  }

  /** The vectorized accounts depending on any slot of `moved` (1 per slot) into list, ascending; returns their count. */
  holdersOf(moved: Uint8Array, list: Int32Array): number {
    const key = moved.join('');
    const known = this.holders.get(key);
    if (known) {
      list.set(known);
      return known.length;
    }
    const dep = this.deps;
    const ns = this.nSlots;
    const n = this.accColFrom.length;
    let m = 0;
    for (let k = 0, at = 0; k < n; k++, at += ns) {
      for (let s = 0; s < ns; s++) {
        if (moved[s] && dep[at + s]) {
          list[m++] = k;
          break;
        }
      }
    }
    this.holders.set(key, list.slice(0, m));
    return m;
  }
}

/**
 * Whether every instrument and coin of a traded account is in the load's table (added now if
 * new) and on the book's underlyings: else the account leaves the vectorized path (the account
 * runner then reports any error). Engine bugs propagate.
 */
export function tradeFits(tb: InstrumentTable, col: CollateralParams, market: MarginMarket, nUnderlyings: number, next: AccountInput): boolean {
  try {
    for (const p of next.positions) tb.indexOf(p.instrument);
    const balances = [next.collateral, ...next.positions.map((p) => p.collateral ?? {})];
    for (const b of balances) for (const cur of Object.keys(b)) if (!col.usdPegged.includes(cur) && market.hasUnderlying(cur)) tb.coinIndex(cur);
  } catch (e) {
    if (e instanceof OptmarginError) return false;
    throw e;
  }
  return tb.underlyings.length === nUnderlyings;
}
