/**
 * PMRMLib.getScenarioMtM: the change of a portfolio's mark-to-market in one scenario (spot shock
 * × vol direction). Per expiry: the shocked MtM (forward = variable × shock + fixed, vol × the
 * expiry's vol shock), discounted when positive, minus the expiry's MtM; then the base asset and
 * the perpetual move with the spot.
 */
import type { InstrumentTable } from '../../instruments/table.js';
import type { LyraPmrmModel } from '../types.js';
import { shockedExpiryMtm, type ExpiryPrecomputes } from './precompute.js';
import type { ExpiryHolding, LyraPortfolio } from './types.js';

/** Adds one expiry's contribution to every scenario: out[s] += discounted shocked MtM − MtM. */
export function addExpiryScenarioMtm(tb: InstrumentTable, h: ExpiryHolding, pre: ExpiryPrecomputes, model: LyraPmrmModel, out: Float64Array): void {
  for (let s = 0; s < model.scenarios.length; s++) {
    const sc = model.scenarios[s];
    const vm = sc.vol === 'up' ? pre.volUp : sc.vol === 'down' ? pre.volDown : 1;
    const shocked = sc.spotShock === 1 && vm === 1 ? pre.mtm : shockedExpiryMtm(tb, h, sc.spotShock, vm);
    out[s] += (shocked > 0 ? shocked * pre.discount : shocked) - pre.mtm;
  }
}

/** Scenario s's MtM change: the options' part plus the base asset (in stable units) and the perpetual. */
export function scenarioMtm(b: LyraPortfolio, optionsPart: number, spotShock: number, spot: number, perpPrice: number, stable: number): number {
  const base = (b.base * spot * (spotShock - 1)) / stable;
  const perp = b.perp * (spotShock - 1) * perpPrice;
  return optionsPart + base + perp;
}
