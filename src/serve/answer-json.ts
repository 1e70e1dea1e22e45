/**
 * The JSON text of margin answers: byte for byte what JSON.stringify writes, faster.
 *
 * A grid model's result carries, in each row (`grid[k]`), the model's scenario descriptions:
 * 27 objects per underlying, about 40 % of the time JSON.stringify spends on a 20-option account
 * (measured: ~13 of ~29 µs). Those lists are the engine's own, frozen and shared by every result
 * of the engine (scenarios/revaluation.ts), so their JSON is written once per list and reused;
 * every other value is written by JSON.stringify itself. Results are plain data (no toJSON, no
 * functions), which is what makes the member-by-member writing below equal to JSON.stringify's.
 */
import type { MarginOutput } from '../cli/margin.js';

/** JSON of frozen objects, by identity (a handful: one list and one element per scenario of each engine's underlyings). */
const written = new WeakMap<object, string>();

function frozenJson(v: object): string {
  let s = written.get(v);
  if (s === undefined) written.set(v, (s = JSON.stringify(v)));
  return s;
}

/** A value as JSON.stringify writes it, a frozen object or array from the memo. */
function valueJson(v: unknown): string {
  return v !== null && typeof v === 'object' && Object.isFrozen(v) ? frozenJson(v) : JSON.stringify(v);
}

/**
 * A plain object as JSON.stringify writes it (own enumerable keys in its order, undefined members
 * left out), each member's value written by `member`.
 */
function objectJson(o: object, member: (key: string, v: unknown) => string): string {
  let s = '';
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = (o as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    s += (s === '' ? '' : ',') + JSON.stringify(k) + ':' + member(k, v);
  }
  return '{' + s + '}';
}

const rowMember = (_k: string, v: unknown): string => valueJson(v);

function resultJson(r: MarginOutput): string {
  if (!r.ok || !r.grid || r.grid.length === 0) return JSON.stringify(r);
  return objectJson(r, (k, v) => (k === 'grid' ? '[' + (v as object[]).map((g) => objectJson(g, rowMember)).join(',') + ']' : JSON.stringify(v)));
}

/** The JSON of one margin result or an array of them (what POST /v1/margin answers): JSON.stringify's text. */
export function marginAnswerJson(out: MarginOutput | MarginOutput[]): string {
  return Array.isArray(out) ? '[' + out.map(resultJson).join(',') + ']' : resultJson(out);
}
