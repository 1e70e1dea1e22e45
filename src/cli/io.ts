/**
 * CLI input/output helpers: data goes to stdout, everything else to stderr.
 * Input files are JSON or msgpack (detected by content), `-` (or no file with
 * a piped stdin) reads standard input.
 */
import { readFileSync } from 'node:fs';
import { decode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';

/** Exit codes of every command (documented in the README). */
export const ExitCode = {
  OK: 0,
  /** unexpected failure (a bug or an environment problem) */
  FAILURE: 1,
  /** invalid input or usage: bad file, bad field, unknown model; nothing was written to stdout */
  INVALID_INPUT: 2,
} as const;

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

/** Parses JSON, or msgpack when the bytes are not JSON text. */
export function parseDocument(bytes: Uint8Array, name: string): unknown {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  const looksJson = first === 0x7b /* { */ || first === 0x5b /* [ */;
  if (looksJson) {
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  try {
    return decode(bytes);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `${name} is neither JSON nor msgpack: ${(e as Error).message}`);
  }
}

export function readDocument(file: string | undefined): unknown {
  return parseDocument(readInputBytes(file), file === undefined || file === '-' ? 'standard input' : file);
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Maps an error to its exit code and prints it on stderr. */
export function reportError(e: unknown): number {
  if (e instanceof OptmarginError) {
    process.stderr.write(`optmargin: ${e.message}\n`);
    return e.code === ErrorCodes.WASM_UNAVAILABLE || e.code === ErrorCodes.WORKER_FAILED || e.code === ErrorCodes.INTERNAL ? ExitCode.FAILURE : ExitCode.INVALID_INPUT;
  }
  process.stderr.write(`optmargin: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
  return ExitCode.FAILURE;
}
