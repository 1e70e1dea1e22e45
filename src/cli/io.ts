/**
 * CLI input/output helpers: data goes to stdout, everything else to stderr.
 * Input files are JSON or msgpack (detected by content), `-` (or no file with
 * a piped stdin) reads standard input.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, OptmarginError, isInputError, terminalSafe } from '../errors.js';
import { parseDocumentBytes } from '../io/decode.js';
import { abortOpenFiles } from '../io/atomic.js';

/** Exit codes of every command (documented in the README "Exit codes"). */
export const ExitCode = {
  OK: 0,
  /** internal failure (a bug, the WASM module or the worker pool unusable); one line on stderr */
  FAILURE: 1,
  /** invalid input or usage: bad file, bad field, unknown model, --out not writable; nothing was written to stdout */
  INVALID_INPUT: 2,
  /** partial failure: the run finished but some accounts have no figures because of a failure that is not their input (OPTMARGIN_WORKER_FAILED, OPTMARGIN_NON_FINITE); every result is written, a line on stderr counts them */
  PARTIAL: 3,
  /** an output could not be written: --out (ENOSPC...: the previous file is left unchanged) or standard output (EPIPE: the reader went away — quiet) */
  OUTPUT_FAILED: 4,
  /** interrupted by SIGINT / SIGTERM (128 + signal): temporary files removed */
  INTERRUPTED: 130,
} as const;

let debug = false;
/** --debug: errors print their stack trace. */
export function setDebug(on: boolean): void {
  debug = on;
}

let stdoutGuarded = false;
/**
 * Standard output errors end the run quietly: EPIPE (`optmargin demo | head -1`) exits with
 * OUTPUT_FAILED and no message; any other error (ENOSPC...) with one line on stderr.
 */
export function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    abortOpenFiles();
    if (e.code !== 'EPIPE') process.stderr.write(`optmargin: cannot write standard output: ${e.code ?? e.message}\n`);
    process.exit(ExitCode.OUTPUT_FAILED);
  });
}

export function readInputBytes(file: string | undefined): Buffer {
  if (file === undefined || file === '-') {
    if (file === undefined && process.stdin.isTTY) {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, 'no input: give a FILE, or `-` to read standard input');
    }
    return readFileSync(0);
  }
  try {
    return readFileSync(file);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Parses JSON, or msgpack when the bytes are not JSON text (both bounded: src/io/decode.ts). */
export function parseDocument(bytes: Uint8Array, name: string): unknown {
  return parseDocumentBytes(bytes, name);
}

export function readDocument(file: string | undefined): unknown {
  return parseDocument(readInputBytes(file), file === undefined || file === '-' ? 'standard input' : file);
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** The exit code of an error. */
export function exitCodeOf(e: unknown): number {
  if (!(e instanceof OptmarginError)) return ExitCode.FAILURE;
  if (e.code === ErrorCodes.OUTPUT_FAILED) return ExitCode.OUTPUT_FAILED;
  return isInputError(e.code) ? ExitCode.INVALID_INPUT : ExitCode.FAILURE;
}

/** One line on stderr (control characters made visible); the stack only with --debug. */
export function warn(message: string): void {
  process.stderr.write(`optmargin: ${terminalSafe(message)}\n`);
}

/** Maps an error to its exit code and prints it on stderr: one line (the stack trace only with --debug). */
export function reportError(e: unknown): number {
  abortOpenFiles();
  if (e instanceof OptmarginError) {
    const internal = exitCodeOf(e) === ExitCode.FAILURE;
    warn(`${internal ? `${e.code}: ` : ''}${e.message}`);
  } else {
    const err = e as Error;
    const msg = err instanceof RangeError && /call stack/.test(err.message) ? 'input nested too deeply' : `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
    warn(`internal error (${ErrorCodes.INTERNAL}): ${msg}${debug ? '' : ' (run with --debug for the stack trace)'}`);
  }
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return exitCodeOf(e);
}

/** An integer option within [min, max], or INVALID_OPTION naming it. */
export function intOption(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Stages as "label ms (share%)", comma-separated, each share of the stages' sum: a command's timing line (book, simulate). */
export function formatShares(stages: readonly (readonly [string, number])[]): string {
  const total = stages.reduce((t, [, ms]) => t + ms, 0);
  return stages.map(([label, ms]) => `${label} ${ms.toFixed(0)} ms (${((100 * ms) / Math.max(total, 1e-9)).toFixed(0)}%)`).join(', ');
}

/** CPU time of the whole process so far, every thread (user, system; ms): what a run costs beyond its wall time. */
export function cpuOfProcess(): { userMs: number; systemMs: number } {
  const u = process.cpuUsage();
  return { userMs: u.user / 1000, systemMs: u.system / 1000 };
}
