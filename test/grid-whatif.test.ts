/**
 * A grid account's what-if, breakdown and errors by hand (test/hand-grid.ts: the preset's written
 * scenario rules): trades at mark or at an entry price, an option's premium moving its coin
 * balance inside the scenarios (haircut on what is held), new underlyings, many trades at once,
 * a what-if after the positions changed, and the readable breakdown (add-ons present only when
 * the model has them, losses of exactly 0 reported as +0).
 */
import { describe, expect, it } from 'vitest';
import { black76Reference, margin } from '../src/index.js';
import { E30, ETH_S, F, PERP, S, T0, base, exp, model, ok, t } from './grid-fixture.js';
import { handGridMargin, handPosition, scenarioMove } from './hand-grid.js';

type GridModel = margin.GridModel;
type MarginResultOk = margin.MarginResultOk;
type PositionInput = margin.PositionInput;
const { createMarginEngine, tableMarket } = margin;
const ETH_PERP = 3_010;
const market = tableMarket({
  valuationTime: T0,
  underlyings: {
    BTC: { spot: S, perpetual: PERP, vol: 0.5, expiries: [{ expiry: E30, forward: F, vol: 0.5 }] },
    ETH: { spot: ETH_S, perpetual: ETH_PERP, vol: 0.7 },
  },
});const engine = () => createMarginEngine({ market, model });
const putMark = black76Reference(true, F, 95_000, 0.5, t, 0, false).price / F; // coin per contract
const hand = (positions: PositionInput[], btcHeld: number) =>
  handGridMargin(
    market,
    model,
    positions.map((p) => handPosition(p.instrument, p.size, exp, p.entryPrice)),
    { BTC: btcHeld },
  );

