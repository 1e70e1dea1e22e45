/**
 * Every branch of the Deribit standard (rule-based) option formulas, including the deep
 * in-the-money ones, against hand calculations. The formulas and parameters are those of
 * margin_methodology_refs.json "deribit_standard_option_margin" (doc.tslab.pro restatement
 * of Deribit's rules, the parameter set deribit-standard 2024.1 cites), per contract in coin:
 *   short call: IM = max(0.15 − OTM/F, 0.10) + mark;              MM = 0.075 + mark
 *   short put:  IM = max(max(0.15 − OTM/F, 0.10) + mark, MM);     MM = max(0.075, 0.075·mark) + mark
 * The option marks are Black-76 (TS reference) on the table market's flat vol.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// the package entry only: these tests follow the public API, whatever the internal layout
import { black76Reference, margin } from '../src/index.js';
import { HAVE_SHARED, SHARED_DATA } from './helpers.js';

type MarginResultOk = margin.MarginResultOk;
type RuleBasedModel = margin.RuleBasedModel;
const { createMarginEngine, loadModel, tableMarket } = margin;
const T0 = Date.UTC(2026, 0, 27, 8);
const E = Date.UTC(2026, 1, 26, 8); // 26FEB26, 30 days
const t = 30 / 365;
const S = 100_000; // index
const F = 100_400; // the expiry's forward (Deribit's "underlying mark"), ≠ index on purpose
const vol = 0.5;
const market = tableMarket({ valuationTime: T0, underlyings: { BTC: { spot: S, vol, expiries: [{ expiry: E, forward: F, vol }] } } });
const eng = createMarginEngine({ market, model: 'deribit-standard' });

/** The documented parameter set (margin_methodology_refs.json, restated by doc.tslab.pro). */
const DOC = { imBase: 0.15, imMin: 0.1, mmBase: 0.075, putMmMarkFactor: 0.075 };

function ok(r: ReturnType<typeof eng.margin>): MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}
const markCoin = (put: boolean, K: number) => black76Reference(put, F, K, vol, t, 0, false).price / F;
/** Hand IM/MM per contract in coin. */
function handCoin(put: boolean, K: number): { im: number; mm: number; mark: number } {
  const mark = markCoin(put, K);
  const otm = put ? Math.max(F - K, 0) : Math.max(K - F, 0);
  const imFrac = Math.max(DOC.imBase - otm / F, DOC.imMin);
  if (!put) return { im: imFrac + mark, mm: DOC.mmBase + mark, mark };
  const mm = Math.max(DOC.mmBase, DOC.putMmMarkFactor * mark) + mark;
  return { im: Math.max(imFrac + mark, mm), mm, mark };
}
function marginOf(instrument: string, size: number) {
  return ok(eng.margin({ id: 'x', mode: 'cross', collateral: { USDC: 1e7 }, positions: [{ instrument, size }] }));
}

describe('deribit-standard is the documented parameter set', () => {
  it('option parameters equal the documented ones (0.15 / 0.10 / 0.075 / 0.075·mark)', () => {
    const p = (loadModel('deribit-standard').params as RuleBasedModel).option;
    expect(p).toEqual(DOC);
  });
  it.skipIf(!HAVE_SHARED)('the documented formulas are the ones in margin_methodology_refs.json [needs ../shared/data]', () => {
    const ref = JSON.parse(readFileSync(join(SHARED_DATA, 'margin_methodology_refs.json'), 'utf8')).deribit_standard_option_margin;
    expect(ref.short_call.initial).toBe('max(0.15 - OTM_amount/underlying_mark, 0.10) + option_mark');
    expect(ref.short_call.maintenance).toBe('0.075 + option_mark');
    expect(ref.short_put.initial).toBe('max(max(0.15 - OTM_amount/underlying_mark, 0.10) + option_mark, maintenance)');
    expect(ref.short_put.maintenance).toBe('max(0.075, 0.075*option_mark) + option_mark');
  });
});

describe('every branch of the standard option formulas, by hand (inverse options: coin × index)', () => {
  // [case, put, strike, which branch must be active]
  const cases: [string, boolean, number, (h: ReturnType<typeof handCoin>, K: number) => boolean][] = [
    ['call slightly OTM: 0.15 − OTM/F above the 0.10 floor', false, 102_000, (_h, K) => DOC.imBase - (K - F) / F > DOC.imMin],
    ['call far OTM: the 0.10 floor', false, 130_000, (_h, K) => DOC.imBase - (K - F) / F < DOC.imMin],
    ['call deep ITM (K = 0.4·F): OTM 0, IM = 0.15 + mark', false, 40_000, (h) => h.mark > 0.55],
    ['put OTM: 0.15 − OTM/F, MM = 0.075 + mark', true, 95_000, (h) => DOC.putMmMarkFactor * h.mark < DOC.mmBase],
    ['put deep ITM, mark > 1 coin: MM = 0.075·mark + mark, IM = 0.15 + mark', true, 250_000, (h) => h.mark > 1 && DOC.imBase + h.mark > h.mm],
    ['put deep ITM, mark > 2 coin: IM = MM (the max(…, MM) branch)', true, 400_000, (h) => h.mark > 2 && h.mm > DOC.imBase + h.mark],
  ];
  for (const [name, put, K, branch] of cases) {
    it(name, () => {
      const h = handCoin(put, K);
      expect(branch(h, K), 'the case exercises its branch').toBe(true);
      const r = marginOf(`BTC-26FEB26-${K}-${put ? 'P' : 'C'}`, -2);
      expect(r.initialMargin).toBeCloseTo(2 * h.im * S, 6);
      expect(r.maintenanceMargin).toBeCloseTo(2 * h.mm * S, 6);
      expect(r.perCurrency.BTC.initialMargin).toBeCloseTo(2 * h.im, 12);
    });
  }

  it('deep ITM put MM moves with the put mark factor: 0.075 vs 0.070 differ by 0.005·mark coin per contract', () => {
    const h = handCoin(true, 250_000);
    const r = marginOf('BTC-26FEB26-250000-P', -1);
    expect(r.maintenanceMargin / S - h.mark).toBeCloseTo(0.075 * h.mark, 10);
    expect(Math.abs(r.maintenanceMargin / S - (0.07 * h.mark + h.mark))).toBeGreaterThan(0.004 * h.mark);
  });

  it('linear (USDC) options: the same fractions of F, in USD (mark in coin = USD mark / F)', () => {
    for (const [put, K] of [[true, 250_000], [true, 400_000], [false, 40_000], [false, 130_000]] as [boolean, number][]) {
      const h = handCoin(put, K);
      const r = marginOf(`BTC_USDC-26FEB26-${K}-${put ? 'P' : 'C'}`, -3);
      expect(r.initialMargin, `${K}`).toBeCloseTo(3 * h.im * F, 5);
      expect(r.maintenanceMargin, `${K}`).toBeCloseTo(3 * h.mm * F, 5);
    }
  });

  it('long options need nothing, deep ITM included', () => {
    for (const name of ['BTC-26FEB26-400000-P', 'BTC-26FEB26-40000-C', 'BTC_USDC-26FEB26-250000-P']) {
      const r = marginOf(name, 5);
      expect(r.initialMargin).toBe(0);
      expect(r.maintenanceMargin).toBe(0);
    }
  });
});
