/**
 * msgpack account values read straight into a book's columns (no object per account or
 * position, no garbage per position): the ingestion workers' reader for msgpack books.
 *
 * It takes the plain form every writer emits — a map of `id` (a non-empty ASCII string), `mode`,
 * then optionally `collateral` (a map of currency → number) and `positions` (an array of maps of
 * `instrument`, `size`, optionally `entryPrice` and, in isolated mode, `collateral`) — and
 * accepts a value only when validateAccount would (AccountScratch checks each value by its
 * rules), writing the columns `ColumnsBuilder.add(validateAccount(value))` writes. Anything else
 * — another key or key order, a repeated key, a non-ASCII string, a 64-bit integer, nil, a value
 * a rule rejects — is left to the object path (decode, validateAccount), so every error keeps
 * its code, message and path.
 */
import { Mode, type ColumnsBuilder } from '../instruments/columns.js';
import { AccountScratch, asciiString, isKey, K_COLLATERAL, K_ENTRY, K_ID, K_INSTRUMENT, K_MODE, K_POSITIONS, K_SIZE, keyOf, type Key } from './account-scratch.js';

export const MODE_KEYS: [Key, number][] = [
  [keyOf('portfolio'), Mode.Portfolio],
  [keyOf('cross'), Mode.Cross],
  [keyOf('isolated'), Mode.Isolated],
];

/** Not read here: the value goes to the object path. */
const FALLBACK = -1;

export class MsgpackAccountReader {
  private u: Uint8Array = new Uint8Array(0);
  private dv: DataView = new DataView(new ArrayBuffer(8));
  private end = 0;
  private p = 0;
  /** the last string read: [strAt, strAt + strLen) */
  private strAt = 0;
  private strLen = 0;
  private readonly acc = new AccountScratch();

  constructor(private readonly b: ColumnsBuilder) {}

  /**
   * Appends the account value at bytes[at] (a value whose structure the reading thread has
   * checked) to the columns; returns the offset just past it, or −1 — nothing appended — when
   * the value is not in the plain form or breaks a rule (the object path then reads it).
   */
  read(bytes: Uint8Array, at: number): number {
    if (bytes !== this.u) {
      this.u = bytes;
      this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.end = bytes.length;
    }
    this.p = at;
    this.acc.reset();
    const n = this.mapLen();
    if (n < 2 || !this.key(K_ID) || !this.string() || this.strLen === 0) return FALLBACK;
    const id = asciiString(this.u, this.strAt, this.strLen);
    if (id === null || !this.key(K_MODE) || !this.string()) return FALLBACK;
    const mode = modeOf(this.dv, this.strAt, this.strLen);
    if (mode < 0) return FALLBACK;
    let seenCollateral = false;
    for (let k = 2; k < n; k++) {
      if (!this.string()) return FALLBACK;
      if (!seenCollateral && this.is(K_COLLATERAL)) {
        seenCollateral = true; // before the positions only: the account's lines come first
        if (!this.balances()) return FALLBACK;
      } else if (k === n - 1 && this.is(K_POSITIONS)) {
        if (!this.positions(mode)) return FALLBACK;
      } else return FALLBACK;
    }
    this.acc.commit(this.b, id, mode);
    return this.p;
  }

  /** A balances map (the account's, or the last position's). */
  private balances(): boolean {
    const n = this.mapLen();
    if (n < 0) return false;
    const from = this.acc.nLines;
    for (let k = 0; k < n; k++) {
      if (!this.string()) return false;
      const cur = this.acc.intern(this.u, this.strAt, this.strLen)?.s ?? null;
      if (!this.acc.line(from, cur, this.number())) return false;
    }
    return true;
  }

