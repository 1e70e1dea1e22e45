/** The README's library example, run as written (imports from the package entry point). */
import { expect, test } from 'vitest';
import { book, getPricer, impliedVol, margin, market, priceOptions } from '../src/index.js';

test('README library example works and gives consistent numbers', async () => {
  const [g] = priceOptions([{ type: 'call', forward: 65000, strike: 70000, vol: 0.55, t: 30 / 365, settlement: 'inverse' }]);
  expect(g.price).toBeGreaterThan(0);

  const pricer = getPricer();
  const batch = pricer.residentBatch(4096);
  for (let i = 0; i < 4096; i++) {
    batch.forward[i] = 65000; batch.strike[i] = 40000 + 10 * i; batch.vol[i] = 0.55; batch.t[i] = 30 / 365; batch.rate[i] = 0; batch.flags[i] = 2;
  }
  pricer.priceInto(batch, pricer.residentGreeks());
  expect(pricer.residentGreeks().price[3000]).toBe(g.price); // strike 70000, inverse call: same kernel, same bits

  const vol = impliedVol({ type: 'call', forward: 65000, strike: 70000, t: 30 / 365, price: g.price, settlement: 'inverse' });
  expect(Math.abs(vol - 0.55)).toBeLessThan(1e-12);

  const engine = margin.createMarginEngine({ market: market.resolveMarket(market.defaultMarket()), model: 'deribit-pm' });
  const result = engine.margin({ id: 'a', mode: 'portfolio', collateral: { BTC: 2 }, positions: [{ instrument: 'BTC-25SEP26-60000-P', size: -5 }] });
  expect(result.ok).toBe(true);
  if (result.ok) {
    expect(result.initialMargin).toBeGreaterThan(result.maintenanceMargin);
    expect(result.maintenanceMargin).toBeGreaterThan(0);
  }

  const mkt = market.resolveMarket(market.defaultMarket());
  const books = book.BookEngine.create({ market: mkt, model: 'deribit-pm-2024.1', threads: 2 });
  try {
    const accounts = book.generateBook({ accounts: 400, seed: 1, market: mkt }).accounts;
    books.load(accounts);
    await books.recompute();
    const summary = book.summarize(books.results());
    expect(summary.accounts).toBe(400);
    expect(summary.errors).toBe(0);
    const tick = await books.tick('BTC', mkt.shocked({ priceMove: { BTC: -0.05 } }));
    // exactly the accounts holding BTC (a BTC instrument or BTC collateral) are re-margined; ETH-only ones are untouched
    const holdsBtc = accounts.map((a, k) => (a.positions.some((p) => p.instrument.startsWith('BTC')) || (a.collateral.BTC ?? 0) !== 0 || a.positions.some((p) => (p.collateral?.BTC ?? 0) !== 0) ? k : -1)).filter((k) => k >= 0);
    expect(tick.indices).toEqual(holdsBtc);
    expect(holdsBtc.length).toBeLessThan(400);
  } finally {
    await books.close();
  }
});
