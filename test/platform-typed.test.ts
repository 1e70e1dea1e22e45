// growPlain: the one grow-and-copy helper of the plain structure-of-arrays stores.
import { describe, expect, it } from 'vitest';
import { growPlain } from '../src/platform/typed.js';

describe('growPlain', () => {
  it('keeps an array that has the room, grows one that has not to max(n, 2 × length) with its values copied', () => {
    const a = Float64Array.of(1.5, -2, 3);
    expect(growPlain(a, 3)).toBe(a);
    const b = growPlain(a, 4);
    expect(b).toBeInstanceOf(Float64Array);
    expect(Array.from(b)).toEqual([1.5, -2, 3, 0, 0, 0]);
    expect(growPlain(Int32Array.of(7), 5)).toEqual(Int32Array.of(7, 0, 0, 0, 0));
    expect(growPlain(new Uint8Array(0), 1)).toEqual(new Uint8Array(1));
  });
});
