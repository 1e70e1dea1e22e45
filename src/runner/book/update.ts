/**
 * A tick's BookUpdate (types.ts): the changed accounts as an Int32Array the update owns (a copy
 * of the engine's list, ~2.5 ns an account, not a fresh plain array of ~100k numbers per tick at
 * ~30 ns each: V8's large-object allocation), its plain-array form `indices` and the results built
 * on first read only.
 */
import type { BookAccountResult } from '../../io/results.js';
import type { ChunkStages } from './clock.js';
import type { BookUpdate } from './types.js';
import { numbers } from './arrays.js';

/** The update of the changed accounts `changed` (ascending, owned by the update); `result(k)` builds account k's result. */
export function tickUpdate(changed: Int32Array, result: (k: number) => BookAccountResult, ms: number, stages: BookUpdate['stages'], chunks: ChunkStages): BookUpdate {
  let list: number[] | null = null;
  let cache: BookAccountResult[] | null = null;
  return {
    changed,
    get indices(): number[] {
      return (list ??= numbers(changed, changed.length));
    },
    results(): BookAccountResult[] {
      return (cache ??= this.indices.map((k) => result(k)));
    },
    ms,
    stages,
    chunks,
  };
}

/**
 * list[0, n) copied into an array of its own: in `reuse`'s buffer when it has room (an earlier
 * update's `changed` its caller is done with: BookEngine.tick), else in a new buffer of `capacity`
 * (the book's accounts: reusable by every later tick). A reused buffer's pages are already
 * faulted in: a fresh 100k-account copy costs ~1 ms more in page faults on the bench host.
 */
export function ownedCopy(list: Int32Array, n: number, capacity: number, reuse?: Int32Array): Int32Array {
  const room = reuse !== undefined && !(reuse.buffer instanceof SharedArrayBuffer) && reuse.buffer.byteLength >= 4 * n;
  const out = room ? new Int32Array(reuse.buffer, 0, n) : new Int32Array(new ArrayBuffer(4 * Math.max(n, capacity)), 0, n);
  out.set(list.subarray(0, n));
  return out;
}

/** `a` (ascending) with `extra` (ascending, none in `a`) merged in, ascending: a new array (a unchanged) when extra is non-empty. */
export function mergeAscending(a: Int32Array, extra: readonly number[]): Int32Array {
  if (extra.length === 0) return a;
  const out = new Int32Array(a.length + extra.length);
  let i = 0;
  let j = 0;
  for (let o = 0; o < out.length; o++) out[o] = j >= extra.length || (i < a.length && a[i] < extra[j]) ? a[i++] : extra[j++];
  return out;
}
