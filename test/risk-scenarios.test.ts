import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { dateIndex, loadHistory, logReturns } from '../src/risk/history.js';
import { ewmaCovariance, monteCarloScenarios } from '../src/risk/monte-carlo.js';
import { fhsScenarios, historicalScenarios } from '../src/risk/historical.js';
import { loadStressScenarios, shockedMarket, stressLibrary, stressScenarioSet } from '../src/risk/stress.js';
import { generateBook } from '../src/io/gen-book.js';
import { createMarginEngine } from '../src/runner/account/runner.js';
import { pinEntries } from '../src/liquidation/pin-entries.js';
import type { MarginResultOk } from '../src/measures/types.js';
import { runStressCommand } from '../src/cli/stress.js';
import { defaultMarket } from '../src/market/snapshot.js';
import { resolveMarket } from '../src/market/resolved.js';
import { HAVE_SHARED, SHARED_DATA, sharedSkipNote } from './helpers.js';

const BTC = `${SHARED_DATA}btc_usdt_1d_binance.csv`;
const ETH = `${SHARED_DATA}eth_usdt_1d_binance.csv`;
const cli = new URL('../dist/src/cli.js', import.meta.url).pathname;

/** A small synthetic two-asset history (no ../shared needed). */
function synthetic(n = 400) {
  let a = 100, b = 50, s = 7;
  const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647) - 0.5;
  const rows = ['date,close'], rows2 = ['date,close'];
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(2020, 0, 1) + i * 86400000).toISOString().slice(0, 10);
    const z = rnd();
    a *= Math.exp(0.05 * z);
    b *= Math.exp(0.03 * z + 0.04 * rnd());
    rows.push(`${d},${a}`);
    rows2.push(`${d},${b}`);
  }
  return loadHistory([{ file: 'AAA.csv', text: rows.join('\n') }, { file: 'BBB.csv', text: rows2.join('\n') }]);
}

describe('Monte Carlo scenario sets', () => {
  const h = synthetic();
  const k = h.dates.length - 1;
  const cov = ewmaCovariance([logReturns(h, 'AAA'), logReturns(h, 'BBB')], k, 0.94);
  for (const distribution of ['normal', 'student-t'] as const) {
    it(`${distribution}: sample covariance matches the EWMA covariance`, () => {
      const set = monteCarloScenarios(h, { asOfIndex: k, scenarios: 200_000, seed: 42, distribution, dof: 6 });
      const x = set.logReturn.AAA, y = set.logReturn.BBB;
      const n = set.n;
      let mx = 0, my = 0;
      for (let i = 0; i < n; i++) { mx += x[i] / n; my += y[i] / n; }
      let cxx = 0, cyy = 0, cxy = 0;
      for (let i = 0; i < n; i++) { cxx += (x[i] - mx) ** 2 / n; cyy += (y[i] - my) ** 2 / n; cxy += ((x[i] - mx) * (y[i] - my)) / n; }
      // standard error of a variance estimate ~ σ²·√((κ−1)/n); κ = 9 for t(6): 3 % is > 4 s.e.
      expect(Math.abs(cxx / cov[0] - 1)).toBeLessThan(0.03);
      expect(Math.abs(cyy / cov[3] - 1)).toBeLessThan(0.03);
      expect(Math.abs(cxy / cov[1] - 1)).toBeLessThan(0.05);
      expect(Math.abs(mx)).toBeLessThan(5 * Math.sqrt(cov[0] / n));
    });
  }
  it('is deterministic for a seed and changes with it', () => {
    const a = monteCarloScenarios(h, { asOfIndex: k, scenarios: 1000, seed: 1 });
    const b = monteCarloScenarios(h, { asOfIndex: k, scenarios: 1000, seed: 1 });
    const c = monteCarloScenarios(h, { asOfIndex: k, scenarios: 1000, seed: 2 });
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
    expect(a.id).toContain('seed1');
  });
});

