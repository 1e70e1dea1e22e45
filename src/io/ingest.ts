/**
 * Book ingestion that uses every core: the input is read as a stream (never one giant string),
 * cut into chunks at entry boundaries on the main thread — JSON lines at newlines, msgpack at
 * value boundaries found by the structure walk that also enforces the decoder limits — and each
 * chunk is parsed and validated into columns by a pool of worker threads (ingest-chunk.ts),
 * in parallel with the reading. The chunks' columns come back in input order, as they are
 * (ingestBookParts: a book command resolves each as it arrives) or concatenated (ingestBook). A JSON array or a
 * single JSON document is parsed on the main thread (it has no entry boundaries to cut at: use
 * JSON lines, msgpack or the columnar format for large books); a columnar file is read as is.
 *
 * Memory: the input is held one read block plus the chunks in flight at a time; what stays is
 * the columns (≈ 32 bytes per position).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { findPackageRoot } from '../wasm/module.js';
import { ColumnsBuilder, bookIdOf, concatColumns, numberUnnamed, type BookColumns } from '../instruments/columns.js';
import { entryReader, ingestChunk, jsonLineEntries, type IngestResult, type IngestTask } from './ingest-chunk.js';
import type { StrikeSpec } from '../risk/rolling.js';
import { failedChunkColumns, faultResult, receiptOf, receiptProblem } from './ingest-receipt.js';
import { skipMsgpack } from './decode.js';
import { BlockSource } from './block-source.js';
import { isColumnsFile, readColumnSegments } from './book-columns.js';
import { InvalidEntry, parseBook } from './book-file.js';
import { workerExecArgv } from '../platform/workers.js';

export interface IngestOptions {
  /** worker threads parsing (1 = in-process) */
  threads: number;
  /** target bytes per chunk (default 4 MiB; the first three are an eighth, a quarter and a half of it) */
  chunkBytes?: number;
  /** bytes per read block (default BLOCK_BYTES, 8 MiB) */
  blockBytes?: number;
  /** progress: bytes read so far */
  onProgress?: (bytes: number) => void;
  /** a chunk a worker failed on (crash, error, timeout) is parsed in-process and reported here (default: stderr) */
  onWarning?: (message: string) => void;
  /**
   * Each chunk's columns as soon as it and every chunk before it are parsed, in input order (the
   * book runner resolves it while the workers parse the next ones: BookEngine.columnsLoad). The
   * ids of unnamed accounts are still '' here (numbered in the concatenated columns).
   */
  onChunk?: (columns: BookColumns) => void;
  /** Every chunk at once, before the first onChunk, when all are known from the start (a columnar file's segments): a consumer sizes its arrays once. */
  onAllChunks?: (chunks: readonly BookColumns[]) => void;
  /**
   * The book pool's workers, to parse on instead of starting a pool of their own (one set of
   * workers per run: BookEngine.sharedPool); null when that pool runs in-process (its workers
   * failed to start: the runner has said so), and then the chunks are parsed in-process too.
   */
  pool?: PromiseLike<Piscina | null>;
  /** a risk book (`optmargin var`): each entry read as a risk input, its `atm` positions struck on this market (ingest-chunk.ts entryReader) */
  strike?: StrikeSpec;
}

export interface IngestReport {
  format: 'jsonl' | 'json' | 'msgpack' | 'columns';
  bytes: number;
  chunks: number;
  /** ms reading + cutting on the main thread, ms waiting for the parsing workers (or parsing, on one thread), ms concatenating */
  readMs: number;
  parseMs: number;
  concatMs: number;
  /** ms spent in onChunk (on the main thread, between reads and waits) */
  consumeMs: number;
  /** the input is one JSON array (a JSON document listing accounts, even one) */
  jsonArray: boolean;
}

function notABook(name: string, what: string): OptmarginError {
  return new OptmarginError(
    ErrorCodes.INVALID_FILE,
    `${name} is not a book: ${what} (expected one account per JSON line, a JSON array of accounts, a msgpack array or stream of accounts, or a columnar book; see docs/book.md)`,
  );
}

function ingestWorkerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(findPackageRoot(), 'dist', 'src', 'io', 'ingest-worker.js') : join(dirname(here), 'ingest-worker.js');
}

