/**
 * The messages of a VaR run over NATS (`optmargin var BOOK --nats URL`; docs/scale-out.md "VaR
 * run"), on the same streams and subjects as a book run (cluster/protocol.ts), told apart by
 * `kind: 'var'`:
 *
 *   job     { v, job, kind, market: { table | snapshot }, marketHash, set, alpha, quantile, book? }
 *           the scenario set travels once per run as its arrays (logReturn / volRatio per
 *           underlying, float64 bytes); a worker rebuilds it and the market and refuses the job
 *           when their hashes differ from the coordinator's.
 *   work    { v, job, kind, shard, first, n, hash, range? | accounts? }
 *           accounts [first, first + n) of the book: a byte range [start, end) of the book file
 *           beginning at line `line` (JSON lines; workers open `book.path`, the file's SHA-256
 *           range hash `content` checked), or the accounts themselves (msgpack) for other formats
 *           and `--nats-inline`.
 *   result  `var`: { ids, value, var, es (float64 bytes, one per account), net } where net lists
 *           the shard's instruments in order of first holding with the exact partial sums of
 *           their sizes (risk/exact-sum.ts), which the coordinator merges into the netted book.
 */
import { createHash } from 'node:crypto';
import type { QuantileConvention } from '../measures/quantiles.js';
import { makeScenarioSet, type ScenarioSet } from '../risk/scenario-set.js';
import { need, protocolError, PROTOCOL_VERSION } from './protocol.js';

export interface VarJobSpec {
  v: number;
  job: string;
  kind: 'var';
  /** a table market (the history's closes) or a market snapshot (--market) */
  market: { table?: unknown; snapshot?: unknown };
  marketHash: string;
  set: PackedSet;
  alpha: number;
  quantile: QuantileConvention;
  /** the book file as workers open it (shards by byte range); absent when shards carry accounts */
  book?: { path: string; name: string };
}

export interface PackedSet {
  kind: ScenarioSet['kind'];
  id: string;
  hash: string;
  underlyings: string[];
  logReturn: Record<string, Uint8Array>;
  volRatio: Record<string, Uint8Array>;
  volShift?: ScenarioSet['volShift'];
  labels?: string[];
  params: Record<string, unknown>;
}

export interface VarWorkMessage {
  v: number;
  job: string;
  kind: 'var';
  shard: number;
  first: number;
  n: number;
  hash: string;
  /** [start byte, end byte, first line number] of the book file and the SHA-256 of those bytes */
  range?: [number, number, number];
  content?: string;
  /** msgpack of the accounts */
  accounts?: Uint8Array;
  /** a block of scenarios [from, to) (--scenario-blocks): the shard returns tails, not figures */
  scen?: [number, number];
}

export interface VarShardResult {
  ids: string[];
  value: Uint8Array;
  /** whole-set shards: VaR and ES per account */
  var?: Uint8Array;
  es?: Uint8Array;
  /** scenario-block shards: the m smallest P&L entries of the block per account (ascending) */
  tail?: Uint8Array;
  holdings: number;
  net: { names: string[]; count: Uint8Array; partials: Uint8Array };
}

