/**
 * Deribit PME arithmetic on hand-made inputs, each figure worked out from the rules written in
 * src/measures/deribit-pme/arithmetic.ts's header (Deribit's private/pme/simulate semantics,
 * verified there against Deribit's own responses): the scenario layout, the vol shock's term
 * powers and bounds, the unit P&L rows (inverse futures (1/F)·m/(1+m), coin balances m/(1+m),
 * options Black-76 at F(1+m) minus the mark, priced here by the TS reference), the reduction of a
 * pair's vector (extended factor and dampener, profit offset and its cap, the worst case and its
 * tie rule) and the delta shock.
 */
import { describe, expect, it } from 'vitest';
import { black76Reference } from '../src/index.js';
import { createMarginEngine, loadModel, tableMarket, type DeribitPmeModel } from '../src/api/margin.js';
import { PmeRiskVectors, pmeCurrency, pmeDeltaShock, pmeLayout, pmePair, pmeReduce, pmeShockedVol } from '../src/measures/deribit-pme/arithmetic.js';

const model = loadModel('deribit-pm').params as DeribitPmeModel;
const BTC = model.currencyPair.BTC; // price_range 0.16, vol up 0.5 / down 0.25, powers 0.3 / 0.13, min up 0.5
const STD_MOVES = [-0.16, -0.12, -0.08, -0.04, 0, 0.04, 0.08, 0.12, 0.16];

