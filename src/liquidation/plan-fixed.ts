/**
 * The fixed-price planner (plan.ts's planLiquidation and planTrail): closes positions step by
 * step in the mechanism's strategy, each candidate step's figures from the margin engine (the
 * kept vectors' what-if where the model keeps them, else a fresh margin of the account after it).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, MarginFigures, PositionChange } from '../measures/types.js';
import { copyFiguresInto } from '../measures/health.js';
import { figuresOk, finishPlan, gapOf, improves, planReason, type CloseStep, type LiquidationPlan } from './plan-core.js';
import { accountOf, bookInto, notionalUsd, positionFacts, tradeTermsInto, type PositionFacts } from './execution.js';
import type { FixedPriceMechanism, PlanSpec } from './mechanism.js';
import type { CloseTrail } from './plan-trail.js';
import { planArraysFor, scratch, type Candidate, type Trade } from './plan-scratch.js';

/**
 * The figures of the plan's input account, margined before its positions' facts are read (their
 * table indices are then the margin's resolve's: no lookup by name). When it fails, a position
 * that cannot be liquidated is reported first, as when the facts were read first.
 */
function firstFigures(engine: MarginEngine, account: AccountInput): MarginFigures {
  try {
    return figuresOk(engine, account);
  } catch (e) {
    account.positions.forEach((p, k) => positionFacts(engine.table, p, k));
    throw e;
  }
}

/** A candidate step's score (scoreOf) and the MM it releases. */
interface Score {
  score: number;
  release: number;
}

/** Whether a beats b: scores and releases within rounding of each other (two positions of one instrument) tie, and the lower index wins. */
function better(a: Score & { k: number }, b: Score & { k: number }): boolean {
  const near = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y));
  return !near(a.score, b.score) ? a.score > b.score : !near(a.release, b.release) ? a.release > b.release : a.k < b.k;
}

export class FixedPricePlanner {
  private readonly facts: PositionFacts[];
  /** the input account's position count (the per-position arrays are a thread's, planArrays: their first n entries are the plan's) */
  private readonly n: number;
  private readonly remaining: Float64Array;
  private collateral: Record<string, number>;
  /** notional liquidated so far per underlying (this.unders order), the prior notional included */
  private readonly cum: Float64Array;
  /** the underlyings of the positions, each once, and each position's index in them */
  private readonly unders: string[] = [];
  private readonly uid: Int32Array;
  /** |notional| (USD) of each position's remaining size (the venue order's key), kept by shrink */
  private readonly notionalNow: Float64Array;
  private readonly usdPegged: readonly string[];
  private cur: MarginFigures;
  /**
   * the account the plan has reached (the one the engine last margined: candidates start from its
   * vectors) — or, between steps taken from kept vectors, its key (stepKey): built in full only
   * when it must be margined afresh, and at the end as the plan's after account
   */
  private now: AccountInput;
  private nowIsKey = false;
  /** the plan's one key (stepKey), made at its first step */
  private key: AccountInput | null = null;
  /** no position carries its own collateral (the steps' accounts can be keys: stepKey) */
  private readonly keys: boolean;
  private readonly steps: CloseStep[] = [];
  /** the last candidate evaluated from kept vectors (the engine's pending what-if) */
  private lastFast: Candidate | null = null;
  /** venue order of the open positions (venueOrder), once sorted */
  private order: number[] | null = null;
  /** venue order: rank of each position's kind in the mechanism's order */
  private readonly rank: Int32Array;
  /** lazy greedy: last known score of each candidate (made at its first step) */
  private stale: Map<number, Score> | null = null;
  private readonly pv = scratch.pv;
  private readonly change = scratch.change;
  private readonly changes = scratch.changes;
  private readonly changeIndex = scratch.changeIndex;
  private readonly deltas = scratch.deltas;
  private readonly scratch = scratch.candidate;
  private readonly scratchFigures = scratch.figures;
  private readonly ownFigures = scratch.own;