describe('historical and FHS sets', () => {
  const h = synthetic();
  const k = h.dates.length - 1;
  it('window = the N most recent returns up to and including r_T, labelled by date', () => {
    const s = historicalScenarios(h, { asOfIndex: k, lookback: 100 });
    const r = logReturns(h, 'AAA');
    expect(s.n).toBe(100);
    expect(s.logReturn.AAA[99]).toBe(r[k]);
    expect(s.labels![99]).toBe(h.dates[k]);
    expect(s.labels![0]).toBe(h.dates[k - 99]);
    const o = historicalScenarios(h, { asOfIndex: k, lookback: 100, horizon: 5, horizonMethod: 'overlapping' });
    expect(o.logReturn.AAA[99]).toBeCloseTo(r[k] + r[k - 1] + r[k - 2] + r[k - 3] + r[k - 4], 12);
    const q = historicalScenarios(h, { asOfIndex: k, lookback: 100, horizon: 4 });
    expect(q.logReturn.AAA[99]).toBeCloseTo(2 * r[k], 14);
  });
  it('FHS rescales each return by today\'s EWMA vol over the vol at its date', () => {
    const s = fhsScenarios(h, { asOfIndex: k, lookback: 50, lambda: 0.94 });
    const r = logReturns(h, 'AAA');
    let v = 0;
    for (let t = 1; t <= 30; t++) v += (r[t] * r[t]) / 30;
    const vs: number[] = [NaN, v];
    for (let t = 1; t <= k; t++) vs.push((v = 0.94 * v + 0.06 * r[t] * r[t]));
    expect(s.logReturn.AAA[49]).toBeCloseTo(r[k] * Math.sqrt(vs[k + 1] / vs[k]), 14);
  });
  it('asks for enough history, naming the flag', () => {
    expect(() => historicalScenarios(h, { asOfIndex: 50, lookback: 100 })).toThrow(/--lookback 100 needs 100 returns/);
  });
});

describe('stress scenarios', () => {
  it('user files: moves, vol ratio and shifts; errors name the field', () => {
    const list = loadStressScenarios('x.json', () => ({ scenarios: [{ name: 'down', moves: { BTC: -0.3 }, vol: { BTC: { ratio: 1.5, parallel: 0.1, byTenor: [{ days: 7, shift: 0.2 }, { days: 30, shift: 0 }] } } }, { name: 'up', moves: { ETH: 0.2 } }] }));
    const set = stressScenarioSet(list);
    expect(set.labels).toEqual(['down', 'up']);
    expect(Math.expm1(set.logReturn.BTC[0])).toBeCloseTo(-0.3, 14);
    expect(set.logReturn.BTC[1]).toBe(0);
    expect(() => loadStressScenarios('x.json', () => ({ moves: { BTC: -1.2 } }))).toThrow(/x.json.moves.BTC must be > -1/);
    expect(() => loadStressScenarios('1999-01-01', () => null)).toThrow(/neither a file nor a shipped episode/);
  });
  it('a coin balance loses exactly its price move under each shipped episode', async () => {
    const acct = { id: 'coin', mode: 'cross', collateral: { BTC: 2 } };
    const dir = mkdtempSync(join(tmpdir(), 'stress-'));
    const f = join(dir, 'a.json');
    writeFileSync(f, JSON.stringify(acct));
    let out = '';
    await runStressCommand(f, { scenario: 'all', json: true, model: 'deribit-standard' }, (s) => (out += s));
    const res = JSON.parse(out);
    const S = resolveMarket(defaultMarket()).spot('BTC');
    for (const sc of res.scenarios) {
      const ep = stressLibrary().episodes.find((e) => e.name === sc.scenario)!;
      expect(sc.accounts[0].pnl).toBeCloseTo(2 * S * Math.expm1(ep.moves.BTC.logReturn), 6);
    }
  });
});

