/**
 * Accounts holding several underlyings, positions interleaved (ETH before BTC in input order):
 * the equity is one rule for every runner (instruments/valuation.ts: the collateral value, then
 * per underlying in name order the sum of its positions' values in input order), which the book
 * keeps as partial sums per underlying (src/runner/book/parts.ts) so that a tick re-sums only the
 * moved underlying's positions.
 *  - the equity of inverse perpetuals entered at given prices and coin collateral, against the
 *    hand formula (Deribit inverse P&L: size × (1/entry − 1/mark) coin, at the index), after a load
 *    and after ticks;
 *  - the order itself: the book's equity is, bit for bit, the collateral value + the BTC partial
 *    sum + the ETH partial sum, summed here from the account runner's per-position values;
 *  - after a BTC tick then an ETH tick on 1, 2 and 3 threads, byte-identical to a fresh load on the
 *    moved market; after an in-place edit closing an account's first position (its underlyings'
 *    first-appearance order changes, not their names'), equal to a fresh load of the reduced book;
 *  - the workers' resident copies (wasm/equity.ts) following an in-place edit of a position, of
 *    a collateral balance, and a trade re-laying an account out, between two ticks.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import { freshResults } from './book-tick-helpers.js';
import type { AccountInput } from '../src/measures/types.js';
import type { MarginMarket } from '../src/market/margin-market.js';
import type { ResolvedMarket } from '../src/market/types.js';

const base = resolveMarket(defaultMarket());
const MODEL = 'deribit-pm-2024.1'; // haircuts 0 on BTC, ETH and USDC (presets/deribit-pm-2024.1.json)
const generated = generateBook({ accounts: 300, seed: 23, market: base }).accounts;
const option = (u: string, k: number): string => generated.flatMap((a) => a.positions).filter((p) => p.instrument.startsWith(`${u}-`) && /-[CP]$/.test(p.instrument))[k].instrument;

const perps: AccountInput = {
  id: 'perps',
  mode: 'cross',
  collateral: { USDC: 10_000, BTC: 0.5, ETH: 3 },
  positions: [
    { instrument: 'ETH-PERPETUAL', size: -20_000, entryPrice: 1_700 },
    { instrument: 'BTC-PERPETUAL', size: 50_000, entryPrice: 60_000 },
    { instrument: 'ETH-PERPETUAL', size: 5_000, entryPrice: 2_000 },
    { instrument: 'BTC-PERPETUAL', size: -10_000, entryPrice: 70_000 },
  ],
};
const mixed: AccountInput = {
  id: 'mixed',
  mode: 'portfolio',
  collateral: { USDC: 250_000, ETH: 10 },
  positions: [
    { instrument: option('ETH', 0), size: -30 },
    { instrument: option('BTC', 0), size: 2 },
    { instrument: 'ETH-PERPETUAL', size: 40_000 },
    { instrument: 'BTC-25DEC26', size: -20_000, entryPrice: 66_000 },
    { instrument: option('ETH', 1), size: 12 },
    { instrument: option('BTC', 1), size: -1.5 },
  ],
};
const isolated: AccountInput = {
  id: 'isolated',
  mode: 'isolated',
  collateral: { USDC: 5_000 },
  positions: [
    { instrument: 'ETH-PERPETUAL', size: 3_000, entryPrice: 1_900, collateral: { ETH: 1 } },
    { instrument: option('BTC', 2), size: -0.5, collateral: { BTC: 0.2 } },
  ],
};
const book: AccountInput[] = [...generated.slice(0, 150), perps, mixed, isolated, ...generated.slice(150)];
const at = (id: string): number => book.findIndex((a) => a.id === id);

const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});
async function loaded(accounts: AccountInput[], market: MarginMarket, threads: number): Promise<BookEngine> {
  const e = BookEngine.create({ market, model: MODEL, threads, chunkPositions: 1024 });
  engines.push(e);
  e.load(accounts);
  await e.recompute();
  return e;
}
const equityOf = (e: BookEngine, k: number): number => {
  const r = e.result(k);
  if (!r.ok) throw new Error(`account ${k}: ${r.error.message}`);
  return r.equity;
};

/** The hand formula of `perps`' equity: collateral at the index, each inverse perpetual's P&L size × (1/entry − 1/mark) coin at the index. */
function perpsEquity(m: ResolvedMarket): number {
  let eq = perps.collateral.USDC + perps.collateral.BTC * m.spot('BTC') + perps.collateral.ETH * m.spot('ETH');
  for (const p of perps.positions) {
    const u = p.instrument.slice(0, 3);
    eq += p.size * (1 / p.entryPrice! - 1 / m.perpetual(u)) * m.spot(u);
  }
  return eq;
}

