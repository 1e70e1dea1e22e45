/**
 * The cascade simulator (src/liquidation/simulate.ts): closed ledger at every step on random books
 * and paths under every shipped mechanism, no account lost or liquidated twice in a step,
 * determinism across thread counts, clear errors, and the 2026-02-05 crash replay (shared data).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation, type StepReport } from '../src/liquidation/simulate.js';
import { historyPath, shocksPath } from '../src/liquidation/paths.js';
import { listMechanisms } from '../src/liquidation/mechanism.js';
import { runSimulateCommand } from '../src/cli/simulate-run.js';
import { countPlanJobs } from './support/plan-jobs.js';
import { HAVE_SHARED, SHARED_DATA, rng, sharedSkipNote } from './helpers.js';

const market = resolveMarket(defaultMarket());
const dir = mkdtempSync(join(tmpdir(), 'optmargin-sim-'));

function randomPath(seed: number, n: number) {
  const r = rng(seed);
  let btc = 0;
  let eth = 0;
  const steps = [];
  for (let s = 0; s < n; s++) {
    btc = (1 + btc) * Math.exp(0.12 * (r() - 0.6)) - 1;
    eth = (1 + eth) * Math.exp(0.15 * (r() - 0.6)) - 1;
    steps.push({ name: `s${s}`, moves: { BTC: btc, ETH: eth }, vol: { BTC: { ratio: 1 + 0.3 * r() } } });
  }
  return shocksPath(market, { steps });
}

const strip = (s: StepReport) => ({ ...s, ms: 0, stages: null });

describe('cascade simulator: closed ledger, no account lost or liquidated twice', () => {
  for (const mechanism of listMechanisms()) {
    it(`${mechanism}: Σ equity + liquidators + fund changes only by market P&L, every step`, async () => {
      const { accounts } = generateBook({ accounts: 250, seed: 11, market });
      const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism });
      const path = randomPath(mechanism.length * 7 + 3, 5);
      let liquidations = 0;
      try {
        for (const st of path.steps) {
          const r = await sim.step(st.market, st.label, st.dailyVol);
          const scale = Math.abs(sim.totalEquity) + Math.abs(r.marketPnl) + 1;
          expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-12 * scale * 1e3);
          expect(new Set(r.liquidatedAccounts).size).toBe(r.liquidatedAccounts.length);
          // the bankrupt accounts: one entry each, ascending, their bad debts summing to the step's
          const ks = r.bankruptAccounts.map((b) => b.account);
          expect(ks).toEqual([...new Set(ks)].sort((a, b) => a - b));
          expect(ks.length).toBe(r.bankrupt);
          for (const b of r.bankruptAccounts) expect(b.badDebt).toBeGreaterThan(0);
          const sum = r.bankruptAccounts.reduce((x, b) => x + b.badDebtUsd, 0);
          expect(Math.abs(sum - r.badDebt)).toBeLessThan(1e-9 * (1 + r.badDebt));
          // each one's waterfall: its bad debt = fund + winners + ADL + unrecovered + printed, and per currency its parts sum to the currency's
          const parts = ['badDebt', 'insuranceCovered', 'socialised', 'adlCharged', 'unrecovered', 'printed', 'adlPositions'] as const;
          for (const b of r.bankruptAccounts) {
            const bore = b.insuranceCovered + b.socialised + b.adlCharged + b.unrecovered + b.printed;
            expect(Math.abs(bore - b.badDebt)).toBeLessThan(1e-9 * b.badDebt);
          }
          for (const c of r.currencies) {
            const mine = r.bankruptAccounts.filter((b) => b.currency === c.currency);
            for (const key of parts) expect(Math.abs(mine.reduce((x, b) => x + b[key], 0) - c[key])).toBeLessThan(1e-9 * (1 + c.badDebt));
          }
          expect(r.accountsFailed).toBe(0);
          expect(r.insuranceFund).toBeGreaterThanOrEqual(-1e-9);
          // funds per product line (okx-tiered-adl): each currency's fund is the sum of its pools, none below 0
          for (const c of r.currencies) {
            if (!c.pools) continue;
            const pools = Object.values(c.pools);
            for (const b of pools) expect(b).toBeGreaterThanOrEqual(0);
            expect(Math.abs(pools.reduce((x, b) => x + b, 0) - c.insuranceFund)).toBeLessThan(1e-9 * (1 + c.insuranceFund));
          }
          liquidations += r.liquidated;
        }
      } finally {
        await sim.close();
      }
      expect(liquidations).toBeGreaterThan(0);
    }, 120_000);
  }
  it('deterministic: the same book and path give the same steps with 1 and 2 threads', async () => {
    const { accounts } = generateBook({ accounts: 300, seed: 5, market });
    const path = randomPath(99, 4);
    const runs: unknown[][] = [];
    for (const threads of [1, 2]) {
      const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'okx-tiered-adl', threads });
      const out: unknown[] = [];
      for (const st of path.steps) out.push(strip(await sim.step(st.market, st.label)));
      await sim.close();
      runs.push(out);
    }
    expect(JSON.stringify(runs[1])).toBe(JSON.stringify(runs[0]));
  }, 120_000);
});

describe('cascade simulator: a bankrupt account with nothing to close', () => {
  it('its deficit goes to the insurance fund like a liquidated one\'s (cross: no position; isolated: a negative balance of its own)', async () => {
    // by hand: equity = −500 USDC (no position, USDC at 1, no haircut on a debt); the isolated one: −7000 USDC of its
    // own + 6000 of its position's collateral, P&L 0 (no entry price: pinned at the start's mark) = −1000, bankrupt; its position is healthy on
    // its own collateral, so its plan closes nothing (an isolated position is liquidated on its own figures: plan-isolated.ts);
    // the healthy one is left alone
    const accounts = [
      { id: 'owes', mode: 'cross' as const, collateral: { USDC: -500 }, positions: [] },
      { id: 'ok', mode: 'cross' as const, collateral: { USDC: 1000 }, positions: [] },
      { id: 'iso', mode: 'isolated' as const, collateral: { USDC: -7000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.01, collateral: { USDC: 6000 } }] },
    ];
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', insuranceFundUsd: 1e6 });
    try {
      expect(sim.totalEquity).toBeCloseTo(-500 + 1000 - 1000, 6);
      const r = await sim.step(market, 'same market');
      expect(r.liquidatedAccounts).toEqual([]);
      expect(r.fees).toBe(0);
      expect(r.bankrupt).toBe(2);
      // the deficits: 500 and 1000, covered by the fund
      expect(r.badDebt).toBeCloseTo(1500, 6);
      // each bankrupt account with its own deficit (USD accounts: USD, at 1)
      expect(r.bankruptAccounts.map((b) => [b.account, b.id, b.currency])).toEqual([[0, 'owes', 'USD'], [2, 'iso', 'USD']]);
      expect(r.bankruptAccounts[0].badDebt).toBeCloseTo(500, 9);
      expect(r.bankruptAccounts[1].badDebt).toBeCloseTo(1000, 9);
      expect(r.bankruptAccounts[1].badDebtUsd).toBe(r.bankruptAccounts[1].badDebt);
      for (const b of r.bankruptAccounts) expect([b.insuranceCovered, b.socialised, b.adlCharged, b.unrecovered, b.printed]).toEqual([b.badDebt, 0, 0, 0, 0]);
      expect(r.insuranceCovered).toBeCloseTo(r.badDebt, 9);
      expect(r.unrecovered).toBe(0);
      expect(sim.insuranceFundUsd).toBeCloseTo(1e6 - 1500, 6);
      expect(sim.totalEquity).toBeCloseTo(1000, 6);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-9);
      // the isolated position keeps its size and its own collateral (its entry pinned at the start's mark: pin-entries.ts); the cover went to the account's balances
      expect(sim.account(2).positions).toEqual([{ ...accounts[2].positions[0], entryPrice: market.perpetual('BTC') }]);
      expect(sim.account(2).collateral.USDC).toBeCloseTo(-6000, 6);
      // covered: nothing left to cover at the next step
      const again = await sim.step(market, 'again');
      expect(again.bankrupt).toBe(0);
      expect(again.badDebt).toBe(0);
      expect(again.bankruptAccounts).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe('cascade simulator: a coin held only as collateral', () => {
  it('moves its holders: ETH falling 10 % ticks an account whose only ETH is its balance (market P&L = its balance × the move, by hand)', async () => {
    // until session 26 the simulator ticked only the underlyings of the book's positions: this account's 10 ETH kept their
    // old value, its equity and the ledger's market P&L missed the move, and the step reported no ETH index
    const E = market.spot('ETH');
    const accounts = [{ id: 'eth', mode: 'cross' as const, collateral: { ETH: 10 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.01, entryPrice: market.spot('BTC') }] }];
    const path = shocksPath(market, { steps: [{ moves: { ETH: -0.1 } }] });
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', threads: 1, insuranceFundUsd: 0 });
    try {
      const eq0 = sim.totalEquity;
      const r = await sim.step(path.steps[0].market, path.steps[0].label);
      expect(r.spot.ETH).toBeCloseTo(0.9 * E, 6);
      expect(r.ticks).toBe(1);
      expect(r.marketPnl).toBeCloseTo(-E, 6); // 10 ETH × −0.1 E (the model's ETH haircut is on IM, not on equity: equity holds the balance at the index)
      expect(sim.totalEquity - eq0).toBeCloseTo(-E, 6);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
    } finally {
      await sim.close();
    }
  });
});

describe('cascade simulator: clear errors', () => {
  it('an unknown mechanism', async () => {
    await expect(Simulation.create({ accounts: [], market, model: 'deribit-pm-2024.1', mechanism: 'nope' })).rejects.toThrow(/unknown liquidation mechanism "nope"/);
  });
  it('a book that does not resolve names the account', async () => {
    const accounts = [{ id: 'ok', mode: 'cross', collateral: { USDC: 1000 }, positions: [] }, { id: 'bad', mode: 'cross', collateral: { USDC: 1 }, positions: [{ instrument: 'BTC-1JAN20-1-C', size: 1 }] }];
    await expect(Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental' })).rejects.toThrow(/the book does not resolve: account bad \(#1\)/);
  });
  it('a path with gaps, a path in the wrong order, a bad step', () => {
    const f = join(dir, 'btc.csv');
    writeFileSync(f, 'date,close\n2024-01-01,40000\n2024-01-02,41000\n2024-01-04,39000\n');
    expect(() => historyPath(market, [{ file: f, underlying: 'BTC' }])).toThrow(/the path has a gap: no close between 2024-01-02 and 2024-01-04/);
    expect(() => historyPath(market, [{ file: f, underlying: 'BTC' }], '2024-01-02', '2024-01-01')).toThrow(/must come after FROM/);
    expect(() => shocksPath(market, { steps: [{ moves: { BTC: -1.5 } }] })).toThrow(/path.steps\[0\].moves.BTC must be > -1/);
    expect(() => shocksPath(market, { steps: [] })).toThrow(/path.steps must not be empty/);
  });
});

describe('cascade simulator: history path and CLI', () => {
  it.skipIf(!HAVE_SHARED)(sharedSkipNote('history with DVOL: daily steps, vols scaled by DVOL, side by side models, --out CSV'), async () => {
    const out = join(dir, 'steps.csv');
    let text = '';
    const runs = await runSimulateCommand(
      'gen:300:3',
      { path: `history:${SHARED_DATA}btc_usd_1d_bitstamp_coinbase.csv,BTC=${SHARED_DATA}btc_dvol_1d.csv@2022-11-06..2022-11-13`, model: 'deribit-pm-2024.1,deribit-standard-2024.1', liquidation: 'deribit-incremental', out, quiet: true },
      (s) => (text += s),
    );
    expect(runs.map((r) => r.model)).toEqual(['deribit-pm-2024.1', 'deribit-standard-2024.1']);
    expect(runs[0].steps.length).toBe(7);
    expect(text).toMatch(/deribit-pm-2024.1 .*%/);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv.length).toBe(1 + 14);
    for (const r of runs) for (const s of r.steps) expect(Math.abs(s.ledger.residual)).toBeLessThan(1e-3);
  }, 120_000);
});

describe('optmargin simulate --out: the same bytes for the same inputs, whatever the thread count', () => {
  it('JSON and CSV steps from 1 and 2 threads are byte-identical; --timings adds the wall-clock figures', async () => {
    const path = join(dir, 'crash.json');
    writeFileSync(path, JSON.stringify({ steps: [{ name: 'd1', moves: { BTC: -0.12, ETH: -0.12 } }, { name: 'd2', moves: { BTC: -0.25, ETH: -0.25 } }] }));
    const run = async (threads: string, out: string, timings = false): Promise<string> => {
      await runSimulateCommand('gen:600:5', { path: `shocks:${path}`, liquidation: 'okx-tiered-adl', insuranceFund: '0', threads, out: join(dir, out), quiet: true, timings }, () => {});
      return readFileSync(join(dir, out), 'utf8');
    };
    const json1 = await run('1', 'a.json');
    expect(await run('2', 'b.json')).toBe(json1);
    const csv1 = await run('1', 'a.csv');
    expect(await run('2', 'b.csv')).toBe(csv1);
    const steps = JSON.parse(json1).runs[0].steps;
    expect(steps.reduce((a: number, s: StepReport) => a + s.liquidated, 0)).toBeGreaterThan(0);
    expect(steps[0].ms).toBeUndefined();
    expect(csv1.split('\n')[0]).not.toMatch(/,ms,/);
    const timed = JSON.parse(await run('1', 'c.json', true)).runs[0].steps;
    expect(timed[0].ms).toBeGreaterThan(0);
    expect(timed[0].stages.tickMs).toBeGreaterThan(0);
    expect((await run('1', 'c.csv', true)).split('\n')[0]).toMatch(/,residual,ms,spot,impact$/);
    // the --json summary: the command's stages only with --timings (without, the same bytes run after run), and its stderr line
    const summary = async (timings: boolean): Promise<{ text: string; log: string }> => {
      let text = '';
      let log = '';
      await runSimulateCommand('gen:300:5', { path: `shocks:${path}`, liquidation: 'okx-tiered-adl', insuranceFund: '0', json: true, quiet: true, timings }, (x) => (text += x), (x) => (log += x));
      return { text, log };
    };
    const plain = await summary(false);
    expect((await summary(false)).text).toBe(plain.text);
    expect(JSON.parse(plain.text).timings).toBeUndefined();
    expect(plain.log).toBe('');
    const withTimings = await summary(true);
    const t = JSON.parse(withTimings.text).timings;
    expect(Object.keys(t.stages)).toEqual(['read', 'parse', 'load', 'recompute', 'summary', 'steps', 'write']);
    for (const ms of Object.values(t.stages) as number[]) expect(ms).toBeGreaterThanOrEqual(0);
    expect(t.stages.steps).toBe(t.runs[0].stepsMs);
    expect(t.stages.load).toBe(t.runs[0].loadMs);
    expect(t.ms).toBeGreaterThanOrEqual((Object.values(t.stages) as number[]).reduce((a, b) => a + b, 0));
    expect(withTimings.log).toMatch(/^simulate: \d+ ms {2}stages: read \d+ ms \(\d+%\), parse \d+ ms \(\d+%\), load .*, steps \d+ ms \(\d+%\), write \d+ ms \(\d+%\)\n$/);
  }, 120_000);

  it('a book file (JSON lines, msgpack, columnar; 1 and 2 threads; --pool-plans) gives the bytes of the same accounts generated in process, two models × two mechanisms; the stages of the file read', async () => {
    const path = join(dir, 'crash-file.json');
    writeFileSync(path, JSON.stringify({ steps: [{ name: 'd1', moves: { BTC: -0.12, ETH: -0.12 } }, { name: 'd2', moves: { BTC: -0.25, ETH: -0.25 } }] }));
    const opts = { path: `shocks:${path}`, model: 'deribit-pm-2024.1,span-16', liquidation: 'deribit-incremental,okx-tiered-adl', insuranceFund: '100000', quiet: true };
    const out = async (book: string, threads: string, name: string, poolPlans = false): Promise<string> => {
      await runSimulateCommand(book, { ...opts, threads, out: join(dir, name), poolPlans }, () => {});
      return readFileSync(join(dir, name), 'utf8');
    };
    const want = await out('gen:500:8', '1', 'gen.json');
    expect(JSON.parse(want).runs.map((r: { model: string; mechanism: string }) => `${r.model}/${r.mechanism}`)).toEqual(['deribit-pm-2024.1/deribit-incremental', 'deribit-pm-2024.1/okx-tiered-adl', 'span-16/deribit-incremental', 'span-16/okx-tiered-adl']);
    const { runGenBookCommand } = await import('../src/cli/book.js');
    for (const ext of ['jsonl', 'msgpack', 'ombook']) {
      const file = join(dir, `gen-500-8.${ext}`);
      await runGenBookCommand({ accounts: 500, seed: 8, out: file });
      for (const threads of ['1', '2']) expect(await out(file, threads, `file-${ext}.json`), `${ext} ${threads}`).toBe(want);
    }
    // --pool-plans: the rounds' plans shared with the workers (the fixed-price mechanisms'), the same bytes; plan jobs do reach the pool
    const jobs = await countPlanJobs(async () => expect(await out(join(dir, 'gen-500-8.jsonl'), '2', 'file-pooled.json', true)).toBe(want));
    expect(jobs).toBeGreaterThan(0);
    let text = '';
    await runSimulateCommand(join(dir, 'gen-500-8.jsonl'), { ...opts, threads: '2', json: true, timings: true }, (x) => (text += x), () => {});
    const t = JSON.parse(text).timings;
    expect(t.stages.read).toBeGreaterThan(0);
    expect(t.stages.parse).toBeGreaterThanOrEqual(0);
    // the file is parsed once (by the first run's engine); every run loads it: the first as it is read, the others from its columns
    expect(t.runs.length).toBe(4);
    for (const r of t.runs) expect(r.loadMs).toBeGreaterThan(0);
    expect(t.stages.load).toBeCloseTo(t.runs.reduce((a: number, r: { loadMs: number }) => a + r.loadMs, 0), 6);
  }, 180_000);
});

describe('optmargin simulate: mechanisms side by side', () => {
  it('each model under each mechanism: the runs of one mechanism alone, a mechanism column in the table and the CSV; an unknown one fails first', async () => {
    const path = join(dir, 'fall.json');
    writeFileSync(path, JSON.stringify({ steps: [{ name: 'd1', moves: { BTC: -0.15, ETH: -0.1 } }] }));
    const opts = { path: `shocks:${path}`, model: 'deribit-pm-2024.1,deribit-standard-2024.1', insuranceFund: '1000000', quiet: true };
    let text = '';
    const out = join(dir, 'side.csv');
    const runs = await runSimulateCommand('gen:300:2', { ...opts, liquidation: 'deribit-incremental, lyra-mainnet', out }, (s) => (text += s));
    expect(runs.map((r) => `${r.model} ${r.mechanism}`)).toEqual([
      'deribit-pm-2024.1 deribit-incremental',
      'deribit-pm-2024.1 lyra-mainnet',
      'deribit-standard-2024.1 deribit-incremental',
      'deribit-standard-2024.1 lyra-mainnet',
    ]);
    // every run is the run of its mechanism alone (a new simulation each: nothing carries over)
    const alone = await runSimulateCommand('gen:300:2', { ...opts, liquidation: 'lyra-mainnet' }, () => {});
    const strip = (r: (typeof runs)[number]): unknown => ({ ...r, steps: r.steps.map(({ ms: _m, stages: _s, ...x }) => x) });
    expect(strip(runs[1])).toEqual(strip(alone[0]));
    expect(strip(runs[3])).toEqual(strip(alone[1]));
    expect(runs[1].totals.liquidated).toBeGreaterThan(0);
    expect(text).toMatch(/^mechanisms deribit-incremental, lyra-mainnet;/m);
    expect(text).toMatch(/^deribit-standard-2024\.1 +lyra-mainnet +\d/m);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^model,mechanism,step,/);
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(' '))).toEqual(runs.map((r) => `${r.model} ${r.mechanism}`));
    await expect(runSimulateCommand('gen:300:2', { ...opts, liquidation: 'deribit-incremental,no-such-mechanism' }, () => {})).rejects.toThrow(/no-such-mechanism/);
    await expect(runSimulateCommand('gen:300:2', { ...opts, liquidation: ' , ' }, () => {})).rejects.toThrow(/--liquidation must name at least one/);
  }, 120_000);
});

describe('cascade simulator: the 2026-02-05 crash replay (docs/liquidation.md)', () => {
  const names = ['20260204T213308Z', '20260205T093647Z', '20260205T155132Z', '20260205T212937Z', '20260206T043012Z'];
  it.skipIf(!HAVE_SHARED)(sharedSkipNote('five Deribit snapshots, a generated book, two models: closed ledger, the snapshots\' index levels, liquidations in the crash'), async () => {
    const files = names.map((n) => `${SHARED_DATA}deribit_snapshots/deribit_options_snapshot_${n}.csv`);
    const runs = await runSimulateCommand('gen:400:1', { path: `snapshots:${files.join(',')}`, model: 'deribit-pm-2024.1,deribit-standard-2024.1', liquidation: 'deribit-incremental', quiet: true }, () => {});
    expect(runs.length).toBe(2);
    for (const r of runs) {
      expect(r.steps.map((s) => s.label)).toEqual(files.map((f) => f.split('/').pop()));
      // BTC index of the snapshots (moved only by liquidation impact, a few bp at most)
      expect(r.steps[0].spot.BTC / 73_000).toBeCloseTo(1, 1);
      expect(r.steps[3].spot.BTC / 63_400).toBeCloseTo(1, 1);
      for (const s of r.steps) expect(Math.abs(s.ledger.residual)).toBeLessThan(1e-4);
      expect(r.steps.slice(1, 4).reduce((a, s) => a + s.liquidated, 0)).toBeGreaterThan(0);
      expect(r.before.imPerNotional).toBeGreaterThan(0.01);
      expect(r.before.imPerNotional).toBeLessThan(0.5);
    }
  }, 300_000);
});
