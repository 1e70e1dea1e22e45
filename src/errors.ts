/**
 * Every error optmargin raises, in one table with stable codes (the style of
 * piscina's src/errors.ts). Codes never change meaning once released: tools
 * that call the CLI or embed the library may switch on them.
 *
 * `path` names the offending field the way a user would write it, e.g.
 * `positions[17].strike`, so messages read `positions[17].strike must be > 0, got -5`.
 */
export const ErrorCodes = {
  /** A field of user input is missing, of the wrong type or out of range. */
  INVALID_INPUT: 'OPTMARGIN_INVALID_INPUT',
  /** An instrument name could not be parsed (not a Deribit-style name). */
  INVALID_INSTRUMENT: 'OPTMARGIN_INVALID_INSTRUMENT',
  /** A market snapshot lacks data an instrument needs (no forward, no smile, expired...). */
  MISSING_MARKET_DATA: 'OPTMARGIN_MISSING_MARKET_DATA',
  /** An option price lies outside the no-arbitrage bounds: no implied volatility exists. */
  PRICE_OUT_OF_BOUNDS: 'OPTMARGIN_PRICE_OUT_OF_BOUNDS',
  /** A file is not in the format the command expects (not a book, not a snapshot...). */
  INVALID_FILE: 'OPTMARGIN_INVALID_FILE',
  /** A model or preset id is unknown, or its parameter file is malformed. */
  INVALID_MODEL: 'OPTMARGIN_INVALID_MODEL',
  /** An option passed to a constructor (engine, pool, runner) is invalid. */
  INVALID_OPTION: 'OPTMARGIN_INVALID_OPTION',
  /** The WebAssembly module could not be loaded or instantiated. */
  WASM_UNAVAILABLE: 'OPTMARGIN_WASM_UNAVAILABLE',
  /** An engine bug: an invariant of optmargin itself broke (never caused by user input). Please report it. */
  INTERNAL: 'OPTMARGIN_INTERNAL',
  /** A WASM kernel trapped or aborted while computing (an engine bug, not a missing module). */
  WASM_ABORT: 'OPTMARGIN_WASM_ABORT',
  /** A worker failed while computing; the affected accounts carry this code. */
  WORKER_FAILED: 'OPTMARGIN_WORKER_FAILED',
  /** An input or request exceeds a documented limit (nesting depth, declared lengths, value ranges of docs/book.md "Limits"; server body size, accounts per request). */
  LIMIT_EXCEEDED: 'OPTMARGIN_LIMIT_EXCEEDED',
  /** The server's queue is full or a request waited past its timeout: retry later. */
  OVERLOADED: 'OPTMARGIN_OVERLOADED',
  /** A request lacks the bearer token the server requires. */
  UNAUTHORIZED: 'OPTMARGIN_UNAUTHORIZED',
  /** No such endpoint, or no book loaded yet. */
  NOT_FOUND: 'OPTMARGIN_NOT_FOUND',
  /** A computed figure came out NaN or infinite: the account gets this error, never a health. */
  NON_FINITE: 'OPTMARGIN_NON_FINITE',
  /** An output (a --out file, standard output) could not be written completely. */
  OUTPUT_FAILED: 'OPTMARGIN_OUTPUT_FAILED',
  /** A liquidation mechanism id is unknown, or its parameter file is malformed. */
  INVALID_MECHANISM: 'OPTMARGIN_INVALID_MECHANISM',
  /** An auction call is not allowed in the auction's state (Lyra's revert name is in the message). */
  AUCTION_STATE: 'OPTMARGIN_AUCTION_STATE',
  /** A distributed run (--nats) could not complete: broker unreachable or lost, no result before the timeout, a worker refused a shard. Nothing partial is written. */
  CLUSTER_FAILED: 'OPTMARGIN_CLUSTER_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The codes that put the fault on the input (a field, a file, an option, a request), not on the
 * engine or its environment: the CLI exits 2 on them, and a distributed run fails at once on them
 * instead of redelivering a shard that would fail alike every time. Every other code is the
 * engine's or the environment's (exit 1, retried where a retry can help), or OUTPUT_FAILED.
 */
const INPUT_ERRORS: ReadonlySet<string> = new Set<string>([
  ErrorCodes.INVALID_INPUT,
  ErrorCodes.INVALID_INSTRUMENT,
  ErrorCodes.MISSING_MARKET_DATA,
  ErrorCodes.PRICE_OUT_OF_BOUNDS,
  ErrorCodes.INVALID_FILE,
  ErrorCodes.INVALID_MODEL,
  ErrorCodes.INVALID_OPTION,
  ErrorCodes.LIMIT_EXCEEDED,
  ErrorCodes.INVALID_MECHANISM,
  ErrorCodes.AUCTION_STATE,
  ErrorCodes.OVERLOADED,
  ErrorCodes.UNAUTHORIZED,
  ErrorCodes.NOT_FOUND,
]);

/** Whether an error code puts the fault on the input (see INPUT_ERRORS). */
export const isInputError = (code: string): boolean => INPUT_ERRORS.has(code);

export class OptmarginError extends Error {
  readonly code: ErrorCode;
  /** Field path within the user's input, when the error is about one field. */
  readonly path?: string;
  constructor(code: ErrorCode, message: string, path?: string) {
    super(message);
    this.name = 'OptmarginError';
    this.code = code;
    if (path !== undefined) this.path = path;
  }
}

/**
 * Text safe for a terminal: C0/C1 control characters (ESC, OSC, BEL, CR...) and the Unicode
 * line/paragraph separators become U+FFFD, so an account id cannot move the cursor or rewrite
 * the screen. Newlines are kept only when `keepNewlines`.
 */
export function terminalSafe(s: string, keepNewlines = false): string {
  return s.replace(keepNewlines ? /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/g : /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '\ufffd');
}

/** Renders a value for an error message: numbers and strings as a user typed them. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'nothing';
  try {
    const s = JSON.stringify(value);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch (e) {
    // a cyclic structure or a BigInt (JSON.stringify's TypeErrors): shown as String() does
    if (!(e instanceof TypeError)) throw e;
    return String(value);
  }
}

/**
 * A field's path: a string, or an object whose text (`String(path)`) is built only when an error
 * names the field (a validator that checks many fields in a loop then builds no path for a valid input).
 */
export type FieldPath = string | { toString(): string };

export function invalidInput(at: FieldPath, requirement: string, value: unknown): OptmarginError {
  const path = String(at);
  return new OptmarginError(ErrorCodes.INVALID_INPUT, `${path} ${requirement}, got ${show(value)}`, path);
}

/** Whether check.bounded accepts v: finite, |v| <= limit, and > 0 when `positive` (readers that skip building objects test values with it). */
export function inBounds(v: number, limit: number, positive = false): boolean {
  return Number.isFinite(v) && (!positive || v > 0) && Math.abs(v) <= limit;
}

/** Field checks used at every input boundary. Each throws INVALID_INPUT naming the path. */
export const check = {
  finite(path: FieldPath, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidInput(path, 'must be a finite number', v);
    return v;
  },
  positive(path: FieldPath, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidInput(path, 'must be a finite number', v);
    if (!(v > 0)) throw invalidInput(path, 'must be > 0', v);
    return v;
  },
  nonNegative(path: FieldPath, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidInput(path, 'must be a finite number', v);
    if (!(v >= 0)) throw invalidInput(path, 'must be >= 0', v);
    return v;
  },
  /** A finite number with |v| <= limit (and > 0 when `positive`). */
  bounded(path: FieldPath, v: unknown, limit: number, positive = false): number {
    if (typeof v === 'number' && inBounds(v, limit, positive)) return v;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidInput(path, 'must be a finite number', v);
    if (positive && !(v > 0)) throw invalidInput(path, 'must be > 0', v);
    if (Math.abs(v) > limit) throw invalidInput(path, `must be within ${positive ? '(0, ' : '±'}${limit.toExponential(0).replace('e+', 'e')}${positive ? ']' : ''} (docs/book.md "Limits")`, v);
    return v;
  },
  oneOf<T extends string>(path: FieldPath, v: unknown, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw invalidInput(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, v);
    }
    return v as T;
  },
  string(path: FieldPath, v: unknown): string {
    if (typeof v !== 'string' || v.length === 0) throw invalidInput(path, 'must be a non-empty string', v);
    return v;
  },
  object(path: FieldPath, v: unknown): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidInput(path, 'must be an object', v);
    return v as Record<string, unknown>;
  },
  array(path: FieldPath, v: unknown): unknown[] {
    if (!Array.isArray(v)) throw invalidInput(path, 'must be an array', v);
    return v;
  },
};
