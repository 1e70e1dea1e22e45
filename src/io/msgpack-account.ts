/**
 * msgpack account values read straight into a book's columns (no object per account or
 * position, no garbage per position): the ingestion workers' reader for msgpack books.
 *
 * It takes the plain form every writer emits — a map of `id` (a non-empty ASCII string), `mode`,
 * then optionally `collateral` (a map of currency → number) and `positions` (an array of maps of
 * `instrument`, `size`, optionally `entryPrice` and, in isolated mode, `collateral`) — and
 * accepts a value only when validateAccount would: each number is checked by validateAccount's
 * own rules (`accepts`, src/instruments/account.ts), and the columns it writes are those
 * `ColumnsBuilder.add(validateAccount(value))` writes. Anything else — another key or key order,
 * a repeated key, a non-ASCII string, a 64-bit integer, nil, a value a rule rejects — is left
 * to the object path (decode, validateAccount), so every error keeps its code, message and path.
 */
import { accepts } from '../instruments/account.js';
import { Mode, type ColumnsBuilder } from '../instruments/columns.js';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const K_ID = ascii('id');
const K_MODE = ascii('mode');
const K_COLLATERAL = ascii('collateral');
const K_POSITIONS = ascii('positions');
const K_INSTRUMENT = ascii('instrument');
const K_SIZE = ascii('size');
const K_ENTRY = ascii('entryPrice');
const MODES: [Uint8Array, number][] = [
  [ascii('portfolio'), Mode.Portfolio],
  [ascii('cross'), Mode.Cross],
  [ascii('isolated'), Mode.Isolated],
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
  /** interned strings (instrument names, currencies) by FNV-1a hash of their bytes */
  private readonly interned = new Map<number, string>();
  // one account's positions and collateral lines, read before anything is written
  private pName: string[] = [];
  private pSize = new Float64Array(64);
  private pEntry = new Float64Array(64);
  private pLineEnd = new Int32Array(64);
  private lineCur: string[] = [];
  private lineAmount: Float64Array = new Float64Array(64);

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
    const n = this.mapLen();
    if (n < 2 || !this.key(K_ID) || !this.string() || this.strLen === 0) return FALLBACK;
    const id = this.ascii();
    if (id === null || !this.key(K_MODE) || !this.string()) return FALLBACK;
    const mode = this.mode();
    if (mode < 0) return FALLBACK;
    let lines = 0;
    let nPos = 0;
    let seenCollateral = false;
    for (let k = 2; k < n; k++) {
      if (!this.string()) return FALLBACK;
      if (!seenCollateral && nPos === 0 && this.equals(K_COLLATERAL)) {
        // before the positions only: the account's lines are lines [0, lines)
        seenCollateral = true;
        lines = this.balances(0);
        if (lines < 0) return FALLBACK;
      } else if (k === n - 1 && this.equals(K_POSITIONS)) {
        nPos = this.positions(mode, lines);
        if (nPos < 0) return FALLBACK;
      } else return FALLBACK;
    }
    this.commit(id, mode, nPos, lines);
    return this.p;
  }

  /** Writes the account read (positions and their lines, then the account's lines: ColumnsBuilder.add's order). */
  private commit(id: string, mode: number, nPos: number, accountLines: number): void {
    const b = this.b;
    b.beginAccount(id, mode);
    for (let i = 0, q = accountLines; i < nPos; i++) {
      b.position(this.pName[i], this.pSize[i], this.pEntry[i]);
      for (; q < this.pLineEnd[i]; q++) b.positionLine(this.lineCur[q], this.lineAmount[q]);
      b.endPosition();
    }
    for (let q = 0; q < accountLines; q++) b.accountLine(this.lineCur[q], this.lineAmount[q]);
    b.endAccount();
  }

  /** A balances map into lines [from, …): returns the new line count, or −1. */
  private balances(from: number): number {
    const n = this.mapLen();
    if (n < 0) return FALLBACK;
    let q = from;
    for (let k = 0; k < n; k++, q++) {
      if (!this.string()) return FALLBACK;
      const cur = this.intern();
      if (cur === null || !accepts.currency(cur)) return FALLBACK;
      for (let r = from; r < q; r++) if (this.lineCur[r] === cur) return FALLBACK; // a repeated key
      const x = this.number();
      if (!accepts.balance(x)) return FALLBACK;
      if (q === this.lineAmount.length) this.lineAmount = grown(this.lineAmount);
      this.lineCur[q] = cur;
      this.lineAmount[q] = x;
    }
    return q;
  }

  /** The positions array (lines of position collateral after `lines`): returns the count, or −1. */
  private positions(mode: number, lines: number): number {
    const n = this.arrayLen();
    if (n < 0 || !accepts.positionCount(n)) return FALLBACK;
    if (n > this.pSize.length) {
      this.pSize = new Float64Array(2 * n);
      this.pEntry = new Float64Array(2 * n);
      this.pLineEnd = new Int32Array(2 * n);
    }
    let q = lines;
    for (let i = 0; i < n; i++) {
      const m = this.mapLen();
      if (m < 2 || !this.key(K_INSTRUMENT) || !this.string() || this.strLen === 0) return FALLBACK;
      const name = this.intern();
      if (name === null || !this.key(K_SIZE)) return FALLBACK;
      const size = this.number();
      if (!accepts.size(size)) return FALLBACK;
      let entry = NaN;
      let seenEntry = false;
      let seenCollateral = false;
      for (let k = 2; k < m; k++) {
        if (!this.string()) return FALLBACK;
        if (!seenEntry && this.equals(K_ENTRY)) {
          seenEntry = true;
          entry = this.number();
          if (!accepts.entryPrice(entry)) return FALLBACK;
        } else if (!seenCollateral && mode === Mode.Isolated && this.equals(K_COLLATERAL)) {
          seenCollateral = true;
          q = this.balances(q);
          if (q < 0) return FALLBACK;
        } else return FALLBACK;
      }
      this.pName[i] = name;
      this.pSize[i] = size;
      this.pEntry[i] = entry;
      this.pLineEnd[i] = q;
    }
    return n;
  }

  private mode(): number {
    for (const [k, m] of MODES) if (this.equals(k)) return m;
    return -1;
  }

  /** Whether the next value is the string key k (the position is undefined when not: the caller falls back). */
  private key(k: Uint8Array): boolean {
    return this.string() && this.equals(k);
  }

  private equals(k: Uint8Array): boolean {
    if (this.strLen !== k.length) return false;
    const u = this.u;
    for (let i = 0; i < k.length; i++) if (u[this.strAt + i] !== k[i]) return false;
    return true;
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

  /** The last string read, as one shared string per distinct value (null when it is not ASCII). */
  private intern(): string | null {
    const u = this.u;
    let h = 0x811c9dc5;
    for (let i = this.strAt; i < this.strAt + this.strLen; i++) {
      const c = u[i];
      if (c >= 0x80) return null;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const hit = this.interned.get(h);
    if (hit !== undefined && this.sameAs(hit)) return hit;
    const s = this.ascii()!;
    if (hit === undefined) this.interned.set(h, s);
    return s;
  }

  private sameAs(s: string): boolean {
    if (s.length !== this.strLen) return false;
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== this.u[this.strAt + i]) return false;
    return true;
  }

  /** The last string read (null when a byte is not ASCII: UTF-8 is left to the object path's decoder). */
  private ascii(): string | null {
    const u = this.u;
    const to = this.strAt + this.strLen;
    for (let i = this.strAt; i < to; i++) if (u[i] >= 0x80) return null;
    return String.fromCharCode.apply(null, u.subarray(this.strAt, to) as unknown as number[]);
  }
}

function grown(a: Float64Array): Float64Array {
  const b = new Float64Array(2 * a.length);
  b.set(a);
  return b;
}