  constructor(
    private readonly engine: MarginEngine,
    private readonly account: AccountInput,
    private readonly mech: FixedPriceMechanism,
    private readonly spec: PlanSpec,
    prior: Record<string, number> | undefined,
    /** where the steps go instead of CloseStep objects (planTrail), or null */
    private readonly trail: CloseTrail | null,
    /** a bankrupt account is closed whole, by steps that do not improve its gap too (an isolated position's sub-account: plan-isolated.ts) */
    private readonly closeBankrupt = false,
  ) {
    const n = (this.n = account.positions.length);
    this.facts = new Array<PositionFacts>(n);
    const arrays = planArraysFor(n);
    this.remaining = arrays.remaining;
    this.rank = arrays.rank;
    this.uid = arrays.uid;
    this.notionalNow = arrays.notionalNow;
    this.cum = arrays.cum;
    this.cur = firstFigures(engine, account);
    for (let k = 0; k < n; k++) {
      const f = (this.facts[k] = positionFacts(engine.table, account.positions[k], k, engine.resolver.positionIndex(account, k)));
      this.remaining[k] = account.positions[k].size;
      this.notionalNow[k] = notionalUsd(f, this.remaining[k]);
      const r = spec.order.indexOf(f.kind);
      this.rank[k] = r < 0 ? spec.order.length : r;
      let u = this.unders.indexOf(f.underlying);
      if (u < 0) u = this.unders.push(f.underlying) - 1;
      this.uid[k] = u;
    }
    this.collateral = { ...account.collateral };
    this.usdPegged = engine.model.params.collateral.usdPegged;
    for (let u = 0; u < this.unders.length; u++) this.cum[u] = prior ? (prior[this.unders[u]] ?? 0) : 0;
    this.now = account;
    let keys = true;
    for (let k = 0; k < n; k++) if (account.positions[k].collateral !== undefined) keys = false;
    this.keys = keys;
    trail?.begin(this.facts);
  }

  private gap(r: MarginFigures): number {
    return gapOf(r, this.spec.target, this.spec.buffer);
  }

  /**
   * One step of position k (at most stepFraction of its original size) from `remaining`, with
   * `cum` notional liquidated before it; written into `into` when given, else a new candidate.
   */
  private trade(k: number, remaining: Float64Array, cum: Float64Array, into?: Candidate): Candidate {
    const p = this.account.positions[k];
    const step = Math.abs(p.size) * this.spec.stepFraction;
    const q = Math.sign(p.size) * Math.min(step, Math.abs(remaining[k]));
    // one object of one shape per candidate: its figures are set by candidate()
    const c = into ?? { k, q, price: 0, fee: 0, gain: 0, notional: 0, booking: { cash: 0, currency: '', cashUsd: 0, feeUnits: 0 }, r: this.cur, account: null };
    c.k = k;
    c.q = q;
    c.r = this.cur;
    c.account = null;
    tradeTermsInto(this.engine.table, this.mech, this.facts[k], p, q, cum[this.uid[k]], this.usdPegged, this.pv, c);
    return c;
  }

  /** remaining[k] after removing q (in place; a rest below 1e-12 of the original size is 0). */
  private reduce(remaining: Float64Array, k: number, q: number): void {
    remaining[k] -= q;
    if (Math.abs(remaining[k]) <= 1e-12 * Math.abs(this.account.positions[k].size)) remaining[k] = 0;
  }

  /** The plan's position k shrinks by q: its remaining size and notional. */
  private shrink(k: number, q: number): void {
    this.reduce(this.remaining, k, q);
    this.notionalNow[k] = notionalUsd(this.facts[k], this.remaining[k]);
  }

  /**
   * One step of position k evaluated on the account the plan has reached: from its kept vectors
   * (MarginEngine.figuresAfter: the position's change and the step's cash) where the model keeps
   * them, else by re-margining the account built after the step.
   */
  private candidate(k: number, into?: Candidate): Candidate {
    const c = this.trade(k, this.remaining, this.cum, into);
    const fast = this.engine.figuresAfter(this.now, this.changeOf(c), this.deltasOf(c), undefined, this.changeIndex, c === this.scratch ? this.scratchFigures : undefined);
    if (fast) {
      c.r = fast;
      return (this.lastFast = c);
    }
    this.lastFast = null;
    const col = { ...this.collateral };
    bookInto(col, c.booking);
    const rem = this.remaining.slice(0, this.n);
    this.reduce(rem, k, c.q);
    c.account = accountOf(this.account, rem, col);
    c.r = figuresOk(this.engine, c.account);
    return c;
  }

