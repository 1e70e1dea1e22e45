import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMarginEngine,
  buildRiskArrays,
  loadModel,
  referencePriceOnlyInto,
  setMarginPricer,
  shockVol,
  tableMarket,
  type AccountInput,
  type GridModel,
  type MarginResult,
  type MarginResultOk,
  type PositionInput,
} from '../src/api/margin.js';
import { black76Reference } from '../src/pricing/reference.js';
import { sharedSkipNote } from './helpers.js';

const T0 = Date.UTC(2026, 0, 27, 8);
const day = 86_400_000;
const E7 = T0 + 7 * day; // 3FEB26
const E30 = T0 + 30 * day; // 26FEB26
const E90 = T0 + 90 * day; // 27APR26

const market = tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: {
      spot: 100_000,
      carry: 0.05,
      vol: 0.5,
      expiries: [
        { expiry: E7, forward: 100_100, vol: 0.55 },
        { expiry: E30, forward: 100_400, vol: 0.5 },
        { expiry: E90, forward: 101_200, vol: 0.48 },
      ],
    },
    ETH: { spot: 3_000, vol: 0.7, carry: 0.05 },
  },
});

function ok(r: MarginResult): MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}

const acc = (positions: PositionInput[], collateral: Record<string, number> = { USDC: 1e6 }, mode: AccountInput['mode'] = 'portfolio'): AccountInput => ({
  id: 'a',
  mode,
  collateral,
  positions,
});

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPortfolio(r: () => number, n: number, optionsOnly = false): PositionInput[] {
  const exp = ['3FEB26', '26FEB26', '27APR26'];
  const out: PositionInput[] = [];
  for (let k = 0; k < n; k++) {
    const kind = optionsOnly ? 0 : Math.floor(r() * 5);
    const size = Math.round((r() * 10 - 5) * 10) / 10 || 1;
    if (kind <= 2) {
      const strike = 70_000 + 5_000 * Math.floor(r() * 13);
      const lin = r() < 0.3 ? '_USDC' : '';
      out.push({ instrument: `BTC${lin}-${exp[Math.floor(r() * 3)]}-${strike}-${r() < 0.5 ? 'C' : 'P'}`, size });
    } else if (kind === 3) out.push({ instrument: `BTC-${exp[Math.floor(r() * 3)]}`, size: size * 10_000 });
    else out.push({ instrument: r() < 0.5 ? 'BTC_USDC-PERPETUAL' : 'BTC-PERPETUAL', size: r() < 0.5 ? size : size * 10_000 });
  }
  return out;
}

