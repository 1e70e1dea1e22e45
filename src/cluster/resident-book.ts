/**
 * The controller of a resident sharded book over NATS (docs/scale-out.md "The resident book"):
 * what a backend calls. It stores the book's buckets on the broker, publishes every load, tick,
 * trade, results request and rebalance ONCE on the book's feed with consecutive positions, and
 * waits for each member's report of each position before the next (one position in flight).
 * Health events come back in the reports; the controller numbers them in book order (as
 * `optmargin serve` does) and publishes them on the events subject.
 *
 * Membership: a worker that heartbeats on the book's current load joins at the next idle moment
 * (an assign); one silent for `deadAfterMs` leaves at once, even with a position in flight:
 * the assign that removes it names, for each of its buckets, the first position its reports did
 * not cover, and the bucket's new owner replays the feed and reports those positions instead.
 * Rule: each (position, account) is reported by exactly one owner — the one that held the
 * account when its report arrived (reports of a member that left are ignored) — so no event is
 * lost or duplicated across a rebalance.
 */
import type { NatsConnection, Subscription } from 'nats';
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import type { BookAccountResult } from '../io/results.js';
import { resolveMarket } from '../market/index.js';
import { memoMarketHash } from '../market/margin-market.js';
import { loadModel } from '../measures/models.js';
import type { MarginModel } from '../measures/types.js';
import { BookMarket, checkTickBody, type HealthEvent, type TickBody } from '../runner/book/health.js';
import { validateChanges } from '../instruments/account.js';
import { bookIdOf } from '../instruments/columns.js';
import { clusterError, connectBroker, ensureStream } from './broker.js';
import { fittingRanges, newJobId } from './job.js';
import { pack } from './protocol.js';
import { Gathered } from './resident-report.js';
import { bucketOf, checkBookName, decodeHeartbeat, decodeReport, DEFAULT_BUCKETS, MAX_BUCKETS, owners, PROTOCOL_VERSION, RBOOK_STREAM, rsubjects, type FeedMessage, type Report } from './resident-protocol.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface ResidentBookOptions {
  url: string;
  /** the book's name (several books can share a broker); default "default" */
  book?: string;
  /** a member silent for this long has left (default 3,000 ms) */
  deadAfterMs?: number;
  /** fail an operation that gets no report for this long (default 60 s) */
  timeoutS?: number;
  log?: (line: string) => void;
}

export interface ResidentLoad {
  /** the market snapshot (what resolveMarket takes) */
  market: unknown;
  model?: string | MarginModel;
  accounts: readonly unknown[];
  buckets?: number;
  /** wait for this many members before loading (default 1) */
  minMembers?: number;
}

/** A position in flight: the members still to report it, and what they reported. */
interface Pending {
  pos: number;
  waiting: Set<string>;
  parts: Map<string, number>;
  got: Gathered;
  /** later assigns whose replays complete this position */
  deps: Pending[];
  /** each bucket's owner when the position was published (whose report covers it) */
  own: string[];
  done: boolean;
  settle: { resolve: (g: Gathered) => void; reject: (e: Error) => void };
  promise: Promise<Gathered>;
  last: number;
}

export class ResidentBook {
  private load_ = '';
  private n = 0;
  private buckets = 0;
  private pos = -1;
  private epoch = 0;
  private seq = 0;
  private ids = new Map<string, number>();
  private market: BookMarket | null = null;
  private readonly seen = new Map<string, number>();
  private members: string[] = [];
  private own: string[] = [];
  /** per bucket: the last position whose outputs for it the controller has */
  private through: number[] = [];
  private readonly held = new Map<string, number[]>();
  private readonly pending = new Map<number, Pending>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly subs: Subscription[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: ((e: HealthEvent) => void)[] = [];
  private readonly book: string;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: ResidentBookOptions,
  ) {
    this.book = checkBookName(o.book ?? 'default');
    this.subs.push(nc.subscribe(rsubjects.hb(this.book), { callback: (err, m) => !err && this.guard(() => this.heartbeat(m.data)) }));
    this.subs.push(nc.subscribe(rsubjects.done(this.book), { callback: (err, m) => !err && this.guard(() => this.report(decodeReport(m.data))) }));
    this.timer = setInterval(() => this.watch(), 100);
  }

  static async open(o: ResidentBookOptions): Promise<ResidentBook> {
    const nc = await connectBroker(o.url, 'optmargin-resident-book');
    await ensureStream(await nc.jetstreamManager(), RBOOK_STREAM, [rsubjects.stream], false);
    return new ResidentBook(nc, o);
  }

