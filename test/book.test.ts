/**
 * Book engine (issue 5): every account in gives one result out, in order; the pooled grid path
 * reproduces the margin engine (the reference, margin one account at a time) bit for bit;
 * results are byte-identical for 1, 2 and 3 threads; ticks and trades give what a full
 * recompute on the new market/positions gives; worker faults lose no account.
 */
import { describe, expect, test, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultMarket, loadMarket, parseInstrument, resolveMarket } from '../src/market/index.js';
import { black76Reference } from '../src/pricing/reference.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput, RuleBasedModel } from '../src/measures/types.js';
import { loadModel } from '../src/measures/models.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import { InvalidEntry, parseBook, serializeBook } from '../src/io/book-file.js';
import { serializeResults, summarize, type BookAccountResult } from '../src/io/results.js';
import { defaultWorkerFile } from '../src/runner/book/pool.js';
import { runBookCommand } from '../src/cli/book.js';

const market = resolveMarket(defaultMarket());
const { accounts: book } = generateBook({ accounts: 1200, seed: 42, market });
const malformed: unknown[] = [
  { id: 'no-mode', positions: [] },
  { id: 'bad-instrument', mode: 'portfolio', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-32JAN26-1-C', size: 1 }] },
  { id: 'bad-size', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] },
  { id: 'bad-collateral', mode: 'portfolio', collateral: { DOGE: 5 }, positions: [] },
  42,
  new InvalidEntry('line 7', 'line 7 is not valid JSON: Unexpected token'),
];
const mixed: unknown[] = [...book.slice(0, 600), ...malformed, ...book.slice(600)];

function serialized(results: BookAccountResult[]): string {
  return JSON.stringify(results);
}

const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});
function engineWith(opts: Partial<Parameters<typeof BookEngine.create>[0]> = {}): BookEngine {
  const e = BookEngine.create({ market, model: 'deribit-pm-2024.1', ...opts });
  engines.push(e);
  return e;
}

