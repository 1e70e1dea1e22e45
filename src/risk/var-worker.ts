/**
 * piscina worker of the book VaR runner (built to dist/src/risk/var-worker.js): one WASM instance
 * per thread from the shared compiled module; the scenario values stay resident across chunks of
 * one run (keyed), each chunk's CSR slice is copied in, its tails written to shared output arrays.
 */
import { workerData } from 'piscina';
import { WasmInstance, type CompiledKernels, type WasmVariant } from '../wasm/module.js';
import { TailKernel } from '../wasm/tails.js';
import { runTailTask, type TailTask } from './book-var.js';

const data = workerData as { module: CompiledKernels; variant: WasmVariant };
const kernel = new TailKernel(new WasmInstance({ module: data.module, simd: data.variant === 'simd' }));

export default function tailChunk(task: TailTask): number {
  return runTailTask(kernel, task);
}
