/** Shared helpers of the benchmark sections (no side effects: run.ts is the entry point). */
import { Bench } from 'tinybench';

let defaultTime = 1500;
/** Time budget per task in ms (run.ts sets it from --quick). */
export function setDefaultTime(ms: number): void {
  defaultTime = ms;
}

export interface Section {
  title: string;
  lines: string[];
}

/** The median of xs (the upper one of an even count), xs left as it was: every section's. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return (x / 1e3).toFixed(1) + 'k';
  return x.toPrecision(digits);
}

export async function runBench(tasks: [string, () => void][], time = defaultTime): Promise<Map<string, { meanMs: number; p99Ms: number; rme: number }>> {
  const bench = new Bench({ time, warmup: true, warmupTime: Math.min(300, time / 2) });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  const out = new Map<string, { meanMs: number; p99Ms: number; rme: number }>();
  for (const t of bench.tasks) {
    const r = t.result as unknown as { latency: { mean: number; p99: number; rme: number } };
    out.set(t.name, { meanMs: r.latency.mean, p99Ms: r.latency.p99, rme: r.latency.rme });
  }
  return out;
}

