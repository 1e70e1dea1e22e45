/**
 * PMRMLib.getMarginAndMarkToMarket, per underlying portfolio, then the account:
 *   minSPAN = min(basis contingency, min over scenarios of the scenario MtM) − static contingency
 *   static contingency = spot × (perpPercent × |perp| + basePercent × base + optionPercent × naked shorts)
 *   MM requirement = −minSPAN; IM requirement = −(minSPAN × (imFactor + peg loss) − confidence contingency)
 * Lyra's "margin" is equity minus requirement; here equity = MtM + cash and IM/MM are the
 * requirements, so they read like the other models.
 */
import type { InstrumentTable } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import { marginFigures } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import type { AccountInput, LyraPmrmModel } from '../types.js';
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { arrangePortfolio } from './arrange.js';
import { expiryPrecomputes } from './precompute.js';
import { addExpiryScenarioMtm, scenarioMtm } from './scenario-mtm.js';
import type { LyraFeeds, LyraPortfolio } from './types.js';

interface PortfolioMargin {
  mtm: number;
  /** base asset value counted in the collateral value */
  baseValue: number;
  minSpan: number;
  basis: number;
  static: number;
  confidence: number;
  imFactor: number;
  /** index of the worst scenario; the scenario count for the basis contingency */
  worst: number;
  im: number;
  mm: number;
}

function portfolioMargin(tb: InstrumentTable, market: MarginMarket, feeds: LyraFeeds, model: LyraPmrmModel, u: string, b: LyraPortfolio): PortfolioMargin {
  const stable = feeds.stablePrice ?? 1;
  const o = model.other;
  const ns = model.scenarios.length;
  const spot = market.spot(u);
  let minConfidence = feeds.spotConfidence?.(u) ?? 1;
  const perpPrice = b.perp !== 0 ? market.perpetual(u) : 0;
  if (b.perp !== 0) minConfidence = Math.min(minConfidence, feeds.perpConfidence?.(u) ?? 1);
  const baseValue = (b.base * spot) / stable;
  let mtm = baseValue + b.perpValue;
  let staticCont = (Math.abs(b.perp) * o.perpPercent + b.base * o.basePercent) * spot;
  const confCont = (conf: number, amount: number): number => (conf < o.confThreshold ? (1 - conf) * o.confMargin * amount * spot : 0);
  let confidence = confCont(minConfidence, Math.abs(b.perp) + b.base);
  let basis = 0;
  const optionsMtm = new Float64Array(ns);
  for (const h of b.expiries.values()) {
    h.minConfidence = Math.min(minConfidence, h.minConfidence);
    const pre = expiryPrecomputes(tb, h, model);
    mtm += pre.mtm;
    basis += pre.basis;
    addExpiryScenarioMtm(tb, h, pre, model, optionsMtm);
    staticCont += pre.naked * o.optionPercent * spot;
    confidence += confCont(h.minConfidence, pre.netOptions);
  }
  let minSpan = basis;
  let worst = ns;
  for (let s = 0; s < ns; s++) {
    const v = scenarioMtm(b, optionsMtm[s], model.scenarios[s].spotShock, spot, perpPrice, stable);
    if (v < minSpan) {
      minSpan = v;
      worst = s;
    }
  }
  minSpan -= staticCont;
  let imFactor = model.margin.imFactor;
  if (stable < o.pegLossThreshold) imFactor += (o.pegLossThreshold - stable) * o.pegLossFactor;
  const im = -(minSpan * imFactor - confidence);
  return { mtm, baseValue, minSpan, basis, static: staticCont, confidence, imFactor, worst, im, mm: -minSpan };
}

/** The Lyra PMRM measure of one account (portfolio mode). */
export function lyraMargin(tb: InstrumentTable, market: MarginMarket, feeds: LyraFeeds, a: AccountInput, model: LyraPmrmModel): MarginOutcome {
  if (a.mode === 'isolated') {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `mode "isolated" is not supported by ${model.id} (Lyra's PMRM margins whole subaccounts)`, 'mode');
  }
  const arranged = arrangePortfolio(tb, market, feeds, a, model);
  let collateralValue = arranged.cash;
  let totalMtm = 0;
  let imSum = 0;
  let mmSum = 0;
  const components: Record<string, number> = {};
  const many = arranged.portfolios.size > 1;
  for (const [u, b] of arranged.portfolios) {
    const m = portfolioMargin(tb, market, feeds, model, u, b);
    collateralValue += m.baseValue;
    imSum += m.im;
    mmSum += m.mm;
    totalMtm += m.mtm;
    const pre = many ? `${u}.` : '';
    components[`${pre}markToMarket`] = m.mtm;
    components[`${pre}minSpan`] = m.minSpan + m.static;
    components[`${pre}basisContingency`] = m.basis;
    components[`${pre}staticContingency`] = m.static;
    components[`${pre}confidenceContingency`] = m.confidence;
    components[`${pre}imFactor`] = m.imFactor;
    components[`${pre}worstScenario`] = m.worst;
  }
  components.cash = arranged.cash;
  const equity = totalMtm + arranged.cash;
  return { modeApplied: 'portfolio', figures: marginFigures(equity, imSum, mmSum), collateralValue, perCurrency: {}, greeks: arranged.greeks, positions: arranged.positions, components };
}
