/**
 * A grid-margined account's every figure by hand (test/hand-grid.ts plus the account rules of
 * docs/margin.md): collateral after haircuts (negative balances at full value) and its coin
 * moving inside the scenarios, equity from marks and futures entry prices, IM/MM, per-currency
 * figures, health and its thresholds, available funds, each position's P&L in the worst
 * scenario, Greeks per underlying, the cross-underlying credit rule, the minimum margin, and
 * isolated mode (each position with its own collateral and health).
 */
import { describe, expect, it } from 'vitest';
// the package entry only: these tests follow the public API, whatever the internal layout
import { black76Reference, margin } from '../src/index.js';
import { E30, ETH_S, F, PERP, S, T0, base, exp, model, ok, t } from './grid-fixture.js';
import { handGridMargin, handPosition, scenarioMove } from './hand-grid.js';

type GridModel = margin.GridModel;
type MarginResultOk = margin.MarginResultOk;
type PositionInput = margin.PositionInput;
const { createMarginEngine, healthOf, listModels, loadModel, tableMarket } = margin;
const ETH_F = ETH_S * Math.exp(0.05 * t);
const market = tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: { spot: S, perpetual: PERP, vol: 0.5, expiries: [{ expiry: E30, forward: F, vol: 0.5, vols: { '95000': 0.56 } }] },
    ETH: { spot: ETH_S, vol: 0.7, carry: 0.05 },
  },
});
// the engine is made inside the first test that needs it, and every test computes the results it
// checks (none shared from another test): mutation testing's per-test coverage then attributes
// the code to the tests that assert its figures
let engine: margin.MarginEngine | null = null;
const eng = { margin: (a: unknown) => (engine ??= createMarginEngine({ market, model })).margin(a) };
/** f, recomputed at every call (each test runs the margin code it checks) */
function perTest<T>(f: () => T): () => T {
  return f;
}

/** Hand values of the three positions below (USD), Greeks and marks. */
const put = black76Reference(true, F, 95_000, 0.56, t, 0, false); // USD per coin, forward-based Greeks
const call = black76Reference(false, ETH_F, 3_200, 0.7, t, 0, false);
const positions: PositionInput[] = [
  { instrument: 'BTC-26FEB26-95000-P', size: -1.5 },
  { instrument: 'BTC-PERPETUAL', size: 30_000, entryPrice: 95_000 },
  { instrument: 'ETH-26FEB26-3200-C', size: -5 },
];
const hand = handGridMargin(
  market,
  model,
  positions.map((p) => handPosition(p.instrument, p.size, exp, p.entryPrice)),
  { BTC: 2 * 0.95 },
);

