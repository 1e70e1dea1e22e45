/**
 * The plans of one cascade round, and the job that computes a chunk of them on the book's pool
 * workers (or in-process). A round is a batch auction (simulate.ts): every plan of the round
 * prices its impact on the step's earlier rounds' notional, so its plans are independent and
 * can run anywhere, in any order; the simulator books them on the main thread in account order.
 *
 * What a worker needs to plan exactly as the main thread would: the round's market (a resolved
 * snapshot and its price multipliers — priceRecipe; the same doubles once rebuilt), the model,
 * the mechanism, the step's prior notional and the accounts. A market that is not a price-only
 * resolved view (vol shifts, history paths, hand-made markets) and Lyra's auction (each insolvent
 * plan reads the security module's balance at its turn) plan on the main thread, one account
 * after the other: the same function, the same figures.
 *
 * Each plan comes back as what the step books: its totals, the account after it, and the
 * liquidators' flow of each step (underlying, notional, delta in coin) in step order. From a
 * worker, the account after it is rebuilt on the main thread's own account, from each position's
 * remaining size and the plan's balances (plan-wire.ts): the same account an in-process plan builds.
 */
import { ErrorCodes, OptmarginError, type ErrorCode } from '../errors.js';
import { MarginEngine } from '../runner/account/runner.js';
import { loadModel } from '../measures/models.js';
import { priceRecipe, resolveMarket, withPriceMultipliers } from '../market/resolved.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { MarketSnapshot, ResolvedMarket } from '../market/types.js';
import type { KnownValues } from '../scenarios/revaluation.js';
import type { ValuedInstruments } from '../instruments/table.js';
import type { AccountInput, LoadedModel, MarginModel } from '../measures/types.js';
import type { BookEngine } from '../runner/book/runner.js';
import { jobModuleUrl, type JobTask, type PoolTask } from '../runner/book/pool.js';
import { accountOf, deltaQty, notionalUsd, positionFacts } from './execution.js';
import { loadMechanism, type Mechanism } from './mechanism.js';
import { hashed, hashedAs } from './paths.js';
import { isTrade, planLiquidation, planTrail, type LiquidationPlan } from './plan.js';
import { CloseTrail } from './plan-trail.js';
import { PlanWriter, readPlans, type FlowEntry, type WirePlan, type WirePlans } from './plan-wire.js';

/**
 * A plan as the step books it (no after.margin: the book re-margins the account): its totals; the
 * account after it; per liquidator trade, in step order, the underlying, notional (USD) and net
 * delta bought (coin).
 */
export type RoundPlan = WirePlan;

/** This module as the workers import it (resolved when first needed: the browser's bundle has no file URLs). */
let moduleUrl: string | null = null;

/** Accounts per job: fixed (not a function of the thread count), so a round's chunks are the same on any pool. */
const CHUNK = 64;

/** Every fixed-price round plan's steps, one plan after the other (each read by roundPlan before the next: a thread plans one account at a time). */
const trail = new CloseTrail();

/** Plans one account for the step: the plan, then its liquidators' flow from the plan's instrument facts. */
export function roundPlan(engine: MarginEngine, a: AccountInput, mechanism: Mechanism, prior: Readonly<Record<string, number>>, securityModuleBalance?: number): RoundPlan | null {
  if (nothingToClose(a, mechanism)) return null;
  const opts = { mechanism, priorNotional: prior as Record<string, number>, securityModuleBalance, validated: true };
  if (!planTrail(engine, a, opts, trail)) return stepsRoundPlan(engine, a, planLiquidation(engine, a, opts));
  const n = trail.n;
  if (n === 0) return null;
  const account = accountOf(a, trail.remaining, trail.collateral!, trail.own ?? undefined);
  // the flow's arrays made at their length (not grown step by step)
  const fees = feesOf(mechanism, a.positions.length);
  const out: RoundPlan = { totals: trail.totals(), account, flowU: new Array<string>(n), flowNotional: new Array<number>(n), flowCoin: new Array<number>(n), fees };
  const e: FlowEntry = { underlying: '', notional: 0, coin: 0 };
  for (let j = 0; j < n; j++) {
    flowEntry(engine, j, e);
    out.flowU[j] = e.underlying;
    out.flowNotional[j] = e.notional;
    out.flowCoin[j] = e.coin;
  }
  return out;
}

