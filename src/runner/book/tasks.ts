/**
 * The units of parallel work of the book runner. The same functions run in piscina workers
 * (worker.ts) and in-process (threads = 1), so results cannot depend on the thread count.
 *
 *   aggregate  a chunk of rows (a sub-account's holdings on one underlying) → each row's P&L
 *              vector over its underlying's scenarios (WASM, SIMD across scenarios) → its worst
 *              weighted loss and scenario → its IM (measures/grid/addons.ts: rowImInto).
 *   reduce     a range of accounts → their figures (measures/grid/reduce.ts: reduceAccount); in a
 *              fused round, after the chunk's aggregation (a tick: each account's equity first).
 *   tails      a range of accounts → each one's P&L vector over revalued risk scenarios, summed in
 *              position order, and its m smallest entries with scenario indices (the VaR tail
 *              kernel, wasm/tails.ts; risk/book-var.ts schedules it on the same pool).
 *
 * The margin arithmetic is the measure's own (the account runner calls the same functions);
 * this file only schedules it. Every array of a task lives in a SharedArrayBuffer: posting a
 * task shares memory, it copies nothing. The book's CSR is made resident in each worker's WASM
 * memory once per load (`BookCsr.key`), then only what changed is re-copied. Each chunk writes
 * only its own rows / accounts of the outputs.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { rowImInto } from '../../measures/grid/addons.js';
import type { GridMeasureParams } from '../../measures/grid/params.js';
import { reduceAccount, type ReduceArrays } from '../../measures/grid/reduce.js';
import type { Aggregator, BookCsr } from '../../wasm/aggregate.js';
import { EquityKernel } from '../../wasm/equity.js';
import { TailKernel } from '../../wasm/tails.js';
import type { WasmInstance } from '../../wasm/module.js';
import { I32 } from './arrays.js';
import { currencyPrices, type EquityArrays } from './equity.js';
import { followRows, lowerBound, type ForwardFollow } from './forwards.js';
import { Mark, stamp } from './clock.js';
import { gridHealth } from './results.js';

export type { BookCsr } from '../../wasm/aggregate.js';

export interface AggregateTask {
  kind: 'aggregate';
  /** chunk number within its batch and attempt number (0 = first try; retries count up) */
  chunk: number;
  attempt: number;
  nScen: number;
  csr: BookCsr;
  /** revaluation matrix nInstruments × nScen (USD per unit) and its version key */
  risk: Float64Array;
  riskKey: string;
  /** [from, to, slot] triples: row ranges of one underlying slot each */
  ranges: Int32Array;
  /** scenario weights, nSlots × nScen */
  weights: Float64Array;
  /** add-on bases, BASES per row */
  rowBase: Float64Array;
  /** index price per slot, USD */
  slotSpot: Float64Array;
  params: GridMeasureParams;
  /** outputs by global row index */
  outLoss: Float64Array;
  outIndex: Int32Array;
  outIm: Float64Array;
  /**
   * Fused round: the chunk's ranges hold every row (of the ticked underlying, for a tick) of the
   * accounts it then reduces — one pool round instead of an aggregation round and a reduction
   * round with a barrier between them. A full recompute of a book without appended rows reduces
   * accounts [from, to); a tick the accounts depending on its moved underlyings in its account range, after
   * their equity.
   */
  reduce?: ReduceSpan;
  /** a tick: the rows of its moved slots (`follow.moved`) in `ranges` first follow the new forwards (forwards.ts) */
  follow?: ForwardFollow;
  /**
   * a tick: set by the main thread to 1 once the instruments' marks are read (the chunk waits for
   * it before following the forwards and computing the equities), to 2 once `risk` and `weights`
   * hold the new revaluation (it waits for that before aggregating); −1: either failed
   */
  revalued?: Int32Array;
  /** a tick: the round's timeline, where the chunk stamps its moments (clock.ts) */
  clock?: Float64Array;
}

/** Accounts a chunk reduces: [from, to), or list[from .. to) when `list` is given. */
export interface ReduceSpan {
  from: number;
  to: number;
  list?: Int32Array;
  arrays: ReduceArrays;
  /** a tick: each account's equity first (equity.ts) */
  equity?: EquityArrays;
  /** a tick: each account's gridHealth after its figures (results.ts RoundHealth) */
  health?: Int8Array;
}

export interface ReduceTask {
  kind: 'reduce';
  chunk: number;
  attempt: number;
  /** accounts [from, to) */
  from: number;
  to: number;
  arrays: ReduceArrays;
  params: GridMeasureParams;
}

export interface TailTask {
  kind: 'tails';
  chunk: number;
  attempt: number;
  /** accounts [from, to) of the CSR */
  from: number;
  to: number;
  /** nAcc + 1 */
  accStart: Int32Array;
  instr: Int32Array;
  size: Float64Array;
  /** revalued scenarios nInstruments × nScen (USD per unit) and the key of their content */
  values: Float64Array;
  valuesKey: string;
  nScen: number;
  /** entries kept per account */
  m: number;
  /** outputs nAcc × m: ascending P&L entries and their scenario indices */
  outVal: Float64Array;
  outIdx: Int32Array;
}

export type BookTask = AggregateTask | ReduceTask | TailTask;

/** The tail kernel of a thread, on the same WASM instance as its aggregator (made on first use). */
const tailKernels = new WeakMap<Aggregator, TailKernel>();
/** The equity kernel of a thread (its positions and accounts resident), likewise; and a span's accounts when it has no list (scratch). */
const equityKernels = new WeakMap<Aggregator, EquityKernel>();
const spanAccounts = new I32(1024);

