/**
 * Deribit's portfolio-margin fallback, the delta hedge: "If attempts on the relevant instruments do
 * not execute, then Deribit will attempt to reduce the risk by delta hedging via the Perpetual (if
 * this would also reduce the maintenance margin)"; "we will always attempt to reduce instrument
 * positions but the backup hedging alternative using the Perpetual could result in opening or
 * increasing an existing position there" (Deribit release notes, 1 August 2023,
 * support.deribit.com/hc/en-us/articles/25944825289245, read 2026-12-03).
 *
 * Modelled on a cross or portfolio account (plan.ts): when a fixed-price plan's close steps stop
 * short of the target (no close step improves the gap), one hedge step — per underlying the
 * account has a delta in, the perpetual (PlanSpec.hedge) traded against stepFraction of that delta
 * as it was at the plan's first hedge in it (the rest when less is left), at the mechanism's
 * perpetual discount, impact and fee; among those that reduce the MM and improve the gap, the one
 * that releases the most MM (none: the plan ends) — then close steps again, and so on. The delta
 * is the one the simulator's flows count (execution.ts deltaQty: an option's q × delta, a
 * future's coin size) plus the account's coin balances. A hedge is a position entered at mark
 * (the perpetual's forward), the gap of its price to mark and its fee booked in cash; a later
 * hedge in the same perpetual adds to it. A delta below 1 % of a step is not hedged (each hedge's
 * fee, booked in a coin, adds delta: hedging it would take ever smaller trades). In the plan's
 * steps a hedge position's index is the input's position count plus its perpetual's rank among
 * those the plan hedged in.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, MarginFigures } from '../measures/types.js';
import { bookInto, deltaQty, positionFacts, tradeTermsInto, type PositionFacts, type TradeTerms } from './execution.js';
import { figuresOk, finishPlan, gapOf, improves, type CloseStep, type LiquidationPlan } from './plan-core.js';
import type { FixedPriceMechanism, PlanSpec } from './mechanism.js';

/** A futures position's value (tradeTermsInto's scratch). */
const pv = new Float64Array(2);

/** The least delta hedged, as a fraction of a hedge step (what is left below it is left unhedged: each hedge's fee adds a little). */
const MIN_STEP = 0.01;

/** The close steps a hedged plan resumes after each hedge: a closes-only plan of `account` with impact priced on `prior` (plan.ts). */
export type ClosePass = (account: AccountInput, prior: Record<string, number>) => LiquidationPlan;

/** One underlying's hedge candidate: the account's trade h in the perpetual, its terms, the account after it and its figures. */
interface Hedge {
  u: string;
  /** the account's delta in u before it */
  delta: number;
  f: PositionFacts;
  h: number;
  terms: TradeTerms;
  account: AccountInput;
  r: MarginFigures;
}

/** A hedged plan in the making: its steps, where the current account's positions sit in them, the perpetuals hedged in, the deltas at their first hedge, the notional liquidated per underlying. */
interface Walk {
  /** the input's position count */
  n: number;
  steps: CloseStep[];
  origin: number[];
  perps: string[];
  delta0: Map<string, number>;
  cum: Record<string, number>;
}

/**
 * The plan `first` (a closes-only plan of `input` that did not restore it) continued with hedges
 * and close passes until the target is met, no hedge improves it, or the step limit (each
 * underlying's delta hedged twice over in steps) is reached.
 */