/** A fixed-price plan of one account written for the main thread (a pool's chunk: plan-wire.ts); false when the mechanism is a Dutch auction (not planned). */
function writePlan(engine: MarginEngine, a: AccountInput, mechanism: Mechanism, prior: Readonly<Record<string, number>>, out: PlanWriter): boolean {
  if (nothingToClose(a, mechanism)) {
    out.none();
    return true;
  }
  if (!planTrail(engine, a, { mechanism, priorNotional: prior as Record<string, number>, validated: true }, trail)) return false;
  if (trail.n === 0) out.none();
  else out.plan(trail.remaining, a.positions.length, trail.collateral!, trail.own, trail.totals(), feesOf(mechanism, a.positions.length), trail.n, (j, e) => flowEntry(engine, j, e));
  return true;
}

/** The trail's fees per position where the simulator books them by position (funds per product line: fund-pools.ts), else null. */
function feesOf(mechanism: Mechanism, P: number): Float64Array | null {
  return mechanism.mechanism === 'fixed-price' && mechanism.insuranceFund.pools === 'product-line' ? trail.feesByPosition(P) : null;
}

/**
 * A fixed-price plan of an account with no position closes nothing (it closes positions, never
 * converts balances): not planned — a simulation round meets such accounts at every step while a
 * debt in their balances keeps them below MM (docs/liquidation.md, *What is left*) — unless the
 * mechanism hedges (plan-hedge.ts: a coin debt's delta hedged in the perpetual).
 */
function nothingToClose(a: AccountInput, mechanism: Mechanism): boolean {
  return a.positions.length === 0 && mechanism.mechanism !== 'dutch-auction' && !mechanism.plan.hedge;
}

/** The trail's step j as the liquidators' flow: the closed position's underlying, the notional, the coin delta the liquidator takes (it sells what the account was long). */
function flowEntry(engine: MarginEngine, j: number, out: FlowEntry): void {
  const f = trail.facts[trail.position[j]];
  out.underlying = f.underlying;
  out.notional = trail.notional[j];
  out.coin = -deltaQty(engine.table, f, -trail.size[j]);
}

/**
 * The round plan of a plan with step objects (a Dutch auction's, a hedging plan's): its flow from
 * its steps. A close or hedge step's is its trade's (flowEntry's: the trade's underlying, notional
 * and coin delta). A bid takes its percent of what is left of each position it auctions (every
 * position, or an isolated account's one: the step's `position`), after the auctions before it.
 */
function stepsRoundPlan(engine: MarginEngine, a: AccountInput, plan: LiquidationPlan): RoundPlan | null {
  if (plan.steps.length === 0) return null;
  const out: RoundPlan = { totals: plan.totals, account: plan.after.account, flowU: [], flowNotional: [], flowCoin: [], fees: null };
  const left = a.positions.map((p) => p.size);
  for (const s of plan.steps) {
    if (isTrade(s)) {
      const f = positionFacts(engine.table, { instrument: s.instrument, size: s.size }, s.position);
      out.flowU.push(f.underlying);
      out.flowNotional.push(s.notionalUsd);
      out.flowCoin.push(-deltaQty(engine.table, f, -s.size));
      continue;
    }
    if (s.type !== 'auction-bid' || !(s.percent > 0)) continue;
    a.positions.forEach((p, j) => {
      if (s.position !== undefined && s.position !== j) return;
      const f = positionFacts(engine.table, p, j);
      const q = left[j] * s.percent;
      left[j] -= q;
      out.flowU.push(f.underlying);
      out.flowNotional.push(notionalUsd(f, q));
      out.flowCoin.push(-deltaQty(engine.table, f, q));
    });
  }
  return out;
}

/** The book's revaluation matrix for a runner on `market` and `model` while the book stays on that market; null when it is on another. */
function bookValues(book: BookEngine, market: MarginMarket, model: LoadedModel): KnownValues | null {
  if (book.market !== market || book.model.hash !== model.hash) return null;
  return book.ins.knownValues(() => book.market === market);
}

/** The book's valued instruments for a runner on `market` while the book stays on that market; null when it is on another. */
function bookValued(book: BookEngine, market: MarginMarket): ValuedInstruments | null {
  return book.market === market ? book.ins.valued(() => book.market === market) : null;
}

/** The round's market as a worker rebuilds it. */
interface MarketSpec {
  hash: string;
  key: string;
  snapshot: string;
  priceMult: Record<string, number>;
}

