/**
 * The Deribit PME measure of one account (account.ts holds the aggregation and requirements,
 * arithmetic.ts the arithmetic), with what-if from kept vectors for a segregated account.
 *
 * What-if (segregated, `deribit-pm`): margin() and figuresOf() keep, for the last account they
 * margined (that input object: one slot, as the grid measure keeps it), its pairs' raw aggregated
 * vectors, net deltas, worst cases and delta shocks, its roll shock, balance, positions' USD value
 * and positions (instrument, size, entry). A change that resizes a position the account holds
 * (an option's position, or a future's one open position at the change's entry) adds size × the
 * instrument's unit P&L vector to its pair's vector — O(scenarios) —, its delta, its value and the
 * change of its roll shock; balance deltas in the account's currency move the balance. Only the
 * changed pair is reduced again (pairRisk), the others' worst cases and delta shocks are the kept
 * ones, summed in the same order as a fresh margin: the figures equal re-margining the resized
 * account up to the order of the vectors' and scalars' sums (last bits). Anything else (cross
 * margining, a change of an instrument not held, a future held twice, a balance of another currency)
 * gives null: the caller re-margins.
 */
import { Kind } from '../../instruments/kind.js';
import type { AccountInput, DeribitPmeModel, MarginFigures, PositionChange } from '../types.js';
import type { MarginOutcome } from '../outcome.js';
import {
  currencyRequirement,
  pairRisk,
  pmeCore,
  pmeOutcome,
  pmeVectorsOf,
  positionDelta,
  positionRoll,
  priceOf,
  segregatedFigures,
  type PmeContext,
  type PmeCore,
} from './account.js';

/** One pair of the kept account: its raw vector and net delta, and what they gave. */
interface KeptPair {
  underlying: string;
  vec: Float64Array;
  delta: number;
  worst: number;
  deltaShock: number;
}

/** A segregated account's kept state (see the module comment). */
interface PmeState {
  account: AccountInput;
  positionsRef: unknown;
  positionsLen: number;
  currency: string;
  price: number;
  balance: number;
  posUsd: number;
  roll: number;
  instr: Int32Array;
  size: Float64Array;
  /** sizes when the chain of changes started (the account margined) */
  size0: Float64Array;
  entry: (number | undefined)[];
  pairs: KeptPair[];
  figures: MarginFigures;
}

/** The last what-if until the next one: what keep() moves the state to (one object, reused: its arrays are scratch). */
interface Pending {
  st: PmeState | null;
  /** per kept pair: changed (its vector in `vecs`, its delta, worst case and delta shock here) or not */
  touched: boolean[];
  deltas: Float64Array;
  worst: Float64Array;
  shocks: Float64Array;
  /** positions resized: [position, new size] pairs */
  resized: number[];
  balance: number;
  posUsd: number;
  roll: number;
  figures: MarginFigures;
}

export class PmeAccountMeasure {
  private lastKey: object | null = null;
  private last: PmeState | null = null;
  private pending: Pending | null = null;
  private readonly scratch: Pending = { st: null, touched: [], deltas: new Float64Array(4), worst: new Float64Array(4), shocks: new Float64Array(4), resized: [], balance: 0, posUsd: 0, roll: 0, figures: null! };
  /** scratch: the changed pairs' vectors of the last what-if (pair j at j × n) */
  private vecs = new Float64Array(0);
  private readonly pv = new Float64Array(2);

  constructor(
    readonly engine: PmeContext,
    readonly model: DeribitPmeModel,
  ) {}

  /** The full outcome (breakdowns, greeks); keeps the account's state under `key` (its input object). */
  margin(a: AccountInput, key: object): MarginOutcome {
    const core = pmeCore(this.engine, this.model, a, true);
    this.remember(a, key, core);
    return pmeOutcome(this.engine, this.model, a, core);
  }

