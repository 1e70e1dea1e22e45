/**
 * The resident sharded book over NATS (docs/scale-out.md "The resident book"): subjects, the
 * feed's messages, the members' reports, and who holds what.
 *
 * Accounts fall into B fixed buckets by a hash of their id; buckets go to the members by
 * rendezvous hashing (each bucket to the member with the highest hash of (member, bucket)).
 * Every node computes the same owners from the member list alone, and a member that leaves
 * moves only its own buckets, one that joins takes only the buckets it now wins (≈ B/(W+1)).
 *
 *   OPTMARGIN_RBOOK (JetStream, limits)
 *     optmargin.rbook.<book>.feed                     the feed: load, assign, tick, trade, collect, each with its position
 *     optmargin.rbook.<book>.bucket.<load>.<b>.<part> a bucket's accounts as loaded ([book index, account] pairs)
 *     optmargin.rbook.<book>.events                   health events, numbered (the same objects `serve` streams)
 *   core NATS (not stored)
 *     optmargin.rmember.<book>.hb                     members' heartbeats { worker, load, pos }
 *     optmargin.rmember.<book>.done                   members' reports of each feed position
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { BookAccountResult } from '../io/results.js';
import type { HealthEvent, TickBody } from '../runner/book/health.js';
import type { MarginModel } from '../measures/types.js';
import { need, PROTOCOL_VERSION, protocolError, record } from './protocol.js';

export const RBOOK_STREAM = 'OPTMARGIN_RBOOK';
export const DEFAULT_BUCKETS = 32;
export const MAX_BUCKETS = 4096;

export const rsubjects = {
  stream: 'optmargin.rbook.>',
  feed: (book: string) => `optmargin.rbook.${book}.feed`,
  all: (book: string) => `optmargin.rbook.${book}.>`,
  bucket: (book: string, load: string, b: number, part: number) => `optmargin.rbook.${book}.bucket.${load}.${b}.${part}`,
  events: (book: string) => `optmargin.rbook.${book}.events`,
  hb: (book: string) => `optmargin.rmember.${book}.hb`,
  done: (book: string) => `optmargin.rmember.${book}.done`,
};

/** A resident book's name: a subject token. */
export function checkBookName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--book must be 1–64 letters, digits, - or _, got ${JSON.stringify(name)}`);
  return name;
}

const h52 = (s: string): number => parseInt(createHash('sha256').update(s).digest('hex').slice(0, 13), 16);

/** The bucket of an account id. */
export function bucketOf(id: string, buckets: number): number {
  return h52(id) % buckets;
}

/** Each bucket's owner among `members` (rendezvous hashing; ties to the smaller name); [] without members. */
export function owners(members: readonly string[], buckets: number): string[] {
  const out = new Array<string>(buckets);
  if (members.length === 0) return [];
  for (let b = 0; b < buckets; b++) {
    let best = '';
    let bestW = -1;
    for (const m of members) {
      const w = h52(`${m}\n${b}`);
      if (w > bestW || (w === bestW && m < best)) {
        best = m;
        bestW = w;
      }
    }
    out[b] = best;
  }
  return out;
}

interface FeedBase {
  v: number;
  pos: number;
  load: string;
}
export interface LoadMessage extends FeedBase {
  kind: 'load';
  market: unknown;
  model: MarginModel;
  marketHash: string;
  modelHash: string;
  buckets: number;
  /** parts of each bucket's accounts (0: an empty bucket) */
  parts: number[];
}
export interface AssignMessage extends FeedBase {
  kind: 'assign';
  epoch: number;
  members: string[];
  /** [bucket, position]: the new owner reports this bucket's outputs from that position on (its owner left before reporting them) */
  replay: [number, number][];
}
export interface TickMessage extends FeedBase {
  kind: 'tick';
  body: TickBody;
}
export interface TradeMessage extends FeedBase {
  kind: 'trade';
  account: string;
  changes: unknown;
}
export interface CollectMessage extends FeedBase {
  kind: 'collect';
}
export type FeedMessage = LoadMessage | AssignMessage | TickMessage | TradeMessage | CollectMessage;

/** What a member computed for one feed position (its buckets only). */
export interface Output {
  pos: number;
  /** accounts re-margined */
  changed: number;
  /** [book index, event] (seq numbered by the controller) */
  events: [number, HealthEvent][];
  /** a collect: [book index, result] of the member's accounts (maybe split over several outputs) */
  results?: [number, BookAccountResult][];
  /** a trade's account */
  trade?: [number, BookAccountResult];
  error?: { code: string; message: string };
}

/** A member's report of feed position `pos` (part `part` of `parts`): its outputs and the buckets it holds after it. */
export interface Report {
  v: number;
  load: string;
  pos: number;
  worker: string;
  part: number;
  parts: number;
  held: number[];
  outs: Output[];
}

export interface Heartbeat {
  v: number;
  worker: string;
  /** the load the member has read ('' before any) and its last position */
  load: string;
  pos: number;
}

export interface BucketPart {
  v: number;
  load: string;
  bucket: number;
  part: number;
  entries: [number, unknown][];
}

const KINDS = new Set(['load', 'assign', 'tick', 'trade', 'collect']);

export function decodeFeed(bytes: Uint8Array): FeedMessage {
  const r = record(bytes, 'feed message');
  need(r, 'feed message', { pos: 'int', load: 'string', kind: 'string' });
  if (!KINDS.has(r.kind as string)) throw protocolError(`feed message: unknown kind ${JSON.stringify(r.kind)}`);
  if (r.kind === 'load') need(r, 'load message', { market: 'object', model: 'object', marketHash: 'string', modelHash: 'string', buckets: 'int', parts: 'array' });
  if (r.kind === 'assign') need(r, 'assign message', { epoch: 'int', members: 'array', replay: 'array' });
  if (r.kind === 'tick') need(r, 'tick message', { body: 'object' });
  if (r.kind === 'trade') need(r, 'trade message', { account: 'string' });
  return r as unknown as FeedMessage;
}

export function decodeReport(bytes: Uint8Array): Report {
  const r = record(bytes, 'member report');
  need(r, 'member report', { load: 'string', pos: 'int', worker: 'string', part: 'int', parts: 'int', held: 'array', outs: 'array' });
  return r as unknown as Report;
}

export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const r = record(bytes, 'heartbeat');
  need(r, 'heartbeat', { worker: 'string', load: 'string', pos: 'number' });
  return r as unknown as Heartbeat;
}

export function decodeBucketPart(bytes: Uint8Array): BucketPart {
  const r = record(bytes, 'bucket message');
  need(r, 'bucket message', { load: 'string', bucket: 'int', part: 'int', entries: 'array' });
  return r as unknown as BucketPart;
}

export { PROTOCOL_VERSION };
