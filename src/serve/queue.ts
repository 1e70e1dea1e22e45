/**
 * The server's one compute lane: requests that need the engine wait here in FIFO order and run
 * one at a time (the engines are single-threaded and keep scratch state). The queue is bounded:
 * a request that finds it full is answered 503 with a Retry-After estimated from the recent job
 * times, and a request that waited past the timeout is answered 503 without being computed.
 *
 * Jobs run in slices of at most `sliceMs` between which the event loop reads sockets, so
 * requests keep being accepted (and refused when the queue is full) while the engine is busy.
 *
 * A job submitted while the lane is free and nothing waits runs at once, in the caller's turn of
 * the event loop (a request is then parsed, computed and answered in one go, with no hop through
 * setImmediate); the lane stays taken until the loop's next check phase, so that requests read in
 * the same burst queue behind it and meet the queue's bound. Queued jobs run one after the other,
 * each answer released (its continuation run) before the next job starts: after a stall, the
 * first requests of the backlog are answered as soon as they are computed, not after the whole
 * slice.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';

interface Job {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  deadline: number;
}

export class OverloadedError extends OptmarginError {
  constructor(
    message: string,
    /** seconds after which a retry is likely to be accepted */
    readonly retryAfter: number,
  ) {
    super(ErrorCodes.OVERLOADED, message);
  }
}

export class WorkQueue {
  private jobs: Job[] = [];
  private head = 0;
  private scheduled = false;
  private running = false;
  /** exponentially weighted mean job time, ms */
  private meanMs = 0.1;
  /** jobs run, jobs refused (full), jobs expired (timeout) */
  readonly stats = { run: 0, refused: 0, expired: 0 };

  constructor(
    readonly capacity: number,
    readonly timeoutMs: number,
    private readonly sliceMs = 5,
  ) {}

  get length(): number {
    return this.jobs.length - this.head + (this.running ? 1 : 0);
  }

  /** Seconds until the queue has likely drained (at least 1). */
  retryAfter(): number {
    return Math.max(1, Math.ceil((this.length * this.meanMs) / 1000));
  }

  /** Queues `fn` (or runs it at once when the lane is free); resolves with its result. Throws OverloadedError at once when the queue is full. */
  submit<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.jobs.length - this.head >= this.capacity) {
      this.stats.refused++;
      throw new OverloadedError(`the server is busy: ${this.capacity} requests are waiting, retry later`, this.retryAfter());
    }
    if (!this.running && !this.scheduled && this.head === this.jobs.length) return this.runNow(fn);
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run: fn, resolve: resolve as (v: unknown) => void, reject, deadline: performance.now() + this.timeoutMs });
      this.schedule();
    });
  }

  /** Runs `fn` in the caller's turn; the lane is released once it has settled, at the next check phase. */
  private runNow<T>(fn: () => T | Promise<T>): Promise<T> {
    this.running = true;
    const t0 = performance.now();
    let v: T | Promise<T>;
    try {
      v = fn();
    } catch (e) {
      this.release(t0);
      return Promise.reject(e);
    }
    if (!(v instanceof Promise)) {
      this.release(t0);
      return Promise.resolve(v);
    }
    return v.finally(() => this.release(t0));
  }

  private release(t0: number): void {
    this.ran(t0);
    setImmediate(() => {
      this.running = false;
      if (this.head < this.jobs.length) void this.pump();
    });
  }

  /** A job started at t0 has run: the mean service time (retry-after's estimate) and the count follow; returns the time now. */
  private ran(t0: number): number {
    const t1 = performance.now();
    this.meanMs += 0.1 * (t1 - t0 - this.meanMs);
    this.stats.run++;
    return t1;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    const sliceEnd = performance.now() + this.sliceMs;
    try {
      while (this.head < this.jobs.length) {
        const job = this.jobs[this.head];
        this.jobs[this.head++] = undefined as unknown as Job;
        const t0 = performance.now();
        if (t0 > job.deadline) {
          this.stats.expired++;
          job.reject(new OverloadedError(`the request waited over the ${this.timeoutMs} ms request timeout in the queue; retry later`, this.retryAfter()));
          continue;
        }
        try {
          let v = job.run();
          if (v instanceof Promise) v = await v;
          job.resolve(v);
        } catch (e) {
          job.reject(e);
        }
        const t1 = this.ran(t0);
        // the answer's continuation (queued by resolve or reject) runs before the next job
        await undefined;
        if (t1 > sliceEnd) break;
      }
    } finally {
      if (this.head === this.jobs.length) {
        this.jobs = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.running = false;
      if (this.head < this.jobs.length) this.schedule();
    }
  }
}