describe('book engine, single thread', () => {
  test('accounts in = results out, in order, and each equals the margin engine on that account', async () => {
    const e = engineWith();
    const rep = e.load(mixed);
    expect(rep.accounts).toBe(mixed.length);
    expect(rep.gridAccounts).toBeGreaterThan(900);
    // isolated accounts are vectorized too (one sub-account per position): only the 6 malformed accounts are not
    expect(rep.isolatedAccounts).toBeGreaterThan(50);
    expect(rep.singleAccounts).toBe(malformed.length);
    expect(rep.subAccounts).toBeGreaterThan(rep.gridAccounts);
    await e.recompute();
    const res = e.results();
    expect(res.length).toBe(mixed.length);
    const ref = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
    let compared = 0;
    let isolated = 0;
    for (let k = 0; k < mixed.length; k++) {
      const b = res[k];
      const raw = mixed[k];
      if (raw instanceof InvalidEntry) {
        expect(b).toMatchObject({ id: 'line 7', ok: false, error: { code: 'OPTMARGIN_INVALID_INPUT' } });
        continue;
      }
      const r = ref.margin(raw);
      expect(b.ok).toBe(r.ok);
      expect(b.id).toBe(r.id === '?' ? `#${k}` : r.id);
      if (!r.ok || !b.ok) {
        if (!r.ok && !b.ok) expect(b.error).toEqual(r.error);
        continue;
      }
      // same arithmetic in the same order: identical doubles
      expect(b.equity).toBe(r.equity);
      expect(b.initialMargin).toBe(r.initialMargin);
      expect(b.maintenanceMargin).toBe(r.maintenanceMargin);
      expect(b.health).toBe(r.health);
      expect(b.collateralValue).toBe(r.collateralValue);
      expect(b.availableFunds).toBe(r.availableFunds);
      expect(b.marginRatio).toBe(r.marginRatio);
      expect(b.modeApplied).toBe(r.modeApplied);
      if (r.modeApplied === 'isolated') isolated++;
      else {
        expect(b.underlyings.map((u) => [u.underlying, u.worstScenario, u.initialMargin])).toEqual(
          r.grid!.map((g) => [g.underlying, g.worstScenario.label, g.initialMargin]),
        );
      }
      compared++;
    }
    expect(compared).toBe(book.length);
    expect(isolated).toBe(rep.isolatedAccounts);
    const errors = res.filter((r) => !r.ok);
    expect(errors.map((r) => r.id)).toEqual(['no-mode', 'bad-instrument', 'bad-size', 'bad-collateral', '#604', 'line 7']);
    expect(errors.find((r) => r.id === 'bad-size')).toMatchObject({ error: { message: 'positions[0].size must be a finite number, got "x"' } });
    const s = summarize(res);
    expect(s.accounts).toBe(mixed.length);
    expect(s.ok + s.errors).toBe(mixed.length);
    expect(s.byHealth.healthy + s.byHealth['margin call'] + s.byHealth.liquidatable + s.byHealth.bankrupt).toBe(s.ok);
  });

  test('a rule-based model: every account\'s IM, MM and equity equal a hand sum of the documented per-position rules', async () => {
    // The book hands rule-based accounts to MarginEngine.margin, so comparing the two would compare
    // the engine with itself: the expectation here is written from the rules (deribit-standard's
    // description; margin_methodology_refs.json) with the preset's parameters (their values are pinned
    // in standard-branches.test.ts), on the market's marks (Black-76 at the smile).
    const e = engineWith({ model: 'deribit-standard' });
    const some = book.slice(0, 200);
    const rep = e.load(some);
    expect(rep.gridAccounts).toBe(0);
    await e.recompute();
    const S = (u: string) => market.spot(u);
    const { option: opt } = loadModel('deribit-standard').params as RuleBasedModel;
    const handPosition = (name: string, size: number, entry: number | undefined): { im: number; mm: number; value: number } => {
      const inst = parseInstrument(name);
      const u = inst.underlying;
      const inverse = inst.settlement === 'inverse';
      if (inst.kind === 'option') {
        const F = market.forward(u, inst.expiry);
        const t = market.timeToExpiry(inst.expiry);
        const usd = black76Reference(inst.optionType === 'put', F, inst.strike, market.vol(u, inst.expiry, inst.strike), t, market.rate, false).price;
        const mark = usd / F; // coin per contract
        const value = size * (inverse ? mark * S(u) : usd);
        if (size >= 0) return { im: 0, mm: 0, value };
        const otm = inst.optionType === 'put' ? Math.max(F - inst.strike, 0) : Math.max(inst.strike - F, 0);
        const imFrac = Math.max(opt.imBase - otm / F, opt.imMin);
        const mm = inst.optionType === 'put' ? Math.max(opt.mmBase, opt.putMmMarkFactor * mark) + mark : opt.mmBase + mark;
        const im = inst.optionType === 'put' ? Math.max(imFrac + mark, mm) : imFrac + mark;
        const toUsd = inverse ? S(u) : F;
        return { im: -size * im * toUsd, mm: -size * mm * toUsd, value };
      }
      const F = inst.kind === 'perpetual' ? market.perpetual(u) : market.forward(u, (inst as { expiry: number }).expiry);
      const coin = Math.abs(inverse ? size / F : size);
      // Deribit (2022-01-11): IM 2 %, MM 1 %, each + 0.005 % per BTC (0.0004 % per ETH) of size
      const extra = (u === 'ETH' ? 4e-6 : 5e-5) * coin;
      const at = entry ?? F;
      const value = inverse ? size * (1 / at - 1 / F) * S(u) : size * (F - at);
      return { im: (0.02 + extra) * coin * F, mm: (0.01 + extra) * coin * F, value };
    };
    const collateralUsd = (c: Record<string, number> | undefined) =>
      Object.entries(c ?? {}).reduce((x, [cur, amt]) => x + amt * (cur === 'USDC' ? 1 : S(cur)), 0);
    let options = 0;
    e.results().forEach((b, k) => {
      const a = some[k];
      let im = 0, mm = 0, equity = collateralUsd(a.collateral);
      for (const p of a.positions) {
        const h = handPosition(p.instrument, p.size, p.entryPrice);
        im += h.im;
        mm += h.mm;
        equity += h.value + collateralUsd(p.collateral);
        if (h.im > 0 && !p.instrument.includes('PERPETUAL')) options++;
      }
      if (!b.ok) throw new Error(`${a.id}: ${b.error.message}`);
      expect(b.initialMargin, a.id).toBeCloseTo(im, 4);
      expect(b.maintenanceMargin, a.id).toBeCloseTo(mm, 4);
      expect(b.equity, a.id).toBeCloseTo(equity, 4);
    });
    expect(options).toBeGreaterThan(100);
  });
});

