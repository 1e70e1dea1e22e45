/**
 * A worker's part of a resident book (docs/scale-out.md "The resident book"): reads the book's
 * feed from its start, in order (a gap in the positions restarts the read from the start),
 * holds the buckets the last assign gives it by rendezvous hashing, one BookEngine per bucket,
 * and re-margins them with the local book's own code: BookEngine.tick on the market BookMarket
 * makes from the tick (the same as `optmargin serve`'s book), BookEngine.trade, and
 * HealthTracker's events. Every feed position gets a report on the done subject.
 *
 * A bucket it gains is loaded from its stored accounts on the loaded market and replayed through
 * every tick and trade of the feed since the load: the same sequence the bucket's accounts went
 * through on their previous owner (or on one machine), so its figures are those of a local book.
 * The replay reports only the positions the assign names (those its previous owner, gone, never
 * reported): no event is lost or reported twice.
 */
import type { ConsumerMessages, JetStreamManager, NatsConnection } from 'nats';
import { OptmarginError } from '../errors.js';
import { resolveMarket } from '../market/index.js';
import { memoMarketHash, type MarginMarket } from '../market/margin-market.js';
import type { ResolvedMarket } from '../market/types.js';
import { loadModel } from '../measures/models.js';
import type { LoadedModel } from '../measures/types.js';
import { BookMarket, HealthTracker, type TickBody } from '../runner/book/health.js';
import { BookEngine } from '../runner/book/runner.js';
import { ensureStream } from './broker.js';
import { pack } from './protocol.js';
import { splitOutputs } from './resident-report.js';
import { bucketOf, decodeBucketPart, decodeFeed, owners, PROTOCOL_VERSION, RBOOK_STREAM, rsubjects, type AssignMessage, type FeedMessage, type LoadMessage, type Output } from './resident-protocol.js';

const HEARTBEAT_MS = 250;