/** A chunk's job: the accounts cross as JSON text (a structured clone of many small objects costs the main thread several times more); the plans come back as plan-wire.ts writes them. */
export interface PlanChunkInput {
  market: MarketSpec;
  model: { hash: string; params: MarginModel };
  mechanism: Mechanism;
  prior: Record<string, number>;
  /** JSON of the chunk's AccountInput[] (validated) */
  accounts: string;
  count: number;
  /** the book's matrix rows of the chunk's instruments (the book is on the round's market), or null */
  values: ChunkValues | null;
}

/** The book's revaluation matrix (shared memory) and the row of each instrument of a chunk's accounts; `layout` names the book's row numbering. */
export interface ChunkValues {
  risk: Float64Array;
  nScen: number;
  layout: number;
  names: string[];
  rows: number[];
}

/** `plans`: the chunk's plans, as plan-wire.ts writes them */
export type PlanChunkOutput = { plans: WirePlans } | { error: { code: ErrorCode; message: string; path?: string } };

const snapshotJson = new WeakMap<object, string>();

/** The job's market spec of `m`, or null when `m` cannot cross threads (not a price-only resolved view). */
function marketSpec(m: MarginMarket): MarketSpec | null {
  const r = priceRecipe(m);
  if (!r) return null;
  let json = snapshotJson.get(r.base);
  if (json === undefined) snapshotJson.set(r.base, (json = JSON.stringify(r.snapshot)));
  const hash = hashed(m).hash!;
  return { hash, key: `${hash}:${json.length}`, snapshot: json, priceMult: r.priceMult };
}

/** The matrix rows of the instruments `accounts` hold that the book has. */
function chunkValues(ins: BookEngine['ins'], accounts: readonly AccountInput[]): ChunkValues {
  const names: string[] = [];
  const rows: number[] = [];
  const seen = new Set<string>();
  for (const a of accounts) {
    for (const p of a.positions) {
      if (seen.has(p.instrument)) continue;
      seen.add(p.instrument);
      const r = ins.rowOf(p.instrument);
      if (r >= 0) names.push(p.instrument), rows.push(r);
    }
  }
  return { risk: ins.risk, nScen: ins.nScen, layout: ins.layout, names, rows };
}

/** What a round plans with. */
export interface RoundContext {
  book: BookEngine;
  model: LoadedModel;
  mechanism: Mechanism;
  market: MarginMarket;
  /** share its plans with the book's pool where the round allows it (shareRound) */
  pool: boolean;
}

/**
 * The plans of one round: `todo` accounts (ascending), each planned on `market` with impact priced
 * on `prior`, handed to `take` in todo's order (null: its plan closes nothing). Shared with the
 * book's pool (shareRound) when `pool` asks for it, the pool has workers, the market can cross
 * threads and the mechanism is fixed-price without hedging; else here, one after the other.
 */
export async function planRound(
  ctx: RoundContext,
  todo: readonly number[],
  prior: Readonly<Record<string, number>>,
  fundBalance: (k: number) => number,
  take: (k: number, plan: RoundPlan | null) => void,
): Promise<void> {
  const { book, model, mechanism, market, pool } = ctx;
  const spec = pool && book.pool.liveThreads > 1 && mechanism.mechanism !== 'dutch-auction' && !mechanism.plan.hedge ? marketSpec(market) : null;
  if (spec) return shareRound(ctx, spec, todo, prior, take);
  // one after the other: each plan taken before the next is made (Lyra's security module balance is read at each plan's turn)
  const engine = roundEngine(book, market, model);
  for (const k of todo) take(k, roundPlan(engine, book.account(k, true), mechanism, prior, fundBalance(k)));
}

/** The main thread's engine of a round: the instruments' values and scenario rows copied from the book's (the book is on this round's market: its tick priced them). */
function roundEngine(book: BookEngine, market: MarginMarket, model: LoadedModel): MarginEngine {
  return new MarginEngine({ market: hashed(market), model, knownValues: bookValues(book, market, model), valued: bookValued(book, market) });
}

/**
 * A round shared by the main thread and the pool, in chunks of CHUNK accounts: up to two chunks
 * per worker on the pool at a time; the main thread plans the next chunk itself meanwhile, and
 * books every chunk in account order as soon as those before it are booked. A chunk's accounts
 * are read when it is planned or sent (the bookings before it edit only accounts before it).
 */
