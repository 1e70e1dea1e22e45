/**
 * The server's long-lived book: PUT /v1/book loads (and margins) it, ticks and trades update it
 * incrementally through the book engine, and every change of an account's health is pushed to
 * the subscribers of GET /v1/book/events (Server-Sent Events) — the margin calls a venue's
 * backend acts on. Events carry the account, its figures and the market and model hashes.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { BookEngine, type BookLoadReport } from '../runner/book/runner.js';
import { BookMarket, HealthTracker, NO_HEALTH, type HealthEvent, type TickBody } from '../runner/book/health.js';
import { generateBook } from '../io/gen-book.js';
import { summarize, HEALTHS, type BookAccountResult, type BookRunStats, type BookSummary } from '../io/results.js';
import type { Health } from '../measures/types.js';
import type { ResolvedMarket } from '../market/types.js';

export type { HealthEvent, HealthEventType, TickBody } from '../runner/book/health.js';

export interface BookLoadBody {
  model?: string;
  threads?: number;
  accounts?: unknown[];
  generate?: { accounts: number; seed?: number };
}

/** One Server-Sent Events frame: written once, whatever the number of subscribers. */
function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A subscriber; dropped when it cannot keep up (its socket buffer holds over `maxBuffered` bytes). */
class SseClient {
  constructor(
    readonly res: ServerResponse,
    private readonly maxBuffered: number,
  ) {}
  /** Writes a frame (sseFrame); false when the subscriber is gone or dropped. */
  send(frame: string): boolean {
    if (this.res.destroyed || this.res.writableEnded) return false;
    if (this.res.writableLength > this.maxBuffered) {
      this.res.end();
      return false;
    }
    this.res.write(frame);
    return true;
  }
  comment(text: string): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(`: ${text}\n\n`);
  }
}

/** What POST /v1/book/tick answers. */
export interface TickAnswer {
  changed: number;
  events: number;
  ms: number;
  handlerMs: number;
  marketHash: string;
  stages: object;
}

/**
 * The JSON of a tick's answer, JSON.stringify's text (tested), written from a template: the answer
 * is small and of fixed shape (the engine's stages, a flat object of numbers, by JSON.stringify).
 */
export function tickAnswerJson(a: TickAnswer): string {
  const num = (x: number): string => (Number.isFinite(x) ? JSON.stringify(x) : 'null');
  return `{"changed":${num(a.changed)},"events":${num(a.events)},"ms":${num(a.ms)},"handlerMs":${num(a.handlerMs)},"marketHash":${JSON.stringify(a.marketHash)},"stages":${JSON.stringify(a.stages)}}`;
}

export class BookService {
  private book: BookEngine | null = null;
  /** the loaded market and the moves in force (runner/book/health.ts: shared with the resident book over NATS) */
  private market: BookMarket;
  private readonly health = new HealthTracker();
  private seq = 0;
  private readonly nextSeq = (): number => ++this.seq;
  private readonly clients = new Set<SseClient>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly baseMarket: ResolvedMarket,
    private readonly defaultModel: string,
    private readonly maxThreads: number,
  ) {
    this.market = new BookMarket(baseMarket, () => this.engine.marketHash);
  }

  /**
   * Hash of the market the book is on: the loaded snapshot's hash when no tick moved it, else a
   * hash of that snapshot's hash and the shocks in force (the same moves give the same hash).
   */
  get marketHash(): string {
    return this.market.marketHash;
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
    this.market = new BookMarket(base, () => this.engine.marketHash);
    const results = this.book.results();
    this.health.reset(results);
    const summary = summarize(results);
    this.broadcast('loaded', { accounts: results.length, byHealth: summary.byHealth, ...this.book.header() });
    return { accounts: results.length, summary, load: report, recompute: stats };
  }

  /**
   * Moves one underlying (relative to the loaded market) and re-margins the accounts holding it.
   * The health transitions are read from the book's arrays over the tick's changed accounts; their
   * events (result objects, one serialisation each) are built only when someone subscribes, else
   * only counted and numbered (the answer is the same).
   */
  async tick(body: TickBody): Promise<TickAnswer> {
    const t0 = performance.now();
    const book = this.engine;
    const shocked = this.market.apply(body);
    const update = await book.tick(body.underlying, shocked);
    const events =
      this.clients.size > 0
        ? this.publish(this.health.tick(book, update.indices, () => this.marketHash, this.nextSeq))
        : this.health.settle(book, this.health.changed(book, update.indices), this.nextSeq);
    const marketHash = this.marketHash;
    return { changed: update.indices.length, events, ms: update.ms, handlerMs: performance.now() - t0, marketHash, stages: update.stages };
  }

  trade(account: string | number, changes: unknown): { index: number; result: BookAccountResult; ms: number; events: number } {
    const r = this.engine.trade(account, changes);
    const events = this.publish(this.health.transitions(this.engine, [r.index], [r.result], 'trade', () => this.marketHash, this.nextSeq));
    return { ...r, events };
  }

  /** Results filtered by health (any of `healths`), a page of them, with the book's header. */
  results(healths: Health[] | null, offset: number, limit: number): unknown {
    const book = this.engine;
    const out: BookAccountResult[] = [];
    let total = 0;
    for (let k = 0; k < book.n; k++) {
      const code = this.health.code(k);
      if (healths && (code === NO_HEALTH || !healths.includes(HEALTHS[code]))) continue;
      if (total >= offset && out.length < limit) out.push(book.result(k));
      total++;
    }
    return { ...book.header(), marketHash: this.marketHash, total, offset, results: out };
  }

  summary(): BookSummary {
    return summarize(this.engine.results());
  }

  /** Streams a tick's or a trade's events to the subscribers; their count. */
  private publish(events: { event: HealthEvent }[]): number {
    for (const { event } of events) this.broadcast(event.type, event, event.seq);
    return events.length;
  }

  // ───────────── Server-Sent Events ─────────────

  /** Streams events to `res` until the client goes away or the server closes. */
  subscribe(res: ServerResponse, maxBuffered = 4 * 1024 * 1024): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const client = new SseClient(res, maxBuffered);
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.write('retry: 2000\n\n');
    client.send(sseFrame('hello', { loaded: this.loaded, seq: this.seq, ...(this.book ? this.book.header() : {}) }));
    this.heartbeat ??= setInterval(() => {
      for (const c of this.clients) c.comment('keep-alive');
    }, 15_000).unref();
  }

  get subscribers(): number {
    return this.clients.size;
  }

  private broadcast(event: string, data: unknown, id?: number): void {
    if (this.clients.size === 0) return;
    const frame = sseFrame(event, data, id);
    for (const c of this.clients) if (!c.send(frame)) this.clients.delete(c);
  }

  /** Ends every stream (the first step of a graceful shutdown: streams never end by themselves). */
  endStreams(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const c of this.clients) {
      c.send(sseFrame('closing', { reason: 'server shutting down' }));
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
