/**
 * OKX portfolio margin (`okx-pm`) against OKX's own published figures and hand calculations.
 *
 * 1. The response example of OKX's position-builder API reference (POST
 *    /api/v5/account/position-builder, https://www.okx.com/docs-v5/en/#trading-account-rest-api-position-builder-new,
 *    ts 1736936801642 = 2025-01-15 10:26:41 UTC): a BTC risk unit (BTC-USDT-SWAP −10 contracts =
 *    −0.1 BTC), an LTC risk unit (LTC-USDT-SWAP +10 LTC) and a USDT loan. Inputs taken from the
 *    response: the index of each unit (its 4 % / 6 % scenario P&L ÷ (coin × move)) and each
 *    swap's mark in USD (its cash delta ÷ coin). Everything else — MR1 at 12 % / 18 %, MR6, MR4,
 *    MR7, the units' MMR and IMR, the borrowing MMR/IMR and the account totals — is asserted to
 *    the printed digits (1e-12 relative). The LTC unit runs on an ETH market slot with LTC's
 *    parameters (the engine is underlying-agnostic; the preset ships BTC and ETH only).
 * 2. OKX's MR7 scaling example (support article 4417291853837, 2021-12-21): MR = 40,000,
 *    MR7_raw = 30,000 → MR7_adj = 10,000 + 20,000 × 2 = 50,000 → MMR = 50,000.
 * 3. Hand calculations on small accounts (written out below) for every component.
 */
import { describe, expect, it } from 'vitest';
import { createMarginEngine, loadModel, tableMarket, type MarginModel, type MarginResult, type MarginResultOk, type OkxPmModel } from '../src/api/margin.js';
import { discountedAmount, hedgingVolume, mr7Adjusted, mr9Of, riskUnitMmr } from '../src/measures/okx-pm/arithmetic.js';

// ── OKX's position-builder response example (numbers copied verbatim) ──
const OKX = {
  btc: { pnl4: 388.1369748240002, delta: -9704.903689800001, mr1: 1164.4109244719994, mr6: 1164.4109244720003, mr6Pnl: -2328.8218489440005, mr4: 19.4098073796, mr7: 43.67206660410001, mmr: 1183.8207318516002, imr: 1538.9669514070802 },
  ltc: { pnl6: 61.168909352399936, delta: 1019.5308, mr1: 183.50672805719995, mr6: 183.5067280572, mr6Pnl: -367.0134561144, mr4: 8.1562464, mr7: 7.1367156, mmr: 191.6629744572, imr: 249.16186679436 },
  eq: -78553.21888979999,
  borrowMmr: 1571.064377796,
  derivMmr: 1375.4837063088003,
  totalMmr: 2946.5480841048,
  totalImr: 9643.45070718144,
};
const BTC_COIN = -0.1;
const LTC_COIN = 10;

function ok(r: MarginResult): MarginResultOk {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r;
}
function close(actual: number, expected: number, rel = 1e-12): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-12);
}

/** okx-pm with LTC's parameters (OKX's Jan-2025 tables: ±6/12/18 %, extreme ±36 %; the example's MR4 0.8 %, MR7 0.7 %) on the ETH slot. */
function withLtcUnit(): OkxPmModel {
  const m = structuredClone(loadModel('okx-pm').params) as OkxPmModel;
  m.id = 'okx-pm-ltc-test';
  m.riskUnits.ETH = { ...m.riskUnits.ETH, spotShocks: [0.06, 0.12, 0.18], extremeMove: 0.36, basis: { annualizedMoveRisk: 0.15, minRate: 0.008 }, minimumChargeRate: 0.007 };
  return m;
}

