/**
 * The hot routes' lighter path: `POST /v1/margin` and `POST /v1/book/tick` with a JSON body of a
 * declared length, answered in JSON, handled on Node's own request and response objects, without
 * Fastify's routing, hooks, body collection and reply pipeline. Everything else goes to Fastify:
 * every other route, and any request of these whose head is not the common case (msgpack either
 * way, no Content-Length or one of 0 or over the body limit, a query other than plain `name=value`
 * pairs, a bearer token to check or a request log to write, the server closing).
 *
 * What a request does has one home, shared with its Fastify route: the route's work (for margin
 * `marginRequest`: limits, model, validation, the compute queue and its 503, the engine; for a
 * tick the body's check, the queue and the book), the bounded JSON decoder (`parseJson`),
 * `errorAnswer` (statuses, error bodies, Retry-After, the stack of a 500 on stderr) and the
 * answer's writer. test/serve-lane.test.ts asks both paths the same requests and compares status,
 * type and bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorAnswer, parseJson, wantsMsgpack } from './http.js';

/** A route the lane answers: the status and the JSON bytes of a request (throws, or rejects, for an error answer). */
export type LaneRoute = (query: Record<string, string>, body: unknown) => Promise<[number, Buffer]>;

/** What the lane needs from the server: its routes by path, the body limit, and whether it may run at all. */
export interface Lane {
  routes: ReadonlyMap<string, LaneRoute>;
  bodyBytes: number;
  /** false when a token is configured, a log is written, or the server is closing: Fastify answers */
  open(): boolean;
}

/** Requests the lane has answered (the tests check that the common case takes it). */
export const laneStats = { served: 0 };

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
/** A query of plain `name=value` pairs (what any query parser reads the same way). */
const PLAIN_QUERY = /^[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*(&[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*)*$/;

function parsePlainQuery(q: string): Readonly<Record<string, string>> | null {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (q === '') return Object.freeze(out);
  if (!PLAIN_QUERY.test(q)) return null;
  for (const pair of q.split('&')) {
    const eq = pair.indexOf('=');
    const k = pair.slice(0, eq);
    if (k in out) return null; // a repeated name: Fastify's parser makes an array of it
    out[k] = pair.slice(eq + 1);
  }
  return Object.freeze(out);
}

/**
 * Queries parsed before, by their text (frozen: the route only reads them). A client sends the
 * same few queries again and again (`?model=…`): each is parsed once, not per request (the
 * pattern's test, the split and the object were ~2 % of the server's CPU at 5,000 req/s).
 */
const queries = new Map<string, Readonly<Record<string, string>> | null>();
const QUERIES_KEPT = 256;

function plainQuery(q: string): Readonly<Record<string, string>> | null {
  let out = queries.get(q);
  if (out === undefined) {
    out = parsePlainQuery(q);
    if (queries.size >= QUERIES_KEPT) queries.clear();
    queries.set(q, out);
  }
  return out;
}

/**
 * The lane's request listener: true when it took the request (and will answer it), false when
 * Fastify must. It decides from the head alone, before any byte of the body is read.
 */
export function requestLane(lane: Lane): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || !lane.open()) return false;
    const url = req.url ?? '';
    const qAt = url.indexOf('?');
    const route = lane.routes.get(qAt < 0 ? url : url.slice(0, qAt));
    if (route === undefined) return false;
    const h = req.headers;
    if (!JSON_TYPES.has(h['content-type'] ?? '') || h['transfer-encoding'] !== undefined || wantsMsgpack(req)) return false;
    const length = Number(h['content-length']);
    if (!(Number.isInteger(length) && length > 0 && length <= lane.bodyBytes)) return false;
    const query = plainQuery(qAt < 0 ? '' : url.slice(qAt + 1));
    if (query === null) return false;
    readBody(req, length, (body) => answer(route, req, res, query, body));
    return true;
  };
}

/** The body's bytes (Node's parser delivers at most Content-Length of them); nothing when the client leaves before the last. */
function readBody(req: IncomingMessage, length: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let got = 0;
  req.on('data', (d: Buffer) => {
    chunks.push(d);
    got += d.length;
  });
  req.on('end', () => {
    if (got === length) done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length));
  });
}

function answer(route: LaneRoute, req: IncomingMessage, res: ServerResponse, query: Record<string, string>, bytes: Buffer): void {
  let work: Promise<[number, Buffer]>;
  try {
    work = route(query, parseJson(bytes));
  } catch (e) {
    work = Promise.reject(e);
  }
  laneStats.served++;
  work
    .then(([status, out]) => write(res, status, out))
    .catch((e: unknown) => {
      if (res.headersSent) return void res.destroy(); // failed while sending: nothing more can be said
      const a = errorAnswer(req.method ?? 'POST', req.url ?? '', e);
      if (a.retryAfter !== undefined) res.setHeader('retry-after', String(a.retryAfter));
      write(res, a.status, Buffer.from(JSON.stringify(a.body)));
    });
}

function write(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}
