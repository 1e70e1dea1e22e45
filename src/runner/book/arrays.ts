/**
 * Growable typed arrays of the book runner, and the SharedArrayBuffer-backed arrays its tasks
 * read and write (posting a task to a worker shares them, it copies nothing).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';

/**
 * Growable Int32Array (capacity doubles; `capacity` is the first one: small for a trade's
 * holdings, which are made per trade). `shared`: backed by a SharedArrayBuffer (each growth a
 * new one), so that a task can hand `a` to the workers without a copy.
 */
export class I32 {
  a: Int32Array;
  n = 0;
  constructor(
    capacity = 1024,
    readonly shared = false,
  ) {
    this.a = shared ? sharedI32(capacity) : new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.shared ? sharedI32(this.a.length * 2) : new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Appends v where room is already reserved (reserve): no growth; a put past the room is an engine bug (INTERNAL), never a value lost. */
  put(v: number): void {
    if (this.n >= this.a.length) overReserved(this.a.length);
    this.a[this.n++] = v;
  }
}

export class F64 {
  a: Float64Array;
  n = 0;
  constructor(
    capacity = 1024,
    readonly shared = false,
  ) {
    this.a = shared ? sharedF64(capacity) : new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.shared ? sharedF64(this.a.length * 2) : new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Appends v where room is already reserved (reserve): no growth; a put past the room is an engine bug (INTERNAL), never a value lost. */
  put(v: number): void {
    if (this.n >= this.a.length) overReserved(this.a.length);
    this.a[this.n++] = v;
  }
}

/**
 * Appends n values of g for the caller to write (straight into `g.a`, from the index returned), in
 * reserved room (as put: a claim past the room is INTERNAL): a loop's appends with one check.
 */
export function claim(g: I32 | F64, n: number): number {
  if (g.n + n > g.a.length) overReserved(g.a.length);
  const at = g.n;
  g.n += n;
  return at;
}

/** A store past a typed array's end is silently dropped: the reservation's bound (accounts.ts reserveFor) was wrong. */
function overReserved(capacity: number): never {
  throw new OptmarginError(ErrorCodes.INTERNAL, `book resolve: an append past the ${capacity} values reserved`);
}

type Typed = Int32Array | Float64Array | Uint8Array | Int8Array;
function shared<T extends Typed>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new C(new SharedArrayBuffer(Math.max(1, n) * C.BYTES_PER_ELEMENT));
}
export const sharedF64 = (n: number): Float64Array => shared(Float64Array, n);
export const sharedI32 = (n: number): Int32Array => shared(Int32Array, n);
export const sharedU8 = (n: number): Uint8Array => shared(Uint8Array, n);
export const sharedI8 = (n: number): Int8Array => shared(Int8Array, n);

/** `a` with room for n elements: a larger SharedArrayBuffer (contents copied, ~1/8 headroom) when needed. */
export function growShared<T extends Typed>(a: T, n: number): T {
  if (n <= a.length) return a;
  const C = a.constructor as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const b = shared(C, Math.max(n, Math.ceil(a.length * 1.125) + 1024));
  b.set(a as never);
  return b;
}

/**
 * Room in `g` for `extra` more values (one growth, to at least four times the capacity; only the n
 * values in use are copied): a resolve reserves a chunk's worth before its loop, so that its
 * appends never copy a growing array (nor allocate a SharedArrayBuffer) one doubling at a time.
 * Four times, not two: each growth copies the values in use into fresh pages (a page fault per
 * 4 KiB), so a book's resolve copies about a third of its final arrays instead of all of them;
 * room never written is never faulted in, so it costs address space, not resident memory.
 */
export function reserve(g: I32 | F64, extra: number): void {
  const need = g.n + extra;
  if (need <= g.a.length) return;
  const C = g.a.constructor as { new (n: number): Typed; new (b: SharedArrayBuffer): Typed; BYTES_PER_ELEMENT: number };
  const cap = Math.max(need, 4 * g.a.length);
  const b = g.shared ? shared(C, cap) : new C(cap);
  b.set(g.a.subarray(0, g.n));
  (g as { a: Typed }).a = b;
}

/** Shared reduce arrays for n accounts (sub-account and row arrays are sized by the layout). */
export function sharedReduceArrays(n: number): ReduceArrays {
  return {
    accKind: sharedU8(n),
    accSubFrom: sharedI32(n),
    accSubTo: sharedI32(n),
    accCv: sharedF64(n),
    subRowStart: sharedI32(1),
    subRows: sharedI32(0),
    subEquity: sharedF64(0),
    rowIm: sharedF64(0),
    rowFailed: sharedU8(0),
    accEquity: sharedF64(n),
    accIm: sharedF64(n),
    accMm: sharedF64(n),
    accAvail: sharedF64(n),
    accHealth: sharedU8(n),
    accFailed: sharedU8(n),
  };
}

/** a[0, n) as a plain array of numbers (a loop: Array.from walks a typed array through its iterator, far slower). */
export function numbers(a: Int32Array, n: number): number[] {
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = a[k];
  return out;
}
