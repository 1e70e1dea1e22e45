/**
 * The write stage's unit of parallel work: a range of accounts' results formatted into the bytes
 * of the --out file (CSV lines, JSON array elements or msgpack values: io/results.ts resultPiece,
 * the one home of a result's bytes), in a book worker after the recompute, or in-process (1
 * thread, or the main thread's fallback) — the same function, so the bytes cannot depend on who
 * formats them. The main thread then only writes the chunks' bytes in account order (format.ts).
 *
 * A chunk formats the accounts whose result it can build from the shared arrays alone: each
 * vectorized account (gridResult, the runner's own function, then finiteOrError). Every other
 * account is a *hole* — a single-path account, one whose chunk failed, or a figure that is not
 * finite — formatted by the main thread in its place. `parts[i]` holds the bytes before hole i,
 * `parts[holes.length]` those after the last. Everything a chunk reads lies in shared memory,
 * made once per load (format.ts FormatView): ids as UTF-16 code units, modes, rows' slots.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { finiteOrError } from '../../measures/finite.js';
import { csvFiguresInto, csvText, csvUnitsInto, resultPiece, type ResultFormat } from '../../io/results.js';
import { ByteRows } from '../../io/byte-rows.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';
import type { AccountMode } from '../../measures/types.js';
import { hashWords } from './receipt.js';
import { figuresInto, gridFiguresInto, gridResult, newGridFigures, type GridFigures, type ResultInstruments, type ResultRows } from './results.js';
import { Failures } from './schedule.js';
import { parseFault, type Fault } from './faults.js';

/** Account modes as stored in FormatView.modes; NOT_FORMATTED: the account is a hole (not vectorized). */
export const MODES: readonly AccountMode[] = ['portfolio', 'cross', 'isolated'];
export const NOT_FORMATTED = 255;

/** What a format chunk reads: shared arrays of the load (made once per load) and the small per-slot names. */
export interface FormatView {
  /** ids of every account: UTF-16 code units, account k's at idStart[k] … idStart[k+1] */
  idUnits: Uint16Array;
  idStart: Int32Array;
  /** per account: its mode's index in MODES, or NOT_FORMATTED */
  modes: Uint8Array;
  red: ReduceArrays;
  rows: ResultRows;
  ins: ResultInstruments;
}

export interface FormatTask {
  kind: 'format';
  chunk: number;
  attempt: number;
  /** accounts [from, to) */
  from: number;
  to: number;
  /** null: no bytes, only the holes (a run without --out still needs the summary) */
  format: ResultFormat | null;
  view: FormatView;
}

/** A format chunk's answer: its bytes around its holes, and a receipt (count of accounts, FNV-1a of everything returned). */
export interface FormatReceipt {
  count: number;
  checksum: number;
  parts: Uint8Array[];
  holes: Int32Array;
}

const noFailures = new Failures();

/** Account k's id from the view (its UTF-16 code units: any string, lone surrogates included, comes back identical). */
export function idOf(v: FormatView, k: number): string {
  const a = v.idStart[k];
  const b = v.idStart[k + 1];
  if (b - a < 4096) return String.fromCharCode.apply(null, v.idUnits.subarray(a, b) as unknown as number[]);
  let s = '';
  for (let i = a; i < b; i += 4096) s += String.fromCharCode.apply(null, v.idUnits.subarray(i, Math.min(b, i + 4096)) as unknown as number[]);
  return s;
}

/**
 * Account k's CSV line straight into `out` (csvFiguresInto, from the reduce arrays: no result
 * object, no string per figure); false (nothing written) when it is a hole — exactly when
 * gridResult then finiteOrError would answer an error (figuresInto's rule).
 */
function csvLineInto(out: ByteRows, v: FormatView, k: number, fig: GridFigures, three: Float64Array): boolean {
  const m = v.modes[k];
  if (m === NOT_FORMATTED || figuresInto(v.red, v.rows, undefined, k, three) < 0) return false;
  if (!csvUnitsInto(out, v.idUnits, v.idStart[k], v.idStart[k + 1])) out.add(csvText(idOf(v, k)));
  csvFiguresInto(out, gridFiguresInto(fig, v.red, MODES[m], k));
  out.room(1);
  out.byte(10);
  return true;
}

