/**
 * piscina worker of the book engine (built to dist/src/engine/worker.js). One WASM instance per
 * worker thread, instantiated from the compiled WebAssembly.Module the main thread shares
 * through workerData (no recompilation of the bytes per thread).
 */
import { workerData } from 'piscina';
import { WasmInstance, type WasmVariant } from '../wasm/module.js';
import { Aggregator } from '../wasm/aggregate.js';
import { runChunk, type ChunkTask } from './kernel.js';

const data = workerData as { module: WebAssembly.Module; variant: WasmVariant };
const aggregator = new Aggregator(new WasmInstance({ module: data.module, simd: data.variant === 'simd' }));

export default function bookChunk(task: ChunkTask): number {
  return runChunk(aggregator, task);
}
