/**
 * Test hook: injects a fault into book chunks so every failure path can be exercised from the
 * outside (test/faults.test.ts, and by hand). Off unless OPTMARGIN_FAULT is set:
 *
 *   OPTMARGIN_FAULT=<kind>[,chunk=<n>][,attempts=<m>|all]
 *
 *   exit    the worker process exits (a crashed worker)           worker threads only
 *   throw   the chunk throws                                      workers and in-process
 *   hang    the chunk never returns (a hung worker: task timeout) worker threads only
 *   silent  the chunk returns a receipt without doing its work    workers and in-process
 *   start   the worker fails while starting (module load)         worker threads only
 *   corrupt ingestion only (OPTMARGIN_INGEST_FAULT, io/ingest-receipt.ts): a value of the
 *           chunk's columns changes after its receipt is made         workers and in-process
 *
 * `chunk` (default 0) picks the chunk, `attempts` (default 1) how many attempts of it fault:
 * 1 = the first try only (the retry succeeds), `all` = every try (the chunk fails, its accounts
 * get OPTMARGIN_WORKER_FAILED and the CLI exits 3).
 */
import type { ChunkReceipt } from './receipt.js';

export type FaultKind = 'exit' | 'throw' | 'hang' | 'silent' | 'start' | 'corrupt';

export interface Fault {
  kind: FaultKind;
  chunk: number;
  attempts: number;
}

export function parseFault(spec: string | undefined): Fault | null {
  if (!spec) return null;
  const [kind, ...opts] = spec.split(',');
  if (!['exit', 'throw', 'hang', 'silent', 'start', 'corrupt'].includes(kind)) return null;
  const f: Fault = { kind: kind as FaultKind, chunk: 0, attempts: 1 };
  for (const o of opts) {
    const [k, v] = o.split('=');
    if (k === 'chunk') f.chunk = Number(v);
    if (k === 'attempts') f.attempts = v === 'all' ? Infinity : Number(v);
  }
  return f;
}

export const activeFault: Fault | null = parseFault(process.env.OPTMARGIN_FAULT);

/**
 * Applies the fault to a task about to run, if it is the one: returns a fake receipt for
 * `silent`, throws for `throw`, never returns for `hang`, exits the thread for `exit`.
 */
export function injectFault(task: { chunk: number; attempt: number }, inWorker: boolean): ChunkReceipt | null {
  const f = activeFault;
  if (!f || task.chunk !== f.chunk || task.attempt >= f.attempts) return null;
  switch (f.kind) {
    case 'throw':
      throw new Error(`injected fault (OPTMARGIN_FAULT=throw) in chunk ${task.chunk}`);
    case 'silent':
      return { count: 0, checksum: 0 };
    case 'exit':
      if (inWorker) process.exit(70);
      return null;
    case 'hang':
      // blocks the thread for good; worker.terminate() (the task timeout) interrupts it
      if (inWorker) for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return null;
    default:
      return null;
  }
}
