/**
 * The readers' interned strings (instrument names, currencies: io/account-scratch.ts): one shared
 * string per distinct ASCII byte sequence, found by a hash of the bytes in an open-addressing
 * table of typed arrays, and confirmed by comparing the bytes with a copy of the entry's own.
 * A book names a few thousand distinct instruments two million times: a lookup is the hash (4
 * bytes a step), one probe or two, and a compare of 4 bytes a step (DataView reads: unaligned
 * little-endian words) — no Map (a 32-bit hash above 2^30 is not a small integer, so a Map keyed
 * by it boxes every key it is asked for) and no string compare.
 */
import { growPlain } from '../platform/typed.js';

/** An interned string; once a position used it, its index in the builder's name table (of generation `gen`). */
export interface Interned {
  s: string;
  idx: number;
  gen: number;
}

export class InternTable {
  /** per slot: the entry's index + 1 (0: empty); the entry's hash beside it */
  private slot = new Int32Array(1024);
  private hash = new Int32Array(1024);
  private readonly entries: Interned[] = [];
  /** entry j's bytes: bytes[from[j], from[j + 1]) */
  private from = new Int32Array(256);
  private bytes = new Uint8Array(8192);
  private pool = new DataView(this.bytes.buffer);
  /** the last input and a DataView of it */
  private u: Uint8Array = new Uint8Array(0);
  private dv = new DataView(this.u.buffer);

  /** Bytes [at, at + len) of u as one shared string per distinct value (null when one is not ASCII). */
  intern(u: Uint8Array, at: number, len: number): Interned | null {
    if (u !== this.u) {
      this.u = u;
      this.dv = new DataView(u.buffer, u.byteOffset, u.byteLength);
    }
    const dv = this.dv;
    // FNV-1a over 4 bytes a step (a name is ~20 bytes: 5 multiplies, not 20), the ASCII test on all of them at once
    let h = 0x811c9dc5 ^ len;
    let any = 0;
    const end = at + len;
    let i = at;
    for (; i + 4 <= end; i += 4) {
      const w = dv.getInt32(i, true);
      any |= w;
      h = Math.imul(h ^ w, 0x01000193);
    }
    for (; i < end; i++) {
      any |= u[i];
      h = Math.imul(h ^ u[i], 0x01000193);
    }
    if ((any & 0x80808080) !== 0) return null;
    const mask = this.slot.length - 1;
    let s = home(h, mask);
    for (let e = this.slot[s]; e !== 0; e = this.slot[s]) {
      if (this.hash[s] === h && this.sameBytes(e - 1, at, len)) return this.entries[e - 1];
      s = (s + 1) & mask;
    }
    return this.add(s, h, u, at, len);
  }

  /** Whether entry j's bytes are those of the input at [at, at + len). */
  private sameBytes(j: number, at: number, len: number): boolean {
    const o = this.from[j];
    return this.from[j + 1] - o === len && sameBytes(this.pool, o, this.dv, at, len);
  }

  /** A new entry for the ASCII bytes u[at, at + len) of hash h, in empty slot s. */
  private add(s: number, h: number, u: Uint8Array, at: number, len: number): Interned {
    const j = this.entries.length;
    const r: Interned = { s: byteString(u, at, len), idx: -1, gen: -1 };
    this.entries.push(r);
    const o = this.from[j];
    if (o + len > this.bytes.length) {
      this.bytes = growPlain(this.bytes, o + len);
      this.pool = new DataView(this.bytes.buffer);
    }
    this.bytes.set(u.subarray(at, at + len), o);
    this.from = growPlain(this.from, j + 2);
    this.from[j + 1] = o + len;
    this.slot[s] = j + 1;
    this.hash[s] = h;
    if (2 * this.entries.length > this.slot.length) this.rehash(2 * this.slot.length);
    return r;
  }
  /** The table at `cap` slots (a power of two), every entry placed again by its hash. */
  private rehash(cap: number): void {
    const { slot, hash } = this;
    this.slot = new Int32Array(cap);
    this.hash = new Int32Array(cap);
    for (let t = 0; t < slot.length; t++) {
      if (slot[t] === 0) continue;
      let s = home(hash[t], cap - 1);
      while (this.slot[s] !== 0) s = (s + 1) & (cap - 1);
      this.slot[s] = slot[t];
      this.hash[s] = hash[t];
    }
  }
}

/** The first slot probed for hash h in a table of mask + 1 slots (a power of two). */
function home(h: number, mask: number): number {
  return (h ^ (h >>> 15)) & mask;
}

/** Whether bytes [ai, ai + len) of a equal bytes [bi, bi + len) of b, compared 4 bytes a step (unaligned little-endian words). */
export function sameBytes(a: DataView, ai: number, b: DataView, bi: number, len: number): boolean {
  let k = 0;
  for (; k + 4 <= len; k += 4) if (a.getInt32(ai + k, true) !== b.getInt32(bi + k, true)) return false;
  for (; k < len; k++) if (a.getUint8(ai + k) !== b.getUint8(bi + k)) return false;
  return true;
}

/** Bytes [at, at + len) as a string, one character per byte (the caller has checked they are ASCII). */
export function byteString(u: Uint8Array, at: number, len: number): string {
  return String.fromCharCode.apply(null, u.subarray(at, at + len) as unknown as number[]);
}