describe('portfolio account on a grid model, every figure by hand', () => {
  const result = perTest(() => ok(eng.margin({ id: 'p', mode: 'portfolio', collateral: { BTC: 2, USDC: -5_000 }, positions })));
  const collateralValue = 2 * S * 0.95 - 5_000; // negative balances count at full value
  // inverse options: coin value V/F held at the index; the perpetual: 30,000·(1/95,000 − 1/perp) coin
  const putUsd = -1.5 * (put.price / F) * S;
  const callUsd = -5 * (call.price / ETH_F) * ETH_S;
  const perpUsd = 30_000 * (1 / 95_000 - 1 / PERP) * S;
  const equity = collateralValue + putUsd + perpUsd + callUsd;

  it('collateral, equity and position values', () => {
    const r = result();
    expect(r.collateralValue).toBeCloseTo(collateralValue, 8);
    expect(r.positions[0].valueUsd).toBeCloseTo(putUsd, 8);
    expect(r.positions[1].valueUsd).toBeCloseTo(perpUsd, 8);
    expect(r.positions[2].valueUsd).toBeCloseTo(callUsd, 8);
    expect(r.equity).toBeCloseTo(equity, 8);
  });

  it('IM, MM, per-currency figures, ratio, available funds and health', () => {
    const r = result();
    expect(r.grid!.map((g) => g.underlying)).toEqual(['BTC', 'ETH']);
    for (const g of r.grid!) {
      g.scenarioLosses.forEach((l, k) => expect(l, `${g.underlying} ${k}`).toBeCloseTo(hand.losses[g.underlying][k], 6));
      expect(g.initialMargin).toBeCloseTo(hand.rowIm[g.underlying], 6);
      expect(g.spot).toBe(g.underlying === 'BTC' ? S : ETH_S);
      expect(r.perCurrency[g.underlying].initialMargin).toBeCloseTo(hand.rowIm[g.underlying] / g.spot, 10);
      expect(r.perCurrency[g.underlying].maintenanceMargin).toBeCloseTo((model.mmFraction * hand.rowIm[g.underlying]) / g.spot, 10);
    }
    expect(r.initialMargin).toBeCloseTo(hand.initialMargin, 6);
    expect(r.maintenanceMargin).toBeCloseTo(model.mmFraction * hand.initialMargin, 6);
    expect(r.marginRatio).toBeCloseTo(r.maintenanceMargin / equity, 12);
    expect(r.availableFunds).toBeCloseTo(equity - hand.initialMargin, 6);
    expect(r.health).toBe(equity < 0 ? 'bankrupt' : equity < hand.maintenanceMargin ? 'liquidatable' : equity < hand.initialMargin ? 'margin call' : 'healthy');
    expect(r.modeApplied).toBe('portfolio');
    expect(r.model.id).toBe('pm-haircuts');
  });

  it("each position's P&L in its underlying's worst scenario", () => {
    const r = result();
    const g = r.grid![0];
    const k = g.worstScenario.index;
    expect(g.worstLoss).toBeCloseTo(hand.worstLoss.BTC, 6);
    const one = (i: number) => -handGridMargin(market, { ...model, addOns: {} }, [handPosition(positions[i].instrument, positions[i].size, exp, positions[i].entryPrice)]).losses.BTC[k] / model.scenarios[k].weight;
    expect(r.positions[0].worstScenarioPnl).toBeCloseTo(one(0), 6);
    // the perpetual's delta sits in its entry leg: 30,000/95,000 coin × S × move
    expect(r.positions[1].worstScenarioPnl).toBeCloseTo((30_000 / 95_000) * S * scenarioMove(model, k), 6);
  });

  it('Greeks per underlying: options scaled by S/F (inverse), futures through their entry leg', () => {
    const r = result();
    expect(r.greeks.BTC.delta).toBeCloseTo(-1.5 * put.delta * (S / F) + 30_000 / 95_000, 10);
    expect(r.greeks.BTC.gamma).toBeCloseTo(-1.5 * put.gamma * (S / F), 14);
    expect(r.greeks.BTC.vega).toBeCloseTo(-1.5 * put.vega * (S / F), 8);
    expect(r.greeks.BTC.theta).toBeCloseTo(-1.5 * put.theta * (S / F), 8);
    expect(r.greeks.ETH.delta).toBeCloseTo(-5 * call.delta * (ETH_S / ETH_F), 10);
    expect(r.greeks.ETH.vega).toBeCloseTo(-5 * call.vega * (ETH_S / ETH_F), 8);
  });

  it('short option contingency counts net shorts per expiry and strike', () => {
    const r = result();
    expect(r.grid![0].addOns.shortOption).toBeCloseTo(base.addOns.shortOption!.fractionOfSpot * S * 1.5, 9);
    expect(r.grid![1].addOns.shortOption).toBeCloseTo(base.addOns.shortOption!.fractionOfSpot * ETH_S * 5, 9);
    // a long put at the same expiry and strike nets it away; a long at another strike does not
    const netted = ok(eng.margin({ id: 'n', mode: 'portfolio', collateral: { USDC: 1e6 }, positions: [positions[0], { instrument: 'BTC-26FEB26-95000-C', size: 1 }, { instrument: 'BTC-26FEB26-90000-P', size: 5 }] }));
    expect(netted.grid![0].addOns.shortOption).toBeCloseTo(0.01 * S * 0.5, 9);
  });
});

