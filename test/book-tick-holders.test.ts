/**
 * What a book keeps from one tick to the next while its accounts are edited (a simulation's
 * steps: a tick of BTC and ETH, liquidations booked in place, a cascade tick of one of them):
 * the accounts holding each set of moved underlyings (BookAccounts.holdersOf) and the tick's
 * account ranges per set of moved underlyings (the scheduler's tickRanges). Both are kept
 * across edits that leave every account's underlyings alone and dropped when an edit changes
 * them. Ticks of BTC, ETH and both, alternating, with an in-place reduction and a re-layout (a
 * new ETH balance) between them; after each, the changed accounts are those whose inputs touch
 * a moved underlying (listed from the inputs, not by the engine; the typed list `changed`, every
 * other tick in the buffer of the last one handed back, and `indices`) and the results equal a
 * fresh book's on the moved market, byte for byte.
 */
import { afterAll, expect, test } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import { dependsOn, freshResults } from './book-tick-helpers.js';
import type { AccountInput } from '../src/measures/types.js';

const base = resolveMarket(defaultMarket());
const MODEL = 'deribit-pm-2024.1';
const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

/** Every position halved: a reduction, which the book edits in place (the account keeps its underlyings). */
function halved(a: AccountInput): AccountInput {
  return { ...a, positions: a.positions.map((p) => ({ ...p, size: p.size / 2 })) };
}

test('ticks of alternating underlyings across in-place edits and a re-layout: the holders of each move and fresh results', async () => {
  const now = generateBook({ accounts: 300, seed: 5, market: base }).accounts;
  const book = BookEngine.create({ market: base, model: MODEL, threads: 2, chunkPositions: 1024 });
  engines.push(book);
  book.load(now);
  await book.recompute();
  const pooled = (a: AccountInput, k: number): boolean => a.mode !== 'isolated' && book.isGrid(k) && a.positions.length > 1;
  // x: BTC only (a new ETH balance re-lays it out on ETH too); y: both (halved in place)
  const x = now.findIndex((a, k) => pooled(a, k) && dependsOn(a, 'BTC') && !dependsOn(a, 'ETH'));
  const y = now.findIndex((a, k) => k !== x && pooled(a, k) && dependsOn(a, 'BTC') && dependsOn(a, 'ETH'));
  expect(x).toBeGreaterThanOrEqual(0);
  expect(y).toBeGreaterThanOrEqual(0);
  const moves: Record<string, number> = {};
  const ticks: string[][] = [['BTC'], ['ETH'], ['BTC', 'ETH'], ['ETH'], ['BTC', 'ETH'], ['ETH'], ['BTC']];
  const xInEth: boolean[] = [];
  let last: Int32Array | undefined; // every other tick hands the last update's list back (tick's `reuse`)
  for (const [t, moved] of ticks.entries()) {
    if (t === 2) book.replace(y, (now[y] = halved(now[y])));
    if (t === 3) book.replace(x, (now[x] = { ...now[x], collateral: { ...now[x].collateral, ETH: 0.5 } }));
    for (const u of moved) moves[u] = (moves[u] ?? 0) + (u === 'BTC' ? -0.02 : 0.015);
    const m = base.shocked({ priceMove: { ...moves } });
    const upd = await book.tick(moved, m, t % 2 === 1 ? last : undefined);
    const want = now.flatMap((a, k) => (moved.some((u) => dependsOn(a, u)) ? [k] : []));
    expect(Array.from(upd.changed), `tick ${t}: ${moved.join('+')}`).toEqual(want);
    if (t % 2 === 1) expect(upd.changed.buffer).toBe(last!.buffer); // written again in the buffer handed back
    last = upd.changed;
    expect(Array.from(upd.indices), `tick ${t}: ${moved.join('+')}`).toEqual(want);
    if (moved.length === 1 && moved[0] === 'ETH') xInEth.push(upd.indices.includes(x));
    expect(JSON.stringify(book.results()), `tick ${t}`).toBe(await freshResults(now, m, MODEL));
  }
  // x joins the ETH ticks once its ETH balance is booked (tick 1 before, ticks 3 and 5 after)
  expect(xInEth).toEqual([false, true, true]);
}, 60_000);
