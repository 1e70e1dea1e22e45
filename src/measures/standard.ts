/**
 * Rule-based (standard) margin per position, Deribit-style (docs/margin.md "rule-based",
 * margin_methodology_refs.json "deribit_standard_option_margin"). Per short option contract,
 * in coin of the underlying (option mark in coin, OTM amount and underlying price in USD):
 *   short call: IM = max(imBase − OTM/F, imMin) + mark;            MM = mmBase + mark
 *   short put:  IM = max(max(imBase − OTM/F, imMin) + mark, MM);   MM = max(mmBase, putMmMarkFactor·mark) + mark
 *   long option: nothing (the premium is paid)
 * F is the option's underlying price (the forward of its expiry, Deribit's "underlying mark").
 * Inverse options' coin amounts are converted to USD at the index; linear (USDC) options
 * express the same fractions of F in USD (mark in coin = USD mark / F).
 * Futures/perpetuals: IM (MM) = (imBase (mmBase) + slope·|size in coin|/stepCoin) × |size in coin| × F.
 */
import type { AccountResolver, Resolved } from '../instruments/resolve.js';
import { InstrumentTable, Kind } from '../instruments/table.js';
import { greeksOf } from './greeks.js';
import { HEALTHS, healthOf, isolatedHealthCode, marginFigures, worseHealth } from './health.js';
import type { MarginOutcome } from './outcome.js';
import type { AccountInput, CurrencyFigures, FuturesTierParams, Health, PositionBreakdown, RuleBasedModel } from './types.js';

export function futuresTiers(model: RuleBasedModel, underlying: string): FuturesTierParams {
  const o = model.futuresByUnderlying?.[underlying];
  return o ? { ...model.futures, ...o } : model.futures;
}

/** IM and MM in USD of a position of `size` in instrument i (out[0] = IM, out[1] = MM). */
export function standardPositionMargin(model: RuleBasedModel, tb: InstrumentTable, i: number, size: number, out: Float64Array): void {
  out[0] = 0;
  out[1] = 0;
  const k = tb.kind[i];
  const u = tb.underlyings[tb.underlyingOf[i]];
  const cs = tb.instruments[i]?.contractSize ?? 1;
  if (k === Kind.Option) {
    if (size >= 0) return;
    const n = -size * cs;
    const F = tb.forward[i];
    const K = tb.strike[i];
    const p = model.option;
    const markCoin = tb.inverse[i] ? tb.mark[i] : tb.mark[i] / F;
    const otm = tb.isPut[i] ? Math.max(F - K, 0) : Math.max(K - F, 0);
    const imFrac = Math.max(p.imBase - otm / F, p.imMin);
    let im: number, mm: number;
    if (tb.isPut[i]) {
      mm = Math.max(p.mmBase, p.putMmMarkFactor * markCoin) + markCoin;
      im = Math.max(imFrac + markCoin, mm);
    } else {
      im = imFrac + markCoin;
      mm = p.mmBase + markCoin;
    }
    const toUsd = tb.inverse[i] ? tb.market.spot(u) : F;
    out[0] = n * im * toUsd;
    out[1] = n * mm * toUsd;
  } else if (k === Kind.Future || k === Kind.Perpetual) {
    const coin = Math.abs(tb.coinSize(i, size * cs));
    const t = futuresTiers(model, u);
    const notional = coin * tb.forward[i];
    const extra = (t.slope * coin) / t.stepCoin;
    out[0] = (t.imBase + extra) * notional;
    out[1] = (t.mmBase + extra) * notional;
  }
}

/**
 * The rule-based measure of one account: each position's IM/MM summed (cross), or each
 * position margined on its own collateral (isolated).
 */
export function ruleBasedMargin(model: RuleBasedModel, tb: InstrumentTable, resolver: AccountResolver, a: AccountInput, r: Resolved): MarginOutcome {
  const n = r.n;
  const pair = new Float64Array(2);
  const perCurrency: Record<string, CurrencyFigures> = {};
  const positions: PositionBreakdown[] = new Array(n);
  const isolated = a.mode === 'isolated';
  let im = 0;
  let mm = 0;
  let posTotal = 0;
  let health: Health = 'healthy';
  let isolatedFree = 0;
  for (let p = 0; p < n; p++) {
    const i = r.instr[p];
    standardPositionMargin(model, tb, i, r.size[p], pair);
    const pim = pair[0];
    const pmm = pair[1];
    im += pim;
    mm += pmm;
    posTotal += r.posValue[p];
    const inst = tb.instruments[i]!;
    const cur = inst.settlementCurrency;
    const toCur = inst.settlement === 'inverse' ? 1 / tb.market.spot(inst.underlying) : 1;
    const cf = (perCurrency[cur] ??= { initialMargin: 0, maintenanceMargin: 0 });
    cf.initialMargin += pim * toCur;
    cf.maintenanceMargin += pmm * toCur;
    const b: PositionBreakdown = { index: p, instrument: inst.name, size: r.size[p], valueUsd: r.posValue[p], initialMargin: pim, maintenanceMargin: pmm };
    if (isolated) {
      const own = a.positions[p].collateral;
      let ownValue = 0;
      if (own) for (const c of resolver.collateralLines(`positions[${p}].collateral`, own)) ownValue += c.value;
      b.equity = ownValue + r.posValue[p];
      b.health = healthOf(b.equity, pim, pmm);
      health = worseHealth(health, b.health);
      isolatedFree += Math.max(0, b.equity - pim);
    }
    positions[p] = b;
  }
  let equity: number, available: number;
  if (isolated) {
    let own = 0;
    for (const b of positions) own += b.equity!;
    equity = r.collateralValue + own;
    available = r.collateralValue + isolatedFree;
    health = HEALTHS[isolatedHealthCode(HEALTHS.indexOf(health), equity)];
  } else {
    equity = r.collateralValue + posTotal;
    available = equity - im;
    health = healthOf(equity, im, mm);
  }
  const figures = marginFigures(equity, im, mm, available, health);
  return { modeApplied: isolated ? 'isolated' : 'cross', figures, collateralValue: r.collateralValue, perCurrency, greeks: greeksOf(tb, r), positions };
}
