/**
 * A resident book's market and its accounts' health transitions: the one home of what
 * `optmargin serve` streams on GET /v1/book/events and what a resident book over NATS publishes
 * on its events subject (src/serve/book-service.ts, src/cluster/resident-*.ts).
 *
 *   BookMarket     the loaded market and the moves in force: a tick sets one underlying's move
 *                  (relative to the loaded market) and yields the shocked market; its hash is the
 *                  loaded snapshot's when nothing moved, else a hash of that hash and the moves
 *   HealthTracker  each account's health code; after a tick or a trade, the accounts whose health
 *                  changed become HealthEvents (account, figures, market and model hashes)
 */
import { ErrorCodes, OptmarginError, check } from '../../errors.js';
import { HEALTHS, type BookAccountResult } from '../../io/results.js';
import type { ResolvedMarket } from '../../market/types.js';
import type { Health } from '../../measures/types.js';
import { contentHash } from '../../platform/hash.js';
import type { BookEngine } from './runner.js';

/** Health codes per account: the index in HEALTHS, or NO_HEALTH for an account in error. */
export const NO_HEALTH = 255;

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

export interface TickBody {
  underlying: string;
  priceMove?: number;
  index?: number;
  volShift?: number;
}

/** A tick's bounds (the server's TickBody schema states the same numbers from here). */
export const TICK_LIMITS = { priceMove: [-0.99, 10], volShift: [-1, 5] } as const;

/** A tick body from outside (a resident book's caller): its fields checked, named in the error. */
export function checkTickBody(v: unknown): TickBody {
  const o = check.object('tick', v);
  for (const k of Object.keys(o)) if (!['underlying', 'priceMove', 'index', 'volShift'].includes(k)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `tick: unknown field ${JSON.stringify(k)}`, k);
  const body: TickBody = { underlying: check.string('underlying', o.underlying) };
  const within = (k: 'priceMove' | 'volShift'): number => {
    const x = check.finite(k, o[k]);
    const [lo, hi] = TICK_LIMITS[k];
    if (x < lo || x > hi) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${k} must be in [${lo}, ${hi}], got ${x}`, k);
    return x;
  };
  if (o.priceMove !== undefined) body.priceMove = within('priceMove');
  if (o.volShift !== undefined) body.volShift = within('volShift');
  if (o.index !== undefined) body.index = check.positive('index', o.index);
  return body;
}

export function eventTypeOf(h: Health): HealthEventType {
  return h === 'healthy' ? 'restored' : h === 'margin call' ? 'margin-call' : h;
}

export function healthCodeOf(r: BookAccountResult): number {
  return r.ok ? HEALTHS.indexOf(r.health) : NO_HEALTH;
}

/** The market a resident book is on: the loaded snapshot and the moves ticks have set. */
export class BookMarket {
  private moves: Record<string, number> = {};
  private shifts: Record<string, number> = {};
  private hash: string | null = null;

  /** `baseHash`: the loaded market's hash (BookEngine.marketHash on it) */
  constructor(
    readonly base: ResolvedMarket,
    private readonly baseHash: () => string,
  ) {}

  /** Sets the tick's moves (checked) and returns the shocked market: the base with every move in force. */
  apply(body: TickBody): ResolvedMarket {
    const u = body.underlying;
    if (!this.base.hasUnderlying(u)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `underlying ${JSON.stringify(u)} is not in the book's market`, 'underlying');
    }
    if (body.index !== undefined && body.priceMove !== undefined) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'give either index or priceMove, not both', 'index');
    }
    if (body.index !== undefined) this.moves[u] = check.positive('index', body.index) / this.base.spot(u) - 1;
    else if (body.priceMove !== undefined) this.moves[u] = body.priceMove;
    if (body.volShift !== undefined) this.shifts[u] = body.volShift;
    this.hash = null;
    return this.base.shocked({ priceMove: { ...this.moves }, volShift: { ...this.shifts } });
  }

  /** Hash of the market in force (the same moves give the same hash). */
  get marketHash(): string {
    return (this.hash ??= this.hashOfMoves());
  }

  private hashOfMoves(): string {
    const base = this.baseHash();
    const nonZero = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0));
    const priceMove = nonZero(this.moves);
    const volShift = nonZero(this.shifts);
    if (Object.keys(priceMove).length + Object.keys(volShift).length === 0) return base;
    return contentHash({ market: base, priceMove, volShift });
  }
}

