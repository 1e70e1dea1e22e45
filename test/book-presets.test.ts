/**
 * Both engines, one answer (issue 8): for EVERY shipped preset, the var-es risk-based models
 * (issue 11, resolved on a synthetic history), and for the rule variants the
 * presets do not exercise (cross-underlying `credit`, short-option netting `instrument`), the book
 * engine gives bit-identical results to the margin engine on every account, for 1 and 2 threads.
 * The book mixes segregated coin sub-accounts (BTC, ETH, USDC) with generated mixed-currency
 * accounts, so the numeraire semantics (currency, USD equivalents) are compared too; futures-only
 * accounts (balances, a loan) give okx-pm, which rejects options, accounts it margins.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runBookCommand } from '../src/cli/book.js';
import { serializeBook } from '../src/io/book-file.js';
import { summarize } from '../src/io/results.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { listModels, loadModel } from '../src/measures/models.js';
import type { GridModel, LoadedModel, MarginModel, VarEsModel } from '../src/measures/types.js';
import { asOfIndexFor, withHistory } from '../src/risk/var-margin.js';
import { syntheticHistory } from './synthetic-history.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { fromMarginResult } from '../src/runner/book/single.js';
import { generateBook } from '../src/io/gen-book.js';

const market = resolveMarket(defaultMarket());
const generated = generateBook({ accounts: 150, seed: 7, market }).accounts;
const segregated: unknown[] = [
  { id: 'btc-hodl', mode: 'portfolio', collateral: { BTC: 10 } },
  { id: 'btc-hedged', mode: 'portfolio', collateral: { BTC: 10 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -900_000 }] },
  {
    id: 'btc-options',
    mode: 'portfolio',
    collateral: { BTC: 3 },
    positions: [
      { instrument: 'BTC-25SEP26-60000-P', size: -10 },
      { instrument: 'BTC-25SEP26-55000-P', size: 10 },
      { instrument: 'BTC-25DEC26-90000-C', size: -4 },
      { instrument: 'BTC-PERPETUAL', size: 20_000, entryPrice: 70_000 },
    ],
  },
  { id: 'eth-sub', mode: 'cross', currency: 'ETH', collateral: { ETH: 40 }, positions: [{ instrument: 'ETH-25DEC26-2000-C', size: -25 }] },
  { id: 'usdc-sub', mode: 'portfolio', collateral: { USDC: 250_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -3 }, { instrument: 'ETH_USDC-PERPETUAL', size: 20 }] },
  { id: 'empty', mode: 'portfolio' },
];
/** Futures-only accounts with coin balances and a loan (what okx-pm margins: it rejects options). */
const futuresOnly: unknown[] = [
  {
    id: 'fut-calendar',
    mode: 'portfolio',
    collateral: { USDC: 400_000, BTC: 2 },
    positions: [
      { instrument: 'BTC_USDC-PERPETUAL', size: 5 },
      { instrument: 'BTC_USDC-25SEP26', size: -5 },
      { instrument: 'ETH_USDC-PERPETUAL', size: -30 },
    ],
  },
  { id: 'fut-coin-hedge', mode: 'cross', collateral: { ETH: 50 }, positions: [{ instrument: 'ETH-PERPETUAL', size: -100_000 }, { instrument: 'ETH-25DEC26', size: -20_000 }] },
  { id: 'fut-loan', mode: 'portfolio', collateral: { BTC: 3, USDC: -50_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -2 }] },
];
const accounts = [...segregated, ...futuresOnly, ...generated];

/** span-16 with a cross-underlying credit, deribit-pm-2024.1 with per-instrument short option netting. */
function variants(): MarginModel[] {
  const span = structuredClone(loadModel('span-16').params) as GridModel;
  span.id = 'span-16-credit';
  span.crossUnderlying = { rule: 'credit', credit: 0.3 };
  const pm = structuredClone(loadModel('deribit-pm-2024.1').params) as GridModel;
  pm.id = 'deribit-pm-2024.1-instrument-netting';
  pm.addOns.shortOption = { fractionOfSpot: 0.01, netting: 'instrument' };
  return [span, pm];
}

/** The var-es presets and a ten-year-rule variant, resolved once on a synthetic BTC + ETH history as of the market's last close. */
function varEsModels(): LoadedModel[] {
  const h = syntheticHistory();
  const k = asOfIndexFor(h, market);
  const ten = { ...(loadModel('var-es-var99').params as VarEsModel), id: 'var-es-ten-year', apc: { rule: 'ten-year' as const, years: 5 } };
  return [withHistory('var-es-975', h, k), withHistory('var-es-var99', h, k), withHistory(ten, h, k)];
}

