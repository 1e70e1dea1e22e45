/**
 * piscina worker of the book engine (built to dist/src/runner/book/worker.js). One WASM instance per
 * worker thread, instantiated from the compiled WebAssembly.Module the main thread shares
 * through workerData (no recompilation of the bytes per thread); the book's CSR is resident in
 * its memory from the first task of a load on (kernel.ts). Each chunk returns a receipt (count
 * and checksum of what it wrote, receipt.ts) that the main thread verifies.
 */
import { workerData } from 'piscina';
import { WasmInstance, type CompiledKernels, type WasmVariant } from '../../wasm/module.js';
import { Aggregator } from '../../wasm/aggregate.js';
import { runTask, type BookTask } from './tasks.js';
import { receiptOf, type ChunkReceipt } from './receipt.js';
import { activeFault, injectFault } from './faults.js';
import { formatChunk, type FormatReceipt, type FormatTask } from './format-task.js';
import { runJob, type JobTask } from './pool.js';
import { transferring } from '../../platform/workers.js';

if (activeFault?.kind === 'start') throw new Error('injected fault (OPTMARGIN_FAULT=start): the worker failed to start');

const data = workerData as { module: CompiledKernels; variant: WasmVariant };
const aggregator = new Aggregator(new WasmInstance({ module: data.module, simd: data.variant === 'simd' }));

export default function bookChunk(task: BookTask | FormatTask | JobTask | { kind: 'ping' }): ChunkReceipt | FormatReceipt | Promise<unknown> | 'pong' {
  if (task.kind === 'ping') return 'pong';
  if (task.kind === 'job') return runJob(task);
  if (task.kind === 'format') {
    const r = formatChunk(task, true);
    return transferring(r, [r.holes.buffer, ...r.parts.map((p) => p.buffer)]); // the bytes are not copied back
  }
  const fake = injectFault(task, true);
  if (fake) return fake;
  return receiptOf(task, runTask(aggregator, task));
}