/** The bytes of a float64 / int32 array (msgpack bin). */
export const bytesOf = (a: Float64Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function f64(b: unknown, what: string, n?: number): Float64Array {
  if (!(b instanceof Uint8Array) || b.length % 8 !== 0 || (n !== undefined && b.length !== n * 8)) throw protocolError(`${what} must be ${n ?? 'k'} float64 values`);
  return new Float64Array(new Uint8Array(b).buffer);
}

export function i32(b: unknown, what: string): Int32Array {
  if (!(b instanceof Uint8Array) || b.length % 4 !== 0) throw protocolError(`${what} must be int32 values`);
  return new Int32Array(new Uint8Array(b).buffer);
}

export function packSet(s: ScenarioSet): PackedSet {
  const arrays = (r: Record<string, Float64Array>): Record<string, Uint8Array> => Object.fromEntries(s.underlyings.map((u) => [u, bytesOf(r[u])]));
  return { kind: s.kind, id: s.id, hash: s.hash, underlyings: s.underlyings, logReturn: arrays(s.logReturn), volRatio: arrays(s.volRatio), volShift: s.volShift, labels: s.labels, params: s.params };
}

/** The scenario set of a job, rebuilt through makeScenarioSet (its hash recomputed and checked). */
export function unpackSet(p: PackedSet): ScenarioSet {
  const arrays = (r: Record<string, Uint8Array>, what: string): Record<string, Float64Array> => Object.fromEntries(p.underlyings.map((u) => [u, f64(r?.[u], `set.${what}.${u}`)]));
  const prefix = `${p.kind}:`;
  if (!p.id.startsWith(prefix)) throw protocolError(`scenario set id ${p.id} does not start with its kind`);
  const set = makeScenarioSet(p.kind, p.id.slice(prefix.length), p.underlyings, arrays(p.logReturn, 'logReturn'), arrays(p.volRatio, 'volRatio'), p.params, p.labels, p.volShift);
  if (set.hash !== p.hash || set.id !== p.id) throw protocolError(`the scenario set rebuilt here hashes ${set.hash}, the coordinator's ${p.hash}: mixed optmargin versions?`);
  return set;
}

/** SHA-256 of what a VaR shard is computed from: the job key, its account range and its input bytes' hash. */
export function varShardHash(spec: Pick<VarJobSpec, 'marketHash' | 'set' | 'alpha' | 'quantile'>, first: number, n: number, content: string, scen?: [number, number]): string {
  return createHash('sha256').update(`var\n${spec.marketHash}\n${spec.set.hash}\n${spec.alpha}\n${spec.quantile}\n${first}\n${n}\n${scen ? scen.join(':') : 'all'}\n${content}`).digest('hex');
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function decodeVarJob(r: Record<string, unknown>): VarJobSpec {
  need(r, 'var job message', { job: 'string', market: 'object', marketHash: 'string', set: 'object', alpha: 'number', quantile: 'string' });
  need(r.set as Record<string, unknown>, 'var job set', { kind: 'string', id: 'string', hash: 'string', underlyings: 'array', logReturn: 'object', volRatio: 'object', params: 'object' });
  if (r.book !== undefined) need(r.book as Record<string, unknown>, 'var job book', { path: 'string', name: 'string' });
  return r as unknown as VarJobSpec;
}

export function checkVarWork(r: Record<string, unknown>): VarWorkMessage {
  need(r, 'var work message', { job: 'string', shard: 'int', first: 'int', n: 'int', hash: 'string' });
  const range = r.range as unknown[] | undefined;
  if (range !== undefined && !(Array.isArray(range) && range.length === 3 && range.every((x) => Number.isInteger(x) && (x as number) >= 0) && typeof r.content === 'string')) throw protocolError('var work message: range must be [start, end, line] with its content hash');
  if ((range === undefined) === (r.accounts === undefined)) throw protocolError('var work message: one of range or accounts');
  if (r.accounts !== undefined && !(r.accounts instanceof Uint8Array)) throw protocolError('var work message: accounts must be bytes');
  const scen = r.scen as unknown[] | undefined;
  if (scen !== undefined && !(Array.isArray(scen) && scen.length === 2 && scen.every((x) => Number.isInteger(x) && (x as number) >= 0) && (scen[0] as number) < (scen[1] as number))) throw protocolError('var work message: scen must be [from, to)');
  return r as unknown as VarWorkMessage;
}

export interface VarShardArrays {
  ids: string[];
  value: Float64Array;
  var?: Float64Array;
  es?: Float64Array;
  tail?: Float64Array;
  holdings: number;
  names: string[];
  count: Int32Array;
  partials: Float64Array;
}

/** A VaR result's arrays, checked against the shard's account count (and tail length m for a scenario block). */
export function decodeVarResult(x: Record<string, unknown>, n: number, m?: number): VarShardArrays {
  need(x, 'var result', { ids: 'array', value: 'bytes', holdings: 'int', net: 'object' });
  need(x, 'var result', m === undefined ? { var: 'bytes', es: 'bytes' } : { tail: 'bytes' });
  const net = x.net as Record<string, unknown>;
  need(net, 'var result net', { names: 'array', count: 'bytes', partials: 'bytes' });
  const ids = x.ids as unknown[];
  if (ids.length !== n || !ids.every((id) => typeof id === 'string')) throw protocolError(`var result: ${ids.length} ids for ${n} accounts`);
  const names = net.names as unknown[];
  const count = i32(net.count, 'var result net.count');
  const partials = f64(net.partials, 'var result net.partials');
  if (count.length !== names.length || !names.every((s) => typeof s === 'string')) throw protocolError('var result: net names and counts differ in length');
  let total = 0;
  for (const c of count) total += c;
  if (total !== partials.length) throw protocolError('var result: net partial counts do not add up');
  const figures = m === undefined ? { var: f64(x.var, 'var result var', n), es: f64(x.es, 'var result es', n) } : { tail: f64(x.tail, 'var result tail', n * m) };
  return { ids: ids as string[], value: f64(x.value, 'var result value', n), ...figures, holdings: x.holdings as number, names: names as string[], count, partials };
}

export { PROTOCOL_VERSION };
