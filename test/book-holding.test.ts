/**
 * BookEngine.accountsHolding (what the ADL desk reads before it reads accounts): every account that
 * holds one of the instruments asked for is in the list — read here from each account's input by
 * hand — on a generated book as loaded, after in-place reductions, and after replaces that add an
 * instrument the account did not hold (its rows appended). Accounts off the vectorized path are
 * always listed. A superset: an account may be listed that holds none any more.
 */
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());

/** The accounts of `book` (n) whose input holds one of `names`, by hand. */
function holders(book: BookEngine, n: number, names: Set<string>): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (book.account(k).positions.some((p) => names.has(p.instrument))) out.push(k);
  return out;
}

describe('BookEngine.accountsHolding', () => {
  it('lists every holder of the instruments asked for, as loaded and after reductions and additions', async () => {
    const accounts = generateBook({ accounts: 300, seed: 3, market }).accounts as AccountInput[];
    const book = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      book.load(accounts);
      await book.recompute();
      const names = new Set(['BTC-PERPETUAL', 'ETH_USDC-PERPETUAL', accounts.find((a) => a.positions.some((p) => p.instrument.includes('-C')))!.positions.find((p) => p.instrument.includes('-C'))!.instrument]);
      const check = (): void => {
        const listed = new Set(book.accountsHolding(names));
        const truth = holders(book, accounts.length, names);
        expect(truth.length).toBeGreaterThan(0);
        for (const k of truth) expect(listed.has(k)).toBe(true);
        expect([...listed]).toEqual([...listed].sort((a, b) => a - b));
      };
      check();
      // reductions in place (half of every position of the first 50 accounts), then additions: an instrument asked for
      // given to accounts that did not hold it
      for (let k = 0; k < 50; k++) book.replace(k, { ...accounts[k], positions: accounts[k].positions.map((p) => ({ ...p, size: p.size / 2 })) });
      check();
      let added = 0;
      for (let k = 50; k < 300 && added < 20; k++) {
        if (accounts[k].positions.some((p) => p.instrument === 'ETH_USDC-PERPETUAL')) continue;
        book.replace(k, { ...accounts[k], collateral: { ...accounts[k].collateral, USDC: (accounts[k].collateral.USDC ?? 0) + 100_000 }, positions: [...accounts[k].positions, { instrument: 'ETH_USDC-PERPETUAL', size: 1 }] });
        added++;
      }
      expect(added).toBe(20);
      check();
      expect(book.accountsHolding(new Set())).toEqual([]);
    } finally {
      await book.close();
    }
  });
});
