/** Public pricing API: batch kernels, the reference, validation and display conversions. */
import { getPricer, Pricer } from '../wasm/pricer.js';
import { allocGreeksBatch, GREEK_FIELDS, type Greeks, type OptionInput } from './types.js';
import { toOptionBatch } from './validate.js';
import type { WasmOptions } from '../wasm/module.js';

export { Pricer, getPricer } from '../wasm/pricer.js';
export type { PricerOptions } from '../wasm/pricer.js';
export * from './types.js';
export { black76Reference, black76ReferenceInto, normCdf, normPdf } from './reference.js';
export { toOptionBatch, checkOptionInput, LIMITS } from './validate.js';

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

/**
 * Deribit's on-screen Greeks for an option (DESIGN.md §2, checked against a real
 * ticker in the tests): delta = N(d1) (the USD delta, not premium-adjusted),
 * gamma per USD, vega in USD per vol point, theta in USD per calendar day,
 * rho = K·t·N(d2)/100 for calls (−K·t·N(−d2)/100 for puts), i.e. per 1% of a
 * rate that moves the spot-based forward. Inputs: an option priced linear (USD).
 */
export function deribitDisplayGreeks(input: OptionInput): { delta: number; gamma: number; vega: number; theta: number; rho: number } {
  const [g] = priceOptions([{ ...input, settlement: 'linear' }]);
  const { forward: F, strike: K, t } = input;
  // rho with the spot held fixed: ∂V/∂r = t·(F·∂V/∂F) − t·V + ... for Black-76 on a
  // spot-derived forward F = S·e^{rt}: ∂V/∂r|S = t·F·delta − t·V = θ·K·t·df·N(θ·d2).
  const rhoSpot = t * F * g.delta - t * g.price;
  return { delta: g.delta, gamma: g.gamma, vega: g.vega / 100, theta: g.theta / 365, rho: rhoSpot / 100 };
}
export { blackScholesSpot, type SpotOptionInput, type SpotGreeks } from './spot.js';
