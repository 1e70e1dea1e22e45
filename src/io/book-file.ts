/**
 * Book files (docs/book.md): one account per JSON line (JSON lines), a JSON array of accounts,
 * or a msgpack array of accounts; the account schema is the margin engine's (validateAccount).
 * A JSON line that does not parse becomes that account's error (the book still runs); a file
 * that is not a book at all fails with INVALID_FILE. Output files are written to a temporary
 * file then renamed, so a failed run never leaves a partial file.
 */
import { encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import { decodeMsgpack, firstByte, jsonNestingViolation, MAX_NESTING, msgpackArrayHeader, parseJsonText } from './decode.js';
export { writeFileAtomic } from './atomic.js';
import { ColumnsBuilder } from '../instruments/columns.js';
import { SEGMENT_ACCOUNTS, columnsFileEnd, columnsFileHead, encodeColumns, encodeSegment } from './book-columns.js';
import type { AccountInput } from '../measures/types.js';
import { InvalidEntry } from '../runner/book/types.js';

export { InvalidEntry } from '../runner/book/types.js';

export type BookFormat = 'jsonl' | 'json' | 'msgpack' | 'columns';

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
  const first = firstByte(bytes);
  if (first < 0) throw notABook(name, 'the file is empty');
  if (first === 0x5b /* [ */ || first === 0x7b /* { */) {
    const text = Buffer.from(bytes).toString('utf8');
    let whole: unknown;
    let parsed = false;
    if (first === 0x5b) {
      whole = parseJsonText(text, name);
      parsed = true;
    } else {
      try {
        whole = parseJsonText(text, name);
        parsed = true;
      } catch (e) {
        // not one JSON document: JSON lines (each line is bounded below)
        if (!(e instanceof OptmarginError) || e.code === ErrorCodes.LIMIT_EXCEEDED) throw e;
        parsed = false;
      }
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
        if (jsonNestingViolation(line) >= 0) throw new SyntaxError(`it nests deeper than ${MAX_NESTING} levels`);
        const v = JSON.parse(line);
        if (!looksLikeAccount(v)) {
          if (good === 0 && bad === 0) throw notABook(name, `line ${i + 1} holds ${describe(v)}, not an account`);
        } else good++;
        accounts.push(v);
      } catch (e) {
        if (e instanceof OptmarginError) throw e;
        bad++;
        const id = /"id"\s*:\s*"([^"]{1,100})"/.exec(line)?.[1] ?? `line ${i + 1}`;
        accounts.push(new InvalidEntry(id, `line ${i + 1} is not valid JSON${/nests deeper/.test((e as Error).message) ? `: ${(e as Error).message}` : ''}`));
      }
    }
    if (good === 0) throw notABook(name, 'no line holds a JSON account');
    return { accounts, format: 'jsonl' };
  }
  let v: unknown;
  try {
    v = decodeMsgpack(bytes, name);
  } catch (e) {
    if (e instanceof OptmarginError && e.code === ErrorCodes.INVALID_FILE) throw notABook(name, `it is neither JSON nor msgpack (${e.message.slice(name.length + 1)})`);
    throw e;
  }
  if (!Array.isArray(v)) throw notABook(name, `the msgpack document is ${describe(v)}`);
  return { accounts: v, format: 'msgpack' };
}

export function bookFormatOf(file: string): BookFormat {
  if (file.endsWith('.ombook')) return 'columns';
  if (file.endsWith('.msgpack') || file.endsWith('.mpk')) return 'msgpack';
  if (file.endsWith('.json')) return 'json';
  return 'jsonl';
}

/**
 * Writes a book of a known number of accounts one account at a time, in ~1 MB pieces handed to
 * `sink` (a file or standard output) — the columnar format one segment (SEGMENT_ACCOUNTS
 * accounts) at a time: bounded memory for any book size.
 */
export class BookWriter {
  private parts: (Uint8Array | string)[] = [];
  private pending = 0;
  private k = 0;
  /** the columnar format: the segment being built (SEGMENT_ACCOUNTS accounts at most), written when full */
  private columns: ColumnsBuilder | null = null;
  constructor(
    private readonly format: BookFormat,
    private readonly count: number,
    private readonly sink: (chunk: Uint8Array) => void | Promise<void>,
    /** columnar format: accounts per segment */
    private readonly segmentAccounts = SEGMENT_ACCOUNTS,
  ) {
    if (format === 'msgpack') this.push(msgpackArrayHeader(count));
    else if (format === 'json') this.push('[');
    else if (format === 'columns') {
      this.push(columnsFileHead());
      this.columns = new ColumnsBuilder();
    }
  }

  private push(p: Uint8Array | string): void {
    this.parts.push(p);
    this.pending += p.length;
  }

  async add(a: AccountInput): Promise<void> {
    if (this.columns) {
      this.columns.add(a);
      this.k++;
      if (this.columns.count === this.segmentAccounts) await this.endSegment();
      return;
    }
    if (this.format === 'msgpack') this.push(encode(a));
    else if (this.format === 'json') this.push((this.k > 0 ? ',\n' : '\n') + JSON.stringify(a));
    else this.push(JSON.stringify(a) + '\n');
    this.k++;
    if (this.pending >= 1 << 20) await this.flush();
  }

  /** Writes the segment built so far and starts the next one. */
  private async endSegment(): Promise<void> {
    for (const part of encodeSegment(this.columns!.build())) this.push(part);
    this.columns = new ColumnsBuilder();
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = Buffer.concat(this.parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.parts = [];
    this.pending = 0;
    await this.sink(chunk);
  }

  async end(): Promise<void> {
    if (this.k !== this.count) throw new OptmarginError(ErrorCodes.INTERNAL, `book writer: ${this.k} accounts written, ${this.count} announced`);
    if (this.format === 'json') this.push('\n]\n');
    if (this.columns) {
      if (this.columns.count > 0) await this.endSegment();
      this.push(columnsFileEnd(this.k));
    }
    await this.flush();
  }
}

/** Serializes a book: JSON lines (default), JSON array, msgpack array, or the columnar format. */
export function serializeBook(accounts: readonly AccountInput[], format: BookFormat): Uint8Array {
  if (format === 'columns') {
    const b = new ColumnsBuilder();
    for (const a of accounts) b.add(a);
    return Buffer.concat(encodeColumns(b.build()));
  }
  if (format === 'msgpack') return encode(accounts);
  if (format === 'json') return Buffer.from(JSON.stringify(accounts) + '\n');
  const parts: string[] = new Array(accounts.length);
  for (let k = 0; k < accounts.length; k++) parts[k] = JSON.stringify(accounts[k]);
  return Buffer.from(parts.join('\n') + '\n');
}