describe('optmargin stress reads a book as the book command does', () => {
  it('JSON lines, msgpack and a JSON array give the same report; a bad entry is an error in its place; a coin balance loses its move (by hand)', async () => {
    const accounts: unknown[] = [
      { id: 'coin', mode: 'cross', collateral: { BTC: 2 } },
      { id: 'bad', mode: 'cross', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] },
      { id: 'short', mode: 'cross', collateral: { USDC: 30_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: 60_000 }] },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'stress-book-'));
    const files = {
      jsonl: accounts.map((a) => JSON.stringify(a)).join('\n') + '\n',
      msgpack: encode(accounts),
      json: JSON.stringify(accounts),
    };
    const outs: string[] = [];
    for (const [ext, body] of Object.entries(files)) {
      const f = join(dir, `book.${ext}`);
      writeFileSync(f, body);
      let out = '';
      expect(await runStressCommand(f, { scenario: '2022-11-09', json: true, model: 'deribit-standard' }, (x) => (out += x))).toBe(0);
      outs.push(out);
    }
    expect(outs[1]).toBe(outs[0]);
    expect(outs[2]).toBe(outs[0]);
    const sc = JSON.parse(outs[0]).scenarios[0];
    expect(sc.accounts.map((a: { id: string }) => a.id)).toEqual(['coin', 'short']);
    expect(sc.errors).toEqual([{ id: 'bad', code: 'OPTMARGIN_INVALID_INPUT', message: expect.stringMatching(/^positions\[0\]\.size must be a finite number, got "x"/) }]);
    const move = Math.expm1(stressLibrary().episodes.find((e) => e.name === '2022-11-09')!.moves.BTC.logReturn);
    expect(sc.accounts[0].pnl).toBeCloseTo(2 * resolveMarket(defaultMarket()).spot('BTC') * move, 6);
  });
});

describe('optmargin stress on the book engine', () => {
  for (const model of ['deribit-pm-2024.1', 'deribit-standard-2024.1', 'span-16']) {
    it(`${model}: each scenario's figures are the margin engine's on the shocked market (entry-less futures pinned), on 1 and 2 threads`, async () => {
      const base = resolveMarket(defaultMarket());
      const { accounts } = generateBook({ accounts: 300, seed: 5, market: base });
      const dir = mkdtempSync(join(tmpdir(), 'stress-engine-'));
      const f = join(dir, 'book.jsonl');
      writeFileSync(f, accounts.map((a) => JSON.stringify(a)).join('\n') + '\n');
      const runs: string[] = [];
      for (const threads of ['1', '2']) {
        let out = '';
        expect(await runStressCommand(f, { scenario: 'all', json: true, model, threads }, (x) => (out += x))).toBe(0);
        runs.push(out);
      }
      expect(runs[1]).toBe(runs[0]);
      const doc = JSON.parse(runs[0]);
      // the reference: the one-account engine on each shocked market, each account's futures pinned at the base market's forward
      const set = stressScenarioSet(loadStressScenarios('all', () => null));
      const before = createMarginEngine({ market: base, model });
      const pinned = accounts.map((a) => pinEntries(before, a));
      for (let s = 0; s < set.n; s++) {
        const engine = createMarginEngine({ market: shockedMarket(base, set, s), model });
        const got = doc.scenarios[s];
        expect(got.scenario).toBe(set.labels![s]);
        const want = pinned.map((a) => engine.margin(a)).filter((r) => r.ok) as MarginResultOk[];
        expect(got.accounts.map((a: { id: string }) => a.id)).toEqual(want.map((r) => r.id));
        got.accounts.forEach((a: { equityAfter: number; maintenanceMarginAfter: number; healthAfter: string }, k: number) => {
          const r = want[k].usd ?? want[k];
          expect(a.equityAfter).toBe(r.equity);
          expect(a.maintenanceMarginAfter).toBe(r.maintenanceMargin);
          expect(a.healthAfter).toBe(want[k].health);
        });
      }
    }, 120_000);
  }
});

