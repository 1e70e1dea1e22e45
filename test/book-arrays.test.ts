/**
 * The resolve's appends (runner/book/arrays.ts): `reserve` makes room once, keeping the values in
 * use; `put` appends in reserved room only — past it, an engine bug, it throws OPTMARGIN_INTERNAL
 * instead of the typed array silently dropping the store.
 */
import { describe, expect, test } from 'vitest';
import { F64, I32, claim, reserve } from '../src/runner/book/arrays.js';

describe('reserve and put', () => {
  test('reserve keeps the values in use and makes room for the asked number more', () => {
    const g = new I32(2);
    g.put(7);
    g.put(8);
    reserve(g, 3);
    expect(g.a.length).toBeGreaterThanOrEqual(5);
    for (const v of [9, 10, 11]) g.put(v);
    expect(Array.from(g.a.subarray(0, g.n))).toEqual([7, 8, 9, 10, 11]);
  });

  test('a shared array stays shared when it grows', () => {
    const g = new F64(1, true);
    reserve(g, 4);
    expect(g.a.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  test('a put past the reserved room throws OPTMARGIN_INTERNAL, for both kinds', () => {
    for (const g of [new I32(2), new F64(2)]) {
      g.put(1);
      g.put(2);
      expect(() => g.put(3)).toThrowError(expect.objectContaining({ code: 'OPTMARGIN_INTERNAL' }) as Error);
      expect(g.n).toBe(2); // nothing counted that was not stored
    }
  });

  test('claim: n values appended in the room, where they start; past the room, OPTMARGIN_INTERNAL, for both kinds', () => {
    for (const g of [new I32(4), new F64(4)]) {
      g.put(5);
      expect(claim(g, 3)).toBe(1);
      expect(g.n).toBe(4);
      expect(() => claim(g, 1)).toThrowError(expect.objectContaining({ code: 'OPTMARGIN_INTERNAL' }) as Error);
      expect(g.n).toBe(4);
    }
  });
});
