/**
 * var-es as a margin model of the engine (issue 11 §3): the IM of a hand-checkable account from the
 * definitions in docs/risk.md (EWMA filter, √MPOR, Acerbi–Tasche ES with nβ = 1, the buffer and the
 * stressed floor, recomputed here from the closes), what-if against a re-margin of the traded
 * account, the liquidation price of a short linear perpetual against its closed form, and the CLI
 * (`margin` and `book` with --model var-es-975 --history).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runBookCommand } from '../src/cli/book.js';
import { runMarginCommand } from '../src/cli/margin.js';
import { runStressCommand } from '../src/cli/stress.js';
import { stressLibrary } from '../src/risk/stress.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { loadModel } from '../src/measures/models.js';
import type { MarginResultOk, VarEsModel } from '../src/measures/types.js';
import { dateIndex } from '../src/risk/history.js';
import { marketFromHistory } from '../src/risk/var.js';
import { asOfIndexFor, varEsMargin, withHistory } from '../src/risk/var-margin.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { movedMarket } from '../src/market/margin-market.js';
import { syntheticHistory, syntheticHistoryText } from './synthetic-history.js';

const h = syntheticHistory();
const AS_OF = '2026-07-17';
const k = dateIndex(h, AS_OF);

/** ES 97.5 % over 40 FHS returns (nβ = 1: ES = the worst loss), MPOR 2 days, stressed period of 40 days, 25 % buffer. */
const model: VarEsModel = {
  ...(loadModel('var-es-975').params as VarEsModel),
  id: 'var-es-test',
  lookback: 40,
  stressFrom: '2020-03-01',
  stressTo: '2020-04-09',
};

/** Independent FHS of docs/risk.md: v_1 = mean(r_1²…r_30²), v_{t+1} = λv_t + (1−λ)r_t², r̃_t = r_t √(v_{k+1}/v_t). */
function handFhs(close: Float64Array, asOf: number, n: number, lambda: number): number[] {
  const r = [NaN];
  for (let t = 1; t <= asOf; t++) r.push(Math.log(close[t] / close[t - 1]));
  let seed = 0;
  for (let t = 1; t <= 30; t++) seed += r[t] * r[t];
  const v = [NaN, seed / 30];
  for (let t = 1; t <= asOf; t++) v.push(lambda * v[t] + (1 - lambda) * r[t] * r[t]);
  return r.slice(asOf - n + 1, asOf + 1).map((x, j) => x * Math.sqrt(v[asOf + 1] / v[asOf - n + 1 + j]));
}

describe('var-es IM from the definitions', () => {
  test('long 1 BTC: IM = max(1.25 × worst FHS loss, worst stressed loss) over 2 days, MM = 0.8 IM', () => {
    const market = marketFromHistory(h, k);
    const S = h.close.BTC[k];
    const e = new MarginEngine({ market, model: withHistory(model, h, k) });
    const r = e.margin({ id: 'long', mode: 'cross', collateral: { BTC: 1 } }) as MarginResultOk;
    expect(r.ok).toBe(true);
    const worstFhs = Math.min(...handFhs(h.close.BTC, k, 40, 0.94));
    const base = S * -Math.expm1(worstFhs * Math.SQRT2);
    const a = dateIndex(h, '2020-03-01');
    let worstStress = Infinity;
    for (let t = a; t < a + 40; t++) worstStress = Math.min(worstStress, Math.log(h.close.BTC[t] / h.close.BTC[t - 1]));
    const stressed = S * -Math.expm1(worstStress * Math.SQRT2);
    expect(r.varEs!.base).toBeCloseTo(base, 6);
    expect(r.varEs!.stressed).toBeCloseTo(stressed, 6);
    expect(r.initialMargin).toBeCloseTo(Math.max(1.25 * base, stressed), 6);
    expect(r.maintenanceMargin).toBeCloseTo(0.8 * r.initialMargin, 6);
    expect(r.equity).toBeCloseTo(S, 9);
    expect(r.model.mechanism).toBe('var-es');
    // var-margin is the same measure
    expect(varEsMargin(h, k, { id: 'long', collateral: { BTC: 1 } }, model, market).initialMargin).toBe(r.initialMargin);
  });

  test('without a history the model says how to give one', () => {
    expect(() => new MarginEngine({ market: marketFromHistory(h, k), model: 'var-es-975' })).toThrow(/needs a price history.*--history/);
  });

  test('the resolved model hash covers the as-of date and the sets', () => {
    const a = withHistory('var-es-975', h, k);
    const b = withHistory('var-es-975', h, k - 1);
    expect(a.hash).not.toBe(b.hash);
    expect(withHistory('var-es-975', h, k).hash).toBe(a.hash);
    expect(a.hash).not.toBe(loadModel('var-es-975').hash);
  });
});

