/**
 * The JSON of margin answers: byte for byte what JSON.stringify writes, faster and with little
 * garbage, written straight into bytes.
 *
 * A grid model's result carries, in each row (`grid[k]`), the model's scenario descriptions:
 * 27 objects per underlying, about 40 % of the time JSON.stringify spends on a 20-option account
 * (measured: ~13 of ~29 µs). Those lists are the engine's own, frozen and shared by every result
 * of the engine (scenarios/revaluation.ts), so their JSON is written once per list and reused.
 * Every other value is written member by member (writeValue), straight into bytes: Node 20's
 * JSON.stringify walks objects on its slow path and builds strings that are then copied again.
 * Results are plain data with no cycles; a toJSON is called as JSON.stringify calls it, and an
 * object of another prototype (a typed array, a boxed primitive) is handed to JSON.stringify whole.
 *
 * The server sends the answer as bytes written into a large slab: sent as a string, the answer of a
 * 20-option account (~9 kB) was flattened to measure its length and copied again with the HTTP
 * head. The answer is a view of the slab; a slab is never written twice (a full one is dropped
 * and freed by the collector once its last answer is sent), as Node's own Buffer pool works,
 * with slabs large enough for ~100 answers.
 *
 * Why this writer and not the alternatives (measured in sessions 5–7: in process by V8 heap
 * bytes and CPU time per answer, in the server at 5,000 req/s with `--heap-count`): about a third
 * less garbage per answer than JSON.stringify per member into the slab, at about its CPU; the
 * same members gathered in one string (a rope of ~700 pieces, 32 bytes per piece) were somewhat
 * faster in process but made over twice the garbage; numbers written as '' + v made less garbage
 * still but set off mark-compacts; the numbers of an answer go through one JSON.stringify of them
 * all, not one call per number. The figures of
 * today's build are the bench's (`npm run bench -- --only serve`, row "server garbage per
 * request"); a change is compared against another build with bench/serve-ab.ts.
 */
import type { MarginOutput } from '../cli/margin.js';

/** JSON of frozen objects, by identity (a handful: one list and one element per scenario of each engine's underlyings). */
const written = new WeakMap<object, string>();

function frozenJson(v: object): string {
  let s = written.get(v);
  if (s === undefined) written.set(v, (s = JSON.stringify(v)));
  return s;
}

/** Where the pieces of one answer go: text, and numbers (written as JSON.stringify writes them). */
interface Sink {
  put(s: string): void;
  num(v: number): void;
}

const SLAB_BYTES = 1 << 20;
/** Pieces longer than this are written by Buffer.write (UTF-8, in C++); shorter ones byte by byte here, where a call costs more than the copy. */
const LONG = 48;

/**
 * UTF-8 bytes of one answer at a time, appended to a slab; `take()` hands the answer out as a view.
 * The pieces are kept (references, in a reused list) until `take()`, never concatenated into a
 * larger string (a rope of a few hundred pieces is as much garbage as the answer itself). The
 * numbers are kept apart, in a reused array of doubles, and their digits written by one
 * JSON.stringify of that array: V8 writes each number's shortest digits into the one text, where a
 * JSON.stringify per number made a string of each (a call into the builtin and a string per
 * number). Then the pieces are written in order, each number's text cut from that one text:
 * short ASCII pieces (keys, numbers, names) byte by byte, long ones and any with other characters
 * by Buffer.write. A string of n UTF-16 units takes at most 3n bytes, so each write is whole.
 */
class SlabSink implements Sink {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private start = 0;
  private end = 0;
  /** the answer's pieces in order; null stands for the next number of `nums` */
  private readonly parts: (string | null)[] = [];
  private nParts = 0;
  private readonly nums: number[] = [];
  private nNums = 0;

  put(s: string): void {
    this.parts[this.nParts++] = s;
  }

  num(v: number): void {
    this.parts[this.nParts++] = null;
    this.nums[this.nNums++] = v;
  }

