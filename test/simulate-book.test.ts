/**
 * Simulations one after another on one book engine (SimulationOptions.book: the engine's pool and
 * workers reused, the accounts loaded again on the simulation's market): each gives the step
 * reports, account by account after the path and summary before it, of a simulation on a new
 * engine of its own (the independent path) — after a simulation on another market, mechanism and
 * fund has edited that engine's book — on 2 threads; the engine given is the caller's to close;
 * an engine of another model is refused.
 */
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation, type StepReport } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import { BookEngine } from '../src/runner/book/runner.js';

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
});
