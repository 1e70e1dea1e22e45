/**
 * Scenario-grid margin on a real smile (issue 15): the shipped market (raw SVI per expiry,
 * fitted to a Deribit chain) and a hand-written SVI market. Every expectation is a hand
 * calculation from the presets' written rules (test/hand-grid.ts): the shocked vol of each
 * scenario read at K/(1 + move) (sticky moneyness: deribit-pm, aevo-15) or at K (sticky
 * strike: span-16), shocked by the preset's rule, every position revalued by Black-76, worst
 * weighted loss, then each add-on — offsetting futures, net short options, short option
 * minimum, extended moves — asserted inside IM, in the margin engine and in the book engine.
 */
import { afterAll, describe, expect, it } from 'vitest';
// the package entry only: these tests follow the public API, whatever the internal layout
import { black76Reference, book, margin, market as mkt } from '../src/index.js';
import { expiryCode, gridPreset, handGridMargin, handPosition, handShockedVol, scenarioMove, sviW } from './hand-grid.js';

type GridModel = margin.GridModel;
type MarginMarket = margin.MarginMarket;
type MarginResultOk = margin.MarginResultOk;
type PositionInput = margin.PositionInput;
const { buildRiskArrays, createMarginEngine, listModels, loadModel } = margin;
const { defaultMarket, resolveMarket } = mkt;
const { BookEngine } = book;
const snapshot = defaultMarket();
const market = resolveMarket(snapshot);
const BTC = snapshot.underlyings.find((u) => u.underlying === 'BTC')!;
const ETH = snapshot.underlyings.find((u) => u.underlying === 'ETH')!;
const MS_PER_YEAR = 365 * 86_400_000;
// two listed expiries whose SVI fits span every strike read below, moved ±16 %
const SEP = BTC.expiries.find((e) => expiryCode(e.expiry) === '25SEP26')!;
const DEC = BTC.expiries.find((e) => expiryCode(e.expiry) === '25DEC26')!;
const expiries: Record<string, number> = Object.fromEntries(BTC.expiries.map((e) => [expiryCode(e.expiry), e.expiry]));
const grid = gridPreset;

function ok(r: ReturnType<ReturnType<typeof createMarginEngine>['margin']>): MarginResultOk {
  if (!r.ok) throw new Error(`unexpected error result: ${r.error.message}`);
  return r;
}
const hand = (m: MarginMarket, model: GridModel, pos: PositionInput[]) =>
  handGridMargin(m, model, pos.map((p) => handPosition(p.instrument, p.size, expiries)));
const account = (positions: PositionInput[]) => ({ id: 'a', mode: 'portfolio' as const, collateral: { USDC: 1e6 }, positions });

// options across the smile: deep ITM/OTM, calls/puts, inverse/linear, two expiries
const OPTIONS: PositionInput[] = [
  { instrument: 'BTC-25DEC26-50000-P', size: -3 },
  { instrument: 'BTC-25DEC26-90000-C', size: -2 },
  { instrument: 'BTC_USDC-25SEP26-60000-P', size: -4 },
  { instrument: 'BTC-25SEP26-70000-C', size: 1.5 },
  { instrument: 'BTC-25DEC26-64000-C', size: -1 },
];

describe('the shipped market is a real smile', () => {
  it('vol at a listed expiry is the raw SVI of data/default-market.json: σ = √(w(ln K/F)/T)', () => {
    for (const e of [SEP, DEC]) {
      const t = (e.expiry - snapshot.valuationTime) / MS_PER_YEAR;
      const p = e.smile as unknown as { a: number; b: number; rho: number; m: number; sigma: number };
      for (const K of [40_000, 55_000, 64_000, 76_000, 100_000]) {
        expect(market.vol('BTC', e.expiry, K)).toBeCloseTo(Math.sqrt(sviW(p, Math.log(K / e.forward)) / t), 12);
      }
    }
    // and it is a smile: the 25DEC26 put wing at 50k sits more than 2 vol points above the ATM vol
    const atm = market.vol('BTC', DEC.expiry, DEC.forward);
    expect(market.vol('BTC', DEC.expiry, 50_000) - atm).toBeGreaterThan(0.02);
  });
});

