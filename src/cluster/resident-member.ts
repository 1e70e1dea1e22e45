/**
 * A worker's part of a resident book (docs/scale-out.md "The resident book"): reads the book's
 * feed from its start, in order (a gap in the positions restarts the read from the start),
 * holds the buckets the last assign gives it by rendezvous hashing, and re-margins them with the
 * local book's own code: BookEngine.tick on the market BookMarket makes from the tick (the same
 * as `optmargin serve`'s book), BookEngine.trade, and HealthTracker's events. Every feed
 * position gets a report on the done subject.
 *
 * The buckets gained at one assign form a segment: one BookEngine over their accounts, loaded
 * from the broker on the loaded market and replayed through every tick and trade of the feed
 * since the load — the same sequence the accounts went through on their previous owner (or on
 * one machine), so their figures are those of a local book. The replay reports only the
 * positions the assign names (those a departed owner never reported): no event is lost or
 * reported twice.
 */
import type { ConsumerMessages, JetStreamManager, NatsConnection } from 'nats';
import { OptmarginError } from '../errors.js';
import { resolveMarket } from '../market/index.js';
import { memoMarketHash, type MarginMarket } from '../market/margin-market.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadModel } from '../measures/models.js';
import type { LoadedModel } from '../measures/types.js';
import { BookMarket, HealthTracker, type HealthEvent, type TickBody } from '../runner/book/health.js';
import { BookEngine } from '../runner/book/runner.js';
import { ensureStream } from './broker.js';
import { pack } from './protocol.js';
import { Gathered, splitOutputs } from './resident-report.js';
import { bucketOf, decodeBucketPart, decodeFeed, owners, PROTOCOL_VERSION, RBOOK_STREAM, rsubjects, type AssignMessage, type FeedMessage, type LoadMessage, type Output } from './resident-protocol.js';

const HEARTBEAT_MS = 250;

/**
 * The buckets gained at one assign: one BookEngine over all their accounts (few engines: each
 * revalues the ticked underlying's instruments once per tick). `live`: the buckets it still
 * answers for; a bucket given away stays in the engine, unreported, until the segment has none
 * left (a bucket that comes back is loaded afresh).
 */
interface Segment {
  engine: BookEngine | null;
  health: HealthTracker;
  /** book index and bucket of each of the engine's accounts */
  index: number[];
  bucket: Int32Array;
  /** the buckets loaded into it, and those it still answers for */
  has: Set<number>;
  live: Set<number>;
}

/** Which of a segment's buckets a step moves on (a trade) and reports. */
interface Scope {
  apply: (b: number) => boolean;
  emit: (b: number) => boolean;
}

/** A market sequence: the loaded market, the moves in force, the market the engines are on. */
class Track {
  readonly market: BookMarket;
  current: MarginMarket;
  constructor(base: ResolvedMarket) {
    this.current = base;
    this.market = new BookMarket(base, () => memoMarketHash(this.current));
  }
  apply(body: TickBody): MarginMarket {
    return (this.current = this.market.apply(body));
  }
}

interface Loaded {
  spec: LoadMessage;
  base: ResolvedMarket;
  model: LoadedModel;
  live: Track;
  /** every feed message since the load, by position (a gained bucket replays them) */
  log: FeedMessage[];
  segments: Segment[];
  threads: number;
}

const heldBy = (s: Loaded): number[] => s.segments.flatMap((g) => [...g.live]).sort((a, b) => a - b);

const noSeq = (): number => 0; // the controller numbers the events
const yieldToTimers = (): Promise<void> => new Promise((r) => setImmediate(r));