describe('var-es in what-if and liquidation price', () => {
  const market = resolveMarket(defaultMarket());
  const resolved = withHistory('var-es-975', h, asOfIndexFor(h, market));
  const e = new MarginEngine({ market, model: resolved });

  test('what-if: before = margin(account), after = margin(account with the trade and its premium)', () => {
    const acct = { id: 'w', mode: 'portfolio' as const, collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] };
    const put = 'BTC-25SEP26-60000-P';
    const w = e.whatIf(acct, [{ instrument: put, size: -2, entryPrice: 0.05 }]);
    const before = e.margin(acct) as MarginResultOk;
    const spot = market.spot('BTC');
    // an inverse option's premium (0.05 BTC per contract) is credited in BTC
    const after = e.margin({ ...acct, collateral: { USDC: 100_000, BTC: 0.1 }, positions: [...acct.positions, { instrument: put, size: -2, entryPrice: 0.05 }] }) as MarginResultOk;
    expect(w.before.initialMargin).toBe(before.initialMargin);
    expect(w.after.initialMargin).toBe(after.initialMargin);
    expect(w.after.equity).toBe(after.equity);
    expect(w.after.initialMargin).toBeGreaterThan(w.before.initialMargin);
    expect(spot).toBeGreaterThan(0);
  });

  test('book: a trade and a tick give the account runner\'s figures on the traded account and the moved market', async () => {
    const accts = [
      { id: 'p', mode: 'portfolio', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] },
      { id: 'q', mode: 'cross', collateral: { ETH: 10 } },
    ];
    const be = BookEngine.create({ market, model: resolved, threads: 1 });
    try {
      be.load(accts);
      await be.recompute();
      const tr = be.trade('p', [{ instrument: 'BTC-25SEP26-60000-P', size: -1 }]);
      expect(tr.result.ok && tr.result.initialMargin).toBe((e.margin(be.account(0)) as MarginResultOk).initialMargin);
      const moved = movedMarket(market, 'BTC', -0.1);
      const up = await be.tick('BTC', moved);
      const ref = new MarginEngine({ market: moved, model: resolved });
      const got = up.results();
      expect(up.indices).toEqual([0]);
      expect(got[0].ok && got[0].maintenanceMargin).toBe((ref.margin(be.account(0)) as MarginResultOk).maintenanceMargin);
    } finally {
      await be.close();
    }
  });

  test('short 1 linear perpetual: liquidation above at S0·(C + P0)/(P0 + MM0), none below', () => {
    const C = 20_000;
    const acct = { id: 'short', mode: 'cross' as const, collateral: { USDC: C }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1 }] };
    const r = e.margin(acct) as MarginResultOk;
    const P0 = e.table.mark[e.table.indexOf('BTC_USDC-PERPETUAL')];
    const S0 = market.spot('BTC');
    // equity(u) = C − P0(u − 1) and MM(u) = u·MM0 (every scenario value scales with the index)
    const want = (S0 * (C + P0)) / (P0 + r.maintenanceMargin);
    const lp = e.liquidationPrice(acct, 'BTC');
    expect(lp.below).toBeNull();
    expect(Math.abs(lp.above! / want - 1)).toBeLessThan(1e-6);
  });
});