describe.skipIf(!HAVE_SHARED)(sharedSkipNote('stress library replays the data\'s price moves'), () => {
  it('each episode\'s moves are the close-to-close moves of its date', () => {
    const h = loadHistory([{ file: BTC }, { file: ETH }]);
    for (const e of stressLibrary().episodes) {
      const k = dateIndex(h, e.name);
      for (const u of ['BTC', 'ETH']) expect(e.moves[u].logReturn).toBeCloseTo(Math.log(h.close[u][k] / h.close[u][k - 1]), 7);
    }
    expect(stressLibrary().episodes.map((e) => e.name)).toEqual(['2020-03-12', '2021-05-19', '2022-06-13', '2022-11-09', '2026-02-05']);
  });
});

describe.skipIf(!HAVE_SHARED || !existsSync(cli))(sharedSkipNote('var and backtest CLI (the Interface of issue 11)') + (existsSync(cli) ? '' : ' [SKIPPED: dist/src/cli.js not built]'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'var-'));
  const acct = join(dir, 'a.json');
  writeFileSync(acct, JSON.stringify({ id: 'long-btc', collateral: { BTC: 1 } }));
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  it('var prints var and es (positive, USD)', () => {
    const r = run(['var', acct, '--history', `${BTC},${ETH}`, '--as-of', '2026-07-17', '--method', 'hs', '--lookback', '250', '--alpha', '0.99', '--quantile', 'empirical', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    const ref = JSON.parse(readFileSync(`${SHARED_DATA}var_reference_computed.json`, 'utf8')).cases.find((c: { window: number; alpha: number; qty_btc: number; qty_eth: number }) => c.window === 250 && c.alpha === 0.99 && c.qty_btc === 1 && c.qty_eth === 0);
    expect(j.var).toBeCloseTo(ref.var_lower_order_statistic, 5);
    expect(j.es).toBeGreaterThan(j.var);
  });
  it('a book (JSON lines): the vectorized path (WASM tails, 2 threads) gives each account the one-account figures', () => {
    const book = join(dir, 'book.jsonl');
    writeFileSync(book, [{ id: 'a', collateral: { BTC: 1 } }, { id: 'b', collateral: { ETH: -20, BTC: 1 } }, { id: 'c', positions: [{ instrument: 'ETH_USDC', size: 3 }] }].map((a) => JSON.stringify(a)).join('\n'));
    const common = ['--history', `${BTC},${ETH}`, '--as-of', '2026-07-17', '--lookback', '500', '--alpha', '0.975', '--quantile', 'linear', '--json'];
    const fast = JSON.parse(run(['var', book, ...common, '--threads', '2']).stdout);
    const slow = JSON.parse(run(['var', book, ...common, '--components']).stdout);
    expect(fast.accounts.map((a: { var: number }) => a.var)).toEqual(slow.accounts.map((a: { var: number }) => a.var));
    expect(fast.accounts.map((a: { es: number }) => a.es)).toEqual(slow.accounts.map((a: { es: number }) => a.es));
    expect(fast.book.var).toBeCloseTo(slow.book.var, 6);
  });
  it('bad flags name the flag and value, exit 2', () => {
    const r = run(['var', acct, '--history', BTC, '--alpha', '1.5']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--alpha must be in \(0, 1\).*1.5/);
    expect(r.stdout).toBe('');
  });
  it('backtest prints observations, dated exceptions and the three tests with lr and p', () => {
    const r = run(['backtest', acct, '--history', BTC, '--from', '2024-01-01', '--to', '2024-12-31', '--method', 'fhs', '--lookback', '250', '--alpha', '0.99', '--quantile', 'linear', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.observations).toBe(366);
    for (const t of ['kupiec', 'christoffersen', 'conditionalCoverage']) {
      expect(j[t].lr).toBeGreaterThanOrEqual(0);
      expect(j[t].p).toBeGreaterThan(0);
    }
    expect(j.exceptions.every((e: { date: string }) => /^2024-/.test(e.date))).toBe(true);
    expect(j.exceptionCount).toBe(j.exceptions.length);
  });
});
