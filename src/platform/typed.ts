/**
 * Growing a plain typed array: the one helper every append path that keeps its own
 * structure-of-arrays uses (instrument tables, account scratch, what-if pairs, sub-account stores).
 * The book's shared arrays grow through runner/book/arrays.ts (SharedArrayBuffer, reservations).
 */
export type PlainTyped = Int32Array | Float64Array | Uint8Array;

/** `a` with room for n elements: a new array of max(n, 2 × length) with `a` copied in, or `a` itself when it has the room. */
export function growPlain<T extends PlainTyped>(a: T, n: number): T {
  if (n <= a.length) return a;
  const C = a.constructor as { new (n: number): T };
  const b = new C(Math.max(n, 2 * a.length));
  b.set(a as never);
  return b;
}