  private positions(mode: number): boolean {
    const n = this.arrayLen();
    if (n < 0) return false;
    for (let i = 0; i < n; i++) {
      const m = this.mapLen();
      if (m < 2 || !this.key(K_INSTRUMENT) || !this.string()) return false;
      const name = this.acc.intern(this.u, this.strAt, this.strLen);
      if (!this.key(K_SIZE)) return false;
      this.acc.beginPosition(name, this.number());
      for (let k = 2; k < m; k++) {
        if (!this.string()) return false;
        if (this.is(K_ENTRY)) {
          if (!this.acc.entryPrice(this.number())) return false;
        } else if (!this.is(K_COLLATERAL) || !this.acc.positionLines(mode) || !this.balances()) return false;
      }
      if (!this.acc.endPosition()) return false;
    }
    return true;
  }

  /** Whether the next value is the string key k (the position is undefined when not: the caller falls back). */
  private key(k: Key): boolean {
    return this.string() && this.is(k);
  }

  private is(k: Key): boolean {
    return isKey(this.dv, this.strAt, this.strLen, k);
  }

  /** Reads a str header and skips its bytes (strAt / strLen); false when the value is not a string inside the chunk. */
  private string(): boolean {
    const u = this.u;
    const p = this.p;
    const c = u[p];
    let len: number;
    let h: number;
    if (c >= 0xa0 && c <= 0xbf) {
      len = c & 0x1f;
      h = 1;
    } else if (c === 0xd9 && p + 2 <= this.end) {
      len = u[p + 1];
      h = 2;
    } else if (c === 0xda && p + 3 <= this.end) {
      len = (u[p + 1] << 8) | u[p + 2];
      h = 3;
    } else return false;
    if (p + h + len > this.end) return false;
    this.strAt = p + h;
    this.strLen = len;
    this.p = p + h + len;
    return true;
  }

  private mapLen(): number {
    const c = this.u[this.p];
    if (c >= 0x80 && c <= 0x8f) return (this.p++, c & 0x0f);
    if (c === 0xde && this.p + 3 <= this.end) return ((this.p += 3), (this.u[this.p - 2] << 8) | this.u[this.p - 1]);
    return FALLBACK;
  }

  private arrayLen(): number {
    const c = this.u[this.p];
    if (c >= 0x90 && c <= 0x9f) return (this.p++, c & 0x0f);
    if (c === 0xdc && this.p + 3 <= this.end) return ((this.p += 3), (this.u[this.p - 2] << 8) | this.u[this.p - 1]);
    if (c === 0xdd && this.p + 5 <= this.end) return ((this.p += 5), this.dv.getUint32(this.p - 4));
    return FALLBACK;
  }

  /** A number (int up to 32 bits, float32, float64) as @msgpack/msgpack decodes it; NaN for anything else (no rule accepts NaN). */
  private number(): number {
    const u = this.u;
    const p = this.p;
    const c = u[p];
    if (c <= 0x7f) return (this.p++, c);
    if (c >= 0xe0) return (this.p++, c - 0x100);
    const w = c === 0xcb ? 9 : c === 0xca || c === 0xce || c === 0xd2 ? 5 : c === 0xcd || c === 0xd1 ? 3 : c === 0xcc || c === 0xd0 ? 2 : 0;
    if (w === 0 || p + w > this.end) return NaN;
    this.p = p + w;
    const dv = this.dv;
    switch (c) {
      case 0xcb: return dv.getFloat64(p + 1);
      case 0xca: return dv.getFloat32(p + 1);
      case 0xcc: return u[p + 1];
      case 0xcd: return dv.getUint16(p + 1);
      case 0xce: return dv.getUint32(p + 1);
      case 0xd0: return dv.getInt8(p + 1);
      case 0xd1: return dv.getInt16(p + 1);
      default: return dv.getInt32(p + 1);
    }
  }
}

/** The mode named by bytes [at, at + len), or −1. */
export function modeOf(dv: DataView, at: number, len: number): number {
  for (const [k, m] of MODE_KEYS) if (isKey(dv, at, len, k)) return m;
  return -1;
}
