/**
 * Liquidation prices of an account: the prices of one underlying (below and above its index) at
 * which equity would equal MM — for an isolated account, where a position's own equity would
 * equal its own MM or the account's equity 0 (health.ts liquidationGap) —, the market moved by
 * the same relative amount in index, perpetual and forwards (smile sticky in moneyness).
 * Bracketing, then the Illinois variant of regula falsi on the move, to 1e-7 relative; searched
 * over moves in [−99 %, +1000 %].
 *
 * The account is re-margined by the caller's runner (`remargin`): the search owns no margin rule.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { InstrumentTable } from '../instruments/table.js';
import { movedMarket, type MarginMarket } from '../market/margin-market.js';
import type { AccountInput, LiquidationPrices, MarginResult } from '../measures/types.js';
import { liquidationGap } from '../measures/health.js';
import { pinEntries } from './pin-entries.js';

export interface LiquidationContext {
  market: MarginMarket;
  marketHash: string;
  table: InstrumentTable;
  /** margin of `account` on `market` (the runner of the same model) */
  remargin(market: MarginMarket, account: AccountInput): MarginResult;
}

/** Root of the gap inside [lo, hi] (signs differ) by Illinois regula falsi: keeps the bracket, ~8 evaluations to 1e-7. */
function illinois(gap: (m: number) => number, lo: number, hi: number, gLo: number, gHi: number): number {
  let side = 0;
  for (let k = 0; k < 60 && Math.abs(hi - lo) > 1e-7 * (1 + Math.abs(lo)); k++) {
    let x = (lo * gHi - hi * gLo) / (gHi - gLo);
    // keep strictly inside the bracket (falls back to bisection on a flat or degenerate step)
    if (!(x > Math.min(lo, hi) && x < Math.max(lo, hi))) x = 0.5 * (lo + hi);
    const gx = gap(x);
    if (gx === 0) return x;
    if ((gx >= 0) === (gLo >= 0)) {
      lo = x;
      gLo = gx;
      if (side === 1) gHi *= 0.5;
      side = 1;
    } else {
      hi = x;
      gHi = gx;
      if (side === -1) gLo *= 0.5;
      side = -1;
    }
  }
  return 0.5 * (lo + hi);
}

/** The first move in direction `dir` where the gap changes sign (steps growing ×1.5 up to 25 %), then its root; null when none. */
function searchMove(gap: (m: number) => number, g0: number, dir: 1 | -1): number | null {
  const limit = dir > 0 ? 10 : 0.99;
  let prev = 0;
  let gPrev = g0;
  let step = 0.01;
  while (prev * dir < limit) {
    const m = dir * Math.min(Math.abs(prev) + step, limit);
    const g = gap(m);
    if ((gPrev >= 0) !== (g >= 0)) return illinois(gap, prev, m, gPrev, g);
    prev = m;
    gPrev = g;
    step = Math.min(step * 1.5, 0.25);
  }
  return null;
}

export function liquidationPrices(ctx: LiquidationContext, account: AccountInput, underlying: string): LiquidationPrices {
  const a = pinEntries(ctx, account);
  if (!ctx.market.hasUnderlying(underlying)) {
    throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no underlying ${JSON.stringify(underlying)}`);
  }
  const spot = ctx.market.spot(underlying);
  const gap = (m: number): number => {
    const r = ctx.remargin(m === 0 ? ctx.market : movedMarket(ctx.market, underlying, m, ctx.marketHash), a);
    if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
    return liquidationGap(r);
  };
  const g0 = gap(0);
  const at = (m: number | null): number | null => (m === null ? null : spot * (1 + m));
  return { underlying, spot, below: at(searchMove(gap, g0, -1)), above: at(searchMove(gap, g0, 1)), alreadyLiquidatable: g0 < 0 };
}
