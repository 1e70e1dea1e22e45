/**
 * The server's garbage-collection pauses, by kind, since it started (`GET /healthz` → `gc`): a
 * latency tail is often a collector's pause, and this is where an operator (or the bench) reads
 * how many there were and how long the longest took. From Node's `gc` performance entries.
 */
import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';

/** The thresholds of `over`, ms. */
export const GC_OVER_MS = [0.25, 0.5, 1, 2, 5, 10] as const;

export interface GcPauses {
  /** pauses of this kind */
  count: number;
  /** their total, ms */
  ms: number;
  /** the longest, ms */
  maxMs: number;
  /** pauses longer than each threshold of GC_OVER_MS, in its order: counts that two readings can subtract */
  over: number[];
}

const pauses = (): GcPauses => ({ count: 0, ms: 0, maxMs: 0, over: GC_OVER_MS.map(() => 0) });

const KINDS: Record<number, 'minor' | 'major' | 'incremental' | 'weak'> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};

/** Pauses kept with their times (`recentSince`): the last this many. */
export const GC_RECENT = 4096;

/** One pause: when it began (ms since the Unix epoch, sub-millisecond), how long it lasted (ms), its kind. */
export interface GcPause {
  at: number;
  ms: number;
  kind: 'minor' | 'major' | 'incremental' | 'weak';
}

const KIND_NAMES = ['minor', 'major', 'incremental', 'weak'] as const;

export class GcStats {
  /** minor: young-generation scavenges; major: full mark-compacts; incremental: marking steps; weak: weak callbacks */
  readonly pauses: Record<'minor' | 'major' | 'incremental' | 'weak', GcPauses> = { minor: pauses(), major: pauses(), incremental: pauses(), weak: pauses() };
  /** the last GC_RECENT pauses, a ring: start times (epoch ms), durations (ms), kinds (index in KIND_NAMES) */
  private readonly at = new Float64Array(GC_RECENT);
  private readonly ms = new Float64Array(GC_RECENT);
  private readonly kind = new Uint8Array(GC_RECENT);
  private seen = 0;
  /** bytes the process has allocated on the V8 heap since it started counting; null unless asked for (`heapCount`) */
  readonly heap: HeapAllocation | null;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.add(e);
    this.heap?.collected(list.getEntries().length);
  });

  /**
   * `heapCount`: also count the heap bytes allocated (HeapAllocation). Off by default: V8's
   * GCProfiler, which it runs, lengthens every scavenge (docs/serve.md, "Performance").
   */
  constructor(heapCount = false) {
    this.heap = heapCount ? new HeapAllocation() : null;
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private add(e: PerformanceEntry): void {
    const kind = KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
    if (!kind) return;
    const slot = this.seen++ % GC_RECENT;
    this.at[slot] = performance.timeOrigin + e.startTime;
    this.ms[slot] = e.duration;
    this.kind[slot] = KIND_NAMES.indexOf(kind);
    const p = this.pauses[kind];
    p.count++;
    p.ms += e.duration;
    if (e.duration > p.maxMs) p.maxMs = e.duration;
    for (let i = 0; i < GC_OVER_MS.length; i++) if (e.duration > GC_OVER_MS[i]) p.over[i]++;
  }

  /**
   * The kept pauses that ended after `since` (epoch ms), oldest first: what a latency spike at a
   * known time can be matched against (the serve bench does). At most the last GC_RECENT.
   */
  recentSince(since: number): GcPause[] {
    const out: GcPause[] = [];
    for (let j = Math.max(0, this.seen - GC_RECENT); j < this.seen; j++) {
      const k = j % GC_RECENT;
      if (this.at[k] + this.ms[k] > since) out.push({ at: this.at[k], ms: this.ms[k], kind: KIND_NAMES[this.kind[k]] });
    }
    return out;
  }

  stop(): void {
    this.observer.disconnect();
    this.heap?.stop();
  }
}

/** GCs after which the profiler's records are folded into the count (a fold of 64 takes ~1 ms: its JSON is parsed). */
const FOLD_EVERY = 64;

/**
 * Bytes allocated on the V8 heap (objects, strings, arrays; not the memory behind ArrayBuffers and
 * Buffers, which lives outside it), counted exactly: the heap's used size only grows between
 * collections, by what is allocated, so the allocation is the sum, over the collections, of the
 * used size before each minus the used size after the previous one, plus the growth since the
 * last. V8's GCProfiler records the used size before and after each collection; its records are
 * folded into the running count every FOLD_EVERY collections and at each read.
 */
export class HeapAllocation {
  private readonly profiler = new GCProfiler();
  /** allocated up to the end of the last folded collection */
  private folded = 0;
  /** the used heap after the last folded collection (at the start: when counting began) */
  private usedAfter = getHeapStatistics().used_heap_size;
  private unfolded = 0;
  private running = true;

  constructor() {
    this.profiler.start();
  }

  /** `n` more collections happened (the gc observer's count): fold now and then, so the profiler's records stay few. */
  collected(n: number): void {
    this.unfolded += n;
    if (this.unfolded >= FOLD_EVERY) this.fold();
  }

  /** Bytes allocated on the V8 heap since counting began. */
  bytes(): number {
    this.fold();
    return this.folded + getHeapStatistics().used_heap_size - this.usedAfter;
  }

  private fold(): void {
    if (!this.running) return;
    const { statistics } = this.profiler.stop();
    this.profiler.start();
    this.unfolded = 0;
    for (const s of statistics) {
      this.folded += s.beforeGC.heapStatistics.usedHeapSize - this.usedAfter;
      this.usedAfter = s.afterGC.heapStatistics.usedHeapSize;
    }
  }

  stop(): void {
    this.fold();
    this.running = false;
    this.profiler.stop();
  }
}