describe('book engine, worker pool', () => {
  test('worker entry is the built JS file', () => {
    expect(defaultWorkerFile()).toMatch(/dist[\\/]src[\\/]runner[\\/]book[\\/]worker\.js$/);
  });

  test('results are byte-identical for 1, 2 and 3 threads and across runs', async () => {
    const outs: string[] = [];
    for (const threads of [1, 2, 3]) {
      const e = engineWith({ threads, chunkPositions: 2048 });
      e.load(mixed);
      const st = await e.recompute();
      expect(st.threads).toBe(threads);
      outs.push(serialized(e.results()));
      await e.recompute();
      outs.push(serialized(e.results()));
    }
    for (const o of outs) expect(o).toBe(outs[0]);
    // and the file formats serialize them deterministically too
    const doc = (r: BookAccountResult[]) => ({ format: 'optmargin.book-results/1' as const, model: { id: 'x', version: '1', hash: 'h', mechanism: 'scenario-grid' }, marketHash: 'm', valuationTime: 0, summary: summarize(r), results: r });
    const r1 = JSON.parse(outs[0]);
    expect(Buffer.from(serializeResults(doc(r1), 'msgpack')).equals(Buffer.from(serializeResults(doc(JSON.parse(outs[2])), 'msgpack')))).toBe(true);
  });
});

describe('incremental updates', () => {
  test('a tick on BTC equals a full recompute on the moved market, and only BTC holders change', async () => {
    const moved = market.shocked({ priceMove: { BTC: -0.03 }, volShift: { BTC: 0.05 } });
    for (const threads of [1, 2]) {
      const e = engineWith({ threads });
      e.load(book);
      await e.recompute();
      const before = e.results();
      const up = await e.tick('BTC', moved);
      const fresh = engineWith({ market: moved });
      fresh.load(book);
      await fresh.recompute();
      expect(serialized(e.results())).toBe(serialized(fresh.results()));
      const holdsBtc = (a: AccountInput) => a.positions.some((p) => p.instrument.startsWith('BTC')) || (a.collateral.BTC ?? 0) !== 0 || a.positions.some((p) => p.collateral?.BTC);
      const expected = book.map((a, k) => (holdsBtc(a) ? k : -1)).filter((k) => k >= 0);
      expect(up.indices).toEqual(expected);
      const after = up.results();
      expect(after.length).toBe(expected.length);
      // accounts without BTC keep their result object for object
      const untouched = book.map((_, k) => k).filter((k) => !expected.includes(k));
      expect(untouched.length).toBeGreaterThan(50);
      for (const k of untouched) expect(serialized([e.result(k)])).toBe(serialized([before[k]]));
    }
  });

  test('a trade re-margins one account like the margin engine on the new positions', async () => {
    const e = engineWith();
    e.load(book);
    await e.recompute();
    const k = book.findIndex((a) => a.mode === 'portfolio' && a.positions.length > 10);
    const change = [{ instrument: 'BTC-PERPETUAL', size: -50_000 }, { instrument: book[k].positions[0].instrument, size: 1 }];
    const t = e.trade(book[k].id, change);
    expect(t.index).toBe(k);
    const ref = new MarginEngine({ market, model: 'deribit-pm-2024.1' }).margin({ ...book[k], positions: [...book[k].positions, ...change] });
    expect(t.result.ok && ref.ok).toBe(true);
    if (t.result.ok && ref.ok) {
      expect(t.result.initialMargin).toBe(ref.initialMargin);
      expect(t.result.equity).toBe(ref.equity);
    }
    expect(() => e.trade('nobody', change)).toThrow(/not in the book/);
    // the account stays vectorized: a recompute gives the same result
    await e.recompute();
    expect(serialized([e.result(k)])).toBe(serialized([t.result]));
    expect(() => e.trade(k, [{ instrument: 'BTC-PERPETUAL', size: Number.NaN }])).toThrow(/changes\[0\]\.size must be a finite number/);
  });
});

