/**
 * The server's long-lived book: PUT /v1/book loads (and margins) it, ticks and trades update it
 * incrementally through the book engine, and every change of an account's health is pushed to
 * the subscribers of GET /v1/book/events (Server-Sent Events) — the margin calls a venue's
 * backend acts on. Events carry the account, its figures and the market and model hashes.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { BookEngine, type BookLoadReport } from '../runner/book/runner.js';
import { generateBook } from '../io/gen-book.js';
import { summarize, HEALTHS, type BookAccountResult, type BookRunStats, type BookSummary } from '../io/results.js';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../measures/models.js';
import type { Health } from '../measures/types.js';
import type { ResolvedMarket } from '../market/types.js';

/** Health codes per account: the index in HEALTHS, or NO_HEALTH for an account in error. */
const NO_HEALTH = 255;

export type HealthEventType = 'margin-call' | 'liquidatable' | 'bankrupt' | 'restored';

export interface HealthEvent {
  seq: number;
  type: HealthEventType;
  cause: 'tick' | 'trade';
  account: string;
  previous: Health | null;
  health: Health;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  marginRatio: number | null;
  availableFunds: number;
  marketHash: string;
  model: { id: string; version: string; hash: string };
  /** ms since epoch at which the change was computed */
  time: number;
}

export interface BookLoadBody {
  model?: string;
  threads?: number;
  accounts?: unknown[];
  generate?: { accounts: number; seed?: number };
}

export interface TickBody {
  underlying: string;
  priceMove?: number;
  index?: number;
  volShift?: number;
}

function eventTypeOf(h: Health): HealthEventType {
  return h === 'healthy' ? 'restored' : h === 'margin call' ? 'margin-call' : h;
}

/** A subscriber; dropped when it cannot keep up (its socket buffer holds over `maxBuffered` bytes). */
class SseClient {
  constructor(
    readonly res: ServerResponse,
    private readonly maxBuffered: number,
  ) {}
  send(event: string, data: unknown, id?: number): boolean {
    if (this.res.destroyed || this.res.writableEnded) return false;
    if (this.res.writableLength > this.maxBuffered) {
      this.res.end();
      return false;
    }
    this.res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  }
  comment(text: string): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(`: ${text}\n\n`);
  }
}

