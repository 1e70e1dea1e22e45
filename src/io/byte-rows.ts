/**
 * A growing byte buffer that result rows are written into as they come: whole pieces (strings as
 * UTF-8, or bytes), or field by field — ASCII text, numbers by writeNumber (String(x)'s bytes, no
 * string made). A piece's string dies young instead of living on in a long concatenation (far
 * less for a worker's scavenger to copy); `take` hands out exactly the bytes written, in a
 * buffer of their own (a small Buffer would share Node's 8 KB pool, which an answer's structured
 * clone would copy whole).
 */
import { writeNumber } from './number-text.js';

/** Most bytes one number's text takes ("-1.2345678901234567e-123"). */
export const NUMBER_BYTES = 25;

export class ByteRows {
  buf = Buffer.allocUnsafeSlow(1 << 16);
  n = 0;

  /** Room for `extra` more bytes. */
  room(extra: number): void {
    const need = this.n + extra;
    if (need <= this.buf.length) return;
    const b = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.buf.length));
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }

  /** A whole piece: a string as UTF-8, or bytes. */
  add(p: string | Uint8Array): void {
    this.room(typeof p === 'string' ? 3 * p.length : p.length);
    if (typeof p === 'string') this.n += this.buf.write(p, this.n, 'utf8');
    else {
      this.buf.set(p, this.n);
      this.n += p.length;
    }
  }

  /** One byte (room already made). */
  byte(c: number): void {
    this.buf[this.n++] = c;
  }

  /** String(x)'s bytes (room already made: NUMBER_BYTES). */
  number(x: number): void {
    this.n = writeNumber(this.buf, this.n, x);
  }

  /** The bytes [from, to) already written, again at the end (room already made). */
  repeat(from: number, to: number): void {
    const b = this.buf;
    let n = this.n;
    for (let i = from; i < to; i++) b[n++] = b[i];
    this.n = n;
  }

  /** The bytes written since the last take, in a buffer of their own. */
  take(): Uint8Array {
    const out = new Uint8Array(this.n);
    out.set(this.buf.subarray(0, this.n));
    this.n = 0;
    return out;
  }
}
