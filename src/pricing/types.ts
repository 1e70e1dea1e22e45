/**
 * Batch pricing input and output as structure-of-arrays (one Float64Array per
 * field), the layout the WASM kernels read and write without copying per field.
 *
 * Units: forward and strike in USD per coin; vol annualised (0.55 = 55%);
 * t in years (ACT/365); rate continuously compounded per year.
 */
export const enum OptionFlag {
  /** bit 0: 0 = call, 1 = put */
  Put = 1,
  /** bit 1: 0 = linear (value in USD), 1 = inverse (coin-settled, value in coin = USD value / F) */
  Inverse = 2,
}

export type OptionType = 'call' | 'put';
export type Settlement = 'linear' | 'inverse';

export interface OptionBatch {
  /** number of options in the batch; arrays may be longer (capacity) */
  length: number;
  forward: Float64Array;
  strike: Float64Array;
  vol: Float64Array;
  t: Float64Array;
  rate: Float64Array;
  /** OptionFlag bits per option */
  flags: Uint8Array;
}

/**
 * Price and Greeks per option. Raw derivatives, not display units:
 * - linear: price in USD; delta = ∂V/∂F; gamma = ∂²V/∂F²; vega = ∂V/∂σ per 1.00 of vol;
 *   theta = ∂V/∂(calendar time) per year with the forward held fixed (= −∂V/∂t);
 *   rho = ∂V/∂r with the forward fixed (= −t·V); vanna = ∂²V/∂F∂σ; volga = ∂²V/∂σ².
 * - inverse: the same derivatives of the coin value V/F (so delta is in coin per USD
 *   of forward move; `deribitDisplayGreeks` converts to what Deribit's screen shows).
 */
export interface GreeksBatch {
  price: Float64Array;
  delta: Float64Array;
  gamma: Float64Array;
  vega: Float64Array;
  theta: Float64Array;
  rho: Float64Array;
  vanna: Float64Array;
  volga: Float64Array;
}

export const GREEK_FIELDS = ['price', 'delta', 'gamma', 'vega', 'theta', 'rho', 'vanna', 'volga'] as const;
export type GreekField = (typeof GREEK_FIELDS)[number];

export interface Greeks {
  price: number;
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
  rho: number;
  vanna: number;
  volga: number;
}

export interface OptionInput {
  type: OptionType;
  forward: number;
  strike: number;
  vol: number;
  t: number;
  rate?: number;
  settlement?: Settlement;
}

export function allocOptionBatch(capacity: number): OptionBatch {
  return {
    length: 0,
    forward: new Float64Array(capacity),
    strike: new Float64Array(capacity),
    vol: new Float64Array(capacity),
    t: new Float64Array(capacity),
    rate: new Float64Array(capacity),
    flags: new Uint8Array(capacity),
  };
}

export function allocGreeksBatch(capacity: number): GreeksBatch {
  return {
    price: new Float64Array(capacity),
    delta: new Float64Array(capacity),
    gamma: new Float64Array(capacity),
    vega: new Float64Array(capacity),
    theta: new Float64Array(capacity),
    rho: new Float64Array(capacity),
    vanna: new Float64Array(capacity),
    volga: new Float64Array(capacity),
  };
}
