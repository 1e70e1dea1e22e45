/**
 * Lyra/Derive v2 portfolio margin (PMRM), after lyra-finance/v2-core
 * src/risk-managers/PMRMLib.sol and PMRM.sol (_arrangePortfolio), computed in doubles, in
 * PMRMLib's steps: arrange.ts (_arrangePortfolio), precompute.ts (expiry precomputes, vol shocks,
 * static discount, basis term, naked shorts), scenario-mtm.ts (getScenarioMtM), margin.ts
 * (getMarginAndMarkToMarket) and naked.ts (_getOptionContingency's count).
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
export { lyraMargin } from './margin.js';
export { lyraNakedShorts } from './naked.js';
export type { LyraFeeds } from './types.js';
