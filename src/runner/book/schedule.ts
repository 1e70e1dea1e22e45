/**
 * Scheduling of the book's compute on the pool (pool.ts): aggregation chunks of about equal
 * holdings (a multiple of the thread count), the fused round of a full recompute (each chunk
 * aggregates the rows of an account range, then reduces those accounts), the reduction round,
 * and the bookkeeping of chunks that failed every attempt (their rows and accounts are reported
 * failed, never dropped).
 */
import type { GridMeasureParams } from '../../measures/grid/params.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';
import type { BookAccounts } from './accounts.js';
import type { BookInstruments } from './instruments.js';
import type { ChunkRunner } from './pool.js';
import type { BookRows } from './rows.js';
import type { AggregateTask, ReduceTask } from './tasks.js';
import type { EquityArrays } from './equity.js';
import type { RoundHealth } from './results.js';
import { followRows, type ForwardFollow } from './forwards.js';
import { chunkStages, epochMs, tickClock, type ChunkStages } from './clock.js';

/** Messages of rows and accounts whose chunk failed every attempt. */
export class Failures {
  readonly rows = new Map<number, string>();
  readonly accounts = new Map<number, string>();
  clear(): void {
    this.rows.clear();
    this.accounts.clear();
  }
}

/** Accounts [from, to) and their rows of the load: [from, to, slot] triples. */
interface AccountChunk {
  from: number;
  to: number;
  ranges: Int32Array;
}

/** What the scheduler reads of a loaded book. */
export interface ScheduledBook {
  n: number;
  rows: BookRows;
  ins: BookInstruments;
  accounts: BookAccounts;
  red: ReduceArrays;
  failures: Failures;
  roundHealth: RoundHealth;
  /** whether account k is on the vectorized path */
  isGrid(k: number): boolean;
}

export interface RoundOutcome {
  retried: number;
  failedChunks: number;
  tasks: number;
  /** a tick's round: where its chunks' time went (clock.ts) */
  stages?: ChunkStages;
}

export class BookScheduler {
  /** account-range chunks of the fused rounds (the load's rows), cached per CSR key */
  private fusedCache: { key: string; tasks: AccountChunk[] | null } | null = null;
  /** a tick's account ranges (tickRanges) per moved slots and thread count, for one CSR key and account count */
  private tickCache: { key: string; byMoved: Map<string, AccountChunk[] | null> } = { key: '', byMoved: new Map() };

  constructor(
    readonly runner: ChunkRunner,
    private readonly chunkPositions: number,
    private readonly bookId: number,
    private readonly params: GridMeasureParams,
  ) {}

  /** Chunks wanted for `total` holdings: at least 4 per thread, more when chunkPositions caps their size, a multiple of the thread count. */
  private chunkCount(total: number): number {
    const threads = this.runner.threads;
    return threads * Math.max(4, Math.ceil(Math.ceil(total / Math.max(1024, this.chunkPositions)) / threads));
  }

  private taskBase(b: ScheduledBook): Omit<AggregateTask, 'chunk' | 'ranges'> {
    const { rows, ins, red } = b;
    return {
      kind: 'aggregate',
      attempt: 0,
      nScen: ins.nScen,
      csr: { ...rows.csr, nRows: rows.nRows },
      risk: ins.risk,
      riskKey: `${this.bookId}:${ins.riskVersion}`,
      weights: ins.weights,
      rowBase: rows.bases,
      slotSpot: ins.slotSpot,
      params: this.params,
      outLoss: rows.loss,
      outIndex: rows.worst,
      outIm: red.rowIm,
    };
  }

