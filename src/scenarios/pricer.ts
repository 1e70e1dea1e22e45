/**
 * The one place the margin engine prices options: a price-only batch revaluation
 * (structure-of-arrays in, prices out). By default the WASM kernel (src/pricing/engine.ts,
 * SIMD when available); the plain-TS Black-76 reference is the fallback when the WASM
 * module cannot be loaded, and the oracle the tests compare the fast path against.
 * Switching is `setMarginPricer(...)`.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { getPricer } from '../wasm/pricer.js';
import { black76ReferencePriceOnlyInto } from '../pricing/reference.js';
import type { OptionBatch } from '../pricing/types.js';

export type PriceOnlyFn = (batch: OptionBatch, out: Float64Array) => void;

/** Plain-TS reference: out[i] = Black-76 value of option i (coin value V/F for inverse flags). */
export const referencePriceOnlyInto: PriceOnlyFn = black76ReferencePriceOnlyInto;

let current: PriceOnlyFn | null = null;
let currentName = 'reference';

/** The pricer in use; resolves the WASM kernel lazily on first use. */
export function marginPricer(): PriceOnlyFn {
  if (current) return current;
  try {
    const p = getPricer();
    current = (batch, out) => p.priceOnlyInto(batch, out);
    currentName = `wasm-${p.variant}`;
  } catch (e) {
    // only a missing or unsupported module falls back (on purpose, said once); anything else is a bug
    if (!(e instanceof OptmarginError) || e.code !== ErrorCodes.WASM_UNAVAILABLE) throw e;
    current = referencePriceOnlyInto;
    currentName = 'reference';
    console.warn(`optmargin: ${e.message}; margin revaluation uses the TypeScript reference pricer (same values, slower). marginPricerName() reports it.`);
  }
  return current;
}

/** Name of the pricer in use ('wasm-simd', 'wasm-scalar' or 'reference'). */
export function marginPricerName(): string {
  marginPricer();
  return currentName;
}

/** Replaces the pricer (tests pass referencePriceOnlyInto to compare paths; null = default again). */
export function setMarginPricer(fn: PriceOnlyFn | null, name = 'custom'): void {
  current = fn;
  currentName = fn ? name : 'reference';
}