/** Tries per chunk (the first, on a worker or in-process, then in-process retries) before its accounts are reported failed. */
const INGEST_ATTEMPTS = 3;

/** A chunk still parsing after this long is given up on that worker and parsed in-process (default 60 s, or OPTMARGIN_TASK_TIMEOUT_MS). */
function chunkTimeoutMs(): number {
  const env = Number(process.env.OPTMARGIN_TASK_TIMEOUT_MS);
  return env > 0 ? env : 60_000;
}

/**
 * Runs chunk tasks in order of submission, on a pool or in-process; results come back in order.
 * A chunk whose worker fails (exits, throws, does not start, or passes the timeout) is parsed
 * in-process — the same function — with a warning: no chunk is lost, the columns are the same.
 */
class ChunkParser {
  /** the workers parsing (resolved once started), or null: in-process */
  private readonly pool: PromiseLike<Piscina | null> | null;
  /** a pool started here (closed here), when no shared one was given */
  private readonly own: Piscina | null;
  /** the task's module on a shared pool (whose default module is the book worker's) */
  private readonly filename: string | undefined;
  /** chunks submitted and not yet handed over, in order; `r` is set once a chunk is parsed */
  private pending: { p: Promise<IngestResult>; r: IngestResult | null }[] = [];
  private waitMs = 0;
  private consumeMs = 0;
  private submitted = 0;
  /** chunks a worker failed on (each parsed in-process) */
  failed = 0;
  private readonly timeoutMs = chunkTimeoutMs();
  constructor(
    threads: number,
    private readonly warn: (message: string) => void,
    /** takes each parsed chunk, in input order */
    private readonly take: (r: IngestResult) => void,
    shared: PromiseLike<Piscina | null> | undefined,
  ) {
    const href = pathToFileURL(ingestWorkerFile()).href;
    this.own =
      threads > 1 && shared === undefined
        ? new Piscina({ filename: href, minThreads: threads, maxThreads: threads, idleTimeout: 1000, execArgv: workerExecArgv() })
        : null;
    this.own?.on('error', () => undefined); // a worker that fails to start: its tasks reject, and are parsed in-process below
    this.pool = threads <= 1 ? null : (shared ?? Promise.resolve(this.own));
    this.filename = shared === undefined ? undefined : href;
  }
  submit(t: IngestTask): void {
    const chunk = this.submitted++;
    const e = { p: this.pool ? this.onPool(this.pool, t, chunk) : Promise.resolve(this.inProcessFrom(t, chunk, 0, null)), r: null as IngestResult | null };
    // marks the chunk parsed (a rejection is seen where the chunk is awaited, in drainTo)
    e.p.then((r) => void (e.r = r), () => undefined);
    this.pending.push(e);
  }
  private async onPool(started: PromiseLike<Piscina | null>, t: IngestTask, chunk: number): Promise<IngestResult> {
    const pool = await started;
    if (pool === null) return this.inProcessFrom(t, chunk, 0, null);
    // the chunk's bytes are in shared memory (BlockSource): the worker reads them in place, no copy
    // is made to send them, and they stay here for an in-process retry (no thread writes them)
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeoutMs); // ref'd: a hung worker cannot leave the process idle
    let why: string;
    try {
      const r: IngestResult = await pool.run({ ...t, chunk, attempt: 0 }, { signal: ctl.signal, filename: this.filename });
      const problem = receiptProblem(chunk, t.entries, r.columns, r.receipt);
      if (problem === null) return r;
      why = problem;
    } catch (e) {
      why = ctl.signal.aborted ? `no result after ${this.timeoutMs} ms` : e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
    }
    return this.inProcessFrom(t, chunk, 1, why);
  }
  /**
   * Attempts `from`, … of a chunk in-process (one thread's chunks, or a worker's chunk retried:
   * its time counts as parsing, not reading), each accepted only by its receipt. A chunk that
   * fails every attempt becomes one OPTMARGIN_WORKER_FAILED account per entry (exit 3). An error
   * in the input itself throws here, as on one thread. `why`: what failed before (a worker).
   */
  private inProcessFrom(t: IngestTask, chunk: number, from: number, why: string | null): IngestResult {
    const worker = why;
    for (let attempt = from; attempt < INGEST_ATTEMPTS; attempt++) {
      const t0 = performance.now();
      let r: IngestResult;
      try {
        r = faultResult(ingestChunk(t), chunk, attempt);
      } finally {
        this.waitMs += performance.now() - t0;
      }
      const problem = receiptProblem(chunk, t.entries, r.columns, r.receipt);
      if (problem === null) {
        if (why !== null && this.failed++ === 0) {
          this.warn(worker !== null ? `an ingestion worker failed on chunk ${chunk} (${worker}); the chunk was parsed in-process` : `chunk ${chunk} failed its receipt check (${why}); it was parsed again`);
        }
        return r;
      }
      why = problem;
    }
    this.warn(`chunk ${chunk} of the input failed all ${INGEST_ATTEMPTS} attempts (last: ${why}); its ${t.entries} accounts are reported ${ErrorCodes.WORKER_FAILED}`);
    const columns = failedChunkColumns(t.entries, why ?? 'unknown');
    return { columns, receipt: receiptOf(columns), accountLike: t.entries };
  }
  /** Chunks in flight (to bound memory: the reader waits when too many are). */
  get inFlight(): number {
    return this.pending.length;
  }
  /** Hands over, in order, the chunks already parsed (no waiting): the consumer's work overlaps the parsing of later chunks. */
  takeReady(): void {
    while (this.pending.length > 0 && this.pending[0].r !== null) this.deliver(this.pending.shift()!.r!);
  }

  /** Waits until at most `max` chunks are in flight, handing each over in order. */
  async drainTo(max: number): Promise<void> {
    this.takeReady();
    while (this.pending.length > max) {
      const t0 = performance.now();
      const r = await this.pending.shift()!.p;
      this.waitMs += performance.now() - t0;
      this.deliver(r);
      this.takeReady();
    }
  }

  private deliver(r: IngestResult): void {
    const t0 = performance.now();
    this.take(r);
    this.consumeMs += performance.now() - t0;
  }

  get consumed(): number {
    return this.consumeMs;
  }
  get waited(): number {
    return this.waitMs;
  }
  async close(): Promise<void> {
    if (this.failed > 1) this.warn(`ingestion workers failed on ${this.failed} chunks in all; each was parsed in-process`);
    await this.own?.destroy(); // a shared pool is its owner's to close
  }
}

