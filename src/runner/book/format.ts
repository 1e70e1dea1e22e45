/**
 * The write stage on the pool: after a recompute, the results are formatted into the bytes of
 * the output file by format chunks (format-task.ts) on the book pool's workers — in-process on
 * 1 thread, the same function — and handed to a sink in account order. The main thread only
 * formats the holes (single-path accounts, failed chunks' accounts, non-finite figures) and
 * feeds the summary (from the reduce arrays for the formatted accounts: figuresInto, the same
 * figures gridResult reports). Chunks run a few at a time ahead of the one being written, so
 * memory stays bounded whatever the book's size. A chunk whose answer fails its receipt is
 * retried (pool.ts); one that fails every attempt is formatted by the main thread, with a warning.
 */
import type { BookAccountResult, ResultFormat } from '../../io/results.js';
import { HEALTHS } from '../../measures/health.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';
import type { AccountMode, Health } from '../../measures/types.js';
import { sharedI32, sharedU8 } from './arrays.js';
import { MODES, NOT_FORMATTED, acceptedFormat, runFormat, type FormatReceipt, type FormatTask, type FormatView } from './format-task.js';
import type { ChunkRunner } from './pool.js';
import { GRID_CURRENCY, type ResultInstruments, type ResultRows } from './results.js';

/** What the write stage reads of a loaded, recomputed book (BookEngine). */
export interface FormatSource {
  n: number;
  red: ReduceArrays;
  rows: ResultRows & { nRows: number };
  ins: ResultInstruments;
  accountIds(): readonly string[];
  modeOf(k: number): AccountMode;
  isGrid(k: number): boolean;
  result(k: number): BookAccountResult;
  figuresInto(k: number, out: Float64Array): number;
}

/** Where the results go, in input order. */
export interface ResultSink {
  /** the bytes of `count` results formatted by a chunk (resultPiece's, in order) */
  bytes(p: Uint8Array, count: number): void;
  /** result k built on the main thread (a hole): the sink formats and summarizes it */
  result(r: BookAccountResult, k: number): void;
  /** the figures of formatted account k (a vectorized account: in `currency`, no separate USD figures), for the summary; its bytes are in the next bytes() */
  figures(id: string, k: number, health: Health, currency: string, equity: number, im: number, mm: number): void;
}

/** Account ids as shared UTF-16 code units, made once per load (keyed by the load's id array). */
const idCache = new WeakMap<readonly string[], { idUnits: Uint16Array; idStart: Int32Array }>();

function sharedIds(ids: readonly string[], n: number): { idUnits: Uint16Array; idStart: Int32Array } {
  const hit = idCache.get(ids);
  if (hit && hit.idStart.length === n + 1) return hit;
  const idStart = sharedI32(n + 1);
  for (let k = 0; k < n; k++) idStart[k + 1] = idStart[k] + ids[k].length;
  const idUnits = new Uint16Array(new SharedArrayBuffer(Math.max(2, 2 * idStart[n])));
  for (let k = 0; k < n; k++) {
    const s = ids[k];
    const at = idStart[k];
    for (let i = 0; i < s.length; i++) idUnits[at + i] = s.charCodeAt(i);
  }
  const v = { idUnits, idStart };
  idCache.set(ids, v);
  return v;
}

/** The shared view the format chunks read (the rows' slots copied to shared memory: they are a plain array of the layout). */
export function formatView(b: FormatSource): FormatView {
  const n = b.n;
  const modes = sharedU8(n);
  for (let k = 0; k < n; k++) modes[k] = b.isGrid(k) ? MODES.indexOf(b.modeOf(k)) : NOT_FORMATTED;
  const rowSlot = sharedI32(b.rows.nRows);
  rowSlot.set(b.rows.rowSlot.subarray(0, b.rows.nRows));
  return {
    ...sharedIds(b.accountIds(), n),
    modes,
    red: b.red,
    rows: { rowSlot, worst: b.rows.worst, loss: b.rows.loss },
    ins: { underlyings: b.ins.underlyings, scenarioLabels: b.ins.scenarioLabels },
  };
}

/** Accounts per format chunk: about 8 chunks per thread, within [256, 8192] (a chunk's bytes stay a few MB). */
const chunkAccounts = (n: number, threads: number): number => Math.max(256, Math.min(8192, Math.ceil(n / (8 * threads))));

/**
 * Formats every result of `b` (format null: none, the summary only) on `runner` and hands them
 * to `sink` in input order. `warn`: a chunk that failed every attempt on the pool (formatted here).
 */
export async function streamResults(b: FormatSource, runner: ChunkRunner, format: ResultFormat | null, sink: ResultSink, warn: (m: string) => void): Promise<void> {
  const n = b.n;
  if (n === 0) return;
  const view = formatView(b);
  const size = chunkAccounts(n, runner.threads);
  const tasks: FormatTask[] = [];
  for (let from = 0, c = 0; from < n; from += size, c++) tasks.push({ kind: 'format', chunk: c, attempt: 0, from, to: Math.min(n, from + size), format, view });
  const launch = (t: FormatTask): Promise<FormatReceipt> => {
    let formattable = false;
    for (let k = t.from; k < t.to && !formattable; k++) formattable = view.modes[k] !== NOT_FORMATTED;
    if (!formattable) return Promise.resolve({ count: t.to - t.from, checksum: 0, ...runFormat(t) }); // every account is a hole
    let answer: unknown = null;
    return runner.run([t], undefined, (_, a) => (answer = a)).then((o) => {
      if (o.failed.length === 0) return acceptedFormat(answer);
      warn(`formatting results ${t.from}–${t.to - 1} failed on the worker pool (${o.failed[0].message}): formatted on the main thread`);
      return { count: t.to - t.from, checksum: 0, ...runFormat(t) };
    });
  };
  const ahead = 2 * runner.liveThreads + 1;
  const pending: Promise<FormatReceipt>[] = [];
  for (let c = 0; c < tasks.length; c++) {
    while (pending.length < ahead && c + pending.length < tasks.length) pending.push(launch(tasks[c + pending.length]));
    writeChunk(b, tasks[c], await pending.shift()!, sink);
  }
}

/** One chunk's answer to the sink: the formatted accounts' figures and bytes, each hole's result between them. */
function writeChunk(b: FormatSource, t: FormatTask, a: FormatReceipt, sink: ResultSink): void {
  const ids = b.accountIds();
  const fig = new Float64Array(3);
  let k = t.from;
  for (let i = 0; i <= a.holes.length; i++) {
    const end = i < a.holes.length ? a.holes[i] : t.to;
    const first = k;
    for (; k < end; k++) {
      const h = b.figuresInto(k, fig);
      sink.figures(ids[k], k, HEALTHS[h], GRID_CURRENCY, fig[0], fig[1], fig[2]);
    }
    if (t.format !== null) sink.bytes(a.parts[i], end - first);
    if (i < a.holes.length) {
      sink.result(b.result(k), k);
      k++;
    }
  }
}
