/**
 * Simulations one after another on one book engine (SimulationOptions.book: the engine's pool and
 * workers reused, the accounts loaded again on the simulation's market): each gives the step
 * reports, account by account after the path and summary before it, of a simulation on a new
 * engine of its own (the independent path) — after a simulation on another market, mechanism and
 * fund has edited that engine's book — on 2 threads; the engine given is the caller's to close;
 * an engine of another model is refused. A book given as a parsed file's columns (ColumnParts), or
 * as an engine that read the file (accounts omitted: `optmargin simulate`'s path), simulates to
 * the bytes of the same accounts given as objects.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation, type StepReport } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { ingestBookParts } from '../src/io/ingest.js';
import { ColumnParts } from '../src/instruments/column-parts.js';
import { ingestInto } from '../src/cli/book-ingest.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
const MODEL = 'deribit-pm-2024.1';
const strip = (s: StepReport) => ({ ...s, ms: 0, stages: null });
const crash = (d: number) => shocksPath(market, { steps: [1, 2, 3].map((s) => ({ name: `d${s}`, moves: { BTC: -d * s, ETH: -0.8 * d * s } })) });

interface Run {
  reports: string;
  before: string;
  after: string;
}

async function run(sim: Simulation, n: number): Promise<Run> {
  const reports: StepReport[] = [];
  for (const st of crash(0.06).steps) reports.push(await sim.step(st.market, st.label));
  const after = Array.from({ length: n }, (_, k) => sim.account(k));
  await sim.close();
  return { reports: JSON.stringify(reports.map(strip)), before: JSON.stringify(sim.before), after: JSON.stringify(after) };
}

describe('simulations on one book engine', () => {
  it('a second simulation on the engine a first one edited gives the bytes of a simulation on a new engine', async () => {
    const { accounts } = generateBook({ accounts: 1500, seed: 21, market });
    const opts = { accounts, market, model: MODEL, mechanism: 'deribit-incremental', insuranceFundUsd: 1e6 };
    const fresh = await run(await Simulation.create({ ...opts, threads: 2 }), accounts.length);
    const book = BookEngine.create({ market, model: MODEL, threads: 2 });
    try {
      // a first simulation on another market (BTC 20 % higher), mechanism and fund: it liquidates and edits the book
      const other = market.shocked({ priceMove: { BTC: 0.2 } });
      const first = await Simulation.create({ ...opts, market: other, mechanism: 'okx-tiered-adl', insuranceFundUsd: 0, book });
      let liquidated = 0;
      for (const st of shocksPath(other, { steps: [{ name: 'x', moves: { BTC: -0.35 } }] }).steps) liquidated += (await first.step(st.market, st.label)).liquidated;
      expect(liquidated).toBeGreaterThan(50);
      await first.close();
      const again = await run(await Simulation.create({ ...opts, book }), accounts.length);
      expect(JSON.parse(fresh.reports).reduce((t: number, r: StepReport) => t + r.liquidated, 0)).toBeGreaterThan(50);
      expect(again.reports).toBe(fresh.reports);
      expect(again.before).toBe(fresh.before);
      expect(again.after).toBe(fresh.after);
      // the engine is still open: a third simulation runs on it
      expect((await run(await Simulation.create({ ...opts, book }), accounts.length)).reports).toBe(fresh.reports);
    } finally {
      await book.close();
    }
  }, 120_000);

  it('an engine of another model is refused, naming both', async () => {
    const { accounts } = generateBook({ accounts: 20, seed: 2, market });
    const book = BookEngine.create({ market, model: 'deribit-standard-2024.1', threads: 1 });
    try {
      await expect(Simulation.create({ accounts, market, model: MODEL, mechanism: 'deribit-incremental', book })).rejects.toThrow(/model deribit-standard-2024\.1 .*the simulation with deribit-pm-2024\.1/);
    } finally {
      await book.close();
    }
  });
  it("a parsed file's columns, and an engine loaded as the file is read with the simulation's market to pin on (accounts omitted), simulate to the bytes of the account objects: a grid model's book and segregated deribit-pm sub-accounts that give their currency", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'optmargin-simcols-'));
    const grid = generateBook({ accounts: 1200, seed: 23, market }).accounts;
    // deribit-pm: generated accounts a segregated sub-account can be, some giving their currency; an empty one in BTC (inferred, it would be USD: the ledger's currencies show it)
    const pme = new MarginEngine({ market, model: 'deribit-pm' });
    const coin: AccountInput[] = generateBook({ accounts: 1500, seed: 24, market }).accounts.flatMap((a, k) => {
      const r = pme.margin(a);
      return r.ok ? [k % 3 === 0 ? { ...a, currency: r.currency } : a] : [];
    });
    coin.splice(7, 0, { id: 'empty-btc', mode: 'cross', currency: 'BTC', collateral: {}, positions: [] });
    expect(coin.length).toBeGreaterThan(300);
    for (const [model, accounts] of [[MODEL, grid], ['deribit-pm', coin]] as const) {
      const f = join(dir, `${model}.jsonl`);
      writeFileSync(f, accounts.map((a) => JSON.stringify(a)).join('\n'));
      const opts = { market, model, mechanism: 'deribit-incremental', insuranceFundUsd: 1e6 };
      const objects = await run(await Simulation.create({ ...opts, accounts, threads: 2 }), accounts.length);
      expect(JSON.parse(objects.reports).reduce((t: number, r: StepReport) => t + r.liquidated, 0), model).toBeGreaterThan(20);
      const { parts } = await ingestBookParts(f, { threads: 2, chunkBytes: 50_000 });
      expect(parts.length, model).toBeGreaterThan(3);
      const cols = await run(await Simulation.create({ ...opts, accounts: new ColumnParts(parts), threads: 2 }), accounts.length);
      const book = BookEngine.create({ market, model, threads: 2 });
      try {
        await ingestInto(book, f, 2, () => {}, market);
        const loaded = await run(await Simulation.create({ ...opts, book }), accounts.length);
        for (const r of [cols, loaded]) {
          expect(r.before, model).toBe(objects.before);
          expect(r.reports, model).toBe(objects.reports);
          expect(r.after, model).toBe(objects.after);
        }
      } finally {
        await book.close();
      }
    }
    expect(JSON.parse((await run(await Simulation.create({ accounts: coin, market, model: 'deribit-pm', mechanism: 'deribit-incremental' }), 0)).reports)[0].currencies.map((c: { currency: string }) => c.currency)).toEqual(['BTC', 'ETH', 'USDC']);
  }, 180_000);

  it('without accounts, a book engine is required, loaded on the simulation market', async () => {
    const opts = { market, model: MODEL, mechanism: 'deribit-incremental' };
    await expect(Simulation.create(opts)).rejects.toMatchObject({ code: 'OPTMARGIN_INVALID_OPTION', message: expect.stringMatching(/accounts is required unless a loaded book engine is given/) });
    const book = BookEngine.create({ market, model: MODEL, threads: 1 });
    try {
      book.load(generateBook({ accounts: 10, seed: 2, market }).accounts);
      await expect(Simulation.create({ ...opts, market: market.shocked({ priceMove: { BTC: -0.1 } }), book })).rejects.toMatchObject({ code: 'OPTMARGIN_INVALID_OPTION', message: expect.stringMatching(/another market/) });
    } finally {
      await book.close();
    }
  });
});
