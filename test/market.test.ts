/**
 * The market model on synthetic snapshots whose answers follow from the stated formulas
 * (SVI, linear total variance in T, ln-linear forwards, Black-76 parity and densities).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerMarketCommand, runMarketCommand } from '../src/cli/market.js';
import { ErrorCodes, OptmarginError } from '../src/errors.js';
import { black76Reference } from '../src/pricing/reference.js';
import {
  defaultMarket,
  defaultMarketPath,
  fitSvi,
  loadMarket,
  marketFromDeribitCsv,
  marketHash,
  marketToJson,
  marketToMsgpack,
  MIN_SHOCKED_VOL,
  parityForward,
  pchipSlopes,
  compileSmile,
  resolveMarket,
  sviDensityG,
  sviTotalVariance,
  summarizeMarket,
  type MarketSnapshot,
  type SviSmile,
} from '../src/market/index.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const T0 = Date.UTC(2026, 0, 1, 8); // valuation: 1 Jan 2026 08:00 UTC
const E1 = T0 + 30 * DAY;
const E2 = T0 + 90 * DAY;
const S1: SviSmile = { model: 'svi-raw', a: 0.004, b: 0.05, rho: -0.3, m: 0.02, sigma: 0.15 };
const S2: SviSmile = { model: 'svi-raw', a: 0.015, b: 0.09, rho: -0.25, m: 0.03, sigma: 0.25 };

function sample(): MarketSnapshot {
  return {
    format: 'optmargin.market/1',
    valuationTime: T0,
    rate: 0,
    underlyings: [
      {
        underlying: 'BTC',
        index: 100_000,
        perpetual: 100_050,
        expiries: [
          { expiry: E1, forward: 100_500, forwardSource: 'future', smile: S1 },
          { expiry: E2, forward: 101_600, forwardSource: 'future', smile: S2 },
        ],
      },
      { underlying: 'ETH', index: 3000, expiries: [{ expiry: E1, forward: 3010, forwardSource: 'input', smile: { model: 'spline', k: [-0.2, 0, 0.2], vol: [0.8, 0.6, 0.7] } }] },
    ],
  };
}

const volOf = (s: SviSmile, k: number, t: number) => Math.sqrt(sviTotalVariance(s, k) / t);

function expectError(f: () => unknown, code: string, ...parts: string[]): void {
  try {
    f();
    expect.unreachable('should have thrown');
  } catch (e) {
    expect(e).toBeInstanceOf(OptmarginError);
    expect((e as OptmarginError).code).toBe(code);
    for (const p of parts) expect((e as Error).message).toContain(p);
  }
}

describe('ResolvedMarket: forwards, vols and the interpolation rules', () => {
  const rm = resolveMarket(sample());
  const t1 = 30 / 365;
  const t2 = 90 / 365;

  it('spot, perpetual, listed forwards, ACT/365 time', () => {
    expect(rm.underlyings).toEqual(['BTC', 'ETH']);
    expect(rm.spot('BTC')).toBe(100_000);
    expect(rm.perpetual('BTC')).toBe(100_050);
    expect(rm.perpetual('ETH')).toBe(3000); // no perpetual mark: the index
    expect(rm.timeToExpiry(E1)).toBeCloseTo(30 / 365, 15);
    expect(rm.forward('BTC', E1)).toBeCloseTo(100_500, 8);
    expect(rm.forward('BTC', E2)).toBeCloseTo(101_600, 8);
  });

  it('forward between expiries: ln F linear in T; before the first from the index; after the last, last carry', () => {
    const tm = 60 / 365;
    const expected = Math.exp(Math.log(100_500) + ((Math.log(101_600) - Math.log(100_500)) * (tm - t1)) / (t2 - t1));
    expect(rm.forward('BTC', T0 + 60 * DAY)).toBeCloseTo(expected, 8);
    const t10 = 10 / 365;
    expect(rm.forward('BTC', T0 + 10 * DAY)).toBeCloseTo(100_000 * Math.pow(100_500 / 100_000, t10 / t1), 8);
    const t180 = 180 / 365;
    const carry = (Math.log(101_600) - Math.log(100_500)) / (t2 - t1);
    expect(rm.forward('BTC', T0 + 180 * DAY)).toBeCloseTo(101_600 * Math.exp(carry * (t180 - t2)), 6);
    expect(rm.forward('BTC', T0 - DAY)).toBe(100_000); // expired: the index
  });

  it('vol at a listed expiry is the SVI formula at k = ln(K/F)', () => {
    for (const K of [60_000, 90_000, 100_500, 120_000, 200_000]) {
      expect(rm.vol('BTC', E1, K)).toBeCloseTo(volOf(S1, Math.log(K / 100_500), t1), 12);
      expect(rm.vol('BTC', E2, K)).toBeCloseTo(volOf(S2, Math.log(K / 101_600), t2), 12);
    }
  });

  it('between expiries total variance is linear in T at fixed k (flat forward variance)', () => {
    const e = T0 + 50 * DAY;
    const t = 50 / 365;
    const f = rm.forward('BTC', e);
    for (const K of [80_000, 101_000, 130_000]) {
      const k = Math.log(K / f);
      const w = sviTotalVariance(S1, k) + ((sviTotalVariance(S2, k) - sviTotalVariance(S1, k)) * (t - t1)) / (t2 - t1);
      expect(rm.vol('BTC', e, K)).toBeCloseTo(Math.sqrt(w / t), 12);
    }
  });

  it('before the first and after the last expiry the vol at fixed k is held', () => {
    const eEarly = T0 + 5 * DAY;
    const fE = rm.forward('BTC', eEarly);
    expect(rm.vol('BTC', eEarly, fE * 1.1)).toBeCloseTo(volOf(S1, Math.log(1.1), t1), 12);
    const eLate = T0 + 365 * DAY;
    const fL = rm.forward('BTC', eLate);
    expect(rm.vol('BTC', eLate, fL * 0.8)).toBeCloseTo(volOf(S2, Math.log(0.8), t2), 12);
  });

  it('spline smile: passes through its nodes, flat vol beyond them', () => {
    const f = rm.forward('ETH', E1);
    expect(rm.vol('ETH', E1, f)).toBeCloseTo(0.6, 12);
    expect(rm.vol('ETH', E1, f * Math.exp(-0.2))).toBeCloseTo(0.8, 12);
    expect(rm.vol('ETH', E1, f * Math.exp(0.2))).toBeCloseTo(0.7, 12);
    expect(rm.vol('ETH', E1, f * 10)).toBeCloseTo(0.7, 12);
    expect(rm.vol('ETH', E1, f / 10)).toBeCloseTo(0.8, 12);
  });

  it('batch volInto / impliedVolInto equal the scalar vol', () => {
    const K = Float64Array.from([50_000, 70_000, 95_000, 100_000, 105_000, 150_000, 300_000]);
    const out = new Float64Array(K.length);
    for (const e of [E1, T0 + 45 * DAY, E2, T0 + 400 * DAY]) {
      rm.volInto('BTC', e, K, out);
      K.forEach((k, i) => expect(out[i]).toBe(rm.vol('BTC', e, k)));
    }
    const out2 = new Float64Array(K.length);
    rm.impliedVolInto('BTC', 1, K, out2);
    rm.volInto('BTC', E2, K, out);
    expect(Array.from(out2)).toEqual(Array.from(out));
    expect(Array.from(rm.smileExpiries('BTC'))).toEqual([E1, E2]);
  });

  it('errors: unknown underlying, expired expiry, bad strike, bad expiry index', () => {
    expectError(() => rm.spot('SOL'), ErrorCodes.MISSING_MARKET_DATA, '"SOL"', 'BTC, ETH');
    expectError(() => rm.vol('BTC', T0, 100_000), ErrorCodes.MISSING_MARKET_DATA, 'not after the valuation time');
    expectError(() => rm.vol('BTC', E1, -5), ErrorCodes.INVALID_INPUT, 'strike must be > 0, got -5');
    expectError(() => rm.impliedVolInto('BTC', 2, new Float64Array(1), new Float64Array(1)), ErrorCodes.INVALID_INPUT, 'expiryIndex');
  });
});

describe('shocked markets', () => {
  const rm = resolveMarket(sample());

  it('a price move scales index, perpetual and forwards; the smile moves with the forward', () => {
    const s = rm.shocked({ priceMove: { BTC: -0.16 } });
    expect(s.spot('BTC')).toBeCloseTo(84_000, 8);
    expect(s.perpetual('BTC')).toBeCloseTo(100_050 * 0.84, 8);
    expect(s.forward('BTC', E1)).toBeCloseTo(100_500 * 0.84, 8);
    expect(s.forward('BTC', T0 + 60 * DAY)).toBeCloseTo(rm.forward('BTC', T0 + 60 * DAY) * 0.84, 8);
    expect(s.spot('ETH')).toBe(3000);
    // sticky moneyness: σ'(K·0.84) = σ(K)
    expect(s.vol('BTC', E1, 90_000 * 0.84)).toBeCloseTo(rm.vol('BTC', E1, 90_000), 12);
    // the base is untouched
    expect(rm.spot('BTC')).toBe(100_000);
    expect(rm.shock).toBeNull();
  });

  it('parallel, term-scaled and relative vol shifts', () => {
    const K = 95_000;
    expect(rm.shocked({ volShift: 0.05 }).vol('BTC', E1, K)).toBeCloseTo(rm.vol('BTC', E1, K) + 0.05, 14);
    expect(rm.shocked({ volShift: { ETH: 0.1 } }).vol('BTC', E1, K)).toBe(rm.vol('BTC', E1, K));
    // Deribit's form: shift(T) = base × (30/days)^0.3; at 30 days = base, at 90 days = base × (1/3)^0.3
    const term = rm.shocked({ volShift: { BTC: { kind: 'term', base: 0.38, power: 0.3 } } });
    expect(term.vol('BTC', E1, K)).toBeCloseTo(rm.vol('BTC', E1, K) + 0.38, 12);
    expect(term.vol('BTC', E2, K)).toBeCloseTo(rm.vol('BTC', E2, K) + 0.38 * Math.pow(30 / 90, 0.3), 12);
    const e45 = T0 + 45 * DAY;
    expect(term.vol('BTC', e45, K)).toBeCloseTo(rm.vol('BTC', e45, K) + 0.38 * Math.pow(30 / 45, 0.3), 12);
    const fn = rm.shocked({ volShift: { BTC: (t: number) => -0.1 * Math.sqrt(30 / 365 / t) } });
    expect(fn.vol('BTC', E2, K)).toBeCloseTo(rm.vol('BTC', E2, K) - 0.1 * Math.sqrt(30 / 90), 12);
    const rel = rm.shocked({ volShift: { BTC: { kind: 'parallel', shift: -0.25, mode: 'relative' } } });
    expect(rel.vol('BTC', E1, K)).toBeCloseTo(rm.vol('BTC', E1, K) * 0.75, 12);
    expect(rm.shocked({ volShift: -5 }).vol('BTC', E1, K)).toBe(MIN_SHOCKED_VOL);
  });

  it('shocks compose and reject bad input', () => {
    const a = rm.shocked({ priceMove: 0.1, volShift: 0.02 }).shocked({ priceMove: { BTC: -0.5 }, volShift: 0.03 });
    expect(a.spot('BTC')).toBeCloseTo(100_000 * 1.1 * 0.5, 8);
    expect(a.spot('ETH')).toBeCloseTo(3300, 8);
    expect(a.vol('BTC', E1, 100_000 * 0.55)).toBeCloseTo(rm.vol('BTC', E1, 100_000) + 0.05, 12);
    expectError(() => rm.shocked({ priceMove: { SOL: 0.1 } }), ErrorCodes.INVALID_INPUT, 'shock.priceMove.SOL');
    expectError(() => rm.shocked({ priceMove: { BTC: -1 } }), ErrorCodes.INVALID_INPUT, 'shock.priceMove.BTC must be a finite relative move > -1, got -1');
    expectError(() => rm.shocked({ volShift: { BTC: { kind: 'term', base: 0.3, power: Number.NaN } } }), ErrorCodes.INVALID_INPUT, 'shock.volShift.BTC.power');
  });

  it('shocked views: each of 1000 views gives the hand value (base vol at K/(1 + move) + term shift), sharing the base arrays', () => {
    const K = Float64Array.from({ length: 9 }, (_, i) => 80_000 + 5_000 * i);
    const out = new Float64Array(9);
    const days = rm.timeToExpiry(E2) * 365;
    for (let i = 0; i < 1000; i++) {
      const move = -0.16 + (0.32 * (i % 9)) / 8;
      const base = 0.3 * ((i % 3) - 1);
      const s = rm.shocked({ priceMove: { BTC: move }, volShift: { BTC: { kind: 'term', base, power: 0.3 } } });
      s.volInto('BTC', E2, K, out);
      // sticky moneyness: the moved smile at K is today's at K/(1 + move); the shift base·(30/days)^0.3, floored at 1 %
      for (const j of [0, 4, 8]) {
        const want = Math.max(0.01, rm.vol('BTC', E2, K[j] / (1 + move)) + base * Math.pow(30 / Math.max(days, 1), 0.3));
        expect(out[j], `view ${i} strike ${K[j]}`).toBeCloseTo(want, 12);
      }
    }
  });

});

describe('SVI, spline and parity building blocks against independent formulas', () => {
  it('fitSvi recovers the smile that generated the vols', () => {
    const t = 0.25;
    const k = Array.from({ length: 25 }, (_, i) => -0.8 + (1.4 * i) / 24);
    const vol = k.map((x) => volOf(S2, x, t));
    const r = fitSvi({ k, vol, t });
    expect(r.maxVolError).toBeLessThan(1e-4);
    expect(r.butterflyFree).toBe(true);
    for (const x of [-1.5, -0.3, 0, 0.4, 1.5]) expect(volOf(r.smile, x, t)).toBeCloseTo(volOf(S2, x, t), 3);
  });

  it("Gatheral's g(k) equals the Black-76 butterfly density ∂²C/∂K² × K·√(2πw)·e^{d2²/2} (F = 1)", () => {
    const t = 0.5;
    for (const k of [-0.6, -0.2, 0, 0.15, 0.5]) {
      const K = Math.exp(k);
      const h = 1e-4 * K;
      const C = (x: number) => black76Reference(false, 1, x, volOf(S2, Math.log(x), t), t, 0, false).price;
      const d2C = (C(K + h) - 2 * C(K) + C(K - h)) / (h * h);
      const w = sviTotalVariance(S2, k);
      const d2 = -k / Math.sqrt(w) - Math.sqrt(w) / 2;
      // flat vol: ∂²C/∂K² = n(d2)/(K√w), so g = 1; SVI: g = ∂²C/∂K² · K√w / n(d2)
      const g = (d2C * K * Math.sqrt(2 * Math.PI * w)) / Math.exp(-0.5 * d2 * d2);
      expect(sviDensityG(S2, k)).toBeCloseTo(g, 4);
    }
  });

  it('PCHIP: interpolates, keeps monotone data monotone, reproduces straight lines', () => {
    const x = [0, 1, 2, 3, 5];
    const y = [0, 0.1, 1.5, 1.6, 1.6];
    const c = compileSmile({ model: 'spline', k: x, vol: y.map((v) => Math.sqrt(v + 0.01)) }, 1);
    let prev = -Infinity;
    for (let i = 0; i <= 500; i++) {
      const v = c.variance(i / 100);
      expect(v).toBeGreaterThanOrEqual(prev - 1e-15);
      prev = v;
    }
    x.forEach((xi, i) => expect(c.variance(xi)).toBeCloseTo(y[i] + 0.01, 14));
    const d = pchipSlopes([0, 1, 3, 4], [1, 3, 7, 9]);
    expect(Array.from(d)).toEqual([2, 2, 2, 2]);
  });

  it('put–call parity recovers the forward of Black-76 inverse and linear prices', () => {
    const F = 70_123.45;
    const pairs = [60_000, 65_000, 70_000, 75_000, 80_000].map((K) => ({
      strike: K,
      call: black76Reference(false, F, K, 0.6, 0.1, 0, true).price,
      put: black76Reference(true, F, K, 0.6, 0.1, 0, true).price,
    }));
    expect(parityForward(pairs, 'inverse')).toBeCloseTo(F, 6);
    const lin = pairs.map((p) => ({ ...p, call: p.call * F, put: p.put * F }));
    expect(parityForward(lin, 'linear')).toBeCloseTo(F, 6);
  });
});

describe('snapshot files: JSON, msgpack, hash, validation, Deribit CSV, default market, CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-market-'));

  it('JSON and msgpack round-trip to the same content hash; the hash ignores key order', () => {
    const s = sample();
    const h = marketHash(resolveMarket(s).snapshot);
    const pj = join(dir, 'm.json');
    const pm = join(dir, 'm.msgpack');
    writeFileSync(pj, marketToJson(s));
    writeFileSync(pm, marketToMsgpack(s));
    expect(marketHash(loadMarket(pj))).toBe(h);
    expect(marketHash(loadMarket(pm))).toBe(h);
    const reordered = JSON.parse(JSON.stringify({ underlyings: s.underlyings, rate: 0, valuationTime: T0, format: s.format }));
    expect(marketHash(loadMarket(Buffer.from(JSON.stringify(reordered))))).toBe(h);
    const moved = sample();
    moved.underlyings[0].expiries[0].forward += 0.01;
    expect(marketHash(moved)).not.toBe(marketHash(s));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
  });

  it('validation names the field and the value', () => {
    const bad = sample() as unknown as { underlyings: { expiries: Record<string, unknown>[] }[] };
    bad.underlyings[0].expiries[1].forward = -5;
    expectError(() => resolveMarket(bad as unknown as MarketSnapshot), ErrorCodes.INVALID_INPUT, 'market.underlyings[0].expiries[1].forward must be > 0, got -5');
    const arb = sample();
    arb.underlyings[0].expiries[0].smile = { ...S1, b: 3, rho: 0 };
    expectError(() => resolveMarket(arb), ErrorCodes.INVALID_INPUT, 'market.underlyings[0].expiries[0].smile', "Lee's bound");
    const iso = JSON.parse(marketToJson(sample()));
    iso.valuationTime = '2026-01-01T08:00:00Z';
    iso.underlyings[0].expiries[0].expiry = '2026-01-31T08:00:00Z';
    const v = loadMarket(Buffer.from(JSON.stringify(iso)));
    expect(v.valuationTime).toBe(T0);
    expect(v.underlyings[0].expiries[0].expiry).toBe(E1);
    iso.underlyings[0].expiries[0].expiry = '2025-12-01T08:00:00Z';
    expectError(() => loadMarket(Buffer.from(JSON.stringify(iso))), ErrorCodes.INVALID_INPUT, 'expiries[0].expiry must be after valuationTime');
    expectError(() => loadMarket(join(dir, 'nope.json')), ErrorCodes.INVALID_FILE, 'nope.json');
    expectError(() => loadMarket(Buffer.from([0xc1, 0x00, 0x01])), ErrorCodes.INVALID_FILE, 'msgpack');
    expectError(() => loadMarket(Buffer.from('{"format": "optmargin.market/1", ')), ErrorCodes.INVALID_FILE, 'market buffer is not valid JSON (at byte');
  });

  it('Deribit CSV: errors name the line, instrument and column', () => {
    const head = 'timestamp,instrument_name,underlying,option_type,strike,mark_price,futures_price,futures_instrument_name,implied_volatility,open_interest,currency,index_price';
    const row = (name: string, iv: string) => `2026-01-01T08:00:00.123456+00:00,${name},100000,call,100000,0.05,100000,BTC-27MAR26,${iv},12.5,BTC,99900`;
    const ok = [head, row('BTC-27MAR26-90000-C', '0.55'), row('BTC-27MAR26-100000-C', '0.5'), row('BTC-27MAR26-110000-C', '0.52')].join('\n');
    const s = marketFromDeribitCsv(ok);
    expect(s.valuationTime).toBe(Date.UTC(2026, 0, 1, 8, 0, 0, 123));
    expect(s.underlyings[0].expiries[0].forwardSource).toBe('future');
    expect(resolveMarket(s).openInterest('BTC-27MAR26-90000-C')).toBe(12.5);
    expectError(() => marketFromDeribitCsv([head, row('BTC-27MAR26-90000-C', 'abc')].join('\n')), ErrorCodes.INVALID_INPUT, 'line 2 (BTC-27MAR26-90000-C) implied_volatility must be a number >= 0, got "abc"');
    expectError(() => marketFromDeribitCsv([head, row('BTC-27MAR26-90000-Q', '0.5')].join('\n')), ErrorCodes.INVALID_INSTRUMENT, 'BTC-27MAR26-90000-Q');
    expectError(() => marketFromDeribitCsv(head.replace(',mark_price', '') + '\n' + row('BTC-27MAR26-90000-C', '0.5')), ErrorCodes.INVALID_FILE, 'missing column "mark_price"');
  });

  it('the shipped default market loads, resolves and is compact', () => {
    const m = defaultMarket();
    expect(m.underlyings.map((u) => u.underlying)).toEqual(['BTC', 'ETH']);
    expect(m.instruments).toBeUndefined(); // fitted parameters only, no quotes
    const rm = resolveMarket(m);
    for (const u of m.underlyings) {
      expect(u.expiries.length).toBeGreaterThan(5);
      for (const e of u.expiries) {
        expect(e.smile?.model).toBe('svi-raw');
        expect(e.fit?.butterflyFree).toBe(true);
        const atm = rm.atmVol(u.underlying, e.expiry);
        expect(atm).toBeGreaterThan(0.15);
        expect(atm).toBeLessThan(1.5);
      }
    }
    const summary = summarizeMarket(m);
    expect(summary.hash).toBe(marketHash(m));
    expect(defaultMarketPath()).toMatch(/data[\\/]default-market\.json$/);
  });

  it('CLI: `optmargin market FILE` prints a table, --json prints JSON, errors are OptmarginErrors', async () => {
    let out = '';
    runMarketCommand(defaultMarketPath(), {}, (s) => (out += s));
    expect(out).toContain('BTC  index');
    expect(out).toContain('ATM vol %');
    out = '';
    runMarketCommand(defaultMarketPath(), { json: true }, (s) => (out += s));
    const j = JSON.parse(out);
    expect(j.underlyings[0].expiries[0].forward).toBeGreaterThan(0);
    expectError(() => runMarketCommand(join(dir, 'missing.csv'), {}, () => {}), ErrorCodes.INVALID_FILE, 'missing.csv');
    // through commander, with --out msgpack
    const program = new Command().exitOverride();
    registerMarketCommand(program);
    const pm = join(dir, 'out.msgpack');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'optmargin', 'market', defaultMarketPath(), '--out', pm]);
    } finally {
      process.stdout.write = write;
    }
    expect(marketHash(loadMarket(pm))).toBe(marketHash(defaultMarket()));
  });
});
