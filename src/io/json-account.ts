/**
 * JSON-lines accounts read straight into a book's columns (no JSON.parse, no object per account
 * or position): the ingestion workers' reader for JSON lines.
 *
 * It takes the plain form — `{"id": "<ASCII>", "mode": "…"` then optionally `"collateral": {…}`
 * and `"positions": [{"instrument": "…", "size": n, "entryPrice"?: n, "collateral"?: {…}}, …]}` —
 * with strings without escapes and numbers of at most 15 significant digits and no exponent
 * (converted exactly as JSON.parse does: m / 10^k with m < 2^53 and k ≤ 22 is the correctly
 * rounded double). It accepts a line only when JSON.parse and validateAccount would (each value
 * checked by validateAccount's rules: AccountScratch) and writes the columns the object path
 * writes; anything else goes to JSON.parse and validateAccount, which give every error.
 */
import type { ColumnsBuilder } from '../instruments/columns.js';
import { AccountScratch, asciiString, isKey, K_COLLATERAL, K_ENTRY, K_ID, K_INSTRUMENT, K_MODE, K_POSITIONS, K_SIZE, type Key } from './account-scratch.js';
import { modeOf } from './msgpack-account.js';

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k); // exact doubles up to 1e22

export class JsonAccountReader {
  private u: Uint8Array = new Uint8Array(0);
  /** a DataView of u (the keys are compared 4 bytes a step) */
  private dv: DataView = new DataView(new ArrayBuffer(8));
  private p = 0;
  private z = 0;
  private strAt = 0;
  private strLen = 0;
  private readonly acc = new AccountScratch();

  constructor(private readonly b: ColumnsBuilder) {}

  /** Appends the account on bytes [a, z) (one line, trimmed) to the columns; false — nothing appended — when the line is left to JSON.parse. */
  read(bytes: Uint8Array, a: number, z: number): boolean {
    if (bytes !== this.u) {
      this.u = bytes;
      this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.p = a;
    this.z = z;
    this.acc.reset();
    if (!this.punct(0x7b) || !this.key(K_ID) || !this.string() || this.strLen === 0) return false;
    const id = asciiString(bytes, this.strAt, this.strLen);
    if (id === null || !this.punct(0x2c) || !this.key(K_MODE) || !this.string()) return false;
    const mode = modeOf(this.dv, this.strAt, this.strLen);
    if (mode < 0) return false;
    let seenCollateral = false;
    let done = false;
    while (!this.punct(0x7d)) {
      if (done || !this.punct(0x2c) || !this.string() || !this.punct(0x3a)) return false;
      if (!seenCollateral && this.is(K_COLLATERAL)) {
        seenCollateral = true; // before the positions only: the account's lines come first
        if (!this.balances()) return false;
      } else if (this.is(K_POSITIONS)) {
        if (!this.positions(mode)) return false;
        done = true;
      } else return false;
    }
    this.ws();
    if (this.p !== z) return false;
    this.acc.commit(this.b, id, mode);
    return true;
  }

  private balances(): boolean {
    if (!this.punct(0x7b)) return false;
    const from = this.acc.nLines;
    if (this.punct(0x7d)) return true;
    do {
      if (!this.string()) return false;
      const cur = this.acc.intern(this.u, this.strAt, this.strLen)?.s ?? null;
      if (!this.punct(0x3a) || !this.acc.line(from, cur, this.number())) return false;
    } while (this.punct(0x2c));
    return this.punct(0x7d);
  }

  private positions(mode: number): boolean {
    if (!this.punct(0x5b)) return false;
    if (this.punct(0x5d)) return true;
    do {
      if (!this.punct(0x7b) || !this.key(K_INSTRUMENT) || !this.string()) return false;
      const name = this.acc.intern(this.u, this.strAt, this.strLen);
      if (!this.punct(0x2c) || !this.key(K_SIZE)) return false;
      this.acc.beginPosition(name, this.number());
      while (!this.punct(0x7d)) {
        if (!this.punct(0x2c) || !this.string() || !this.punct(0x3a)) return false;
        if (this.is(K_ENTRY)) {
          if (!this.acc.entryPrice(this.number())) return false;
        } else if (!this.is(K_COLLATERAL) || !this.acc.positionLines(mode) || !this.balances()) return false;
      }
      if (!this.acc.endPosition()) return false;
    } while (this.punct(0x2c));
    return this.punct(0x5d);
  }

  /** A key: a string then `:` (the position is undefined when not k: the caller falls back). */
  private key(k: Key): boolean {
    return this.string() && this.is(k) && this.punct(0x3a);
  }

  private is(k: Key): boolean {
    return isKey(this.dv, this.strAt, this.strLen, k);
  }

  private ws(): void {
    const u = this.u;
    while (this.p < this.z && (u[this.p] === 0x20 || u[this.p] === 0x09 || u[this.p] === 0x0d || u[this.p] === 0x0a)) this.p++;
  }

  /** Skips whitespace, then the byte c when it is next (true), else nothing more. */
  private punct(c: number): boolean {
    this.ws();
    if (this.p < this.z && this.u[this.p] === c) {
      this.p++;
      return true;
    }
    return false;
  }

  /** A string without escapes or control characters (strAt / strLen: its bytes). */
  private string(): boolean {
    if (!this.punct(0x22)) return false;
    const u = this.u;
    const at = this.p;
    let i = at;
    for (; i < this.z; i++) {
      const c = u[i];
      if (c === 0x22) break;
      if (c === 0x5c || c < 0x20) return false;
    }
    if (i >= this.z) return false;
    this.strAt = at;
    this.strLen = i - at;
    this.p = i + 1;
    return true;
  }

  /**
   * A JSON number as JSON.parse converts it (NaN when the next token is not one: no rule accepts
   * NaN): up to 15 significant digits without exponent, m / 10^k exactly (m < 2^53, k ≤ 22: the
   * correctly rounded double); otherwise the token through Number(), also correctly rounded.
   */
  private number(): number {
    this.ws();
    const u = this.u;
    const start = this.p;
    let i = start;
    const neg = u[i] === 0x2d;
    if (neg) i++;
    const d0 = i;
    let m = 0;
    while (i < this.z && u[i] >= 0x30 && u[i] <= 0x39) m = m * 10 + (u[i++] - 0x30);
    let digits = i - d0;
    if (digits === 0 || (u[d0] === 0x30 && digits > 1)) return NaN; // none, or a leading zero
    let k = 0;
    if (i < this.z && u[i] === 0x2e) {
      const f0 = ++i;
      while (i < this.z && u[i] >= 0x30 && u[i] <= 0x39) m = m * 10 + (u[i++] - 0x30);
      k = i - f0;
      if (k === 0) return NaN;
      digits += k;
    }
    let exponent = false;
    if (i < this.z && (u[i] === 0x65 || u[i] === 0x45)) {
      i++;
      if (i < this.z && (u[i] === 0x2b || u[i] === 0x2d)) i++;
      const e0 = i;
      while (i < this.z && u[i] >= 0x30 && u[i] <= 0x39) i++;
      if (i === e0) return NaN;
      exponent = true;
    }
    this.p = i;
    if (exponent || digits > 15) return Number(asciiString(u, start, i - start));
    const v = k === 0 ? m : m / POW10[k];
    return neg ? -v : v;
  }
}
