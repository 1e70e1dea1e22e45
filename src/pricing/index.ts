/** Public pricing API: batch kernels, the reference, validation and display conversions. */
import { priceOptions } from './batch.js';
import type { OptionInput } from './types.js';

export { Pricer, getPricer } from '../wasm/pricer.js';
export type { PricerOptions } from '../wasm/pricer.js';
export * from './types.js';
export { black76Reference, black76ReferenceInto, normCdf, normPdf } from './reference.js';
export { toOptionBatch, checkOptionInput, LIMITS } from './validate.js';

export { priceOptions } from './batch.js';

/**
 * Deribit's on-screen Greeks for an option (checked against a real
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
