/**
 * The kept state's netted rows (measures/grid/kept-nets.ts): a what-if adds its trades to the
 * nets kept with the state instead of netting the row's holdings again. References: the bases
 * of the row's holdings netted afresh with the trades after them (RowBases.rowInto, the path a
 * fresh margin takes), which must be the same doubles; a hand count of a row; and a fresh
 * margin of the changed account on an engine of its own, for a chain of what-ifs that moves the
 * kept state (instruments held twice, two trades of one instrument, an instrument the row does
 * not hold, a new underlying), on a preset that nets calls and puts per strike and on one that
 * nets per instrument with a short option minimum.
 */
import { describe, expect, it } from 'vitest';
import { margin } from '../src/index.js';
import { validateAccount } from '../src/instruments/account.js';
import { Kind } from '../src/instruments/kind.js';
import { BASES, RowBases, type BaseInstruments } from '../src/measures/grid/addons.js';
import { KeptNets } from '../src/measures/grid/kept-nets.js';
import type { GridMeasureParams } from '../src/measures/grid/params.js';
import type { AccountInput, PositionChange } from '../src/measures/types.js';
import { btcEthMarket, exp, model } from './grid-fixture.js';
import { handGridMargin, handPosition } from './hand-grid.js';
import { expectClose, fresh } from './whatif-helpers.js';

// instruments: 0 call K1, 1 put K1 (group 0), 2 call K2 (group 1), 3 inverse future (F 100,000),
// 4 linear perpetual, 5 coin, 6 put K3 (group 2), 7 call K3 (group 2)
const ins: BaseInstruments = {
  kind: Uint8Array.from([Kind.Option, Kind.Option, Kind.Option, Kind.Future, Kind.Perpetual, Kind.Coin, Kind.Option, Kind.Option]),
  inverse: Uint8Array.from([1, 1, 1, 1, 0, 0, 1, 1]),
  forward: Float64Array.from([100_000, 100_000, 100_000, 100_000, 100_050, 0, 100_000, 100_000]),
  group: Int32Array.from([0, 0, 1, -1, -1, -1, 2, 2]),
};
const N_INSTR = 8;
const N_GROUPS = 3;
const params = (byStrike: boolean, min: number | null): GridMeasureParams => ({
  shortOption: 0.01,
  shortOptionByStrike: byStrike,
  futuresFraction: 0.01,
  futuresGross: false,
  shortOptionMinimum: min,
  sum: true,
  credit: 0,
  minimumMarginUsd: 0,
  mmFraction: 0.8,
});

