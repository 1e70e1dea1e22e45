/**
 * Resolve off the main thread (src/runner/book/chunk-resolve.ts): ingestion workers resolve the
 * chunks they parse against their own instrument tables, and the main thread merges them in
 * input order (LoadSession.admitResolved).
 *
 * - The merged book equals `load(objects)` on one thread (the independent reference: every
 *   account resolved one by one against one table), result for result, on 1, 2 and 3 ingestion
 *   threads and with resolvers shared round-robin across chunks (a worker's table already holds
 *   instruments of other chunks, in another order). The book holds the cases whose indices the
 *   merge must remap: entry prices (an instrument's complement), inverse futures entered at mark
 *   (a coin leg pointing at its original position), isolated accounts with per-position
 *   collateral, coin collateral, a currency the model refuses, an unknown instrument after a
 *   valid new one (the table keeps the valid one), invalid and unnamed accounts.
 * - The merge order, by hand: two chunks resolved by one worker in reverse order give the book's
 *   table in order of first sight in the book.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ingestBook } from '../src/io/ingest.js';
import { ColumnsBuilder } from '../src/instruments/columns.js';
import { validateAccount } from '../src/instruments/account.js';
import { InstrumentTable } from '../src/instruments/table.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { BookAccounts } from '../src/runner/book/accounts.js';
import { LoadSession } from '../src/runner/book/load.js';
import { ChunkResolver } from '../src/runner/book/chunk-resolve.js';

const dir = mkdtempSync(join(tmpdir(), 'optmargin-chunk-resolve-'));
const snapshot = defaultMarket();
const market = resolveMarket(snapshot);
const { accounts } = generateBook({ accounts: 400, seed: 11, market });

const special: unknown[] = [
  { id: 'entry-and-leg', mode: 'portfolio', collateral: { BTC: 2, USDC: 1000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 5000 }, { instrument: 'ETH-PERPETUAL', size: -2000, entryPrice: 2500 }] },
  { id: 'iso', mode: 'isolated', collateral: { USDC: 500 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 100, collateral: { BTC: 0.1 } }, { instrument: 'ETH-PERPETUAL', size: -50, entryPrice: 2000, collateral: { ETH: 1 } }] },
  { id: 'refused-currency', mode: 'cross', collateral: { DOGE: 10 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10 }] },
  { id: 'unknown-after-valid', mode: 'portfolio', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 1 }, { instrument: 'BTC-32JAN26-1-C', size: 1 }] },
  { id: 'bad-size', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] },
  { mode: 'cross', collateral: { ETH: 1 }, positions: [] },
];
// the special accounts spread over the book (several chunks)
const raw: unknown[] = [...accounts.slice(0, 100), ...special.slice(0, 3), ...accounts.slice(100, 250), ...special.slice(3), ...accounts.slice(250)];

async function reference(): Promise<string> {
  const a = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
  try {
    a.load(raw);
    await a.recompute();
    return JSON.stringify(a.results());
  } finally {
    await a.close();
  }
}

describe('chunks resolved off the main thread', () => {
  const f = join(dir, 'book.jsonl');
  writeFileSync(f, raw.map((a) => JSON.stringify(a)).join('\n') + '\n');

  test('ingestion workers resolve, the main thread merges: the results of load(objects), bit for bit, on 1, 2 and 3 threads', async () => {
    const want = await reference();
    for (const threads of [1, 2, 3]) {
      const b = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads });
      try {
        const spec = b.chunkResolveSpec();
        expect(spec).not.toBeNull();
        const loader = b.columnsLoad();
        let chunks = 0;
        let resolved = 0;
        const { columns } = await ingestBook(f, {
          threads,
          chunkBytes: 9000,
          resolve: { market: snapshot, collateral: spec!.collateral },
          onChunk: (c, r) => {
            chunks++;
            if (r) resolved++;
            loader.add(c, undefined, r);
          },
        });
        expect(chunks).toBeGreaterThan(20);
        // one thread parses in-process: the runner resolves every chunk itself; with workers, they do
        expect(resolved, `${threads} threads`).toBe(threads === 1 ? 0 : chunks);
        loader.finish(columns);
        await b.recompute();
        expect(JSON.stringify(b.results()), `${threads} threads`).toBe(want);
        expect(b.result(raw.indexOf(special[3]))).toMatchObject({ id: 'unknown-after-valid', ok: false });
        expect(b.result(raw.indexOf(special[2]))).toMatchObject({ id: 'refused-currency', ok: false });
      } finally {
        await b.close();
      }
    }
  });

  test('resolvers shared round-robin over the chunks (a worker table in another order) merge to the same results', async () => {
    const want = await reference();
    const chunks: ReturnType<ColumnsBuilder['build']>[] = [];
    const { columns } = await ingestBook(f, { threads: 1, chunkBytes: 7000, onChunk: (c) => chunks.push(c) });
    for (const workers of [1, 2, 3]) {
      const b = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
      try {
        const collateral = b.chunkResolveSpec()!.collateral;
        const resolvers = Array.from({ length: workers }, () => new ChunkResolver(resolveMarket(snapshot), collateral));
        // each resolver takes every workers-th chunk, the last chunks first (its table fills in another order than the book's)
        const parts = new Array(chunks.length);
        for (let i = chunks.length - 1; i >= 0; i--) parts[i] = resolvers[i % workers].resolve(chunks[i]);
        const loader = b.columnsLoad();
        // every third chunk is resolved here instead (a chunk a worker failed on, parsed in-process)
        chunks.forEach((c, i) => loader.add(c, undefined, i % 3 === 1 ? undefined : parts[i]));
        loader.finish(columns);
        await b.recompute();
        expect(JSON.stringify(b.results()), `${workers} resolvers`).toBe(want);
      } finally {
        await b.close();
      }
    }
  });

  test('merge order by hand: the book table takes instruments in order of first sight in the book, whatever order the worker met them in', () => {
    const chunkOf = (...acc: unknown[]) => {
      const b = new ColumnsBuilder();
      for (const a of acc) b.add(validateAccount(a));
      return b.build();
    };
    // chunk A: BTC-PERPETUAL (inverse, at mark: its coin leg coin:BTC next), ETH-PERPETUAL (entry price: a coin leg too)
    const A = chunkOf({ id: 'a', mode: 'cross', collateral: { USDC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10 }, { instrument: 'ETH-PERPETUAL', size: 10, entryPrice: 2000 }] });
    // chunk B: ETH-PERPETUAL (its leg coin:ETH), BTC-PERPETUAL (coin:BTC), then ETH collateral (coin:ETH, known)
    const B = chunkOf({ id: 'b', mode: 'cross', collateral: { ETH: 1 }, positions: [{ instrument: 'ETH-PERPETUAL', size: 1 }, { instrument: 'BTC-PERPETUAL', size: 1 }] });
    const e = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    const collateral = e.chunkResolveSpec()!.collateral;
    void e.close();
    const worker = new ChunkResolver(market, collateral);
    const rb = worker.resolve(B); // the worker meets B first: its table is ETH-PERPETUAL, coin:ETH, BTC-PERPETUAL, coin:BTC
    const ra = worker.resolve(A);
    expect(rb.keys).toEqual(['ETH-PERPETUAL', 'coin:ETH', 'BTC-PERPETUAL', 'coin:BTC']);
    const table = new InstrumentTable(market);
    const accounts = new BookAccounts(0);
    const s = new LoadSession(accounts, { table, market, collateral, forwardOf: (i) => table.forward[i] }, true);
    s.admitResolved(A, [], [], ra);
    s.admitResolved(B, [], [], rb);
    // by hand, in book order: a's BTC-PERPETUAL, its leg coin:BTC, ETH-PERPETUAL, its leg coin:ETH; b adds nothing new
    expect(table.names.slice(0, table.count)).toEqual(['BTC-PERPETUAL', 'coin:BTC', 'ETH-PERPETUAL', 'coin:ETH']);
    expect(table.underlyings).toEqual(['BTC', 'ETH']);
    // a's positions: 0 at mark, ~2 with its entry price; b's: ETH-PERPETUAL (2), BTC-PERPETUAL (0)
    expect(Array.from(accounts.opInstr.a.subarray(0, accounts.opInstr.n))).toEqual([0, ~2, 2, 0]);
    // currencies in order of first sight: USDC (a), ETH (b)
    expect(accounts.currencies).toEqual(['USDC', 'ETH']);
    expect(s.n).toBe(2);
  });
});