describe('trades stay on the vectorized path', () => {
  test('trades on portfolio, cross and isolated accounts (new instruments included), then a tick: equal to a fresh engine on the new positions and market, for 1 and 2 threads', async () => {
    const picks = ['portfolio', 'cross', 'isolated'].map((m) => book.findIndex((a) => a.mode === m && a.positions.length > 0));
    expect(picks.every((k) => k >= 0)).toBe(true);
    // an option no account holds (a new instrument for the book), a future, a perpetual
    const held = new Set(book.flatMap((a) => a.positions.map((p) => p.instrument)));
    const newOption = 'ETH-25SEP26-1234-C';
    expect(held.has(newOption)).toBe(false);
    const changes = [
      [{ instrument: 'BTC-PERPETUAL', size: -20_000 }, { instrument: 'ETH-PERPETUAL', size: 3_000, entryPrice: 2500 }],
      [{ instrument: newOption, size: -2 }],
      [{ instrument: 'BTC-PERPETUAL', size: 1000 }],
    ];
    const moved = market.shocked({ priceMove: { BTC: 0.04 } });
    const outs: string[] = [];
    for (const threads of [1, 2]) {
      const e = engineWith({ threads });
      e.load(book);
      await e.recompute();
      const after = book.slice();
      picks.forEach((k, c) => {
        e.trade(k, changes[c]);
        after[k] = { ...book[k], positions: [...book[k].positions, ...changes[c]] };
      });
      const ref = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
      for (const k of picks) {
        const r = ref.margin(after[k]);
        const b = e.result(k);
        expect(b.ok && r.ok).toBe(true);
        if (b.ok && r.ok) {
          expect([b.equity, b.initialMargin, b.maintenanceMargin, b.availableFunds, b.health]).toEqual([r.equity, r.initialMargin, r.maintenanceMargin, r.availableFunds, r.health]);
        }
      }
      await e.recompute();
      await e.tick('BTC', moved);
      // a new BTC instrument traded after the tick is valued on the moved market
      const late = [{ instrument: 'BTC-25SEP26-43210-P', size: 3 }];
      expect(held.has(late[0].instrument)).toBe(false);
      e.trade(picks[0], late);
      after[picks[0]] = { ...after[picks[0]], positions: [...after[picks[0]].positions, ...late] };
      await e.recompute();
      const f = engineWith({ market: moved });
      f.load(after);
      await f.recompute();
      expect(serialized(e.results())).toBe(serialized(f.results()));
      outs.push(serialized(e.results()));
    }
    expect(outs[1]).toBe(outs[0]);
  });
});

