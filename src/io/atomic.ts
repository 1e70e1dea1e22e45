/**
 * Output files that cannot lie: written to a temporary file beside the target, every write
 * checked to its last byte (short writes continued, a write of zero bytes is an error), fsynced,
 * then renamed over the target and the directory fsynced. On any error the temporary file is
 * removed and the previous target is left untouched. Temporary files still open when the process
 * is interrupted (SIGINT, SIGTERM) or exits are removed (installCleanup).
 *
 * `AtomicFile.create` opens the temporary file before any work starts, which is how `--out` is
 * checked for writability up front.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, OptmarginError } from '../errors.js';

/** The file-system calls used (a test hook replaces writeSync to simulate a full disk or short writes). */
export interface FileIo {
  writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number;
}

const realIo: FileIo = { writeSync: (fd, buf, offset, length) => writeSync(fd, buf, offset, length) };
let io: FileIo = realIo;

/** Test hook: the write call every AtomicFile uses (null restores the real one). */
export function setFileIoForTests(hook: FileIo | null): void {
  io = hook ?? realIo;
}

/** Temporary files open right now (removed on exit or interruption). */
const open = new Set<AtomicFile>();

function outputError(file: string, e: unknown): OptmarginError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EDQUOT' ? 'disk quota exceeded' : code ?? (e as Error)?.message ?? String(e);
  return new OptmarginError(ErrorCodes.OUTPUT_FAILED, `cannot write ${JSON.stringify(file)}: ${why} (nothing was written; the previous file, if any, is unchanged)`);
}

/** Writes all of `buf` to `fd` (continues short writes); throws on a write of zero bytes. */
export function writeFully(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    const n = io.writeSync(fd, buf, off, buf.length - off);
    if (!(n > 0)) {
      const e = new Error('a write stored nothing') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    }
    off += n;
  }
}

export class AtomicFile {
  readonly target: string;
  readonly tmp: string;
  private fd: number;
  private bytes = 0;

  private constructor(target: string, tmp: string, fd: number) {
    this.target = target;
    this.tmp = tmp;
    this.fd = fd;
  }

  /** Opens the temporary file beside `target`: fails now (INVALID_OPTION) when the directory is not writable. */
  static create(target: string): AtomicFile {
    const abs = resolve(target);
    const tmp = join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    // the handlers first: a signal that lands just after the file appears must find them (else
    // the default action kills the process and leaves the temporary file)
    installCleanup();
    let fd: number;
    try {
      fd = openSync(tmp, 'wx', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--out ${JSON.stringify(target)} cannot be written: ${code} creating a file in ${JSON.stringify(dirname(abs))}`);
    }
    const f = new AtomicFile(target, tmp, fd);
    open.add(f);
    return f;
  }

  /** Appends bytes (checked to the last byte). */
  write(data: Uint8Array | string): void {
    if (this.fd < 0) throw new OptmarginError(ErrorCodes.INTERNAL, `write to ${this.target} after commit or abort`);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      writeFully(this.fd, buf);
    } catch (e) {
      this.abort();
      throw outputError(this.target, e);
    }
    this.bytes += buf.length;
  }

  get written(): number {
    return this.bytes;
  }

  /** fsync, close, rename over the target, fsync the directory. */
  commit(): void {
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.tmp, this.target);
      open.delete(this);
    } catch (e) {
      this.abort();
      throw outputError(this.target, e);
    }
    try {
      const dfd = openSync(dirname(resolve(this.target)), 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch (e) {
      // some file systems refuse fsync on a directory (EINVAL/EISDIR): the rename itself is done
      if (!['EINVAL', 'EISDIR', 'EBADF', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw outputError(this.target, e);
    }
  }

  /** Closes and removes the temporary file (idempotent). */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch (e) {
        void e; // already closed: nothing left to release
      }
      this.fd = -1;
    }
    rmSync(this.tmp, { force: true });
    open.delete(this);
  }
}

/** Writes `data` to `file` atomically (see the module comment). */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const f = AtomicFile.create(file);
  f.write(data);
  f.commit();
}

/** Removes every temporary file still open (on exit, on a signal, or after an error). */
export function abortOpenFiles(): void {
  for (const f of [...open]) f.abort();
}

/** Lets pending signals (SIGINT / SIGTERM) run their handlers: call between pieces of work and before a commit. */
export async function yieldToSignals(): Promise<void> {
  // two turns of the event loop: libuv reads the signal in one, Node runs the handler in the next
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

let installed = false;
/** On SIGINT / SIGTERM: remove temporary files, exit 130 / 143 (128 + signal). On exit: remove them. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', abortOpenFiles);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      abortOpenFiles();
      process.stderr.write(`optmargin: interrupted by ${sig}; no output file was written\n`);
      process.exit(code);
    });
  }
}
