/**
 * The server's garbage-collection pauses, by kind, since it started (`GET /healthz` → `gc`): a
 * latency tail is often a collector's pause, and this is where an operator (or the bench) reads
 * how many there were and how long the longest took. From Node's `gc` performance entries.
 */
import { PerformanceObserver, constants, performance, type PerformanceEntry } from 'node:perf_hooks';

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
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.add(e);
  });

  constructor() {
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
  }
}