describe('equity of accounts holding several underlyings', () => {
  test('inverse perpetuals and coin collateral: the hand formula, after a load and after ticks', async () => {
    const e = await loaded(book, base, 2);
    expect(equityOf(e, at('perps'))).toBeCloseTo(perpsEquity(base), 6);
    const m1 = base.shocked({ priceMove: { BTC: 0.04 } });
    await e.tick('BTC', m1);
    expect(equityOf(e, at('perps'))).toBeCloseTo(perpsEquity(m1), 6);
    const m2 = base.shocked({ priceMove: { BTC: 0.04, ETH: -0.07 } });
    await e.tick('ETH', m2);
    expect(equityOf(e, at('perps'))).toBeCloseTo(perpsEquity(m2), 6);
    expect(Math.abs(perpsEquity(m2) - perpsEquity(base))).toBeGreaterThan(100); // the moves do move it
  });

  test('the order: collateral value, then the BTC partial sum, then the ETH one, each in input order', async () => {
    const m = base.shocked({ priceMove: { BTC: -0.03, ETH: 0.05 } });
    const e = await loaded(book, base, 1);
    await e.tick(['BTC', 'ETH'], m);
    const ref = new MarginEngine({ market: m, model: MODEL });
    for (const a of [perps, mixed]) {
      const r = ref.margin(a);
      if (!r.ok || !r.positions) throw new Error(`${a.id} did not margin`);
      const part = (u: string): number => {
        let v = 0;
        r.positions!.forEach((p, j) => {
          if (a.positions[j].instrument.startsWith(`${u}-`)) v += p.valueUsd;
        });
        return v;
      };
      const want = r.collateralValue + part('BTC') + part('ETH');
      expect(r.equity).toBe(want);
      expect(equityOf(e, at(a.id))).toBe(want);
    }
  });

  test('a BTC tick then an ETH tick on 1, 2 and 3 threads: byte-identical to a fresh load on the moved market', async () => {
    const m1 = base.shocked({ priceMove: { BTC: 0.021 }, volShift: { BTC: 0.01 } });
    const m2 = base.shocked({ priceMove: { BTC: 0.021, ETH: -0.033 }, volShift: { BTC: 0.01 } });
    const want1 = await freshResults(book, m1, MODEL);
    const want2 = await freshResults(book, m2, MODEL);
    for (const threads of [1, 2, 3]) {
      const e = await loaded(book, base, threads);
      await e.tick('BTC', m1);
      expect(JSON.stringify(e.results()), `${threads} threads, BTC`).toBe(want1);
      await e.tick('ETH', m2);
      expect(JSON.stringify(e.results()), `${threads} threads, BTC then ETH`).toBe(want2);
    }
  });

  test("an in-place edit closing the first position (ETH before BTC no more): a fresh load's figures, then a tick's", async () => {
    const e = await loaded(book, base, 2);
    const rows = e.rows.nRows;
    const reduced = { ...mixed, positions: mixed.positions.slice(1) };
    e.replace(at('mixed'), reduced);
    expect(e.rows.nRows).toBe(rows); // edited in place, no row appended
    const after = book.map((a) => (a.id === 'mixed' ? reduced : a));
    // the edited account keeps its rows in their first order (ETH, BTC: its breakdown lists them so);
    // its figures, and every other account's result, are a fresh load's
    const same = async (m: MarginMarket): Promise<void> => {
      const f = await loaded(after, m, 1);
      const k = at('mixed');
      for (let j = 0; j < book.length; j++) if (j !== k) expect(JSON.stringify(e.result(j))).toBe(JSON.stringify(f.result(j)));
      const [a, b] = [e.result(k), f.result(k)];
      if (!a.ok || !b.ok) throw new Error('mixed did not margin');
      expect([a.equity, a.initialMargin, a.maintenanceMargin, a.health]).toEqual([b.equity, b.initialMargin, b.maintenanceMargin, b.health]);
    };
    await same(base);
    const m = base.shocked({ priceMove: { ETH: 0.06 } });
    await e.tick('ETH', m);
    await same(m);
  });

  test('a tick, then an in-place edit, then a tick: the workers\' resident positions (wasm/equity.ts) follow the edit', async () => {
    const e = await loaded(book, base, 2);
    const m1 = base.shocked({ priceMove: { ETH: 0.02 } });
    await e.tick('ETH', m1); // the workers' copies of the positions are made here, with the ETH option of 'mixed' at −30
    const k = at('mixed');
    const reduced = { ...mixed, positions: mixed.positions.slice(1) };
    e.replace(k, reduced);
    const m2 = base.shocked({ priceMove: { ETH: 0.05 } });
    await e.tick('ETH', m2); // re-sums the ETH part of 'mixed' in the workers: the closed option must count 0
    const f = await loaded(book.map((a) => (a.id === 'mixed' ? reduced : a)), m2, 1);
    for (let j = 0; j < book.length; j++) if (j !== k) expect(JSON.stringify(e.result(j))).toBe(JSON.stringify(f.result(j)));
    const [a, b] = [e.result(k), f.result(k)]; // its rows keep their first order (as above): its figures compared
    if (!a.ok || !b.ok) throw new Error('mixed did not margin');
    expect([a.equity, a.initialMargin, a.maintenanceMargin, a.health]).toEqual([b.equity, b.initialMargin, b.maintenanceMargin, b.health]);
  });

  test("a tick, then an edited balance and a trade, then a tick: the workers' resident accounts (wasm/equity.ts) follow both", async () => {
    const e = await loaded(book, base, 2);
    await e.tick('ETH', base.shocked({ priceMove: { ETH: 0.02 } })); // the workers' copies of the accounts are made here
    const lessEth = { ...perps, collateral: { ...perps.collateral, ETH: 1.25 } }; // same positions: its ETH line edited in place
    const wider = { ...isolated, collateral: { USDC: 7_000 }, positions: [...isolated.positions, { instrument: option('ETH', 3), size: 4 }] }; // a new position: re-laid out
    const rows = e.rows.nRows;
    e.replace(at('perps'), lessEth);
    expect(e.rows.nRows).toBe(rows);
    e.replace(at('isolated'), wider);
    expect(e.rows.nRows).toBeGreaterThan(rows);
    const m2 = base.shocked({ priceMove: { ETH: 0.05 } });
    await e.tick('ETH', m2);
    const want = book.map((a) => (a.id === 'perps' ? lessEth : a.id === 'isolated' ? wider : a));
    const f = await loaded(want, m2, 1);
    expect(equityOf(e, at('perps'))).toBe(equityOf(f, at('perps')));
    expect(equityOf(e, at('isolated'))).toBe(equityOf(f, at('isolated')));
    expect(JSON.stringify(e.results())).toBe(JSON.stringify(f.results()));
  });
});
