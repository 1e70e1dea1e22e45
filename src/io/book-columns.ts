/**
 * The columnar book file (`.ombook`, docs/book.md "Columnar book format"): the book's columns
 * (columns.ts) as little-endian typed arrays behind small msgpack headers, for users who
 * recompute the same book often — reading it is a view of the file, no parsing per position.
 * The file is a sequence of segments (a writer streams any number of accounts in bounded memory,
 * one segment at a time: gen-book --out x.ombook), then an end marker:
 *
 *   bytes 0–7    magic "OMBOOKC2"
 *   segments     each at a multiple of 8: u32 LE header length H (> 0), then H bytes of msgpack
 *                { format: "optmargin.book-columns/3", n, nPos, nCol, nPcol, ids: string[n],
 *                names: string[], currencies: string[], errors: [index, code, message, path?][],
 *                settlement: [index, currency][] (the accounts that give a `currency`) }
 *                (indices local to the segment), then, each starting at a multiple of 8:
 *                mode u8[n], posStart i32[n+1], colStart i32[n+1], instr i32[nPos],
 *                pcolStart i32[nPos+1], cur i32[nCol], pcur i32[nPcol], size f64[nPos],
 *                entry f64[nPos] (NaN = no entry price), amount f64[nCol], pamount f64[nPcol]
 *   end          u32 0, u32 total accounts (the file ends there: a truncated file is refused)
 *
 * Segments of format ".../2" (no settlement: written before accounts' `currency` was kept) and a
 * version-1 file (magic "OMBOOKC1", format ".../1": one segment, no end marker) still read.
 * Reading checks the structure (lengths add up to the file size exactly, offsets monotonic,
 * indices inside their tables) and every value against the limits; an account whose values
 * break a rule becomes an invalid account with validateAccount's own message. Segments are
 * concatenated (names and currencies merged) into the book's columns.
 */
import { encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import { LIMITS } from '../limits.js';
import { accepts, validateAccount } from '../instruments/account.js';
import { decodeMsgpack } from './decode.js';
import { ColumnsBuilder, Mode, accountAt, concatColumns, type AccountError, type BookColumns } from '../instruments/columns.js';

const MAGIC = 'OMBOOKC2';
const MAGIC_V1 = 'OMBOOKC1';
export const COLUMNS_FORMAT = 'optmargin.book-columns/3';
const COLUMNS_FORMAT_V2 = 'optmargin.book-columns/2';
const COLUMNS_FORMAT_V1 = 'optmargin.book-columns/1';
/** accounts per segment of a streamed file (≈ 1.3 M positions, ≈ 35 MB: what a writer holds at a time) */
export const SEGMENT_ACCOUNTS = 65_536;

const hasMagic = (b: Uint8Array, m: string): boolean => b.length >= 8 && [...m].every((ch, i) => b[i] === ch.charCodeAt(0));

export function isColumnsFile(b: Uint8Array): boolean {
  return hasMagic(b, MAGIC) || hasMagic(b, MAGIC_V1);
}

type ArrayName = 'mode' | 'posStart' | 'colStart' | 'instr' | 'pcolStart' | 'cur' | 'pcur' | 'size' | 'entry' | 'amount' | 'pamount';
const LAYOUT: [ArrayName, 1 | 4 | 8][] = [
  ['mode', 1], ['posStart', 4], ['colStart', 4], ['instr', 4], ['pcolStart', 4], ['cur', 4], ['pcur', 4], ['size', 8], ['entry', 8], ['amount', 8], ['pamount', 8],
];

function lengths(n: number, nPos: number, nCol: number, nPcol: number): Record<ArrayName, number> {
  return { mode: n, posStart: n + 1, colStart: n + 1, instr: nPos, pcolStart: nPos + 1, cur: nCol, pcur: nPcol, size: nPos, entry: nPos, amount: nCol, pamount: nPcol };
}

const pad8 = (x: number): number => (x + 7) & ~7;

/** The file's first bytes (the magic). */
export function columnsFileHead(): Uint8Array {
  return Uint8Array.from(MAGIC, (ch) => ch.charCodeAt(0));
}

/** The end marker after the last segment: u32 0, u32 total accounts. */
export function columnsFileEnd(accounts: number): Uint8Array {
  const end = new Uint8Array(8);
  new DataView(end.buffer).setUint32(4, accounts, true);
  return end;
}

/** One segment's bytes (header, arrays; 8-byte aligned), as parts to write one after the other (no copy of the arrays). */
export function encodeSegment(c: BookColumns): Uint8Array[] {
  const header = encode({
    format: COLUMNS_FORMAT,
    n: c.n,
    nPos: c.nPos,
    nCol: c.cur.length,
    nPcol: c.pcur.length,
    ids: c.ids,
    names: c.names,
    currencies: c.currencies,
    errors: [...c.errors].map(([k, e]) => (e.path === undefined ? [k, e.code, e.message] : [k, e.code, e.message, e.path])),
    settlement: [...c.settlement],
  });
  const head = new Uint8Array(pad8(4 + header.length));
  new DataView(head.buffer).setUint32(0, header.length, true);
  head.set(header, 4);
  const parts: Uint8Array[] = [head];
  for (const [name] of LAYOUT) {
    const a = c[name];
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    parts.push(bytes);
    const pad = pad8(bytes.length) - bytes.length;
    if (pad) parts.push(new Uint8Array(pad));
  }
  return parts;
}

/** A whole file of one segment, as parts (no copy of the arrays). */
export function encodeColumns(c: BookColumns): Uint8Array[] {
  return [columnsFileHead(), ...encodeSegment(c), columnsFileEnd(c.n)];
}

function bad(name: string, what: string): OptmarginError {
  return new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not a valid columnar book: ${what}`);
}

function isStringArray(v: unknown, n?: number): v is string[] {
  return Array.isArray(v) && (n === undefined || v.length === n) && v.every((s) => typeof s === 'string');
}

/** Typed-array view of the file at `off` (copied when the offset is not aligned for the type). */
function view(buf: Uint8Array, off: number, len: number, size: 1 | 4 | 8, name: ArrayName): BookColumns[ArrayName] {
  const abs = buf.byteOffset + off;
  const C = size === 1 ? Uint8Array : size === 4 ? Int32Array : Float64Array;
  if (abs % size === 0) return new C(buf.buffer as ArrayBuffer, abs, len) as BookColumns[ArrayName];
  const copy = new C(len);
  new Uint8Array(copy.buffer).set(buf.subarray(off, off + len * size));
  void name;
  return copy as BookColumns[ArrayName];
}

function checkOffsets(name: string, what: string, a: Int32Array, end: number): void {
  if (a[0] !== 0) throw bad(name, `${what}[0] must be 0`);
  for (let i = 1; i < a.length; i++) if (a[i] < a[i - 1]) throw bad(name, `${what}[${i}] decreases`);
  if (a[a.length - 1] !== end) throw bad(name, `${what} must end at ${end}`);
}

function checkIndices(name: string, what: string, a: Int32Array, size: number): void {
  for (let i = 0; i < a.length; i++) if (!(a[i] >= 0 && a[i] < size)) throw bad(name, `${what}[${i}] = ${a[i]} is outside its table (${size} entries)`);
}

/** Reads a columnar book into one set of columns; `name` labels errors. */
export function readColumns(buf: Uint8Array, name: string): BookColumns {
  const segments = readColumnSegments(buf, name);
  return segments.length === 0 ? new ColumnsBuilder().build() : concatColumns(segments);
}

/** Reads a columnar book as its segments, in order (views of the file: not concatenated); `name` labels errors. */
export function readColumnSegments(buf: Uint8Array, name: string): BookColumns[] {
  if (!isColumnsFile(buf)) throw bad(name, 'no OMBOOKC2 header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (hasMagic(buf, MAGIC_V1)) {
    const { columns, end } = readSegment(buf, dv, 8, name, [COLUMNS_FORMAT_V1], 0);
    if (end !== buf.length) throw bad(name, `the arrays need ${end} bytes in all, the file has ${buf.length}`);
    return [columns];
  }
  const segments: BookColumns[] = [];
  let accounts = 0;
  for (let off = 8; ; ) {
    if (off + 8 > buf.length) throw bad(name, `it ends at byte ${buf.length} without its end marker (a truncated file)`);
    if (dv.getUint32(off, true) === 0) {
      const total = dv.getUint32(off + 4, true);
      if (total !== accounts) throw bad(name, `the end marker counts ${total} accounts, the segments hold ${accounts}`);
      if (off + 8 !== buf.length) throw bad(name, `${buf.length - off - 8} bytes after the end marker`);
      break;
    }
    const { columns, end } = readSegment(buf, dv, off, name, [COLUMNS_FORMAT, COLUMNS_FORMAT_V2], accounts);
    segments.push(columns);
    accounts += columns.n;
    off = end;
  }
  return segments;
}

/** The segment at `off` (its u32 header length), of one of `formats`; `before`: accounts in the segments before it (for the limit). */
function readSegment(buf: Uint8Array, dv: DataView, off: number, name: string, formats: readonly string[], before: number): { columns: BookColumns; end: number } {
  const hLen = dv.getUint32(off, true);
  if (off + 4 + hLen > buf.length) throw bad(name, `a header declares ${hLen} bytes, more than the file holds`);
  const h = decodeMsgpack(buf.subarray(off + 4, off + 4 + hLen), `${name} (header)`) as Record<string, unknown>;
  if (h === null || typeof h !== 'object' || !formats.includes(h.format as string)) throw bad(name, `the header's format must be ${formats.map((f) => JSON.stringify(f)).join(' or ')}`);
  const { n, nPos, nCol, nPcol } = h as Record<string, number>;
  for (const [k, v] of Object.entries({ n, nPos, nCol, nPcol })) if (!Number.isInteger(v) || v < 0) throw bad(name, `header ${k} must be a count`);
  if (before + n > LIMITS.accounts) throw new OptmarginError(ErrorCodes.LIMIT_EXCEEDED, `${name} holds more than the limit of ${LIMITS.accounts} accounts`);
  if (!isStringArray(h.ids, n) || !isStringArray(h.names) || !isStringArray(h.currencies)) throw bad(name, 'ids, names and currencies must be string arrays (ids: one per account)');
  const len = lengths(n, nPos, nCol, nPcol);
  let at = pad8(off + 4 + hLen);
  let end = at;
  for (const [k, size] of LAYOUT) end += pad8(len[k] * size);
  if (end > buf.length) throw bad(name, `the arrays need ${end} bytes in all, the file has ${buf.length}`);
  const arrays = {} as Record<ArrayName, BookColumns[ArrayName]>;
  for (const [k, size] of LAYOUT) {
    arrays[k] = view(buf, at, len[k], size, k);
    at += pad8(len[k] * size);
  }
  const c: BookColumns = {
    n, ids: h.ids as string[], nPos, names: h.names as string[], currencies: h.currencies as string[], errors: new Map(), settlement: new Map(),
    ...(arrays as unknown as Pick<BookColumns, ArrayName>),
  };
  checkOffsets(name, 'posStart', c.posStart, nPos);
  checkOffsets(name, 'colStart', c.colStart, nCol);
  checkOffsets(name, 'pcolStart', c.pcolStart, nPcol);
  checkIndices(name, 'instr', c.instr, c.names.length);
  checkIndices(name, 'cur', c.cur, c.currencies.length);
  checkIndices(name, 'pcur', c.pcur, c.currencies.length);
  for (const [i, s] of c.currencies.entries()) if (!accepts.currency(s)) throw bad(name, `currencies[${i}] is not a currency code`);
  if (!Array.isArray(h.errors)) throw bad(name, 'errors must be an array');
  for (const e of h.errors as unknown[]) {
    const [k, code, message, path] = e as [number, ErrorCode, string, string?];
    if (!Number.isInteger(k) || k < 0 || k >= n || typeof code !== 'string' || typeof message !== 'string' || c.mode[k] !== Mode.Invalid) throw bad(name, 'an errors entry does not name an invalid account');
    c.errors.set(k, path === undefined ? { code, message } : { code, message, path });
  }
  readSettlement(h, c, name);
  checkValues(c, name);
  return { columns: c, end };
}

/** The header's `settlement` (format /3; none before): each entry a valid account's index and a string (its value checked with the account's others: checkValues). */
function readSettlement(h: Record<string, unknown>, c: BookColumns, name: string): void {
  if (h.format !== COLUMNS_FORMAT) return;
  if (!Array.isArray(h.settlement)) throw bad(name, 'settlement must be an array');
  for (const e of h.settlement as unknown[]) {
    const [k, cur] = (Array.isArray(e) ? e : []) as [number, string];
    if (!Number.isInteger(k) || k < 0 || k >= c.n || typeof cur !== 'string' || c.mode[k] === Mode.Invalid || c.settlement.has(k)) throw bad(name, 'a settlement entry does not name a valid account once with a string');
    c.settlement.set(k, cur);
  }
}

/** Accounts whose values break a rule become invalid accounts with validateAccount's message. */
function checkValues(c: BookColumns, name: string): void {
  const emptyName = c.names.includes(''); // else no position needs its name checked
  for (let k = 0; k < c.n; k++) {
    const m = c.mode[k];
    if (m === Mode.Invalid) {
      if (!c.errors.has(k)) throw bad(name, `account ${k} is marked invalid without an error`);
      if (c.posStart[k + 1] !== c.posStart[k] || c.colStart[k + 1] !== c.colStart[k]) throw bad(name, `invalid account ${k} holds positions`);
      continue;
    }
    if (m > Mode.Isolated) throw bad(name, `mode[${k}] = ${m} is not a mode`);
    if (accountBreaksRule(c, k, emptyName)) {
      const err = validationError(c, k);
      c.mode[k] = Mode.Invalid;
      c.errors.set(k, err);
      c.settlement.delete(k);
    }
  }
}

function accountBreaksRule(c: BookColumns, k: number, emptyName: boolean): boolean {
  if (c.ids[k].length === 0) return true;
  const settles = c.settlement.get(k);
  if (settles !== undefined && !accepts.currency(settles)) return true;
  const p0 = c.posStart[k];
  const p1 = c.posStart[k + 1];
  if (!accepts.positionCount(p1 - p0)) return true;
  for (let p = p0; p < p1; p++) {
    if (!accepts.size(c.size[p])) return true;
    const e = c.entry[p];
    if (e === e && !accepts.entryPrice(e)) return true;
    if (emptyName && c.names[c.instr[p]].length === 0) return true;
    if (c.pcolStart[p + 1] > c.pcolStart[p] && c.mode[k] !== Mode.Isolated) return true;
    for (let q2 = c.pcolStart[p]; q2 < c.pcolStart[p + 1]; q2++) if (!accepts.balance(c.pamount[q2])) return true;
  }
  for (let q = c.colStart[k]; q < c.colStart[k + 1]; q++) if (!accepts.balance(c.amount[q])) return true;
  return false;
}

function validationError(c: BookColumns, k: number): AccountError {
  try {
    validateAccount(accountAt(c, k));
  } catch (e) {
    if (e instanceof OptmarginError) return e.path === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, path: e.path };
    throw e;
  }
  return { code: ErrorCodes.INVALID_INPUT, message: `account ${k} has values outside the documented limits` };
}
