/**
 * Lyra/Derive v2 portfolio margin (PMRM), after lyra-finance/v2-core
 * src/risk-managers/PMRMLib.sol and PMRM.sol (_arrangePortfolio), computed in doubles.
 *
 * Per underlying (Lyra runs one PMRM per market): options grouped by expiry, perpetual, base
 * asset (coin collateral) and cash (USDC). For each scenario (spot shock × vol direction):
 *   forward_e = variable_e × spotShock + fixed_e;  vol = vol(K) × volShock_e (sticky strike)
 *   volShockUp_e = 1 + volRangeUp × τ^p, volShockDown_e = max(0, 1 − volRangeDown × τ^p),
 *     τ = 30 days / max(secToExpiry, dteFloor), p = shortTermPower if ≤ 30 days else longTermPower
 *   expiry MtM = Σ amount × Black-76 (undiscounted); a positive shocked expiry MtM is
 *     multiplied by staticDiscount_e = baseStaticDiscount × exp(−T × (max(rate,0)·rateMultScale + rateAddScale))
 *   scenario MtM = Σ_e (discounted shocked MtM_e − MtM_e) + base × spot × (shock − 1)/stable + perp × (shock − 1) × perpPrice
 * minSPAN = min(basis contingency, min over scenarios), where the basis contingency is
 *   Σ_e min(MtM_e(up) − MtM_e, MtM_e(down) − MtM_e, 0) × (addFactor + multFactor × T_e) (spot shocks 1.05/0.95, vol unchanged)
 * static contingency = spot × (perpPercent × |perp| + basePercent × base + optionPercent × naked shorts)
 *   (naked shorts netted per strike across calls and puts of an expiry)
 * MM margin = minSPAN − static + MtM + cash
 * IM margin = (minSPAN − static) × (imFactor + pegLoss) − confidence contingency + MtM + cash
 * Lyra's "margin" is equity minus requirement; here equity = MtM + cash and the requirement
 * is equity − margin, so IM/MM read like the other models (≥ 0 typically).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { black76Reference } from '../../pricing/reference.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import { marginFigures } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import { Kind } from '../../instruments/table.js';
import type { AccountInput, LyraPmrmModel, PositionBreakdown, UnderlyingGreeks } from '../types.js';

/** Feeds of Lyra's oracles that a market snapshot does not carry. Defaults: fixed 0, rate = market.rate, confidences 1, stable 1. */
export interface LyraFeeds {
  /** Fixed (already-settled) portion of the forward of an expiry, USD; variable = forward − fixed. */
  forwardFixedPortion?(underlying: string, expiryMs: number): number;
  /** Interest rate of an expiry (Lyra's rate feed), annualised. */
  rate?(underlying: string, expiryMs: number): number;
  spotConfidence?(underlying: string): number;
  perpConfidence?(underlying: string): number;
  forwardConfidence?(underlying: string, expiryMs: number): number;
  rateConfidence?(underlying: string, expiryMs: number): number;
  volConfidence?(underlying: string, expiryMs: number, strike: number): number;
  /** Price of the cash stablecoin in USD (Lyra's stable feed). */
  stablePrice?: number;
}

const DAY = 86_400;
const MONTH = 30 * DAY;

interface ExpiryHolding {
  expiry: number;
  t: number;
  sec: number;
  fixed: number;
  variable: number;
  rate: number;
  minConfidence: number;
  options: { i: number; amount: number; vol: number }[];
}

function black76(isPut: boolean, f: number, k: number, vol: number, t: number): number {
  return black76Reference(isPut, f, k, vol, t, 0, false).price;
}