describe('shocked revaluation on the shipped smile, by hand', () => {
  it('deribit-pm (sticky moneyness): the short 50k put at −16 % vol up reads the smile at 50000/0.84, shocked ×(1 + 0.38·(30/days)^0.3)', () => {
    const model = grid('deribit-pm-2024.1');
    const name = 'BTC-25DEC26-50000-P';
    const { indices, nScen, values, scenarios } = buildRiskArrays(market, model, [name]);
    const s = scenarios[0].info.findIndex((x) => x.priceMove === -model.scan.rangeDown && x.vol === 'up');
    const t = (DEC.expiry - snapshot.valuationTime) / MS_PER_YEAR;
    const p = DEC.smile as unknown as { a: number; b: number; rho: number; m: number; sigma: number };
    // by hand, from the SVI parameters: sticky moneyness = the vol of strike K/(1 + move) today
    const kShift = Math.log(50_000 / (1 - model.scan.rangeDown) / DEC.forward);
    const base = Math.sqrt(sviW(p, kShift) / t);
    const v = model.scan.vol;
    const shocked = base * (1 + v.up * Math.pow(v.referenceDays / (t * 365), v.power));
    expect(handShockedVol(model, base, 'up', t)).toBeCloseTo(shocked, 14);
    const F1 = DEC.forward * (1 - model.scan.rangeDown);
    const S1 = BTC.index * (1 - model.scan.rangeDown);
    const now = (black76Reference(true, DEC.forward, 50_000, Math.sqrt(sviW(p, Math.log(50_000 / DEC.forward)) / t), t, 0, false).price / DEC.forward) * BTC.index;
    const then = (black76Reference(true, F1, 50_000, shocked, t, 0, false).price / F1) * S1;
    expect(values[indices[0] * nScen + s]).toBeCloseTo(then - now, 6);
    // the sticky-strike reading (vol at 50000 itself) gives a different figure: the test can tell them apart
    const atK = Math.sqrt(sviW(p, Math.log(50_000 / DEC.forward)) / t) * (1 + v.up * Math.pow(v.referenceDays / (t * 365), v.power));
    const wrong = (black76Reference(true, F1, 50_000, atK, t, 0, false).price / F1) * S1 - now;
    expect(Math.abs(wrong - (then - now))).toBeGreaterThan(50);
  });

  for (const id of ['deribit-pm-2024.1', 'aevo-15', 'span-16']) {
    it(`${id} (${grid(id).smile}): every scenario loss and IM of an options book equal the hand revaluation`, () => {
      const model = grid(id);
      const r = ok(createMarginEngine({ market, model }).margin(account(OPTIONS)));
      const h = hand(market, model, OPTIONS);
      const g = r.grid!.find((x) => x.underlying === 'BTC')!;
      g.scenarioLosses.forEach((l, k) => expect(l, `${id} scenario ${k}`).toBeCloseTo(h.losses.BTC[k], 5));
      expect(g.worstLoss).toBeCloseTo(h.worstLoss.BTC, 5);
      expect(r.initialMargin).toBeCloseTo(h.initialMargin, 5);
      expect(r.maintenanceMargin).toBeCloseTo(h.maintenanceMargin, 5);
      // the other smile rule moves IM by more than the tolerance: this test tells them apart
      const other = hand(market, { ...model, smile: model.smile === 'sticky-moneyness' ? 'sticky-strike' : 'sticky-moneyness' }, OPTIONS);
      expect(Math.abs(other.initialMargin - h.initialMargin)).toBeGreaterThan(100);
    });
  }
});

describe('hand-written SVI market (no batched smile reader): sticky moneyness and sticky strike', () => {
  const T0 = Date.UTC(2026, 0, 27, 8);
  const E = Date.UTC(2026, 3, 24, 8); // 24APR26, 87 days
  const t = (E - T0) / MS_PER_YEAR;
  const F = 101_000;
  const svi = { a: 0.01, b: 0.05, rho: -0.4, m: 0.05, sigma: 0.2 };
  const m: MarginMarket = {
    valuationTime: T0,
    rate: 0,
    hash: 'hand-svi',
    hasUnderlying: (u) => u === 'BTC',
    spot: () => 100_000,
    perpetual: () => 100_050,
    forward: () => F,
    timeToExpiry: (e) => (e - T0) / MS_PER_YEAR,
    vol: (_u, _e, K) => Math.sqrt(sviW(svi, Math.log(K / F)) / t),
  };
  const exp = { '24APR26': E };
  const pos: PositionInput[] = [
    { instrument: 'BTC-24APR26-80000-P', size: -2 },
    { instrument: 'BTC_USDC-24APR26-120000-C', size: -1 },
    { instrument: 'BTC-24APR26-100000-C', size: 1 },
  ];
  for (const id of ['deribit-pm-2024.1', 'span-16', 'aevo-15']) {
    it(`${id}: scenario losses equal the hand revaluation`, () => {
      const model = grid(id);
      const r = ok(createMarginEngine({ market: m, model }).margin(account(pos)));
      const h = handGridMargin(m, model, pos.map((p) => handPosition(p.instrument, p.size, exp)));
      r.grid![0].scenarioLosses.forEach((l, k) => expect(l, `scenario ${k} (move ${scenarioMove(model, k)})`).toBeCloseTo(h.losses.BTC[k], 5));
      expect(r.initialMargin).toBeCloseTo(h.initialMargin, 5);
    });
  }
});

