/**
 * The receipts' hash (hashWords, runner/book/receipt.ts: FNV-1a in four interleaved lanes, folded
 * by FNV-1a steps) against values computed independently with Python's arbitrary-precision
 * integers (a 12-line script: lane i mod 4, state = ((state ^ word) · 16777619) mod 2³², lanes
 * seeded h, 0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, tail to lane 0, then
 * x = a; x = ((x ^ y) · 16777619) mod 2³² for y = b, c, d), and its one promise: any one word
 * changed changes the hash — also when the hash is chained over several arrays (a receipt hashes
 * a chunk's columns one after the other), and also for a sign flip (only the word's top bit: the
 * `corrupt` fault of the ingestion receipts; when every lane was seeded from h, that difference
 * reached all four lanes and cancelled out in the fold).
 */
import { expect, test } from 'vitest';
import { hashListed, hashWords } from '../src/runner/book/receipt.js';

const words = (xs: number[]): Uint32Array => Uint32Array.from(xs);

test('hashWords matches the independent reference on empty, tail-only and long inputs', () => {
  expect(hashWords(0x811c9dc5, words([]), 0, 0) >>> 0).toBe(3251269544);
  expect(hashWords(0x811c9dc5, words([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 0, 11) >>> 0).toBe(3259383498);
  expect(hashWords(0x811c9dc5, words([0xffffffff, 0x80000000, 12345, 0, 7]), 0, 5) >>> 0).toBe(2960488007);
  expect(hashWords(0x12345678, words(Array.from({ length: 100 }, (_, i) => i)), 0, 100) >>> 0).toBe(975360793);
  // a range of a longer array, and an Int32Array view of the same bits
  const long = words([99, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99]);
  expect(hashWords(0x811c9dc5, long, 1, 12) >>> 0).toBe(3259383498);
  expect(hashWords(0x811c9dc5, new Int32Array(words([0xffffffff, 0x80000000, 12345, 0, 7]).buffer), 0, 5) >>> 0).toBe(2960488007);
});

test('changing any one word (every position, every lane, the tail) changes the hash', () => {
  let s = 12345;
  const rnd = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  for (const n of [1, 3, 4, 7, 64, 1001]) {
    const u = Uint32Array.from({ length: n }, rnd);
    const h0 = hashWords(0x811c9dc5, u, 0, n);
    for (let i = 0; i < n; i++) {
      const v = u.slice();
      v[i] ^= 1 << (rnd() & 31);
      expect(hashWords(0x811c9dc5, v, 0, n), `n ${n}, word ${i}`).not.toBe(h0);
    }
  }
});

test('chained over several arrays: a sign flip in an earlier array changes the final hash (the reference says so too)', () => {
  const first = words([5, 6, 7, 8]);
  const chained = (a: Uint32Array): number => hashWords(hashWords(0x811c9dc5, a, 0, a.length), words([1, 2]), 0, 2) >>> 0;
  expect(chained(first)).toBe(1312415548);
  expect(chained(words([5, 6, 7, 8 | 0x80000000]))).toBe(3459899196);
  // a Float64Array negated, hashed through its 32-bit words, then another array: as columnsChecksum does
  let s = 7;
  for (let n = 1; n < 40; n++) {
    const f = Float64Array.from({ length: n }, () => (s = (s * 16807) % 2147483647) / 1000);
    const tail = Uint32Array.from({ length: (s % 9) + 1 }, (_, i) => i * 2654435761);
    const h = (x: Float64Array): number => hashWords(hashWords(0x811c9dc5, new Uint32Array(x.buffer), 0, 2 * x.length), tail, 0, tail.length);
    const h0 = h(f);
    for (let i = 0; i < n; i++) {
      const g = f.slice();
      g[i] = -g[i];
      expect(h(g), `n ${n}, value ${i}`).not.toBe(h0);
    }
  }
});

test('hashListed is hashWords over the listed doubles\' words gathered in list order (odd and even counts, repeats, a sub-range)', () => {
  let s = 99;
  const rnd = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  const a = Float64Array.from({ length: 50 }, () => (rnd() - 2 ** 31) / 7);
  for (const n of [0, 1, 2, 3, 4, 5, 17, 40]) {
    const list = Int32Array.from({ length: n }, () => rnd() % 50);
    const gathered = Float64Array.from(list, (k) => a[k]);
    const want = hashWords(0x811c9dc5, new Uint32Array(gathered.buffer), 0, 2 * n);
    expect(hashListed(0x811c9dc5, a, list, 0, n), `n ${n}`).toBe(want);
    if (n > 3) expect(hashListed(7, a, list, 1, n - 1)).toBe(hashWords(7, new Uint32Array(gathered.buffer), 2, 2 * (n - 1)));
  }
});
