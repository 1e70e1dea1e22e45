/**
 * `optmargin serve`: the margin engine over HTTP (Fastify) for backends in other languages.
 * Every endpoint calls the same library functions as the CLI, so an answer is the object the
 * CLI prints for the same input. Endpoints, formats, limits and security: docs/serve.md.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { createMarginEngine, type MarginEngine } from '../runner/account/runner.js';
import { listModels, loadModel } from '../measures/models.js';
import type { Health } from '../measures/types.js';
import { HEALTHS } from '../io/results.js';
import { resolveMarket } from '../market/resolved.js';
import { validateSnapshot } from '../market/snapshot.js';
import type { MarketSnapshot, ResolvedMarket } from '../market/types.js';
import { BookService, tickAnswerJson, type BookLoadBody, type TickAnswer, type TickBody } from './book-service.js';
import { errorAnswer, registerParsers, send } from './http.js';
import { openApiDocument, type RouteDoc } from './openapi.js';
import { WorkQueue } from './queue.js';
import { buildSchemas, DEFAULT_LIMITS, type Schemas, type ServeLimits } from './schemas.js';
import { registerPlayground } from './static.js';
import { compileBody, type BodyCheck } from './validate.js';
import { GC_OVER_MS, GcStats, type GcPause } from './gc-stats.js';
import { marginRoutes } from './margin-routes.js';
import { requestLane, type LaneRoute } from './fast-lane.js';
import { marginAnswerBytes } from './answer-json.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface ServeOptions {
  /** the market every request is computed on (default: the shipped default market) */
  market: MarketSnapshot;
  host?: string;
  port?: number;
  /** bearer token; required when `host` is not a loopback address */
  token?: string;
  limits?: Partial<ServeLimits>;
  /** worker threads a book may use */
  maxThreads?: number;
  /** the built playground (dist/playground); null serves none */
  playground?: string | null;
  version?: string;
  /** one line per request on stderr */
  log?: boolean;
  /**
   * count the V8 heap bytes allocated (`GET /healthz` → `heap.allocatedBytes`, null without it):
   * V8's GCProfiler then runs and lengthens each scavenge, so it is off unless asked for
   */
  heapCount?: boolean;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Everything a route handler needs. */