/** A seeded generator of sizes with long binary expansions (sums in another order differ in the last bits). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('kept nets against netting the holdings afresh (RowBases.rowInto): the same doubles', () => {
  it('hand count: held call K1 −3 and +1, put K1 −1; trades put K1 −2 (held), call K2 −1 and +0.25 (not held), put K1 +0.5', () => {
    // nets after the trades: call K1 −2, put K1 −3 + 0.5 = −2.5, call K2 −0.75 (after them)
    // per instrument: short options 2 + 2.5 + 0.75 = 5.25; by strike: group 0 −4.5, group 1 −0.75 → 5.25 too,
    // short option contracts 5.25 either way; no futures
    const rb = new RowBases();
    const nets = new KeptNets(rb);
    const h = { instr: Int32Array.from([0, 5, 0, 1]), size: Float64Array.from([-3, 9, 1, -1]), start: Int32Array.from([0, 4]) };
    const extra = { instr: Int32Array.from([1, 2, 2, 1]), size: Float64Array.from([-2, -1, 0.25, 0.5]), n: 4 };
    for (const byStrike of [false, true]) {
      nets.hold({}, ins, N_INSTR, N_GROUPS, h);
      const bases = new Float64Array(BASES);
      nets.rowInto(params(byStrike, null), ins, N_INSTR, N_GROUPS, 0, bases, 0, extra);
      expect(Array.from(bases)).toEqual([5.25, 0, 0, 5.25]);
    }
  });

  it('per strike, no two options of one strike (one pass): held call K1 −2, call K2 −1 and +0.25, put K3 +0.5; trades call K1 +0.5, put K3 −1.5', () => {
    // nets after the trades: call K1 −1.5, call K2 −0.75, put K3 −1 (groups 0, 1, 2: one option each)
    // → short options 1.5 + 0.75 + 1 = 3.25, contracts 3.25
    const rb = new RowBases();
    const nets = new KeptNets(rb);
    const p = params(true, null);
    nets.hold({}, ins, N_INSTR, N_GROUPS, { instr: Int32Array.from([0, 2, 6, 2]), size: Float64Array.from([-2, -1, 0.5, 0.25]), start: Int32Array.from([0, 4]) });
    const bases = new Float64Array(BASES);
    nets.rowInto(p, ins, N_INSTR, N_GROUPS, 0, bases, 0, { instr: Int32Array.from([0, 6]), size: Float64Array.from([0.5, -1.5]), n: 2 });
    expect(Array.from(bases)).toEqual([3.25, 0, 0, 3.25]);
    // put K1 −1 with no other trade: group 0 = call −2 + put −1 = −3, group 1 −0.75, group 2 +0.5 → 3.75;
    // contracts 2 + 0.75 + 1 = 3.75
    nets.rowInto(p, ins, N_INSTR, N_GROUPS, 0, bases, 0, { instr: Int32Array.from([1]), size: Float64Array.from([-1]), n: 1 });
    expect(Array.from(bases)).toEqual([3.75, 0, 0, 3.75]);
    // put K1 +3 instead: group 0 = −2 + 3 = +1 (no short), group 1 −0.75 → 0.75; contracts 2 + 0.75 = 2.75
    nets.rowInto(p, ins, N_INSTR, N_GROUPS, 0, bases, 0, { instr: Int32Array.from([1]), size: Float64Array.from([3]), n: 1 });
    expect(Array.from(bases)).toEqual([0.75, 0, 0, 2.75]);
  });

  for (const byStrike of [false, true]) {
    it(`${byStrike ? 'per strike' : 'per instrument'}: random rows, instruments held up to three times, trades held or not, repeated; then holdings resized as a step moves the state`, () => {
      const r = rng(byStrike ? 7 : 11);
      const p = params(byStrike, 0.001);
      const rb = new RowBases();
      const ref = new RowBases();
      const nets = new KeptNets(rb);
      for (let trial = 0; trial < 300; trial++) {
        // two rows, each instrument on one (as one underlying's): 0–3 and the coin in row 0, 4 and 6–7 in row 1
        const lists = [
          [0, 1, 2, 3, 5],
          [6, 7, 4],
        ];
        const instr: number[] = [];
        const size: number[] = [];
        const start = [0];
        for (const list of lists) {
          const n = 1 + Math.floor(r() * 9);
          for (let j = 0; j < n; j++) {
            instr.push(list[Math.floor(r() * list.length)]);
            size.push((r() - 0.5) * 7.3);
          }
          start.push(instr.length);
        }
        const h = { instr: Int32Array.from(instr), size: Float64Array.from(size), start: Int32Array.from(start) };
        const owner = {};
        nets.hold(owner, ins, N_INSTR, N_GROUPS, h);
        for (let round = 0; round < 4; round++) {
          for (let k = 0; k < 2; k++) {
            const nx = Math.floor(r() * 4);
            const extra = { instr: new Int32Array(nx), size: new Float64Array(nx), n: nx };
            for (let e = 0; e < nx; e++) {
              extra.instr[e] = lists[k][Math.floor(r() * lists[k].length)];
              extra.size[e] = (r() - 0.5) * 3.1;
            }
            const got = new Float64Array(BASES);
            const want = new Float64Array(BASES);
            nets.rowInto(p, ins, N_INSTR, N_GROUPS, k, got, 0, extra);
            ref.rowInto(p, ins, N_INSTR, N_GROUPS, h.instr, h.size, h.start[k], h.start[k + 1], want, 0, undefined, extra);
            for (let b = 0; b < BASES; b++) expect(Object.is(got[b], want[b]), `trial ${trial} round ${round} row ${k} base ${b}: ${got[b]} vs ${want[b]}`).toBe(true);
          }
          // a step: a held instrument's first holding resized (as GridAccountMeasure.advance does), its net netted again
          const at = Math.floor(r() * h.instr.length);
          const i = h.instr[at];
          const k = at < h.start[1] ? 0 : 1;
          let first = h.start[k];
          while (h.instr[first] !== i) first++;
          h.size[first] += (r() - 0.5) * 2.9;
          nets.resized(owner, i, h.instr, h.size, first, h.start[k + 1]);
        }
      }
    });
  }

  it('a row the nets do not hold (one a what-if adds) nets the trades alone; another owner is netted again', () => {
    const rb = new RowBases();
    const nets = new KeptNets(rb);
    const p = params(true, null);
    nets.hold({}, ins, N_INSTR, N_GROUPS, { instr: Int32Array.from([0]), size: Float64Array.from([-1]), start: Int32Array.from([0, 1]) });
    const bases = new Float64Array(BASES);
    // row 1 of a one-row state: the trades put K3 −2, call K3 +0.5 only (group 2 net −1.5; contracts 2)
    nets.rowInto(p, ins, N_INSTR, N_GROUPS, 1, bases, 0, { instr: Int32Array.from([6, 7]), size: Float64Array.from([-2, 0.5]), n: 2 });
    expect(Array.from(bases)).toEqual([1.5, 0, 0, 2]);
    // a new owner: call K1 +4 (no short option left), inverse future −200,000 USD (2 coin short)
    nets.hold({}, ins, N_INSTR, N_GROUPS, { instr: Int32Array.from([0, 3]), size: Float64Array.from([4, -200_000]), start: Int32Array.from([0, 2]) });
    nets.rowInto(p, ins, N_INSTR, N_GROUPS, 0, bases, 0, { instr: new Int32Array(0), size: new Float64Array(0), n: 0 });
    expect(Array.from(bases)).toEqual([0, 0, 2, 0]);
  });
});

describe('a chain of what-ifs that moves the kept state, against fresh margins of the changed accounts', () => {
  const { createMarginEngine } = margin;
  const market = btcEthMarket();
  const perInstrument: margin.GridModel = {
    ...model,
    id: 'per-instrument-minimum',
    addOns: { ...model.addOns, shortOption: { fractionOfSpot: 0.01, netting: 'instrument' }, shortOptionMinimum: { fractionOfSpot: 0.2 } },
  };
  const start: AccountInput = {
    id: 'kn',
    mode: 'portfolio',
    collateral: { USDC: 400_000, BTC: 1 },
    positions: [
      { instrument: 'BTC-26FEB26-95000-P', size: -3 },
      { instrument: 'BTC-26FEB26-95000-C', size: 2 },
      { instrument: 'BTC-26FEB26-100000-C', size: -1 },
      { instrument: 'BTC-26FEB26-95000-P', size: -1.5 },
      { instrument: 'BTC_USDC-PERPETUAL', size: 0.5 },
      { instrument: 'BTC-PERPETUAL', size: -20_000, entryPrice: 95_000 },
    ],
  };
  /** `a` with position j resized by d (a new position appended when j is past the end). */
  const resized = (a: AccountInput, j: number, d: number, instrument?: string): AccountInput => ({
    ...a,
    positions: j < a.positions.length ? a.positions.map((p, k) => (k === j ? { ...p, size: p.size + d } : p)) : [...a.positions, { instrument: instrument!, size: d }],
  });
  const ch = (instrument: string, size: number, entryPrice?: number): PositionChange => ({ instrument, size, entryPrice: entryPrice ?? (/-[CP]$/.test(instrument) ? 0 : undefined) });

  for (const m of [model, perInstrument]) {
    it(`${m.id}: the put held twice, two trades of one call, an unheld put, a new ETH row, then a perpetual`, () => {
      const eng = createMarginEngine({ market, model: m });
      const ref = createMarginEngine({ market, model: m });
      let a = validateAccount(start);
      const f0 = eng.figuresOfValid(a);
      if (!f0.ok) throw new Error(f0.error.message);
      expectClose(f0, fresh(ref, a), 'start');
      // 1: the put (held twice) bought back by 1, the state moved (the first holding takes it)
      let next = resized(a, 0, 1);
      expectClose(eng.figuresAfter(a, [ch('BTC-26FEB26-95000-P', 1)], {}, next), fresh(ref, next), 'step 1');
      a = next;
      // 2: two trades of the 100,000 call in one what-if (+0.25, +0.25), moved
      next = resized(a, 2, 0.5);
      expectClose(eng.figuresAfter(a, [ch('BTC-26FEB26-100000-C', 0.25), ch('BTC-26FEB26-100000-C', 0.25)], {}, next), fresh(ref, next), 'step 2');
      a = next;
      // 3: a put the row does not hold, sold (not moved: the state stays at step 2)
      const unheld = resized(a, a.positions.length, -2, 'BTC-26FEB26-90000-P');
      expectClose(eng.figuresAfter(a, [ch('BTC-26FEB26-90000-P', -2)], {}), fresh(ref, unheld), 'step 3');
      // 4: an ETH call sold: a row the state has no holdings on (not moved)
      const eth = resized(a, a.positions.length, -1, 'ETH-26FEB26-3200-C');
      expectClose(eng.figuresAfter(a, [ch('ETH-26FEB26-3200-C', -1)], {}), fresh(ref, eth), 'step 4');
      // 5: the linear perpetual and the 95,000 call resized together, a USDC delta, moved
      next = { ...resized(resized(a, 4, -0.25), 1, -1), collateral: { ...a.collateral, USDC: a.collateral.USDC - 123.5 } };
      expectClose(eng.figuresAfter(a, [ch('BTC_USDC-PERPETUAL', -0.25), ch('BTC-26FEB26-95000-C', -1)], { USDC: -123.5 }, next), fresh(ref, next), 'step 5');
      a = next;
      // 6: after the moves, the put again (its net now −3.5 over two holdings), not moved
      const last = resized(a, 3, 0.75);
      const got = eng.figuresAfter(a, [ch('BTC-26FEB26-95000-P', 0.75)], {});
      expectClose(got, fresh(ref, last), 'step 6');
      // and by hand: positions of `last`, the BTC balance at 95 %
      const hand = handGridMargin(market, m, last.positions.map((p) => handPosition(p.instrument, p.size, exp, p.entryPrice)), { BTC: 0.95 });
      expect(got!.initialMargin).toBeCloseTo(hand.initialMargin, 6);
    });
  }
});