  /**
   * A trade as MarginEngine.figuresAfter's change of the position (at its entry: an option's at 0,
   * so that whatIf books no premium), in the planner's one change object.
   */
  private changeOf(t: Trade): PositionChange[] {
    const p = this.account.positions[t.k];
    const ch = this.change;
    ch.instrument = p.instrument;
    ch.size = -t.q;
    ch.entryPrice = this.facts[t.k].kind === 'option' ? 0 : p.entryPrice;
    this.changeIndex[0] = this.facts[t.k].i;
    return this.changes;
  }

  /** A trade's balance delta: its cash less its fee, in its settlement currency (the planner's record of that currency). */
  private deltasOf(t: Trade): Record<string, number> {
    const cur = t.booking.currency;
    let d = this.deltas.get(cur);
    if (!d) this.deltas.set(cur, (d = { [cur]: 0 }));
    d[cur] = t.booking.cash - t.booking.feeUnits;
    return d;
  }

  /**
   * Books candidate c: the plan's account moves to the account after it, with its figures — the
   * candidate's, or (a candidate from kept vectors) the engine's vectors moved along to it.
   */
  private take(c: Candidate): void {
    this.shrink(c.k, c.q);
    this.reorder(c.k);
    this.cum[this.uid[c.k]] += c.notional;
    if (c.account || !this.keys) {
      // the plan's own balances (every account built from them copies them)
      bookInto(this.collateral, c.booking);
      if (c.account) this.commit(c.account, c.r);
      else this.moveTo(c, this.built(), false);
    } else {
      // the key's balances are the plan's own: booked after the what-if that reads them (the kept state's, before the step)
      const key = this.stepKey();
      const kept = this.moveTo(c, key, true);
      bookInto(this.collateral, c.booking);
      if (!kept) this.commit(this.built(), null);
    }
    this.lastFast = null;
    this.record(c);
  }

  /**
   * The engine's kept vectors move along candidate c (from kept vectors) to `next`, the plan's
   * account after it: its figures become the plan's. False when nothing could be kept (not
   * committed: the caller margins the account afresh); with `key` false, margined here.
   */
  private moveTo(c: Candidate, next: AccountInput, key: boolean): boolean {
    // the last candidate evaluated: its vectors are the engine's pending what-if
    if (c === this.lastFast && this.engine.keepAfter(next)) {
      this.commit(next, c.r, key);
      return true;
    }
    const r = this.engine.figuresAfter(this.now, this.changeOf(c), this.deltasOf(c), next, this.changeIndex);
    if (r) this.commit(next, r, key);
    else if (!key) this.commit(next, null);
    return r !== null;
  }

  /**
   * What the engine keeps the vectors of the account after a step under, with no position
   * collateral: a key — the input account with the plan's balances (what a what-if reads: its
   * mode, its balances, and its positions array as the state's identity) — instead of the account
   * in full, whose positions array (a new object per resized position) is O(positions) per step.
   * One key per plan: its balances are the plan's own object (take books them in place, after
   * the what-if that moves the state to the key), so a step makes no object.
   */
  private stepKey(): AccountInput {
    if (this.key?.collateral !== this.collateral) this.key = { ...this.account, collateral: this.collateral };
    return this.key;
  }

  /** The account the plan has reached, in full. */
  private built(): AccountInput {
    return accountOf(this.account, this.remaining, this.collateral);
  }

  /** The plan's account becomes `a` (a key when `key`), with its figures (margined here when not given). */
  private commit(a: AccountInput, r: MarginFigures | null, key = false): void {
    this.now = a;
    this.nowIsKey = key;
    this.cur = r === this.scratchFigures ? copyFiguresInto(this.ownFigures, r) : (r ?? figuresOk(this.engine, a));
  }

