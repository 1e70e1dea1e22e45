/** Prices an array of validated options through the WASM pricer: the convenience call (not the hot path). */
import { getPricer, type Pricer } from '../wasm/pricer.js';
import type { WasmOptions } from '../wasm/module.js';
import { allocGreeksBatch, GREEK_FIELDS, type Greeks, type OptionInput } from './types.js';
import { toOptionBatch } from './validate.js';

/**
 * Prices an array of options (validated; errors name `[i].field`) with all
 * Greeks. Convenience over Pricer.priceInto for non-hot callers.
 */
export function priceOptions(inputs: readonly OptionInput[] | unknown, options: WasmOptions & { pricer?: Pricer } = {}): Greeks[] {
  const batch = toOptionBatch(inputs);
  const pricer = options.pricer ?? getPricer(options);
  const out = allocGreeksBatch(batch.length);
  pricer.priceInto(batch, out);
  const result: Greeks[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const g = {} as Greeks;
    for (const f of GREEK_FIELDS) g[f] = out[f][i];
    result[i] = g;
  }
  return result;
}

