/**
 * The JSON of margin answers: byte for byte what JSON.stringify writes, faster and with little
 * garbage, written straight into bytes.
 *
 * A grid model's result carries, in each row (`grid[k]`), the model's scenario descriptions:
 * 27 objects per underlying, about 40 % of the time JSON.stringify spends on a 20-option account
 * (measured: ~13 of ~29 µs). Those lists are the engine's own, frozen and shared by every result
 * of the engine (scenarios/revaluation.ts), so their JSON is written once per list and reused;
 * every other value is written by JSON.stringify itself. Results are plain data (no toJSON, no
 * functions), which is what makes the member-by-member writing below equal to JSON.stringify's.
 *
 * The server sends the answer as bytes written into a large slab: sent as a string, the answer of a
 * 20-option account (~9 kB) was flattened to measure its length and copied again with the HTTP
 * head. The answer is a view of the slab; a slab is never written twice (a full one is dropped
 * and freed by the collector once its last answer is sent), as Node's own Buffer pool works,
 * with slabs large enough for ~100 answers. The pieces are written into the slab as they come
 * (short ones gathered first), never concatenated into one string. Garbage per request, sampling
 * heap profile of the server at 5,000 req/s: ~74 kB when the answer went out as a string, ~60 kB
 * as one string written into the slab, ~56 kB as pieces, ~52 kB with member names from a memo.
 */
import type { MarginOutput } from '../cli/margin.js';

/** JSON of frozen objects, by identity (a handful: one list and one element per scenario of each engine's underlyings). */
const written = new WeakMap<object, string>();

function frozenJson(v: object): string {
  let s = written.get(v);
  if (s === undefined) written.set(v, (s = JSON.stringify(v)));
  return s;
}

/** A value as JSON.stringify writes it, a frozen object or array from the memo. */
function valueJson(v: unknown): string {
  return v !== null && typeof v === 'object' && Object.isFrozen(v) ? frozenJson(v) : JSON.stringify(v);
}

/** Where the pieces of one answer go. */
interface Sink {
  put(s: string): void;
}

const SLAB_BYTES = 1 << 20;
/** Pieces shorter than this are gathered in a string before they are written (fewer writes). */
const SMALL = 256;

/**
 * UTF-8 bytes of one answer at a time, appended to a slab; `take()` hands the answer out as a view.
 * A string of n UTF-16 units takes at most 3n bytes, so each write is whole. Short pieces are
 * gathered first; long ones (a memoized scenario list, a positions array) are written as they
 * come, never copied into a larger string.
 */
class SlabSink implements Sink {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private start = 0;
  private end = 0;
  private pending = '';

  put(s: string): void {
    if (s.length < SMALL) {
      this.pending += s;
      if (this.pending.length >= SMALL) this.flush();
      return;
    }
    this.flush();
    this.write(s);
  }

  /** The answer written since the last take. */
  take(): Buffer {
    this.flush();
    const out = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  private flush(): void {
    if (this.pending === '') return;
    this.write(this.pending);
    this.pending = '';
  }

  private write(s: string): void {
    if (this.end + 3 * s.length > this.slab.length) this.renew(3 * s.length);
    this.end += this.slab.write(s, this.end);
  }

  /** A fresh slab holding the answer begun so far (the full one is never written again). */
  private renew(need: number): void {
    const begun = this.end - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (begun + need)));
    this.slab.copy(next, 0, this.start, this.end);
    this.slab = next;
    this.start = 0;
    this.end = begun;
  }
}

/** `"key":` of each member name seen (a result's own field names: a few dozen), written once. */
const keys = new Map<string, string>();

function keyJson(k: string): string {
  let s = keys.get(k);
  if (s === undefined) {
    s = JSON.stringify(k) + ':';
    if (keys.size < 1024) keys.set(k, s);
  }
  return s;
}

/**
 * A plain object as JSON.stringify writes it (own enumerable keys in its order, undefined members
 * left out), each member's value written by `member`.
 */
function writeObject(out: Sink, o: object, member: (out: Sink, key: string, v: unknown) => void): void {
  let first = true;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = (o as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out.put(first ? '{' : ',');
    out.put(keyJson(k));
    first = false;
    member(out, k, v);
  }
  out.put(first ? '{}' : '}');
}

const rowMember = (out: Sink, _k: string, v: unknown): void => out.put(valueJson(v));

const resultMember = (out: Sink, k: string, v: unknown): void => {
  if (k !== 'grid') return out.put(JSON.stringify(v));
  const rows = v as object[];
  for (let i = 0; i < rows.length; i++) {
    out.put(i === 0 ? '[' : ',');
    writeObject(out, rows[i], rowMember);
  }
  out.put(rows.length === 0 ? '[]' : ']');
};

function writeResult(out: Sink, r: MarginOutput): void {
  if (!r.ok || !r.grid || r.grid.length === 0) out.put(JSON.stringify(r));
  else writeObject(out, r, resultMember);
}

/** One margin result or an array of them (what POST /v1/margin answers). */
function writeAnswer(out: Sink, a: MarginOutput | MarginOutput[]): void {
  if (!Array.isArray(a)) return writeResult(out, a);
  out.put('[');
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out.put(',');
    writeResult(out, a[i]);
  }
  out.put(']');
}

const slab = new SlabSink();

/** The UTF-8 JSON of a margin answer, JSON.stringify's bytes: a view of a slab, never overwritten (what the server sends). */
export function marginAnswerBytes(a: MarginOutput | MarginOutput[]): Buffer {
  writeAnswer(slab, a);
  return slab.take();
}

/** The same JSON as a string. */
export function marginAnswerJson(a: MarginOutput | MarginOutput[]): string {
  let s = '';
  writeAnswer({ put: (p) => void (s += p) }, a);
  return s;
}