export class ResidentMember {
  private state: Loaded | null = null;
  private pos = -1;
  private stopped = false;
  private iter: ConsumerMessages | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    readonly name: string,
    private readonly book: string,
    private readonly log: (line: string) => void,
    private readonly verbose = false,
    private readonly threads = 1,
  ) {}

  /** `threads`: each segment engine's pool (1: in the member's own thread) */
  static async start(nc: NatsConnection, name: string, book: string, log: (line: string) => void, verbose = false, threads = 1): Promise<ResidentMember> {
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, RBOOK_STREAM, [rsubjects.stream], false);
    return new ResidentMember(nc, jsm, name, book, log, verbose, threads);
  }

  /** Reads the feed until stop(); heartbeats meanwhile. */
  async run(): Promise<void> {
    this.timer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.heartbeat();
    this.log(`resident book ${this.book}: member, reading its feed`);
    try {
      while (!this.stopped && !this.nc.isClosed()) {
        const restart = await this.readFeed();
        if (restart) this.log(`resident book ${this.book}: ${restart}; reading the feed again from its start`);
      }
    } finally {
      clearInterval(this.timer);
    }
  }

  stop(): void {
    this.stopped = true;
    this.iter?.stop();
  }

  async close(): Promise<void> {
    this.stop();
    await this.drop();
  }

  private heartbeat(): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(rsubjects.hb(this.book), pack({ v: PROTOCOL_VERSION, worker: this.name, load: this.state?.spec.load ?? '', pos: this.pos }));
  }

  /** One ordered read of the feed; a reason to read it again, or null when stopped. */
  private async readFeed(): Promise<string | null> {
    await this.drop();
    const consumer = await this.nc.jetstream().consumers.get(RBOOK_STREAM, { filterSubjects: rsubjects.feed(this.book) });
    this.iter = await consumer.consume({ max_messages: 256 });
    for await (const m of this.iter) {
      const msg = decodeFeed(m.data);
      if (msg.kind === 'load') await this.load(msg);
      else if (!this.state || msg.load !== this.state.spec.load || msg.pos !== this.pos + 1) {
        this.iter.stop();
        return `feed gap (position ${msg.pos} of load ${msg.load} after ${this.pos} of ${this.state?.spec.load ?? 'none'})`;
      } else await this.live(msg);
      if (this.stopped) break;
    }
    return this.stopped ? null : 'the feed ended';
  }

  private async drop(): Promise<void> {
    for (const g of this.state?.segments ?? []) await g.engine?.close();
    this.state = null;
    this.pos = -1;
  }

  private async load(spec: LoadMessage): Promise<void> {
    await this.drop();
    const base = resolveMarket(spec.market as Parameters<typeof resolveMarket>[0]);
    const model = loadModel(spec.model);
    this.state = { spec, base, model, live: new Track(base), log: [spec], segments: [], threads: this.threads };
    this.pos = 0;
    this.heartbeat();
  }

  /** A feed message as it comes: applied to every bucket held, reported. */
  private async live(msg: FeedMessage): Promise<void> {
    const s = this.state!;
    if (this.verbose) this.log(`resident book ${this.book}: position ${msg.pos} (${msg.kind})`);
    s.log[msg.pos] = msg;
    const outs: Output[] = [];
    if (msg.kind === 'assign') outs.push(...(await this.assign(s, msg)));
    else {
      const refused = advance(s.live, msg).error;
      const all = new Gathered();
      for (const g of s.segments) all.add(await step(s, g, s.live, msg, refused, { apply: (b) => g.live.has(b), emit: (b) => g.live.has(b) }));
      outs.push({ pos: msg.pos, changed: all.changed, events: all.events, ...(msg.kind === 'collect' ? { results: all.results } : {}), ...(all.trade ? { trade: all.trade } : {}), ...(all.error ? { error: all.error } : {}) });
    }
    this.pos = msg.pos;
    const held = heldBy(s);
    const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
    const parts = splitOutputs(outs, maxPayload);
    parts.forEach((p, i) => this.nc.publish(rsubjects.done(this.book), pack({ v: PROTOCOL_VERSION, load: s.spec.load, pos: msg.pos, worker: this.name, part: i, parts: parts.length, held, outs: p })));
  }

  /** Stops answering for the buckets this member no longer owns; builds and replays those it gains, as one segment. */
  private async assign(s: Loaded, msg: AssignMessage): Promise<Output[]> {
    const own = owners(msg.members, s.spec.buckets);
    for (const g of s.segments) for (const b of g.live) if (own[b] !== this.name) g.live.delete(b);
    for (const g of s.segments.filter((x) => x.live.size === 0)) await g.engine?.close();
    s.segments = s.segments.filter((x) => x.live.size > 0);
    const held = new Set(heldBy(s));
    const gained: number[] = [];
    for (let b = 0; b < own.length; b++) if (own[b] === this.name && !held.has(b)) gained.push(b);
    if (gained.length === 0) return [];
    const t0 = performance.now();
    const g = await this.build(s, gained);
    const from = new Map(msg.replay);
    const outs: Output[] = [];
    const track = new Track(s.base);
    for (let p = 1; p < msg.pos; p++) {
      const m = s.log[p];
      if (m.kind === 'load' || m.kind === 'assign') continue;
      // every position moves the segment on; only those its buckets' previous owners never reported are reported
      const refused = advance(track, m).error;
      const o = await step(s, g, track, m, refused, { apply: () => true, emit: (b) => (from.get(b) ?? Infinity) <= p });
      if (o.events.length || o.trade || o.results?.length || o.error) outs.push(o);
      await yieldToTimers(); // the heartbeat keeps going during a long replay
    }
    s.segments.push(g);
    this.log(`resident book ${this.book}: epoch ${msg.epoch}: holds ${heldBy(s).length} of ${s.spec.buckets} buckets in ${s.segments.length} engines (${gained.length} gained, replayed ${msg.pos - 1} feed positions in ${(performance.now() - t0).toFixed(0)} ms)`);
    return outs;
  }

  /** The gained buckets' accounts as loaded (book order), margined on the loaded market. */
  private async build(s: Loaded, buckets: number[]): Promise<Segment> {
    const entries: [number, unknown, number][] = [];
    for (const b of buckets) {
      for (let part = 0; part < s.spec.parts[b]; part++) {
        const m = await this.jsm.streams.getMessage(RBOOK_STREAM, { last_by_subj: rsubjects.bucket(this.book, s.spec.load, b, part) });
        for (const [k, a] of decodeBucketPart(m.data).entries) entries.push([k, a, b]);
      }
    }
    entries.sort((x, y) => x[0] - y[0]);
    const g: Segment = { engine: null, health: new HealthTracker(), index: entries.map((e) => e[0]), bucket: Int32Array.from(entries, (e) => e[2]), has: new Set(buckets), live: new Set(buckets) };
    if (entries.length === 0) return g;
    const engine = BookEngine.create({ market: s.base, model: s.model, threads: s.threads });
    engine.load(entries.map((e) => e[1]), undefined, g.index);
    await engine.recompute();
    g.engine = engine;
    g.health.reset(engine.results());
    return g;
  }
}

