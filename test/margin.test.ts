import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import {
  createMarginEngine,
  decodeAccount,
  listModels,
  loadModel,
  tableMarket,
  validateAccount,
  type AccountInput,
  type MarginResultOk,
} from '../src/api/margin.js';
import { black76Reference } from '../src/pricing/reference.js';
import { OptmarginError } from '../src/errors.js';

const T0 = Date.UTC(2026, 0, 27, 8); // valuation 27 JAN 2026 08:00 UTC
const EXP = Date.UTC(2026, 1, 26, 8); // 26FEB26: 30 days later
const t = 30 / 365;

const market = tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: { spot: 100_000, vol: 0.5 },
    ETH: { spot: 3_000, vol: 0.7 },
  },
});

function ok(r: ReturnType<ReturnType<typeof createMarginEngine>['margin']>): MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}

describe('account validation', () => {
  it('names the field and value of a bad position', () => {
    const positions = Array.from({ length: 18 }, () => ({ instrument: 'BTC-26FEB26-100000-C', size: 1 }));
    (positions[17] as { size: unknown }).size = 'x';
    expect(() => validateAccount({ id: 'a', mode: 'cross', collateral: {}, positions })).toThrow(
      'positions[17].size must be a finite number, got "x"',
    );
    expect(() => validateAccount({ id: 'a', mode: 'margin', collateral: {}, positions: [] })).toThrow(/mode must be one of/);
    expect(() => validateAccount({ id: 'a', mode: 'cross', collateral: { BTC: NaN }, positions: [] })).toThrow(
      'collateral.BTC must be a finite number, got NaN',
    );
    expect(() =>
      validateAccount({ id: 'a', mode: 'cross', collateral: {}, positions: [{ instrument: 'BTC-PERPETUAL', size: 1, collateral: { BTC: 1 } }] }),
    ).toThrow(/positions\[0\]\.collateral is only allowed in isolated mode/);
  });

  it('accepts msgpack with the same validation', () => {
    const acc = { id: 'm', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 1000 }] };
    expect(decodeAccount(encode(acc))).toEqual(acc);
    expect(() => decodeAccount(encode({ ...acc, positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] }))).toThrow(
      'positions[0].size must be a finite number, got "x"',
    );
  });

  it('returns an error result (not a throw) for a bad account or instrument', () => {
    const eng = createMarginEngine({ market, model: 'deribit-standard' });
    const r = eng.margin({ id: 'bad', mode: 'cross', collateral: {}, positions: [{ instrument: 'BTC-31FEB26-1-C', size: 1 }] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('OPTMARGIN_INVALID_INSTRUMENT');
      expect(r.error.path).toBe('positions[0].instrument');
    }
    const r2 = eng.margin({ id: 'x', mode: 'cross', collateral: { DOGE: 5 }, positions: [] });
    expect(r2.ok).toBe(false);
    const r3 = eng.margin({ id: 'y', mode: 'cross', collateral: {}, positions: [{ instrument: 'SOL-PERPETUAL', size: 1 }] });
    expect(r3.ok === false && r3.error.code).toBe('OPTMARGIN_MISSING_MARKET_DATA');
  });
});

describe('presets', () => {
  it('lists every preset with id, version, source and a parameter hash', () => {
    const ids = listModels().map((m) => m.id);
    expect(ids).toEqual(['aevo-15', 'deribit-pm', 'deribit-pm-2024.1', 'deribit-standard', 'deribit-standard-2024.1', 'deribit-xpm', 'lyra-pmrm', 'okx-pm', 'span-16']);
    for (const m of listModels()) {
      expect(m.version).toMatch(/\S/);
      expect(m.source.length).toBeGreaterThan(20);
      // every preset cites its pages (or repository) and dates them; no file outside the repo
      expect(m.source).toMatch(/https?:\/\/|lyra-finance\/v2-core/);
      expect(m.source).toMatch(/\d{4}-\d{2}-\d{2}/);
      expect(m.source).not.toMatch(/DESIGN\.md|margin_methodology_refs/);
      expect(m.hash).toMatch(/^[0-9a-f]{16}$/);
    }
  });
  it('rejects a malformed parameter set naming the field', () => {
    const p = structuredClone(loadModel('deribit-pm-2024.1').params) as unknown as Record<string, unknown>;
    (p.scan as Record<string, unknown>).rangeUp = -1;
    expect(() => loadModel(p as never)).toThrow(/scan\.rangeUp must be in \[0, 10\], got -1/);
    expect(() => loadModel('no-such-model')).toThrow(/unknown model "no-such-model"; presets: aevo-15, deribit-pm/);
  });
  it('hash depends on parameters, not key order', () => {
    const a = loadModel('deribit-pm-2024.1');
    const shuffled = Object.fromEntries(Object.entries(structuredClone(a.params)).reverse());
    expect(loadModel(shuffled as never).hash).toBe(a.hash);
    const changed = { ...structuredClone(a.params), mmFraction: 0.75 };
    expect(loadModel(changed as never).hash).not.toBe(a.hash);
  });
});

