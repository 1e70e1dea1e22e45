/**
 * A book as columns (structure-of-arrays): what ingestion builds directly from the input — no
 * object per position is kept — and what the book runner resolves from. Also the payload of the
 * columnar book file (book-columns.ts).
 *
 *   accounts   ids[k], mode[k] (Mode.*, Mode.Invalid for an account that failed validation: its
 *              error is in `errors`), posStart[k] … posStart[k+1], colStart[k] … colStart[k+1]
 *   positions  instr[p] (index into `names`), size[p], entry[p] (NaN = none), pcolStart[p] …
 *              pcolStart[p+1] (isolated positions' own collateral lines)
 *   collateral cur[c] / amount[c] (account lines) and pcur / pamount (position lines); currency
 *              indices into `currencies`
 *   settlement the `currency` an account gives (a segregated sub-account's settlement currency),
 *              by account index: the few accounts that give one
 *
 * Every account in has exactly one entry, in input order.
 */
import { ErrorCodes, type ErrorCode } from '../errors.js';
import type { AccountInput, AccountMode, PositionInput } from './types.js';
import { growPlain } from '../platform/typed.js';

export const Mode = { Portfolio: 0, Cross: 1, Isolated: 2, Invalid: 255 } as const;
export const MODE_NAMES: readonly AccountMode[] = ['portfolio', 'cross', 'isolated'];

export interface AccountError {
  code: ErrorCode;
  message: string;
  path?: string;
}

export interface BookColumns {
  n: number;
  ids: string[];
  mode: Uint8Array;
  posStart: Int32Array;
  colStart: Int32Array;
  nPos: number;
  instr: Int32Array;
  size: Float64Array;
  entry: Float64Array;
  pcolStart: Int32Array;
  cur: Int32Array;
  amount: Float64Array;
  pcur: Int32Array;
  pamount: Float64Array;
  names: string[];
  currencies: string[];
  /** validation errors of Mode.Invalid accounts, by account index */
  errors: Map<number, AccountError>;
  /** the `currency` of the accounts that give one, by account index */
  settlement: Map<number, string>;
}

class Grow<T extends Int32Array | Float64Array | Uint8Array> {
  n = 0;
  constructor(public a: T) {}
  push(v: number): void {
    if (this.n === this.a.length) this.a = growPlain(this.a, this.n + 1);
    this.a[this.n++] = v;
  }
  /** Appends src[0, n). */
  append(src: ArrayLike<number>, n: number): void {
    if (this.n + n > this.a.length) this.a = growPlain(this.a, this.n + n);
    const a = this.a;
    for (let k = 0, at = this.n; k < n; k++) a[at + k] = src[k];
    this.n += n;
  }
  /** Appends v n times. */
  repeat(v: number, n: number): void {
    if (this.n + n > this.a.length) this.a = growPlain(this.a, this.n + n);
    this.a.fill(v, this.n, this.n + n);
    this.n += n;
  }
  done(): T {
    return this.a.slice(0, this.n) as T;
  }
  view(): T {
    return this.a.subarray(0, this.n) as T;
  }
}
const i32 = (n = 1024) => new Grow(new Int32Array(n));
const f64 = (n = 1024) => new Grow(new Float64Array(n));

/** Appends validated accounts (or their errors) to growing columns. */
export class ColumnsBuilder {
  private ids: string[] = [];
  private mode: Grow<Uint8Array>;
  private posStart: Grow<Int32Array>;
  private colStart: Grow<Int32Array>;
  private instr: Grow<Int32Array>;
  private size: Grow<Float64Array>;
  private entry: Grow<Float64Array>;
  private pcolStart: Grow<Int32Array>;
  private cur: Grow<Int32Array>;
  private amount: Grow<Float64Array>;
  private pcur: Grow<Int32Array>;
  private pamount: Grow<Float64Array>;
  private names: string[] = [];
  private nameIndex = new Map<string, number>();
  private currencies: string[] = [];
  private curIndex = new Map<string, number>();
  private errors = new Map<number, AccountError>();
  private settlement = new Map<number, string>();

  /** `positions`: the first capacity of the per-position columns (the others start at 1/16 of it). */
  constructor(positions = 16384) {
    const small = Math.max(16, positions >> 4);
    this.mode = new Grow(new Uint8Array(small));
    this.posStart = i32(small);
    this.colStart = i32(small);
    this.instr = i32(positions);
    this.size = f64(positions);
    this.entry = f64(positions);
    this.pcolStart = i32(positions);
    this.cur = i32(small);
    this.amount = f64(small);
    this.pcur = i32(small);
    this.pamount = f64(small);
    this.reset();
  }

  /** Changes at each reset: an index nameOf gave holds until then. */
  generation = 0;

