/**
 * The finite check of every result (src/measures/finite.ts): its fast paths (arrays of numbers,
 * frozen lists walked once) find every NaN and infinity the plain walk finds, at the same path.
 */
import { describe, expect, test } from 'vitest';
import { firstNonFinite } from '../src/measures/finite.js';

describe('firstNonFinite', () => {
  test('arrays of numbers: a NaN or infinity at any index, in packed and holey arrays', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 13, 26]) {
        const packed = Array.from({ length: 27 }, (_, i) => i + 0.5);
        packed[at] = bad;
        expect(firstNonFinite({ losses: packed })).toBe(`losses[${at}]`);
        const holey = new Array<number>(27);
        for (let i = 0; i < 27; i++) holey[i] = i === at ? bad : -i * 1.25;
        expect(firstNonFinite({ losses: holey })).toBe(`losses[${at}]`);
      }
    }
    expect(firstNonFinite({ losses: [1.5, -2.25, 0, 1e308] })).toBeNull();
    expect(firstNonFinite([])).toBeNull();
  });

  test('an array that starts with a number but holds other values is walked member by member', () => {
    expect(firstNonFinite([1, 'x', { v: 2 }])).toBeNull();
    expect(firstNonFinite([1, 'x', { v: -Infinity }])).toBe('[2].v');
    expect(firstNonFinite([1, null, [NaN]])).toBe('[2][0]');
  });

  test('frozen lists: a finite one seen before does not hide a NaN in another, nor in a child that can still change', () => {
    const scenarios = Object.freeze([Object.freeze({ move: -0.16, weight: 1 }), Object.freeze({ move: 0.16, weight: 1 })]);
    expect(firstNonFinite({ scenarios })).toBeNull();
    expect(firstNonFinite({ scenarios })).toBeNull();
    const other = Object.freeze([Object.freeze({ move: NaN, weight: 1 })]);
    expect(firstNonFinite({ scenarios, other })).toBe('other[0].move');
    // frozen, but its child is not: checked again each time
    const child = { v: 1 };
    const shell = Object.freeze({ child });
    expect(firstNonFinite(shell)).toBeNull();
    child.v = Infinity;
    expect(firstNonFinite(shell)).toBe('child.v');
    // frozen, with a getter: checked again each time
    let n = 1;
    const live = Object.freeze({
      get v() {
        return n;
      },
    });
    expect(firstNonFinite(live)).toBeNull();
    n = NaN;
    expect(firstNonFinite(live)).toBe('v');
  });
});