async function shareRound(ctx: RoundContext, spec: MarketSpec, todo: readonly number[], prior: Readonly<Record<string, number>>, take: (k: number, plan: RoundPlan | null) => void): Promise<void> {
  const { book, mechanism } = ctx;
  const n = Math.ceil(todo.length / CHUNK);
  const answers = new Array<(RoundPlan | null)[] | undefined>(n);
  const depth = 2 * book.pool.liveThreads;
  const st: ShareState = { assigned: 0, booked: 0, inFlight: 0, failure: null, wake: null };
  const chunkAccounts = (c: number): AccountInput[] => todo.slice(c * CHUNK, (c + 1) * CHUNK).map((k) => book.account(k, true));
  const bookReady = (): void => {
    for (; st.booked < n && answers[st.booked] && st.failure === null; st.booked++) {
      const plans = answers[st.booked]!;
      answers[st.booked] = undefined;
      for (let i = 0; i < plans.length; i++) take(todo[st.booked * CHUNK + i], plans[i]);
    }
  };
  const send = poolSender(ctx, spec, prior, st, chunkAccounts, (c, plans) => {
    answers[c] = plans;
    bookReady();
  });
  const fill = (): void => {
    while (st.failure === null && st.inFlight < depth && st.assigned < n) send(st.assigned++);
  };
  let engine: MarginEngine | null = null;
  try {
    for (fill(); st.failure === null && st.booked < n; fill()) {
      if (st.assigned < n) {
        const c = st.assigned++;
        const e = (engine ??= roundEngine(book, ctx.market, ctx.model));
        answers[c] = chunkAccounts(c).map((a) => roundPlan(e, a, mechanism, prior));
        bookReady();
        // the workers' answers arrive between the main thread's chunks
        if (st.inFlight > 0) await new Promise<void>((r) => setImmediate(r));
      } else if (st.inFlight > 0) await new Promise<void>((r) => (st.wake = r));
      else break;
    }
  } catch (e) {
    // a plan or a booking that throws here ends the round as a pool chunk's failure does: nothing more is booked
    st.failure ??= e;
  }
  // the round returns once no chunk is on the pool (none is booked after it failed)
  while (st.inFlight > 0) await new Promise<void>((r) => (st.wake = r));
  if (st.failure !== null) throw st.failure;
  if (st.booked !== n) throw new OptmarginError(ErrorCodes.INTERNAL, `plan chunks booked ${st.booked} of ${n}`);
}

/** A shared round's state: chunks handed out, booked, on the pool; the first failure; the main thread's wake-up when a pool chunk settles. */
interface ShareState {
  assigned: number;
  booked: number;
  inFlight: number;
  failure: unknown;
  wake: (() => void) | null;
}

/**
 * Sends chunk c to the pool: its accounts as JSON with the book's matrix rows of their instruments;
 * its answer read back (plan-wire.ts) onto the accounts sent and handed to `done`. A chunk that
 * fails every attempt, or answers with an error, is the round's failure (never booked twice).
 */
function poolSender(ctx: RoundContext, spec: MarketSpec, prior: Readonly<Record<string, number>>, st: ShareState, chunkAccounts: (c: number) => AccountInput[], done: (c: number, plans: (RoundPlan | null)[]) => void): (c: number) => void {
  const { book, model, mechanism, market } = ctx;
  const modelSpec = { hash: model.hash, params: model.params };
  const known = bookValues(book, market, model) !== null;
  const accept = (bases: AccountInput[]) => (t: PoolTask, answer: unknown): void => {
    if (st.failure !== null || t.kind !== 'job') return;
    const a = answer as PlanChunkOutput;
    if ('error' in a) return void (st.failure ??= new OptmarginError(a.error.code, a.error.message, a.error.path));
    // an error while reading or booking ends the round (never a retried chunk: a chunk is booked once)
    try {
      const plans = readPlans(a.plans, bases);
      if (plans.length !== bases.length) throw new OptmarginError(ErrorCodes.INTERNAL, `plan chunk ${t.chunk} returned ${plans.length} plans`);
      done(t.chunk, plans);
    } catch (e) {
      st.failure ??= e;
    }
  };
  return (c) => {
    const accounts = chunkAccounts(c);
    const values = known ? chunkValues(book.ins, accounts) : null;
    // the input is cloned as it is posted: the round's prior as it is, no copy per chunk
    const input: PlanChunkInput = { market: spec, model: modelSpec, mechanism, prior: prior as Record<string, number>, accounts: JSON.stringify(accounts), count: accounts.length, values };
    st.inFlight++;
    book.pool
      .run([{ kind: 'job', chunk: c, module: (moduleUrl ??= jobModuleUrl(import.meta.url)), input }], undefined, accept(accounts), checkAnswer)
      .then(
        (run) => {
          if (run.failed.length > 0) st.failure ??= new OptmarginError(ErrorCodes.WORKER_FAILED, `plan chunk ${run.failed[0].chunk} failed on every attempt: ${run.failed[0].message}`);
        },
        (e: unknown) => void (st.failure ??= e),
      )
      .finally(() => {
        st.inFlight--;
        st.wake?.();
      });
  };
}