describe('faults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-faults-'));
  const real = pathToFileURL(defaultWorkerFile()).href;
  const fixture = (name: string, body: string): string => {
    const f = join(dir, name);
    writeFileSync(f, `import real from ${JSON.stringify(real)};\nexport default function (task) {\n${body}\nreturn real(task);\n}\n`);
    return f;
  };
  const small = book.slice(0, 300);

  test('a worker that throws once: the chunk is retried, results are unchanged', async () => {
    const ok = engineWith();
    ok.load(small);
    await ok.recompute();
    const e = engineWith({ threads: 2, chunkPositions: 1024, workerFile: fixture('throw-once.mjs', "if (task.chunk === 1 && task.attempt === 0) throw new Error('injected fault');") });
    e.load(small);
    const st = await e.recompute();
    expect(st.retriedChunks).toBe(1);
    expect(st.failedChunks).toBe(0);
    expect(serialized(e.results())).toBe(serialized(ok.results()));
  });

  test('a worker that dies mid-batch: retried on a fresh worker', async () => {
    const e = engineWith({ threads: 2, chunkPositions: 1024, workerFile: fixture('exit-once.mjs', 'if (task.chunk === 0 && task.attempt === 0) process.exit(3);') });
    e.load(small);
    const st = await e.recompute();
    expect(st.failedChunks).toBe(0);
    // chunks are queued at the workers up front: the dead worker's queued chunks are retried too
    expect(st.retriedChunks).toBeGreaterThanOrEqual(1);
    expect(e.results().every((r) => r.ok)).toBe(true);
  });

  test('a chunk that always fails: its accounts are reported OPTMARGIN_WORKER_FAILED, none dropped', async () => {
    const e = engineWith({ threads: 2, chunkPositions: 1024, workerFile: fixture('always.mjs', "if (task.chunk === 0) throw new Error('disk on fire');") });
    e.load(small);
    const st = await e.recompute();
    expect(st.failedChunks).toBe(1);
    const res = e.results();
    expect(res.length).toBe(small.length);
    const failed = res.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f).toMatchObject({ ok: false, error: { code: 'OPTMARGIN_WORKER_FAILED' } });
    expect(failed[0].ok ? '' : failed[0].error.message).toMatch(/disk on fire/);
  });

  test('a missing worker file fails with a clear error', () => {
    expect(() => engineWith({ threads: 2, workerFile: join(dir, 'nope.js') })).toThrow(/the book worker .*nope\.js is missing/);
    expect(() => engineWith({ threads: 0 })).toThrow(/threads must be an integer from 1 to 256, got 0/);
  });
});

describe('book files and CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-book-'));
  test('JSON lines, JSON array and msgpack hold the same book', () => {
    const few = book.slice(0, 20);
    for (const f of ['jsonl', 'json', 'msgpack'] as const) {
      const parsed = parseBook(serializeBook(few, f), `book.${f}`);
      expect(parsed.format).toBe(f);
      expect(parsed.accounts).toEqual(few);
    }
  });

  test('a file that is not a book fails clearly and writes no output file', async () => {
    const notBook = join(dir, 'market.json');
    writeFileSync(notBook, JSON.stringify(defaultMarket()));
    const out = join(dir, 'out.json');
    await expect(runBookCommand(notBook, { out, threads: 1 }, () => {})).rejects.toThrow(/is not a book: it holds a "optmargin.market\/1" document/);
    expect(existsSync(out)).toBe(false);
    expect(() => parseBook(Buffer.from(''), 'empty')).toThrow(/empty is not a book: the file is empty/);
    expect(() => parseBook(Buffer.from('hello'), 'text')).toThrow(/text is not a book/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('optmargin book: summary, invalid accounts listed, every result in --out', async () => {
    const file = join(dir, 'b.jsonl');
    writeFileSync(file, Buffer.concat([serializeBook(book.slice(0, 100), 'jsonl'), Buffer.from('{"id":"broken",\n')]));
    const out = join(dir, 'r.json');
    let text = '';
    const s = await runBookCommand(file, { out, threads: 1 }, (x) => (text += x));
    expect(s.accounts).toBe(101);
    expect(s.errors).toBe(1);
    expect(text).toMatch(/invalid accounts \(1\):\n\s+broken\s+OPTMARGIN_INVALID_INPUT\s+line 101 is not valid JSON/);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.results.length).toBe(101);
    expect(doc.model.id).toBe('deribit-pm-2024.1');
  });
});

