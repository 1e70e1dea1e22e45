/**
 * A tick's timeline across threads: each chunk of a tick's round stamps the moments it reaches
 * (tasks.ts runAggregate) into a shared array, as epoch milliseconds (`performance.timeOrigin +
 * performance.now()`, comparable between the main thread and the workers); the main thread turns
 * them into the stages of `BookUpdate.stages` — where a tick's time goes, measured on every tick
 * (the bench prints them).
 */
import { sharedF64 } from './arrays.js';

/** The moments a tick chunk stamps, in order. */
export const enum Mark {
  /** the chunk started on its thread */
  Start,
  /** the main thread's marks seen (stage 1) */
  Marks,
  /** its rows followed the new forwards */
  Followed,
  /** its accounts' equity computed */
  Equity,
  /** the main thread's revaluation seen (stage 2) */
  Revalued,
  /** its rows aggregated, their IM computed */
  Aggregated,
  /** its accounts' figures computed */
  Reduced,
}
const MARKS = 7;

/** Epoch milliseconds, sub-millisecond (the same clock on every thread). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A clock for a round of `nChunks` chunks (shared: the chunks write it). */
export function tickClock(nChunks: number): Float64Array {
  return sharedF64(MARKS * Math.max(1, nChunks));
}

/** Chunk `chunk` reached moment `m` (no clock: nothing). */
export function stamp(clock: Float64Array | undefined, chunk: number, m: Mark): void {
  if (clock) clock[MARKS * chunk + m] = epochMs();
}

/** A tick round's stages, ms: each the mean over its chunks, except `return` (the last chunk's end to the round's). */
export interface ChunkStages {
  /** from the main thread posting the round to a chunk starting (poisoning, cloning, waking) */
  startMs: number;
  /** a chunk waiting for the main thread's marks, then for its revaluation */
  waitMs: number;
  followMs: number;
  equityMs: number;
  /** aggregation of its rows (WASM) and their IM */
  aggregateMs: number;
  /** its accounts' figures */
  figuresMs: number;
  /** from the last chunk's end to the round's end on the main thread (answers, receipts) */
  returnMs: number;
}

/** The stages of no round (a tick that moved none of the book's underlyings). */
export function noChunkStages(): ChunkStages {
  return { startMs: 0, waitMs: 0, followMs: 0, equityMs: 0, aggregateMs: 0, figuresMs: 0, returnMs: 0 };
}

/** The stages of a round posted at `posted` and settled at `settled` (epoch ms) from its clock; chunks that did not stamp are left out. */
export function chunkStages(clock: Float64Array, nChunks: number, posted: number, settled: number): ChunkStages {
  const s: ChunkStages = { startMs: 0, waitMs: 0, followMs: 0, equityMs: 0, aggregateMs: 0, figuresMs: 0, returnMs: 0 };
  let n = 0;
  let last = posted;
  for (let c = 0; c < nChunks; c++) {
    const t = (m: Mark): number => clock[MARKS * c + m];
    if (!(t(Mark.Reduced) > 0)) continue;
    n++;
    s.startMs += t(Mark.Start) - posted;
    s.waitMs += t(Mark.Marks) - t(Mark.Start) + (t(Mark.Revalued) - t(Mark.Equity));
    s.followMs += t(Mark.Followed) - t(Mark.Marks);
    s.equityMs += t(Mark.Equity) - t(Mark.Followed);
    s.aggregateMs += t(Mark.Aggregated) - t(Mark.Revalued);
    s.figuresMs += t(Mark.Reduced) - t(Mark.Aggregated);
    last = Math.max(last, t(Mark.Reduced));
  }
  if (n > 0) for (const k of Object.keys(s) as (keyof ChunkStages)[]) s[k] /= n;
  s.returnMs = n > 0 ? settled - last : 0;
  return s;
}
