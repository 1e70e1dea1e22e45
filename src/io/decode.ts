/**
 * Bounded decoding of untrusted input (JSON text and msgpack bytes). Every reader of a user file
 * goes through here, so a hostile file is rejected with one line and exit 2 before anything
 * large is allocated:
 *
 *   JSON     nesting deeper than MAX_NESTING is refused by a byte scan before JSON.parse (V8's
 *            parser itself would recurse); a syntax error names the byte offset, never the text.
 *   msgpack  the structure is walked first without allocating (scanMsgpack): each container's
 *            declared count must fit in the bytes left (every element takes at least one byte),
 *            each string / bin / ext must lie inside the buffer, nesting is capped. Only then
 *            does @msgpack/msgpack decode, with maxStr/Bin/Array/Map/ExtLength set from the
 *            input's size — so the total it allocates is bounded by the input's size.
 *
 * Limits are documented in docs/book.md ("Limits").
 */
import { Decoder } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';

/** Deepest nesting of arrays/objects accepted in any input (a book account needs 4, a market 6). */
export const MAX_NESTING = 64;

function limitError(name: string, what: string): OptmarginError {
  return new OptmarginError(ErrorCodes.LIMIT_EXCEEDED, `${name} ${what}`);
}

/**
 * Byte offset at which JSON text (UTF-8 bytes, or a string) first nests deeper than `max`, or −1.
 * Brackets inside strings are skipped (escapes honoured).
 */
export function jsonNestingViolation(text: Uint8Array | string, max = MAX_NESTING, from = 0, to = text.length): number {
  let depth = 0;
  let inStr = false;
  const bytes = typeof text === 'string' ? null : text;
  for (let i = from; i < to; i++) {
    const c = bytes ? bytes[i] : (text as string).charCodeAt(i);
    if (inStr) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inStr = false;
    } else if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** "byte N" from V8's JSON.parse message (it may quote the text: that part is never shown). */
function jsonErrorPosition(e: unknown): string {
  const m = /position (\d+)/.exec((e as Error)?.message ?? '');
  if (m) return ` (at byte ${m[1]})`;
  if (/end of JSON input|Unterminated/.test((e as Error)?.message ?? '')) return ' (it ends too early)';
  return '';
}

/** JSON.parse with the nesting cap; errors name `name` and an offset, never the content. */
export function parseJsonText(text: string, name: string): unknown {
  const at = jsonNestingViolation(text);
  if (at >= 0) throw limitError(name, `nests arrays/objects deeper than ${MAX_NESTING} levels (at character ${at})`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid JSON${jsonErrorPosition(e)}`);
  }
}

/** Bytes (UTF-8) → JSON value, with the nesting cap. */
export function parseJsonBytes(bytes: Uint8Array, name: string): unknown {
  const at = jsonNestingViolation(bytes);
  if (at >= 0) throw limitError(name, `nests arrays/objects deeper than ${MAX_NESTING} levels (at byte ${at})`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid JSON${jsonErrorPosition(e)}`);
  }
}

