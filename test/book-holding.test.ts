/**
 * BookEngine.positionsIn (what the ADL desk ranks): the positions the accounts asked for hold now
 * in the instruments asked for, read from the book's resolved positions, against each account's
 * input read by hand — on a generated book as loaded, after in-place reductions (a position halved,
 * another closed), and after replaces that add an instrument the account did not hold (its rows
 * appended). Only the accounts asked for are visited, in ascending order.
 */
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
type Seen = [k: number, instrument: string, size: number, entry: number | undefined];
const order = (a: Seen, b: Seen): number => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2] - b[2] || (a[3] ?? 0) - (b[3] ?? 0);

/** The positions of accounts `ks` in `names`, from their inputs by hand, sorted. */
function truth(book: BookEngine, ks: number[], names: Set<string>): Seen[] {
  const out: Seen[] = [];
  for (const k of ks) for (const p of book.account(k).positions) if (names.has(p.instrument) && p.size !== 0) out.push([k, p.instrument, p.size, p.entryPrice]);
  return out.sort(order);
}

describe('BookEngine.positionsIn', () => {
  it('visits every position held in the instruments asked for, as loaded and after reductions and additions', async () => {
    const accounts = generateBook({ accounts: 300, seed: 3, market }).accounts as AccountInput[];
    const book = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      book.load(accounts);
      await book.recompute();
      const call = accounts.flatMap((a) => a.positions).find((p) => p.instrument.includes('-C'))!.instrument;
      const names = new Set(['BTC-PERPETUAL', 'ETH_USDC-PERPETUAL', call]);
      const ks = Array.from({ length: 150 }, (_, t) => 2 * t); // the even accounts
      const check = (): void => {
        const seen: Seen[] = [];
        book.positionsIn(names, ks, (k, instrument, size, entry) => seen.push([k, instrument, size, entry]));
        expect(seen.map((s) => s[0])).toEqual(seen.map((s) => s[0]).sort((a, b) => a - b));
        const want = truth(book, ks, names);
        expect(want.length).toBeGreaterThan(20);
        expect(want.some((s) => s[3] !== undefined)).toBe(true);
        expect(seen.sort(order)).toEqual(want);
      };
      check();
      // in place: every position of the first 50 accounts halved, and their first position closed
      for (let k = 0; k < 50; k++) book.replace(k, { ...accounts[k], positions: accounts[k].positions.slice(1).map((p) => ({ ...p, size: p.size / 2 })) });
      check();
      let added = 0;
      for (let k = 50; k < 300 && added < 20; k += 2) {
        if (accounts[k].positions.some((p) => p.instrument === 'ETH_USDC-PERPETUAL')) continue;
        book.replace(k, { ...accounts[k], collateral: { ...accounts[k].collateral, USDC: (accounts[k].collateral.USDC ?? 0) + 100_000 }, positions: [...accounts[k].positions, { instrument: 'ETH_USDC-PERPETUAL', size: 1, entryPrice: 3_000 }] });
        added++;
      }
      expect(added).toBe(20);
      check();
      let none = 0;
      book.positionsIn(new Set(), ks, () => none++);
      book.positionsIn(new Set(['BTC-26JUN26-1000000-C']), ks, () => none++); // an instrument the book does not hold
      expect(none).toBe(0);
    } finally {
      await book.close();
    }
  });
});