export function hedgedPlan(engine: MarginEngine, input: AccountInput, mech: FixedPriceMechanism, spec: PlanSpec, prior: Record<string, number> | undefined, first: LiquidationPlan, closes: ClosePass): LiquidationPlan {
  const w: Walk = { n: input.positions.length, steps: (first.steps as CloseStep[]).map((x) => ({ ...x })), origin: [], perps: [], delta0: new Map(), cum: { ...(prior ?? {}) } };
  addNotional(engine, w, w.steps);
  w.origin = survivors(input, w.steps, input.positions.map((_, k) => k));
  let account = first.after.account;
  let r = figuresOk(engine, account);
  let restored = first.restored;
  const limit = 2 * Math.max(1, accountDeltas(engine, account).size) * Math.ceil(1 / spec.stepFraction);
  let hedges = 0;
  for (; !restored && hedges < limit; hedges++) {
    const hedge = bestHedge(engine, mech, spec, account, r, w);
    if (!hedge) break;
    account = takeHedge(spec, w, hedge);
    r = hedge.r;
    restored = gapOf(r, spec.target, spec.buffer) >= 0;
    if (restored) break;
    const pass = closes(account, { ...w.cum });
    const steps = pass.steps as CloseStep[];
    addNotional(engine, w, steps);
    for (const s of steps) w.steps.push({ ...s, position: w.origin[s.position] });
    w.origin = survivors(account, steps, w.origin);
    account = pass.after.account;
    if (steps.length > 0) r = figuresOk(engine, account);
    restored = pass.restored;
  }
  w.steps.forEach((s, j) => (s.step = j + 1));
  const reason = restored ? 'target restored' : hedges === limit ? `the hedge step limit (${limit}) reached` : 'no closing or hedging step improves the target';
  return finishPlan(engine, input, mech, spec, first.before, first.before.gap, w.steps, restored, reason, account, r);
}

/** Adds each step's notional to its underlying's (the impact's running total). */
function addNotional(engine: MarginEngine, w: Walk, steps: readonly CloseStep[]): void {
  for (const s of steps) {
    const u = positionFacts(engine.table, { instrument: s.instrument, size: s.size }, s.position).underlying;
    w.cum[u] = (w.cum[u] ?? 0) + s.notionalUsd;
  }
}

/** The positions of `a` (their indices in the plan's steps: `origin`) left after `steps` (accountOf's test: more than 1e-12 of the size left). */
function survivors(a: AccountInput, steps: readonly CloseStep[], origin: readonly number[]): number[] {
  const left = a.positions.map((p) => p.size);
  for (const s of steps) left[s.position] += s.size;
  const out: number[] = [];
  a.positions.forEach((p, k) => {
    if (Math.abs(left[k]) > 1e-12 * Math.abs(p.size)) out.push(origin[k]);
  });
  return out;
}

/** The account's delta per underlying (coin), in order of first appearance: its positions' (deltaQty) and its coin balances'. */
export function accountDeltas(engine: MarginEngine, a: AccountInput): Map<string, number> {
  const out = new Map<string, number>();
  const add = (u: string, x: number): void => void out.set(u, (out.get(u) ?? 0) + x);
  a.positions.forEach((p, k) => {
    const f = positionFacts(engine.table, p, k);
    add(f.underlying, deltaQty(engine.table, f, p.size));
  });
  const pegged = engine.model.params.collateral.usdPegged;
  for (const [c, x] of Object.entries(a.collateral)) if (!pegged.includes(c) && engine.table.market.hasUnderlying(c)) add(c, x);
  return out;
}

/** The hedge that releases the most MM among those that reduce it and improve the gap (ties: the first underlying by name); null when none does. */
function bestHedge(engine: MarginEngine, mech: FixedPriceMechanism, spec: PlanSpec, a: AccountInput, cur: MarginFigures, w: Walk): Hedge | null {
  const g0 = gapOf(cur, spec.target, spec.buffer);
  let best: Hedge | null = null;
  for (const [u, delta] of [...accountDeltas(engine, a)].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    const c = hedgeCandidate(engine, mech, spec, a, u, delta, w);
    if (!c || !(c.r.maintenanceMargin < cur.maintenanceMargin) || !improves(gapOf(c.r, spec.target, spec.buffer), g0, cur)) continue;
    if (!best || c.r.maintenanceMargin < best.r.maintenanceMargin) best = c;
  }
  return best;
}

/** The perpetual of underlying u, or null when the market has none (no hedge in u). */
function perpetualFacts(engine: MarginEngine, spec: PlanSpec, u: string, n: number): PositionFacts | null {
  const name = spec.hedge!.instrument.replaceAll('{U}', u);
  try {
    const f = positionFacts(engine.table, { instrument: name, size: 1 }, n);
    return f.kind === 'perpetual' && f.underlying === u ? f : null;
  } catch (e) {
    if (e instanceof OptmarginError) return null;
    throw e;
  }
}