describe('grid what-if by hand', () => {
  const held: PositionInput[] = [
    { instrument: 'ETH_USDC-PERPETUAL', size: 2 },
    { instrument: 'BTC-PERPETUAL', size: 30_000, entryPrice: 95_000 },
  ];
  // fifteen trades, ten of them on BTC: 3 puts bought at mark in seven pieces, a BTC linear
  // perpetual +0.5, −0.5, −0.5 (net short 0.5: offsets the long inverse perpetual), ETH perpetual
  // +3 entered at 2,900 (3 × 1), an ETH call sold and bought back (−1, +1)
  const changes = [
    ...[0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25].map((size) => ({ instrument: 'BTC-26FEB26-95000-P', size })),
    ...[1, 1, 1].map((size) => ({ instrument: 'ETH_USDC-PERPETUAL', size, entryPrice: 2_900 })),
    { instrument: 'BTC_USDC-PERPETUAL', size: 0.5 },
    { instrument: 'ETH-26FEB26-3200-C', size: -1 },
    { instrument: 'BTC_USDC-PERPETUAL', size: -0.5 },
    { instrument: 'ETH-26FEB26-3200-C', size: 1 },
    { instrument: 'BTC_USDC-PERPETUAL', size: -0.5 },
  ];
  const after: PositionInput[] = [
    ...held,
    { instrument: 'BTC-26FEB26-95000-P', size: 3 },
    { instrument: 'ETH_USDC-PERPETUAL', size: 3, entryPrice: 2_900 },
    { instrument: 'BTC_USDC-PERPETUAL', size: -0.5 },
  ];
  const btcAfter = 2 - 3 * putMark; // the premium leaves the BTC balance

  it('fifteen trades, BTC on the second underlying slot: IM from the hand grid with the premium out of the BTC held (after haircut)', () => {
    const eng = engine();
    // a one-row what-if first, so that the two-row one below needs more scratch
    const small = { id: 's', mode: 'portfolio' as const, collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10_000 }] };
    const w0 = eng.whatIf(small, [{ instrument: 'BTC-PERPETUAL', size: 10_000 }]);
    expect(w0.after.initialMargin).toBeCloseTo(hand([{ instrument: 'BTC-PERPETUAL', size: 20_000 }], 0).initialMargin, 6);

    const a = { id: 'w', mode: 'portfolio' as const, collateral: { BTC: 2, USDC: 10_000 }, positions: held };
    const w = eng.whatIf(a, changes);
    const h0 = hand(held, 2 * 0.95);
    const h1 = hand(after, btcAfter * 0.95);
    expect(w.before.initialMargin).toBeCloseTo(h0.initialMargin, 6);
    expect(w.after.initialMargin).toBeCloseTo(h1.initialMargin, 6);
    expect(w.after.maintenanceMargin).toBeCloseTo(h1.maintenanceMargin, 6);
    // equity: BTC held at 95 % (premium out), USDC, the perpetuals' P&L from entry, the puts at mark
    const perpUsd = 30_000 * (1 / 95_000 - 1 / PERP) * S;
    const eq0 = 2 * 0.95 * S + 10_000 + perpUsd; // the ETH perpetual (no entry price) is at mark: 0
    const eq1 = btcAfter * 0.95 * S + 10_000 + perpUsd + 3 * putMark * S + 3 * (ETH_PERP - 2_900);
    expect(w.before.equity).toBeCloseTo(eq0, 6);
    expect(w.after.equity).toBeCloseTo(eq1, 6);
    // the same what-if again on the kept state: the same figures
    const again = eng.whatIf(a, changes);
    expect(again.after.initialMargin).toBe(w.after.initialMargin);
    expect(again.after.equity).toBe(w.after.equity);
  });

  it('a BTC-collateral account without positions: the premium moves the BTC held', () => {
    const eng = engine();
    const a = { id: 'c', mode: 'cross' as const, collateral: { BTC: 2 }, positions: [] };
    const w = eng.whatIf(a, [{ instrument: 'BTC-26FEB26-95000-P', size: 3 }]);
    const h = hand([{ instrument: 'BTC-26FEB26-95000-P', size: 3 }], btcAfter * 0.95);
    expect(w.after.initialMargin).toBeCloseTo(h.initialMargin, 6);
    expect(w.after.equity).toBeCloseTo(btcAfter * 0.95 * S + 3 * putMark * S, 6);
  });

  it('after the positions changed (a new array, or one more in place) the what-if starts from them', () => {
    const eng = engine();
    const a = { id: 'p', mode: 'portfolio' as const, collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] };
    ok(eng.margin(a));
    a.positions = [{ instrument: 'BTC_USDC-PERPETUAL', size: -2 }];
    expect(eng.whatIf(a, []).before.initialMargin).toBeCloseTo(hand(a.positions, 0).initialMargin, 6);
    a.positions.push({ instrument: 'BTC-26FEB26-95000-P', size: -1 });
    expect(eng.whatIf(a, []).before.initialMargin).toBeCloseTo(hand(a.positions, 0).initialMargin, 6);
  });

  it('the engine keeps the last account margined only: a what-if on an account margined before another recomputes from its positions', () => {
    const eng = engine();
    const a = { id: 'k1', mode: 'portfolio' as const, collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] };
    const b = { id: 'k2', mode: 'portfolio' as const, collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC-26FEB26-95000-P', size: -2 }] };
    ok(eng.margin(a));
    ok(eng.margin(b));
    const w = eng.whatIf(a, [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }]);
    expect(w.before.initialMargin).toBeCloseTo(hand(a.positions, 0).initialMargin, 6);
    expect(w.after.initialMargin).toBeCloseTo(hand([{ instrument: 'BTC_USDC-PERPETUAL', size: 2 }], 0).initialMargin, 6);
    expect(eng.whatIf(b, []).before.initialMargin).toBeCloseTo(hand(b.positions, 0).initialMargin, 6);
  });

  it('a premium in a currency the model does not accept is an error naming collateral.<currency>', () => {
    const usdOnly: GridModel = { ...model, id: 'usd-only', collateral: { haircuts: { BTC: 0.05, USDC: 0 }, defaultHaircut: null, usdPegged: ['USDC'] } };
    const a = { id: 'e', mode: 'portfolio' as const, collateral: { USDC: 1e5 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] };
    expect(() => createMarginEngine({ market, model: usdOnly }).whatIf(a, [{ instrument: 'ETH-26FEB26-3200-C', size: 1 }])).toThrow(
      /^collateral\.ETH is not accepted as collateral by model usd-only/,
    );
  });

  it('an unknown instrument in a change is an error naming changes[k].instrument', () => {
    const a = { id: 'u', mode: 'portfolio' as const, collateral: { USDC: 1_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] };
    expect(() => engine().whatIf(a, [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }, { instrument: 'NOPE-1', size: 1 }])).toThrow(/changes\[1\]\.instrument/);
  });
});

