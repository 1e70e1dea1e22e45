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

/** The msgpack array header for n elements (the streaming writers emit it before the elements). */
export function msgpackArrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

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

/** One decoder for every body (decode() without `stream` keeps no state between calls); a byte-order mark is dropped, as JSON allows. */
const UTF8 = new TextDecoder();

/** Bytes (UTF-8) → JSON value, with the nesting cap. */
export function parseJsonBytes(bytes: Uint8Array, name: string): unknown {
  const at = jsonNestingViolation(bytes);
  if (at >= 0) throw limitError(name, `nests arrays/objects deeper than ${MAX_NESTING} levels (at byte ${at})`);
  try {
    return JSON.parse(UTF8.decode(bytes));
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid JSON${jsonErrorPosition(e)}`);
  }
}

// the head of the last value read by head(): header bytes, child values, payload bytes (module state: no allocation per value)
let hLen = 0;
let hChildren = 0;
let hPayload = 0;

/** Reads the head of the msgpack value at `p` into hLen / hChildren / hPayload; false for a bad or truncated header. */
function head(b: Uint8Array, p: number, end: number): boolean {
  const c = b[p];
  hChildren = 0;
  hPayload = 0;
  if (c <= 0x7f || c >= 0xe0) return ((hLen = 1), true);
  if (c <= 0x8f) return ((hLen = 1), (hChildren = 2 * (c & 0x0f)), true);
  if (c <= 0x9f) return ((hLen = 1), (hChildren = c & 0x0f), true);
  if (c <= 0xbf) return ((hLen = 1), (hPayload = c & 0x1f), true);
  // lengths read inline (no closure per value: this walk is on the main thread for every byte of a msgpack book)
  switch (c) {
    case 0xc0: case 0xc2: case 0xc3: hLen = 1; return true;
    case 0xc4: case 0xd9: if (p + 2 > end) return false; hLen = 2; hPayload = b[p + 1]; return true;
    case 0xc5: case 0xda: if (p + 3 > end) return false; hLen = 3; hPayload = ((b[p + 1] << 8) | b[p + 2]); return true;
    case 0xc6: case 0xdb: if (p + 5 > end) return false; hLen = 5; hPayload = (b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])); return true;
    case 0xc7: if (p + 3 > end) return false; hLen = 3; hPayload = b[p + 1]; return true;
    case 0xc8: if (p + 4 > end) return false; hLen = 4; hPayload = ((b[p + 1] << 8) | b[p + 2]); return true;
    case 0xc9: if (p + 6 > end) return false; hLen = 6; hPayload = (b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])); return true;
    case 0xca: hLen = 5; return true;
    case 0xcb: hLen = 9; return true;
    case 0xcc: case 0xd0: hLen = 2; return true;
    case 0xcd: case 0xd1: hLen = 3; return true;
    case 0xce: case 0xd2: hLen = 5; return true;
    case 0xcf: case 0xd3: hLen = 9; return true;
    case 0xd4: hLen = 3; return true;
    case 0xd5: hLen = 4; return true;
    case 0xd6: hLen = 6; return true;
    case 0xd7: hLen = 10; return true;
    case 0xd8: hLen = 18; return true;
    case 0xdc: if (p + 3 > end) return false; hLen = 3; hChildren = ((b[p + 1] << 8) | b[p + 2]); return true;
    case 0xdd: if (p + 5 > end) return false; hLen = 5; hChildren = (b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])); return true;
    case 0xde: if (p + 3 > end) return false; hLen = 3; hChildren = 2 * ((b[p + 1] << 8) | b[p + 2]); return true;
    case 0xdf: if (p + 5 > end) return false; hLen = 5; hChildren = 2 * (b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])); return true;
    default: return false; // 0xc1 is never used
  }
}

const skipScratch = new Float64Array(MAX_NESTING + 1);

/**
 * Walks one msgpack value starting at `from` without allocating; returns the offset just past
 * it. Throws LIMIT_EXCEEDED / INVALID_FILE naming `name` and the byte offset.
 */
export function skipMsgpack(b: Uint8Array, from: number, end: number, name: string, maxDepth = MAX_NESTING): number {
  // remaining[d] = child values still to read at depth d (the scratch array is reused: one walk at a time, synchronous)
  const remaining = maxDepth <= MAX_NESTING ? skipScratch : new Float64Array(maxDepth + 1);
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
    // what a book is made of, inline and only where it is within bounds (anything else, an error
    // included, takes the general path below): fixint, fixstr, float 64, fixmap / fixarray
    const c = b[p];
    if (c <= 0x7f || c >= 0xe0) {
      p++;
      continue;
    }
    if (c >= 0xa0 && c <= 0xbf && p + 1 + (c & 0x1f) <= end) {
      p += 1 + (c & 0x1f);
      continue;
    }
    if (c === 0xcb && p + 9 <= end) {
      p += 9;
      continue;
    }
    if (c <= 0x9f) {
      const n = c <= 0x8f ? 2 * (c & 0x0f) : c & 0x0f;
      if (n === 0) {
        p++;
        continue;
      }
      if (n <= end - p - 1 && depth < maxDepth) {
        p++;
        remaining[++depth] = n;
        continue;
      }
    }
    if (!head(b, p, end)) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: bad or truncated header 0x${b[p].toString(16)} at byte ${p}`);
    const next = p + hLen + hPayload;
    if (next > end) throw limitError(name, `declares ${hPayload} bytes at byte ${p}, more than the ${Math.max(0, end - p - hLen)} left in the input`);
    p = next;
    if (hChildren > 0) {
      if (hChildren > end - p) throw limitError(name, `declares ${hChildren} values at byte ${p - hLen}, more than the ${end - p} bytes left could hold`);
      if (depth + 1 > maxDepth) throw limitError(name, `nests arrays/maps deeper than ${maxDepth} levels (at byte ${p - hLen})`);
      remaining[++depth] = hChildren;
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
