/**
 * The columnar book file (`.ombook`, docs/book.md "Columnar book format"): the book's columns
 * (columns.ts) as little-endian typed arrays behind a small msgpack header, for users who
 * recompute the same book often — reading it is a copy-free view of the file, no parsing per
 * position.
 *
 *   bytes 0–7    magic "OMBOOKC1"
 *   bytes 8–11   header length H (u32 LE)
 *   12 … 12+H    msgpack map { format: "optmargin.book-columns/1", n, nPos, nCol, nPcol,
 *                ids: string[n], names: string[], currencies: string[],
 *                errors: [index, code, message, path?][] }
 *   then, each starting at a multiple of 8: mode u8[n], posStart i32[n+1], colStart i32[n+1],
 *   instr i32[nPos], pcolStart i32[nPos+1], cur i32[nCol], pcur i32[nPcol], size f64[nPos],
 *   entry f64[nPos] (NaN = no entry price), amount f64[nCol], pamount f64[nPcol]
 *
 * Reading checks the structure (lengths add up to the file size exactly, offsets monotonic,
 * indices inside their tables) and every value against the limits; an account whose values
 * break a rule becomes an invalid account with validateAccount's own message.
 */
import { encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import { LIMITS } from '../limits.js';
import { validateAccount } from '../instruments/account.js';
import { decodeMsgpack } from './decode.js';
import { Mode, accountAt, type AccountError, type BookColumns } from '../instruments/columns.js';

const MAGIC = 'OMBOOKC1';
export const COLUMNS_FORMAT = 'optmargin.book-columns/1';
const CURRENCY_RE = /^[A-Z][A-Z0-9]{1,9}$/;

export function isColumnsFile(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  for (let i = 0; i < 8; i++) if (b[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

type ArrayName = 'mode' | 'posStart' | 'colStart' | 'instr' | 'pcolStart' | 'cur' | 'pcur' | 'size' | 'entry' | 'amount' | 'pamount';
const LAYOUT: [ArrayName, 1 | 4 | 8][] = [
  ['mode', 1], ['posStart', 4], ['colStart', 4], ['instr', 4], ['pcolStart', 4], ['cur', 4], ['pcur', 4], ['size', 8], ['entry', 8], ['amount', 8], ['pamount', 8],
];

function lengths(n: number, nPos: number, nCol: number, nPcol: number): Record<ArrayName, number> {
  return { mode: n, posStart: n + 1, colStart: n + 1, instr: nPos, pcolStart: nPos + 1, cur: nCol, pcur: nPcol, size: nPos, entry: nPos, amount: nCol, pamount: nPcol };
}

const pad8 = (x: number): number => (x + 7) & ~7;

/** The file's bytes, as parts to write one after the other (no copy of the arrays). */
export function encodeColumns(c: BookColumns): Uint8Array[] {
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
  });
  const head = new Uint8Array(pad8(12 + header.length));
  for (let i = 0; i < 8; i++) head[i] = MAGIC.charCodeAt(i);
  new DataView(head.buffer).setUint32(8, header.length, true);
  head.set(header, 12);
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

/** Reads a columnar book; `name` labels errors. */
export function readColumns(buf: Uint8Array, name: string): BookColumns {
  if (!isColumnsFile(buf) || buf.length < 12) throw bad(name, 'no OMBOOKC1 header');
  const hLen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + hLen > buf.length) throw bad(name, `the header declares ${hLen} bytes, more than the file holds`);
  const h = decodeMsgpack(buf.subarray(12, 12 + hLen), `${name} (header)`) as Record<string, unknown>;
  if (h === null || typeof h !== 'object' || h.format !== COLUMNS_FORMAT) throw bad(name, `the header's format must be ${JSON.stringify(COLUMNS_FORMAT)}`);
  const { n, nPos, nCol, nPcol } = h as Record<string, number>;
  for (const [k, v] of Object.entries({ n, nPos, nCol, nPcol })) if (!Number.isInteger(v) || v < 0) throw bad(name, `header ${k} must be a count`);
  if (n > LIMITS.accounts) throw new OptmarginError(ErrorCodes.LIMIT_EXCEEDED, `${name} holds ${n} accounts, more than the limit of ${LIMITS.accounts}`);
  if (!isStringArray(h.ids, n) || !isStringArray(h.names) || !isStringArray(h.currencies)) throw bad(name, 'ids, names and currencies must be string arrays (ids: one per account)');
  const len = lengths(n, nPos, nCol, nPcol);
  let off = pad8(12 + hLen);
  let expected = off;
  for (const [k, size] of LAYOUT) expected += pad8(len[k] * size);
  if (expected !== buf.length) throw bad(name, `the arrays need ${expected} bytes in all, the file has ${buf.length}`);
  const arrays = {} as Record<ArrayName, BookColumns[ArrayName]>;
  for (const [k, size] of LAYOUT) {
    arrays[k] = view(buf, off, len[k], size, k);
    off += pad8(len[k] * size);
  }
  const c: BookColumns = {
    n, ids: h.ids as string[], nPos, names: h.names as string[], currencies: h.currencies as string[], errors: new Map(),
    ...(arrays as unknown as Pick<BookColumns, ArrayName>),
  };
  checkOffsets(name, 'posStart', c.posStart, nPos);
  checkOffsets(name, 'colStart', c.colStart, nCol);
  checkOffsets(name, 'pcolStart', c.pcolStart, nPcol);
  checkIndices(name, 'instr', c.instr, c.names.length);
  checkIndices(name, 'cur', c.cur, c.currencies.length);
  checkIndices(name, 'pcur', c.pcur, c.currencies.length);
  for (const [i, s] of c.currencies.entries()) if (!CURRENCY_RE.test(s)) throw bad(name, `currencies[${i}] is not a currency code`);
  if (!Array.isArray(h.errors)) throw bad(name, 'errors must be an array');
  for (const e of h.errors as unknown[]) {
    const [k, code, message, path] = e as [number, ErrorCode, string, string?];
    if (!Number.isInteger(k) || k < 0 || k >= n || typeof code !== 'string' || typeof message !== 'string' || c.mode[k] !== Mode.Invalid) throw bad(name, 'an errors entry does not name an invalid account');
    c.errors.set(k, path === undefined ? { code, message } : { code, message, path });
  }
  checkValues(c, name);
  return c;
}

/** Accounts whose values break a rule become invalid accounts with validateAccount's message. */
function checkValues(c: BookColumns, name: string): void {
  for (let k = 0; k < c.n; k++) {
    const m = c.mode[k];
    if (m === Mode.Invalid) {
      if (!c.errors.has(k)) throw bad(name, `account ${k} is marked invalid without an error`);
      if (c.posStart[k + 1] !== c.posStart[k] || c.colStart[k + 1] !== c.colStart[k]) throw bad(name, `invalid account ${k} holds positions`);
      continue;
    }
    if (m > Mode.Isolated) throw bad(name, `mode[${k}] = ${m} is not a mode`);
    if (accountBreaksRule(c, k)) {
      const err = validationError(c, k);
      c.mode[k] = Mode.Invalid;
      c.errors.set(k, err);
    }
  }
}

function accountBreaksRule(c: BookColumns, k: number): boolean {
  if (c.ids[k].length === 0) return true;
  const p0 = c.posStart[k];
  const p1 = c.posStart[k + 1];
  if (p1 - p0 > LIMITS.positionsPerAccount) return true;
  for (let p = p0; p < p1; p++) {
    const q = c.size[p];
    if (!(q !== 0 && Math.abs(q) <= LIMITS.size)) return true;
    const e = c.entry[p];
    if (e === e && !(e > 0 && e <= LIMITS.price)) return true;
    if (c.names[c.instr[p]].length === 0) return true;
    if (c.pcolStart[p + 1] > c.pcolStart[p] && c.mode[k] !== Mode.Isolated) return true;
    for (let q2 = c.pcolStart[p]; q2 < c.pcolStart[p + 1]; q2++) if (!(Math.abs(c.pamount[q2]) <= LIMITS.collateral)) return true;
  }
  for (let q = c.colStart[k]; q < c.colStart[k + 1]; q++) if (!(Math.abs(c.amount[q]) <= LIMITS.collateral)) return true;
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