describe('every add-on inside IM (deribit-pm with an extended table, span-16 short option minimum)', () => {
  const base = grid('deribit-pm-2024.1');
  // Deribit's extended moves (−66 %, +500 %) with vol up, counted at a fraction (illustrative weights)
  const extended: GridModel = {
    ...structuredClone(base),
    id: 'pm-extended',
    scenarios: [...base.scenarios, { move: -0.66, vol: 'up', weight: 0.35 }, { move: 5, vol: 'up', weight: 0.02 }],
  };
  // short options (two net shorts per expiry-strike; a long call netting a short put at 64000),
  // offsetting futures: long 3 coin of a linear future, short USD 130,000 of the inverse perpetual
  const allAddOns: PositionInput[] = [
    { instrument: 'BTC-25DEC26-50000-P', size: -3 },
    { instrument: 'BTC-25SEP26-64000-P', size: -2 },
    { instrument: 'BTC-25SEP26-64000-C', size: 0.5 },
    { instrument: 'BTC_USDC-25DEC26-90000-C', size: -1 },
    { instrument: 'BTC_USDC-25DEC26', size: 3 },
    { instrument: 'BTC-PERPETUAL', size: -130_000 },
  ];

  it('IM = worst loss + 0.01·S·net short options + 0.01·S·min(long, short futures coin), each by hand', () => {
    const r = ok(createMarginEngine({ market, model: extended }).margin(account(allAddOns)));
    const h = hand(market, extended, allAddOns);
    const g = r.grid![0];
    const S = BTC.index;
    const shortNet = 3 + (2 - 0.5) + 1; // 64000 strike nets the long call against the short put
    const offsetting = Math.min(3, 130_000 / market.perpetual('BTC'));
    expect(h.addOns.BTC.shortOption).toBeCloseTo(base.addOns.shortOption!.fractionOfSpot * S * shortNet, 9);
    expect(h.addOns.BTC.futures).toBeCloseTo(base.addOns.futures!.fraction * S * offsetting, 9);
    expect(g.scenarioLosses.length).toBe(29);
    g.scenarioLosses.forEach((l, k) => expect(l, `scenario ${k}`).toBeCloseTo(h.losses.BTC[k], 5));
    expect(g.addOns.shortOption).toBeCloseTo(h.addOns.BTC.shortOption, 6);
    expect(g.addOns.futures).toBeCloseTo(h.addOns.BTC.futures, 6);
    // inside IM, not only in the breakdown
    expect(r.initialMargin).toBeCloseTo(h.worstLoss.BTC + h.addOns.BTC.shortOption + h.addOns.BTC.futures, 5);
    expect(r.maintenanceMargin).toBeCloseTo(base.mmFraction * r.initialMargin, 6);
    // the extended −66 % scenario is the worst one here: it decides IM
    expect(g.worstScenario.priceMove).toBe(-0.66);
  });

  it('the offsetting-futures contingency is in IM: IM(with) − IM(without the future leg charge) = 0.01·S·offsetting coin', () => {
    const noFutures: GridModel = { ...structuredClone(extended), id: 'pm-no-fut', addOns: { shortOption: base.addOns.shortOption } };
    const a = ok(createMarginEngine({ market, model: extended }).margin(account(allAddOns))).initialMargin;
    const b = ok(createMarginEngine({ market, model: noFutures }).margin(account(allAddOns))).initialMargin;
    expect(a - b).toBeCloseTo(0.01 * BTC.index * Math.min(3, 130_000 / market.perpetual('BTC')), 6);
  });

  it('span-16: a far OTM short option pays the short option minimum, 1 % of the index per contract', () => {
    const model = grid('span-16');
    const pos = [{ instrument: 'BTC-25SEP26-20000-P', size: -4 }];
    const r = ok(createMarginEngine({ market, model }).margin(account(pos)));
    const h = hand(market, model, pos);
    expect(h.worstLoss.BTC).toBeLessThan(0.5 * h.addOns.BTC.shortOptionMinimum); // scanning risk is below the minimum
    expect(h.addOns.BTC.shortOptionMinimum).toBeCloseTo(model.addOns.shortOptionMinimum!.fractionOfSpot * BTC.index * 4, 9);
    expect(r.initialMargin).toBeCloseTo(h.addOns.BTC.shortOptionMinimum, 6);
    expect(r.grid![0].addOns.shortOptionMinimum).toBeCloseTo(h.addOns.BTC.shortOptionMinimum, 6);
  });

  describe('book engine (vectorized path) on accounts carrying every add-on', () => {
    const engines: book.BookEngine[] = [];
    afterAll(async () => {
      for (const e of engines) await e.close();
    });
    const accounts = [
      { id: 'all-addons', mode: 'portfolio' as const, collateral: { USDC: 1e6 }, positions: allAddOns },
      {
        id: 'eth-offsetting',
        mode: 'cross' as const,
        collateral: { USDC: 1e5 },
        positions: [
          { instrument: 'ETH-PERPETUAL', size: 50_000 },
          { instrument: `ETH_USDC-${expiryCode(ETH.expiries[6].expiry)}`, size: -20 },
          { instrument: `ETH-${expiryCode(ETH.expiries[6].expiry)}-1500-P`, size: -10 },
        ],
      },
      { id: 'futures-only', mode: 'portfolio' as const, collateral: { USDC: 1e5 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 200_000 }, { instrument: 'BTC_USDC-25DEC26', size: -2 }] },
    ];
    for (const threads of [1, 2]) {
      it(`${threads} thread(s): each account's IM equals the hand figure with its add-ons`, async () => {
        const e = BookEngine.create({ market, model: extended, threads });
        engines.push(e);
        e.load(accounts);
        await e.recompute();
        const res = e.results();
        const allExp = { ...expiries, ...Object.fromEntries(ETH.expiries.map((x) => [expiryCode(x.expiry), x.expiry])) };
        accounts.forEach((a, k) => {
          const h = handGridMargin(market, extended, a.positions.map((p) => handPosition(p.instrument, p.size, allExp)));
          const b = res[k];
          if (!b.ok) throw new Error(b.error.message);
          for (const u of Object.keys(h.rowIm)) expect(h.addOns[u].futures, `${a.id} ${u}`).toBeGreaterThan(0);
          expect(b.initialMargin, a.id).toBeCloseTo(h.initialMargin, 5);
        });
      });
    }
  });
});

