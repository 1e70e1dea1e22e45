/**
 * The browser / Web Worker entry of optmargin: the core without the Node adapters (no files,
 * no worker pool, no CLI, no server). Load the kernels first, from bytes or URLs:
 *
 *   import { initKernels, market, margin } from 'optmargin/browser';
 *   await initKernels({ simd: new URL('optmargin.simd.wasm', base), scalar: new URL('optmargin.scalar.wasm', base) });
 *   const m = market.resolveMarket(market.defaultMarket());
 *   const r = new margin.MarginEngine({ market: m, model: 'deribit-pm' }).margin(account);
 *
 * Presets and the default market are bundled data. test/browser.test.ts bundles this entry with
 * esbuild for the browser platform and runs a margin call in headless Chromium.
 */
export * from './errors.js';
export * from './pricing/index.js';
export { impliedVol, impliedVolInto, IvStatus, type ImpliedVolInput, type ImpliedVolBatch, type IvStatusCode } from './pricing/iv.js';
export * as market from './market/index.js';
export * as margin from './api/margin.js';
export { initKernels, simdSupported, WasmInstance, type KernelSource, type WasmOptions, type WasmVariant } from './wasm/module.js';
