/**
 * A Region's view across memory growth (wasm/module.ts): the view it hands out after the memory
 * grew is over the current buffer and aliases the same bytes — what was written before the growth
 * reads back, and a write through the new view is seen by a view made afresh.
 */
import { describe, expect, test } from 'vitest';
import { WasmInstance } from '../src/wasm/module.js';

describe('Region views across memory growth', () => {
  test('a view made before a growth is replaced by one over the grown buffer, same bytes', () => {
    const w = new WasmInstance();
    const r = w.alloc('f64', 8);
    const before = r.view;
    before[3] = 1.25;
    expect(r.view === before).toBe(true); // no growth: the same view
    const pages = w.memory.buffer.byteLength / 65536;
    w.alloc('f64', 3 * 65536); // 24 pages more: the memory grows
    expect(w.memory.buffer.byteLength / 65536).toBeGreaterThan(pages);
    const after = r.view;
    expect(before.length).toBe(0); // the old buffer is detached
    expect(after === before).toBe(false);
    expect(after.buffer === w.memory.buffer).toBe(true);
    expect(after.length).toBe(8);
    expect(after[3]).toBe(1.25);
    after[5] = -7;
    expect(new Float64Array(w.memory.buffer, r.view.byteOffset, 8)[5]).toBe(-7);
    expect(w.alloc('i32', 0).view.length).toBe(0);
  });
});