describe("okx-pm: OKX's position-builder example (2025-01-15)", () => {
  const market = tableMarket({
    valuationTime: 1736936801642,
    underlyings: {
      BTC: { spot: OKX.btc.pnl4 / (Math.abs(BTC_COIN) * 0.04), perpetual: OKX.btc.delta / BTC_COIN, vol: 0.5 },
      ETH: { spot: OKX.ltc.pnl6 / (LTC_COIN * 0.06), perpetual: OKX.ltc.delta / LTC_COIN, vol: 0.5 },
    },
  });
  const engine = createMarginEngine({ market, model: withLtcUnit() });
  const account = {
    id: 'okx-example',
    mode: 'portfolio',
    collateral: { USDC: OKX.eq },
    positions: [
      { instrument: 'BTC_USDC-PERPETUAL', size: BTC_COIN },
      { instrument: 'ETH_USDC-PERPETUAL', size: LTC_COIN },
    ],
  };
  const r = ok(engine.margin(account));
  const [btc, ltc] = r.okx!;

  it('BTC unit: MR1, MR6, MR4, MR7, MMR, IMR to the printed digits', () => {
    expect(btc.riskUnit).toBe('BTC');
    close(btc.mr1, OKX.btc.mr1);
    expect(btc.mr1Scenario.spotShock).toBe(0.12);
    close(btc.mr6, OKX.btc.mr6);
    close(btc.mr6Scenario.pnl, OKX.btc.mr6Pnl);
    expect(btc.mr6Scenario.spotShock).toBe(0.24);
    close(btc.mr4, OKX.btc.mr4);
    close(btc.mr7, OKX.btc.mr7);
    close(btc.delta, OKX.btc.delta);
    close(btc.mmr, OKX.btc.mmr);
    close(btc.imr, OKX.btc.imr);
    for (const k of ['mr2', 'mr3', 'mr5', 'mr9'] as const) expect(btc[k]).toBe(0);
  });

  it('LTC unit (same arithmetic, LTC parameters): MR1 at −18 %, MR6, MR4, MR7, MMR, IMR', () => {
    close(ltc.mr1, OKX.ltc.mr1);
    expect(ltc.mr1Scenario.spotShock).toBe(-0.18);
    close(ltc.mr6, OKX.ltc.mr6);
    close(ltc.mr6Scenario.pnl, OKX.ltc.mr6Pnl);
    close(ltc.mr4, OKX.ltc.mr4);
    close(ltc.mr7, OKX.ltc.mr7);
    close(ltc.mmr, OKX.ltc.mmr);
    close(ltc.imr, OKX.ltc.imr);
  });

  it("every MR1 scenario P&L OKX prints (volSame; a linear unit's are the same with vol up and down)", () => {
    const want = {
      BTC: { '0': 0, '0.04': -388.1369748240002, '-0.04': 388.1369748240002, '0.08': -776.2739496480004, '-0.08': 776.2739496480004, '0.12': -1164.4109244719994, '-0.12': 1164.4109244719994 },
      ETH: { '0': 0, '0.06': 61.168909352399936, '-0.06': -61.168909352399936, '0.12': 122.33781870480001, '-0.12': -122.33781870480001, '0.18': 183.50672805719995, '-0.18': -183.50672805719995 },
    } as Record<string, Record<string, number>>;
    for (const u of [btc, ltc]) {
      const got = Object.fromEntries(u.mr1Scenarios.map((x) => [String(x.spotShock), x.pnl]));
      expect(Object.keys(got).sort()).toEqual(Object.keys(want[u.riskUnit]).sort());
      for (const [k, v] of Object.entries(want[u.riskUnit])) close(got[k], v);
    }
  });

  it('account: borrowing MMR 2 % / IMR 10 % of the loan, derivMmr, totalMmr, totalImr', () => {
    close(r.components!.borrowMmr, OKX.borrowMmr);
    close(r.components!.borrowImr, 7855.32188898);
    close(r.components!.derivMmr, OKX.derivMmr);
    close(r.maintenanceMargin, OKX.totalMmr);
    close(r.initialMargin, OKX.totalImr);
  });
});

describe("okx-pm: MR7 scaling (OKX's example, 2021-12-21)", () => {
  const tiers2021 = [
    { upTo: 10_000, multiplier: 1 },
    { upTo: 70_000, multiplier: 2 },
    { upTo: 170_000, multiplier: 4 },
    { upTo: null, multiplier: 6 },
  ];
  it('MR7_adj = 10,000 + (30,000 − 10,000) × 2 = 50,000; MMR = max(40,000, 50,000)', () => {
    expect(mr7Adjusted(30_000, tiers2021)).toBe(50_000);
    expect(riskUnitMmr({ mr1: 40_000, mr2: 0, mr3: 0, mr4: 0, mr5: 0, mr6: 0, mr7: 50_000, mr9: 0 })).toBe(50_000);
    // and below the first bound nothing is scaled; across two bounds: 10,000 + 60,000 × 2 + 30,000 × 4
    expect(mr7Adjusted(8_000, tiers2021)).toBe(8_000);
    expect(mr7Adjusted(100_000, tiers2021)).toBe(10_000 + 120_000 + 120_000);
  });
});

