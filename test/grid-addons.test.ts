/**
 * The scenario-grid arithmetic below the runners, on hand-written rows: the add-on bases of a
 * row (net short options per instrument or per expiry/strike, long and short futures in coin,
 * short option contracts), the row IM (docs/margin.md: max(0, worst loss) + 0.01·S·net short
 * options + fraction·S·min(long, short) futures coin — or long + short when gross — floored by
 * the short option minimum), and the reduction of rows to accounts (cross-underlying credit,
 * minimum margin, MM = mmFraction·IM, health, isolated sub-accounts, failed rows).
 * Every expected figure is worked out in the comments from the holdings.
 */
import { describe, expect, it } from 'vitest';
import { Kind } from '../src/instruments/kind.js';
import { BASES, RowBases, rowIm, rowImInto, type BaseInstruments } from '../src/measures/grid/addons.js';
import type { GridMeasureParams } from '../src/measures/grid/params.js';
import { AccKind, combineRows, plainReduceArrays, reduceAccount } from '../src/measures/grid/reduce.js';

// instruments: 0 call K1, 1 put K1 (group 0), 2 call K2 (group 1), 3 inverse future (F 100,000),
// 4 linear perpetual (100,050), 5 coin, 6 spot
const ins: BaseInstruments = {
  kind: Uint8Array.from([Kind.Option, Kind.Option, Kind.Option, Kind.Future, Kind.Perpetual, Kind.Coin, Kind.Spot]),
  inverse: Uint8Array.from([1, 1, 1, 1, 0, 0, 0]),
  forward: Float64Array.from([100_000, 100_000, 100_000, 100_000, 100_050, 0, 0]),
  group: Int32Array.from([0, 0, 1, -1, -1, -1, -1]),
};
const N_INSTR = 7;
const N_GROUPS = 2;
// holdings: call K1 −3 and +1 (net −2), put K1 +2 and −1 (net +1), call K2 −1, inverse future
// +200,000 USD (2 coin long), perpetual −0.5 coin, coin +7 and spot −2 (no add-on)
const HOLD_I = Int32Array.from([0, 1, 2, 3, 0, 4, 5, 6, 1]);
const HOLD_Q = Float64Array.from([-3, 2, -1, 200_000, 1, -0.5, 7, -2, -1]);

function params(over: Partial<GridMeasureParams>): GridMeasureParams {
  return {
    shortOption: 0.01,
    shortOptionByStrike: false,
    futuresFraction: 0.01,
    futuresGross: false,
    shortOptionMinimum: null,
    sum: true,
    credit: 0,
    minimumMarginUsd: 0,
    mmFraction: 0.8,
    ...over,
  };
}
const BY_INSTRUMENT = params({});
const BY_STRIKE = params({ shortOptionByStrike: true });

/** Bases of row 1 of a two-row array whose every slot starts at 99 (row 0 must stay untouched). */
function basesOf(p: GridMeasureParams, rb = new RowBases(), onFutures?: (i: number, q: number) => void): Float64Array {
  const bases = new Float64Array(2 * BASES).fill(99);
  rb.rowInto(p, ins, N_INSTR, N_GROUPS, HOLD_I, HOLD_Q, 0, HOLD_I.length, bases, 1, onFutures);
  expect(Array.from(bases.subarray(0, BASES))).toEqual([99, 99, 99, 99]);
  return bases.subarray(BASES);
}

