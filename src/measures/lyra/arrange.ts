/**
 * PMRM._arrangePortfolio: an account's positions and collateral sorted into one portfolio per
 * underlying — cash-settled options by expiry (with the expiry's forward split, rate and
 * confidences from the feeds), the linear perpetual, the base asset (spot and coin collateral
 * after haircut) — and cash (the cash currency and USD-pegged coins).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import type { AccountInput, LyraPmrmModel } from '../types.js';
import type { ArrangedAccount, ExpiryHolding, LyraFeeds, LyraPortfolio } from './types.js';

const DAY = 86_400;

function bad(p: number, what: string): OptmarginError {
  return new OptmarginError(ErrorCodes.INVALID_INPUT, `positions[${p}].instrument ${what}`, `positions[${p}].instrument`);
}

/** The expiry holding of option i, made on first sight with its feeds. */
function expiryOf(tb: InstrumentTable, market: MarginMarket, feeds: LyraFeeds, b: LyraPortfolio, u: string, i: number): ExpiryHolding {
  const e = tb.expiry[i];
  let h = b.expiries.get(e);
  if (!h) {
    const fixed = feeds.forwardFixedPortion?.(u, e) ?? 0;
    const t = tb.t[i];
    h = {
      expiry: e,
      t,
      sec: t * 365 * DAY,
      fixed,
      variable: tb.forward[i] - fixed,
      rate: Math.max(0, feeds.rate?.(u, e) ?? market.rate),
      minConfidence: Math.min(feeds.forwardConfidence?.(u, e) ?? 1, feeds.rateConfidence?.(u, e) ?? 1),
      options: [],
    };
    b.expiries.set(e, h);
  }
  return h;
}

/** Cash and base assets from the collateral balances (haircut applied). */
function arrangeCollateral(market: MarginMarket, a: AccountInput, model: LyraPmrmModel, portfolio: (u: string) => LyraPortfolio): number {
  let cash = 0;
  const c = model.collateral;
  for (const cur of Object.keys(a.collateral)) {
    const amt = a.collateral[cur];
    if (amt === 0) continue;
    const haircut = c.haircuts[cur] ?? c.defaultHaircut;
    if (haircut === null || haircut === undefined) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `collateral.${cur} is not accepted as collateral by model ${model.id}`, `collateral.${cur}`);
    }
    if (cur === model.cashCurrency || c.usdPegged.includes(cur)) {
      cash += amt > 0 ? amt * (1 - haircut) : amt;
    } else if (market.hasUnderlying(cur)) {
      if (amt < 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `collateral.${cur} must be >= 0 (base assets cannot be borrowed), got ${amt}`, `collateral.${cur}`);
      portfolio(cur).base += amt * (1 - haircut);
    } else {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `collateral.${cur}: the market has no index price for ${cur}`, `collateral.${cur}`);
    }
  }
  return cash;
}

export function arrangePortfolio(tb: InstrumentTable, market: MarginMarket, feeds: LyraFeeds, a: AccountInput, model: LyraPmrmModel): ArrangedAccount {
  const portfolios = new Map<string, LyraPortfolio>();
  const portfolio = (u: string): LyraPortfolio => {
    let b = portfolios.get(u);
    if (!b) {
      tb.underlyingSlot(u);
      b = { expiries: new Map(), perp: 0, perpValue: 0, base: 0 };
      portfolios.set(u, b);
    }
    return b;
  };
  const out: ArrangedAccount = { portfolios, cash: 0, positions: [], greeks: {} };
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
    const b = portfolio(u);
    const k = tb.kind[i];
    const v = tb.positionValue(i, pos.size, pos.entryPrice);
    out.positions.push({ index: p, instrument: inst.name, size: pos.size, valueUsd: v.value });
    const g = (out.greeks[u] ??= { delta: 0, gamma: 0, vega: 0, theta: 0 });
    g.delta += pos.size * tb.delta[i] + v.coinHeld;
    g.gamma += pos.size * tb.gamma[i];
    g.vega += pos.size * tb.vega[i];
    g.theta += pos.size * tb.theta[i];
    if (k === Kind.Option) {
      if (tb.inverse[i]) throw bad(p, `${inst.name}: ${model.id} margins cash-settled (linear, e.g. ETH_USDC-...) options only`);
      const h = expiryOf(tb, market, feeds, b, u, i);
      h.minConfidence = Math.min(h.minConfidence, feeds.volConfidence?.(u, h.expiry, tb.strike[i]) ?? 1);
      h.options.push({ i, amount: pos.size * (inst.contractSize ?? 1), vol: tb.vol[i] });
    } else if (k === Kind.Perpetual) {
      if (tb.inverse[i]) throw bad(p, `${inst.name}: ${model.id} margins linear perpetuals only`);
      b.perp += pos.size;
      b.perpValue += v.value;
    } else if (k === Kind.Spot) {
      b.base += pos.size;
    } else {
      throw bad(p, `${inst.name}: ${model.id} has no dated futures (options, perpetuals and spot only)`);
    }
  });
  out.cash = arrangeCollateral(market, a, model, portfolio);
  return out;
}