export class BookService {
  private book: BookEngine | null = null;
  private market: ResolvedMarket;
  private health = new Uint8Array(0);
  private moves: Record<string, number> = {};
  private shifts: Record<string, number> = {};
  private seq = 0;
  /** the market hash while no tick or load changed the market (computed when first asked for) */
  private hash: string | null = null;
  private readonly figures = new Float64Array(3);
  private readonly clients = new Set<SseClient>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly baseMarket: ResolvedMarket,
    private readonly defaultModel: string,
    private readonly maxThreads: number,
  ) {
    this.market = baseMarket;
  }

  /**
   * Hash of the market the book is on: the loaded snapshot's hash when no tick moved it, else a
   * hash of that snapshot's hash and the shocks in force (the same moves give the same hash).
   */
  get marketHash(): string {
    return (this.hash ??= this.hashOfMoves());
  }

  private hashOfMoves(): string {
    const base = this.engine.marketHash;
    const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0));
    const priceMove = nonZero(this.moves);
    const volShift = nonZero(this.shifts);
    if (Object.keys(priceMove).length + Object.keys(volShift).length === 0) return base;
    return createHash('sha256').update(canonicalJson({ market: base, priceMove, volShift })).digest('hex');
  }

  get loaded(): boolean {
    return this.book !== null;
  }

  private get engine(): BookEngine {
    if (!this.book) throw new OptmarginError(ErrorCodes.NOT_FOUND, 'no book is loaded: PUT /v1/book first');
    return this.book;
  }

  /** Replaces the book (on `market`, or the server's) and margins every account. */
  async load(body: BookLoadBody, model: string, market: ResolvedMarket | null): Promise<{ accounts: number; summary: BookSummary; load: BookLoadReport; recompute: BookRunStats }> {
    const base = market ?? this.baseMarket;
    const threads = Math.min(body.threads ?? 1, this.maxThreads);
    const accounts = body.generate ? generateBook({ accounts: body.generate.accounts, seed: body.generate.seed ?? 1, market: base }).accounts : body.accounts!;
    const next = BookEngine.create({ market: base, model, threads });
    let report: BookLoadReport;
    let stats: BookRunStats;
    try {
      report = next.load(accounts);
      stats = await next.recompute();
      await this.book?.close();
      this.book = next;
    } catch (e) {
      await next.close();
      throw e;
    }
    this.market = base;
    this.moves = {};
    this.shifts = {};
    this.hash = null;
    const results = this.book.results();
    this.health = new Uint8Array(results.length);
    for (let k = 0; k < results.length; k++) this.health[k] = codeOf(results[k]);
    const summary = summarize(results);
    this.broadcast('loaded', { accounts: results.length, byHealth: summary.byHealth, ...this.book.header() });
    return { accounts: results.length, summary, load: report, recompute: stats };
  }

  /** Moves one underlying (relative to the loaded market) and re-margins the accounts holding it. */
  async tick(body: TickBody): Promise<{ changed: number; events: number; ms: number; handlerMs: number; marketHash: string; stages: unknown }> {
    const t0 = performance.now();
    const book = this.engine;
    const u = body.underlying;
    if (!this.market.hasUnderlying(u)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `underlying ${JSON.stringify(u)} is not in the book's market`, 'underlying');
    }
    if (body.index !== undefined && body.priceMove !== undefined) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'give either index or priceMove, not both', 'index');
    }
    if (body.index !== undefined) this.moves[u] = check.positive('index', body.index) / this.market.spot(u) - 1;
    else if (body.priceMove !== undefined) this.moves[u] = body.priceMove;
    if (body.volShift !== undefined) this.shifts[u] = body.volShift;
    this.hash = null;
    const shocked = this.market.shocked({ priceMove: { ...this.moves }, volShift: { ...this.shifts } });
    const update = await book.tick(u, shocked);
    const events = this.tickTransitions(update.indices);
    const marketHash = this.marketHash;
    return { changed: update.indices.length, events, ms: update.ms, handlerMs: performance.now() - t0, marketHash, stages: update.stages };
  }

  trade(account: string | number, changes: unknown): { index: number; result: BookAccountResult; ms: number; events: number } {
    const r = this.engine.trade(account, changes);
    const events = this.transitions([r.index], [r.result], 'trade');
    return { ...r, events };
  }

  /** Results filtered by health (any of `healths`), a page of them, with the book's header. */
  results(healths: Health[] | null, offset: number, limit: number): unknown {
    const book = this.engine;
    const out: BookAccountResult[] = [];
    let total = 0;
    for (let k = 0; k < book.n; k++) {
      const code = this.health[k];
      if (healths && (code === NO_HEALTH || !healths.includes(HEALTHS[code]))) continue;
      if (total >= offset && out.length < limit) out.push(book.result(k));
      total++;
    }
    return { ...book.header(), marketHash: this.marketHash, total, offset, results: out };
  }

  summary(): BookSummary {
    return summarize(this.engine.results());
  }

  /**
   * The transitions of a tick: each changed account's health read from the book's arrays (no
   * result object); a full result is built only for the accounts whose health changed.
   */
  private tickTransitions(indices: number[]): number {
    const book = this.engine;
    const figures = this.figures;
    const moved: number[] = [];
    for (const k of indices) {
      const h = book.figuresInto(k, figures);
      if ((h < 0 ? NO_HEALTH : h) !== this.health[k]) moved.push(k);
    }
    return this.transitions(moved, moved.map((k) => book.result(k)), 'tick');
  }

  private transitions(indices: number[], results: BookAccountResult[], cause: 'tick' | 'trade'): number {
    let header: ReturnType<BookEngine['header']> | null = null;
    let marketHash = '';
    let n = 0;
    for (let j = 0; j < indices.length; j++) {
      const k = indices[j];
      const r = results[j];
      const prev = this.health[k];
      const code = codeOf(r);
      this.health[k] = code;
      if (code === prev || code === NO_HEALTH || !r.ok) continue;
      if (!header) {
        header = this.engine.header();
        marketHash = this.marketHash;
      }
      const ev: HealthEvent = {
        seq: ++this.seq,
        type: eventTypeOf(r.health),
        cause,
        account: r.id,
        previous: prev === NO_HEALTH ? null : HEALTHS[prev],
        health: r.health,
        equity: r.equity,
        initialMargin: r.initialMargin,
        maintenanceMargin: r.maintenanceMargin,
        marginRatio: r.marginRatio,
        availableFunds: r.availableFunds,
        marketHash,
        model: { id: header.model.id, version: header.model.version, hash: header.model.hash },
        time: Date.now(),
      };
      this.broadcast(ev.type, ev, ev.seq);
      n++;
    }
    return n;
  }

  // ───────────── Server-Sent Events ─────────────

  /** Streams events to `res` until the client goes away or the server closes. */
  subscribe(res: ServerResponse, maxBuffered = 4 * 1024 * 1024): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const client = new SseClient(res, maxBuffered);
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.write('retry: 2000\n\n');
    client.send('hello', { loaded: this.loaded, seq: this.seq, ...(this.book ? this.book.header() : {}) });
    this.heartbeat ??= setInterval(() => {
      for (const c of this.clients) c.comment('keep-alive');
    }, 15_000).unref();
  }

  get subscribers(): number {
    return this.clients.size;
  }

  private broadcast(event: string, data: unknown, id?: number): void {
    for (const c of this.clients) if (!c.send(event, data, id)) this.clients.delete(c);
  }

  /** Ends every stream (the first step of a graceful shutdown: streams never end by themselves). */
  endStreams(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const c of this.clients) {
      c.send('closing', { reason: 'server shutting down' });
      c.res.end();
    }
    this.clients.clear();
  }

  /** Ends the streams and the book's workers (after in-flight requests have drained). */
  async close(): Promise<void> {
    this.endStreams();
    await this.book?.close();
    this.book = null;
  }
}

function codeOf(r: BookAccountResult): number {
  return r.ok ? HEALTHS.indexOf(r.health) : NO_HEALTH;
}
