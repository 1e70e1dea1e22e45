/**
 * A tick of several underlyings in one pool round (`BookEngine.tick([...], market)`) against two
 * references: a fresh book engine that loads the same positions on the moved market and
 * recomputes everything, byte for byte; and the same book ticked one underlying after the other,
 * byte for byte (results and changed indices). Random books and moves, trades before the tick
 * (rows appended out of the load's order, new instruments), 1, 2 and 3 threads; the changed
 * accounts are those whose positions or collateral touch a moved underlying (listed from the
 * inputs here, not by the engine); a chunk that fails every attempt; bad arguments.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { defaultWorkerFile } from '../src/runner/book/pool.js';
import { generateBook } from '../src/io/gen-book.js';
import { dependsOn, freshResults, mulberry32 as rng } from './book-tick-helpers.js';
import type { AccountInput, PositionChange } from '../src/measures/types.js';
import type { MarginMarket } from '../src/market/margin-market.js';

const base = resolveMarket(defaultMarket());
const MODEL = 'deribit-pm-2024.1';
const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});
function engine(market: MarginMarket, threads: number, workerFile?: string): BookEngine {
  const e = BookEngine.create({ market, model: MODEL, threads, chunkPositions: 1024, ...(workerFile ? { workerFile } : {}) });
  engines.push(e);
  return e;
}

const fresh = (accounts: AccountInput[], market: MarginMarket): Promise<string> => freshResults(accounts, market, MODEL);

/** Trades on `count` accounts: perpetuals with and without an entry price, and an option no account holds. */
function trades(book: AccountInput[], count: number, rand: () => number): { k: number; changes: PositionChange[] }[] {
  const out: { k: number; changes: PositionChange[] }[] = [];
  for (let c = 0; c < count; c++) {
    const k = Math.floor(rand() * book.length);
    const changes: PositionChange[] = [{ instrument: rand() < 0.5 ? 'BTC-PERPETUAL' : 'ETH-PERPETUAL', size: Math.round((rand() - 0.5) * 40_000) || 10, ...(rand() < 0.5 ? { entryPrice: 1000 + Math.round(rand() * 90_000) } : {}) }];
    if (c === 0) changes.push({ instrument: 'ETH-25SEP26-1234-C', size: -1 });
    out.push({ k, changes });
  }
  return out;
}

describe('tick of several underlyings in one round = one after the other = a fresh full recompute', () => {
  for (const seed of [4, 17]) {
    test(`seed ${seed}: BTC and ETH moved (marks and vols), after trades, 1, 2 and 3 threads`, async () => {
      const rand = rng(seed);
      const { accounts: book } = generateBook({ accounts: 300 + Math.floor(rand() * 300), seed, market: base });
      const mv = () => Math.round((rand() - 0.5) * 0.2 * 1e4) / 1e4; // up to ±10 %
      const moved = base.shocked({ priceMove: { BTC: mv(), ETH: mv() }, volShift: { BTC: mv(), ETH: mv() } });
      const script = trades(book, 8, rand);
      const now = book.slice();
      for (const t of script) now[t.k] = { ...now[t.k], positions: [...now[t.k].positions, ...t.changes] };
      const expected = now.map((a, k) => (dependsOn(a, 'BTC') || dependsOn(a, 'ETH') ? k : -1)).filter((k) => k >= 0);
      const reference = await fresh(now, moved);
      for (const threads of [1, 2, 3]) {
        const one = engine(base, threads);
        const seq = engine(base, threads);
        for (const e of [one, seq]) {
          e.load(book);
          await e.recompute();
          for (const t of script) e.trade(t.k, t.changes);
        }
        const up = await one.tick(['BTC', 'ETH'], moved);
        expect(up.indices).toEqual(expected);
        expect(JSON.stringify(one.results())).toBe(reference);
        const a = await seq.tick('BTC', moved);
        const b = await seq.tick('ETH', moved);
        expect(JSON.stringify(seq.results())).toBe(reference);
        expect(up.indices).toEqual([...new Set([...a.indices, ...b.indices])].sort((x, y) => x - y));
        expect(JSON.stringify(up.results())).toBe(JSON.stringify(up.indices.map((k) => seq.result(k))));
        // the next single-underlying tick starts from the same state
        const back = base.shocked({ priceMove: { BTC: 0.01, ETH: 0 } });
        await one.tick('BTC', back);
        await seq.tick('BTC', back);
        expect(JSON.stringify(one.results())).toBe(JSON.stringify(seq.results()));
        await one.close();
        await seq.close();
      }
    });
  }

  test('a list of one underlying is that tick; a repeated underlying counts once; none, or one the market lacks, is an error', async () => {
    const { accounts: book } = generateBook({ accounts: 200, seed: 2, market: base });
    const moved = base.shocked({ priceMove: { BTC: -0.04 } });
    const e = engine(base, 2);
    e.load(book);
    await e.recompute();
    const up = await e.tick(['BTC', 'BTC'], moved);
    expect(up.indices).toEqual(book.map((a, k) => (dependsOn(a, 'BTC') ? k : -1)).filter((k) => k >= 0));
    expect(JSON.stringify(e.results())).toBe(await fresh(book, moved));
    await expect(e.tick([], moved)).rejects.toMatchObject({ code: 'OPTMARGIN_INVALID_OPTION' });
    await expect(e.tick(['BTC', 'SOL'], moved)).rejects.toMatchObject({ code: 'OPTMARGIN_MISSING_MARKET_DATA' });
  });
});

describe('a chunk of a several-underlying tick that fails every attempt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-tick-many-'));
  const real = pathToFileURL(defaultWorkerFile()).href;
  const file = join(dir, 'tick-fail.mjs');
  writeFileSync(file, `import real from ${JSON.stringify(real)};\nexport default function (task) {\nif (task.kind === "aggregate" && task.reduce && task.reduce.equity && task.chunk === 0) throw new Error('injected tick fault');\nreturn real(task);\n}\n`);

  test('its accounts are WORKER_FAILED (never healthy), the others are those of the moved market; a recompute restores every account', async () => {
    const { accounts: book } = generateBook({ accounts: 400, seed: 8, market: base });
    const moved = base.shocked({ priceMove: { BTC: -0.06, ETH: 0.04 } });
    const e = engine(base, 2, file);
    e.load(book);
    await e.recompute();
    const up = await e.tick(['BTC', 'ETH'], moved);
    const failed = up.indices.filter((k) => !e.result(k).ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(up.indices.length);
    for (const k of failed) expect(e.result(k)).toMatchObject({ ok: false, error: { code: 'OPTMARGIN_WORKER_FAILED' } });
    const ref = JSON.parse(await fresh(book, moved)) as unknown[];
    for (const k of up.indices) if (!failed.includes(k)) expect(JSON.stringify(e.result(k))).toBe(JSON.stringify(ref[k]));
    await e.recompute();
    expect(JSON.stringify(e.results())).toBe(JSON.stringify(ref));
  });
});