describe('combination across underlyings and the minimum margin', () => {
  const pos = positions.map(({ instrument, size }) => ({ instrument, size }));
  const h = handGridMargin(market, model, pos.map((p) => handPosition(p.instrument, p.size, exp)));
  const rows = Object.values(h.rowIm);
  const sum = rows.reduce((a, b) => a + b, 0);
  const largest = Math.max(...rows);

  it('credit rule: IM = sum − credit × (sum − largest)', () => {
    const credit: GridModel = { ...structuredClone(model), id: 'credit', crossUnderlying: { rule: 'credit', credit: 0.4 } };
    const r = ok(createMarginEngine({ market, model: credit }).margin({ id: 'c', mode: 'portfolio', collateral: { USDC: 1e6 }, positions: pos }));
    expect(rows.length).toBe(2);
    expect(r.initialMargin).toBeCloseTo(sum - 0.4 * (sum - largest), 6);
    expect(r.maintenanceMargin).toBeCloseTo(model.mmFraction * (sum - 0.4 * (sum - largest)), 6);
  });

  it('minimum margin floors IM (and MM follows as its fraction)', () => {
    const floor = sum + 12_345;
    const withMin: GridModel = { ...structuredClone(model), id: 'min', minimumMarginUsd: floor };
    const r = ok(createMarginEngine({ market, model: withMin }).margin({ id: 'm', mode: 'portfolio', collateral: { USDC: 1e6 }, positions: pos }));
    expect(r.initialMargin).toBe(floor);
    expect(r.maintenanceMargin).toBeCloseTo(model.mmFraction * floor, 9);
    const below = ok(createMarginEngine({ market, model: { ...withMin, minimumMarginUsd: sum / 2 } }).margin({ id: 'm', mode: 'portfolio', collateral: { USDC: 1e6 }, positions: pos }));
    expect(below.initialMargin).toBeCloseTo(sum, 6);
  });

  it('cross mode is the same grid over pooled collateral', () => {
    const r = ok(eng.margin({ id: 'x', mode: 'cross', collateral: { USDC: 1e6 }, positions: pos }));
    expect(r.modeApplied).toBe('cross');
    expect(r.initialMargin).toBeCloseTo(sum, 6);
  });
});

describe('isolated mode on a grid model', () => {
  const iso: PositionInput[] = [
    { instrument: 'BTC-26FEB26-95000-P', size: -1, collateral: { BTC: 0.17 } },
    { instrument: 'BTC_USDC-PERPETUAL', size: 0.5, collateral: { USDC: 1_000 } },
    { instrument: 'ETH-26FEB26-3200-C', size: -2, collateral: { USDC: 50_000 } },
  ];
  const result = perTest(() => ok(eng.margin({ id: 'i', mode: 'isolated', collateral: { USDC: 700 }, positions: iso })));

  it('each position is margined alone with its own collateral (coin collateral inside its scenarios)', () => {
    const r = result();
    const h0 = handGridMargin(market, model, [handPosition(iso[0].instrument, -1, exp)], { BTC: 0.17 * 0.95 });
    const h1 = handGridMargin(market, model, [handPosition(iso[1].instrument, 0.5, exp)]);
    const h2 = handGridMargin(market, model, [handPosition(iso[2].instrument, -2, exp)]);
    const ims = [h0.initialMargin, h1.initialMargin, h2.initialMargin];
    const eq = [0.17 * S * 0.95 - (put.price / F) * S, 1_000, 50_000 - 2 * (call.price / ETH_F) * ETH_S];
    r.positions.forEach((p, k) => {
      expect(p.initialMargin, `position ${k}`).toBeCloseTo(ims[k], 6);
      expect(p.maintenanceMargin, `position ${k}`).toBeCloseTo(model.mmFraction * ims[k], 6);
      expect(p.equity, `position ${k}`).toBeCloseTo(eq[k], 6);
      expect(p.health, `position ${k}`).toBe(healthOf(eq[k], ims[k], model.mmFraction * ims[k]));
    });
    // the short put on 0.17 BTC is in margin call, the 0.5 BTC perpetual on USD 1,000 liquidatable
    expect(r.positions.map((p) => p.health)).toEqual(['margin call', 'liquidatable', 'healthy']);
    expect(r.initialMargin).toBeCloseTo(ims[0] + ims[1] + ims[2], 6);
    expect(r.equity).toBeCloseTo(700 + eq[0] + eq[1] + eq[2], 6);
    expect(r.availableFunds).toBeCloseTo(700 + eq.reduce((a, e, k) => a + Math.max(0, e - ims[k]), 0), 6);
    expect(r.health).toBe('liquidatable'); // the worst position's
    expect(r.modeApplied).toBe('isolated');
  });
});

describe('health thresholds', () => {
  it('bankrupt below 0, liquidatable below MM, margin call below IM, else healthy (boundaries included)', () => {
    expect(healthOf(-1e-9, 10, 8)).toBe('bankrupt');
    expect(healthOf(0, 10, 8)).toBe('liquidatable');
    expect(healthOf(7.999, 10, 8)).toBe('liquidatable');
    expect(healthOf(8, 10, 8)).toBe('margin call');
    expect(healthOf(9.999, 10, 8)).toBe('margin call');
    expect(healthOf(10, 10, 8)).toBe('healthy');
    expect(healthOf(0, 0, 0)).toBe('healthy');
  });
});