/** Formats accounts [from, to) (see the file comment); returns the parts and the holes. */
export function runFormat(t: FormatTask): { parts: Uint8Array[]; holes: Int32Array } {
  const { view: v, format } = t;
  const parts: Uint8Array[] = [];
  const holes: number[] = [];
  const bytes = new ByteRows();
  const fig = newGridFigures();
  const three = new Float64Array(3);
  for (let k = t.from; k < t.to; k++) {
    if (format === 'csv') {
      if (!csvLineInto(bytes, v, k, fig, three)) {
        holes.push(k);
        parts.push(bytes.take());
      }
      continue;
    }
    const m = v.modes[k];
    const r = m === NOT_FORMATTED || v.red.accFailed[k] ? null : finiteOrError(gridResult(v.red, v.rows, v.ins, noFailures, idOf(v, k), MODES[m], k));
    if (r === null || !r.ok) {
      holes.push(k);
      if (format !== null) parts.push(bytes.take());
    } else if (format !== null) bytes.add(resultPiece(format, r, k));
  }
  if (format !== null) parts.push(bytes.take());
  return { parts, holes: Int32Array.from(holes) };
}

/** FNV-1a of a chunk's answer: its holes, then each part's bytes (whole 32-bit words, then the tail bytes). */
export function formatChecksum(parts: readonly Uint8Array[], holes: Int32Array): number {
  let h = hashWords(0x811c9dc5, holes, 0, holes.length);
  for (const p of parts) {
    const words = p.length >> 2;
    if (words > 0) {
      const aligned = p.byteOffset % 4 === 0 ? p : p.slice();
      h = hashWords(h, new Uint32Array(aligned.buffer, aligned.byteOffset, words), 0, words);
    }
    for (let i = words << 2; i < p.length; i++) h = Math.imul(h ^ p[i], 16777619);
  }
  return h >>> 0;
}

/**
 * Test hook of the write stage (like OPTMARGIN_FAULT for the recompute's chunks):
 * `OPTMARGIN_FORMAT_FAULT=<exit|throw|hang|silent|corrupt>[,chunk=N][,attempts=M|all]` — `silent`
 * answers nothing, `corrupt` changes a byte after the receipt is made; `exit` and `hang` in
 * worker threads only. A chunk that fails every attempt is formatted by the main thread.
 */
export const formatFault: Fault | null = parseFault(process.env.OPTMARGIN_FORMAT_FAULT);

/** One attempt of a format chunk (a worker's entry, and the in-process runner's), the fault hook applied. */
export function formatChunk(t: FormatTask, inWorker: boolean): FormatReceipt {
  const f = formatFault;
  const faulty = f !== null && f.chunk === t.chunk && t.attempt < f.attempts;
  if (faulty && f.kind === 'throw') throw new Error(`injected fault (OPTMARGIN_FORMAT_FAULT=throw) in format chunk ${t.chunk}`);
  if (faulty && f.kind === 'silent') return { count: 0, checksum: 0, parts: [], holes: new Int32Array(0) };
  if (faulty && inWorker && f.kind === 'exit') process.exit(70);
  if (faulty && inWorker && f.kind === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  const { parts, holes } = runFormat(t);
  const receipt = { count: t.to - t.from, checksum: formatChecksum(parts, holes), parts, holes };
  if (faulty && f.kind === 'corrupt') {
    const p = parts.find((x) => x.length > 0);
    if (p) p[0] ^= 1;
  }
  return receipt;
}

/** Why a format chunk's answer cannot be accepted, or null: every account accounted for, holes in order, checksum as received. */
export function formatProblem(t: FormatTask, r: unknown): string | null {
  const rc = r as Partial<FormatReceipt> | null;
  if (!rc || typeof rc.count !== 'number' || typeof rc.checksum !== 'number' || !Array.isArray(rc.parts) || !(rc.holes instanceof Int32Array)) return `format chunk ${t.chunk} returned no receipt`;
  if (rc.count !== t.to - t.from) return `format chunk ${t.chunk} covered ${rc.count} accounts, expected ${t.to - t.from}`;
  const holes = rc.holes;
  for (let i = 0; i < holes.length; i++) {
    if (holes[i] < t.from || holes[i] >= t.to || (i > 0 && holes[i] <= holes[i - 1])) return `format chunk ${t.chunk} returned holes out of its range`;
  }
  if (rc.parts.length !== (t.format === null ? 0 : holes.length + 1)) return `format chunk ${t.chunk} returned ${rc.parts.length} parts for ${holes.length} holes`;
  const sum = formatChecksum(rc.parts, holes);
  if (sum !== rc.checksum) return `format chunk ${t.chunk} checksum ${rc.checksum.toString(16)} does not match its bytes (${sum.toString(16)})`;
  return null;
}

/** The answer of a chunk as the main thread uses it (checked by formatProblem first). */
export function acceptedFormat(r: unknown): FormatReceipt {
  const rc = r as FormatReceipt;
  if (!rc || !(rc.holes instanceof Int32Array)) throw new OptmarginError(ErrorCodes.INTERNAL, 'a format chunk was accepted without its receipt');
  return rc;
}
