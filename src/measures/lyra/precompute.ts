/**
 * PMRMLib's precomputes of one expiry: its mark-to-market, the basis contingency term (spot
 * shocks up/down, vol unchanged), the vol shocks of its tenor, the static discount of a positive
 * shocked MtM, and the naked shorts and option count of the static and confidence contingencies.
 *   volShockUp = 1 + volRangeUp × τ^p, volShockDown = max(0, 1 − volRangeDown × τ^p),
 *     τ = 30 days / max(secToExpiry, dteFloor), p = shortTermPower if ≤ 30 days else longTermPower
 *   staticDiscount = baseStaticDiscount × exp(−T × (max(rate,0)·rateMultScale + rateAddScale))
 *   basis term = min(MtM(up) − MtM, MtM(down) − MtM, 0) × (addFactor + multFactor × T)
 */
import type { InstrumentTable } from '../../instruments/table.js';
import { black76Reference } from '../../pricing/reference.js';
import type { LyraPmrmModel } from '../types.js';
import { lyraNakedShorts } from './naked.js';
import type { ExpiryHolding } from './types.js';

const MONTH = 30 * 86_400;

export interface ExpiryPrecomputes {
  mtm: number;
  basis: number;
  volUp: number;
  volDown: number;
  discount: number;
  /** naked short contracts (calls and puts of a strike netted) and Σ |amount| */
  naked: number;
  netOptions: number;
}

/** MtM of the expiry's options with the forward shocked by `spotShock` and vols × `volMult` (undiscounted Black-76). */
export function shockedExpiryMtm(tb: InstrumentTable, h: ExpiryHolding, spotShock: number, volMult: number): number {
  const f = h.variable * spotShock + h.fixed;
  let sum = 0;
  for (const o of h.options) sum += o.amount * black76Reference(tb.isPut[o.i] === 1, f, tb.strike[o.i], o.vol * volMult, h.t, 0, false).price;
  return sum;
}

/** Naked shorts per strike (PMRMLib._getOptionContingency) and the option count. */
function nakedShorts(tb: InstrumentTable, h: ExpiryHolding): { naked: number; netOptions: number } {
  const byStrike = new Map<number, number[]>();
  let netOptions = 0;
  for (const o of h.options) {
    netOptions += Math.abs(o.amount);
    const k = tb.strike[o.i];
    const amounts = byStrike.get(k) ?? [];
    amounts.push(o.amount);
    byStrike.set(k, amounts);
  }
  let naked = 0;
  for (const amounts of byStrike.values()) naked += lyraNakedShorts(amounts);
  return { naked, netOptions };
}

export function expiryPrecomputes(tb: InstrumentTable, h: ExpiryHolding, model: LyraPmrmModel): ExpiryPrecomputes {
  const vs = model.volShock;
  const mtm = shockedExpiryMtm(tb, h, 1, 1);
  const up = shockedExpiryMtm(tb, h, model.basis.scenarioSpotUp, 1) - mtm;
  const down = shockedExpiryMtm(tb, h, model.basis.scenarioSpotDown, 1) - mtm;
  const basis = Math.min(up, down, 0) * (model.basis.addFactor + model.basis.multFactor * h.t);
  const tau = MONTH / Math.max(h.sec, vs.dteFloor);
  const mult = Math.pow(tau, h.sec <= MONTH ? vs.shortTermPower : vs.longTermPower);
  const volUp = 1 + vs.volRangeUp * mult;
  const volDown = Math.max(0, 1 - vs.volRangeDown * mult);
  const discount = model.margin.baseStaticDiscount * Math.exp(-h.t * (h.rate * model.margin.rateMultScale + model.margin.rateAddScale));
  return { mtm, basis, volUp, volDown, discount, ...nakedShorts(tb, h) };
}