describe('okx-pm: MR9 by hedging-volume slices', () => {
  it("OKX's MR9 example of its 2024-11-25 announcement (as summarised at pastorq.com/13690.html): 1M × 0.75 % + 4M × 1.75 % + 5M × 2.5 % = 202,500", () => {
    const tiers = [{ upTo: 1_000_000, factor: 0.0075 }, { upTo: 5_000_000, factor: 0.0175 }, { upTo: null, factor: 0.025 }];
    expect(mr9Of(10_000_000, tiers)).toBeCloseTo(202_500, 9);
    expect(hedgingVolume(-3, 5)).toBe(3);
    expect(hedgingVolume(3, 5)).toBe(0);
  });
});

describe('okx-pm: hand calculations on small accounts (shipped preset)', () => {
  const S = 100_000;
  const P = 100_050; // perpetual mark
  const Fq = 101_000; // BTC 25SEP26 forward
  const EXP = Date.UTC(2026, 8, 25, 8);
  const NOW = Date.UTC(2026, 5, 27, 8); // 90 days before expiry
  const T = 90 / 365;
  const market = tableMarket({ valuationTime: NOW, underlyings: { BTC: { spot: S, perpetual: P, vol: 0.5, expiries: [{ expiry: EXP, forward: Fq, vol: 0.5 }] }, ETH: { spot: 2_500, vol: 0.6 } } });
  const engine = createMarginEngine({ market, model: 'okx-pm' });
  const unit = (a: object) => ok(engine.margin(a)).okx![0];

  it('a coin balance alone is collateral, not a risk unit: IM = MM = 0', () => {
    const r = ok(engine.margin({ id: 'hodl', mode: 'portfolio', collateral: { BTC: 10 } }));
    expect(r.okx).toEqual([]);
    expect(r.initialMargin).toBe(0);
    expect(r.equity).toBe(10 * S);
  });

  it('short 10 BTC linear perp, no spot: MR1 = 10 × S × 12 %, MR6 = ½ × 10 × S × 24 %, MR4 = 0.2 % × 10 × P, MR7 = 0.45 % × 10 × P', () => {
    const x = unit({ id: 'short', mode: 'portfolio', collateral: { USDC: 500_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -10 }] });
    close(x.mr1, 10 * S * 0.12);
    close(x.mr6, 0.5 * 10 * S * 0.24);
    close(x.mr4, 0.002 * 10 * P);
    close(x.mr7, 0.0045 * 10 * P);
    close(x.mmr, 10 * S * 0.12 + 0.002 * 10 * P); // 120,000 + 2,001 = 122,001
    close(x.imr, 1.3 * 122_001);
  });

  it('spot in use: 4 BTC held against the short 10 leave 6 BTC shocked; 10 held hedge it fully (MR7 then binds)', () => {
    const part = unit({ id: 'p', mode: 'portfolio', collateral: { BTC: 4 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -10 }] });
    expect(part.spotInUse).toBe(4);
    close(part.mr1, 6 * S * 0.12);
    const full = unit({ id: 'f', mode: 'portfolio', collateral: { BTC: 12 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -10 }] });
    expect(full.spotInUse).toBe(10);
    expect(full.mr1).toBe(0);
    close(full.mmr, Math.max(0.002 * 10 * P, 0.0045 * 10 * P)); // 4,502.25
  });

  it('coin-margined hedge: 1 BTC and a short BTC-PERPETUAL of 1 BTC (−P USD) is fully hedged', () => {
    const x = unit({ id: 'inv', mode: 'portfolio', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -P }] });
    close(x.spotInUse, 1);
    expect(Math.abs(x.mr1)).toBeLessThan(1e-9);
    close(x.mr7, 0.0045 * P);
  });

  it('MR4 of a dated future: max(5 % × T, 0.2 %) × |cash delta|; a calendar spread with MR7 past its first tier', () => {
    const q = 500;
    const x = unit({ id: 'cal', mode: 'portfolio', collateral: { USDC: 10_000_000 }, positions: [
      { instrument: 'BTC_USDC-PERPETUAL', size: q },
      { instrument: 'BTC_USDC-25SEP26', size: -q },
    ] });
    const mr4 = q * P * 0.002 + q * Fq * Math.max(0.05 * T, 0.002); // 100,050 + 622,602.74
    close(x.mr4, mr4);
    expect(x.mr1).toBe(0);
    const raw = 0.0045 * q * (P + Fq); // 452,362.5
    close(x.mr7Raw, raw);
    close(x.mr7, 250_000 + (raw - 250_000) * 2); // 654,725
    close(x.mmr, Math.max(mr4, 654_725));
  });

  it('borrowing (MR8): −20,000 USDC → MMR 400, IMR 2,000 on top of the units', () => {
    const r = ok(engine.margin({ id: 'loan', mode: 'portfolio', collateral: { BTC: 1, USDC: -20_000 } }));
    close(r.maintenanceMargin, 400);
    close(r.initialMargin, 2_000);
    close(r.equity, S - 20_000);
  });

  it('tiered discount, slice by slice (the tier table OKX published for token X on 2025-04-17, applied to BTC)', () => {
    const m = structuredClone(loadModel('okx-pm').params) as OkxPmModel;
    m.id = 'okx-pm-discount-test';
    m.discountTiers = { BTC: [{ upTo: 120_000_000, rate: 0.85 }, { upTo: 200_000_000, rate: 0.79 }, { upTo: 250_000_000, rate: 0.76 }, { upTo: null, rate: 0.73 }] };
    expect(discountedAmount(150_000_000, m.discountTiers.BTC)).toBe(120_000_000 * 0.85 + 30_000_000 * 0.79);
    // OKX's API reference example for BTC (GET /api/v5/public/discount-rate-interest-free-quota): tier 1 [0, 20] at 0.98,
    // tier 2 (20, 25] at 0.9775, minDiscountRate 0 beyond the last tier (given as a final unbounded tier)
    const api = [{ upTo: 20, rate: 0.98 }, { upTo: 25, rate: 0.9775 }, { upTo: null, rate: 0 }];
    expect(discountedAmount(22, api)).toBeCloseTo(20 * 0.98 + 2 * 0.9775, 12); // 21.555
    expect(discountedAmount(30, api)).toBeCloseTo(20 * 0.98 + 5 * 0.9775, 12); // 24.4875: the 5 BTC beyond 25 count 0
    const e = createMarginEngine({ market, model: m as MarginModel });
    const r = ok(e.margin({ id: 'd', mode: 'portfolio', collateral: { BTC: 210_000_000 } }));
    close(r.equity, (120_000_000 * 0.85 + 80_000_000 * 0.79 + 10_000_000 * 0.76) * S);
  });
});