  /**
   * Aggregation chunks over the rows of the given slots: each slot gets a share of the chunks
   * proportional to its holdings and is cut at equal holding counts (no small remainder chunk
   * unbalancing the pool's last round); rows appended by trades go in a last chunk.
   */
  private aggregateTasks(b: ScheduledBook, slots: number[]): AggregateTask[] {
    const rows = b.rows;
    const rowStart = rows.csr.rowStart;
    const total = slots.reduce((acc, s) => acc + rowStart[rows.slotRowTo[s]] - rowStart[rows.slotRowFrom[s]], 0);
    const nChunks = this.chunkCount(total);
    const tasks: AggregateTask[] = [];
    const base = this.taskBase(b);
    for (const s of slots) {
      let from = rows.slotRowFrom[s];
      const end = rows.slotRowTo[s];
      const h0 = rowStart[from];
      const slotTotal = rowStart[end] - h0;
      const n = Math.max(1, Math.min(end - from, Math.round((nChunks * slotTotal) / Math.max(1, total))));
      for (let k = 1; k <= n && from < end; k++) {
        const limit = h0 + Math.round((k * slotTotal) / n); // holdings before this chunk's end
        let to = from + 1;
        while (to < end && (k === n || rowStart[to + 1] <= limit)) to++;
        tasks.push({ ...base, chunk: tasks.length, ranges: Int32Array.of(from, to, s) });
        from = to;
      }
    }
    const tail: number[] = [];
    for (const s of slots) {
      for (const r of rows.tailRows[s]) {
        const n = tail.length;
        if (n > 0 && tail[n - 2] === r && tail[n - 1] === s) tail[n - 2]++;
        else tail.push(r, r + 1, s);
      }
    }
    if (tail.length > 0) tasks.push({ ...base, chunk: tasks.length, ranges: Int32Array.from(tail) });
    return tasks;
  }

  /** Marks the rows of failed chunks (and, for fused chunks, their vectorized accounts) failed. */
  private recordFailures(b: ScheduledBook, tasks: AggregateTask[], failed: { chunk: number; message: string }[]): void {
    for (const f of failed) {
      const t = tasks[f.chunk];
      const rg = t.ranges;
      for (let k = 0; k < rg.length; k += 3) {
        b.red.rowFailed.fill(1, rg[k], rg[k + 1]);
        for (let r = rg[k]; r < rg[k + 1]; r++) b.failures.rows.set(r, f.message);
      }
      if (t.reduce) this.failAccounts(b, t.reduce, f.message);
    }
  }

  private failAccounts(b: ScheduledBook, span: { from: number; to: number; list?: Int32Array }, message: string): void {
    for (let q = span.from; q < span.to; q++) {
      const k = span.list ? span.list[q] : q;
      if (!b.isGrid(k)) continue;
      b.red.accFailed[k] = 1;
      b.roundHealth.drop(k);
      b.failures.accounts.set(k, message);
    }
  }

  /** Aggregates the rows of the given slots on the pool (a tick: one slot). */
  async aggregateSlots(b: ScheduledBook, slots: number[]): Promise<RoundOutcome> {
    if (b.rows.nRows === 0) return { retried: 0, failedChunks: 0, tasks: 0 };
    const tasks = this.aggregateTasks(b, slots);
    const inSlots = new Uint8Array(b.ins.underlyings.length);
    for (const s of slots) inSlots[s] = 1;
    for (const t of tasks) for (let k = 0; k < t.ranges.length; k += 3) b.red.rowFailed.fill(0, t.ranges[k], t.ranges[k + 1]);
    for (const r of [...b.failures.rows.keys()]) if (inSlots[b.rows.rowSlot[r]]) b.failures.rows.delete(r);
    const out = await this.runner.run(tasks);
    this.recordFailures(b, tasks, out.failed);
    return { retried: out.retried, failedChunks: out.failed.length, tasks: tasks.length };
  }

  /**
   * The fused round's chunks: accounts split into ranges of about equal holdings, with the rows
   * of each range per slot (rows of one slot are ordered by account, so an account range is a
   * contiguous row range in every slot). Null when rows were appended by trades (they sit outside
   * that order): then the two-round path runs.
   */
  fusedTasks(b: ScheduledBook): AggregateTask[] | null {
    const rows = b.rows;
    if (rows.nRows === 0 || rows.nRows !== rows.loadedRows) return null;
    const chunks = this.accountChunks(b);
    if (!chunks) return null;
    const base = this.taskBase(b);
    return chunks.map((t, c) => ({ ...base, chunk: c, ranges: t.ranges, reduce: { from: t.from, to: t.to, arrays: b.red } }));
  }

  /** The account-range chunks of the load's rows (cached per CSR key: trades append rows after them). */
  private accountChunks(b: ScheduledBook): AccountChunk[] | null {
    const key = b.rows.csr.key;
    if (this.fusedCache?.key !== key) this.fusedCache = { key, tasks: this.accountRanges(b, this.chunkCount(b.rows.csr.nHold)) };
    return this.fusedCache.tasks;
  }

