/**
 * The server's garbage-collection pauses, by kind, since it started (`GET /healthz` → `gc`): a
 * latency tail is often a collector's pause, and this is where an operator (or the bench) reads
 * how many there were and how long the longest took. From Node's `gc` performance entries.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

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

export class GcStats {
  /** minor: young-generation scavenges; major: full mark-compacts; incremental: marking steps; weak: weak callbacks */
  readonly pauses: Record<'minor' | 'major' | 'incremental' | 'weak', GcPauses> = { minor: pauses(), major: pauses(), incremental: pauses(), weak: pauses() };
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.add(e);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private add(e: PerformanceEntry): void {
    const kind = KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1];
    if (!kind) return;
    const p = this.pauses[kind];
    p.count++;
    p.ms += e.duration;
    if (e.duration > p.maxMs) p.maxMs = e.duration;
    for (let i = 0; i < GC_OVER_MS.length; i++) if (e.duration > GC_OVER_MS[i]) p.over[i]++;
  }

  stop(): void {
    this.observer.disconnect();
  }
}