  /** Current members, and the buckets each reported holding after its last report. */
  holdings(): { members: string[]; held: Record<string, number[]>; buckets: number } {
    return { members: [...this.members], held: Object.fromEntries([...this.held].filter(([w]) => this.members.includes(w))), buckets: this.buckets };
  }

  onEvent(f: (e: HealthEvent) => void): void {
    this.listeners.push(f);
  }

  get marketHash(): string {
    return this.market!.marketHash;
  }

  /** Stores the book's buckets on the broker and loads it on the members (each margins the buckets it owns). */
  load(l: ResidentLoad): Promise<{ accounts: number; buckets: number; members: string[] }> {
    return this.serial(async () => {
      const model = loadModel(l.model ?? DEFAULT_BOOK_MODEL);
      const base = resolveMarket(l.market as Parameters<typeof resolveMarket>[0]);
      const B = l.buckets ?? DEFAULT_BUCKETS;
      if (!Number.isInteger(B) || B < 1 || B > MAX_BUCKETS) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `buckets must be an integer in [1, ${MAX_BUCKETS}], got ${B}`, 'buckets');
      const byBucket: [number, unknown][][] = Array.from({ length: B }, () => []);
      const ids = new Map<string, number>();
      l.accounts.forEach((raw, k) => {
        // an account without a usable id is named by its book index, as in a local book (and keeps its error)
        const id = bookIdOf(raw, k);
        if (!ids.has(id)) ids.set(id, k);
        byBucket[bucketOf(id, B)].push([k, raw]);
      });
      await this.waitMembers(l.minMembers ?? 1);
      const load = newJobId();
      const jsm = await this.nc.jetstreamManager();
      await jsm.streams.purge(RBOOK_STREAM, { filter: rsubjects.all(this.book) });
      this.failAll(clusterError('the book was reloaded'));
      const js = this.nc.jetstream({ timeout: 30_000 });
      const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
      const parts = new Array<number>(B).fill(0);
      for (let b = 0; b < B; b++) {
        await fittingRanges(byBucket[b].length, byBucket[b].length || 1, maxPayload, (from, to) => ({ bytes: pack({ v: PROTOCOL_VERSION, load, bucket: b, part: parts[b], entries: byBucket[b].slice(from, to) }) }), async (_f, _t, x) => {
          if (byBucket[b].length === 0) return;
          await js.publish(rsubjects.bucket(this.book, load, b, parts[b]++), x.bytes);
        });
      }
      Object.assign(this, { load_: load, n: l.accounts.length, buckets: B, pos: -1, epoch: 0, seq: 0, ids, through: new Array<number>(B).fill(0), own: [] });
      this.held.clear();
      let current = base as Parameters<typeof memoMarketHash>[0];
      this.market = new BookMarket(base, () => memoMarketHash(current));
      const track = this.market;
      this.marketApply = (body) => void (current = track.apply(body));
      const spec: FeedMessage = { v: PROTOCOL_VERSION, kind: 'load', pos: ++this.pos, load, market: l.market, model: model.params, marketHash: memoMarketHash(base), modelHash: model.hash, buckets: B, parts };
      await this.publishFeed(spec);
      this.members = this.candidates();
      await this.assign([]).promise;
      return { accounts: this.n, buckets: B, members: [...this.members] };
    });
  }

  private marketApply: (body: TickBody) => void = () => undefined;

  /** Moves one underlying (relative to the loaded market): the members re-margin the accounts holding it. */
  tick(bodyIn: TickBody): Promise<{ pos: number; changed: number; events: HealthEvent[]; marketHash: string }> {
    return this.serial(async () => {
      this.loaded();
      const body = checkTickBody(bodyIn);
      this.marketApply(body); // refused here (a clear error) before anything is published
      const g = await this.op((pos) => ({ v: PROTOCOL_VERSION, kind: 'tick', pos, load: this.load_, body }));
      return { pos: this.pos, changed: g.changed, events: await this.publishEvents(g), marketHash: this.marketHash };
    });
  }

  /** Adds `changes` to account `id` on its owner (BookEngine.trade there): its new result and events. */
  trade(id: string, changesIn: unknown): Promise<{ index: number; result: BookAccountResult; events: HealthEvent[] }> {
    return this.serial(async () => {
      this.loaded();
      if (typeof id !== 'string') throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account must be an account id (a string), got ${JSON.stringify(id)}`, 'account');
      if (!this.ids.has(id)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${JSON.stringify(id)} is not in the book`);
      const changes = validateChanges(changesIn);
      const g = await this.op((pos) => ({ v: PROTOCOL_VERSION, kind: 'trade', pos, load: this.load_, account: id, changes }));
      if (g.error) throw new OptmarginError(g.error.code as ErrorCode, g.error.message);
      if (!g.trade) throw new OptmarginError(ErrorCodes.INTERNAL, `trade on ${id}: no member reported it`);
      return { index: g.trade[0], result: g.trade[1], events: await this.publishEvents(g) };
    });
  }

  /** Every account's result in book order, gathered from the members at one feed position (each account exactly once, or an error). */
  results(): Promise<BookAccountResult[]> {
    return this.serial(async () => {
      this.loaded();
      const g = await this.op((pos) => ({ v: PROTOCOL_VERSION, kind: 'collect', pos, load: this.load_ }));
      const out = new Array<BookAccountResult | undefined>(this.n);
      for (const [k, r] of g.results) {
        if (out[k] !== undefined) throw new OptmarginError(ErrorCodes.INTERNAL, `account ${k} (${r.id}) was reported by two members`);
        out[k] = r;
      }
      const missing = out.findIndex((r) => r === undefined);
      if (missing >= 0 || out.length !== this.n) throw new OptmarginError(ErrorCodes.INTERNAL, `account ${missing} is held by no member`);
      return out as BookAccountResult[];
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.failAll(clusterError('the resident book was closed'));
    for (const s of this.subs) s.unsubscribe();
    if (!this.nc.isClosed()) await this.nc.close();
  }

  // ───────────── positions, reports, membership ─────────────

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private loaded(): void {
    if (!this.load_) throw new OptmarginError(ErrorCodes.NOT_FOUND, 'no resident book is loaded: load() first');
  }

  private async op(make: (pos: number) => FeedMessage): Promise<Gathered> {
    if (this.members.length === 0) throw clusterError(`no member holds the resident book ${this.book} (start workers: optmargin worker --nats ${this.o.url})`);
    await this.rebalanceIfJoined();
    const msg = make(++this.pos);
    const p = this.expect(msg.pos, this.members);
    await this.publishFeed(msg);
    return p.promise;
  }

  private async publishFeed(msg: FeedMessage): Promise<void> {
    const ack = await this.nc.jetstream({ timeout: 30_000 }).publish(rsubjects.feed(this.book), pack(msg), { msgID: `feed.${msg.load}.${msg.pos}` });
    if (ack.duplicate) throw new OptmarginError(ErrorCodes.INTERNAL, `feed position ${msg.pos} was taken by the broker for a duplicate: not stored`);
  }

  private expect(pos: number, members: readonly string[]): Pending {
    let settle!: Pending['settle'];
    const promise = new Promise<Gathered>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined);
    const p: Pending = { pos, waiting: new Set(members), parts: new Map(), got: new Gathered(), deps: [], own: this.own, done: false, settle, promise, last: performance.now() };
    this.pending.set(pos, p);
    return p;
  }

  /** Publishes an assign for the current members; `replay` names the first unreported position of each bucket a member left with. */
  private assign(replay: [number, number][]): Pending {
    this.epoch++;
    this.own = owners(this.members, this.buckets);
    const pos = ++this.pos;
    const p = this.expect(pos, this.members);
    for (const q of this.pending.values()) if (q !== p) q.deps.push(p);
    void this.publishFeed({ v: PROTOCOL_VERSION, kind: 'assign', pos, load: this.load_, epoch: this.epoch, members: [...this.members], replay }).catch((e: Error) => p.settle.reject(clusterError(`NATS: ${e.message}`)));
    this.o.log?.(`resident book ${this.book}: epoch ${this.epoch} at position ${pos}: ${this.members.length} members${replay.length ? `, ${replay.length} buckets replayed` : ''}`);
    return p;
  }

  /** Workers heard within deadAfterMs (they read the feed from its start: any of them can join). */
  private candidates(): string[] {
    const now = performance.now();
    return [...this.seen].filter(([, t]) => now - t <= this.deadAfterMs).map(([w]) => w).sort();
  }

  private get deadAfterMs(): number {
    return this.o.deadAfterMs ?? 3000;
  }

  private heartbeat(data: Uint8Array): void {
    this.seen.set(decodeHeartbeat(data).worker, performance.now());
  }

  /** Lets the workers that joined since the last position in (a rebalance); the holdings after it. */
  sync(): Promise<ReturnType<ResidentBook['holdings']>> {
    return this.serial(async () => {
      this.loaded();
      await this.rebalanceIfJoined();
      return this.holdings();
    });
  }

  /** A joiner enters between positions (nothing in flight). */
  private async rebalanceIfJoined(): Promise<void> {
    const c = this.candidates();
    if (this.pending.size > 0 || c.every((w) => this.members.includes(w))) return;
    this.members = [...new Set([...this.members, ...c])].sort();
    await this.assign([]).promise;
  }

  /** Members silent for deadAfterMs leave at once; stalled positions fail. */
  private watch(): void {
    const now = performance.now();
    const dead = this.members.filter((w) => now - (this.seen.get(w) ?? 0) > this.deadAfterMs);
    if (dead.length && this.load_) {
      for (const w of dead) this.seen.delete(w);
      this.members = this.members.filter((w) => !dead.includes(w));
      const replay: [number, number][] = [];
      this.own.forEach((w, b) => dead.includes(w) && replay.push([b, this.through[b] + 1]));
      for (const p of this.pending.values()) for (const w of dead) p.waiting.delete(w);
      this.o.log?.(`resident book ${this.book}: ${dead.join(', ')} left`);
      if (this.members.length) this.assign(replay);
      else this.failAll(clusterError(`every member of the resident book ${this.book} left (${dead.join(', ')} last): load it again once workers are back`));
      this.settleDone();
    }
    for (const p of this.pending.values()) {
      if (!p.done && now - p.last > (this.o.timeoutS ?? 60) * 1000) {
        this.pending.delete(p.pos);
        p.settle.reject(clusterError(`no report of feed position ${p.pos} for ${this.o.timeoutS ?? 60} s from ${[...p.waiting].join(', ') || 'any member'}`));
      }
    }
  }

  /** A message that cannot be read is logged and dropped (a stalled position then fails by its timeout, naming the members). */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      this.o.log?.(`resident book ${this.book}: dropped a message: ${e.message}`);
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.settle.reject(e);
    this.pending.clear();
  }

  private report(r: Report): void {
    if (r.load !== this.load_) return;
    const p = this.pending.get(r.pos);
    if (!p || !p.waiting.has(r.worker)) return; // a member that left, or a position already complete
    p.last = performance.now();
    for (const o of r.outs) this.pending.get(o.pos)?.got.add(o);
    const parts = (p.parts.get(r.worker) ?? 0) + 1;
    p.parts.set(r.worker, parts);
    if (parts < r.parts) return;
    p.waiting.delete(r.worker);
    this.held.set(r.worker, r.held);
    // the buckets this report covers: the member's at the position (a bucket it gained later is covered by that assign's report)
    p.own.forEach((w, b) => w === r.worker && (this.through[b] = Math.max(this.through[b], r.pos)));
    this.settleDone();
  }

  private settleDone(): void {
    const complete = (p: Pending): boolean => p.waiting.size === 0 && p.deps.every((d) => d.waiting.size === 0);
    for (const p of [...this.pending.values()].sort((a, b) => a.pos - b.pos)) {
      if (!complete(p)) continue;
      this.pending.delete(p.pos);
      p.done = true;
      p.settle.resolve(p.got);
    }
  }

  /** Numbers a position's events in book order, stores them on the events subject (the call returns once the broker has them all), tells the listeners. */
  private async publishEvents(g: Gathered): Promise<HealthEvent[]> {
    const events = g.events.sort((a, b) => a[0] - b[0]).map(([, e]) => ({ ...e, seq: ++this.seq }));
    const js = this.nc.jetstream({ timeout: 30_000 });
    const stored = events.map((e) => js.publish(rsubjects.events(this.book), pack(e), { msgID: `event.${this.load_}.${e.seq}` }));
    for (const e of events) for (const f of this.listeners) f(e);
    try {
      await Promise.all(stored);
    } catch (err) {
      throw clusterError(`the events of feed position ${this.pos} were computed but not all stored on ${rsubjects.events(this.book)}: ${(err as Error).message}`);
    }
    return events;
  }

  private async waitMembers(n: number): Promise<void> {
    const t0 = performance.now();
    // joiners heartbeat the load they read; before a load, any heartbeat counts
    while (this.candidates().length < n) {
      if (performance.now() - t0 > (this.o.timeoutS ?? 60) * 1000) throw clusterError(`${this.candidates().length} of ${n} members after ${this.o.timeoutS ?? 60} s (start workers: optmargin worker --nats ${this.o.url})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