describe('scenario grid mechanism', () => {
  it('vol shock is term-scaled: σ·(1 ± 0.38·(30/days)^0.3) for deribit-pm-2024.1', () => {
    const v = (loadModel('deribit-pm-2024.1').params as GridModel).scan.vol;
    expect(shockVol(v, 0.5, 1, 7 / 365)).toBeCloseTo(0.5 * (1 + 0.38 * Math.pow(30 / 7, 0.3)), 14);
    expect(shockVol(v, 0.5, -1, 30 / 365)).toBeCloseTo(0.5 * 0.62, 14);
    // below one day the floor of 1 day applies
    expect(shockVol(v, 0.5, 1, 0.1 / 365)).toBeCloseTo(0.5 * (1 + 0.38 * Math.pow(30, 0.3)), 14);
  });

  it('risk arrays equal a direct Black-76 revaluation (inverse put, −16 % vol up)', () => {
    const { indices, values, nScen, scenarios } = buildRiskArrays(market, 'deribit-pm-2024.1', ['BTC-26FEB26-100000-P']);
    const sc = scenarios[0];
    const s = sc.info.findIndex((x) => x.priceMove === -0.16 && x.vol === 'up');
    const t = 30 / 365;
    const F = 100_400;
    const v0 = (black76Reference(true, F, 100_000, 0.5, t, 0, false).price / F) * 100_000;
    const F1 = F * 0.84;
    const vol1 = 0.5 * (1 + 0.38);
    const v1 = (black76Reference(true, F1, 100_000, vol1, t, 0, false).price / F1) * 100_000 * 0.84;
    expect(values[indices[0] * nScen + s]).toBeCloseTo(v1 - v0, 6);
  });

  it('a short put’s worst scenario is −16 % vol up; breakdown lists every scenario', () => {
    const eng = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const r = ok(eng.margin(acc([{ instrument: 'BTC-26FEB26-100000-P', size: -1 }])));
    const g = r.grid![0];
    expect(g.worstScenario.priceMove).toBeCloseTo(-0.16, 12);
    expect(g.worstScenario.vol).toBe('up');
    expect(g.scenarioLosses.length).toBe(27);
    expect(g.worstLoss).toBeCloseTo(Math.max(...g.scenarioLosses), 9);
    // add-on: 0.01 coin per net short option
    expect(g.addOns.shortOption).toBeCloseTo(0.01 * 100_000, 9);
    expect(r.initialMargin).toBeCloseTo(g.worstLoss + 1000, 9);
    expect(r.maintenanceMargin).toBeCloseTo(0.8 * r.initialMargin, 9);
    expect(r.positions[0].worstScenarioPnl).toBeCloseTo(-g.worstLoss, 9);
  });

  const dederiFile = fileURLToPath(new URL('../../shared/data/margin_methodology_refs.json', import.meta.url));
  it.skipIf(!existsSync(dederiFile))(sharedSkipNote('futures P&L over the grid and the futures contingency inside IM match the Dederi worked example (margin_methodology_refs.json)'), () => {
    const file = dederiFile;
    const ex = JSON.parse(readFileSync(file, 'utf8')).dederi_portfolio_margin_worked_example.example;
    const expiry = Date.UTC(2024, 0, 10, 8);
    const m = tableMarket({
      valuationTime: expiry - ex.days_to_expiry * day,
      underlyings: { ETH: { spot: ex.index_I0, carry: ex.annualized_basis_rate, vol: 0.6 } },
    });
    const base = loadModel('deribit-pm-2024.1').params as GridModel;
    const dederi: GridModel = {
      ...structuredClone(base),
      id: 'dederi-test',
      scan: { ...base.scan, rangeUp: 0.15, rangeDown: 0.15 },
      scenarios: ex.price_shocks.map((s: number) => ({ range: s / 0.15, vol: 'same', weight: 1 })),
      addOns: { futures: { fraction: ex.futures_contingency_factor, basis: 'gross' } },
    };
    const eng = createMarginEngine({ market: m, model: dederi });
    expect(m.forward('ETH', expiry)).toBeCloseTo(ex.F0_check, 3);
    const r = ok(eng.margin(acc([{ instrument: 'ETH_USDC-10JAN24', size: 10 }])));
    const g = r.grid![0];
    g.scenarioLosses.forEach((loss, k) => expect(-loss).toBeCloseTo(ex.futures_sim_pnl_check[k], 1));
    g.scenarioLosses.forEach((loss, k) => expect(Math.abs(-loss - ex.futures_sim_pnl_expected[k])).toBeLessThan(0.5));
    expect(g.addOns.futures).toBeCloseTo(ex.futures_contingency_check, 2);
    // the contingency is part of IM, not only of the breakdown
    expect(r.initialMargin).toBeCloseTo(g.worstLoss + ex.futures_contingency_check, 2);
    expect(r.maintenanceMargin).toBeCloseTo(dederi.mmFraction * (g.worstLoss + ex.futures_contingency_check), 2);
  });
});