const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

describe('book engine = margin engine, bit for bit, for every preset and rule', () => {
  const models: (string | MarginModel | LoadedModel)[] = [...listModels().map((m) => m.id), ...variants(), ...varEsModels()];
  for (const model of models) {
    const name = typeof model === 'string' ? model : 'params' in model ? model.params.id : model.id;
    test(name, async () => {
      const ref = new MarginEngine({ market, model });
      const want = JSON.stringify(accounts.map((a, k) => {
        const r = fromMarginResult(ref.margin(a));
        if (r.id === '?') r.id = `#${k}`;
        return r;
      }));
      let okCount = 0;
      for (const threads of [1, 2]) {
        const e = BookEngine.create({ market, model, threads });
        engines.push(e);
        e.load(accounts);
        await e.recompute();
        const got = e.results();
        okCount = got.filter((r) => r.ok).length;
        expect(JSON.stringify(got)).toBe(want);
      }
      expect(okCount).toBeGreaterThan(0);
    });
  }
});

describe('a book mixing coin and USD accounts: totals per currency plus USD; reproducible --out', () => {
  test('summary byCurrency in each currency, totals in USD at the index', async () => {
    const e = BookEngine.create({ market, model: 'deribit-pm', threads: 1 });
    engines.push(e);
    e.load(segregated);
    await e.recompute();
    const res = e.results();
    const s = summarize(res);
    expect(Object.keys(s.byCurrency)).toEqual(['BTC', 'ETH', 'USD', 'USDC']);
    expect(s.byCurrency.BTC.accounts).toBe(3);
    const btc = res.filter((r) => r.ok && r.currency === 'BTC');
    expect(s.byCurrency.BTC.equity).toBe(btc.reduce((x, r) => x + (r.ok ? r.equity : 0), 0));
    let usdIm = 0;
    for (const r of res) if (r.ok) usdIm += (r.usd ?? r).initialMargin;
    expect(s.totalInitialMargin).toBe(usdIm);
    const b = res.find((r) => r.id === 'btc-hedged');
    expect(b?.ok && b.currency === 'BTC' && b.usd!.initialMargin === b.initialMargin * market.spot('BTC')).toBe(true);
  });

  test('optmargin book --out: the same bytes for 1 and 2 threads and on every run; wall-clock figures on stderr only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'optmargin-repro-'));
    const file = join(dir, 'book.jsonl');
    writeFileSync(file, serializeBook(accounts as never, 'jsonl'));
    for (const ext of ['json', 'csv', 'msgpack']) {
      const outs: Buffer[] = [];
      const stdouts: string[] = [];
      const logs: string[] = [];
      for (const threads of [1, 2, 2]) {
        const out = join(dir, `r${threads}-${outs.length}.${ext}`);
        let text = '';
        let log = '';
        await runBookCommand(file, { out, threads, model: 'deribit-xpm', json: true, log: (x) => (log += x) }, (x) => (text += x));
        outs.push(readFileSync(out));
        stdouts.push(text);
        logs.push(log);
      }
      expect(outs[1].equals(outs[0])).toBe(true);
      expect(outs[2].equals(outs[0])).toBe(true);
      expect(stdouts[1]).toBe(stdouts[0]);
      expect(stdouts[2]).toBe(stdouts[0]);
      expect(logs[0]).toMatch(/time \d+ ms/);
      if (ext === 'json') expect(readFileSync(join(dir, `r1-0.json`), 'utf8')).not.toMatch(/"ms"|throughput/);
    }
    const timed = join(dir, 'timed.json');
    let report = '';
    await runBookCommand(file, { out: timed, threads: 1, model: 'deribit-xpm', timings: true, json: true, log: () => {} }, (x) => (report += x));
    expect(JSON.parse(readFileSync(timed, 'utf8')).summary.ms).toBeGreaterThan(0);
    // the --json report's stages and the process's CPU time (the bench's CPU column reads it)
    const rep = JSON.parse(report) as { stages: Record<string, number>; cpu: { userMs: number; systemMs: number } };
    expect(Object.keys(rep.stages)).toEqual(['read', 'parse', 'resolve', 'recompute', 'write']);
    expect(rep.cpu.userMs).toBeGreaterThan(0);
    expect(rep.cpu.systemMs).toBeGreaterThanOrEqual(0);
  });
});
