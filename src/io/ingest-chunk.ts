/**
 * Parse + validate one chunk of a book (a run of JSON lines, or of msgpack account values) into
 * columns. Runs in the ingestion workers (ingest-worker.ts), or in-process for one thread — the
 * same function either way, so the columns cannot depend on the thread count.
 *
 * Each entry is parsed (bounded: nesting cap, msgpack limits from the chunk's size), validated by
 * the one account validation (validateAccount: the same messages as every other path), and
 * appended to the columns; only the validated account object of the entry being read is alive
 * at any time.
 */
import { OptmarginError } from '../errors.js';
import { validateAccount } from '../instruments/account.js';
import type { Decoder } from '@msgpack/msgpack';
import { boundedDecoder, jsonNestingViolation, MAX_NESTING, skipMsgpack } from './decode.js';
import { MsgpackAccountReader } from './msgpack-account.js';
import { JsonAccountReader } from './json-account.js';
import { ColumnsBuilder, usableId, entryError, type AccountError, type BookColumns } from '../instruments/columns.js';
import { receiptOf, type IngestReceipt } from './ingest-receipt.js';
import { riskEntry, strikeMarket, type StrikeSpec } from '../risk/rolling.js';
import type { AccountInput } from '../instruments/types.js';

export interface IngestTask {
  format: 'jsonl' | 'msgpack';
  bytes: Uint8Array;
  /** 1-based line number of the chunk's first line (JSON lines), for messages */
  firstLine: number;
  /** index of the chunk's first account in the book when known (msgpack), else −1 */
  firstIndex: number;
  /** entries the reading thread cut into the chunk (msgpack values, non-blank JSON lines): what the receipt must count */
  entries: number;
  /** a risk book (`optmargin var`): entries read as risk inputs on this market (entryReader) */
  strike?: StrikeSpec;
}

export interface IngestResult {
  columns: BookColumns;
  /** count and checksum of the columns, made where they were parsed (ingest-receipt.ts) */
  receipt: IngestReceipt;
  /** entries that look like an account (an object with positions, mode or collateral) */
  accountLike: number;
  /** JSON lines: what the first non-blank line holds when it is not an account (the file is then not a book) */
  firstNotAccount?: string;
}

const looksLikeAccount = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && ('positions' in v || 'mode' in v || 'collateral' in v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object that is not an account' : `a ${typeof v}`;
}

function errorOf(e: unknown): AccountError {
  if (e instanceof OptmarginError) return e.path === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, path: e.path };
  throw e; // not a validation error: a bug, never reported as bad input
}

/**
 * How a parsed entry becomes an account: a margin book's entry is validated (validateAccount); a
 * risk book's (`strike` given) is read as `optmargin var` reads one (riskEntry: `mode` defaults to
 * cross, `atm` positions struck on that market). The fast readers take only entries with a mode
 * and listed instruments, which both read alike.
 */
export function entryReader(strike: StrikeSpec | undefined): (v: unknown) => AccountInput {
  if (!strike) return (v) => validateAccount(v);
  const market = strikeMarket(strike);
  return (v) => riskEntry(v, market);
}

