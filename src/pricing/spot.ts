/**
 * Black–Scholes–Merton on a spot price with a continuous carry, as a thin
 * variant over the Black-76 kernel: F = S·e^{(r−q)·t}, df = e^{−r·t}, and the
 * spot Greeks follow from the forward ones by the chain rule:
 *   ∂V/∂S = ∂V/∂F · F/S,  ∂²V/∂S² = ∂²V/∂F² · (F/S)²,
 *   theta (S fixed) = theta (F fixed) − ∂V/∂F · (r−q)·F,
 *   rho (S, q fixed) = rho (F fixed) + ∂V/∂F · t·F,   dividend rho = −∂V/∂F · t·F.
 * q is a dividend yield, a foreign rate (FX) or a convenience yield; q = r gives
 * Black-76 on a future. Units as in types.ts (vega per 1.00, theta per year).
 */
import { check } from '../errors.js';
import { priceOptions } from './batch.js';
import type { Greeks, OptionType } from './types.js';

export interface SpotOptionInput {
  type: OptionType;
  spot: number;
  strike: number;
  vol: number;
  /** years */
  t: number;
  /** continuously compounded risk-free rate per year */
  rate: number;
  /** continuous yield of the underlying per year (dividend, foreign rate, convenience); default 0 */
  carryYield?: number;
}

/** Greeks on spot: delta, gamma and vanna with respect to S; theta and rho with the spot (not the forward) held fixed. */
export interface SpotGreeks extends Greeks {
  /** ∂V/∂q per 1.00 of carry yield, with spot and rate held fixed */
  dividendRho: number;
  /** delta·S/V: percentage change of value per percentage change of spot */
  elasticity: number;
}

export function blackScholesSpot(inputs: readonly SpotOptionInput[]): SpotGreeks[] {
  const forwards = inputs.map((o, i) => {
    const S = check.positive(`[${i}].spot`, o.spot);
    const r = check.finite(`[${i}].rate`, o.rate);
    const q = o.carryYield === undefined ? 0 : check.finite(`[${i}].carryYield`, o.carryYield);
    const t = check.nonNegative(`[${i}].t`, o.t);
    return { type: o.type, forward: S * Math.exp((r - q) * t), strike: o.strike, vol: o.vol, t, rate: r };
  });
  const g = priceOptions(forwards);
  return inputs.map((o, i) => {
    const F = forwards[i].forward;
    const b = o.rate - (o.carryYield ?? 0);
    const fs = F / o.spot;
    const delta = g[i].delta * fs;
    return {
      price: g[i].price,
      delta,
      gamma: g[i].gamma * fs * fs,
      vega: g[i].vega,
      theta: g[i].theta - g[i].delta * b * F,
      rho: g[i].rho + g[i].delta * o.t * F,
      dividendRho: -g[i].delta * o.t * F,
      vanna: g[i].vanna * fs,
      volga: g[i].volga,
      elasticity: g[i].price > 0 ? (delta * o.spot) / g[i].price : 0,
    };
  });
}
