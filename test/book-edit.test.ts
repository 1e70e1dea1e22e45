/**
 * BookEngine.replace with a reduction of a vectorized account (what a liquidation, an ADL or a
 * cash transfer books) edits the account's own rows in place (src/runner/book/edit.ts):
 *  - no row is appended (pooled and isolated accounts), and the figures equal a fresh book loaded
 *    with the reduced accounts (bit for bit) and the account runner's margin of the reduced account;
 *  - the workers' resident copies see the edited sizes: a tick on 2 threads after the edits
 *    equals a fresh book on 1 thread ticked the same way;
 *  - an account that is not a reduction (a new position, a new currency) is
 *    re-laid out as before (rows appended), with the same figures;
 *  - only the rows whose sizes an edit moves are aggregated again (the others hold the same
 *    holdings): the figures still equal a fresh load's, before and after a tick;
 *  - an account laid out with no position (no sub-account: an isolated account with none) edited
 *    in place writes no position size (until session 20 it wrote stale sizes over other accounts'
 *    positions, which showed in their equity at the next tick).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { Aggregator } from '../src/wasm/aggregate.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
const model = 'deribit-pm-2024.1';
// two hand-made accounts with offsetting inverse futures (the futures add-on: 1 % of the offsetting notional), then a generated book
const offsetting: AccountInput[] = [
  { id: 'off1', mode: 'cross', collateral: { BTC: 2, USDC: 50_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 200_000 }, { instrument: 'BTC-25DEC26', size: -150_000 }, { instrument: 'BTC-25SEP26', size: 50_000, entryPrice: 70_000 }] },
  { id: 'off2', mode: 'portfolio', collateral: { ETH: 40 }, positions: [{ instrument: 'ETH-PERPETUAL', size: -80_000 }, { instrument: 'ETH-25DEC26', size: 30_000 }, { instrument: 'ETH-PERPETUAL', size: 20_000 }] },
];
const accounts = [...offsetting, ...generateBook({ accounts: 400, seed: 11, market }).accounts];

/**
 * Account a reduced: every other position halved, the last one closed (of two or more; in
 * isolated mode its own collateral returns to the account's, as a liquidation books it), the
 * first collateral balance cut by 10 %.
 */
function reduced(a: AccountInput): AccountInput {
  const last = a.positions.length > 1 ? a.positions[a.positions.length - 1] : undefined;
  const positions = a.positions.slice(0, last ? -1 : 1).map((p, j) => (j % 2 === 0 ? { ...p, size: p.size / 2 } : p));
  const collateral = { ...a.collateral };
  const [cur] = Object.keys(collateral);
  if (cur) collateral[cur] *= 0.9;
  for (const [c, x] of Object.entries(last?.collateral ?? {})) collateral[c] = (collateral[c] ?? 0) + x;
  return { ...a, positions, collateral };
}

function figures(book: BookEngine, k: number): number[] {
  const f = new Float64Array(3);
  const h = book.figuresInto(k, f);
  return [h, f[0], f[1], f[2]];
}

const books: BookEngine[] = [];
afterAll(async () => {
  for (const b of books) await b.close();
});
async function loaded(input: readonly unknown[], threads: number): Promise<BookEngine> {
  const b = BookEngine.create({ market, model, threads });
  books.push(b);
  b.load(input);
  await b.recompute();
  return b;
}

