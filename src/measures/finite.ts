/**
 * Finite or error: every figure of a result is checked before it is reported. A NaN or an
 * infinity anywhere in an account's result turns it into an OPTMARGIN_NON_FINITE error result
 * naming the figure — never a "healthy" account, never a NaN in a book's totals.
 */
import { ErrorCodes } from '../errors.js';

/**
 * True when some number in `v` is NaN or ±Infinity. Builds no paths, so the common case (every
 * figure finite) allocates nothing: a server checks every result it answers.
 */
function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (v === null || typeof v !== 'object') return false;
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) if (typeof a[i] === 'number' && !Number.isFinite(a[i])) return true;
    return false;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasNonFinite(v[i])) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k) && hasNonFinite(o[k])) return true;
  return false;
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
