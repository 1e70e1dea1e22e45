/**
 * Finite or error: every figure of a result is checked before it is reported. A NaN or an
 * infinity anywhere in an account's result turns it into an OPTMARGIN_NON_FINITE error result
 * naming the figure — never a "healthy" account, never a NaN in a book's totals.
 */
import { ErrorCodes } from '../errors.js';

/**
 * Frozen objects and arrays found finite whose members are all primitives or such objects (a
 * model's scenario lists, shared by every result): they cannot change, so each is walked once.
 */
const finiteFrozen = new WeakSet<object>();

/**
 * True when some number in `v` is NaN or ±Infinity. Builds no paths, so the common case (every
 * figure finite) allocates little: a server checks every result it answers.
 */
function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (v === null || typeof v !== 'object') return false;
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) if (typeof a[i] === 'number' && !Number.isFinite(a[i])) return true;
    return false;
  }
  if (finiteFrozen.has(v)) return false;
  // an array of numbers (a scenario's losses) is read by allFinite; any other, or one it refuses, member by member
  const bad = Array.isArray(v) ? !(typeof v[0] === 'number' && allFinite(v as number[])) && someNonFinite(v) : someMemberNonFinite(v as Record<string, unknown>);
  if (!bad && Object.isFrozen(v) && membersSettled(v as Record<string, unknown>)) finiteFrozen.add(v);
  return bad;
}

/**
 * Every element a finite number. Its own function, so that its reads see arrays of numbers only
 * and stay unboxed: the generic walk boxed each element it read (16 bytes a figure, ~0.9 kB per
 * 20-option result).
 */
function allFinite(a: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x: unknown = a[i];
    // finite: x - x is 0 (NaN for NaN and ±Infinity). Number.isFinite(a[i]) boxed each element
    // of a holey array of doubles (measured: 16 bytes each in Node 20), this does not
    if (!(typeof x === 'number' && x - x === 0)) return false;
  }
  return true;
}

function someNonFinite(a: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (hasNonFinite(a[i])) return true;
  return false;
}

function someMemberNonFinite(o: Record<string, unknown>): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k) && hasNonFinite(o[k])) return true;
  return false;
}

/**
 * Every member a data property holding a primitive or a frozen object already found finite (so
 * that `v`, frozen and finite, stays so: a getter could answer differently next time).
 */
function membersSettled(v: Record<string, unknown>): boolean {
  for (const k of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k);
    if (d === undefined || !('value' in d)) return false;
    const x: unknown = d.value;
    if (x !== null && typeof x === 'object' && !finiteFrozen.has(x)) return false;
  }
  return true;
}

/** Path of the first number in `v` that is NaN or ±Infinity (depth-first, keys in order), or null. */
export function firstNonFinite(v: unknown, path = ''): string | null {
  return hasNonFinite(v) ? pathOfNonFinite(v, path) : null;
}

function pathOfNonFinite(v: unknown, path: string): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : path || '(value)';
  if (v === null || typeof v !== 'object') return null;
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) if (typeof a[i] === 'number' && !Number.isFinite(a[i])) return `${path}[${i}]`;
    return null;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = pathOfNonFinite(v[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    const p = pathOfNonFinite((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    if (p !== null) return p;
  }
  return null;
}

/** `r` unchanged when every figure is finite, else its error result. */
export function finiteOrError<R extends { id: string; ok: boolean }>(r: R): R | { id: string; ok: false; error: { code: typeof ErrorCodes.NON_FINITE; message: string; path: string } } {
  if (!r.ok) return r;
  const at = firstNonFinite(r);
  if (at === null) return r;
  return {
    id: r.id,
    ok: false,
    error: { code: ErrorCodes.NON_FINITE, message: `${at} came out non-finite (${String(at.split(/[.[]/).reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k.replace(']', '')], r))}): the inputs are within the documented limits, so this is reported as a failure, not a margin`, path: at },
  };
}