  /** Empties the columns (their capacity is kept). */
  reset(): void {
    this.generation++;
    this.ids = [];
    this.names = [];
    this.nameIndex.clear();
    this.currencies = [];
    this.curIndex.clear();
    this.errors = new Map();
    this.settlement = new Map();
    for (const g of [this.mode, this.posStart, this.colStart, this.instr, this.size, this.entry, this.pcolStart, this.cur, this.amount, this.pcur, this.pamount]) g.n = 0;
    this.posStart.push(0);
    this.colStart.push(0);
    this.pcolStart.push(0);
  }

  get count(): number {
    return this.ids.length;
  }

  /** The index of instrument name s in the columns' name table (added at its first use). */
  nameOf(s: string): number {
    let i = this.nameIndex.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(s);
      this.nameIndex.set(s, i);
    }
    return i;
  }

  private currencyOf(s: string): number {
    let i = this.curIndex.get(s);
    if (i === undefined) {
      i = this.currencies.length;
      this.currencies.push(s);
      this.curIndex.set(s, i);
    }
    return i;
  }

  /** A validated account (validateAccount's output). */
  add(a: AccountInput): void {
    if (a.currency !== undefined) this.settlement.set(this.ids.length, a.currency);
    this.beginAccount(a.id, a.mode === 'portfolio' ? Mode.Portfolio : a.mode === 'cross' ? Mode.Cross : Mode.Isolated);
    for (const p of a.positions) {
      this.position(p.instrument, p.size, p.entryPrice ?? NaN);
      if (p.collateral) for (const c of Object.keys(p.collateral)) this.positionLine(c, p.collateral[c]);
      this.endPosition();
    }
    for (const c of Object.keys(a.collateral)) this.accountLine(c, a.collateral[c]);
    this.endAccount();
  }

  // An account piece by piece (add's steps; io/msgpack-account.ts calls them with values validateAccount accepts):
  // beginAccount, then per position: position, its positionLines, endPosition; then the accountLines; endAccount.
  beginAccount(id: string, mode: number): void {
    this.ids.push(id);
    this.mode.push(mode);
  }
  /** A position (entry NaN: none). */
  position(instrument: string, size: number, entry: number): void {
    this.positionAt(this.nameOf(instrument), size, entry);
  }
  /** A position by the index of its instrument name (nameOf, of this generation). */
  positionAt(name: number, size: number, entry: number): void {
    this.instr.push(name);
    this.size.push(size);
    this.entry.push(entry);
  }
  /** Positions [0, n) of the arrays given, none with collateral lines of its own (positionAt then endPosition, each). */
  positionsAt(names: Int32Array, size: Float64Array, entry: Float64Array, n: number): void {
    this.instr.append(names, n);
    this.size.append(size, n);
    this.entry.append(entry, n);
    this.pcolStart.repeat(this.pcur.n, n);
  }
  positionLine(currency: string, amount: number): void {
    this.pcur.push(this.currencyOf(currency));
    this.pamount.push(amount);
  }
  endPosition(): void {
    this.pcolStart.push(this.pcur.n);
  }
  accountLine(currency: string, amount: number): void {
    this.cur.push(this.currencyOf(currency));
    this.amount.push(amount);
  }
  endAccount(): void {
    this.posStart.push(this.instr.n);
    this.colStart.push(this.cur.n);
  }

  /** An account that failed validation: its id (as the book reports it) and error. */
  addInvalid(id: string, error: AccountError): void {
    this.errors.set(this.ids.length, error);
    this.ids.push(id);
    this.mode.push(Mode.Invalid);
    this.posStart.push(this.instr.n);
    this.colStart.push(this.cur.n);
  }

  /** The columns so far, as views of the builder's arrays (valid until the next add or reset; `build` copies). */
  view(): BookColumns {
    return this.columns((g) => g.view());
  }

  build(): BookColumns {
    return this.columns((g) => g.done());
  }

  private columns(take: <T extends Int32Array | Float64Array | Uint8Array>(g: Grow<T>) => T): BookColumns {
    return {
      n: this.ids.length,
      ids: this.ids,
      mode: take(this.mode),
      posStart: take(this.posStart),
      colStart: take(this.colStart),
      nPos: this.instr.n,
      instr: take(this.instr),
      size: take(this.size),
      entry: take(this.entry),
      pcolStart: take(this.pcolStart),
      cur: take(this.cur),
      amount: take(this.amount),
      pcur: take(this.pcur),
      pamount: take(this.pamount),
      names: this.names,
      currencies: this.currencies,
      errors: this.errors,
      settlement: this.settlement,
    };
  }
}