  /** The answer whose pieces were given since the last take, written. */
  take(): Buffer {
    const digits = this.digits();
    const parts = this.parts;
    let at = 1; // after the array's '['
    for (let i = 0; i < this.nParts; i++) {
      const p = parts[i];
      if (p !== null) {
        this.write(p);
        continue;
      }
      let to = digits.indexOf(',', at);
      if (to < 0) to = digits.length - 1; // the last number: up to the ']'
      this.ascii(digits, at, to);
      at = to + 1;
    }
    parts.fill(null, 0, this.nParts); // no answer's strings kept alive past it
    this.nParts = 0;
    this.nNums = 0;
    const out = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  /** The numbers given since the last take as JSON.stringify writes an array of them ('' without any). */
  private digits(): string {
    if (this.nNums === 0) return '';
    if (this.nums.length !== this.nNums) this.nums.length = this.nNums;
    return JSON.stringify(this.nums);
  }

  private write(s: string): void {
    const n = s.length;
    if (this.end + 3 * n > this.slab.length) this.renew(3 * n);
    if (n > LONG) {
      this.end += this.slab.write(s, this.end);
      return;
    }
    const slab = this.slab;
    let end = this.end;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        end += slab.write(s.slice(i), end);
        break;
      }
      slab[end++] = c;
    }
    this.end = end;
  }

  /** s[from, to), ASCII (a number's text), byte by byte. */
  private ascii(s: string, from: number, to: number): void {
    if (this.end + (to - from) > this.slab.length) this.renew(to - from);
    const slab = this.slab;
    let end = this.end;
    for (let i = from; i < to; i++) slab[end++] = s.charCodeAt(i);
    this.end = end;
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

/** `{"key":` and `,"key":` of each member name seen (a result's own field names: a few dozen), written once. */
const firstKeys = new Map<string, string>();
const nextKeys = new Map<string, string>();

function keyJson(k: string, first: boolean): string {
  const memo = first ? firstKeys : nextKeys;
  let s = memo.get(k);
  if (s === undefined) {
    s = (first ? '{' : ',') + JSON.stringify(k) + ':';
    if (memo.size < 1024) memo.set(k, s);
  }
  return s;
}

/** Characters JSON.stringify writes as they are: printable ASCII but the quote and the backslash. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A string as JSON.stringify writes it (escapes, lone surrogates: JSON.stringify itself). */
const stringJson = (s: string): string => (PLAIN.test(s) ? '"' + s + '"' : JSON.stringify(s));

/**
 * Any value as JSON.stringify writes it, piece by piece: plain objects (own enumerable string
 * keys in their order, members undefined, functions or symbols left out) and arrays (those as
 * null) member by member, each object's toJSON(key) in its place when it has one; a number
 * by JSON.stringify (its shortest round-trip text, null when not finite); a frozen object or array from the memo; anything else (an object with another
 * prototype, boxed primitives, a bigint) by JSON.stringify itself. Results are plain data with no
 * cycles.
 */
function writeValue(out: Sink, v: unknown): void {
  switch (typeof v) {
    case 'number':
      // JSON.stringify's digits (the sink's), not '' + v: ToString keeps each new number's text
      // in V8's number-string cache, which lives in the old generation; at 5,000 answers a second
      // that promoted them and set off mark-compacts
      return out.num(v);
    case 'string':
      return out.put(stringJson(v));
    case 'boolean':
      return out.put(v ? 'true' : 'false');
    case 'object':
      if (v === null) return out.put('null');
      if (Array.isArray(v)) return Object.isFrozen(v) ? out.put(frozenJson(v)) : writeArray(out, v);
      if (Object.getPrototypeOf(v) === Object.prototype) return Object.isFrozen(v) ? out.put(frozenJson(v)) : writeObject(out, v);
  }
  out.put(JSON.stringify(v) as string);
}

function writeArray(out: Sink, a: unknown[]): void {
  // numbers (scenario losses): JSON.stringify's own fast path for arrays of numbers, in one piece
  if (a.length === 0 || typeof a[0] === 'number') return out.put(JSON.stringify(a));
  for (let i = 0; i < a.length; i++) {
    out.put(i === 0 ? '[' : ',');
    const y = toJsonOf(a[i], i);
    if (y === undefined || typeof y === 'function' || typeof y === 'symbol') out.put('null');
    else writeValue(out, y);
  }
  out.put(']');
}

function writeObject(out: Sink, o: object): void {
  let first = true;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = toJsonOf((o as Record<string, unknown>)[k], k);
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out.put(keyJson(k, first));
    first = false;
    writeValue(out, v);
  }
  out.put(first ? '{}' : '}');
}

/** A value as JSON.stringify takes it: an object's toJSON(key) in its place, when it has one (a Date's). */
function toJsonOf(v: unknown, key: string | number): unknown {
  if (v === null || typeof v !== 'object') return v;
  const f = (v as { toJSON?: unknown }).toJSON;
  return typeof f === 'function' ? (f as (k: string) => unknown).call(v, String(key)) : v;
}

/** One margin result or an array of them (what POST /v1/margin answers). */
const writeAnswer = (out: Sink, a: MarginOutput | MarginOutput[]): void => writeValue(out, toJsonOf(a, ''));

const slab = new SlabSink();

/** The UTF-8 JSON of a margin answer, JSON.stringify's bytes: a view of a slab, never overwritten (what the server sends). */
export function marginAnswerBytes(a: MarginOutput | MarginOutput[]): Buffer {
  writeAnswer(slab, a);
  return slab.take();
}

/** The same JSON as a string. */
export function marginAnswerJson(a: MarginOutput | MarginOutput[]): string {
  let s = '';
  writeAnswer({ put: (p) => void (s += p), num: (v) => void (s += Number.isFinite(v) ? JSON.stringify(v) : 'null') }, a);
  return s;
}
