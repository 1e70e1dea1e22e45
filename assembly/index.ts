// Entry point of the optmargin WASM module. Built twice from this one source
// (asconfig.json): release-simd (f64x2 loops) and release-scalar (SIMD
// disabled: the `if (ASC_FEATURE_SIMD)` branches are removed at compile time).
// Memory is managed by the host (src/wasm/module.ts): it lays out its buffers
// from heapBase() upward and grows memory itself; the kernels never allocate.

export { black76Greeks, black76Price } from './black76';
export { aggregateAccounts, aggregateWorst, addPosition, worstLoss } from './aggregate';
export { aggregateTails } from './tail';
export { partSums, accountEquities } from './equity';

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 for the SIMD build, 0 for the scalar build. */
export function simdBuild(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

// Elementary functions exported for the accuracy tests (test/elementary.test.ts),
// which compare them with a 60-digit reference. Not part of the public API.
import { expTailS, logS, expNegHalfSqS, normTailS } from './math';
export function elemExp(x: f64): f64 {
  return expTailS(x, 0.0);
}
export function elemLog(x: f64): f64 {
  return logS(x);
}
/** N(−x) for x ≥ 0 */
export function elemNormTail(x: f64): f64 {
  return normTailS(x, expNegHalfSqS(x));
}