describe('add-on bases of a row', () => {
  it('per instrument: net short options 2 + 1 = 3 (the net-long put adds none), futures 2 coin long and 0.5 short', () => {
    // [short options, long futures coin, short futures coin, short option contracts]
    expect(Array.from(basesOf(BY_INSTRUMENT))).toEqual([3, 2, 0.5, 3]);
  });
  it('per expiry/strike: K1 nets call −2 with put +1 to −1, K2 −1: 2 net short; contracts still 3', () => {
    expect(Array.from(basesOf(BY_STRIKE))).toEqual([2, 2, 0.5, 3]);
  });
  it('one RowBases serves rows of either netting, in any order, with no carry-over', () => {
    const rb = new RowBases();
    expect(Array.from(basesOf(BY_INSTRUMENT, rb))).toEqual([3, 2, 0.5, 3]);
    expect(Array.from(basesOf(BY_STRIKE, rb))).toEqual([2, 2, 0.5, 3]);
    expect(Array.from(basesOf(BY_STRIKE, rb))).toEqual([2, 2, 0.5, 3]);
    expect(Array.from(basesOf(BY_INSTRUMENT, rb))).toEqual([3, 2, 0.5, 3]);
  });
  it('onFutures receives each net futures holding once, in order of first appearance', () => {
    const seen: [number, number][] = [];
    basesOf(BY_INSTRUMENT, new RowBases(), (i, q) => seen.push([i, q]));
    expect(seen).toEqual([
      [3, 200_000],
      [4, -0.5],
    ]);
  });
  it("a what-if's trades net with the row's holdings (fresh scratch, more trades than holdings)", () => {
    // row: call K1 −1; trades: call K1 −1, put K1 +1, call K2 −4, perpetual +3 →
    // call K1 −2, put K1 +1, call K2 −4: per instrument 6 short, per strike (−1) + (−4) = 5
    const extra = { instr: Int32Array.from([0, 1, 2, 4]), size: Float64Array.from([-1, 1, -4, 3]), n: 4 };
    for (const [p, short] of [
      [BY_INSTRUMENT, 6],
      [BY_STRIKE, 5],
    ] as const) {
      const bases = new Float64Array(BASES);
      new RowBases().rowInto(p, ins, N_INSTR, N_GROUPS, Int32Array.from([0]), Float64Array.from([-1]), 0, 1, bases, 0, undefined, extra);
      expect(Array.from(bases)).toEqual([short, 3, 0, 6]);
    }
  });
});

describe('row IM', () => {
  const S = 100_000;
  const bases = Float64Array.from([3, 2, 0.5, 3, /* row 1 */ 0, 0, 0, 10]);
  it('max(0, loss) + 0.01·S·3 + 0.01·S·min(2, 0.5); parts = [3,000, 500, −]', () => {
    const parts = new Float64Array(3).fill(-1);
    expect(rowIm(BY_INSTRUMENT, bases, 0, 12_000, S, parts)).toBeCloseTo(12_000 + 3_000 + 500, 9);
    expect(Array.from(parts)).toEqual([3_000, 500, -1]);
    expect(rowIm(BY_INSTRUMENT, bases, 0, -5_000, S)).toBeCloseTo(3_500, 9);
  });
  it('gross futures basis: long + short = 2.5 coin, 0.02·S·2.5 = 5,000', () => {
    expect(rowIm(params({ futuresFraction: 0.02, futuresGross: true }), bases, 0, 0, S)).toBeCloseTo(3_000 + 5_000, 9);
  });
  it('short option minimum floors the IM (10 contracts × 0.01·S = 10,000), with or without parts', () => {
    const span = params({ shortOption: null, futuresFraction: null, shortOptionMinimum: 0.01 });
    expect(rowIm(span, bases, 1, 4_000, S)).toBeCloseTo(10_000, 9);
    expect(rowIm(span, bases, 1, 14_000, S)).toBeCloseTo(14_000, 9);
    const out = new Float64Array(3).fill(-7);
    rowImInto(span, bases, Float64Array.from([0, 4_000, 0]), S, 1, 2, out);
    expect(Array.from(out)).toEqual([-7, 10_000, -7]);
  });
  it('rowImInto writes exactly rows [from, to)', () => {
    const out = new Float64Array(3).fill(-7);
    rowImInto(BY_INSTRUMENT, bases, Float64Array.from([1_000, 2_000, 3_000]), S, 0, 1, out);
    expect(out[0]).toBeCloseTo(1_000 + 3_500, 9);
    expect(Array.from(out.subarray(1))).toEqual([-7, -7]);
  });
});