/** Bytes [from, to) of a shared piece, as a chunk's bytes (a view: nothing copied). */
function chunkOf(b: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + from, to - from);
}

/** msgpack array header at p: [count, header length], or null when the byte is not an array header. */
function arrayHeader(b: Uint8Array, p: number): [number, number] | null {
  const c = b[p];
  if (c >= 0x90 && c <= 0x9f) return [c & 0x0f, 1];
  if (c === 0xdc && p + 3 <= b.length) return [(b[p + 1] << 8) | b[p + 2], 3];
  if (c === 0xdd && p + 5 <= b.length) return [b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]), 5];
  return null;
}

/**
 * Reads a book file (or `-`) into columns with `threads` parsing threads. JSON arrays / single
 * JSON documents go through the whole-document parser (parseBook).
 */
export async function ingestBook(file: string, opts: IngestOptions): Promise<{ columns: BookColumns; report: IngestReport }> {
  const { parts, report } = await ingestBookParts(file, opts);
  const t0 = performance.now();
  const columns = parts.length === 0 ? new ColumnsBuilder().build() : concatColumns(parts);
  numberUnnamed(columns);
  return { columns, report: { ...report, concatMs: report.concatMs + performance.now() - t0 } };
}

/**
 * Reads a book file (or `-`) as the chunks it was parsed in (or a columnar file's segments), in
 * input order, not concatenated (instruments/column-parts.ts); unnamed accounts' ids are still ''.
 */
export async function ingestBookParts(file: string, opts: IngestOptions): Promise<{ parts: BookColumns[]; report: IngestReport }> {
  const src = new BlockSource(file, opts.blockBytes);
  try {
    return await ingestFrom(src, file, opts);
  } finally {
    await src.close();
  }
}