/** A plan chunk's answer as the pool checks it (a malformed one is retried). */
function checkAnswer(t: JobTask, answer: unknown): string | null {
  const a = answer as PlanChunkOutput | undefined;
  if (!a || typeof a !== 'object') return `plan chunk ${t.chunk} returned nothing`;
  if ('plans' in a && !(typeof a.plans?.head === 'string' && a.plans.num instanceof Float64Array)) return `plan chunk ${t.chunk} returned no plans`;
  return null;
}

/** Per thread: the resolved bases, models and mechanisms met (a few: one book, one path). */
const markets = new Map<string, ResolvedMarket>();
const models = new Map<string, LoadedModel>();
const mechanisms = new Map<string, Mechanism>();
let round: { key: string; engine: MarginEngine; known: ChunkKnown } | null = null;

/** A round engine's KnownValues on a worker: the rows its chunks brought (reset when the book's row numbering changes). */
class ChunkKnown implements KnownValues {
  nScen = 0;
  private layout = 0;
  private risk: Float64Array = new Float64Array(0);
  private readonly rows = new Map<string, number>();

  add(v: ChunkValues): void {
    if (v.layout !== this.layout) this.rows.clear();
    this.layout = v.layout;
    this.nScen = v.nScen;
    this.risk = v.risk;
    for (let i = 0; i < v.names.length; i++) this.rows.set(v.names[i], v.rows[i]);
  }

  into(name: string, out: Float64Array, offset: number): boolean {
    const i = this.rows.get(name);
    if (i === undefined) return false;
    out.set(this.risk.subarray(i * this.nScen, (i + 1) * this.nScen), offset);
    return true;
  }
}

function remember<T>(m: Map<string, T>, key: string, make: () => T): T {
  let v = m.get(key);
  if (v === undefined) {
    if (m.size >= 4) m.delete(m.keys().next().value!);
    m.set(key, (v = make()));
  }
  return v;
}

/** The job (a worker's, or in-process): plans a chunk of a round's accounts. */
export default function planChunk(input: PlanChunkInput): PlanChunkOutput {
  try {
    const mk = input.market;
    const key = `${mk.key}|${JSON.stringify(mk.priceMult)}|${input.model.hash}`;
    if (round?.key !== key) {
      const base = remember(markets, mk.key, () => resolveMarket(JSON.parse(mk.snapshot) as MarketSnapshot));
      const model = remember(models, input.model.hash, () => loadModel(input.model.params));
      const known = new ChunkKnown();
      if (input.values) known.add(input.values);
      round = { key, known, engine: new MarginEngine({ market: hashedAs(withPriceMultipliers(base, mk.priceMult), mk.hash), model, knownValues: input.values ? known : null }) };
    } else if (input.values) round.known.add(input.values);
    const mech = remember(mechanisms, JSON.stringify(input.mechanism), () => loadMechanism(input.mechanism));
    const accounts = JSON.parse(input.accounts) as AccountInput[];
    const out = new PlanWriter();
    for (const a of accounts) if (!writePlan(round.engine, a, mech, input.prior, out)) throw new OptmarginError(ErrorCodes.INTERNAL, `a pool's plan chunk was given a mechanism it does not plan (a Dutch auction or a hedge): ${mech.id}`);
    return { plans: out.done() };
  } catch (e) {
    if (!(e instanceof OptmarginError)) throw e;
    return { error: { code: e.code, message: e.message, path: e.path } };
  }
}
