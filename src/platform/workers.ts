import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';

/**
 * Worker-thread pools (piscina) of the Node side: the `execArgv` of every pool, and answers
 * whose buffers are transferred (`transferring`).
 *
 * piscina loads a worker's task file with `require()` first and falls back to `import()`. On
 * Node ≥ 20.19 that `require()` of our ES module goes through require(esm), and a worker
 * terminated while it is inside that path — a pool destroyed at the end of a short run while a
 * worker is still loading, a hung chunk's worker replaced — can abort the whole process on a
 * native assertion (`ModuleWrap::CreateRequiredModuleFacade`, module_wrap.cc, seen under load in
 * test/docs-examples.test.ts and test/faults.test.ts: exit 134, no output). With require(esm)
 * off in the workers, that `require()` fails at once (ERR_REQUIRE_ESM) and piscina loads the
 * module with `import()`, which never enters that code.
 */
export function workerExecArgv(): string[] {
  return (execArgv ??= [...acceptedByWorkers(process.execArgv), '--no-experimental-require-module']);
}
let execArgv: string[] | null = null;

/**
 * The options of `args` a worker thread accepts. V8 options (`--max-old-space-size`,
 * `--stack-size`, …) are process-wide — the workers have them already — and a Worker given one
 * refuses to start (ERR_WORKER_INVALID_EXEC_ARGV): `node --max-old-space-size=8192 … book
 * --threads 2` would fail. Found once, by a worker that starts and stops at once, only when the
 * process was given options at all.
 */
function acceptedByWorkers(args: readonly string[]): string[] {
  if (args.length === 0) return [];
  try {
    const probe = new Worker('', { eval: true, execArgv: [...args] });
    probe.on('error', () => undefined); // its start is not this probe's question: only the constructor's refusal is
    void probe.terminate();
    return [...args];
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    const listed = String((e as Error).message);
    const bad = new Set(listed.slice(listed.indexOf(': ') + 2).split(', '));
    return args.filter((a) => !bad.has(a));
  }
}

/**
 * A worker task's answer whose `buffers` are transferred to the main thread rather than
 * structured-cloned (piscina's movable protocol): no copy made to send them, none to receive
 * them. The worker must not touch them afterwards; each buffer may be named once.
 */
export function transferring<T>(value: T, buffers: readonly ArrayBufferLike[]): T {
  const unique = [...new Set(buffers)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  return Piscina.move({ [Piscina.transferableSymbol]: unique, [Piscina.valueSymbol]: value } as never) as T;
}