describe('okx-pm: bad input and bad parameters name the field', () => {
  const engine = createMarginEngine({ market: tableMarket({ valuationTime: Date.UTC(2026, 5, 1), underlyings: { BTC: { spot: 100_000, vol: 0.5 } } }), model: 'okx-pm' });
  const err = (a: object) => {
    const r = engine.margin(a);
    if (r.ok) throw new Error('expected an error');
    return r.error;
  };
  it('options, spot pairs, isolated mode, USD–USDC hedges (MR9 not sourced)', () => {
    expect(err({ id: 'o', mode: 'portfolio', positions: [{ instrument: 'BTC-25SEP26-60000-P', size: -1 }] })).toMatchObject({ code: 'OPTMARGIN_INVALID_INPUT', path: 'positions[0].instrument' });
    expect(err({ id: 's', mode: 'portfolio', positions: [{ instrument: 'BTC_USDC', size: 1 }] })).toMatchObject({ path: 'positions[0].instrument' });
    expect(err({ id: 'i', mode: 'isolated', positions: [] })).toMatchObject({ path: 'mode' });
    const e = err({ id: 'h', mode: 'portfolio', positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }, { instrument: 'BTC-PERPETUAL', size: -100_000 }] });
    expect(e.path).toBe('positions[1].instrument');
    expect(e.message).toMatch(/MR9/);
  });
  it('a bad preset field is INVALID_MODEL naming it', () => {
    const m = structuredClone(loadModel('okx-pm').params) as unknown as { riskUnits: { BTC: { spotShocks: unknown[]; minimumChargeTiers: unknown[] } } };
    m.riskUnits.BTC.spotShocks = [-0.1];
    expect(() => createMarginEngine({ market: engine.market, model: m as unknown as MarginModel })).toThrow(/riskUnits\.BTC\.spotShocks\[0\]/);
    const m2 = structuredClone(loadModel('okx-pm').params) as unknown as { riskUnits: { BTC: { minimumChargeTiers: unknown[] } } };
    m2.riskUnits.BTC.minimumChargeTiers = [{ upTo: 500, multiplier: 1 }, { upTo: 100, multiplier: 2 }];
    expect(() => createMarginEngine({ market: engine.market, model: m2 as unknown as MarginModel })).toThrow(/minimumChargeTiers\[1\]\.upTo/);
  });
});
