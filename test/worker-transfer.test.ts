/**
 * A worker's answer sent with `transferring` (platform/workers.ts): its buffers arrive intact on
 * the main thread and are detached in the worker (moved, not copied) — what the ingestion chunks
 * (their columns) and the write stage's chunks (their bytes) answer with.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';

test('transferring: the buffers are moved to the main thread, each named once even when listed twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-transfer-'));
  const lib = pathToFileURL(join(findPackageRoot(), 'dist', 'src', 'platform', 'workers.js')).href;
  const file = join(dir, 'w.mjs');
  writeFileSync(
    file,
    `import { transferring } from ${JSON.stringify(lib)};
let kept = [];
export default function (t) {
  if (t === 'lengths') return kept.map((b) => b.byteLength);
  const a = new Float64Array([1.5, -2, 3e-300]);
  const b = new Int32Array([7, 8]);
  const u = new Uint8Array(a.buffer, 8, 8); // a view of a's buffer: listed twice
  kept = [a.buffer, b.buffer];
  return transferring({ a, b, u, ids: ['x', 'y'] }, [a.buffer, b.buffer, u.buffer]);
}
`,
  );
  const pool = new Piscina({ filename: pathToFileURL(file).href, minThreads: 1, maxThreads: 1 });
  try {
    const r = (await pool.run('go')) as { a: Float64Array; b: Int32Array; u: Uint8Array; ids: string[] };
    expect(Array.from(r.a)).toEqual([1.5, -2, 3e-300]);
    expect(Array.from(r.b)).toEqual([7, 8]);
    expect(r.u.buffer).toBe(r.a.buffer);
    expect(Array.from(r.u)).toEqual(Array.from(new Uint8Array(new Float64Array([-2]).buffer)));
    expect(r.ids).toEqual(['x', 'y']);
    expect(await pool.run('lengths')).toEqual([0, 0]); // detached in the worker: moved, not copied
  } finally {
    await pool.destroy();
  }
});