/** Concatenates column chunks (in order): name and currency tables merged, indices remapped. */
export function concatColumns(parts: readonly BookColumns[]): BookColumns {
  if (parts.length === 1) return parts[0];
  let n = 0;
  let nPos = 0;
  let nCol = 0;
  let nPcol = 0;
  for (const p of parts) {
    n += p.n;
    nPos += p.nPos;
    nCol += p.cur.length;
    nPcol += p.pcur.length;
  }
  const out: BookColumns = {
    n, ids: new Array(n), mode: new Uint8Array(n), posStart: new Int32Array(n + 1), colStart: new Int32Array(n + 1), nPos,
    instr: new Int32Array(nPos), size: new Float64Array(nPos), entry: new Float64Array(nPos), pcolStart: new Int32Array(nPos + 1),
    cur: new Int32Array(nCol), amount: new Float64Array(nCol), pcur: new Int32Array(nPcol), pamount: new Float64Array(nPcol),
    names: [], currencies: [], errors: new Map(), settlement: new Map(),
  };
  const nameIndex = new Map<string, number>();
  const curIndex = new Map<string, number>();
  const remap = (table: string[], index: Map<string, number>, list: string[]): Int32Array =>
    Int32Array.from(list, (s) => {
      let i = index.get(s);
      if (i === undefined) index.set(s, (i = table.push(s) - 1));
      return i;
    });
  let k0 = 0;
  let p0 = 0;
  let c0 = 0;
  let q0 = 0;
  for (const p of parts) {
    const nm = remap(out.names, nameIndex, p.names);
    const cm = remap(out.currencies, curIndex, p.currencies);
    for (let k = 0; k < p.n; k++) {
      out.ids[k0 + k] = p.ids[k];
      out.mode[k0 + k] = p.mode[k];
      out.posStart[k0 + k + 1] = p0 + p.posStart[k + 1];
      out.colStart[k0 + k + 1] = c0 + p.colStart[k + 1];
    }
    for (let i = 0; i < p.nPos; i++) {
      out.instr[p0 + i] = nm[p.instr[i]];
      out.pcolStart[p0 + i + 1] = q0 + p.pcolStart[i + 1];
    }
    out.size.set(p.size, p0);
    out.entry.set(p.entry, p0);
    for (let c = 0; c < p.cur.length; c++) out.cur[c0 + c] = cm[p.cur[c]];
    out.amount.set(p.amount, c0);
    for (let c = 0; c < p.pcur.length; c++) out.pcur[q0 + c] = cm[p.pcur[c]];
    out.pamount.set(p.pamount, q0);
    for (const [k, e] of p.errors) out.errors.set(k0 + k, e);
    for (const [k, c] of p.settlement) out.settlement.set(k0 + k, c);
    k0 += p.n;
    p0 += p.nPos;
    c0 += p.cur.length;
    q0 += p.pcur.length;
  }
  return out;
}

/** Account k as the object the account runner takes (built on demand; null for an invalid account). */
export function accountAt(c: BookColumns, k: number): AccountInput | null {
  const m = c.mode[k];
  if (m === Mode.Invalid) return null;
  const positions: PositionInput[] = [];
  for (let p = c.posStart[k]; p < c.posStart[k + 1]; p++) {
    const pos: PositionInput = { instrument: c.names[c.instr[p]], size: c.size[p] };
    const e = c.entry[p];
    if (e === e) pos.entryPrice = e;
    if (c.pcolStart[p + 1] > c.pcolStart[p]) {
      pos.collateral = {};
      for (let q = c.pcolStart[p]; q < c.pcolStart[p + 1]; q++) pos.collateral[c.currencies[c.pcur[q]]] = c.pamount[q];
    }
    positions.push(pos);
  }
  const collateral: Record<string, number> = {};
  for (let q = c.colStart[k]; q < c.colStart[k + 1]; q++) collateral[c.currencies[c.cur[q]]] = c.amount[q];
  const a: AccountInput = { id: c.ids[k], mode: MODE_NAMES[m], collateral, positions };
  const settles = c.settlement.get(k);
  if (settles !== undefined) a.currency = settles;
  return a;
}

/** A raw entry's id when usable (a non-empty string, or a finite number), else ''. */
export function usableId(raw: unknown): string {
  const rawId = (raw as { id?: unknown } | null)?.id;
  return typeof rawId === 'string' && rawId.length > 0 ? rawId : typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : '';
}

/** The id a book reports for a raw entry: its id when usable, else `#<index>` (0-based position in the book). */
export function bookIdOf(raw: unknown, k: number): string {
  return usableId(raw) || bookIndexId(k);
}

/** The id of an account without a usable one: `#<index>` (0-based position in the book). */
export const bookIndexId = (k: number): string => `#${k}`;

/** Gives accounts without a usable id (id '') their `#<index>`. */
export function numberUnnamed(c: BookColumns): void {
  for (let k = 0; k < c.n; k++) if (c.ids[k] === '') c.ids[k] = bookIndexId(k);
}

/** An error an ingestion step produced for one entry (a JSON line that does not parse). */
export function entryError(message: string): AccountError {
  return { code: ErrorCodes.INVALID_INPUT, message };
}
