/**
 * HTTP plumbing of `optmargin serve`: body parsers (JSON and msgpack, with limits), content
 * negotiation of answers, and the mapping from the error table (src/errors.ts) to statuses.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encode } from '@msgpack/msgpack';
import { decodeMsgpack, parseJsonBytes } from '../io/decode.js';
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import { OverloadedError } from './queue.js';

export const MSGPACK_TYPES = ['application/msgpack', 'application/x-msgpack', 'application/vnd.msgpack'];

/** The HTTP status of each error code. */
const STATUS: Record<ErrorCode, number> = {
  [ErrorCodes.INVALID_INPUT]: 400,
  [ErrorCodes.INVALID_FILE]: 400,
  [ErrorCodes.INVALID_MODEL]: 400,
  [ErrorCodes.INVALID_OPTION]: 400,
  [ErrorCodes.INVALID_MECHANISM]: 400,
  [ErrorCodes.AUCTION_STATE]: 409,
  [ErrorCodes.INVALID_INSTRUMENT]: 422,
  [ErrorCodes.MISSING_MARKET_DATA]: 422,
  [ErrorCodes.PRICE_OUT_OF_BOUNDS]: 422,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.LIMIT_EXCEEDED]: 413,
  [ErrorCodes.OVERLOADED]: 503,
  [ErrorCodes.WASM_UNAVAILABLE]: 500,
  [ErrorCodes.WASM_ABORT]: 500,
  [ErrorCodes.WORKER_FAILED]: 500,
  [ErrorCodes.INTERNAL]: 500,
  [ErrorCodes.NON_FINITE]: 500,
  [ErrorCodes.OUTPUT_FAILED]: 500,
  [ErrorCodes.CLUSTER_FAILED]: 503,
};

export function statusOf(code: string): number {
  return STATUS[code as ErrorCode] ?? 500;
}

export interface HttpError {
  status: number;
  body: { ok: false; id?: string; error: { code: string; message: string; path?: string } };
  retryAfter?: number;
}

/** Fastify's own request errors, in the error table's terms. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; status: number }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: ErrorCodes.LIMIT_EXCEEDED, status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: ErrorCodes.INVALID_FILE, status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: ErrorCodes.INVALID_FILE, status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: ErrorCodes.INVALID_FILE, status: 400 },
  FST_ERR_CTP_INVALID_TYPE: { code: ErrorCodes.INVALID_FILE, status: 400 },
};

/** Any thrown value as an answer: the error table's code and path, or 500 INTERNAL for a bug. */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof OptmarginError) {
    const error = { code: e.code, message: e.message, ...(e.path !== undefined ? { path: e.path } : {}) };
    return { status: statusOf(e.code), body: { ok: false, error }, ...(e instanceof OverloadedError ? { retryAfter: e.retryAfter } : {}) };
  }
  const fe = e as { code?: string; statusCode?: number; message?: string };
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return { status: known.status, body: { ok: false, error: { code: known.code, message: fe.message ?? known.code } } };
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { ok: false, error: { code: ErrorCodes.INVALID_INPUT, message: fe.message ?? 'bad request' } } };
  }
  return { status: 500, body: { ok: false, error: { code: ErrorCodes.INTERNAL, message: `internal error (a bug in optmargin): ${(e as Error)?.message ?? String(e)}` } } };
}

/**
 * The answer to a request that failed with `e` (toHttpError); a bug's stack (500) goes to stderr,
 * never to the client.
 */
export function errorAnswer(method: string, url: string, e: unknown): HttpError {
  const h = toHttpError(e);
  if (h.status === 500) process.stderr.write(`optmargin serve: ${method} ${url}: ${(e as Error)?.stack ?? String(e)}\n`);
  return h;
}

/** True when the client asked for msgpack (Accept names it before, or without, JSON). */
export function wantsMsgpack(req: { headers: IncomingHttpHeaders }): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const m = accept.search(/application\/(x-|vnd\.)?msgpack/);
  if (m < 0) return false;
  const j = accept.indexOf('application/json');
  return j < 0 || m < j;
}

/**
 * Answers `payload` as JSON or msgpack, as the request's Accept asks; `json` writes the JSON text
 * or its UTF-8 bytes (JSON.stringify's: a faster writer for a known answer, answer-json.ts).
 */
export function send<T>(req: FastifyRequest, reply: FastifyReply, status: number, payload: T, json: (p: T) => string | Buffer = JSON.stringify): FastifyReply {
  reply.code(status);
  if (wantsMsgpack(req)) return reply.type('application/msgpack').send(Buffer.from(encode(payload, { ignoreUndefined: true })));
  return reply.type('application/json; charset=utf-8').send(json(payload));
}

/** The bounded decoders every reader of user input goes through (src/io/decode.ts): nesting and lengths capped. */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, 'the request body is empty');
  return parseJsonBytes(bytes, 'the request body');
}

function parseMsgpack(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, 'the request body is empty');
  return decodeMsgpack(bytes, 'the request body');
}

/** JSON and msgpack bodies only; anything else is answered 415. */
export function registerParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const parser = (parse: (b: Buffer) => unknown) => (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    try {
      done(null, parse(body));
    } catch (e) {
      done(e as Error);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parser(parseJson));
  app.addContentTypeParser(MSGPACK_TYPES, { parseAs: 'buffer' }, parser(parseMsgpack));
}