describe('gen-book', () => {
  test('deterministic from the seed, ~20 positions per account, the documented mix', () => {
    const a = generateBook({ accounts: 500, seed: 9, market });
    const b = generateBook({ accounts: 500, seed: 9, market });
    const c = generateBook({ accounts: 500, seed: 10, market });
    expect(Buffer.from(serializeBook(a.accounts, 'jsonl')).equals(Buffer.from(serializeBook(b.accounts, 'jsonl')))).toBe(true);
    expect(JSON.stringify(c.accounts)).not.toBe(JSON.stringify(a.accounts));
    expect(a.info.positions / 500).toBeGreaterThan(14);
    expect(a.info.positions / 500).toBeLessThan(26);
    expect(a.info.weighting.BTC).toMatch(/fallback/);
    const cur = new Set(a.accounts.flatMap((x) => Object.keys(x.collateral)));
    expect([...cur].sort()).toEqual(['BTC', 'ETH', 'USDC']);
    expect(new Set(a.accounts.map((x) => x.mode)).size).toBe(3);
  });

  test('a fresh book is mostly healthy, like a venue book at a given moment (deribit-pm-2024.1, default market)', async () => {
    const g = generateBook({ accounts: 3000, seed: 1, market });
    const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      eng.load(g.accounts);
      await eng.recompute();
      const s = summarize(eng.results());
      expect(s.errors).toBe(0);
      expect(s.byHealth.healthy / 3000).toBeGreaterThan(0.9);
      expect(s.byHealth['margin call']).toBeGreaterThan(0);
      expect(s.byHealth.liquidatable / 3000).toBeLessThanOrEqual(0.03);
      expect(s.byHealth.liquidatable).toBeGreaterThan(0);
      expect(s.byHealth.bankrupt / 3000).toBeLessThanOrEqual(0.01);
    } finally {
      await eng.close();
    }
  });

  const snapDir = new URL('../../shared/data/deribit_snapshots/', import.meta.url);
  describe.skipIf(!existsSync(snapDir))('from a real Deribit chain (skipped without ../shared/data/deribit_snapshots)', () => {
    test('options are drawn in proportion to open interest', () => {
      const m = resolveMarket(loadMarket(new URL('deribit_options_snapshot_20260205T093647Z.csv', snapDir).pathname));
      const g = generateBook({ accounts: 3000, seed: 1, market: m });
      expect(g.info.weighting.BTC).toBe('open interest');
      // every drawn option has open interest in the snapshot
      const opts = g.accounts.flatMap((a) => a.positions).filter((p) => /-[CP]$/.test(p.instrument));
      expect(opts.length).toBeGreaterThan(1000);
      for (const p of opts.slice(0, 2000)) expect(m.openInterest(p.instrument) ?? 0).toBeGreaterThan(0);
      // in proportion: across the 30 most drawn BTC options, draw counts track open interest
      const counts = new Map<string, number>();
      for (const p of opts) if (p.instrument.startsWith('BTC-')) counts.set(p.instrument, (counts.get(p.instrument) ?? 0) + 1);
      const top = [...counts.entries()].sort((x, y) => y[1] - x[1]).slice(0, 30);
      const xs = top.map(([name]) => m.openInterest(name) ?? 0);
      const ys = top.map(([, c]) => c);
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const mx = mean(xs), my = mean(ys);
      const cov = xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i] - my), 0);
      const corr = cov / Math.sqrt(xs.reduce((a, x) => a + (x - mx) ** 2, 0) * ys.reduce((a, y) => a + (y - my) ** 2, 0));
      console.log(`open interest vs draws, top 30 BTC options: correlation ${corr.toFixed(3)}`);
      expect(corr).toBeGreaterThan(0.8);
    });
  });
});