describe('rule-based standard margin (Deribit formulas, hand-checked)', () => {
  const eng = createMarginEngine({ market, model: 'deribit-standard' });
  const F = 100_000;

  it('short inverse call: IM = max(0.15 − OTM/F, 0.10) + mark, MM = 0.075 + mark (coin per contract)', () => {
    const K = 102_000; // OTM by 2000 → 0.15 − 0.02 = 0.13 > 0.10
    const markCoin = black76Reference(false, F, K, 0.5, t, 0, false).price / F;
    const r = ok(eng.margin({ id: 'c', mode: 'cross', collateral: { BTC: 5 }, positions: [{ instrument: 'BTC-26FEB26-102000-C', size: -3 }] }));
    expect(r.positions[0].initialMargin).toBeCloseTo(3 * (0.13 + markCoin) * 100_000, 6);
    expect(r.positions[0].maintenanceMargin).toBeCloseTo(3 * (0.075 + markCoin) * 100_000, 6);
    expect(r.perCurrency.BTC.initialMargin).toBeCloseTo(3 * (0.13 + markCoin), 12);
    // equity: 5 BTC − 3 calls at mark, in USD
    expect(r.equity).toBeCloseTo(5 * 100_000 - 3 * markCoin * 100_000, 6);
    expect(r.health).toBe('healthy');
    expect(r.marginRatio).toBeCloseTo(r.maintenanceMargin / r.equity, 12);
  });

  it('far OTM short call floors at 0.10; short put uses max(IM, MM)', () => {
    const K = 130_000;
    const markCoin = black76Reference(false, F, K, 0.5, t, 0, false).price / F;
    const r = ok(eng.margin({ id: 'c', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-26FEB26-130000-C', size: -1 }] }));
    expect(r.initialMargin).toBeCloseTo((0.1 + markCoin) * F, 6);
    // ITM put K = 120000: OTM 0 → IM = 0.15 + mark; MM = max(0.075, 0.075·mark) + mark
    const pm = black76Reference(true, F, 120_000, 0.5, t, 0, false).price / F;
    const r2 = ok(eng.margin({ id: 'p', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-26FEB26-120000-P', size: -1 }] }));
    expect(r2.initialMargin).toBeCloseTo((0.15 + pm) * F, 6);
    expect(r2.maintenanceMargin).toBeCloseTo((Math.max(0.075, 0.075 * pm) + pm) * F, 6);
  });

  it('long options need no margin; futures tiers grow with size', () => {
    const r = ok(eng.margin({ id: 'l', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-26FEB26-100000-P', size: 2 }] }));
    expect(r.initialMargin).toBe(0);
    // 10 BTC linear future: IM = (2% + 0.005%·10)·10·F; inverse future of USD 1,000,000 = 10 BTC
    const lin = ok(eng.margin({ id: 'f', mode: 'cross', collateral: { USDC: 1e6 }, positions: [{ instrument: 'BTC_USDC-26FEB26', size: 10 }] }));
    expect(lin.initialMargin).toBeCloseTo(0.0205 * 1e6, 6);
    expect(lin.maintenanceMargin).toBeCloseTo(0.0105 * 1e6, 6);
    const inv = ok(eng.margin({ id: 'f', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-26FEB26', size: 1e6 }] }));
    expect(inv.initialMargin).toBeCloseTo(0.0205 * 1e6, 6);
    // ETH: 2% + 0.0004% per ETH: 1000 ETH at 3000 → 2.4% IM, 1.4% MM
    const e = ok(eng.margin({ id: 'e', mode: 'cross', collateral: { USDC: 1e7 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 1000 }] }));
    expect(e.initialMargin).toBeCloseTo(0.024 * 1000 * 3000, 6);
    expect(e.maintenanceMargin).toBeCloseTo(0.014 * 1000 * 3000, 6);
  });

  it("futures tiers reproduce Deribit's worked examples (support 'Linear Perpetual', BTC_USDC at 100,000)", () => {
    // 25 BTC: IM 2% + 25·0.005% = 2.125% → 53,125 USDC; MM 1.125% → 28,125 USDC
    const a = ok(eng.margin({ id: 'w', mode: 'cross', collateral: { USDC: 1e8 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 25 }] }));
    expect(a.initialMargin).toBeCloseTo(53_125, 6);
    expect(a.maintenanceMargin).toBeCloseTo(28_125, 6);
    // 350 BTC: IM 3.75% → 1,312,500 USDC (13.125 BTC)
    const b = ok(eng.margin({ id: 'w', mode: 'cross', collateral: { USDC: 1e8 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -350 }] }));
    expect(b.initialMargin).toBeCloseTo(1_312_500, 5);
    expect(b.perCurrency.USDC.initialMargin).toBeCloseTo(1_312_500, 5);
  });

  it('futures P&L from entry price enters equity (inverse: size × (1/entry − 1/F) coin)', () => {
    const inv = ok(eng.margin({ id: 'e', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 50_000, entryPrice: 80_000 }] }));
    expect(inv.equity).toBeCloseTo(100_000 + 50_000 * (1 / 80_000 - 1 / F) * 100_000, 6);
    expect(inv.greeks.BTC.delta).toBeCloseTo(50_000 / 80_000, 12);
    const lin = ok(eng.margin({ id: 'e', mode: 'cross', collateral: { USDC: 1000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 2, entryPrice: 90_000 }] }));
    expect(lin.equity).toBeCloseTo(1000 + 2 * 10_000, 6);
  });

  it('isolated: each position with its own collateral and health; cross pools', () => {
    const positions = [
      { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { USDC: 5000 } }, // IM 2005: healthy
      { instrument: 'BTC_USDC-PERPETUAL', size: -1, collateral: { USDC: 1500 } }, // IM 2005, MM 1005: margin call
    ];
    const iso = ok(eng.margin({ id: 'i', mode: 'isolated', collateral: { USDC: 100 }, positions }));
    expect(iso.positions.map((p) => p.health)).toEqual(['healthy', 'margin call']);
    expect(iso.health).toBe('margin call');
    expect(iso.equity).toBeCloseTo(6600, 9);
    expect(iso.availableFunds).toBeCloseTo(100 + (5000 - 2005), 6);
    const cross = ok(
      eng.margin({ id: 'c', mode: 'cross', collateral: { USDC: 6600 }, positions: positions.map(({ instrument, size }) => ({ instrument, size })) }),
    );
    expect(cross.initialMargin).toBeCloseTo(iso.initialMargin, 9);
    expect(cross.health).toBe('healthy');
  });

  it('isolated: a negative account-level balance larger than the positions\' equity makes the account bankrupt, on both kinds of model', () => {
    // by hand: equity = own balance + Σ positions' own collateral (P&L 0: no entry price, valued at mark) = −7000 + 5000 + 1500 = −500 < 0
    const positions = [
      { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { USDC: 5000 } },
      { instrument: 'BTC_USDC-PERPETUAL', size: -1, collateral: { USDC: 1500 } },
    ];
    const grid = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    for (const e of [eng, grid]) {
      const bad = ok(e.margin({ id: 'n', mode: 'isolated', collateral: { USDC: -7000 }, positions }));
      expect(bad.equity).toBeCloseTo(-500, 6);
      expect(bad.health).toBe('bankrupt');
      expect(bad.marginRatio).toBeNull();
      // −6000: equity +500 ≥ 0, so the account's health is its worst position's, as each position's own is unchanged
      const owing = ok(e.margin({ id: 'o', mode: 'isolated', collateral: { USDC: -6000 }, positions }));
      expect(owing.equity).toBeCloseTo(500, 6);
      const order = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];
      expect(owing.health).toBe(order[Math.max(...owing.positions.map((p) => order.indexOf(p.health!)))]);
      expect(owing.positions.map((p) => p.health)).toEqual(bad.positions.map((p) => p.health));
    }
  });

  it('health thresholds: margin call, liquidatable, bankrupt', () => {
    const acc = (usdc: number): AccountInput => ({ id: 'h', mode: 'cross', collateral: { USDC: usdc }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] });
    expect(ok(eng.margin(acc(1500))).health).toBe('margin call');
    expect(ok(eng.margin(acc(500))).health).toBe('liquidatable');
    const b = ok(eng.margin({ ...acc(100), positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 101_000 }] }));
    expect(b.health).toBe('bankrupt');
    expect(b.marginRatio).toBeNull();
  });

  it('liquidation price of a long linear future matches the closed form', () => {
    // equity(P) = C + (P − F0); MM(P) = (1% + 0.005%·1)·P → P* = (F0 − C)/(1 − 0.01005)
    const C = 30_000;
    const lp = eng.liquidationPrice({ id: 'l', mode: 'cross', collateral: { USDC: C }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] }, 'BTC');
    expect(lp.below!).toBeCloseTo((F - C) / (1 - 0.01005), 1);
    expect(lp.above).toBeNull();
    expect(lp.alreadyLiquidatable).toBe(false);
  });

  it("an isolated position's liquidation price is its own: the same closed form on its own collateral, whatever the account's balances", () => {
    // its own C USDC; the account's 1 000 000 USDC of its own and a short 0.1 BTC with 50 000 of its own do not protect it
    // (health.ts liquidationGap: the least of each position's own equity − own MM, and the account's equity)
    const C = 30_000;
    const a: AccountInput = {
      id: 'li',
      mode: 'isolated',
      collateral: { USDC: 1_000_000 },
      positions: [
        { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { USDC: C } },
        { instrument: 'BTC_USDC-PERPETUAL', size: -0.1, collateral: { USDC: 50_000 } },
      ],
    };
    const lp = eng.liquidationPrice(a, 'BTC');
    expect(lp.below!).toBeCloseTo((F - C) / (1 - 0.01005), 1);
    // the short's own: equity 50 000 − 0.1 (P − F), MM 0.1 P (1 % + 0.005 % × 0.1) → P* = (50 000 + 0.1 F)/(0.1 × (1 + 0.010005))
    expect(lp.above!).toBeCloseTo((50_000 + 0.1 * F) / (0.1 * (1 + 0.010005)), 1);
    expect(lp.alreadyLiquidatable).toBe(false);
  });
});