describe('isolated accounts larger than the first scratch (8 sub-accounts, 8 rows)', () => {
  const perp = { instrument: 'BTC_USDC-PERPETUAL', size: 1 };
  it('17 positions: each margined alone, the account the sum', () => {
    const r = ok(engine().margin({ id: 'i17', mode: 'isolated', collateral: {}, positions: Array.from({ length: 17 }, () => ({ ...perp, collateral: { USDC: 10_000 } })) }));
    const one = hand([perp], 0).initialMargin;
    for (const p of r.positions) expect(p.initialMargin).toBeCloseTo(one, 6);
    expect(r.initialMargin).toBeCloseTo(17 * one, 6);
    expect(r.equity).toBeCloseTo(170_000, 6);
  });
  it('after a pooled account over 18 underlyings (18 rows, 1 sub-account), an isolated one of 17 sub-accounts', () => {
    // 18 made-up coins at 10 USD: a long linear perpetual of 1 coin loses 10 × 16 % in the −16 % scenario
    const coins = Array.from({ length: 18 }, (_, k) => `C${String.fromCharCode(65 + k)}X`);
    const m18 = tableMarket({ valuationTime: T0, underlyings: Object.fromEntries(coins.map((c) => [c, { spot: 10, vol: 0.5 }])) });
    const eng = createMarginEngine({ market: m18, model: base });
    const pooled = ok(eng.margin({ id: 'p18', mode: 'portfolio', collateral: { USDC: 1e4 }, positions: coins.map((c) => ({ instrument: `${c}_USDC-PERPETUAL`, size: 1 })) }));
    expect(pooled.initialMargin).toBeCloseTo(18 * 1.6, 9);
    const iso = ok(eng.margin({ id: 'i17', mode: 'isolated', collateral: {}, positions: coins.slice(0, 17).map((c) => ({ instrument: `${c}_USDC-PERPETUAL`, size: 1, collateral: { USDC: 100 } })) }));
    expect(iso.initialMargin).toBeCloseTo(17 * 1.6, 9);
    expect(iso.positions[16].initialMargin).toBeCloseTo(1.6, 9);
  });
  it('5 positions of two rows each (own ETH collateral, 90 % after haircut): 10 rows', () => {
    const r = ok(engine().margin({ id: 'i5', mode: 'isolated', collateral: {}, positions: Array.from({ length: 5 }, () => ({ ...perp, collateral: { ETH: 1 } })) }));
    const h = handGridMargin(market, model, [handPosition(perp.instrument, 1, exp)], { ETH: 0.9 });
    expect(r.grid!.length).toBe(10);
    expect(r.initialMargin).toBeCloseTo(5 * (h.rowIm.BTC + h.rowIm.ETH), 6);
  });
});

describe('grid breakdown', () => {
  it('add-ons listed only when the model has them', () => {
    const pos = [{ instrument: 'BTC-26FEB26-95000-P', size: -1 }];
    const acc = { id: 'b', mode: 'portfolio' as const, collateral: { USDC: 1e5 }, positions: pos };
    const pm = ok(engine().margin(acc)).grid![0];
    expect(Object.keys(pm.addOns).sort()).toEqual(['futures', 'shortOption']);
    expect(pm.addOns.shortOption).toBeCloseTo(0.01 * S, 9);
    const bare = ok(createMarginEngine({ market, model: { ...model, id: 'bare', addOns: {} } }).margin(acc)).grid![0];
    expect(bare.addOns).toEqual({});
    const span = ok(createMarginEngine({ market, model: { ...model, id: 'som', addOns: { shortOptionMinimum: { fractionOfSpot: 0.05 } } } }).margin(acc)).grid![0];
    expect(span.addOns).toEqual({ shortOptionMinimum: 0.05 * S });
  });

  it("a short inverse perpetual's P&L in its worst (up) scenario sits in its entry leg: −30,000/95,000 coin × S × move", () => {
    const r = ok(engine().margin({ id: 's', mode: 'portfolio', collateral: { USDC: 1e5 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -30_000, entryPrice: 95_000 }] }));
    const k = r.grid![0].worstScenario.index;
    expect(scenarioMove(model, k)).toBeGreaterThan(0);
    expect(k).toBeGreaterThan(0);
    expect(r.positions[0].worstScenarioPnl).toBeCloseTo(-(30_000 / 95_000) * S * scenarioMove(model, k), 6);
  });

  it('a scenario without P&L reports a loss of +0, not −0', () => {
    // a linear perpetual: the 0 % scenarios (vol up, same, down) have P&L exactly 0
    const g = ok(engine().margin({ id: 'z', mode: 'portfolio', collateral: { USDC: 1e5 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] })).grid![0];
    const zeros = g.scenarioLosses.filter((l) => l === 0);
    expect(zeros.length).toBe(3);
    for (const l of zeros) expect(Object.is(l, 0)).toBe(true);
  });

  it('isolated: one grid row per position, in order; a bad own collateral names positions[k].collateral', () => {
    const eng = engine();
    const r = ok(
      eng.margin({
        id: 'i',
        mode: 'isolated',
        collateral: { USDC: 10 },
        positions: [
          { instrument: 'ETH_USDC-PERPETUAL', size: 1, collateral: { USDC: 500 } },
          { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { USDC: 20_000 } },
        ],
      }),
    );
    expect(r.grid!.map((g) => g.underlying)).toEqual(['ETH', 'BTC']);
    expect(r.grid![1].initialMargin).toBeCloseTo(hand([{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }], 0).initialMargin, 6);
    const bad = eng.margin({ id: 'b', mode: 'isolated', collateral: {}, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }, { instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { NOSUCHCOIN: 1 } }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('positions[1].collateral');
  });
});