export interface ServeContext {
  app: FastifyInstance;
  schemas: Schemas;
  limits: ServeLimits;
  queue: WorkQueue;
  market: ResolvedMarket;
  modelIds: ReadonlySet<string>;
  engineFor(model: string): MarginEngine;
  /** the model a request's query names (?model=), checked against the presets */
  modelOf(query: unknown, fallback: string): string;
  check(schema: keyof Schemas, engineCheck?: BodyCheck, root?: string): BodyCheck;
  routes: RouteDoc[];
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Server {
  app: FastifyInstance;
  url: string;
  queue: WorkQueue;
  /** Stops accepting, ends event streams, drains in-flight requests, stops the book's workers. */
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<Server> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.token) {
    throw new OptmarginError(ErrorCodes.INVALID_OPTION, `binding to ${host} (not a loopback address) requires a bearer token: --token or OPTMARGIN_TOKEN`);
  }
  const app = build(opts);
  await app.listen({ host, port: opts.port ?? 8787 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const ctx = app as unknown as { optmargin: { queue: WorkQueue } };
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    queue: ctx.optmargin.queue,
    close: () => app.close(),
  };
}

/** The Fastify instance with every route (not listening: `startServer`, or `inject` in tests). */
export function build(opts: ServeOptions): FastifyInstance {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const schemas = buildSchemas(limits);
  // POST /v1/margin's and /v1/book/tick's common case is answered by the lane (fast-lane.ts) on
  // Node's own request and response; everything else by Fastify. The server is Fastify's own (the same options).
  let lane: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  const app = Fastify({
    serverFactory: (handler, o) => {
      const server = createHttpServer((req, res) => void (lane?.(req, res) || handler(req, res)));
      // the timeouts given below, set as Fastify sets them on a server of its own
      const t = o as unknown as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
      server.keepAliveTimeout = t.keepAliveTimeout;
      server.requestTimeout = t.requestTimeout;
      server.setTimeout(t.connectionTimeout);
      return server;
    },
    logger: false,
    bodyLimit: limits.bodyBytes,
    requestTimeout: 60_000,
    connectionTimeout: 0,
    keepAliveTimeout: 10_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const queue = new WorkQueue(limits.queue, limits.timeoutMs);
  const market = resolveMarket(opts.market);
  const modelIds = new Set(listModels().map((m) => m.id));
  const engines = new Map<string, MarginEngine>();
  const routes: RouteDoc[] = [];
  const ctx: ServeContext = {
    app,
    schemas,
    limits,
    queue,
    market,
    modelIds,
    routes,
    engineFor(model) {
      let e = engines.get(model);
      if (!e) engines.set(model, (e = createMarginEngine({ market, model: loadModel(model) })));
      return e;
    },
    modelOf(query, fallback) {
      const m = (query as Record<string, unknown> | undefined)?.model;
      if (m === undefined) return fallback;
      // never a file path from a request: preset ids only
      if (typeof m !== 'string' || !modelIds.has(m)) {
        throw new OptmarginError(ErrorCodes.INVALID_MODEL, `model must be one of ${[...modelIds].join(', ')}, got ${JSON.stringify(m)}`, 'model');
      }
      return m;
    },
    check: (schema, engineCheck, root) => compileBody(schemas[schema], engineCheck, root),
  };
  (app as unknown as { optmargin: unknown }).optmargin = { queue };
  registerParsers(app);

  app.setErrorHandler((err, req, reply) => {
    const h = errorAnswer(req.method, req.url, err);
    if (h.retryAfter !== undefined) reply.header('retry-after', String(h.retryAfter));
    return send(req, reply, h.status, h.body);
  });
  app.setNotFoundHandler((req, reply) =>
    send(req, reply, 404, { ok: false, error: { code: ErrorCodes.NOT_FOUND, message: `no endpoint ${req.method} ${req.url.split('?')[0]} (GET /openapi.json lists them)` } }),
  );
  if (opts.log) {
    app.addHook('onResponse', (req, reply, done) => {
      process.stderr.write(`${new Date().toISOString()} ${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(2)}ms\n`);
      done();
    });
  }

  const token = opts.token;
  const publicUrls = new Set<string>();
  if (token) {
    const expected = `Bearer ${token}`;
    app.addHook('onRequest', (req, reply, done) => {
      const path = req.url.split('?')[0];
      if (publicUrls.has(path) || !path.startsWith('/v1/')) return done();
      const got = req.headers.authorization;
      if (typeof got === 'string' && safeEqual(got, expected)) return done();
      reply.header('www-authenticate', 'Bearer');
      done(new OptmarginError(ErrorCodes.UNAUTHORIZED, 'this server requires Authorization: Bearer <token>'));
    });
  }

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const margin = marginRoutes(ctx);
  const tick = bookRoutes(ctx, new BookService(market, DEFAULT_BOOK_MODEL, opts.maxThreads ?? 2));
  if (!token && !opts.log) {
    const laneRoutes = new Map<string, LaneRoute>([
      ['/v1/margin', (q, b) => margin(q, b).then(([status, out]) => [status, marginAnswerBytes(out)])],
      ['/v1/book/tick', (_q, b) => tick(b).then((a) => [200, Buffer.from(tickAnswerJson(a))])],
    ]);
    lane = requestLane({ routes: laneRoutes, bodyBytes: limits.bodyBytes, open: () => !closing });
  }
  infoRoutes(ctx, opts, token !== undefined);
  registerPlayground(app, opts.playground ?? null);
  for (const r of routes) if (r.public) publicUrls.add(r.url);
  return app;
}

/** Registers the book's routes; returns POST /v1/book/tick's work (the body's check, the queue, the tick), which the lane shares with the route. */
function bookRoutes(ctx: ServeContext, books: BookService): (body: unknown) => Promise<TickAnswer> {
  const { app, queue, limits, routes } = ctx;
  const checkLoad = ctx.check('BookBody');
  const checkTick = ctx.check('TickBody');
  const checkTrade = ctx.check('TradeBody');
  app.addHook('preClose', (done) => {
    books.endStreams();
    done();
  });
  app.addHook('onClose', async () => {
    await books.close();
  });
  routes.push({ method: 'PUT', url: '/v1/book', summary: 'load a book (or generate one) and margin every account', body: 'BookBody', query: [], returns: 'accounts, summary by health, load and recompute statistics' });
  app.put('/v1/book', { bodyLimit: limits.bookBodyBytes }, async (req, reply) => {
    const body = req.body as BookLoadBody & { market?: unknown };
    checkLoad(body);
    const model = body.model ?? DEFAULT_BOOK_MODEL;
    if (!ctx.modelIds.has(model)) throw new OptmarginError(ErrorCodes.INVALID_MODEL, `model must be one of ${[...ctx.modelIds].join(', ')}, got ${JSON.stringify(model)}`, 'model');
    const market = body.market === undefined ? null : resolveMarket(validateSnapshot(body.market, 'market'));
    const out = await queue.submit(() => books.load(body, model, market));
    return send(req, reply, 200, out);
  });
  routes.push({ method: 'POST', url: '/v1/book/tick', summary: 'move one underlying; re-margin only the accounts holding it', body: 'TickBody', returns: 'accounts changed, events sent, latency and its stages' });
  const tick = (body: unknown): Promise<TickAnswer> => {
    checkTick(body);
    return queue.submit(() => books.tick(body as TickBody));
  };
  app.post('/v1/book/tick', async (req, reply) => send(req, reply, 200, await tick(req.body), tickAnswerJson));
  routes.push({ method: 'POST', url: '/v1/book/trade', summary: 'add trades to one account of the book and re-margin it', body: 'TradeBody', returns: 'the account’s new result' });
  app.post('/v1/book/trade', async (req, reply) => {
    checkTrade(req.body);
    const b = req.body as { account: string | number; changes: unknown };
    return send(req, reply, 200, await queue.submit(() => books.trade(b.account, b.changes)));
  });
  const healthList = { type: 'string', description: `comma-separated healths among ${HEALTHS.join(', ')}` };
  const intParam = (d: string) => ({ type: 'integer', minimum: 0, description: d });
  routes.push({
    method: 'GET',
    url: '/v1/book/results',
    summary: 'results of the book, filtered by health',
    query: [
      { name: 'health', schema: healthList, description: 'only accounts in these healths' },
      { name: 'offset', schema: intParam('first match to return'), description: 'paging' },
      { name: 'limit', schema: intParam('matches to return (at most 10000)'), description: 'paging' },
      { name: 'summary', schema: { type: 'boolean' }, description: 'the totals by health instead of the accounts' },
    ],
    returns: 'model, market hash, total matches and a page of results (or the summary)',
  });
  app.get('/v1/book/results', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const healths = q.health === undefined ? null : q.health.split(',').map((h, i) => {
      const v = h.trim();
      if (!(HEALTHS as readonly string[]).includes(v)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `health[${i}] must be one of ${HEALTHS.join(', ')}, got ${JSON.stringify(v)}`, 'health');
      return v as Health;
    });
    const int = (name: string, v: string | undefined, d: number, max: number) => {
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${name} must be an integer in [0, ${max}], got ${JSON.stringify(v)}`, name);
      return n;
    };
    const offset = int('offset', q.offset, 0, Number.MAX_SAFE_INTEGER);
    const limit = int('limit', q.limit, 1000, 10_000);
    const out = await queue.submit(() => (q.summary === 'true' ? books.summary() : books.results(healths, offset, limit)));
    return send(req, reply, 200, out);
  });
  routes.push({ method: 'GET', url: '/v1/book/events', summary: 'Server-Sent Events: health transitions after each tick or trade', returns: 'event stream: margin-call, liquidatable, bankrupt, restored (and hello, loaded, closing)', produces: 'text/event-stream' });
  app.get('/v1/book/events', (req, reply) => {
    reply.hijack();
    books.subscribe(reply.raw);
  });
  return tick;
}

function infoRoutes(ctx: ServeContext, opts: ServeOptions, secured: boolean): void {
  const { app, routes, queue } = ctx;
  const started = Date.now();
  const gc = new GcStats(opts.heapCount ?? false);
  app.addHook('onClose', async () => gc.stop());
  routes.push({
    method: 'GET',
    url: '/healthz',
    summary: 'liveness',
    query: [{ name: 'gcSince', schema: { type: 'number' }, description: 'also list the garbage-collection pauses that ended after this time (ms since the Unix epoch; the last 4096 are kept)' }],
    returns: 'status, version, queue, V8 heap bytes allocated since start (null unless started with --heap-count) and in use, garbage-collection pauses by kind (and, with gcSince, each recent pause: at, ms, kind)',
    public: true,
  });
  app.get('/healthz', (req, reply) => {
    const since = (req.query as Record<string, string | undefined>).gcSince;
    let recent: { recent: GcPause[] } | null = null;
    if (since !== undefined) {
      const t = Number(since);
      if (since.trim() === '' || !Number.isFinite(t)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `gcSince must be a time in ms since the Unix epoch, got ${JSON.stringify(since)}`, 'gcSince');
      recent = { recent: gc.recentSince(t) };
    }
    const status = { status: 'ok', version: opts.version ?? 'unknown', uptimeMs: Date.now() - started, queue: { waiting: queue.length, capacity: queue.capacity, ...queue.stats } };
    const heap = { allocatedBytes: gc.heap?.bytes() ?? null, usedBytes: getHeapStatistics().used_heap_size };
    return send(req, reply, 200, { ...status, heap, gc: { overMs: GC_OVER_MS, ...gc.pauses, ...recent } });
  });
  routes.push({ method: 'GET', url: '/v1/models', summary: 'the margin model presets with their parameters', query: [{ name: 'id', schema: { type: 'string' }, description: 'one preset' }], returns: 'presets (as `optmargin models --json`)' });
  app.get('/v1/models', (req, reply) => {
    const id = (req.query as Record<string, unknown>).id;
    if (id !== undefined) {
      const m = loadModel(ctx.modelOf({ model: id }, ''));
      return send(req, reply, 200, { ...m.params, hash: m.hash });
    }
    return send(req, reply, 200, listModels().map((m) => ({ ...m, parameters: loadModel(m.id).params })));
  });
  routes.push({ method: 'GET', url: '/openapi.json', summary: 'this document', returns: 'OpenAPI 3.1', public: true });
  let doc: unknown = null;
  app.get('/openapi.json', (req, reply: FastifyReply) => {
    doc ??= openApiDocument(routes, ctx.schemas, opts.version ?? 'unknown', secured);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(doc));
  });
}