describe('invariants on random portfolios', () => {
  afterAll(() => setMarginPricer(null));
  const presets = ['deribit-pm-2024.1', 'span-16', 'aevo-15', 'deribit-standard'];

  it('IM ≥ MM ≥ 0 for every preset', () => {
    const r = rng(1);
    for (const model of presets) {
      const eng = createMarginEngine({ market, model });
      for (let k = 0; k < 40; k++) {
        const res = ok(eng.margin(acc(randomPortfolio(r, 1 + Math.floor(r() * 12)), { BTC: 5, USDC: 50_000 }, k % 2 ? 'cross' : 'portfolio')));
        expect(res.initialMargin).toBeGreaterThanOrEqual(res.maintenanceMargin);
        expect(res.maintenanceMargin).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('a long option never needs more than its premium (grid presets)', () => {
    for (const model of ['deribit-pm-2024.1', 'span-16', 'aevo-15']) {
      const eng = createMarginEngine({ market, model });
      for (const inst of ['BTC-3FEB26-90000-P', 'BTC-26FEB26-120000-C', 'BTC_USDC-27APR26-100000-C', 'BTC-27APR26-60000-P']) {
        const res = ok(eng.margin(acc([{ instrument: inst, size: 2 }], {})));
        expect(res.initialMargin, `${model} ${inst}`).toBeLessThanOrEqual(res.positions[0].valueUsd + 1e-9);
      }
    }
  });

  it('hedged portfolios margin less than their legs', () => {
    const eng = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const im = (p: PositionInput[]) => ok(eng.margin(acc(p))).initialMargin;
    const call = { instrument: 'BTC-26FEB26-105000-C', size: -1 };
    const fut = { instrument: 'BTC_USDC-26FEB26', size: 1 };
    expect(im([call, fut])).toBeLessThan(im([call]) + im([fut]));
    const longCall = { instrument: 'BTC-26FEB26-110000-C', size: 1 };
    expect(im([call, longCall])).toBeLessThan(im([call]));
    const put = { instrument: 'BTC-26FEB26-95000-P', size: -1 };
    const longPut = { instrument: 'BTC-26FEB26-85000-P', size: 1 };
    expect(im([put, longPut])).toBeLessThan(im([put]) + im([longPut]));
  });

  it('portfolio ≤ isolated (deribit-pm-2024.1) on random option portfolios; portfolio ≤ standard cross on hedged books', () => {
    const r = rng(7);
    const pm = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    for (let k = 0; k < 30; k++) {
      const pos = randomPortfolio(r, 2 + Math.floor(r() * 8), true);
      const port = ok(pm.margin(acc(pos))).initialMargin;
      const iso = ok(pm.margin(acc(pos.map((p) => ({ ...p, collateral: { USDC: 1e5 } })), {}, 'isolated'))).initialMargin;
      expect(port).toBeLessThanOrEqual(iso + 1e-6);
    }
    const std = createMarginEngine({ market, model: 'deribit-standard' });
    const hedged: PositionInput[][] = [
      [{ instrument: 'BTC-26FEB26-105000-C', size: -1 }, { instrument: 'BTC_USDC-26FEB26', size: 1 }],
      [{ instrument: 'BTC-26FEB26-100000-C', size: -2 }, { instrument: 'BTC-26FEB26-110000-C', size: 2 }],
      [{ instrument: 'BTC-26FEB26-95000-P', size: -3 }, { instrument: 'BTC-26FEB26-90000-P', size: 3 }],
    ];
    for (const p of hedged) {
      const a = ok(pm.margin(acc(p)));
      const c = ok(std.margin(acc(p, { USDC: 1e6 }, 'cross')));
      expect(a.initialMargin).toBeLessThanOrEqual(c.initialMargin);
    }
  });

  it('the WASM fast path and the TS reference pricer agree on random portfolios', () => {
    const r = rng(42);
    const books = Array.from({ length: 25 }, () => randomPortfolio(r, 1 + Math.floor(r() * 20)));
    for (const model of ['deribit-pm-2024.1', 'span-16', 'aevo-15']) {
      setMarginPricer(null);
      const fast = createMarginEngine({ market, model });
      const a = books.map((p) => ok(fast.margin(acc(p, { BTC: 3 }))));
      setMarginPricer(referencePriceOnlyInto, 'reference');
      const ref = createMarginEngine({ market, model });
      const b = books.map((p) => ok(ref.margin(acc(p, { BTC: 3 }))));
      setMarginPricer(null);
      a.forEach((x, k) => {
        expect(Math.abs(x.initialMargin - b[k].initialMargin)).toBeLessThan(1e-7 * (1 + b[k].initialMargin));
        x.grid!.forEach((g, u) => g.scenarioLosses.forEach((l, s) => expect(Math.abs(l - b[k].grid![u].scenarioLosses[s])).toBeLessThan(1e-6)));
      });
    }
  });
});

describe('multi-collateral, what-if, liquidation price', () => {
  const base = loadModel('deribit-pm-2024.1').params as GridModel;
  const withHaircuts: GridModel = {
    ...structuredClone(base),
    id: 'pm-haircuts',
    collateral: { haircuts: { BTC: 0.05, ETH: 0.1, USDC: 0 }, defaultHaircut: null, usdPegged: ['USDC'] },
  };

  it('coin collateral is haircut and revalued inside the scenarios (wrong-way risk)', () => {
    const eng = createMarginEngine({ market, model: withHaircuts });
    const put = [{ instrument: 'BTC-26FEB26-100000-P', size: -2 }];
    const inUsdc = ok(eng.margin(acc(put, { USDC: 100_000 })));
    const inBtc = ok(eng.margin(acc(put, { BTC: 1 })));
    expect(inBtc.collateralValue).toBeCloseTo(0.95 * 100_000, 9);
    // same worst scenario (−16 %, vol up): BTC collateral adds 0.95 × 1 BTC × 16 % of loss
    expect(inBtc.grid![0].worstScenario.index).toBe(inUsdc.grid![0].worstScenario.index);
    expect(inBtc.initialMargin - inUsdc.initialMargin).toBeCloseTo(0.95 * 100_000 * 0.16, 6);
    // ETH collateral with no ETH positions gets its own grid
    const withEth = ok(eng.margin(acc(put, { ETH: 10 })));
    const eth = withEth.grid!.find((g) => g.underlying === 'ETH')!;
    expect(eth.worstLoss).toBeCloseTo(10 * 3000 * 0.9 * 0.16, 6);
    expect(withEth.initialMargin).toBeCloseTo(inUsdc.initialMargin + eth.initialMargin, 6);
    // a currency the model does not accept is an error naming it
    const bad = eng.margin(acc(put, { USDT: 5 }));
    expect(bad.ok === false && bad.error.path).toBe('collateral.USDT');
  });

  it('what-if equals a full recomputation', () => {
    const eng = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const r = rng(3);
    for (let k = 0; k < 20; k++) {
      const a = acc(randomPortfolio(r, 3 + Math.floor(r() * 10)), { BTC: 2, USDC: 20_000 });
      const before = ok(eng.margin(a));
      const changes = randomPortfolio(r, 1 + Math.floor(r() * 3)).map((p) => ({ instrument: p.instrument, size: p.size }));
      if (k % 5 === 0) changes.push({ instrument: 'ETH_USDC-PERPETUAL', size: 3 });
      const w = eng.whatIf(a, changes);
      // trades at mark: option premiums flow out of (into) the settlement currency's balance
      const collateral = { ...a.collateral };
      for (const c of changes) {
        const i = eng.table.indexOf(c.instrument);
        const inst = eng.table.instruments[i]!;
        if (inst.kind !== 'option') continue;
        collateral[inst.settlementCurrency] = (collateral[inst.settlementCurrency] ?? 0) - c.size * eng.table.mark[i];
      }
      const after = ok(eng.margin({ ...a, collateral, positions: [...a.positions, ...changes] }));
      expect(w.before.initialMargin).toBeCloseTo(before.initialMargin, 6);
      expect(w.after.initialMargin).toBeCloseTo(after.initialMargin, 6);
      expect(w.after.equity).toBeCloseTo(after.equity, 6);
      expect(w.delta.initialMargin).toBeCloseTo(after.initialMargin - before.initialMargin, 6);
    }
  });

  it('liquidation price: equity = MM at the price found (grid model)', () => {
    const eng = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const a = acc([{ instrument: 'BTC-26FEB26-100000-P', size: -5 }], { USDC: 150_000 });
    const lp = eng.liquidationPrice(a, 'BTC');
    expect(lp.below).not.toBeNull();
    expect(lp.below!).toBeLessThan(100_000);
    const check = (price: number) => {
      const move = price / 100_000 - 1;
      const m2 = tableMarket({
        valuationTime: T0,
        underlyings: {
          BTC: {
            spot: 100_000 * (1 + move),
            expiries: [{ expiry: E30, forward: 100_400 * (1 + move), vol: 0.5 }],
          },
          ETH: { spot: 3000, vol: 0.7 },
        },
      });
      const r = ok(createMarginEngine({ market: m2, model: 'deribit-pm-2024.1' }).margin(a));
      return r.equity - r.maintenanceMargin;
    };
    expect(check(lp.below! * 1.001)).toBeGreaterThan(0);
    expect(check(lp.below! * 0.999)).toBeLessThan(0);
  });
});