/** Head of a msgpack value at `p`: how many bytes the header takes, how many child values follow, how many payload bytes. */
function head(b: Uint8Array, p: number, end: number): { len: number; children: number; payload: number } | null {
  const c = b[p];
  const u16 = (o: number) => (p + o + 2 <= end ? (b[p + o] << 8) | b[p + o + 1] : -1);
  const u32 = (o: number) => (p + o + 4 <= end ? (b[p + o] * 0x1000000 + ((b[p + o + 1] << 16) | (b[p + o + 2] << 8) | b[p + o + 3])) : -1);
  if (c <= 0x7f || c >= 0xe0) return { len: 1, children: 0, payload: 0 };
  if (c <= 0x8f) return { len: 1, children: 2 * (c & 0x0f), payload: 0 };
  if (c <= 0x9f) return { len: 1, children: c & 0x0f, payload: 0 };
  if (c <= 0xbf) return { len: 1, children: 0, payload: c & 0x1f };
  let n: number;
  switch (c) {
    case 0xc0: case 0xc2: case 0xc3: return { len: 1, children: 0, payload: 0 };
    case 0xc4: return p + 2 <= end ? { len: 2, children: 0, payload: b[p + 1] } : null;
    case 0xc5: return (n = u16(1)) < 0 ? null : { len: 3, children: 0, payload: n };
    case 0xc6: return (n = u32(1)) < 0 ? null : { len: 5, children: 0, payload: n };
    case 0xc7: return p + 3 <= end ? { len: 3, children: 0, payload: b[p + 1] } : null;
    case 0xc8: return (n = u16(1)) < 0 ? null : { len: 4, children: 0, payload: n };
    case 0xc9: return (n = u32(1)) < 0 ? null : { len: 6, children: 0, payload: n };
    case 0xca: return { len: 5, children: 0, payload: 0 };
    case 0xcb: return { len: 9, children: 0, payload: 0 };
    case 0xcc: case 0xd0: return { len: 2, children: 0, payload: 0 };
    case 0xcd: case 0xd1: return { len: 3, children: 0, payload: 0 };
    case 0xce: case 0xd2: return { len: 5, children: 0, payload: 0 };
    case 0xcf: case 0xd3: return { len: 9, children: 0, payload: 0 };
    case 0xd4: return { len: 3, children: 0, payload: 0 };
    case 0xd5: return { len: 4, children: 0, payload: 0 };
    case 0xd6: return { len: 6, children: 0, payload: 0 };
    case 0xd7: return { len: 10, children: 0, payload: 0 };
    case 0xd8: return { len: 18, children: 0, payload: 0 };
    case 0xd9: return p + 2 <= end ? { len: 2, children: 0, payload: b[p + 1] } : null;
    case 0xda: return (n = u16(1)) < 0 ? null : { len: 3, children: 0, payload: n };
    case 0xdb: return (n = u32(1)) < 0 ? null : { len: 5, children: 0, payload: n };
    case 0xdc: return (n = u16(1)) < 0 ? null : { len: 3, children: n, payload: 0 };
    case 0xdd: return (n = u32(1)) < 0 ? null : { len: 5, children: n, payload: 0 };
    case 0xde: return (n = u16(1)) < 0 ? null : { len: 3, children: 2 * n, payload: 0 };
    case 0xdf: return (n = u32(1)) < 0 ? null : { len: 5, children: 2 * n, payload: 0 };
    default: return null; // 0xc1 is never used
  }
}

/**
 * Walks one msgpack value starting at `from` without allocating; returns the offset just past
 * it. Throws LIMIT_EXCEEDED / INVALID_FILE naming `name` and the byte offset.
 */
export function skipMsgpack(b: Uint8Array, from: number, end: number, name: string, maxDepth = MAX_NESTING): number {
  // remaining[d] = child values still to read at depth d
  const remaining = new Float64Array(maxDepth + 1);
  let depth = 0;
  remaining[0] = 1;
  let p = from;
  while (depth >= 0) {
    if (remaining[depth] === 0) {
      depth--;
      continue;
    }
    remaining[depth]--;
    if (p >= end) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: it ends inside a value (byte ${p})`);
    const h = head(b, p, end);
    if (h === null) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: bad header 0x${b[p].toString(16)} at byte ${p}`);
    const next = p + h.len + h.payload;
    if (next > end) throw limitError(name, `declares ${h.payload} bytes at byte ${p}, more than the ${end - p - h.len} left in the input`);
    p = next;
    if (h.children > 0) {
      if (h.children > end - p) throw limitError(name, `declares ${h.children} values at byte ${p - h.len}, more than the ${end - p} bytes left could hold`);
      if (depth + 1 > maxDepth) throw limitError(name, `nests arrays/maps deeper than ${maxDepth} levels (at byte ${p - h.len})`);
      remaining[++depth] = h.children;
    }
  }
  return p;
}

/** A Decoder whose length limits come from the input's size (after skipMsgpack has checked the structure). */
export function boundedDecoder(size: number): Decoder {
  const n = Math.max(16, size);
  return new Decoder({ maxStrLength: n, maxBinLength: n, maxArrayLength: n, maxMapLength: Math.ceil(n / 2), maxExtLength: n });
}

/** msgpack bytes → one value, structure checked first; errors name `name` and never quote content. */
export function decodeMsgpack(bytes: Uint8Array, name: string): unknown {
  if (bytes.length === 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is empty`);
  const end = skipMsgpack(bytes, 0, bytes.length, name);
  if (end !== bytes.length) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: ${bytes.length - end} bytes after the value (byte ${end})`);
  try {
    return boundedDecoder(bytes.length).decode(bytes);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: ${(e as Error).message.replace(/[^\x20-\x7e]/g, '?').slice(0, 120)}`);
  }
}

/** First non-blank byte (BOM skipped), or −1 for an empty / blank input. */
export function firstByte(bytes: Uint8Array): number {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return i < bytes.length ? bytes[i] : -1;
}

/** JSON (first byte `{` or `[`) or msgpack, both bounded. */
export function parseDocumentBytes(bytes: Uint8Array, name: string): unknown {
  const first = firstByte(bytes);
  if (first < 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is empty`);
  if (first === 0x7b || first === 0x5b) return parseJsonBytes(bytes, name);
  return decodeMsgpack(bytes, name);
}