  private record(c: Trade): void {
    if (this.trail) return this.trail.add(c.k, -c.q, c.notional, c.fee, c.gain);
    const f = this.facts[c.k];
    this.steps.push({
      step: this.steps.length + 1,
      type: 'close',
      position: c.k,
      instrument: f.instrument,
      size: -c.q,
      price: c.price,
      markPrice: f.mark,
      notionalUsd: c.notional,
      fee: c.fee,
      liquidatorGain: c.gain,
      equity: this.cur.equity,
      initialMargin: this.cur.initialMargin,
      maintenanceMargin: this.cur.maintenanceMargin,
      gap: this.gap(this.cur),
    });
  }

  private open(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.n; k++) if (this.remaining[k] !== 0) out.push(k);
    return out;
  }

  /** Venue order of two open positions: kind rank, then notional (desc), then input index. */
  private venueCompare(a: number, b: number): number {
    return this.rank[a] - this.rank[b] || this.notionalNow[b] - this.notionalNow[a] || a - b;
  }

  /** The open positions in venue order: sorted once, then kept by reorder as steps shrink them. */
  private venueOrder(): number[] {
    if (this.order) return this.order;
    // an insertion sort (a few positions; venueCompare is a strict total order: the order any sort gives), no comparator called by a builtin
    const o = this.open();
    for (let i = 1; i < o.length; i++) {
      const k = o[i];
      let j = i;
      for (; j > 0 && this.venueCompare(o[j - 1], k) > 0; j--) o[j] = o[j - 1];
      o[j] = k;
    }
    return (this.order = o);
  }

  /** Position k shrank (only its notional changed, downwards): it moves down the venue order, or leaves it when closed. */
  private reorder(k: number): void {
    const o = this.order;
    if (!o) return;
    let i = o.indexOf(k);
    if (this.remaining[k] === 0) {
      o.splice(i, 1);
      return;
    }
    for (; i + 1 < o.length && this.venueCompare(o[i + 1], k) < 0; i++) o[i] = o[i + 1];
    o[i] = k;
  }

  private nextStep(): Candidate | null {
    const g0 = this.gap(this.cur);
    if (this.spec.strategy === 'venue-order') {
      for (const k of this.venueOrder()) {
        const c = this.candidate(k, this.scratch);
        if (improves(this.gap(c.r), g0, this.cur)) return c;
      }
      return null;
    }
    // largest-release: every open position's step evaluated at every step (the largest contributor, exactly)
    return this.spec.strategy === 'largest-release' ? this.scan(g0, null) : this.lazyGreedy(g0);
  }

  /** A candidate step's score: MM released per USD of its cost (greedy) or MM released (largest-release); null when it does not improve the gap. */
  private scoreOf(c: Candidate, g0: number): Score | null {
    if (!improves(this.gap(c.r), g0, this.cur)) return null;
    const release = this.cur.maintenanceMargin - c.r.maintenanceMargin;
    if (this.spec.strategy === 'largest-release') return { score: release, release };
    return { score: release / Math.max(c.gain + c.fee, 1e-12 * c.notional), release };
  }

  /** Every open position's next step evaluated: the best by score (better), null when none improves the gap; each score kept in `stale` when given. */
  private scan(g0: number, stale: Map<number, Score> | null): Candidate | null {
    let best: (Score & { c: Candidate; k: number }) | null = null;
    for (const k of this.open()) {
      const c = this.candidate(k);
      const s = this.scoreOf(c, g0);
      if (!s) continue;
      stale?.set(k, s);
      if (!best || better({ ...s, k }, best)) best = { c, ...s, k };
    }
    return best ? best.c : null;
  }

  /**
   * Greedy with lazy re-evaluation: candidates are kept with their last score; the best one is
   * re-evaluated on the current account and taken if it still beats the next best's last score,
   * else re-queued. A full scan of every open position when the queue runs dry (a step that did
   * not improve the gap before may now), and at the first step.
   */
  private lazyGreedy(g0: number): Candidate | null {
    const stale = (this.stale ??= new Map());
    let scanned = false;
    for (;;) {
      if (stale.size === 0) {
        if (scanned) return null;
        scanned = true;
        return this.scan(g0, stale);
      }
      // the best open candidate by its last score, and the next best
      let top: (Score & { k: number }) | null = null;
      let next: (Score & { k: number }) | null = null;
      for (const [k, s] of stale) {
        if (this.remaining[k] === 0) continue;
        const e = { k, score: s.score, release: s.release };
        if (!top || better(e, top)) [top, next] = [e, top];
        else if (!next || better(e, next)) next = e;
      }
      if (!top) {
        stale.clear();
        continue;
      }
      const c = this.candidate(top.k);
      const s = this.scoreOf(c, g0);
      if (!s) {
        stale.delete(top.k);
        continue;
      }
      stale.set(top.k, s);
      if (!next || better({ ...s, k: top.k }, next)) return c;
    }
  }

  /** Proportional: one step of every open position, booked one after the other. */
  private proportionalStep(): boolean {
    const g0 = this.gap(this.cur);
    const col = { ...this.collateral };
    const rem = this.remaining.slice(0, this.n);
    const cum = this.cum.slice(0, this.unders.length);
    const parts: Candidate[] = [];
    for (const k of this.open()) {
      const t = this.trade(k, rem, cum);
      this.reduce(rem, k, t.q);
      bookInto(col, t.booking);
      cum[this.uid[k]] += t.notional;
      parts.push(t);
    }
    if (parts.length === 0) return false;
    const account = accountOf(this.account, rem, col);
    const r = figuresOk(this.engine, account);
    if (!improves(this.gap(r), g0, this.cur)) return false;
    this.remaining.set(rem);
    for (let k = 0; k < rem.length; k++) this.notionalNow[k] = notionalUsd(this.facts[k], rem[k]);
    this.collateral = col;
    this.cum.set(cum);
    this.commit(account, r);
    for (const t of parts) this.record(t);
    return true;
  }

  run(): LiquidationPlan {
    const before = this.cur;
    const g0 = this.gap(before);
    this.walk();
    const restored = this.gap(this.cur) >= 0;
    const reason = planReason(this.steps.length, restored, this.open().length);
    // this.cur: the figures of the account the last step built, the same input as the after account
    return finishPlan(this.engine, this.account, this.mech, this.spec, before, g0, this.steps, restored, reason, this.after(), this.cur);
  }

  /** The plan into its trail: its steps, and what the account after them is built from (accountOf's remaining sizes and balances: built()) when it took one. */
  runTrail(): void {
    this.walk();
    if (this.trail!.n > 0) this.trail!.end(this.remaining, this.n, this.collateral, this.cur.equity);
  }

  /** The account the plan has reached, as its after account (in full). */
  private after(): AccountInput {
    return this.now === this.account || this.nowIsKey ? this.built() : this.now;
  }

  /** The plan's steps, until the target is restored or no step improves it. */
  private walk(): void {
    const maxSteps = this.account.positions.length * Math.ceil(1 / this.spec.stepFraction) + 1;
    let n = 0;
    while (this.gap(this.cur) < 0) {
      if (n++ > maxSteps) throw new OptmarginError(ErrorCodes.INTERNAL, `plan did not terminate within ${maxSteps} steps`);
      if (this.spec.strategy === 'proportional' && this.proportionalStep()) continue;
      const c = (this.spec.strategy === 'proportional' ? null : this.nextStep()) ?? this.forcedStep();
      if (!c) break;
      this.take(c);
    }
  }

  /** When no step improves a bankrupt account that must be closed whole (closeBankrupt): a step of the first open position in venue order all the same. */
  private forcedStep(): Candidate | null {
    if (!this.closeBankrupt || !(this.cur.equity < 0)) return null;
    const o = this.venueOrder();
    return o.length > 0 ? this.candidate(o[0], this.scratch) : null;
  }
}
