/**
 * Receipts of ingestion chunks (issue 9 "Each chunk returns a count and checksum of what it
 * computed, verified by the main thread"). The reading thread counts the entries it cut into a
 * chunk (msgpack: the values its structure walk crossed; JSON lines: the non-blank lines) before
 * sending it; the parser returns with its columns a receipt { count, checksum } computed over
 * what it produced; the main thread accepts the chunk only when the receipt's count is the one
 * it cut, the columns hold that many accounts, and the checksum of the columns as received is
 * the receipt's. A chunk that fails the check is parsed again (in-process); one that fails every
 * attempt becomes one OPTMARGIN_WORKER_FAILED account per entry (exit 3), never missing accounts.
 *
 * The checksum is the FNV-1a word hash of the book runner's chunk receipts (runner/book/receipt.ts).
 *
 * Test hook (test/ingest-faults.test.ts): OPTMARGIN_INGEST_FAULT, the grammar of OPTMARGIN_FAULT
 * (runner/book/faults.ts), `exit|throw|hang|start` in the ingestion workers, and two faults of
 * the result that apply in workers and in-process: `silent` (the chunk returns nothing, with a
 * receipt of nothing) and `corrupt` (a value of the columns changes after the receipt is made).
 * `attempts=all` faults every attempt, in-process ones included.
 */
import { ErrorCodes } from '../errors.js';
import { ColumnsBuilder, type BookColumns } from '../instruments/columns.js';
import { hashWords } from '../runner/book/receipt.js';
import { parseFault, type Fault } from '../runner/book/faults.js';

export interface IngestReceipt {
  /** accounts in the chunk's columns (one per entry) */
  count: number;
  checksum: number;
}

function hashBytes(h: number, a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i], 16777619);
  return h;
}

function hashString(h: number, s: string): number {
  h = Math.imul(h ^ s.length, 16777619);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

const words = (a: Int32Array | Float64Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.byteLength >> 2);

/** Checksum of a chunk's columns: every array, string table, error and account currency. */
export function columnsChecksum(c: BookColumns): number {
  let h = hashString(0x811c9dc5, String(c.n));
  h = hashBytes(h, c.mode);
  for (const a of [c.posStart, c.colStart, c.instr, c.pcolStart, c.cur, c.pcur, c.size, c.entry, c.amount, c.pamount]) {
    const w = words(a);
    h = hashWords(h, w, 0, w.length);
  }
  for (const list of [c.ids, c.names, c.currencies]) for (const s of list) h = hashString(h, s);
  for (const [k, e] of c.errors) h = hashString(hashString(hashString(h, String(k)), e.code), e.message);
  for (const [k, cur] of c.settlement) h = hashString(hashString(h, String(k)), cur);
  return h >>> 0;
}

export function receiptOf(c: BookColumns): IngestReceipt {
  return { count: c.n, checksum: columnsChecksum(c) };
}

/** Why a parsed chunk cannot be accepted, or null: its receipt against the entries cut and the columns received. */
export function receiptProblem(chunk: number, entries: number, columns: BookColumns, receipt: IngestReceipt | undefined): string | null {
  if (!receipt || typeof receipt.count !== 'number' || typeof receipt.checksum !== 'number') return `chunk ${chunk} returned no receipt`;
  if (receipt.count !== entries) return `chunk ${chunk} parsed ${receipt.count} entries, ${entries} were sent`;
  if (columns.n !== entries) return `chunk ${chunk} returned ${columns.n} accounts for ${entries} entries`;
  const sum = columnsChecksum(columns);
  if (sum !== receipt.checksum) return `chunk ${chunk} checksum ${receipt.checksum.toString(16)} does not match its columns (${sum.toString(16)})`;
  return null;
}

/** The columns of a chunk that failed every attempt: one OPTMARGIN_WORKER_FAILED account per entry (ids numbered `#<index>` with the book). */
export function failedChunkColumns(entries: number, why: string): BookColumns {
  const b = new ColumnsBuilder();
  for (let j = 0; j < entries; j++) b.addInvalid('', { code: ErrorCodes.WORKER_FAILED, message: `ingestion of this account's chunk failed every attempt: ${why}` });
  return b.build();
}

export const ingestFault: Fault | null = parseFault(process.env.OPTMARGIN_INGEST_FAULT);

/** Whether attempt `attempt` of chunk `chunk` is the one to fault. */
export function faulted(chunk: number, attempt: number): Fault | null {
  const f = ingestFault;
  return f && chunk === f.chunk && attempt < f.attempts ? f : null;
}

/** Applies a `silent` or `corrupt` fault to a chunk's result (after its receipt was made). */
export function faultResult<R extends { columns: BookColumns; receipt: IngestReceipt }>(r: R, chunk: number, attempt: number): R {
  const f = faulted(chunk, attempt);
  if (f?.kind === 'silent') return { ...r, columns: new ColumnsBuilder().build(), receipt: { count: 0, checksum: 0 } };
  if (f?.kind === 'corrupt' && r.columns.size.length > 0) r.columns.size[0] = -r.columns.size[0];
  return r;
}