describe('BookEngine.replace: a reduction is edited in place', () => {
  it('pooled accounts keep their rows; figures equal a fresh load and the account runner', async () => {
    const book = await loaded(accounts, 2);
    const rows0 = book.rows.nRows;
    const edited: number[] = [];
    const next = accounts.slice();
    for (let k = 0; k < accounts.length; k++) {
      const a = accounts[k];
      if (k % 3 !== 0 && k >= offsetting.length) continue;
      if (a.positions.length === 0 || !book.isGrid(k)) continue;
      next[k] = reduced(a);
      book.replace(k, next[k]);
      edited.push(k);
    }
    expect(edited.length).toBeGreaterThan(50);
    expect(edited.slice(0, 2)).toEqual([0, 1]);
    expect(edited.filter((k) => accounts[k].mode === 'isolated').length).toBeGreaterThan(5);
    expect(book.rows.nRows).toBe(rows0); // no row appended, none dead
    const fresh = await loaded(next, 1);
    const engine = new MarginEngine({ market, model });
    for (let k = 0; k < accounts.length; k++) {
      expect(figures(book, k), `account ${k}`).toEqual(figures(fresh, k));
    }
    for (const k of edited) {
      const r = engine.margin(next[k]);
      if (!r.ok) throw new Error(r.error.message);
      const [, eq, im, mm] = figures(book, k);
      expect(eq).toBeCloseTo(r.equity, 6);
      expect(im).toBeCloseTo(r.initialMargin, 6);
      expect(mm).toBeCloseTo(r.maintenanceMargin, 6);
      expect(book.account(k)).toEqual(next[k]);
    }
    // the workers' resident rows follow the edited sizes: ticks on 2 threads = a fresh book on 1
    for (const [u, x] of [['BTC', -0.07], ['ETH', 0.05], ['BTC', -0.12]] as const) {
      const m = market.shocked({ priceMove: u === 'BTC' ? { BTC: x } : { ETH: x } });
      const a = await book.tick(u, m);
      const b = await fresh.tick(u, m);
      expect(a.indices).toEqual(b.indices);
      for (let k = 0; k < accounts.length; k++) expect(figures(book, k), `${u} account ${k}`).toEqual(figures(fresh, k));
    }
  }, 60_000);

  it('not a reduction (a new currency, pooled or isolated; a new position): re-laid out, the same figures', async () => {
    const book = await loaded(accounts, 1);
    const rows0 = book.rows.nRows;
    const next = accounts.slice();
    const iso = accounts.findIndex((a) => a.mode === 'isolated' && a.positions.length > 1 && !('ETH' in a.collateral));
    const pooled = accounts.findIndex((a, k) => a.mode !== 'isolated' && a.positions.length > 1 && book.isGrid(k) && !('ETH' in a.collateral));
    expect(iso).toBeGreaterThanOrEqual(0);
    expect(pooled).toBeGreaterThanOrEqual(0);
    next[iso] = reduced(accounts[iso]);
    next[iso] = { ...next[iso], collateral: { ...next[iso].collateral, ETH: 0.5 } };
    next[pooled] = { ...accounts[pooled], collateral: { ...accounts[pooled].collateral, ETH: 0.5 } };
    const grown = accounts.findIndex((a, k) => k !== pooled && a.mode !== 'isolated' && book.isGrid(k) && a.positions.length > 0);
    next[grown] = { ...accounts[grown], positions: [...accounts[grown].positions, { instrument: 'BTC-PERPETUAL', size: 1000 }] };
    for (const k of [iso, pooled, grown]) book.replace(k, next[k]);
    expect(book.rows.nRows).toBeGreaterThan(rows0);
    const fresh = await loaded(next, 1);
    for (const k of [iso, pooled, grown]) expect(figures(book, k)).toEqual(figures(fresh, k));
  });

  it('an account laid out with no position (no sub-account) edited in place: the other accounts keep their sizes', async () => {
    // the first account's first position carries an entry price, so that a size written over it shows in its equity
    const input: AccountInput[] = [
      { id: 'p', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 50_000 }, { instrument: 'BTC_USDC-PERPETUAL', size: -0.5 }] },
      { id: 'i', mode: 'isolated', collateral: { USDC: 5_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.1, collateral: { USDC: 3_000 } }] },
      { id: 'e', mode: 'isolated', collateral: { USDC: 1_000 }, positions: [] },
    ];
    for (const threads of [1, 2]) {
      const book = await loaded(input, threads);
      const next = [...input];
      // a new currency re-lays it out (appended: its sub-account range is empty at the end of the book), then cash in place twice
      for (const collateral of [{ USDC: 1_000, BTC: 0.01 }, { USDC: 500, BTC: 0.01 }, { USDC: -200, BTC: 0.01 }]) {
        next[2] = { ...input[2], collateral };
        book.replace(2, next[2]);
      }
      const m = market.shocked({ priceMove: { BTC: 0.02 } });
      await book.tick('BTC', m);
      const fresh = await loaded(next, 1);
      await fresh.tick('BTC', m);
      const engine = new MarginEngine({ market: m, model });
      for (let k = 0; k < input.length; k++) {
        expect(figures(book, k), `${threads} thread(s), account ${k}`).toEqual(figures(fresh, k));
        const r = engine.margin(next[k]);
        expect(r.ok && r.equity).toBeCloseTo(figures(book, k)[1], 6);
      }
    }
  });

  it('an edit aggregates again only the rows it moves (a USDC balance moves none)', async () => {
    const two: AccountInput = { id: 'two', mode: 'cross', collateral: { BTC: 1, USDC: 20_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 100_000 }, { instrument: 'ETH-25DEC26', size: -30_000 }] };
    const input = [two, ...accounts.slice(2, 40)];
    const book = await loaded(input, 1);
    const aggregated: number[] = [];
    const original = Aggregator.prototype.worstLossOfRows;
    Aggregator.prototype.worstLossOfRows = function (this: Aggregator, ...args: Parameters<Aggregator['worstLossOfRows']>) {
      aggregated.push(args[0]);
      return original.apply(this, args);
    };
    const steps: AccountInput[] = [
      { ...two, collateral: { BTC: 1, USDC: 18_000 }, positions: [two.positions[0], { instrument: 'ETH-25DEC26', size: -15_000 }] }, // the ETH row
      { ...two, collateral: { BTC: 1, USDC: 15_000 }, positions: [two.positions[0], { instrument: 'ETH-25DEC26', size: -15_000 }] }, // no row
      { ...two, collateral: { BTC: 0.8, USDC: 15_000 }, positions: [two.positions[0], { instrument: 'ETH-25DEC26', size: -15_000 }] }, // the BTC row (its coin collateral)
    ];
    const counts: number[] = [];
    try {
      for (const next of steps) {
        const before = aggregated.length;
        book.replace(0, next);
        counts.push(aggregated.length - before);
        const fresh = await loaded([next, ...input.slice(1)], 1);
        expect(figures(book, 0)).toEqual(figures(fresh, 0));
      }
    } finally {
      Aggregator.prototype.worstLossOfRows = original;
    }
    expect(counts).toEqual([1, 0, 1]);
    expect(new Set(aggregated).size).toBe(2); // the two rows: ETH's, then BTC's
    const m = market.shocked({ priceMove: { BTC: -0.05, ETH: 0.03 } });
    const fresh = await loaded([steps[2], ...input.slice(1)], 1);
    await book.tick(['BTC', 'ETH'], m);
    await fresh.tick(['BTC', 'ETH'], m);
    for (let k = 0; k < input.length; k++) expect(figures(book, k), `account ${k}`).toEqual(figures(fresh, k));
  });
});