async function ingestFrom(src: BlockSource, file: string, opts: IngestOptions): Promise<{ parts: BookColumns[]; report: IngestReport }> {
  const name = file === '-' ? 'standard input' : file;
  const t0 = performance.now();
  const fullChunk = opts.chunkBytes ?? 4 << 20;
  // the first chunks ramp up (1/8, 1/4, 1/2 of a chunk, then whole ones): the first parsed chunk
  // reaches the main thread's resolve while the workers are still warming up, not a chunk's
  // whole parse on a cold worker later
  let chunkBytes = Math.max(1, fullChunk >> 3);
  let buf: Buffer = Buffer.alloc(0);
  let eof = false;
  // the bytes not yet cut and the next block, in one piece of shared memory (chunks are views of it)
  const more = async (): Promise<boolean> => {
    if (eof) return false;
    const next = await src.next(buf);
    if (next === null) {
      eof = true;
      return false;
    }
    buf = next;
    opts.onProgress?.(src.total);
    return true;
  };
  // the rest of the input in one piece (a document read whole)
  const rest = async (): Promise<void> => {
    buf = await src.all(buf, opts.onProgress);
    eof = true;
  };
  // sniff the format from the first non-blank byte
  let p = 0;
  for (;;) {
    while (p < buf.length && (buf[p] === 0x20 || buf[p] === 0x0a || buf[p] === 0x0d || buf[p] === 0x09 || (p < 3 && (buf[p] === 0xef || buf[p] === 0xbb || buf[p] === 0xbf)))) p++;
    if (p < buf.length && buf.length >= 8) break;
    if (!(await more())) break;
  }
  if (p >= buf.length) throw notABook(name, 'the file is empty');
  if (isColumnsFile(buf)) {
    await rest();
    const t1 = performance.now();
    const parts = readColumnSegments(buf, name);
    const t2 = performance.now();
    opts.onAllChunks?.(parts);
    for (const c of parts) opts.onChunk?.(c);
    return { parts, report: { format: 'columns', bytes: src.total, chunks: parts.length, readMs: t1 - t0, parseMs: t2 - t1, concatMs: 0, consumeMs: performance.now() - t2, jsonArray: false } };
  }
  const first = buf[p];
  const jsonLines = first === 0x7b && (await isJsonLines());
  async function isJsonLines(): Promise<boolean> {
    // JSON lines when a second non-blank line starts with `{` after the first line ends
    for (;;) {
      const nl = buf.indexOf(0x0a, p);
      if (nl >= 0) {
        let q = nl + 1;
        while (q < buf.length && (buf[q] === 0x20 || buf[q] === 0x0a || buf[q] === 0x0d || buf[q] === 0x09)) q++;
        if (q < buf.length) return buf[q] === 0x7b;
      }
      if (!(await more())) return false;
    }
  }
  if (first === 0x5b || (first === 0x7b && !jsonLines)) {
    // one JSON document (an array of accounts, or one account): parsed whole
    await rest();
    const t1 = performance.now();
    const { accounts, format } = parseBook(buf, name);
    const read = entryReader(opts.strike);
    const b = new ColumnsBuilder();
    accounts.forEach((raw, k) => {
      if (raw instanceof InvalidEntry) return b.addInvalid(raw.id, { code: ErrorCodes.INVALID_INPUT, message: raw.message });
      try {
        b.add(read(raw));
      } catch (e) {
        if (!(e instanceof OptmarginError)) throw e;
        b.addInvalid(bookIdOf(raw, k), e.path === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, path: e.path });
      }
    });
    const columns = b.build();
    const t2 = performance.now();
    opts.onChunk?.(columns);
    return { parts: [columns], report: { format: 'json', bytes: src.total, chunks: 1, readMs: t1 - t0, parseMs: t2 - t1, concatMs: 0, consumeMs: performance.now() - t2, jsonArray: format === 'json' } };
  }
  const done: IngestResult[] = [];
  const take = (r: IngestResult): void => {
    if (done.length === 0 && r.firstNotAccount) throw notABook(name, r.firstNotAccount);
    done.push(r);
    opts.onChunk?.(r.columns);
  };
  const parser = new ChunkParser(opts.threads, opts.onWarning ?? ((m) => void process.stderr.write(`optmargin: ${m}\n`)), take, opts.pool);
  const maxInFlight = 2 * Math.max(1, opts.threads) + 2;
  let index = 0; // msgpack: accounts submitted so far
  let line = 1;
  let chunks = 0;
  const submit = async (task: IngestTask): Promise<void> => {
    chunks++;
    chunkBytes = Math.min(fullChunk, 2 * chunkBytes);
    parser.submit(task);
    await parser.drainTo(maxInFlight);
  };
  try {
    if (jsonLines) {
      const cutLines = async (end: number): Promise<void> => {
        if (end > 0) {
          const bytes = chunkOf(buf, 0, end);
          const firstLine = line;
          for (let q = bytes.indexOf(0x0a); q >= 0; q = bytes.indexOf(0x0a, q + 1)) line++;
          await submit({ format: 'jsonl', bytes, firstLine, firstIndex: -1, entries: jsonLineEntries(bytes), strike: opts.strike });
        }
        buf = buf.subarray(end);
      };
      for (;;) {
        if (buf.length < chunkBytes && !eof) {
          // the block's last whole lines go as one chunk when they fill half a chunk: only a partial line is copied behind the next block
          const nl = buf.length >= chunkBytes / 2 ? buf.lastIndexOf(0x0a) : -1;
          if (nl >= 0) await cutLines(nl + 1);
          if (await more()) continue;
        }
        let end: number;
        if (eof) end = buf.length;
        else {
          const nl = buf.lastIndexOf(0x0a, chunkBytes - 1);
          const far = nl < 0 ? buf.indexOf(0x0a, chunkBytes) : nl; // a line longer than a chunk
          if (far < 0) {
            if (await more()) continue;
            end = buf.length;
          } else end = far + 1;
        }
        await cutLines(end);
        if (eof && buf.length === 0) break;
      }
    } else {
      // msgpack: an array of accounts, or a stream (sequence) of account values
      let q = p;
      const head = arrayHeader(buf, q);
      let remaining = Infinity;
      if (head) {
        remaining = head[0];
        q += head[1];
      }
      let chunkStart = q;
      let count = 0;
      const cut = async (): Promise<void> => {
        await submit({ format: 'msgpack', bytes: chunkOf(buf, chunkStart, q), firstLine: 0, firstIndex: index, entries: count, strike: opts.strike });
        index += count;
        count = 0;
        buf = buf.subarray(q);
        q = 0;
        chunkStart = 0;
      };
      // before the next block: the block's last whole values go as one chunk when they fill half a
      // chunk, so that only a partial value is copied behind the next block
      const moreAfterCut = async (): Promise<boolean> => {
        if (eof) return false;
        if (q - chunkStart >= chunkBytes / 2) await cut();
        return more();
      };
      for (;;) {
        if (remaining === 0 || q >= buf.length) {
          if (q < buf.length && remaining === 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: ${buf.length - q} bytes after the array`);
          if (await moreAfterCut()) continue;
          break;
        }
        let next: number;
        try {
          next = skipMsgpack(buf, q, buf.length, name);
        } catch (e) {
          if (await moreAfterCut()) continue; // the value may continue in the next block
          throw e;
        }
        q = next;
        count++;
        remaining--;
        if (q - chunkStart >= chunkBytes) await cut();
      }
      if (remaining !== Infinity && remaining > 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid msgpack: the array declares ${remaining} more accounts than the file holds`);
      if (q > chunkStart) await submit({ format: 'msgpack', bytes: chunkOf(buf, chunkStart, q), firstLine: 0, firstIndex: index, entries: count, strike: opts.strike });
    }
    const t1 = performance.now();
    const busyReading = parser.waited + parser.consumed; // the final drain below adds to both
    await parser.drainTo(0);
    if (done.reduce((s, r) => s + r.accountLike, 0) === 0 && done.reduce((s, r) => s + r.columns.n, 0) > 0) throw notABook(name, 'no entry holds an account');
    return {
      parts: done.map((r) => r.columns),
      report: { format: jsonLines ? 'jsonl' : 'msgpack', bytes: src.total, chunks, readMs: t1 - t0 - busyReading, parseMs: parser.waited, concatMs: 0, consumeMs: parser.consumed, jsonArray: false },
    };
  } finally {
    await parser.close();
  }
}