  /** The headline figures only: the same doubles as margin(), without the breakdowns; keeps the state as margin() does. */
  figuresOf(a: AccountInput): MarginFigures {
    const core = pmeCore(this.engine, this.model, a, false);
    this.remember(a, a, core);
    return core.figures;
  }

  private remember(a: AccountInput, key: object, core: PmeCore): void {
    this.pending = null;
    this.lastKey = null;
    this.last = null;
    const C = core.segregatedCurrency;
    if (C === null) return;
    const { r } = core;
    const cur = core.currencies.find((c) => c.breakdown.currency === C);
    const pairs: KeptPair[] = [];
    const acc = core.accs.get(C);
    if (acc && cur) {
      let j = 0;
      for (const p of acc.pairs.values()) {
        const risk = cur.pairs[j++];
        pairs.push({ underlying: p.underlying, vec: p.vec, delta: p.delta, worst: risk.worst.worstCase, deltaShock: risk.deltaShock });
      }
    }
    this.lastKey = key;
    this.last = {
      account: a,
      positionsRef: (key as AccountInput).positions,
      positionsLen: a.positions.length,
      currency: C,
      price: priceOf(this.engine, this.model, C),
      balance: a.collateral[C] ?? 0,
      posUsd: core.posUsd,
      roll: acc?.roll ?? 0,
      instr: r.instr.slice(0, r.n),
      size: r.size.slice(0, r.n),
      size0: r.size.slice(0, r.n),
      entry: a.positions.map((p) => p.entryPrice),
      pairs,
      figures: core.figures,
    };
  }

  /** The kept state of `input` (the last account margined, unchanged since), or null. */
  stateOf(input: AccountInput): PmeState | null {
    const st = this.lastKey === input ? this.last : null;
    if (!st || st.positionsRef !== input.positions || st.positionsLen !== input.positions.length) return null;
    return st;
  }

  /**
   * The position a change of instrument i resizes: an option's first position (options of one
   * instrument differ in nothing the measure reads), the one open position of a future or
   * perpetual at the change's entry (its roll shock is per position); −1 when there is none or
   * the future is held twice (the caller re-margins).
   */
  private held(st: PmeState, i: number, entry: number | undefined): number {
    const option = this.engine.table.kind[i] === Kind.Option;
    let at = -1;
    for (let p = 0; p < st.instr.length; p++) {
      if (st.instr[p] !== i) continue;
      if (option) return p;
      // a position the plan closed (a rest below 1e-12 of its size, as accountOf drops it)
      if (Math.abs(st.size[p]) <= 1e-12 * Math.abs(st.size0[p])) continue;
      if (st.entry[p] !== entry) continue;
      if (at >= 0) return -1;
      at = p;
    }
    return at;
  }

  /**
   * Figures of the kept account after `changes` (resizing held positions) and balance `deltas`,
   * or null where the what-if does not apply (see the module comment). With `next` (that account,
   * built by the caller), the kept state moves to it.
   */
  whatIf(st: PmeState, changes: PositionChange[], deltas: Readonly<Record<string, number>>, next?: AccountInput): MarginFigures | null {
    const w = this.changed(st, changes, deltas);
    this.pending = w;
    if (w && next) this.keep(next);
    return w ? w.figures : null;
  }

