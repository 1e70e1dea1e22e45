/**
 * The scenario template of a grid model, by hand: moves from fractions of each side's scan
 * range or absolute extended moves, per-underlying scan overrides, labels, the invalid-move
 * error, and the term vol shock's branches (relative/absolute, floor, minimum days, long-term
 * power) — each from the formulas written in the presets' descriptions and docs/margin.md.
 */
import { describe, expect, it } from 'vitest';
import { margin } from '../src/index.js';
import { shockedVolsInto, TermShockSizes } from '../src/scenarios/vol-shock.js';
import { gridPreset } from './hand-grid.js';

type GridModel = margin.GridModel;
type VolShockParams = margin.VolShockParams;
const { buildScenarios, createMarginEngine, gridScenarioSet, listModels, loadModel, scanFor, shockVol, tableMarket, volShockSize } = margin;

const base = gridPreset('deribit-pm');
const asym: GridModel = {
  ...structuredClone(base),
  id: 'asym',
  scan: { ...base.scan, rangeUp: 0.2, rangeDown: 0.1 },
  scanByUnderlying: { ETH: { rangeUp: 0.3, vol: { up: 0.5 } } },
  scenarios: [
    { range: 1, vol: 'up', weight: 1 },
    { range: -1, vol: 'down', weight: 1 },
    { range: 0.5, vol: 'same', weight: 1 },
    { range: 0, vol: 'same', weight: 1 },
    { move: -0.125, vol: 'same', weight: 0.5 },
    { move: 2.5, vol: 'up', weight: 0.1, label: 'extreme up' },
  ],
};

describe('grid scenario template', () => {
  it('moves: range × rangeUp above 0, × rangeDown below; extended moves as given; labels', () => {
    const sc = buildScenarios(asym, 'BTC', 100_000);
    expect(Array.from(sc.moves)).toEqual([0.2, -0.1, 0.1, 0, -0.125, 2.5]);
    expect(Array.from(sc.weights)).toEqual([1, 1, 1, 1, 0.5, 0.1]);
    expect(sc.info.map((i) => i.label)).toEqual(['+20% vol up', '-10% vol down', '+10% vol same', '+0% vol same', '-12.50% vol same', 'extreme up']);
    expect(sc.info.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sc.info[4]).toMatchObject({ priceMove: -0.125, vol: 'same', weight: 0.5 });
    expect(sc.spot).toBe(100_000);
    expect(sc.underlying).toBe('BTC');
  });

  it('per-underlying overrides: ETH moves 30 % up, its vol shock up is 0.5, the rest inherited', () => {
    expect(scanFor(asym, 'BTC')).toBe(asym.scan);
    const eth = scanFor(asym, 'ETH');
    expect(eth.rangeUp).toBe(0.3);
    expect(eth.rangeDown).toBe(0.1);
    expect(eth.vol).toEqual({ ...asym.scan.vol, up: 0.5 });
    expect(Array.from(buildScenarios(asym, 'ETH', 3000).moves).slice(0, 3)).toEqual([0.3, -0.1, 0.15]);
  });

  it('a move to or below zero is a model error naming the scenario', () => {
    const bad: GridModel = { ...structuredClone(asym), id: 'bad', scenarios: [{ move: -1, vol: 'same', weight: 1 }] };
    expect(() => buildScenarios(bad, 'BTC', 100_000)).toThrow('bad: scenarios[0] moves BTC by -100.0%, which takes the price to or below zero');
    const worse: GridModel = { ...structuredClone(asym), id: 'worse', scan: { ...asym.scan, rangeDown: 1.5 }, scenarios: [{ range: -1, vol: 'same', weight: 1 }] };
    expect(() => buildScenarios(worse, 'ETH', 3000)).toThrow(/scenarios\[0\] moves ETH by -150\.0%/);
  });

  it('the engine uses the per-underlying scan: a long ETH perpetual loses 10 % at worst, a short one 30 %', () => {
    const market = tableMarket({ valuationTime: Date.UTC(2026, 0, 27, 8), underlyings: { ETH: { spot: 3000, vol: 0.7 } } });
    const eng = createMarginEngine({ market, model: { ...structuredClone(asym), addOns: {} } });
    const im = (size: number) => {
      const r = eng.margin({ id: 'e', mode: 'portfolio', collateral: { USDC: 1e5 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size }] });
      if (!r.ok) throw new Error(r.error.message);
      return r.initialMargin;
    };
    expect(im(2)).toBeCloseTo(2 * 3000 * 0.125 * 0.5 > 2 * 3000 * 0.1 ? 2 * 3000 * 0.125 * 0.5 : 2 * 3000 * 0.1, 9);
    expect(im(-2)).toBeCloseTo(Math.max(2 * 3000 * 0.3, 2 * 3000 * 2.5 * 0.1), 9);
  });
});

