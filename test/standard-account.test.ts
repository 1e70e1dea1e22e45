/**
 * The rule-based (standard) measure at the account level, by hand: futures tiers per underlying,
 * what carries no margin (spot), the figures of a cross account (available funds, per-currency
 * IM and MM), isolated positions (own collateral + value, health each, the account's health the
 * worst), and the health rules of docs/margin.md. Rates: Deribit support "Change of leverage
 * levels ... as of 11 January 2022" (ETH IM 2 % + size(ETH) × 0.0004 %, MM 1 % + the same; BTC
 * 0.005 % per coin), the option formulas of margin_methodology_refs.json (see
 * standard-branches.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { black76Reference, margin } from '../src/index.js';
import { healthOf, marginFigures, worseHealth } from '../src/measures/health.js';

type MarginResultOk = margin.MarginResultOk;
type RuleBasedModel = margin.RuleBasedModel;
const { createMarginEngine, loadModel, tableMarket } = margin;
const T0 = Date.UTC(2026, 0, 27, 8);
const E = Date.UTC(2026, 1, 26, 8); // 26FEB26, 30 days
const t = 30 / 365;
const S = 100_000;
const F = 100_400;
const PERP = 100_050;
const ETH_PERP = 3_010;
const vol = 0.5;
const market = tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: { spot: S, perpetual: PERP, vol, expiries: [{ expiry: E, forward: F, vol }] },
    ETH: { spot: 3_000, perpetual: ETH_PERP, vol: 0.7 },
  },
});
let std: margin.MarginEngine | null = null;
const eng = () => (std ??= createMarginEngine({ market, model: 'deribit-standard' }));
function ok(r: margin.MarginResult): MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}
const markCoin = (put: boolean, K: number) => black76Reference(put, F, K, vol, t, 0, false).price / F;

describe('standard measure: futures tiers and what carries no margin', () => {
  it('ETH perpetual uses the ETH tier (0.0004 % per coin), BTC the default (0.005 % per coin)', () => {
    // 100 ETH at 3,010: IM = (2 % + 100 × 0.0004 %) × 301,000 = 6,140.4; MM = (1 % + 0.04 %) × 301,000 = 3,130.4
    const e = ok(eng().margin({ id: 'e', mode: 'cross', collateral: { USDC: 1e6 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 100 }] }));
    expect(e.initialMargin).toBeCloseTo(6_140.4, 6);
    expect(e.maintenanceMargin).toBeCloseTo(3_130.4, 6);
    // 10 BTC at 100,050: IM = (2 % + 10 × 0.005 %) × 1,000,500 = 20,510.25
    const b = ok(eng().margin({ id: 'b', mode: 'cross', collateral: { USDC: 1e6 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -10 }] }));
    expect(b.initialMargin).toBeCloseTo(20_510.25, 6);
  });

  it('a model without per-underlying tiers, a slope per 10 coins: IM = (2 % + 0.05 % × coin/10) × notional', () => {
    const { futuresByUnderlying: _, ...plain } = structuredClone(loadModel('deribit-standard').params as RuleBasedModel);
    const model: RuleBasedModel = { ...plain, id: 'std-plain', futures: { imBase: 0.02, mmBase: 0.01, slope: 0.0005, stepCoin: 10 } };
    // 25 ETH at 3,010: extra 0.0005 × 25/10 = 0.00125; IM = 0.02125 × 75,250 = 1,599.0625; MM = 0.01125 × 75,250
    const r = ok(createMarginEngine({ market, model }).margin({ id: 'p', mode: 'cross', collateral: { USDC: 1e5 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 25 }] }));
    expect(r.initialMargin).toBeCloseTo(1_599.0625, 6);
    expect(r.maintenanceMargin).toBeCloseTo(0.01125 * 75_250, 6);
  });

  it('a spot holding carries no margin', () => {
    const r = ok(eng().margin({ id: 's', mode: 'cross', collateral: { USDC: 1e5 }, positions: [{ instrument: 'ETH_USDC', size: -4 }] }));
    expect(r.initialMargin).toBe(0);
    expect(r.maintenanceMargin).toBe(0);
    expect(r.equity).toBeCloseTo(1e5 - 4 * 3_000, 6);
  });

  it('a call takes the call formula even where the put formula differs (a model with imMin < mmBase)', () => {
    const base = structuredClone(loadModel('deribit-standard').params as RuleBasedModel);
    const model: RuleBasedModel = { ...base, id: 'std-low-floor', option: { imBase: 0.15, imMin: 0.05, mmBase: 0.075, putMmMarkFactor: 0.075 } };
    const e = createMarginEngine({ market, model });
    // K = 130,000: OTM/F = 0.2948 > 0.10, so IM = 0.05 + mark (the put rule would give max(0.05 + mark, 0.075 + mark))
    const mark = markCoin(false, 130_000);
    const r = ok(e.margin({ id: 'c', mode: 'cross', collateral: { USDC: 1e6 }, positions: [{ instrument: 'BTC-26FEB26-130000-C', size: -1 }] }));
    expect(r.initialMargin).toBeCloseTo((0.05 + mark) * S, 6);
    expect(r.maintenanceMargin).toBeCloseTo((0.075 + mark) * S, 6);
  });
});

describe('standard measure: cross account figures', () => {
  // short 2 inverse calls K 102,000 (IM 0.15 − 1,600/F + mark per contract), short 3 USDC puts K 95,000
  // (MM 0.075 + mark: 0.075·mark < 0.075 for a mark below 1 coin)
  const callMark = markCoin(false, 102_000);
  const putMark = markCoin(true, 95_000);
  const callIm = 2 * (0.15 - 1_600 / F + callMark);
  const callMm = 2 * (0.075 + callMark);
  const putIm = 3 * (Math.max(0.15 - 5_400 / F, 0.1) + putMark); // OTM by F − K = 5,400: 0.15 − 0.0538 < 0.10, the floor
  const putMm = 3 * (0.075 + putMark);
  const positions = [
    { instrument: 'BTC-26FEB26-102000-C', size: -2 },
    { instrument: 'BTC_USDC-26FEB26-95000-P', size: -3 },
  ];
  const C = 200_000;
  const r = () => ok(eng().margin({ id: 'x', mode: 'cross', collateral: { USDC: C }, positions }));

  it('IM, MM, equity and available funds = equity − IM', () => {
    const x = r();
    const im = callIm * S + putIm * F;
    const equity = C - 2 * callMark * S - 3 * putMark * F;
    expect(x.modeApplied).toBe('cross');
    expect(x.initialMargin).toBeCloseTo(im, 6);
    expect(x.maintenanceMargin).toBeCloseTo(callMm * S + putMm * F, 6);
    expect(x.equity).toBeCloseTo(equity, 6);
    expect(x.availableFunds).toBeCloseTo(equity - im, 6);
    expect(x.health).toBe('healthy');
  });

  it('per currency: inverse in coin (USD / index), linear in USDC', () => {
    const x = r();
    expect(x.perCurrency.BTC.initialMargin).toBeCloseTo(callIm, 12);
    expect(x.perCurrency.BTC.maintenanceMargin).toBeCloseTo(callMm, 12);
    expect(x.perCurrency.USDC.initialMargin).toBeCloseTo(putIm * F, 6);
    expect(x.perCurrency.USDC.maintenanceMargin).toBeCloseTo(putMm * F, 6);
  });

  it('a cross account pools: its positions carry no equity or health of their own', () => {
    for (const p of r().positions) {
      expect(p.equity).toBeUndefined();
      expect(p.health).toBeUndefined();
    }
  });
});

describe('standard measure: isolated positions', () => {
  it('each position: own collateral + its value, its own health; a position without collateral has its value only', () => {
    // long 1 linear perp entered at 90,000: value 10,050, IM = MM·2 … (2 % + 0.005 %)·100,050 = 2,006.0025
    // short 1 linear perp entered at 100,000, no collateral: value −50, IM 2,006.0025 → bankrupt (equity < 0)
    const a = ok(
      eng().margin({
        id: 'i',
        mode: 'isolated',
        collateral: { USDC: 300 },
        positions: [
          { instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 90_000, collateral: { USDC: 1_000 } },
          { instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: 100_000 },
        ],
      }),
    );
    const im1 = (0.02 + 0.00005) * PERP;
    const mm1 = (0.01 + 0.00005) * PERP;
    expect(a.modeApplied).toBe('isolated');
    expect(a.positions[0].equity).toBeCloseTo(1_000 + 10_050, 6);
    expect(a.positions[0].health).toBe('healthy');
    expect(a.positions[1].equity).toBeCloseTo(-50, 6);
    expect(a.positions[1].health).toBe('bankrupt');
    expect(a.health).toBe('bankrupt');
    expect(a.initialMargin).toBeCloseTo(2 * im1, 6);
    expect(a.maintenanceMargin).toBeCloseTo(2 * mm1, 6);
    expect(a.equity).toBeCloseTo(300 + 11_050 - 50, 6);
    expect(a.availableFunds).toBeCloseTo(300 + (11_050 - im1), 6);
  });

  it('an isolated account without positions is healthy', () => {
    const a = ok(eng().margin({ id: 'e', mode: 'isolated', collateral: { USDC: 10 }, positions: [] }));
    expect(a.health).toBe('healthy');
    expect(a.equity).toBe(10);
    expect(a.availableFunds).toBe(10);
  });

  it('a bad own collateral is an error naming positions[k].collateral', () => {
    const r = eng().margin({
      id: 'b',
      mode: 'isolated',
      collateral: {},
      positions: [
        { instrument: 'BTC_USDC-PERPETUAL', size: 1 },
        { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { NOSUCHCOIN: 1 } },
      ],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('positions[1].collateral');
  });
});

describe('health rules (docs/margin.md): equity < 0 bankrupt, < MM liquidatable, < IM margin call', () => {
  it('worseHealth keeps the worse of two, in either order', () => {
    expect(worseHealth('bankrupt', 'healthy')).toBe('bankrupt');
    expect(worseHealth('healthy', 'bankrupt')).toBe('bankrupt');
    expect(worseHealth('liquidatable', 'margin call')).toBe('liquidatable');
    expect(worseHealth('margin call', 'margin call')).toBe('margin call');
  });
  it('marginFigures: available funds default to equity − IM, margin ratio MM / equity', () => {
    const f = marginFigures(100, 30, 20);
    expect(f.availableFunds).toBe(70);
    expect(f.marginRatio).toBeCloseTo(0.2, 15);
    expect(f.health).toBe('healthy');
    expect(marginFigures(25, 30, 20).health).toBe('margin call');
    expect(healthOf(-1, 0, 0)).toBe('bankrupt');
    expect(marginFigures(-1, 0, 0).marginRatio).toBeNull();
  });
});
