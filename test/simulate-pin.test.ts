/**
 * A simulation pins futures and perpetuals given without an entry price to their forward on the
 * start market (liquidation/pin-entries.ts): they were entered at today's mark, and the path's
 * moves show their P&L. Until session 29 the book valued them at each step's mark: a long
 * perpetual without an entry price lost nothing in a crash. Hand-checked: an inverse perpetual of
 * q = 100,000 USD entered at F0 and valued at F1 = 0.9·F0 has P&L q·(1/F0 − 1/F1) coin =
 * q·(1/F0 − 1/F1)·F1 = −0.1·q = −10,000 USD; with 15,000 USDC it falls below MM (Deribit PM's
 * MM of a 100k perpetual after −10 %), and the step's market P&L is −10,000 per such account,
 * whether its entry price is given or left out — as account objects, as parsed columns, or read
 * by `optmargin simulate` from a file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import { ingestBookParts } from '../src/io/ingest.js';
import { ColumnParts } from '../src/instruments/column-parts.js';
import { InstrumentTable } from '../src/instruments/table.js';
import { pinColumnEntries } from '../src/liquidation/pin-entries.js';
import { pinBook } from '../src/liquidation/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { findPackageRoot } from '../src/wasm/module.js';

const market = resolveMarket(defaultMarket());
const F0 = market.perpetual('BTC');
const q = 100_000;
const accounts = [
  { id: 'no-entry', mode: 'cross', collateral: { USDC: 15_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: q }] },
  { id: 'with-entry', mode: 'cross', collateral: { USDC: 15_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: q, entryPrice: F0 }] },
  // an option is not pinned: valued at mark, its premium is in the balances
  { id: 'option', mode: 'cross', collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC-25DEC26-60000-C', size: 1 }] },
];
const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const path = shocksPath(market, { steps: [{ name: 'down 10 %', moves: { BTC: -0.1 } }] });
const dir = mkdtempSync(join(tmpdir(), 'optmargin-pin-'));
const file = join(dir, 'book.jsonl');
writeFileSync(file, accounts.map((a) => JSON.stringify(a)).join('\n') + '\n');

async function firstStep(book: readonly unknown[] | ColumnParts) {
  const sim = await Simulation.create({ accounts: book, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', threads: 1 });
  try {
    return await sim.step(path.steps[0].market, path.steps[0].label);
  } finally {
    await sim.close();
  }
}

describe('a simulation pins entry-less futures on its start market', () => {
  it('account objects: each perpetual loses 10 % of its USD size, with or without an entry price', async () => {
    const r = await firstStep(accounts.slice(0, 2));
    expect(r.marketPnl).toBeCloseTo(-2 * 0.1 * q, 6);
    expect(r.liquidatedAccounts).toEqual([0, 1]);
  });

  it('parsed columns (ColumnParts) give the same step; the caller\'s columns are left as they are', async () => {
    const { parts } = await ingestBookParts(file, { threads: 1 });
    const columns = new ColumnParts(parts);
    const objects = await firstStep(accounts);
    const fromColumns = await firstStep(columns);
    expect({ ...fromColumns, ms: 0, stages: null }).toEqual({ ...objects, ms: 0, stages: null });
    // the caller's columns are left as they are (the pinned entry is in a copy)
    expect(Number.isNaN(parts[0].entry[0])).toBe(true);
    const pinned = pinColumnEntries(parts[0], new InstrumentTable(market));
    expect([...pinned.entry]).toEqual([F0, F0, Number.NaN]);
    expect(pinned.size).toBe(parts[0].size);
    expect(pinColumnEntries(pinned, new InstrumentTable(market))).toBe(pinned);
  });

  it.skipIf(!existsSync(cli))(`the simulate command on the file, 1 and 2 threads, gives the same step${existsSync(cli) ? '' : ' [SKIPPED: no built CLI at dist/src/cli.js: npm run build]'}`, async () => {
    const objects = await firstStep(accounts);
    const pathFile = join(dir, 'path.json');
    writeFileSync(pathFile, JSON.stringify({ steps: [{ name: 'down 10 %', moves: { BTC: -0.1 } }] }));
    const out = join(dir, 'steps.json');
    for (const threads of ['1', '2']) {
      const c = spawnSync(process.execPath, [cli, 'simulate', file, '--path', `shocks:${pathFile}`, '--threads', threads, '--out', out, '--quiet'], { encoding: 'utf8', timeout: 60_000 });
      expect(c.status, c.stderr).toBe(0);
      const step = (JSON.parse(readFileSync(out, 'utf8')) as { runs: { steps: { marketPnl: number; liquidatedAccounts: number[] }[] }[] }).runs[0].steps[0];
      expect(step.marketPnl).toBe(objects.marketPnl);
      expect(step.liquidatedAccounts).toEqual(objects.liquidatedAccounts);
    }
  });

  it('a loaded engine (accounts omitted) is taken pinned, and refused unpinned, naming the account and instrument', async () => {
    const objects = await firstStep(accounts);
    const book = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      const opts = { market, model: book.model, mechanism: 'deribit-incremental', book };
      book.load(accounts);
      await expect(Simulation.create(opts)).rejects.toThrow(/not loaded pinned: account "no-entry" \(#0\) holds BTC-PERPETUAL without an entry price/);
      // every future given its entry: nothing to pin, accepted as loaded
      book.reload(accounts.slice(1), market);
      await expect(Simulation.create(opts).then((s) => s.close())).resolves.toBeUndefined();
      book.reload(pinBook(accounts, market), market);
      const sim = await Simulation.create(opts);
      const r = await sim.step(path.steps[0].market, path.steps[0].label);
      expect({ ...r, ms: 0, stages: null }).toEqual({ ...objects, ms: 0, stages: null });
    } finally {
      await book.close();
    }
    // a model whose accounts are margined one by one (not vectorized): the same check, from the accounts' inputs
    const standard = BookEngine.create({ market, model: 'deribit-standard-2024.1', threads: 1 });
    try {
      const opts = { market, model: standard.model, mechanism: 'deribit-incremental', book: standard };
      standard.load([accounts[2], accounts[1], accounts[0]]);
      await expect(Simulation.create(opts)).rejects.toThrow(/not loaded pinned: account "no-entry" \(#2\) holds BTC-PERPETUAL without an entry price/);
      standard.reload(pinBook(accounts, market), market);
      await expect(Simulation.create(opts).then((s) => s.close())).resolves.toBeUndefined();
    } finally {
      await standard.close();
    }
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
