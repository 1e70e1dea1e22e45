/**
 * The shard protocol of a book run over NATS JetStream (docs/scale-out.md): streams, subjects and
 * the three message kinds, msgpack-encoded (@msgpack/msgpack), each decoded with the bounded
 * decoder of io/decode.ts and checked field by field.
 *
 *   OPTMARGIN_JOBS     optmargin.job.<job>             one per run: market snapshot + model (limits, 1 per subject)
 *   OPTMARGIN_WORK     optmargin.work.<job>.<shard>    one per shard: a range of accounts (work queue, explicit ack)
 *   OPTMARGIN_RESULTS  optmargin.result.<job>.<shard>  one per shard: its results, Nats-Msg-Id = <job>.<shard>.<hash>
 *
 * A shard's `hash` is the SHA-256 of the job key (market hash, model hash), the shard's first
 * account index and its encoded accounts: the worker checks it before computing, and the
 * coordinator keeps one result per (shard, hash), so a redelivered or duplicated shard never
 * counts twice.
 */
import { createHash } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { decodeMsgpack } from '../io/decode.js';
import { InvalidEntry } from '../io/book-file.js';
import type { BookAccountResult } from '../io/results.js';
import type { MarginModel } from '../measures/types.js';

export const PROTOCOL_VERSION = 1;
export const STREAMS = { jobs: 'OPTMARGIN_JOBS', work: 'OPTMARGIN_WORK', results: 'OPTMARGIN_RESULTS' } as const;
/** the durable pull consumer every worker shares on the work stream */
export const WORKERS_CONSUMER = 'optmargin-workers';
export const subjects = {
  job: (job: string) => `optmargin.job.${job}`,
  work: (job: string, shard: number) => `optmargin.work.${job}.${shard}`,
  result: (job: string, shard: number) => `optmargin.result.${job}.${shard}`,
  results: (job: string) => `optmargin.result.${job}.*`,
};

/** One run: what every shard is computed against. */
export interface JobSpec {
  v: number;
  job: string;
  /** the market snapshot, as resolveMarket takes it */
  market: unknown;
  /** the validated model parameters */
  model: MarginModel;
  marketHash: string;
  modelHash: string;
}

/** One shard: accounts [first, first + n) of the book; invalid entries (parse errors) travel beside them. */
export interface WorkMessage {
  v: number;
  job: string;
  shard: number;
  first: number;
  hash: string;
  /** msgpack of the shard's accounts (null where an invalid entry stands) */
  accounts: Uint8Array;
  /** [index in the shard, id, message] of the book file's invalid entries */
  invalid: [number, string, string][];
}

/** A shard's outcome: its results in input order, or an error that no retry will cure. */
export interface ResultMessage {
  v: number;
  job: string;
  shard: number;
  hash: string;
  worker: string;
  positions: number;
  /** compute time on the worker (load + recompute + results) */
  ms: number;
  results?: BookAccountResult[];
  /** a VaR shard's figures (cluster/var-protocol.ts) */
  var?: Record<string, unknown>;
  error?: { code: string; message: string };
}

const jobKey = (marketHash: string, modelHash: string): string => `${marketHash}\n${modelHash}\n`;

/** SHA-256 (hex) of a shard's inputs (node:crypto: the cluster is a Node adapter, and shards are large). */
export function shardHash(marketHash: string, modelHash: string, first: number, accounts: Uint8Array): string {
  return createHash('sha256').update(jobKey(marketHash, modelHash)).update(`${first}\n`).update(accounts).digest('hex');
}

/** msgpack without undefined-valued keys (as JSON.stringify drops them). */
export function pack(v: unknown): Uint8Array {
  return encode(v, { ignoreUndefined: true });
}

/** Builds shard `shard` from accounts [first, first + slice.length). */
export function workMessage(spec: Pick<JobSpec, 'job' | 'marketHash' | 'modelHash'>, shard: number, first: number, slice: readonly unknown[]): WorkMessage {
  const invalid: [number, string, string][] = [];
  const plain = slice.map((a, i) => {
    if (a instanceof InvalidEntry) {
      invalid.push([i, a.id, a.message]);
      return null;
    }
    return a;
  });
  const accounts = pack(plain);
  return { v: PROTOCOL_VERSION, job: spec.job, shard, first, hash: shardHash(spec.marketHash, spec.modelHash, first, accounts), accounts, invalid };
}

/** The accounts of a work message, invalid entries restored. */
export function shardAccounts(w: WorkMessage): unknown[] {
  const list = decodeMsgpack(w.accounts, `shard ${w.shard} accounts`);
  if (!Array.isArray(list)) throw protocolError(`shard ${w.shard}: accounts are not an array`);
  for (const [i, id, message] of w.invalid) {
    if (!Number.isInteger(i) || i < 0 || i >= list.length) throw protocolError(`shard ${w.shard}: invalid entry index ${i} out of range`);
    list[i] = new InvalidEntry(id, message);
  }
  return list;
}

export function protocolError(message: string): OptmarginError {
  return new OptmarginError(ErrorCodes.CLUSTER_FAILED, `cluster protocol: ${message}`);
}

export function record(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = decodeMsgpack(bytes, what);
  } catch (e) {
    if (!(e instanceof OptmarginError)) throw e;
    throw protocolError(e.message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw protocolError(`${what} is not a map`);
  const r = v as Record<string, unknown>;
  if (r.v !== PROTOCOL_VERSION) throw protocolError(`${what} has protocol version ${String(r.v)}, this build speaks ${PROTOCOL_VERSION}`);
  return r;
}

export function need(r: Record<string, unknown>, what: string, fields: Record<string, 'string' | 'int' | 'object' | 'bytes' | 'array' | 'number'>): void {
  for (const [k, t] of Object.entries(fields)) {
    const x = r[k];
    const ok =
      t === 'string' ? typeof x === 'string' :
      t === 'int' ? Number.isInteger(x) && (x as number) >= 0 :
      t === 'number' ? typeof x === 'number' && Number.isFinite(x) :
      t === 'bytes' ? x instanceof Uint8Array :
      t === 'array' ? Array.isArray(x) :
      typeof x === 'object' && x !== null;
    if (!ok) throw protocolError(`${what}: field ${k} must be ${t}`);
  }
}

export function decodeJob(bytes: Uint8Array): JobSpec {
  return checkJob(record(bytes, 'job message'));
}

export function checkJob(r: Record<string, unknown>): JobSpec {
  need(r, 'job message', { job: 'string', market: 'object', model: 'object', marketHash: 'string', modelHash: 'string' });
  return r as unknown as JobSpec;
}

export function decodeWork(bytes: Uint8Array): WorkMessage {
  return checkWork(record(bytes, 'work message'));
}

export function checkWork(r: Record<string, unknown>): WorkMessage {
  need(r, 'work message', { job: 'string', shard: 'int', first: 'int', hash: 'string', accounts: 'bytes', invalid: 'array' });
  return r as unknown as WorkMessage;
}

export function decodeResult(bytes: Uint8Array): ResultMessage {
  const r = record(bytes, 'result message');
  need(r, 'result message', { job: 'string', shard: 'int', hash: 'string', worker: 'string', positions: 'int', ms: 'number' });
  if (r.results === undefined && r.var === undefined && r.error === undefined) throw protocolError('result message has neither results nor error');
  if (r.results !== undefined && !Array.isArray(r.results)) throw protocolError('result message: results must be an array');
  return r as unknown as ResultMessage;
}