  private changed(st: PmeState, changes: PositionChange[], deltas: Readonly<Record<string, number>>): Pending | null {
    const { engine, model } = this;
    const tb = engine.table;
    const risk = pmeVectorsOf(tb, model);
    risk.sync();
    const n = risk.n;
    const np = st.pairs.length;
    if (this.vecs.length < np * n) this.vecs = new Float64Array(Math.max(np * n, 2 * this.vecs.length));
    const w = this.scratch;
    if (w.deltas.length < np) {
      w.deltas = new Float64Array(2 * np);
      w.worst = new Float64Array(2 * np);
      w.shocks = new Float64Array(2 * np);
    }
    w.st = st;
    w.touched.length = np;
    w.touched.fill(false);
    w.resized.length = 0;
    w.balance = st.balance;
    w.posUsd = st.posUsd;
    w.roll = st.roll;
    w.figures = st.figures;
    for (let c = 0; c < changes.length; c++) {
      const ch = changes[c];
      const i = engine.resolver.instrumentIndex('changes', ch.instrument, c);
      const inst = tb.instruments[i];
      const p = this.held(st, i, ch.entryPrice);
      if (!inst || inst.settlementCurrency !== st.currency || p < 0) return null;
      const j = st.pairs.findIndex((x) => x.underlying === inst.underlying);
      if (j < 0) return null;
      if (!w.touched[j]) {
        w.touched[j] = true;
        this.vecs.set(st.pairs[j].vec, j * n);
        w.deltas[j] = st.pairs[j].delta;
      }
      const row = i * n;
      for (let s = 0; s < n; s++) this.vecs[j * n + s] += ch.size * risk.values[row + s];
      tb.positionValueInto(i, ch.size, ch.entryPrice, this.pv);
      w.posUsd += this.pv[0];
      w.deltas[j] += positionDelta(tb, i, ch.size, this.pv[1]);
      let from = st.size[p];
      for (let k = 0; k < w.resized.length; k += 2) if (w.resized[k] === p) from = w.resized[k + 1];
      const to = from + ch.size;
      w.roll += positionRoll(tb, model, i, to) - positionRoll(tb, model, i, from);
      w.resized.push(p, to);
      // an option's premium (at entry, else at mark) moves the balance, as the grid what-if books it
      if (tb.kind[i] === Kind.Option) w.balance -= ch.size * (ch.entryPrice ?? tb.mark[i]) * inst.contractSize;
    }
    for (const cur in deltas) {
      if (deltas[cur] === 0) continue;
      if (cur !== st.currency) return null;
      w.balance += deltas[cur];
    }
    let worst = 0;
    let shock = 0;
    for (let j = 0; j < np; j++) {
      const kp = st.pairs[j];
      if (w.touched[j]) {
        const pr = pairRisk(engine, model, st.currency, st.price, kp.underlying, this.vecs.subarray(j * n, (j + 1) * n), w.deltas[j], risk, null);
        w.worst[j] = pr.worst.worstCase;
        w.shocks[j] = pr.deltaShock;
      }
      worst += w.touched[j] ? w.worst[j] : kp.worst;
      shock += w.touched[j] ? w.shocks[j] : kp.deltaShock;
    }
    const req = currencyRequirement(model, worst, w.roll, shock);
    w.figures = segregatedFigures(w.balance, w.posUsd, st.price, req.im, req.mm);
    return w;
  }

  /**
   * The kept state moves to `next`, the account after the last what-if's changes (built by the
   * caller). False (nothing kept) when there is no such what-if or the state changed since.
   */
  keep(next: AccountInput): boolean {
    const w = this.pending;
    this.pending = null;
    // nothing kept unless the what-if started from the state kept now
    this.lastKey = null;
    if (!w || !w.st || w.st !== this.last) {
      this.last = null;
      return false;
    }
    const st = w.st;
    const n = pmeVectorsOf(this.engine.table, this.model).n;
    const size = st.size.slice();
    for (let k = 0; k < w.resized.length; k += 2) size[w.resized[k]] = w.resized[k + 1];
    const pairs = st.pairs.map((kp, j): KeptPair =>
      w.touched[j] ? { underlying: kp.underlying, vec: this.vecs.slice(j * n, (j + 1) * n), delta: w.deltas[j], worst: w.worst[j], deltaShock: w.shocks[j] } : kp,
    );
    this.lastKey = next;
    this.last = { ...st, account: next, positionsRef: next.positions, positionsLen: next.positions.length, balance: w.balance, posUsd: w.posUsd, roll: w.roll, size, pairs, figures: w.figures };
    return true;
  }
}
