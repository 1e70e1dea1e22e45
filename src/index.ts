/**
 * optmargin: margin engine for crypto options, futures and perpetuals.
 *
 * Layers (docs/architecture.md), each usable on its own:
 * - pricing: Black-76 kernels in WASM (SIMD + scalar), the TS reference, implied vol;
 * - market: Deribit instruments, forwards, smiles, snapshots and shocked copies;
 * - margin: standard and scenario-grid models with venue presets, what-if, liquidation price;
 * - book: whole books across worker threads, incremental ticks and trades, synthetic books;
 * - the WASM boundary and the error table.
 */
export * from './errors.js';
export * from './pricing/index.js';
export { impliedVol, impliedVolInto, IvStatus, type ImpliedVolInput, type ImpliedVolBatch, type IvStatusCode } from './pricing/iv.js';
export * as market from './market/index.js';
export * as margin from './api/margin.js';
export * as book from './api/book.js';
export * as liquidation from './liquidation/index.js';
export * as risk from './api/risk.js';
export { WasmInstance, simdSupported, initKernels, type KernelSource, type WasmOptions, type WasmVariant, type KernelMemory, type CompiledKernels } from './wasm/module.js';