export function lyraMargin(tb: InstrumentTable, market: MarginMarket, feeds: LyraFeeds, a: AccountInput, model: LyraPmrmModel): MarginOutcome {
  const stable = feeds.stablePrice ?? 1;
  if (a.mode === 'isolated') {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `mode "isolated" is not supported by ${model.id} (Lyra's PMRM margins whole subaccounts)`, 'mode');
  }
  // ── resolve: per underlying options by expiry, perp, base; cash
  interface Book {
    expiries: Map<number, ExpiryHolding>;
    perp: number;
    perpValue: number;
    base: number;
  }
  const books = new Map<string, Book>();
  const book = (u: string): Book => {
    let b = books.get(u);
    if (!b) {
      tb.underlyingSlot(u);
      b = { expiries: new Map(), perp: 0, perpValue: 0, base: 0 };
      books.set(u, b);
    }
    return b;
  };
  const positions: PositionBreakdown[] = [];
  const greeks: Record<string, UnderlyingGreeks> = {};
  a.positions.forEach((pos, p) => {
    let i: number;
    try {
      i = tb.indexOf(pos.instrument);
    } catch (e) {
      if (e instanceof OptmarginError) throw new OptmarginError(e.code, `positions[${p}].instrument: ${e.message}`, `positions[${p}].instrument`);
      throw e;
    }
    const inst = tb.instruments[i]!;
    const u = inst.underlying;
    const b = book(u);
    const k = tb.kind[i];
    const v = tb.positionValue(i, pos.size, pos.entryPrice);
    positions.push({ index: p, instrument: inst.name, size: pos.size, valueUsd: v.value });
    const g = (greeks[u] ??= { delta: 0, gamma: 0, vega: 0, theta: 0 });
    g.delta += pos.size * tb.delta[i] + v.coinHeld;
    g.gamma += pos.size * tb.gamma[i];
    g.vega += pos.size * tb.vega[i];
    g.theta += pos.size * tb.theta[i];
    if (k === Kind.Option) {
      if (tb.inverse[i]) {
        throw new OptmarginError(ErrorCodes.INVALID_INPUT, `positions[${p}].instrument ${inst.name}: ${model.id} margins cash-settled (linear, e.g. ETH_USDC-...) options only`, `positions[${p}].instrument`);
      }
      const e = tb.expiry[i];
      let h = b.expiries.get(e);
      if (!h) {
        const F = tb.forward[i];
        const fixed = feeds.forwardFixedPortion?.(u, e) ?? 0;
        const t = tb.t[i];
        h = {
          expiry: e,
          t,
          sec: t * 365 * DAY,
          fixed,
          variable: F - fixed,
          rate: Math.max(0, feeds.rate?.(u, e) ?? market.rate),
          minConfidence: Math.min(feeds.forwardConfidence?.(u, e) ?? 1, feeds.rateConfidence?.(u, e) ?? 1),
          options: [],
        };
        b.expiries.set(e, h);
      }
      h.minConfidence = Math.min(h.minConfidence, feeds.volConfidence?.(u, e, tb.strike[i]) ?? 1);
      h.options.push({ i, amount: pos.size * (inst.contractSize ?? 1), vol: tb.vol[i] });
    } else if (k === Kind.Perpetual) {
      if (tb.inverse[i]) {
        throw new OptmarginError(ErrorCodes.INVALID_INPUT, `positions[${p}].instrument ${inst.name}: ${model.id} margins linear perpetuals only`, `positions[${p}].instrument`);
      }
      b.perp += pos.size;
      b.perpValue += v.value;
    } else if (k === Kind.Spot) {
      b.base += pos.size;
    } else {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `positions[${p}].instrument ${inst.name}: ${model.id} has no dated futures (options, perpetuals and spot only)`, `positions[${p}].instrument`);
    }
  });
  // collateral: the cash currency and other USD-pegged coins are cash; coins with a market are base assets
  let cash = 0;
  let collateralValue = 0;
  for (const cur of Object.keys(a.collateral)) {
    const amt = a.collateral[cur];
    if (amt === 0) continue;
    const c = model.collateral;
    const haircut = c.haircuts[cur] ?? c.defaultHaircut;
    if (haircut === null || haircut === undefined) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `collateral.${cur} is not accepted as collateral by model ${model.id}`, `collateral.${cur}`);
    }
    if (cur === model.cashCurrency || c.usdPegged.includes(cur)) {
      const v = amt > 0 ? amt * (1 - haircut) : amt;
      cash += v;
      collateralValue += v;
    } else if (market.hasUnderlying(cur)) {
      if (amt < 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `collateral.${cur} must be >= 0 (base assets cannot be borrowed), got ${amt}`, `collateral.${cur}`);
      book(cur).base += amt * (1 - haircut);
    } else {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `collateral.${cur}: the market has no index price for ${cur}`, `collateral.${cur}`);
    }
  }

  const vs = model.volShock;
  const ns = model.scenarios.length;
  let totalMtm = 0;
  let imSum = 0;
  let mmSum = 0;
  const components: Record<string, number> = {};
  for (const [u, b] of books) {
    const spot = market.spot(u);
    let minConfidence = feeds.spotConfidence?.(u) ?? 1;
    const perpPrice = b.perp !== 0 ? market.perpetual(u) : 0;
    if (b.perp !== 0) minConfidence = Math.min(minConfidence, feeds.perpConfidence?.(u) ?? 1);
    const baseValue = (b.base * spot) / stable;
    let mtm = baseValue + b.perpValue;
    collateralValue += baseValue;
    let staticCont = (Math.abs(b.perp) * model.other.perpPercent + b.base * model.other.basePercent) * spot;
    const confCont = (conf: number, amount: number): number =>
      conf < model.other.confThreshold ? (1 - conf) * model.other.confMargin * amount * spot : 0;
    let confidenceCont = confCont(minConfidence, Math.abs(b.perp) + b.base);
    let basisCont = 0;
    const scenarioMtm = new Float64Array(ns);
    for (const h of b.expiries.values()) {
      h.minConfidence = Math.min(minConfidence, h.minConfidence);
      const shockedMtm = (spotShock: number, volMult: number): number => {
        const f = h.variable * spotShock + h.fixed;
        let sum = 0;
        for (const o of h.options) sum += o.amount * black76(tb.isPut[o.i] === 1, f, tb.strike[o.i], o.vol * volMult, h.t);
        return sum;
      };
      const m0 = shockedMtm(1, 1);
      mtm += m0;
      const up = shockedMtm(model.basis.scenarioSpotUp, 1) - m0;
      const down = shockedMtm(model.basis.scenarioSpotDown, 1) - m0;
      basisCont += Math.min(up, down, 0) * (model.basis.addFactor + model.basis.multFactor * h.t);
      const tau = MONTH / Math.max(h.sec, vs.dteFloor);
      const mult = Math.pow(tau, h.sec <= MONTH ? vs.shortTermPower : vs.longTermPower);
      const volUp = 1 + vs.volRangeUp * mult;
      const volDown = Math.max(0, 1 - vs.volRangeDown * mult);
      const discount = model.margin.baseStaticDiscount * Math.exp(-h.t * (h.rate * model.margin.rateMultScale + model.margin.rateAddScale));
      for (let s = 0; s < ns; s++) {
        const sc = model.scenarios[s];
        const vm = sc.vol === 'up' ? volUp : sc.vol === 'down' ? volDown : 1;
        const shocked = sc.spotShock === 1 && vm === 1 ? m0 : shockedMtm(sc.spotShock, vm);
        scenarioMtm[s] += (shocked > 0 ? shocked * discount : shocked) - m0;
      }
      // naked shorts per strike, calls and puts of a strike netted (PMRMLib._getOptionContingency)
      const byStrike = new Map<number, { long: number; short: number; count: number; amounts: number[] }>();
      let netOptions = 0;
      for (const o of h.options) {
        netOptions += Math.abs(o.amount);
        const k = tb.strike[o.i];
        const e = byStrike.get(k) ?? { long: 0, short: 0, count: 0, amounts: [] };
        e.amounts.push(o.amount);
        byStrike.set(k, e);
      }
      let naked = 0;
      for (const e of byStrike.values()) naked += lyraNakedShorts(e.amounts);
      staticCont += naked * model.other.optionPercent * spot;
      confidenceCont += confCont(h.minConfidence, netOptions);
    }
    let minSpan = basisCont;
    let worst = ns; // ns = the basis contingency
    for (let s = 0; s < ns; s++) {
      const base = (b.base * spot * (model.scenarios[s].spotShock - 1)) / stable;
      const perp = b.perp * (model.scenarios[s].spotShock - 1) * perpPrice;
      const v = scenarioMtm[s] + base + perp;
      if (v < minSpan) {
        minSpan = v;
        worst = s;
      }
    }
    minSpan -= staticCont;
    let mFactor = model.margin.imFactor;
    if (stable < model.other.pegLossThreshold) mFactor += (model.other.pegLossThreshold - stable) * model.other.pegLossFactor;
    const imReq = -(minSpan * mFactor - confidenceCont);
    const mmReq = -minSpan;
    imSum += imReq;
    mmSum += mmReq;
    totalMtm += mtm;
    const pre = books.size > 1 ? `${u}.` : '';
    components[`${pre}markToMarket`] = mtm;
    components[`${pre}minSpan`] = minSpan + staticCont;
    components[`${pre}basisContingency`] = basisCont;
    components[`${pre}staticContingency`] = staticCont;
    components[`${pre}confidenceContingency`] = confidenceCont;
    components[`${pre}imFactor`] = mFactor;
    components[`${pre}worstScenario`] = worst;
  }
  components.cash = cash;
  const equity = totalMtm + cash;
  const figures = marginFigures(equity, imSum, mmSum);
  return { modeApplied: 'portfolio', figures, collateralValue, perCurrency: {}, greeks, positions, components };
}

/**
 * Naked short contracts among the holdings of one strike, as PMRMLib._getOptionContingency
 * counts them: pairs (first holding, each later one) — a long and a short offset up to the
 * smaller size, two shorts both count; a holding met by no other counts its own short size.
 */
export function lyraNakedShorts(amounts: number[]): number {
  let naked = 0;
  const seen = new Array<boolean>(amounts.length).fill(false);
  for (let i = 0; i < amounts.length; i++) {
    if (seen[i]) continue;
    let found = false;
    const a = amounts[i];
    for (let j = i + 1; j < amounts.length; j++) {
      const b = amounts[j];
      seen[j] = true;
      if (a * b < 0) {
        if (a < 0) naked += Math.abs(a) - Math.min(-a, b);
        else naked += Math.abs(b) - Math.min(a, -b);
      } else if (a < 0) {
        naked += Math.abs(a) + Math.abs(b);
      }
      found = true;
    }
    if (!found && a < 0) naked += Math.abs(a);
  }
  return naked;
}