describe('term vol shock', () => {
  const rel: VolShockParams = { up: 0.38, down: 0.38, power: 0.3, referenceDays: 30, minDays: 1, mode: 'relative', floor: 0.01 };
  const abs: VolShockParams = { up: 0.1, down: 0.25, power: 0, referenceDays: 30, minDays: 1, mode: 'absolute', floor: 0.05 };
  const lyra: VolShockParams = { ...rel, up: 0.45, down: 0.3, longTermPower: 0.13, longTermAfterDays: 30 };

  it('relative: σ(1 ± base·(30/days)^p), days floored at minDays; unchanged when dir is 0', () => {
    expect(shockVol(rel, 0.5, 1, 7 / 365)).toBeCloseTo(0.5 * (1 + 0.38 * Math.pow(30 / 7, 0.3)), 14);
    expect(shockVol(rel, 0.5, -1, 60 / 365)).toBeCloseTo(0.5 * (1 - 0.38 * Math.pow(30 / 60, 0.3)), 14);
    expect(shockVol(rel, 0.5, 1, 0.2 / 365)).toBeCloseTo(0.5 * (1 + 0.38 * Math.pow(30, 0.3)), 14);
    expect(shockVol(rel, 0.5, 0, 7 / 365)).toBe(0.5);
    // a 7-day down shock of 38 %·(30/7)^0.3 > 58 % leaves more than the floor
    expect(shockVol(rel, 0.02, -1, 1 / 365)).toBe(0.01);
  });

  it('absolute: σ ± size, the down side floored', () => {
    expect(shockVol(abs, 0.5, 1, 0.3)).toBeCloseTo(0.6, 14);
    expect(shockVol(abs, 0.5, -1, 0.3)).toBeCloseTo(0.25, 14);
    expect(shockVol(abs, 0.2, -1, 0.3)).toBe(0.05);
  });

  it('long-term power beyond longTermAfterDays (Lyra/Derive: 0.3 up to 30 days, 0.13 after)', () => {
    expect(volShockSize(lyra, 0.45, 20 / 365)).toBeCloseTo(0.45 * Math.pow(30 / 20, 0.3), 14);
    expect(volShockSize(lyra, 0.45, 30 / 365)).toBeCloseTo(0.45, 14);
    expect(volShockSize(lyra, 0.45, 90 / 365)).toBeCloseTo(0.45 * Math.pow(30 / 90, 0.13), 14);
    expect(volShockSize(rel, 0.38, 90 / 365)).toBeCloseTo(0.38 * Math.pow(30 / 90, 0.3), 14);
    const noAfter = { ...lyra, longTermAfterDays: undefined };
    expect(volShockSize(noAfter, 0.45, 45 / 365)).toBeCloseTo(0.45 * Math.pow(30 / 45, 0.13), 14);
  });

  it('the sizes kept per expiry (TermShockSizes) and the vols written from them, by hand', () => {
    const sizes = new TermShockSizes();
    const e20 = sizes.of(lyra, 20 / 365);
    const e90 = sizes.of(lyra, 90 / 365);
    expect(sizes.of(lyra, 20 / 365)).toBe(e20); // the same expiry: its entry, not a new one
    expect(sizes.of(rel, 20 / 365)).not.toBe(e20); // other params: their own entry
    expect(sizes.upAt(e20)).toBeCloseTo(lyra.up * Math.pow(30 / 20, 0.3), 14);
    expect(sizes.downAt(e90)).toBeCloseTo(lyra.down * Math.pow(30 / 90, 0.13), 14);
    expect(sizes.upAt(sizes.of(rel, 20 / 365))).toBeCloseTo(0.38 * Math.pow(30 / 20, 0.3), 14);
    // scenarios up, down, unchanged of a 60-day option (rel: relative shock, power 0.3) at σ 0.5
    const out = new Float64Array(3);
    const dir = Int8Array.from([1, -1, 0]);
    for (let k = 0; k < 2; k++) shockedVolsInto({ kind: 'term', params: rel, dir }, 60 / 365, 1, 1, new Float64Array(3), Float64Array.from([0.5, 0.5, 0.5]), 3, out, sizes);
    expect(out[0]).toBeCloseTo(0.5 * (1 + 0.38 * Math.pow(30 / 60, 0.3)), 14);
    expect(out[1]).toBeCloseTo(0.5 * (1 - 0.38 * Math.pow(30 / 60, 0.3)), 14);
    expect(out[2]).toBe(0.5);
  });
});

describe('surface vol shock (historical and stress sets): σ′ = max(floor, σ·ratio[s] + shift(s, days, ln(K/F′)))', () => {
  // F′ = F(1 + move[s]); days = t·365. The shift below is a hand-made function of its three inputs.
  const t = 73 / 365;
  const K = 90_000;
  const F = 100_000;
  const moves = Float64Array.from([0.25, -0.2, 0]);
  const base = Float64Array.from([0.5, 0.6, 0.04]);
  const ratio = Float64Array.from([1.2, 0.5, 0.5]);
  const shift = (s: number, days: number, lm: number) => 0.001 * days + lm + s / 100;
  it('each scenario by hand, the floor included', () => {
    const out = new Float64Array(4).fill(-1);
    shockedVolsInto({ kind: 'surface', ratio, floor: 0.05, shift }, t, K, F, moves, base, 3, out, new TermShockSizes());
    // s0: 0.6 + 0.073 + ln(90,000/125,000); s1: 0.3 + 0.073 + ln(90,000/80,000) + 0.01; s2: 0.02 + 0.073 + ln 0.9 + 0.02 < 0.05
    expect(out[0]).toBeCloseTo(0.6 + 0.073 + Math.log(0.72), 14);
    expect(out[1]).toBeCloseTo(0.3 + 0.073 + Math.log(1.125) + 0.01, 14);
    expect(out[2]).toBe(0.05);
    expect(out[3]).toBe(-1);
  });
  it('without a shift: σ·ratio, floored', () => {
    const out = new Float64Array(3);
    shockedVolsInto({ kind: 'surface', ratio, floor: 0.05 }, t, K, F, moves, base, 3, out, new TermShockSizes());
    expect(Array.from(out)).toEqual([0.6, 0.3, 0.05]);
  });
});

describe('grid scenario set', () => {
  it('is named grid:<model id>@<version> and has one scenario per template row', () => {
    const m = gridPreset('deribit-pm');
    const set = gridScenarioSet(m);
    expect(set.id).toBe('grid:deribit-pm-2024.1@2024.1');
    expect(set.size).toBe(m.scenarios.length);
  });
});