  /**
   * The fused round of a tick moving the slots of `moved`: per account range, its rows on those
   * slots (the load's, contiguous per slot, and those trades appended for its accounts) follow the
   * new forwards and are aggregated, then the equity and figures of the accounts of
   * `list[0..nList)` (ascending: those depending on a moved slot) in that range are computed.
   * One chunk per thread, cut at equal tick work (tickRanges). `revalued`: the flag the chunks wait
   * for before aggregating (runTick's `revalue` sets it), or null when the risk arrays are ready.
   */
  tickTasks(b: ScheduledBook, moved: Uint8Array, list: Int32Array, nList: number, equity: EquityArrays, follow: ForwardFollow, revalued: Int32Array | null): AggregateTask[] {
    const rows = b.rows;
    const chunks = this.tickRanges(b, moved) ?? [{ from: 0, to: b.n, ranges: Int32Array.from(movedSlots(moved).flatMap((s) => [rows.slotRowFrom[s], rows.slotRowTo[s], s])) }];
    const tails: number[][] = chunks.map(() => []);
    for (const slot of movedSlots(moved)) {
      for (const r of rows.tailRows[slot]) {
        const a = b.accounts.subAcc.a[rows.rowSub[r]];
        let lo = 0;
        let hi = chunks.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (chunks[mid].from <= a) lo = mid;
          else hi = mid - 1;
        }
        tails[lo].push(r, r + 1, slot);
      }
    }
    const base = this.taskBase(b);
    const tasks: AggregateTask[] = [];
    const clock = tickClock(chunks.length);
    for (let c = 0, q = 0; c < chunks.length; c++) {
      const ch = chunks[c];
      const rg = tails[c].length === 0 ? ch.ranges : Int32Array.from([...ch.ranges, ...tails[c]]);
      const q0 = q;
      while (q < nList && list[q] < ch.to) q++;
      if (rg.length === 0 && q === q0) continue;
      tasks.push({ ...base, chunk: tasks.length, ranges: rg, reduce: { from: q0, to: q, list, arrays: b.red, equity, health: b.roundHealth.of }, follow, clock, ...(revalued ? { revalued } : {}) });
    }
    return tasks;
  }

  /**
   * Runs a tick's fused round (tickTasks); a chunk that fails every attempt fails its rows and
   * its listed accounts, and its rows follow the forwards here (the book's sizes and bases stay
   * those of the market, for the rounds that come next). `revalue`: the main thread's work while
   * the chunks run (the tick's revaluation, which they wait for: pool.ts run).
   */
  async runTick(b: ScheduledBook, moved: Uint8Array, tasks: AggregateTask[], revalue?: () => void): Promise<RoundOutcome> {
    for (const t of tasks) for (let k = 0; k < t.ranges.length; k += 3) b.red.rowFailed.fill(0, t.ranges[k], t.ranges[k + 1]);
    for (const r of [...b.failures.rows.keys()]) if (moved[b.rows.rowSlot[r]]) b.failures.rows.delete(r);
    if (b.failures.accounts.size > 0) {
      for (const t of tasks) for (let q = t.reduce!.from; q < t.reduce!.to; q++) b.failures.accounts.delete(t.reduce!.list![q]);
    }
    const posted = epochMs();
    const out = await this.runner.run(tasks, revalue);
    const stages = tasks.length > 0 && tasks[0].clock ? chunkStages(tasks[0].clock, tasks.length, posted, epochMs()) : undefined;
    this.recordFailures(b, tasks, out.failed);
    for (const f of out.failed) {
      const t = tasks[f.chunk];
      for (let k = 0; k < t.ranges.length; k += 3) if (t.follow) followRows(t.follow, t.ranges[k], t.ranges[k + 1], t.ranges[k + 2]);
    }
    return { retried: out.retried, failedChunks: out.failed.length, tasks: tasks.length, stages };
  }

  /**
   * A tick's account ranges (one per thread) and their rows on the moved slots, cut at equal tick
   * work: per account, its holdings on the moved slots (aggregated, and their positions re-summed
   * for its equity: parts.ts). Cached per CSR and moved slots — each set of moved slots its own
   * entry: a simulation step ticks both underlyings, then its cascade one (rows appended by
   * trades go to the chunk of their account: tickTasks); null when the load's rows are not ordered
   * by account.
   */
  private tickRanges(b: ScheduledBook, moved: Uint8Array): AccountChunk[] | null {
    const csr = `${b.rows.csr.key}:${b.n}`;
    if (this.tickCache.key !== csr) this.tickCache = { key: csr, byMoved: new Map() };
    const key = `${moved.join('')}:${this.runner.threads}`;
    let tasks = this.tickCache.byMoved.get(key);
    if (tasks === undefined) {
      const rows = b.rows;
      const rowStart = rows.csr.rowStart;
      const own = new Float64Array(b.n);
      for (let r = 0; r < rows.loadedRows; r++) if (moved[rows.rowSlot[r]]) own[b.accounts.subAcc.a[rows.rowSub[r]]] += rowStart[r + 1] - rowStart[r];
      tasks = this.accountRanges(b, this.runner.threads, own, moved);
      this.tickCache.byMoved.set(key, tasks);
    }
    return tasks;
  }

  /**
   * Accounts cut into at most `nChunks` ranges of about equal weight (`weight[k]`: account k's
   * work; default its holdings), each with its rows per slot of `slots` (default every slot).
   */
  private accountRanges(b: ScheduledBook, nChunksMax: number, weight?: Float64Array, slots?: Uint8Array): AccountChunk[] | null {
    const rows = b.rows;
    const rowStart = rows.csr.rowStart;
    const n = b.n;
    const accOfRow = (r: number): number => b.accounts.subAcc.a[rows.rowSub[r]];
    // weight per account, then cut points at equal cumulative weight
    const hold = new Float64Array(n + 1);
    if (weight) hold.set(weight, 1);
    else for (let r = 0; r < rows.nRows; r++) hold[accOfRow(r) + 1] += rowStart[r + 1] - rowStart[r];
    for (let k = 0; k < n; k++) hold[k + 1] += hold[k];
    const total = hold[n];
    const nChunks = Math.min(n, nChunksMax);
    const cuts: number[] = [0];
    for (let c = 1, k = 0; c < nChunks; c++) {
      const want = (c * total) / nChunks;
      while (k < n && hold[k + 1] <= want) k++;
      if (k > cuts[cuts.length - 1]) cuts.push(k);
    }
    cuts.push(n);
    // per slot, walk its rows once and cut them at the account boundaries
    const ranges: number[][] = cuts.slice(1).map(() => []);
    for (let s = 0; s < b.ins.underlyings.length; s++) {
      if (slots && !slots[s]) continue;
      let r = rows.slotRowFrom[s];
      const end = rows.slotRowTo[s];
      let prevAcc = -1;
      for (let c = 0; c + 1 < cuts.length; c++) {
        const from = r;
        while (r < end && accOfRow(r) < cuts[c + 1]) {
          const a = accOfRow(r);
          if (a < prevAcc) return null; // not ordered by account: keep the two-round path
          prevAcc = a;
          r++;
        }
        if (r > from) ranges[c].push(from, r, s);
      }
    }
    return ranges.map((rg, c) => ({ from: cuts[c], to: cuts[c + 1], ranges: Int32Array.from(rg) }));
  }

  /** Runs the fused round; a chunk that fails every attempt fails its rows and its accounts. */
  async runFused(b: ScheduledBook, tasks: AggregateTask[]): Promise<RoundOutcome> {
    for (const t of tasks) for (let k = 0; k < t.ranges.length; k += 3) b.red.rowFailed.fill(0, t.ranges[k], t.ranges[k + 1]);
    b.failures.clear();
    const out = await this.runner.run(tasks);
    this.recordFailures(b, tasks, out.failed);
    return { retried: out.retried, failedChunks: out.failed.length, tasks: tasks.length };
  }

  /** Reduces every vectorized account, in account ranges on the pool (chunk numbers continue the aggregation batch's). */
  async reduceAll(b: ScheduledBook, firstChunk: number): Promise<RoundOutcome> {
    if (b.n === 0) return { retried: 0, failedChunks: 0, tasks: 0 };
    const nTasks = Math.min(b.n, this.runner.threads === 1 ? 1 : 2 * this.runner.threads);
    const tasks: ReduceTask[] = [];
    for (let c = 0; c < nTasks; c++) {
      const from = Math.floor((c * b.n) / nTasks);
      const to = Math.floor(((c + 1) * b.n) / nTasks);
      tasks.push({ kind: 'reduce', chunk: firstChunk + c, attempt: 0, from, to, arrays: b.red, params: this.params });
    }
    b.failures.accounts.clear();
    const out = await this.runner.run(tasks);
    for (const f of out.failed) {
      const t = tasks[f.chunk - firstChunk];
      this.failAccounts(b, t, f.message);
    }
    return { retried: out.retried, failedChunks: out.failed.length, tasks: nTasks };
  }
}

/** The slots a tick moved, ascending. */
export function movedSlots(moved: Uint8Array): number[] {
  const out: number[] = [];
  moved.forEach((m, s) => m && out.push(s));
  return out;
}
