/**
 * The block reader of book ingestion (src/io/block-source.ts): each block lands in shared memory
 * right behind the bytes carried over, the pieces put together are the file byte for byte, a
 * document read whole is the file, and a file that cannot be read is OPTMARGIN_INVALID_FILE.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BlockSource } from '../src/io/block-source.js';

const dir = mkdtempSync(join(tmpdir(), 'optmargin-blocks-'));
// 10,007 bytes of a fixed pattern (a prime length: no block size divides it)
const data = Buffer.from(Array.from({ length: 10_007 }, (_, i) => (i * 31 + 7) & 0xff));
const f = join(dir, 'data.bin');
writeFileSync(f, data);

describe('BlockSource', () => {
  test('blocks of 1,000 bytes behind a carried rest: shared memory, the file byte for byte', async () => {
    const src = new BlockSource(f, 1000);
    try {
      const seen: Buffer[] = [];
      let rest: Uint8Array = new Uint8Array(0);
      let pieces = 0;
      for (let piece = await src.next(rest); piece !== null; piece = await src.next(rest)) {
        pieces++;
        expect(piece.buffer).toBeInstanceOf(SharedArrayBuffer);
        // the piece starts with the rest carried over, then the next (up to) 1,000 bytes of the file
        expect(Buffer.from(piece.subarray(0, rest.length)).equals(Buffer.from(rest))).toBe(true);
        const got = piece.length - rest.length;
        expect(got).toBe(Math.min(1000, data.length - (src.total - got)));
        // keep the last 123 bytes as the next rest (the bytes not yet cut), hand over the others
        const keep = Math.min(123, piece.length);
        seen.push(Buffer.from(piece.subarray(0, piece.length - keep)));
        rest = piece.subarray(piece.length - keep);
      }
      seen.push(Buffer.from(rest));
      expect(pieces).toBe(11); // ceil(10,007 / 1,000)
      expect(src.total).toBe(data.length);
      expect(Buffer.concat(seen).equals(data)).toBe(true);
      expect(await src.next(new Uint8Array(0))).toBeNull();
    } finally {
      await src.close();
    }
  });

  test('a document read whole after its first block is the file', async () => {
    const src = new BlockSource(f, 4096);
    try {
      const first = await src.next(new Uint8Array(0));
      expect(first!.length).toBe(4096);
      const progress: number[] = [];
      const whole = await src.all(first!, (n) => progress.push(n));
      expect(whole.equals(data)).toBe(true);
      expect(src.total).toBe(data.length);
      expect(progress.at(-1)).toBe(data.length);
    } finally {
      await src.close();
    }
  });

  test('a file that cannot be read: OPTMARGIN_INVALID_FILE naming it and why', async () => {
    const missing = join(dir, 'missing.bin');
    const src = new BlockSource(missing);
    await expect(src.next(new Uint8Array(0))).rejects.toMatchObject({ code: 'OPTMARGIN_INVALID_FILE', message: `cannot read ${missing}: ENOENT` });
    const d = new BlockSource(dir);
    await expect(d.next(new Uint8Array(0))).rejects.toMatchObject({ code: 'OPTMARGIN_INVALID_FILE', message: `cannot read ${dir}: EISDIR` });
    await src.close();
    await d.close();
  });
});
