import { existsSync } from 'node:fs';
import type { TaskMeta } from 'vitest';
import { fileURLToPath } from 'node:url';

/** ../shared/data beside the repository (CI always has it; tests that need it skip when absent). */
export const SHARED_DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));
export const HAVE_SHARED = existsSync(SHARED_DATA);
export function sharedSkipNote(what: string): string {
  return HAVE_SHARED ? what : `${what} [SKIPPED: ../shared/data not found]`;
}

/** Park–Miller minimal standard generator: deterministic, seedable, no dependency. */
export function rng(seed: number): () => number {
  let s = seed % 2147483647;
  if (s <= 0) s += 2147483646;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

export function relErr(a: number, b: number, floor = 0): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), floor);
}

/** Reference rows a test left out of its comparison, and why (printed by test/support/skip-reporter.ts). */
export interface SkippedRows {
  count: number;
  of: number;
  reason: string;
}
declare module 'vitest' {
  interface TaskMeta {
    skippedRows?: SkippedRows[];
  }
}
/** Records on the running test that `count` of `of` reference rows were not compared, with the reason. */
export function recordSkippedRows(task: { meta: TaskMeta }, count: number, of: number, reason: string): void {
  if (count === 0) return;
  (task.meta.skippedRows ??= []).push({ count, of, reason });
}

/** The p-quantile of an ascending array (the element at ⌊p·n⌋, clamped), NaN when empty. */
export function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * The task timeout a fault test's CLI run gets (OPTMARGIN_TASK_TIMEOUT_MS): short only where an
 * injected fault hangs a task (`hang`, in any of the OPTMARGIN_*FAULT variables), so that the hang is
 * what times out; otherwise the CLI's own default (60 s), so that a chunk slowed by a loaded
 * machine is never taken for a fault (with 1.5 s for every run, a second chunk timed out under
 * load and a test expecting one stderr line saw two).
 */
export const HANG_TIMEOUT_MS = 3000;
export function faultRunEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const hangs = Object.values(env).some((v) => v.split(',')[0] === 'hang');
  return { ...process.env, OPTMARGIN_TASK_TIMEOUT_MS: String(hangs ? HANG_TIMEOUT_MS : 60_000), ...env };
}
