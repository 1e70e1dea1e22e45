/**
 * The server's compute lane (src/serve/queue.ts): a job submitted to a free lane runs at once; jobs
 * that arrive in the same burst wait in FIFO order within the bound (then 503); queued jobs run one
 * after the other, each answer released before the next job starts; a job past its wait deadline
 * is refused without being run.
 */
import { describe, expect, it } from 'vitest';
import { OverloadedError, WorkQueue } from '../src/serve/queue.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkQueue', () => {
  it('a job submitted to a free lane runs within submit(); the lane is free again after the next check phase', async () => {
    const q = new WorkQueue(4, 10_000);
    let ran = false;
    const p = q.submit(() => ((ran = true), 7));
    expect(ran).toBe(true);
    expect(await p).toBe(7);
    await turn();
    let again = false;
    void q.submit(() => (again = true));
    expect(again).toBe(true);
    expect(q.stats.run).toBe(2);
  });

  it('a burst: the first runs at once, the next wait in order within the bound, the one past it is refused (503)', async () => {
    const q = new WorkQueue(2, 10_000);
    const log: string[] = [];
    const a = q.submit(() => log.push('a'));
    const b = q.submit(() => log.push('b'));
    const c = q.submit(() => log.push('c'));
    expect(log).toEqual(['a']); // b and c wait for the lane
    expect(() => q.submit(() => log.push('d'))).toThrow(OverloadedError);
    expect(q.stats.refused).toBe(1);
    await Promise.all([a, b, c]);
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('queued jobs: each answer is released before the next job runs', async () => {
    const q = new WorkQueue(8, 10_000);
    const log: string[] = [];
    void q.submit(() => log.push('first (at once)'));
    const waits = ['b', 'c', 'd'].map((k) =>
      q
        .submit(() => log.push(`${k} runs`))
        .then(() => void log.push(`${k} answered`)),
    );
    await Promise.all(waits);
    expect(log).toEqual(['first (at once)', 'b runs', 'b answered', 'c runs', 'c answered', 'd runs', 'd answered']);
  });

  it('errors reject the submitter, at once or queued; an async job holds the lane until it settles', async () => {
    const q = new WorkQueue(8, 10_000);
    await expect(q.submit(() => { throw new Error('now'); })).rejects.toThrow('now');
    let release!: () => void;
    const slow = q.submit(() => new Promise<string>((r) => (release = () => r('slow done'))));
    await turn();
    await turn();
    let ran = false;
    const next = q.submit(() => (ran = true));
    expect(ran).toBe(false); // the async job still holds the lane
    const bad = q.submit(() => { throw new Error('queued'); });
    release();
    expect(await slow).toBe('slow done');
    expect(await next).toBe(true);
    await expect(bad).rejects.toThrow('queued');
  });

  it('a queued job that waited past the timeout is refused without being run', async () => {
    const q = new WorkQueue(8, 5);
    let release!: () => void;
    void q.submit(() => new Promise<void>((r) => (release = r)));
    let ran = false;
    const late = q.submit(() => (ran = true));
    await new Promise((r) => setTimeout(r, 20));
    release();
    await expect(late).rejects.toBeInstanceOf(OverloadedError);
    expect(ran).toBe(false);
    expect(q.stats.expired).toBe(1);
  });
});
