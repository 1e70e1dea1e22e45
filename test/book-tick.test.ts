/**
 * The book's tick (one pool round per tick: each chunk aggregates its account range's rows on the
 * ticked underlying, then computes the equity and figures of its accounts holding it) against two
 * references: a fresh book engine that loads the same positions on the same market and recomputes
 * everything, byte for byte; and the account runner (MarginEngine.margin, one account at a time,
 * TS aggregation), figure for figure. Random books, ticks on BTC, on ETH and on both in turn,
 * trades between ticks (new instruments included), small chunks (rows appended by trades land in
 * the chunk of their account), 1, 2 and 3 threads; a tick chunk's faults.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
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
function engine(market: MarginMarket, threads: number, chunkPositions = 1024, workerFile?: string): BookEngine {
  const e = BookEngine.create({ market, model: MODEL, threads, chunkPositions, ...(workerFile ? { workerFile } : {}) });
  engines.push(e);
  return e;
}

const fresh = (accounts: AccountInput[], market: MarginMarket): Promise<string> => freshResults(accounts, market, MODEL);

/** Every vectorized figure of the listed accounts equals the account runner's on the same market. */
function expectAccountRunner(e: BookEngine, accounts: AccountInput[], market: MarginMarket, ks: number[]): void {
  const ref = new MarginEngine({ market, model: MODEL });
  for (const k of ks) {
    const b = e.result(k);
    const r = ref.margin(accounts[k]);
    expect(b.ok && r.ok, accounts[k].id).toBe(true);
    if (b.ok && r.ok) {
      expect([b.equity, b.initialMargin, b.maintenanceMargin, b.availableFunds, b.health, b.collateralValue], accounts[k].id).toEqual([
        r.equity,
        r.initialMargin,
        r.maintenanceMargin,
        r.availableFunds,
        r.health,
        r.collateralValue,
      ]);
    }
  }
}

/** Random trades on `count` accounts: held instruments, perpetuals with and without an entry price, an option no account holds. */
function drawTrades(accounts: AccountInput[], count: number, rand: () => number, fresh: string[]): { k: number; changes: PositionChange[] }[] {
  const out: { k: number; changes: PositionChange[] }[] = [];
  for (let c = 0; c < count; c++) {
    const k = Math.floor(rand() * accounts.length);
    const a = accounts[k];
    const changes: PositionChange[] = [];
    if (a.positions.length > 0) changes.push({ instrument: a.positions[Math.floor(rand() * a.positions.length)].instrument, size: Math.round((rand() - 0.5) * 20) || 1 });
    if (rand() < 0.5) changes.push({ instrument: rand() < 0.5 ? 'BTC-PERPETUAL' : 'ETH-PERPETUAL', size: Math.round((rand() - 0.5) * 40_000) || 10, ...(rand() < 0.5 ? { entryPrice: 1000 + Math.round(rand() * 90_000) } : {}) });
    if (c < fresh.length) changes.push({ instrument: fresh[c], size: -1 });
    out.push({ k, changes });
  }
  return out;
}

describe('tick = full recompute (random books, ticks on BTC, ETH and both, trades between ticks)', () => {
  // options no generated account holds: a trade brings a new instrument into the book
  const unheld = ['BTC-25SEP26-43210-P', 'ETH-25SEP26-1234-C'];
  for (const seed of [3, 11, 29]) {
    test(`seed ${seed}: after each tick, byte-identical to a fresh engine on the same market and positions, for 1, 2 and 3 threads`, async () => {
      const rand0 = rng(seed);
      const nAcc = 350 + Math.floor(rand0() * 300);
      const { accounts: book } = generateBook({ accounts: nAcc, seed, market: base });
      const held = new Set(book.flatMap((a) => a.positions.map((p) => p.instrument)));
      expect(unheld.some((x) => held.has(x))).toBe(false);
      // the same script for every thread count: the moves and trades are drawn once
      const rand = rng(seed * 7919);
      const mv = () => Math.round((rand() - 0.5) * 0.2 * 1e4) / 1e4; // up to ±10 %
      const vs = () => Math.round((rand() - 0.5) * 0.2 * 1e4) / 1e4;
      const bx = [mv(), mv()];
      const ex = mv();
      const bv = vs();
      const markets = [
        base.shocked({ priceMove: { BTC: bx[0] }, volShift: { BTC: bv } }), // BTC ticked
        base.shocked({ priceMove: { BTC: bx[0], ETH: ex }, volShift: { BTC: bv } }), // then ETH
        base.shocked({ priceMove: { BTC: bx[1], ETH: ex }, volShift: { BTC: bv } }), // then BTC again
      ];
      const steps: { u: string; market: MarginMarket; trades: { k: number; changes: PositionChange[] }[] }[] = [
        { u: 'BTC', market: markets[0], trades: [] },
        { u: 'ETH', market: markets[1], trades: drawTrades(book, 6, rand, unheld.slice(0, 1)) },
        { u: 'BTC', market: markets[2], trades: drawTrades(book, 6, rand, unheld.slice(1)) },
      ];
      const outs: string[][] = [];
      for (const threads of [1, 2, 3]) {
        const e = engine(base, threads);
        e.load(book);
        await e.recompute();
        let now = book.slice();
        const perStep: string[] = [];
        for (const st of steps) {
          for (const t of st.trades) {
            e.trade(t.k, t.changes);
            now = now.slice();
            now[t.k] = { ...now[t.k], positions: [...now[t.k].positions, ...t.changes] };
          }
          const up = await e.tick(st.u, st.market);
          const expected = now.map((a, k) => (dependsOn(a, st.u) ? k : -1)).filter((k) => k >= 0);
          expect(up.indices).toEqual(expected);
          const got = JSON.stringify(e.results());
          expect(got).toBe(await fresh(now, st.market));
          perStep.push(got);
          if (threads === 2) expectAccountRunner(e, now, st.market, expected.filter((_, j) => j % 17 === 0).concat(st.trades.map((t) => t.k)));
        }
        outs.push(perStep);
        await e.close();
      }
      expect(outs[1]).toEqual(outs[0]);
      expect(outs[2]).toEqual(outs[0]);
    });
  }

  test('ticks on both underlyings in a row (no trade): BTC then ETH equals a fresh engine on the market where both moved, ETH-only accounts untouched by the BTC tick', async () => {
    const { accounts: book } = generateBook({ accounts: 500, seed: 5, market: base });
    const both = base.shocked({ priceMove: { BTC: -0.07, ETH: 0.05 }, volShift: { BTC: 0.1, ETH: -0.05 } });
    const e = engine(base, 2);
    e.load(book);
    await e.recompute();
    const before = e.results();
    const upB = await e.tick('BTC', both);
    // after the BTC tick alone: what a fresh engine gives on the market where only BTC moved
    expect(JSON.stringify(e.results())).toBe(await fresh(book, base.shocked({ priceMove: { BTC: -0.07 }, volShift: { BTC: 0.1 } })));
    const ethOnly = book.map((a, k) => (!dependsOn(a, 'BTC') ? k : -1)).filter((k) => k >= 0);
    expect(ethOnly.length).toBeGreaterThan(10);
    for (const k of ethOnly) expect(upB.indices.includes(k)).toBe(false);
    const upE = await e.tick('ETH', both);
    expect(upE.indices.length).toBeGreaterThan(ethOnly.length);
    expect(JSON.stringify(e.results())).toBe(await fresh(book, both));
    expect(JSON.stringify(e.results())).not.toBe(JSON.stringify(before));
  });
});