describe('CLI: margin and book with --model var-es-975 --history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-vares-'));
  const t = syntheticHistoryText();
  const btc = join(dir, 'btc_synthetic.csv');
  const eth = join(dir, 'eth_synthetic.csv');
  writeFileSync(btc, t.btc);
  writeFileSync(eth, t.eth);
  const acct = join(dir, 'a.json');
  writeFileSync(acct, JSON.stringify({ id: 'a', mode: 'portfolio', collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1 }, { instrument: 'ETH_USDC-PERPETUAL', size: 5 }] }));

  test('margin: the var-es breakdown, as of the last close before the market time; --as-of moves it', () => {
    let out = '';
    expect(runMarginCommand(acct, { model: 'var-es-975', history: `${btc},${eth}`, json: true }, (s) => (out += s))).toBe(0);
    const r = JSON.parse(out);
    expect(r.model.mechanism).toBe('var-es');
    expect(r.varEs.asOf).toBe('2026-07-31');
    expect(r.varEs.scenarioSets).toHaveLength(2);
    expect(r.initialMargin).toBe(Math.max(1.25 * r.varEs.base, r.varEs.stressed));
    out = '';
    runMarginCommand(acct, { model: 'var-es-975', history: `${btc},${eth}`, asOf: AS_OF, json: true }, (s) => (out += s));
    expect(JSON.parse(out).varEs.asOf).toBe(AS_OF);
  });

  test('margin without --history: an error naming --history', () => {
    expect(() => runMarginCommand(acct, { model: 'var-es-975' }, () => {})).toThrow(/--history/);
  });

  test('book: the same bytes for 1 and 2 threads, each account = the margin command', async () => {
    const book = join(dir, 'book.jsonl');
    writeFileSync(book, [readFileSync(acct, 'utf8'), JSON.stringify({ id: 'b', mode: 'cross', collateral: { BTC: 2 } })].join('\n') + '\n');
    const outs: string[] = [];
    for (const threads of [1, 2]) {
      const out = join(dir, `r${threads}.json`);
      await runBookCommand(book, { model: 'var-es-975', history: `${btc},${eth}`, threads, out, log: () => {} }, () => {});
      outs.push(readFileSync(out, 'utf8'));
    }
    expect(outs[1]).toBe(outs[0]);
    let single = '';
    runMarginCommand(acct, { model: 'var-es-975', history: `${btc},${eth}`, json: true }, (s) => (single += s));
    const doc = JSON.parse(outs[0]);
    expect(doc.model.mechanism).toBe('var-es');
    expect(doc.results[0].initialMargin).toBe(JSON.parse(single).initialMargin);
  });

  test('stress under var-es: a short perpetual loses P0 × the episode move; MM after from the model on the shocked market', async () => {
    const file = join(dir, 'short.json');
    writeFileSync(file, JSON.stringify({ id: 's', mode: 'cross', collateral: { USDC: 30_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1 }] }));
    let out = '';
    expect(await runStressCommand(file, { scenario: '2022-11-09', model: 'var-es-975', history: `${btc},${eth}`, json: true }, (x) => (out += x))).toBe(0);
    const doc = JSON.parse(out);
    const market = resolveMarket(defaultMarket());
    const e = new MarginEngine({ market, model: withHistory('var-es-975', h, asOfIndexFor(h, market)) });
    const P0 = e.table.mark[e.table.indexOf('BTC_USDC-PERPETUAL')];
    const move = Math.expm1(stressLibrary().episodes.find((x) => x.name === '2022-11-09')!.moves.BTC.logReturn);
    const a = doc.scenarios[0].accounts[0];
    expect(doc.model.id).toBe('var-es-975');
    expect(a.pnl).toBeCloseTo(-P0 * move, 6);
    // MM scales with the index (every scenario value of a linear perpetual does)
    expect(a.maintenanceMarginAfter / (e.margin({ id: 's', mode: 'cross', collateral: { USDC: 30_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1 }] }) as MarginResultOk).maintenanceMargin).toBeCloseTo(1 + move, 9);
  });
});
