/**
 * The plan jobs (kind 'job': a round's chunk of plans, liquidation/plan-round.ts) the book pools
 * are given while `body` runs: whether a simulation did share its rounds with the workers.
 */
import { vi } from 'vitest';
import { ChunkRunner } from '../../src/runner/book/pool.js';

export async function countPlanJobs(body: () => Promise<void>): Promise<number> {
  const run0 = ChunkRunner.prototype.run;
  let jobs = 0;
  const spy = vi.spyOn(ChunkRunner.prototype, 'run').mockImplementation(function (this: ChunkRunner, ...args: Parameters<ChunkRunner['run']>) {
    if (args[0][0]?.kind === 'job') jobs++;
    return run0.apply(this, args);
  });
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return jobs;
}