describe('faults in a tick chunk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-tick-faults-'));
  const real = pathToFileURL(defaultWorkerFile()).href;
  const fixture = (name: string, body: string): string => {
    const f = join(dir, name);
    writeFileSync(f, `import real from ${JSON.stringify(real)};\nexport default function (task) {\n${body}\nreturn real(task);\n}\n`);
    return f;
  };
  const { accounts: book } = generateBook({ accounts: 300, seed: 9, market: base });
  const moved = base.shocked({ priceMove: { BTC: -0.05 } });
  const isTick = 'const tick = task.kind === "aggregate" && task.reduce && task.reduce.equity;';

  test('a tick chunk that throws once is retried: results equal a fresh engine', async () => {
    const e = engine(base, 2, 1024, fixture('tick-throw-once.mjs', `${isTick}\nif (tick && task.chunk === 1 && task.attempt === 0) throw new Error('injected tick fault');`));
    e.load(book);
    await e.recompute();
    await e.tick('BTC', moved);
    expect(JSON.stringify(e.results())).toBe(await fresh(book, moved));
  });

  test('a tick chunk that fails every attempt: its accounts holding BTC are WORKER_FAILED (never healthy), the others keep their results; a recompute restores them', async () => {
    const e = engine(base, 2, 1024, fixture('tick-fail.mjs', `${isTick}\nif (tick && task.chunk === 0) throw new Error('injected tick fault');`));
    e.load(book);
    await e.recompute();
    const before = e.results();
    const up = await e.tick('BTC', moved);
    const failed = up.indices.filter((k) => !e.result(k).ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const k of failed) expect(e.result(k)).toMatchObject({ ok: false, error: { code: 'OPTMARGIN_WORKER_FAILED' } });
    const touched = new Set(up.indices);
    // accounts not holding BTC: their results are the ones before the tick, object for object
    for (let k = 0; k < book.length; k++) if (!touched.has(k)) expect(JSON.stringify(e.result(k))).toBe(JSON.stringify(before[k]));
    await e.recompute();
    expect(JSON.stringify(e.results())).toBe(await fresh(book, moved));
  });

  test('a tick chunk that does its work, then fails every attempt: the bulk read (figuresOfMany) gives its accounts no health, as figuresInto and their results', async () => {
    const e = engine(base, 2, 1024, fixture('tick-fail-late.mjs', `${isTick}\nif (tick && task.chunk === 0) { real(task); throw new Error('injected tick fault after the work'); }`));
    e.load(book);
    await e.recompute();
    const up = await e.tick('BTC', moved);
    const out = { eq: new Float64Array(e.n), mm: new Float64Array(e.n), health: new Int8Array(e.n), delta: new Float64Array(up.indices.length), scratch: new Float64Array(3) };
    e.figuresOfMany(up.indices, out);
    const fig = new Float64Array(3);
    const failed = up.indices.filter((k) => !e.result(k).ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const k of up.indices) expect([k, out.health[k]]).toEqual([k, e.figuresInto(k, fig)]);
    for (const k of failed) expect(out.health[k]).toBe(-1);
  });

  test('the revaluation the chunks wait for fails on the main thread: the tick rejects with its error, promptly (no chunk left waiting)', async () => {
    const e = engine(base, 2);
    e.load(book);
    await e.recompute();
    const ins = (e as unknown as { ins: { revalue: () => void } }).ins;
    ins.revalue = () => {
      throw new Error('injected revaluation fault');
    };
    const t0 = performance.now();
    await expect(e.tick('BTC', moved)).rejects.toThrow('injected revaluation fault');
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