/** Each account's health in a book, and the events its changes make. */
export class HealthTracker {
  private health = new Uint8Array(0);
  private readonly figures = new Float64Array(3);

  /** The health of every account after a load (no event). */
  reset(results: readonly BookAccountResult[]): void {
    this.health = new Uint8Array(results.length);
    for (let k = 0; k < results.length; k++) this.health[k] = healthCodeOf(results[k]);
  }

  code(k: number): number {
    return this.health[k];
  }

  /**
   * The transitions of a tick: each changed account's health read from the book's arrays (no
   * result object); a full result is built only for the accounts whose health changed.
   * Events come in the order of `indices` (the tick's, ascending), numbered by `seq`.
   */
  tick(book: BookEngine, indices: readonly number[], marketHash: () => string, seq: () => number): { index: number; event: HealthEvent }[] {
    const moved = this.changed(book, indices);
    return this.transitions(book, moved, moved.map((k) => book.result(k)), 'tick', marketHash, seq);
  }

  /**
   * The accounts of `indices` whose health, read from the book's arrays (no result object, no
   * allocation but the list), differs from the one kept: a tick's transitions, in the order of
   * `indices`. Keeps nothing (`transitions` or `settle` does).
   */
  changed(book: BookEngine, indices: readonly number[]): number[] {
    const moved: number[] = [];
    for (let j = 0; j < indices.length; j++) {
      const k = indices[j];
      const h = book.figuresInto(k, this.figures);
      if ((h < 0 ? NO_HEALTH : h) !== this.health[k]) moved.push(k);
    }
    return moved;
  }

  /**
   * A tick's transitions when nobody receives events: each account of `moved` (from `changed`)
   * keeps the health its figures give, and each that has one takes a number from `seq`, as
   * `transitions` numbers its events; returns how many. No result or event object is built. An
   * account has a health here exactly when its full result is finite (`figuresInto`), so the
   * count is `transitions`' with or without subscribers.
   */
  settle(book: BookEngine, moved: readonly number[], seq: () => number): number {
    let n = 0;
    for (let j = 0; j < moved.length; j++) {
      const k = moved[j];
      const h = book.figuresInto(k, this.figures);
      this.health[k] = h < 0 ? NO_HEALTH : h;
      if (h >= 0) {
        seq();
        n++;
      }
    }
    return n;
  }

  /** The events of accounts `indices` whose results are `results` (a trade: one account). */
  transitions(book: BookEngine, indices: readonly number[], results: readonly BookAccountResult[], cause: 'tick' | 'trade', marketHash: () => string, seq: () => number): { index: number; event: HealthEvent }[] {
    const out: { index: number; event: HealthEvent }[] = [];
    let model: HealthEvent['model'] | null = null;
    let hash = '';
    for (let j = 0; j < indices.length; j++) {
      const k = indices[j];
      const r = results[j];
      const prev = this.health[k];
      const code = healthCodeOf(r);
      this.health[k] = code;
      if (code === prev || code === NO_HEALTH || !r.ok) continue;
      if (!model) {
        const m = book.header().model;
        model = { id: m.id, version: m.version, hash: m.hash };
        hash = marketHash();
      }
      const event: HealthEvent = {
        seq: seq(),
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
        marketHash: hash,
        model,
        time: Date.now(),
      };
      out.push({ index: k, event });
    }
    return out;
  }
}
