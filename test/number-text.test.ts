/**
 * writeNumber (src/io/number-text.ts) writes the same bytes as String(x) — V8's own shortest
 * round-trip conversion, the independent reference — for random doubles of every kind (random
 * bit patterns, magnitudes from 1e-12 to 1e18, cents, short decimals, integers, powers of two and
 * ten and their neighbours, the ulp-neighbours of random values) and for the edge cases: ±0,
 * subnormals, the smallest normal, Number.MAX_VALUE, the 1e21 and 1e-7 notation boundaries, the
 * fast range's own edges (1e-8, 1e14, 1e15), NaN and ±Infinity. The random streams are seeded, so
 * a failure reproduces.
 */
import { expect, test } from 'vitest';
import { writeNumber } from '../src/io/number-text.js';

const bytes = new Uint8Array(64);
const latin1 = new TextDecoder('latin1');
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** The doubles whose text differs from String(x) (at most 5 listed). */
function mismatches(xs: Iterable<number>): string[] {
  const bad: string[] = [];
  for (const x of xs) {
    const text = latin1.decode(bytes.subarray(0, writeNumber(bytes, 0, x)));
    if (text !== String(x) && bad.length < 5) bad.push(`${String(x)} written as ${text}`);
  }
  return bad;
}

/** A seeded uniform in [0, 1) (xorshift32). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function* stream(n: number, make: () => number): Iterable<number> {
  for (let i = 0; i < n; i++) yield make();
}

const r = random(20261202);
const kinds: Record<string, () => number> = {
  'random bit patterns': () => {
    u32[0] = r() * 2 ** 32;
    u32[1] = r() * 2 ** 32;
    return f64[0];
  },
  'magnitudes 1e-12 … 1e18, both signs': () => (r() < 0.5 ? -1 : 1) * r() * 10 ** (r() * 30 - 12),
  'figures 1e-3 … 1e9': () => r() * 10 ** (r() * 12 - 3),
  cents: () => Math.round(r() * 1e11) / 100,
  'short decimals (1–17 digits)': () => Number((r() * 10 ** (r() * 22 - 8)).toPrecision(1 + Math.floor(r() * 17))),
  integers: () => Math.floor(r() * 2 ** (r() * 54)),
  'powers of two and three times them': () => 2 ** Math.floor(r() * 160 - 80) * (r() < 0.5 ? 1 : 3),
  'powers of ten and their neighbours': () => {
    f64[0] = Number(`1e${Math.floor(r() * 50 - 25)}`);
    u32[0] += Math.floor(r() * 7) - 3;
    return f64[0];
  },
  'ulp-neighbours of random values': () => {
    f64[0] = r() * 10 ** (r() * 26 - 10);
    u32[0] = (u32[0] & ~15) | Math.floor(r() * 16);
    return f64[0];
  },
};

for (const [name, make] of Object.entries(kinds)) {
  test(`writeNumber is String(x) byte for byte: ${name} (150,000 doubles)`, () => {
    expect(mismatches(stream(150_000, make))).toEqual([]);
  });
}

test('writeNumber is String(x) byte for byte on the edge cases', () => {
  const edge = [
    0, -0, 1, -1, 5e-324, -5e-324, 2.225073858507201e-308, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE,
    1e21, 999999999999999900000, 1e21 - 131072, 1e-7, 1.0000000000000001e-7, 9.999999999999999e-8, 1e-6, 9.999999999999999e-7,
    1e-8, 9.999999999999999e-9, 1.0000000000000002e-8, 1e14, 99999999999999.98, 100000000000000.02, 1e15, 999999999999999.9,
    1000000000000000.1, 0.1, 0.2, 0.30000000000000004, 1 / 3, 2 / 3, 2 ** 52, 2 ** 53, 2 ** 53 + 2, 4.35, 0.000001, 1e-7,
    Number.EPSILON, NaN, Infinity, -Infinity,
  ];
  for (let k = -30; k <= 30; k++) edge.push(Number(`1e${k}`), -Number(`5e${k}`), 10 ** k);
  for (let k = -40; k <= 60; k++) edge.push(2 ** k, 2 ** k * (1 + Number.EPSILON), 2 ** k * (1 - Number.EPSILON / 2));
  expect(mismatches(edge)).toEqual([]);
  // writes after what is already there, and returns the end
  bytes[0] = 120;
  expect(writeNumber(bytes, 1, -1.5)).toBe(5);
  expect(latin1.decode(bytes.subarray(0, 5))).toBe('x-1.5');
});