/** The hedge step in u: stepFraction of the delta at u's first hedge (the rest when less is left), the account after it and its figures; null when there is nothing to hedge or no perpetual. */
function hedgeCandidate(engine: MarginEngine, mech: FixedPriceMechanism, spec: PlanSpec, a: AccountInput, u: string, delta: number, w: Walk): Hedge | null {
  if (!(Math.abs(delta) > 0)) return null;
  const f = perpetualFacts(engine, spec, u, a.positions.length);
  if (!f) return null;
  // a step: stepFraction of the delta at u's first hedge; less than 1 % of a step left (what the hedges' fees add to a coin balance) is not hedged
  const step = spec.stepFraction * (w.delta0.get(u) ?? Math.abs(delta));
  if (Math.abs(delta) < MIN_STEP * step) return null;
  const coin = -Math.sign(delta) * Math.min(Math.abs(delta), step);
  const h = coin / deltaQty(engine.table, f, 1);
  if (!Number.isFinite(h) || h === 0) return null;
  const at = { instrument: f.instrument, size: h, entryPrice: f.forward };
  // the liquidator takes −h: the other side of the account's trade
  const terms = tradeTermsInto(engine.table, mech, f, at, -h, w.cum[u] ?? 0, engine.model.params.collateral.usdPegged, pv, { notional: 0, price: 0, fee: 0, gain: 0, booking: { cash: 0, currency: '', cashUsd: 0, feeUnits: 0 } });
  const collateral = { ...a.collateral };
  bookInto(collateral, terms.booking);
  // the plan's hedge position in this perpetual (entered at the same forward: the plan's market), unless none is open
  const rank = w.perps.indexOf(f.instrument);
  const j = rank < 0 ? -1 : w.origin.indexOf(w.n + rank);
  const positions = j < 0 ? [...a.positions, at] : a.positions.map((p, k) => (k === j ? { ...p, size: p.size + h } : p));
  const account = { ...a, collateral, positions };
  const r = marginable(engine, account);
  return r ? { u, delta, f, h, terms, account, r } : null;
}

/** The account's figures, or null when the model does not margin it (a perpetual its mode does not accept: no hedge there); engine bugs propagate. */
function marginable(engine: MarginEngine, a: AccountInput): MarginFigures | null {
  try {
    return figuresOk(engine, a);
  } catch (e) {
    if (e instanceof OptmarginError && e.code !== ErrorCodes.INTERNAL) return null;
    throw e;
  }
}

/** Books hedge c into the walk (its step, its position's index, the delta it started from); returns the account after it. */
function takeHedge(spec: PlanSpec, w: Walk, c: Hedge): AccountInput {
  const n = w.n;
  if (!w.delta0.has(c.u)) w.delta0.set(c.u, Math.abs(c.delta));
  let rank = w.perps.indexOf(c.f.instrument);
  if (rank < 0) rank = w.perps.push(c.f.instrument) - 1;
  if (c.account.positions.length > w.origin.length) w.origin.push(n + rank);
  if (w.origin.length !== c.account.positions.length) throw new OptmarginError(ErrorCodes.INTERNAL, `hedged plan of ${c.account.id}: ${w.origin.length} positions tracked, ${c.account.positions.length} held`);
  w.cum[c.u] = (w.cum[c.u] ?? 0) + c.terms.notional;
  w.steps.push({
    step: 0,
    type: 'hedge',
    position: n + rank,
    instrument: c.f.instrument,
    size: c.h,
    price: c.terms.price,
    markPrice: c.f.mark,
    notionalUsd: c.terms.notional,
    fee: c.terms.fee,
    liquidatorGain: c.terms.gain,
    equity: c.r.equity,
    initialMargin: c.r.initialMargin,
    maintenanceMargin: c.r.maintenanceMargin,
    gap: gapOf(c.r, spec.target, spec.buffer),
  });
  return c.account;
}