/** The market after feed message `m` on `track` (a tick moves it), or the user error that refuses it. */
function advance(track: Track, m: FeedMessage): { market: MarginMarket; error?: Output['error'] } {
  if (m.kind !== 'tick') return { market: track.current };
  try {
    return { market: track.apply(m.body) };
  } catch (e) {
    if (!(e instanceof OptmarginError)) throw e;
    return { market: track.current, error: { code: e.code, message: e.message } };
  }
}

/**
 * Feed message `m` applied to segment `g`, the market in force being `track`'s (advanced for `m`
 * by the caller): what its buckets in `scope` report. The book's own code: BookEngine.tick /
 * trade / result and HealthTracker's events (every account's health follows, reported or not),
 * whose market hash is BookMarket's.
 */
async function step(s: Loaded, g: Segment, track: Track, m: FeedMessage, refused: Output['error'] | undefined, scope: Scope): Promise<Output> {
  const out: Output = { pos: m.pos, changed: 0, events: [] };
  const hash = (): string => track.market.marketHash;
  const e = g.engine;
  if (refused) return { ...out, error: refused };
  if (!e) return m.kind === 'collect' ? { ...out, results: [] } : out;
  const keep = (events: { index: number; event: HealthEvent }[]): void => {
    for (const { index, event } of events) if (scope.emit(g.bucket[index])) out.events.push([g.index[index], event]);
  };
  try {
    if (m.kind === 'tick') {
      const u = await e.tick(m.body.underlying, track.current);
      for (const k of u.indices) if (scope.emit(g.bucket[k])) out.changed++;
      keep(g.health.tick(e, u.indices, hash, noSeq));
    } else if (m.kind === 'trade') {
      const b = bucketOf(m.account, s.spec.buckets);
      if (!g.has.has(b) || !scope.apply(b)) return out; // not this segment's account (or a stale copy)
      const r = e.trade(m.account, m.changes);
      if (scope.emit(b)) {
        out.changed = 1;
        out.trade = [g.index[r.index], r.result];
      }
      keep(g.health.transitions(e, [r.index], [r.result], 'trade', hash, noSeq));
    } else if (m.kind === 'collect') {
      out.results = [];
      for (let k = 0; k < g.index.length; k++) if (scope.emit(g.bucket[k])) out.results.push([g.index[k], e.result(k)]);
    }
  } catch (err) {
    if (!(err instanceof OptmarginError)) throw err;
    if (m.kind !== 'trade' || scope.emit(bucketOf(m.account, s.spec.buckets))) out.error = { code: err.code, message: err.message };
  }
  return out;
}
