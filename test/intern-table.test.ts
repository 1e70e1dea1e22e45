/**
 * The readers' interned strings (src/io/intern-table.ts): each distinct ASCII byte sequence gives
 * one shared string, whatever bytes sit around it, and its own — checked against the strings
 * themselves (TextDecoder, an independent decoding) on a table grown well past its first size,
 * with enough names that some 32-bit hashes of them are expected to coincide (200,000 names:
 * about 4.7 pairs); non-ASCII bytes are left to the object path (null).
 */
import { expect, test } from 'vitest';
import { InternTable } from '../src/io/intern-table.js';

/** The names laid out in one buffer, each behind a one-byte gap: [bytes, offsets, lengths]. */
function layout(names: string[]): [Uint8Array, number[], number[]] {
  const enc = new TextEncoder();
  const parts = names.map((s) => enc.encode(s));
  const u = new Uint8Array(parts.reduce((a, p) => a + p.length + 1, 0));
  const at: number[] = [];
  let o = 0;
  for (const p of parts) {
    u[o++] = 0x7c;
    u.set(p, o);
    at.push(o);
    o += p.length;
  }
  return [u, at, parts.map((p) => p.length)];
}

test('each distinct name is one shared string, every lookup finds its own (200,000 names, the table grown, likely hash collisions)', () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % 36;
  const distinct = new Set<string>();
  while (distinct.size < 200_000) distinct.add(Array.from({ length: 4 + rnd() % 24 }, () => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[rnd()]).join(''));
  const names = [...distinct, 'BTC-PERPETUAL', 'BTC-PERPETUA', 'BTC-PERPETUAM', ''];
  const [u, at, len] = layout([...names, ...names.slice().reverse()]);
  const dec = new TextDecoder();
  const t = new InternTable();
  const first = names.map((_, k) => t.intern(u, at[k], len[k])!);
  names.forEach((s, k) => expect(first[k].s).toBe(dec.decode(u.subarray(at[k], at[k] + len[k]))));
  for (let k = 0; k < names.length; k++) {
    const j = 2 * names.length - 1 - k; // the same name again, elsewhere in the buffer
    expect(t.intern(u, at[j], len[j])).toBe(first[k]);
  }
  expect(new Set(first).size).toBe(names.length);
});

test('non-ASCII bytes are not interned (null: the object path decodes them)', () => {
  const [u, at, len] = layout(['BTC-€', 'ÉTH', 'BTC']);
  const t = new InternTable();
  expect(t.intern(u, at[0], len[0])).toBeNull();
  expect(t.intern(u, at[1], len[1])).toBeNull();
  expect(t.intern(u, at[2], len[2])!.s).toBe('BTC');
});