describe('reduction of rows to accounts', () => {
  it('combination across underlyings: sum − credit·(sum − largest), then the minimum margin', () => {
    const rows = Int32Array.from([0, 1, 2]);
    const im = Float64Array.from([100, 50, 30]);
    expect(combineRows(params({ sum: false, credit: 0.5 }), im, rows, 0, 3)).toBeCloseTo(180 - 0.5 * 80, 12);
    expect(combineRows(params({}), im, rows, 1, 3)).toBe(80);
    expect(combineRows(params({ minimumMarginUsd: 500 }), im, rows, 0, 3)).toBe(500);
  });

  it('pooled, isolated and not-reduced accounts, failed rows flagged', () => {
    const p = params({ sum: false, credit: 0.5 });
    const a = plainReduceArrays(3, 3, 4);
    for (const arr of [a.accEquity, a.accIm, a.accMm, a.accAvail]) arr.fill(Number.NaN);
    a.accHealth.fill(9);
    a.accFailed.fill(9);
    // account 0 pooled: sub 0 = rows 0, 1 (row 1 failed); account 1 isolated: sub 1 = row 2, sub 2 = row 3 (failed)
    a.accKind.set([AccKind.Pooled, AccKind.Isolated, AccKind.None]);
    a.accSubFrom.set([0, 1, 3]);
    a.accSubTo.set([1, 3, 3]);
    a.accCv.set([0, 10, 5]);
    a.subRowStart.set([0, 2, 3, 4]);
    a.subRows.set([0, 1, 2, 3]);
    a.subEquity.set([110, 25, 5]);
    a.rowIm.set([100, 50, 20, 30]);
    a.rowFailed.set([0, 1, 0, 1]);
    for (let k = 0; k < 3; k++) reduceAccount(a, p, k);
    // pooled: IM 150 − 0.5·50 = 125, MM 100, equity 110 (< IM, ≥ MM: margin call = 1), available −15
    expect([a.accEquity[0], a.accIm[0], a.accMm[0], a.accAvail[0], a.accHealth[0], a.accFailed[0]]).toEqual([110, 125, 100, -15, 1, 1]);
    // isolated: IM 20 + 30, MM 16 + 24, equity 10 + 25 + 5, free 10 + (25 − 20) + 0; sub 2 (5 < MM 24) liquidatable = 2
    expect([a.accEquity[1], a.accIm[1], a.accMm[1], a.accAvail[1], a.accHealth[1], a.accFailed[1]]).toEqual([40, 50, 40, 15, 2, 1]);
    // AccKind.None: left as it was
    expect([a.accEquity[2], a.accIm[2], a.accHealth[2], a.accFailed[2]]).toEqual([Number.NaN, Number.NaN, 9, 9]);
  });

  it('no failed row: the account is not flagged (pooled and isolated)', () => {
    const a = plainReduceArrays(2, 2, 2);
    a.accKind.set([AccKind.Pooled, AccKind.Isolated]);
    a.accSubFrom.set([0, 1]);
    a.accSubTo.set([1, 2]);
    a.subRowStart.set([0, 1, 2]);
    a.subRows.set([0, 1]);
    a.subEquity.set([1_000, 1_000]);
    a.rowIm.set([10, 10]);
    a.accFailed.fill(9);
    reduceAccount(a, params({}), 0);
    reduceAccount(a, params({}), 1);
    expect(Array.from(a.accFailed)).toEqual([0, 0]);
    // the next account's row failing does not flag this one
    a.rowFailed.set([0, 1]);
    reduceAccount(a, params({}), 0);
    reduceAccount(a, params({}), 1);
    expect(Array.from(a.accFailed)).toEqual([0, 1]);
    expect(Array.from(a.accHealth)).toEqual([0, 0]);
  });
});