describe('scenario layout and vol shock', () => {
  it('27 standard scenarios (bucket b: move 0.16·(b − 4)/4 × vol up, same, down), then the extended moves on vol up', () => {
    const l = pmeLayout(model, BTC);
    expect([l.nStd, l.nExt, l.n]).toEqual([27, 8, 35]);
    const std = STD_MOVES.flatMap((m) => [m, m, m]);
    Array.from(l.moves.subarray(0, 27)).forEach((m, s) => expect(m, `${s}`).toBeCloseTo(std[s], 15));
    expect(Array.from(l.volDir.subarray(0, 6))).toEqual([1, 0, -1, 1, 0, -1]);
    expect(Array.from(l.moves.subarray(27))).toEqual([-0.66, -0.33, 0.5, 1, 2, 3, 4, 5]);
    expect(Array.from(l.linearMoves.subarray(27))).toEqual([-0.16, -0.16, 0.16, 0.16, 0.16, 0.16, 0.16, 0.16]);
    expect(Array.from(l.volDir.subarray(27))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });
  it('shocked vols: short-term power below 30 days, long-term after, up floored at 0.5, unchanged for vol same', () => {
    const s90 = Math.pow(30 / 90, 0.13);
    const s7 = Math.pow(30 / 7, 0.3);
    expect(pmeShockedVol(model, BTC, 0.6, 0, 90 / 365)).toBe(0.6);
    expect(pmeShockedVol(model, BTC, 0.6, 1, 90 / 365)).toBeCloseTo(0.6 * (1 + 0.5 * s90), 14);
    expect(pmeShockedVol(model, BTC, 0.6, -1, 90 / 365)).toBeCloseTo(0.6 * (1 - 0.25 * s90), 14);
    expect(pmeShockedVol(model, BTC, 0.6, -1, 7 / 365)).toBeCloseTo(0.6 * (1 - 0.25 * s7), 14);
    expect(pmeShockedVol(model, BTC, 0.2, 1, 90 / 365)).toBe(0.5); // 0.2·(1 + 0.5·0.867) < 0.5
    expect(pmeShockedVol(model, BTC, 0.6, -1, 0.1 / 365)).toBeCloseTo(0.6 * (1 - 0.25 * Math.pow(30, 0.3)), 14); // days floored at 1
  });
  it('a model without the pair or the settlement currency is an error that lists what it has', () => {
    expect(() => pmePair(model, 'SOL')).toThrow('model deribit-pm has no currency pair parameters for SOL (it has BTC, ETH)');
    expect(() => pmeCurrency(model, 'SOL')).toThrow('model deribit-pm has no parameters for settlement currency SOL (it has BTC, ETH, USDC)');
    expect(pmeCurrency(model, 'ETH').pnl_offset).toBe(0.6);
  });
  it('vol_scenarios_count other than 3 is a model error', () => {
    const table = createMarginEngine({ market: tableMarket({ valuationTime: 0, underlyings: { BTC: { spot: 1, vol: 0.5 } } }), model: 'deribit-pm' }).table;
    const bad = { ...model, general: { ...model.general, vol_scenarios_count: 5 } };
    expect(() => new PmeRiskVectors(table, bad)).toThrow('deribit-pm: general.vol_scenarios_count must be 3 (up, same, down)');
  });
});

describe('unit P&L rows of a table that grows past its first allocation', () => {
  const T0 = Date.UTC(2024, 5, 17, 8);
  const E = Date.UTC(2024, 8, 27, 8); // 27SEP24, 102 days
  const t = (E - T0) / (365 * 86_400_000);
  const F = 68_000;
  const vol = 0.55;
  const market = tableMarket({ valuationTime: T0, underlyings: { BTC: { spot: 66_000, perpetual: 66_100, vol, expiries: [{ expiry: E, forward: F, vol }] } } });
  const up = 0.55 * (1 + 0.5 * Math.pow(30 / (t * 365), 0.13));
  const down = 0.55 * (1 - 0.25 * Math.pow(30 / (t * 365), 0.13));
  /** hand row of an inverse option (coin): Black76(F(1+m), σ′)/(F(1+m)) − mark */
  function optionRow(put: boolean, K: number): number[] {
    const mark = black76Reference(put, F, K, vol, t, 0, false).price / F;
    const l = pmeLayout(model, BTC);
    return Array.from(l.moves, (m, s) => {
      const Fm = F * (1 + m);
      const sv = l.volDir[s] > 0 ? up : l.volDir[s] < 0 ? down : vol;
      return black76Reference(put, Fm, K, sv, t, 0, false).price / Fm - mark;
    });
  }
  it('options, a future between them and a coin balance: every row by hand, in two syncs', () => {
    const table = createMarginEngine({ market, model: 'deribit-pm' }).table;
    const v = new PmeRiskVectors(table, model);
    const strikes = Array.from({ length: 70 }, (_, k) => 40_000 + 1_000 * k);
    const first = table.indexOf('BTC-27SEP24-40000-C');
    v.sync();
    const ids = strikes.map((K, k) => {
      if (k === 35) table.indexOf('BTC-27SEP24'); // a future between the options of one sync
      return table.indexOf(`BTC-27SEP24-${K}-${k % 2 ? 'P' : 'C'}`);
    });
    const fut = table.indexOf('BTC-27SEP24');
    const coin = table.coinIndex('BTC');
    v.sync();
    const l = pmeLayout(model, BTC);
    const row = (i: number) => Array.from(v.values.subarray(i * v.n, (i + 1) * v.n));
    expect(ids[0]).toBe(first);
    for (const k of [0, 1, 36, 69]) {
      const want = optionRow(k % 2 === 1, strikes[k]);
      row(ids[k]).forEach((x, s) => expect(x, `strike ${strikes[k]} scenario ${s}`).toBeCloseTo(want[s], 10));
    }
    row(fut).forEach((x, s) => expect(x).toBeCloseTo((1 / F) * (l.linearMoves[s] / (1 + l.linearMoves[s])), 15));
    row(coin).forEach((x, s) => expect(x).toBeCloseTo(l.linearMoves[s] / (1 + l.linearMoves[s]), 15));
  });
});

describe("reduction of a pair's vector", () => {
  // one bucket each side: 9 standard scenarios (moves −0.16, 0, 0.16 × up, same, down), extended −0.5 and 0.5;
  // extended factor 2; ETH currency: pnl_offset 0.6, max_offsetable_pnl 20,000,000, dampener 200,000; price 2,000
  const small: DeribitPmeModel = { ...model, general: { ...model.general, buckets_count: 1 }, extendedMoves: [-0.5, 0.5] };
  const pair = { ...BTC, extended_table_factor: 2 };
  const cur = model.currency.ETH;
  const l = pmeLayout(small, pair);
  const reduce = (std: number[], ext: number[]) => {
    const x = Float64Array.from([...std, ...ext, 777]); // a trailing entry of the next pair: left alone
    const w = pmeReduce(x, 0, l, pair, cur, 2_000);
    expect(x[11]).toBe(777);
    return { w, x: Array.from(x.subarray(0, 11)) };
  };
  it('profits × 0.6 capped at 20,000,000 / 2,000 = 10,000 coin; extended ×2 less the dampener (100 coin); worst extended', () => {
    // extended: −60·2 = −120 → −(120·2,000 − 200,000)/2,000 = −20; 30·2 = 60 → 120,000 < 200,000 → 0
    const { w, x } = reduce([-3, -5, -1, 10, 0, -2, 20_000, 4, -5], [-60, 30]);
    expect(x).toEqual([-3, -5, -1, 6, 0, -2, 10_000, 2.4, -5, -20, 0]);
    expect(w).toEqual({ worstCase: 20, index: 0, source: 'extended', bucket: 1, side: 'left' });
  });
  it('the second extended scenario, on the right', () => {
    // 100·2 = 200 → (400,000 − 200,000)/2,000 = 100 coin of profit, × 0.6 = 60; −110·2 → −(440,000 − 200,000)/2,000 = −120
    const { w, x } = reduce([0, 0, 0, 0, 0, 0, 0, 0, 0], [100, -110]);
    expect(x.slice(9)).toEqual([60, -120]);
    expect(w).toEqual({ worstCase: 120, index: 1, source: 'extended', bucket: 2, side: 'right' });
  });
  it('ties: the vol-same scenario wins over up/down, the first one among equals otherwise', () => {
    // −5 at 2 (left, down), then at 4 (center, same): the same one
    expect(reduce([0, 0, -5, 0, -5, 0, 0, 0, 0], [0, 0]).w).toEqual({ worstCase: 5, index: 4, source: 'standard', bucket: 2, side: 'center' });
    // −5 at 0 (left, up) and 2 (left, down): neither is same, the first stays
    expect(reduce([-5, 0, -5, 0, 0, 0, 0, 0, 0], [0, 0]).w.index).toBe(0);
    // −5 at 1 (left, same) and 4 (center, same): the first same stays
    expect(reduce([0, -5, 0, 0, -5, 0, 0, 0, 0], [0, 0]).w.index).toBe(1);
    // −5 at 6 (right, up), then −4 at 7 (right, same): the lower wins, same or not
    expect(reduce([0, 0, 0, 0, 0, 0, -5, -4, 0], [0, 0]).w).toEqual({ worstCase: 5, index: 6, source: 'standard', bucket: 3, side: 'right' });
    // −5 at 0 (up), −5 at 9 (extended, vol up): the standard one stays
    expect(reduce([-5, 0, 0, 0, 0, 0, 0, 0, 0], [-102.5, 0]).w.index).toBe(0);
  });
  it('no loss anywhere: worst case 0', () => {
    expect(reduce([1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 0]).w.worstCase).toBe(0);
  });
});

describe('delta shock: e = |Δ| − threshold/S when |Δ|·S > threshold, e·min(max_delta_shock, m_inc·e)', () => {
  // BTC: threshold 20,000,000 USD, m_inc 0.00005, max 0.1; S = 100,000 → 200 coin free
  it('below, at and above the threshold, and capped', () => {
    expect(pmeDeltaShock(BTC, 150, 100_000)).toBe(0);
    expect(pmeDeltaShock(BTC, -200, 100_000)).toBe(0);
    expect(pmeDeltaShock(BTC, 300, 100_000)).toBeCloseTo(100 * 0.005, 14);
    expect(pmeDeltaShock(BTC, -5_000, 100_000)).toBeCloseTo(4_800 * 0.1, 10);
  });
});
