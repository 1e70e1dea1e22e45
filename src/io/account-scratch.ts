/**
 * One account read from the bytes of a book (io/msgpack-account.ts, io/json-account.ts) before
 * anything is written to the columns: its positions and collateral lines, each value checked by
 * validateAccount's own rules (`accepts`), then written in ColumnsBuilder.add's order — so a
 * reader that finds a problem half-way has written nothing, and leaves the value to the object
 * path (decode, validateAccount: its message, code and path).
 */
import { accepts } from '../instruments/account.js';
import { Mode, type ColumnsBuilder } from '../instruments/columns.js';
import { growPlain } from '../platform/typed.js';
import { InternTable, byteString, sameBytes, type Interned } from './intern-table.js';

export class AccountScratch {
  /** positions read: name, size, entry price (NaN: none), end of its collateral lines */
  nPos = 0;
  private pName: Interned[] = [];
  private pSize = new Float64Array(64);
  private pEntry = new Float64Array(64);
  private pLineEnd = new Int32Array(64);
  /** commit's scratch: the positions' name indices in the builder's table */
  private pIdx = new Int32Array(64);
  /** collateral lines read: the account's [0, accountLines), then the positions' */
  nLines = 0;
  private accountLines = 0;
  private lineCur: string[] = [];
  private lineAmount: Float64Array = new Float64Array(64);
  /** interned strings (instrument names, currencies) */
  private readonly interned = new InternTable();

  reset(): void {
    this.nPos = 0;
    this.nLines = 0;
    this.accountLines = 0;
  }

  /** A balance line (of the account before any position, else of the last position); false when the currency repeats one of its map or a rule rejects it. */
  line(mapFrom: number, cur: string | null, amount: number): boolean {
    if (cur === null || !accepts.currency(cur) || !accepts.balance(amount)) return false;
    for (let r = mapFrom; r < this.nLines; r++) if (this.lineCur[r] === cur) return false;
    const q = this.nLines++;
    if (q === this.lineAmount.length) {
      this.lineAmount = growPlain(this.lineAmount, q + 1);
    }
    this.lineCur[q] = cur;
    this.lineAmount[q] = amount;
    if (this.nPos === 0) this.accountLines = this.nLines;
    return true;
  }

  // a position being read: its instrument and size, then optionally its entry price and (isolated) collateral, in that order
  private name: Interned | null = null;
  private size = NaN;
  private entry = NaN;
  private hasEntry = false;
  private open = false;

  beginPosition(name: Interned | null, size: number): void {
    this.name = name;
    this.size = size;
    this.entry = NaN;
    this.hasEntry = false;
    this.open = false;
  }

  /** The position's entry price; false when it comes twice or after the collateral. */
  entryPrice(x: number): boolean {
    if (this.hasEntry || this.open) return false;
    this.hasEntry = true;
    this.entry = x;
    return true;
  }

  /** Opens the position's collateral lines (the balances follow); false when not isolated, repeated, or a rule rejects a value. */
  positionLines(mode: number): boolean {
    if (mode !== Mode.Isolated || this.open) return false;
    return this.openPosition();
  }

  /** Ends the position; false when a rule rejects a value. */
  endPosition(): boolean {
    if (!this.open && !this.openPosition()) return false;
    this.pLineEnd[this.nPos - 1] = this.nLines;
    return true;
  }

  private openPosition(): boolean {
    const { name, size, entry } = this;
    if (name === null || name.s.length === 0 || !accepts.size(size) || (this.hasEntry && !accepts.entryPrice(entry))) return false;
    this.open = true;
    const i = this.nPos++;
    if (i === this.pSize.length) {
      this.pSize = growPlain(this.pSize, i + 1);
      this.pEntry = growPlain(this.pEntry, i + 1);
      this.pLineEnd = growPlain(this.pLineEnd, i + 1);
    }
    this.pName[i] = name;
    this.pSize[i] = size;
    this.pEntry[i] = entry;
    this.pLineEnd[i] = this.nLines;
    return true;
  }

  /**
   * Writes the account: positions and their lines, then the account's lines (ColumnsBuilder.add's
   * order) — when no position has lines of its own (every account but an isolated one with
   * position collateral), the positions at once.
   */
  commit(b: ColumnsBuilder, id: string, mode: number): void {
    b.beginAccount(id, mode);
    if (this.nLines === this.accountLines) {
      if (this.pIdx.length < this.nPos) this.pIdx = new Int32Array(this.pSize.length);
      for (let i = 0; i < this.nPos; i++) this.pIdx[i] = nameIndex(b, this.pName[i]);
      b.positionsAt(this.pIdx, this.pSize, this.pEntry, this.nPos);
    } else {
      for (let i = 0, q = this.accountLines; i < this.nPos; i++) {
        b.positionAt(nameIndex(b, this.pName[i]), this.pSize[i], this.pEntry[i]);
        for (; q < this.pLineEnd[i]; q++) b.positionLine(this.lineCur[q], this.lineAmount[q]);
        b.endPosition();
      }
    }
    for (let q = 0; q < this.accountLines; q++) b.accountLine(this.lineCur[q], this.lineAmount[q]);
    b.endAccount();
  }

  /** Bytes [at, at + len) as one shared string per distinct value (null when one is not ASCII). */
  intern(u: Uint8Array, at: number, len: number): Interned | null {
    return this.interned.intern(u, at, len);
  }
}

/** The index of an interned name in the builder's name table, looked up once per distinct name and generation (at its first use: the table's order is add's). */
function nameIndex(b: ColumnsBuilder, r: Interned): number {
  if (r.gen !== b.generation) {
    r.idx = b.nameOf(r.s);
    r.gen = b.generation;
  }
  return r.idx;
}

/** Bytes [at, at + len) as a string (null when a byte is not ASCII: UTF-8 is left to the object path's decoder). */
export function asciiString(u: Uint8Array, at: number, len: number): string | null {
  for (let i = at; i < at + len; i++) if (u[i] >= 0x80) return null;
  return byteString(u, at, len);
}

/** A key of the plain form: its length and a DataView of its bytes. */
export interface Key {
  len: number;
  view: DataView;
}

export function keyOf(s: string): Key {
  const b = Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  return { len: b.length, view: new DataView(b.buffer) };
}

/** Whether bytes [at, at + len) of the input (dv: a DataView of it) are the key k. */
export function isKey(dv: DataView, at: number, len: number, k: Key): boolean {
  return len === k.len && sameBytes(dv, at, k.view, 0, len);
}

/** The keys of an account in the plain form (validateAccount's field names). */
export const K_ID = keyOf('id');
export const K_MODE = keyOf('mode');
export const K_COLLATERAL = keyOf('collateral');
export const K_POSITIONS = keyOf('positions');
export const K_INSTRUMENT = keyOf('instrument');
export const K_SIZE = keyOf('size');
export const K_ENTRY = keyOf('entryPrice');