describe('book engine: every figure of every account by hand (health states, isolated, coin collateral, credit rule, minimum)', () => {
  const engines: book.BookEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.close();
  });
  const base = grid('deribit-pm');
  const credit: GridModel = { ...structuredClone(base), id: 'pm-credit', crossUnderlying: { rule: 'credit', credit: 0.3 }, minimumMarginUsd: 2_500 };
  const allExp = { ...expiries, ...Object.fromEntries(ETH.expiries.map((x) => [expiryCode(x.expiry), x.expiry])) };
  const ethExp = expiryCode(ETH.expiries[6].expiry);
  /** USD mark value of a position (futures entered at mark: 0). */
  const valueUsd = (name: string, size: number): number => {
    const p = handPosition(name, size, allExp);
    if (p.kind !== 'option') return 0;
    const F = market.forward(p.underlying, p.expiry!);
    const t = market.timeToExpiry(p.expiry!);
    const usd = black76Reference(p.put!, F, p.strike!, market.vol(p.underlying, p.expiry!, p.strike!), t, 0, false).price;
    return size * (p.inverse ? (usd / F) * market.spot(p.underlying) : usd);
  };
  const S = BTC.index;
  const shorts: PositionInput[] = [
    { instrument: 'BTC-25DEC26-60000-P', size: -2 },
    { instrument: `ETH-${ethExp}-2000-C`, size: -20 },
  ];
  const handIm = (model: GridModel, pos: PositionInput[], coin: Record<string, number> = {}) =>
    handGridMargin(market, model, pos.map((p) => handPosition(p.instrument, p.size, allExp)), coin);
  const V = shorts.reduce((a, p) => a + valueUsd(p.instrument, p.size), 0);
  type Acc = { id: string; mode: 'portfolio' | 'cross' | 'isolated'; collateral: Record<string, number>; positions: PositionInput[] };
  /** accounts whose equity sits at a chosen multiple of their IM (collateral = target − position values) */
  function accountsFor(model: GridModel): Acc[] {
    const im = handIm(model, shorts).initialMargin;
    const at = (id: string, equity: number): Acc => ({ id, mode: 'portfolio', collateral: { USDC: equity - V }, positions: shorts });
    return [
      at('healthy', 2 * im),
      at('margin-call', 0.9 * im),
      at('liquidatable', 0.5 * im),
      at('bankrupt', -1_000),
      { id: 'btc-collateral', mode: 'cross', collateral: { BTC: 1.5, USDC: -20_000 }, positions: shorts },
      {
        id: 'isolated',
        mode: 'isolated',
        collateral: { USDC: 300 },
        positions: [
          { ...shorts[0], collateral: { USDC: 40_000 } },
          { ...shorts[1], collateral: { BTC: 0.01 } },
          { instrument: 'BTC_USDC-PERPETUAL', size: 0.1, collateral: { USDC: 200 } },
        ],
      },
    ];
  }
  /** The whole account by hand (the rules of docs/margin.md, as in grid-account.test.ts). */
  function handAccount(model: GridModel, a: Acc) {
    const collUsd = (c: Record<string, number>) => Object.entries(c).reduce((x, [cur, q]) => x + q * (cur === 'USDC' ? 1 : market.spot(cur)), 0);
    const coinOf = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([cur]) => cur !== 'USDC'));
    const hOf = (eq: number, im: number, mm: number) => (eq < 0 ? 'bankrupt' : eq < mm ? 'liquidatable' : eq < im ? 'margin call' : 'healthy');
    if (a.mode !== 'isolated') {
      const h = handIm(model, a.positions, coinOf(a.collateral));
      const equity = collUsd(a.collateral) + a.positions.reduce((x, p) => x + valueUsd(p.instrument, p.size), 0);
      return { equity, im: h.initialMargin, mm: h.maintenanceMargin, available: equity - h.initialMargin, health: hOf(equity, h.initialMargin, h.maintenanceMargin) };
    }
    let im = 0, mm = 0, equity = collUsd(a.collateral), available = collUsd(a.collateral), worst = 0;
    const rank = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];
    for (const p of a.positions) {
      const own = (p as PositionInput & { collateral: Record<string, number> }).collateral;
      const h = handIm(model, [p], coinOf(own));
      const eq = collUsd(own) + valueUsd(p.instrument, p.size);
      im += h.initialMargin;
      mm += h.maintenanceMargin;
      equity += eq;
      available += Math.max(0, eq - h.initialMargin);
      worst = Math.max(worst, rank.indexOf(hOf(eq, h.initialMargin, h.maintenanceMargin)));
    }
    return { equity, im, mm, available, health: rank[worst] };
  }
  for (const [label, model] of [['sum rule', base], ['credit rule 30 % + USD 2,500 minimum', credit]] as [string, GridModel][]) {
    it(`${label}: equity, IM, MM, available funds, ratio and health of each account`, async () => {
      const accounts = accountsFor(model);
      const e = BookEngine.create({ market, model, threads: 1 });
      engines.push(e);
      e.load(accounts);
      await e.recompute();
      const res = e.results();
      const seen = new Set<string>();
      accounts.forEach((a, k) => {
        const h = handAccount(model, a);
        const b = res[k];
        if (!b.ok) throw new Error(`${a.id}: ${b.error.message}`);
        expect(b.equity, `${a.id} equity`).toBeCloseTo(h.equity, 5);
        expect(b.initialMargin, `${a.id} IM`).toBeCloseTo(h.im, 5);
        expect(b.maintenanceMargin, `${a.id} MM`).toBeCloseTo(h.mm, 5);
        expect(b.availableFunds, `${a.id} available`).toBeCloseTo(h.available, 5);
        expect(b.marginRatio, `${a.id} ratio`).toBe(h.equity > 0 ? b.maintenanceMargin / b.equity : null);
        expect(b.health, a.id).toBe(h.health);
        seen.add(h.health);
      });
      expect([...seen].sort()).toEqual(['bankrupt', 'healthy', 'liquidatable', 'margin call']);
    });
  }
  it('the credit rule and the minimum change IM as written', () => {
    const sum = handIm(base, shorts);
    const rows = Object.values(sum.rowIm);
    const total = rows.reduce((x, y) => x + y, 0);
    expect(rows.length).toBe(2);
    expect(handIm(credit, shorts).initialMargin).toBeCloseTo(Math.max(2_500, total - 0.3 * (total - Math.max(...rows))), 9);
    expect(handIm(credit, [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.001 }]).initialMargin).toBe(2_500);
  });
});