/** The kernel of a thread kept in `kept`, on the same WASM instance as its aggregator (made on first use). */
function kernelOf<K>(kept: WeakMap<Aggregator, K>, agg: Aggregator, make: (instance: WasmInstance) => K): K {
  let k = kept.get(agg);
  if (!k) kept.set(agg, (k = make(agg.instance)));
  return k;
}

/** Runs one tails chunk; returns the number of accounts computed. */
export function runTails(agg: Aggregator, t: TailTask): number {
  const k = kernelOf(tailKernels, agg, (i) => new TailKernel(i));
  k.setValues(t.values, t.valuesKey);
  const span = (a: Float64Array | Int32Array) => a.subarray(t.from * t.m, t.to * t.m);
  k.tails({ accStart: t.accStart.subarray(t.from, t.to + 1), instr: t.instr, size: t.size }, t.nScen, t.m, span(t.outVal) as Float64Array, span(t.outIdx) as Int32Array);
  return t.to - t.from;
}

/**
 * Runs one aggregation chunk; returns the number of rows computed. A tick's chunk first does
 * what needs only the new marks — its rows follow the forwards, its accounts' equity — then
 * waits for the revaluation the main thread computes meanwhile (`revalued`), then aggregates.
 */
export function runAggregate(agg: Aggregator, t: AggregateTask): number {
  const { csr, follow, reduce } = t;
  const clock = t.clock;
  stamp(clock, t.chunk, Mark.Start);
  if (t.revalued) awaitTick(t.revalued, 1);
  stamp(clock, t.chunk, Mark.Marks);
  if (follow) for (let k = 0; k < t.ranges.length; k += 3) followRows(follow, t.ranges[k], t.ranges[k + 1], t.ranges[k + 2]);
  stamp(clock, t.chunk, Mark.Followed);
  if (reduce?.equity) equitySpan(agg, reduce.equity, reduce);
  stamp(clock, t.chunk, Mark.Equity);
  if (t.revalued) awaitTick(t.revalued, 2);
  stamp(clock, t.chunk, Mark.Revalued);
  agg.syncBook(csr);
  agg.setRiskArrays(t.risk, t.riskKey);
  const ns = t.nScen;
  let rows = 0;
  for (let k = 0; k < t.ranges.length; k += 3) {
    const from = t.ranges[k];
    const to = t.ranges[k + 1];
    const slot = t.ranges[k + 2];
    agg.syncLegs(csr, lowerBound(csr.legPos, csr.nLeg, csr.rowStart[from]), lowerBound(csr.legPos, csr.nLeg, csr.rowStart[to]));
    agg.worstLossResident(from, to, ns, t.weights.subarray(slot * ns, slot * ns + ns), t.outLoss, t.outIndex);
    rowImInto(t.params, t.rowBase, t.outLoss, t.slotSpot[slot], from, to, t.outIm);
    rows += to - from;
  }
  stamp(clock, t.chunk, Mark.Aggregated);
  if (reduce) reduceSpan(t.params, reduce, t.outLoss);
  stamp(clock, t.chunk, Mark.Reduced);
  return rows;
}

/** Blocks until the main thread's tick work reaches `stage` (1: marks read, 2: revalued), or failed (−1: the chunk fails). */
function awaitTick(flag: Int32Array, stage: number): void {
  for (let v = Atomics.load(flag, 0); v >= 0 && v < stage; v = Atomics.load(flag, 0)) Atomics.wait(flag, 0, v, 1000);
  if (Atomics.load(flag, 0) < 0) throw new OptmarginError(ErrorCodes.INTERNAL, 'the tick\'s marks or revaluation failed on the main thread');
}

/**
 * Equity of the accounts of a span (a tick: the new marks), by the thread's WASM kernel on its
 * resident positions and accounts (wasm/equity.ts): the same doubles as equity.ts accountEquity.
 */
function equitySpan(agg: Aggregator, e: EquityArrays, r: ReduceSpan): void {
  const k = kernelOf(equityKernels, agg, (i) => new EquityKernel(i));
  k.sync(e.positions);
  k.syncAccounts(e.accounts, r.arrays);
  k.setInstruments({ ...e, n: e.nInstruments });
  const moved = e.moved ?? new Uint8Array(e.slotSpot.length).fill(1);
  const n = r.to - r.from;
  let list = r.list?.subarray(r.from, r.to);
  if (!list) {
    spanAccounts.n = 0;
    for (let q = r.from; q < r.to; q++) spanAccounts.push(q);
    list = spanAccounts.a;
  }
  k.accountEquities(list, n, moved, currencyPrices(e), e.partValue, r.arrays);
}

/** Figures of the accounts of a span (their equity computed), then their health when the span asks for it (`loss`: the rows' worst losses). */
export function reduceSpan(p: GridMeasureParams, r: ReduceSpan, loss: Float64Array): void {
  const { list, arrays, health } = r;
  for (let q = r.from; q < r.to; q++) {
    const k = list ? list[q] : q;
    reduceAccount(arrays, p, k);
    if (health) health[k] = gridHealth(arrays, loss, k);
  }
}

export function runReduce(t: ReduceTask): number {
  for (let k = t.from; k < t.to; k++) reduceAccount(t.arrays, t.params, k);
  return t.to - t.from;
}

/** Runs any book task (the worker's entry and the in-process runner). */
export function runTask(agg: Aggregator, t: BookTask): number {
  if (t.kind === 'tails') return runTails(agg, t);
  return t.kind === 'reduce' ? runReduce(t) : runAggregate(agg, t);
}