/** Appends one parsed entry; an id-less one gets id '' (numbered `#<index>` once the whole book is in). */
function addEntry(b: ColumnsBuilder, v: unknown, read: (v: unknown) => AccountInput): void {
  try {
    b.add(read(v));
  } catch (e) {
    b.addInvalid(usableId(v), errorOf(e));
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * The thread's columns builder, reused chunk after chunk (`reset` keeps its capacity and starts a
 * new generation of name indices; `build` copies the columns out): a chunk's columns are written
 * into arrays that already have the room, not grown by doubling from 16,384 positions in every
 * chunk. One chunk at a time: a chunk is parsed synchronously, in a worker or in-process.
 */
let reused: ColumnsBuilder | null = null;

function chunkBuilder(): ColumnsBuilder {
  if (reused) reused.reset();
  else reused = new ColumnsBuilder();
  return reused;
}

/**
 * A run of JSON lines: each line read straight into the columns when it is a plain account
 * (JsonAccountReader: no JSON.parse, no object), else parsed and validated as an object (its error).
 */
function ingestJsonLines(t: IngestTask): IngestResult {
  const b = chunkBuilder();
  const reader = new JsonAccountReader(b);
  const read = entryReader(t.strike);
  const bytes = t.bytes;
  let accountLike = 0;
  let firstNotAccount: string | undefined;
  let line = t.firstLine;
  for (let s = 0; s < bytes.length; line++) {
    let e = bytes.indexOf(0x0a, s);
    if (e < 0) e = bytes.length;
    let a = s;
    let z = e;
    while (a < z && (bytes[a] === 0x20 || bytes[a] === 0x09 || bytes[a] === 0x0d)) a++;
    while (z > a && (bytes[z - 1] === 0x20 || bytes[z - 1] === 0x09 || bytes[z - 1] === 0x0d)) z--;
    s = e + 1;
    if (a === z) continue;
    if (reader.read(bytes, a, z)) {
      accountLike++; // it has a mode (and nests 4 levels: the nesting cap cannot be what rejects it)
      continue;
    }
    if (jsonNestingViolation(bytes, MAX_NESTING, a, z) >= 0) {
      b.addInvalid(`line ${line}`, entryError(`line ${line} nests arrays/objects deeper than ${MAX_NESTING} levels`));
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(decoder.decode(bytes.subarray(a, z)));
    } catch (err) {
      void err; // the message would quote the line: the error names the line instead
      const text = decoder.decode(bytes.subarray(a, Math.min(z, a + 4096)));
      const id = /"id"\s*:\s*"([^"\\\u0000-\u001f]{1,100})"/.exec(text)?.[1] ?? `line ${line}`;
      b.addInvalid(id, entryError(`line ${line} is not valid JSON`));
      continue;
    }
    if (looksLikeAccount(v)) accountLike++;
    else if (t.firstLine === 1 && b.count === 0 && firstNotAccount === undefined) firstNotAccount = `line ${line} holds ${describe(v)}`;
    addEntry(b, v, read);
  }
  const columns = b.build();
  return { columns, receipt: receiptOf(columns), accountLike, ...(firstNotAccount ? { firstNotAccount } : {}) };
}

/**
 * A run of msgpack account values: each read straight into the columns when it is in the plain
 * form (MsgpackAccountReader: no object), else decoded and validated as an object (its error).
 */
function ingestMsgpack(t: IngestTask): IngestResult {
  const b = chunkBuilder();
  const reader = new MsgpackAccountReader(b);
  const read = entryReader(t.strike);
  const bytes = t.bytes;
  let decoder: Decoder | null = null;
  let accountLike = 0;
  // the main thread has checked each value's structure (skipMsgpack) before sending the chunk
  for (let q = 0; q < bytes.length; ) {
    const next = reader.read(bytes, q);
    if (next >= 0) {
      accountLike++; // it has a mode
      q = next;
      continue;
    }
    const end = skipMsgpack(bytes, q, bytes.length, 'the chunk');
    const v = (decoder ??= boundedDecoder(bytes.length)).decode(bytes.subarray(q, end));
    if (looksLikeAccount(v)) accountLike++;
    addEntry(b, v, read);
    q = end;
  }
  const columns = b.build();
  return { columns, receipt: receiptOf(columns), accountLike };
}

export function ingestChunk(t: IngestTask): IngestResult {
  return t.format === 'jsonl' ? ingestJsonLines(t) : ingestMsgpack(t);
}

/** Entries of a run of JSON lines as ingestJsonLines counts them (lines with a byte other than space, tab or CR). */
export function jsonLineEntries(bytes: Uint8Array): number {
  let n = 0;
  for (let s = 0; s < bytes.length; ) {
    let e = bytes.indexOf(0x0a, s);
    if (e < 0) e = bytes.length;
    let a = s;
    while (a < e && (bytes[a] === 0x20 || bytes[a] === 0x09 || bytes[a] === 0x0d)) a++;
    if (a < e) n++;
    s = e + 1;
  }
  return n;
}
