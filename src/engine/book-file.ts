/**
 * Book files (docs/book.md): one account per JSON line (JSON lines), a JSON array of accounts,
 * or a msgpack array of accounts; the account schema is the margin engine's (validateAccount).
 * A JSON line that does not parse becomes that account's error (the book still runs); a file
 * that is not a book at all fails with INVALID_FILE. Output files are written to a temporary
 * file then renamed, so a failed run never leaves a partial file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { AccountInput } from '../margin/types.js';

/** A book entry that could not even be parsed (a malformed JSON line): its result is this error. */
export class InvalidEntry {
  constructor(
    readonly id: string,
    readonly message: string,
  ) {}
}

export type BookFormat = 'jsonl' | 'json' | 'msgpack';

function notABook(name: string, what: string): OptmarginError {
  return new OptmarginError(
    ErrorCodes.INVALID_FILE,
    `${name} is not a book: ${what} (expected one account per JSON line, a JSON array of accounts, or a msgpack array; see docs/book.md)`,
  );
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const f = (v as { format?: unknown }).format;
    return typeof f === 'string' ? `a ${JSON.stringify(f)} document` : `an object with keys ${Object.keys(v).slice(0, 5).join(', ') || '(none)'}`;
  }
  return `a ${typeof v}`;
}

const looksLikeAccount = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && ('positions' in v || 'mode' in v || 'collateral' in v);

/** Parses book bytes; `name` labels errors. */
export function parseBook(bytes: Uint8Array, name: string): { accounts: unknown[]; format: BookFormat } {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === undefined) throw notABook(name, 'the file is empty');
  if (first === 0x5b /* [ */ || first === 0x7b /* { */) {
    const text = Buffer.from(bytes).toString('utf8');
    let whole: unknown;
    let parsed = false;
    try {
      whole = JSON.parse(text);
      parsed = true;
    } catch {
      parsed = false;
    }
    if (parsed) {
      if (Array.isArray(whole)) return { accounts: whole, format: 'json' };
      if (looksLikeAccount(whole)) return { accounts: [whole], format: 'jsonl' };
      throw notABook(name, `it holds ${describe(whole)}`);
    }
    if (first === 0x5b) throw notABook(name, 'it starts like a JSON array but is not valid JSON');
    // JSON lines
    const lines = text.split('\n');
    const accounts: unknown[] = [];
    let good = 0;
    let bad = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      try {
        const v = JSON.parse(line);
        if (!looksLikeAccount(v)) {
          if (good === 0 && bad === 0) throw notABook(name, `line ${i + 1} holds ${describe(v)}, not an account`);
        } else good++;
        accounts.push(v);
      } catch (e) {
        if (e instanceof OptmarginError) throw e;
        bad++;
        const id = /"id"\s*:\s*"([^"]{1,100})"/.exec(line)?.[1] ?? `line ${i + 1}`;
        accounts.push(new InvalidEntry(id, `line ${i + 1} is not valid JSON: ${(e as Error).message}`));
      }
    }
    if (good === 0) throw notABook(name, 'no line holds a JSON account');
    return { accounts, format: 'jsonl' };
  }
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (e) {
    throw notABook(name, `it is neither JSON nor msgpack (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw notABook(name, `the msgpack document is ${describe(v)}`);
  return { accounts: v, format: 'msgpack' };
}

/** Writes `data` to `file` atomically: a temporary file in the same directory, then rename. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `cannot write ${JSON.stringify(file)}: ${(e as Error).message}`);
  }
}

export function bookFormatOf(file: string): BookFormat {
  if (file.endsWith('.msgpack') || file.endsWith('.mpk')) return 'msgpack';
  if (file.endsWith('.json')) return 'json';
  return 'jsonl';
}

/** Serializes a book: JSON lines (default), JSON array, or msgpack array. */
export function serializeBook(accounts: readonly AccountInput[], format: BookFormat): Uint8Array {
  if (format === 'msgpack') return encode(accounts);
  if (format === 'json') return Buffer.from(JSON.stringify(accounts) + '\n');
  const parts: string[] = new Array(accounts.length);
  for (let k = 0; k < accounts.length; k++) parts[k] = JSON.stringify(accounts[k]);
  return Buffer.from(parts.join('\n') + '\n');
}