/** A bucket held: its engine, its accounts' health, their book indices. */
interface Bucket {
  engine: BookEngine | null;
  health: HealthTracker;
  index: number[];
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
  held: Map<number, Bucket>;
}

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
  ) {}

  static async start(nc: NatsConnection, name: string, book: string, log: (line: string) => void, verbose = false): Promise<ResidentMember> {
    const jsm = await nc.jetstreamManager();
    await ensureStream(jsm, RBOOK_STREAM, [rsubjects.stream], false);
    return new ResidentMember(nc, jsm, name, book, log, verbose);
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
    for (const b of this.state?.held.values() ?? []) await b.engine?.close();
    this.state = null;
    this.pos = -1;
  }

  private async load(spec: LoadMessage): Promise<void> {
    await this.drop();
    const base = resolveMarket(spec.market as Parameters<typeof resolveMarket>[0]);
    const model = loadModel(spec.model);
    this.state = { spec, base, model, live: new Track(base), log: [spec], held: new Map() };
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
    else outs.push(await step(s, s.held, s.live, msg, advance(s.live, msg).error));
    this.pos = msg.pos;
    const held = [...s.held.keys()].sort((a, b) => a - b);
    const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
    const parts = splitOutputs(outs, maxPayload);
    parts.forEach((p, i) => this.nc.publish(rsubjects.done(this.book), pack({ v: PROTOCOL_VERSION, load: s.spec.load, pos: msg.pos, worker: this.name, part: i, parts: parts.length, held, outs: p })));
  }

  /** Drops the buckets this member no longer owns, builds and replays those it gains. */
  private async assign(s: Loaded, msg: AssignMessage): Promise<Output[]> {
    const own = owners(msg.members, s.spec.buckets);
    for (const [b, bucket] of s.held) {
      if (own[b] === this.name) continue;
      await bucket.engine?.close();
      s.held.delete(b);
    }
    const gained = new Map<number, Bucket>();
    for (let b = 0; b < own.length; b++) {
      if (own[b] !== this.name || s.held.has(b)) continue;
      gained.set(b, await this.build(s, b));
      await yieldToTimers(); // the heartbeat keeps going during a long rebuild
    }
    if (gained.size === 0) return [];
    const t0 = performance.now();
    const from = new Map(msg.replay);
    const outs: Output[] = [];
    const track = new Track(s.base);
    for (let p = 1; p < msg.pos; p++) {
      const m = s.log[p];
      if (m.kind === 'load' || m.kind === 'assign') continue;
      // positions the previous owner reported stay silent: only the named ones are reported again
      const report = new Map([...gained].filter(([b]) => (from.get(b) ?? Infinity) <= p));
      const silent = new Map([...gained].filter(([b]) => !report.has(b)));
      const refused = advance(track, m).error;
      if (report.size) outs.push(await step(s, report, track, m, refused));
      if (silent.size) await step(s, silent, track, m, refused);
      await yieldToTimers();
    }
    for (const [b, bucket] of gained) s.held.set(b, bucket);
    this.log(`resident book ${this.book}: epoch ${msg.epoch}: holds ${s.held.size} of ${s.spec.buckets} buckets (${gained.size} gained, replayed ${msg.pos - 1} feed positions in ${(performance.now() - t0).toFixed(0)} ms)`);
    return outs.filter((o) => o.events.length || o.results || o.trade || o.error);
  }

  /** A bucket's accounts as loaded, margined on the loaded market. */
  private async build(s: Loaded, b: number): Promise<Bucket> {
    const entries: [number, unknown][] = [];
    for (let part = 0; part < s.spec.parts[b]; part++) {
      const m = await this.jsm.streams.getMessage(RBOOK_STREAM, { last_by_subj: rsubjects.bucket(this.book, s.spec.load, b, part) });
      for (const e of decodeBucketPart(m.data).entries) entries.push(e);
    }
    const bucket: Bucket = { engine: null, health: new HealthTracker(), index: entries.map((e) => e[0]) };
    if (entries.length === 0) return bucket;
    const engine = BookEngine.create({ market: s.base, model: s.model, threads: 1 });
    engine.load(entries.map((e) => e[1]), undefined, bucket.index);
    await engine.recompute();
    bucket.engine = engine;
    bucket.health.reset(engine.results());
    return bucket;
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
 * Feed message `m` applied to `buckets`, the market in force being `track`'s (advanced for `m`
 * by the caller): what they report. The book's own code: BookEngine.tick / trade / result and
 * HealthTracker's events, whose market hash is BookMarket's.
 */
async function step(s: Loaded, buckets: Map<number, Bucket>, track: Track, m: FeedMessage, refused?: Output['error']): Promise<Output> {
  const out: Output = { pos: m.pos, changed: 0, events: [] };
  const hash = (): string => track.market.marketHash;
  if (refused) return { ...out, error: refused };
  try {
    if (m.kind === 'tick') {
      for (const b of buckets.values()) {
        if (!b.engine) continue;
        const u = await b.engine.tick(m.body.underlying, track.current);
        out.changed += u.indices.length;
        for (const { index, event } of b.health.tick(b.engine, u.indices, hash, noSeq)) out.events.push([b.index[index], event]);
      }
    } else if (m.kind === 'trade') {
      const b = buckets.get(bucketOf(m.account, s.spec.buckets));
      if (b?.engine) {
        const r = b.engine.trade(m.account, m.changes);
        out.changed = 1;
        out.trade = [b.index[r.index], r.result];
        for (const { index, event } of b.health.transitions(b.engine, [r.index], [r.result], 'trade', hash, noSeq)) out.events.push([b.index[index], event]);
      }
    } else if (m.kind === 'collect') {
      out.results = [];
      for (const b of buckets.values()) if (b.engine) for (let j = 0; j < b.index.length; j++) out.results.push([b.index[j], b.engine.result(j)]);
    }
  } catch (e) {
    if (!(e instanceof OptmarginError)) throw e;
    out.error = { code: e.code, message: e.message };
  }
  return out;
}
