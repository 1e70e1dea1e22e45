/**
 * The plan jobs (kind 'job': a round's chunk of plans, liquidation/plan-round.ts) the book pools
 * are given while `body` runs: whether a simulation did share its rounds with the workers, and —
 * with `job` — what each such job answers instead of running (a fault injected); other tasks run.
 */
import { vi } from 'vitest';
import { ChunkRunner, type ChunkOutcome, type PoolTask } from '../../src/runner/book/pool.js';

type Run = ChunkRunner['run'];

export async function countPlanJobs(body: () => Promise<void>, job?: (task: PoolTask) => Promise<ChunkOutcome>): Promise<number> {
  const run0 = ChunkRunner.prototype.run;
  let jobs = 0;
  const spy = vi.spyOn(ChunkRunner.prototype, 'run').mockImplementation(function (this: ChunkRunner, ...args: Parameters<Run>) {
    const t = args[0][0];
    if (t?.kind !== 'job') return run0.apply(this, args);
    jobs++;
    return job ? job(t) : run0.apply(this, args);
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return jobs;
}
