/**
 * The input of a book ingestion (io/ingest.ts), read in blocks. Each block lands in one piece of
 * shared memory right behind the bytes not yet cut into chunks: chunks are views of that memory
 * that the ingestion workers read in place. A file is read with `read(2)` straight into the
 * shared piece (no intermediate buffer, no copy of the block); standard input comes as the
 * stream's buffers, gathered up to a block and copied once behind the rest.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCodes, OptmarginError } from '../errors.js';

/** Bytes per read block. */
export const BLOCK_BYTES = 8 << 20;

/** Reads the file on into `b` from byte `at` until `b` is full or the file ends; returns where the bytes end. */
async function fill(fh: FileHandle, b: Buffer, at: number): Promise<number> {
  while (at < b.length) {
    const { bytesRead } = await fh.read(b, at, b.length - at, null);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return at;
}

export class BlockSource {
  /** bytes read so far */
  total = 0;
  private fh: FileHandle | null = null;
  private stream: AsyncIterator<Buffer> | null = null;
  private done = false;

  constructor(
    private readonly file: string,
    /** bytes per block (tests use small ones to put block ends everywhere) */
    private readonly blockBytes = BLOCK_BYTES,
  ) {}

  private fail(e: unknown): never {
    const what = this.file === '-' ? 'standard input' : this.file;
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  /** The rest followed by the next block, in one piece of shared memory; null at the end of the input (nothing read). */
  async next(rest: Uint8Array): Promise<Buffer | null> {
    if (this.done) return null;
    if (this.file === '-') return this.nextFromStream(rest);
    try {
      this.fh ??= await open(this.file, 'r');
      const piece = Buffer.from(new SharedArrayBuffer(rest.length + this.blockBytes));
      piece.set(rest, 0);
      const at = await fill(this.fh, piece, rest.length);
      if (at < piece.length) this.done = true;
      if (at === rest.length) return null;
      this.total += at - rest.length;
      return piece.subarray(0, at);
    } catch (e) {
      if (e instanceof OptmarginError) throw e;
      this.fail(e);
    }
  }

  /** Standard input: the stream's buffers gathered up to a block (a pipe gives 64 KiB at a time), then joined behind the rest. */
  private async nextFromStream(rest: Uint8Array): Promise<Buffer | null> {
    const got: Buffer[] = [];
    let n = 0;
    try {
      this.stream ??= (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      while (n < this.blockBytes) {
        const r = await this.stream.next();
        if (r.done) {
          this.done = true;
          break;
        }
        got.push(r.value);
        n += r.value.length;
      }
    } catch (e) {
      this.fail(e);
    }
    if (n === 0) return null;
    const piece = Buffer.from(new SharedArrayBuffer(rest.length + n));
    piece.set(rest, 0);
    let at = rest.length;
    for (const b of got) {
      piece.set(b, at);
      at += b.length;
    }
    this.total += n;
    return piece;
  }

  /**
   * The rest followed by everything left, in one buffer (a document read whole): a file is read
   * straight into one buffer of its size, standard input gathered and joined once at the end.
   */
  async all(rest: Buffer, onProgress?: (bytes: number) => void): Promise<Buffer> {
    const parts: Buffer[] = [rest];
    if (this.file !== '-' && !this.done) {
      try {
        this.fh ??= await open(this.file, 'r');
        const left = Math.max(0, (await this.fh.stat()).size - this.total);
        const whole = Buffer.allocUnsafe(rest.length + left);
        whole.set(rest, 0);
        const at = await fill(this.fh, whole, rest.length);
        this.total += at - rest.length;
        onProgress?.(this.total);
        parts[0] = whole.subarray(0, at);
        if (at < whole.length) this.done = true;
      } catch (e) {
        this.fail(e);
      }
    }
    // what is still there (standard input; a file that grew since its size was read)
    for (let b = await this.next(new Uint8Array(0)); b !== null; b = await this.next(new Uint8Array(0))) {
      parts.push(b);
      onProgress?.(this.total);
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}
