/**
 * A cascade round's plans shared with the book's worker pool (src/liquidation/plan-round.ts: the
 * main thread plans chunks while the workers plan others, booked in account order): the same
 * step reports, byte for byte, as planning on the main thread, for 1, 2 and 3 threads; every
 * step's ledger closed; no account liquidated twice in a step; a chunk that fails on every
 * attempt fails the step. The path moves prices only (a resolved market's price-only views: what
 * a worker can rebuild), a crash deep enough for several hundred liquidations per step and a
 * cascade of rounds.
 */
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { priceRecipe, withPriceMultipliers } from '../src/market/resolved.js';
import { Simulation, type StepReport } from '../src/liquidation/simulate.js';
import { countPlanJobs } from './support/plan-jobs.js';

const market = resolveMarket(defaultMarket());
const strip = (s: StepReport) => ({ ...s, ms: 0, stages: null });
const moves = [
  { BTC: -0.08, ETH: -0.05 },
  { BTC: -0.14, ETH: -0.12 },
  { BTC: -0.2, ETH: -0.1 },
  { BTC: -0.26, ETH: -0.2 },
];

async function run(accounts: unknown[], threads: number, poolPlans: boolean, mechanism: string): Promise<StepReport[]> {
  const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism, threads, poolPlans, insuranceFundUsd: 1e7 });
  const out: StepReport[] = [];
  try {
    for (const [s, m] of moves.entries()) out.push(await sim.step(market.shocked({ priceMove: m }), `s${s}`));
  } finally {
    await sim.close();
  }
  return out;
}

describe('plans of a round on the pool', () => {
  it('a worker rebuilds the market: priceRecipe → withPriceMultipliers gives the same doubles (a vol-shifted view has no recipe)', () => {
    const m = market.shocked({ priceMove: { BTC: -0.6 } }).shocked({ priceMove: { BTC: 0.013, ETH: -0.21 } });
    const r = priceRecipe(m)!;
    // the multipliers compose as the views do: (1 − 0.6)(1 + 0.013) and 1 − 0.21
    expect(r.priceMult.BTC).toBe((1 - 0.6) * (1 + 0.013));
    expect(r.priceMult.ETH).toBe(1 - 0.21);
    const again = withPriceMultipliers(resolveMarket(JSON.parse(JSON.stringify(r.snapshot))), r.priceMult);
    const exp = m.valuationTime + 30 * 86_400_000;
    for (const u of ['BTC', 'ETH']) {
      expect(again.spot(u)).toBe(m.spot(u));
      expect(again.forward(u, exp)).toBe(m.forward(u, exp));
      expect(again.vol(u, exp, m.spot(u) * 0.8)).toBe(m.vol(u, exp, m.spot(u) * 0.8));
    }
    expect(priceRecipe(market.shocked({ volShift: { BTC: 0.05 } }))).toBeNull();
  });

  it('deribit-incremental: the same step reports with 1, 2 and 3 threads as on the main thread; ledger closed, no account twice', async () => {
    const { accounts } = generateBook({ accounts: 1500, seed: 21, market });
    const main = await run(accounts, 2, false, 'deribit-incremental');
    const want = JSON.stringify(main.map(strip));
    let liquidated = 0;
    for (const r of main) {
      liquidated += r.liquidated;
      expect(new Set(r.liquidatedAccounts).size).toBe(r.liquidatedAccounts.length);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-12 * (Math.abs(r.marketPnl) + r.volumeUsd + 1) * 1e3);
    }
    // enough work for several chunks of 64 plans per round, and a cascade
    expect(liquidated).toBeGreaterThan(300);
    expect(Math.max(...main.map((r) => r.rounds))).toBeGreaterThan(1);
    // the shared runs do send chunks to the workers (plan jobs on the book's pool); with 1 thread there is no worker to share with
    for (const threads of [1, 2, 3]) {
      let shared: StepReport[] = [];
      const jobs = await countPlanJobs(async () => void (shared = await run(accounts, threads, true, 'deribit-incremental')));
      expect(JSON.stringify(shared.map(strip)), `${threads} threads`).toBe(want);
      expect(jobs > 0, `${threads} threads: chunks sent to the pool`).toBe(threads > 1);
    }
  }, 240_000);

  it('okx-tiered-adl (funds per product line: the plans carry their fees per position on the wire): the same step reports pooled as on the main thread', async () => {
    const { accounts } = generateBook({ accounts: 800, seed: 23, market });
    const main = await run(accounts, 2, false, 'okx-tiered-adl');
    expect(main.reduce((x, r) => x + r.liquidated, 0)).toBeGreaterThan(100);
    expect(Object.keys(main[0].currencies[0].pools!).length).toBeGreaterThan(2);
    expect(JSON.stringify((await run(accounts, 2, true, 'okx-tiered-adl')).map(strip))).toBe(JSON.stringify(main.map(strip)));
  }, 240_000);

  it('Lyra auction plans stay on the main thread (the security module is read at each plan’s turn): the same reports', async () => {
    const { accounts } = generateBook({ accounts: 400, seed: 22, market });
    const a = await run(accounts, 2, false, 'lyra-mainnet');
    const b = await run(accounts, 2, true, 'lyra-mainnet');
    expect(a.reduce((s, r) => s + r.liquidated, 0)).toBeGreaterThan(0);
    expect(JSON.stringify(b.map(strip))).toBe(JSON.stringify(a.map(strip)));
  }, 120_000);

  it('a plan chunk that fails on every attempt fails the step (OPTMARGIN_WORKER_FAILED), after every chunk on the pool settled', async () => {
    const { accounts } = generateBook({ accounts: 600, seed: 21, market });
    let pending = 0;
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', threads: 2, poolPlans: true, insuranceFundUsd: 1e7 });
    try {
      const failing = async (t: { chunk: number }) => {
        pending++;
        await new Promise((r) => setTimeout(r, 5));
        pending--;
        return { failed: [{ chunk: t.chunk, message: 'injected' }], retried: 2 };
      };
      const jobs = await countPlanJobs(() => expect(sim.step(market.shocked({ priceMove: moves[3] }), 'crash')).rejects.toMatchObject({ code: 'OPTMARGIN_WORKER_FAILED', message: expect.stringMatching(/plan chunk \d+ failed on every attempt: injected/) }), failing);
      expect(jobs).toBeGreaterThan(0);
      expect(pending).toBe(0);
    } finally {
      await sim.close();
    }
  }, 120_000);
});
