/**
 * Liquidation benchmark (issue 12), on the synthetic book (gen-book seed 1, shipped market,
 * deribit-pm), 2 worker threads:
 *  - one account's liquidation plan, per mechanism, on the accounts a 10 % BTC fall makes
 *    liquidatable, against one margin call of the same account (the plan re-margins every step);
 *  - one simulation step of the 100,000-account book (--quick: 10,000) with liquidations: BTC
 *    falls 3 % per step; tick, liquidations, shortfall and impact rounds, against the book
 *    engine's own tick of the same move;
 *  - a 1,000-step path (--quick: 100): a random walk of BTC and ETH (daily σ 3 % and 4 %).
 * Targets (issue 12): step ≤ 100 ms, 1,000 steps ≤ 2 min, one plan ≤ 1 ms.
 */
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { movedMarket } from '../src/market/margin-market.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import { planLiquidation } from '../src/liquidation/plan.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import type { Section } from './lib.js';
import type { SectionContext } from './sections.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function planLines(market: ReturnType<typeof resolveMarket>, accounts: ReturnType<typeof generateBook>['accounts']): string[] {
  const shocked = movedMarket(market, 'BTC', -0.1);
  const eng = new MarginEngine({ market: shocked, model: 'deribit-pm-2024.1' });
  const liq = accounts.filter((a) => {
    const r = eng.margin(a);
    return r.ok && r.equity < r.maintenanceMargin && r.equity > 0;
  }).slice(0, 200);
  const lines = [
    `One account's plan: the ${liq.length} first accounts (of 20,000 generated) that a 10 % BTC fall makes liquidatable but not bankrupt, deribit-pm, warm engine; mean per plan. Baseline: one margin call of the same accounts.`,
    '',
    '| mechanism (strategy) | mean per plan | median steps | margin calls per plan (ratio to one margin call) |',
    '|---|---|---|---|',
  ];
  for (const a of liq) eng.margin(a);
  const t0 = performance.now();
  for (let r = 0; r < 5; r++) for (const a of liq) eng.margin({ ...a, positions: a.positions.slice() });
  const marginMs = (performance.now() - t0) / (5 * liq.length);
  for (const mech of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl', 'lyra-mainnet']) {
    for (const a of liq.slice(0, 20)) planLiquidation(eng, a, { mechanism: mech });
    const steps: number[] = [];
    const p0 = performance.now();
    for (const a of liq) steps.push(planLiquidation(eng, a, { mechanism: mech }).steps.length);
    const ms = (performance.now() - p0) / liq.length;
    lines.push(`| ${mech} | ${ms.toFixed(3)} ms | ${median(steps)} | ${(ms / marginMs).toFixed(0)} × (one margin call ${(marginMs * 1000).toFixed(0)} µs) |`);
  }
  return lines;
}

export async function liquidationSection(ctx: SectionContext): Promise<Section> {
  const market = resolveMarket(defaultMarket());
  const nAcc = ctx.quick ? 10_000 : 100_000;
  const { accounts } = generateBook({ accounts: nAcc, seed: 1, market });
  const lines = planLines(market, accounts.slice(0, 20_000));
  // one step with liquidations, against the book engine's own tick of the same market
  const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', threads: 2, insuranceFundUsd: 1e9 });
  const stepRows: string[] = [];
  const stepMs: number[] = [];
  try {
    for (let s = 1; s <= 4; s++) {
      const r = await sim.step(market.shocked({ priceMove: { BTC: -0.03 * s } }), `BTC −${3 * s} %`);
      stepMs.push(r.ms);
      stepRows.push(`| BTC −${3 * s} % | ${r.ms.toFixed(0)} ms | ${r.stages.tickMs.toFixed(0)} / ${r.stages.liquidateMs.toFixed(0)} / ${r.stages.shortfallMs.toFixed(0)} | ${r.liquidated} | ${r.rounds} |`);
    }
  } finally {
    await sim.close();
  }
  const book = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 2 });
  const tickMs: number[] = [];
  try {
    book.load(accounts);
    await book.recompute();
    for (let s = 1; s <= 4; s++) tickMs.push((await book.tick('BTC', market.shocked({ priceMove: { BTC: -0.03 * s } }))).ms);
  } finally {
    await book.close();
  }
  lines.push(
    '',
    `One simulation step of the ${nAcc.toLocaleString('en-US')}-account book (deribit-pm, deribit-incremental, 2 threads, insurance fund 1e9 USD so that bad debt is covered by the fund): BTC falls 3 % more at each step. Baseline: the book engine's tick of the same move alone (median ${median(tickMs).toFixed(0)} ms).`,
    '',
    '| step | total | tick / liquidate / shortfall (ms) | accounts liquidated | rounds |',
    '|---|---|---|---|---|',
    ...stepRows,
    '',
    `Median step ${median(stepMs).toFixed(0)} ms = ${(median(stepMs) / median(tickMs)).toFixed(1)} × the book tick (target ≤ 100 ms).`,
  );
  // a long path: random walk, the same book
  const nSteps = ctx.quick ? 100 : 1000;
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-300)) * Math.cos(2 * Math.PI * rnd());
  let b = 0;
  let e = 0;
  const steps = [];
  for (let s = 0; s < nSteps; s++) {
    b = (1 + b) * Math.exp(0.03 * gauss()) - 1;
    e = (1 + e) * Math.exp(0.04 * gauss()) - 1;
    b = Math.max(-0.6, Math.min(1.5, b));
    e = Math.max(-0.6, Math.min(1.5, e));
    steps.push({ name: `d${s + 1}`, moves: { BTC: b, ETH: e } });
  }
  const path = shocksPath(market, { steps });
  const sim2 = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', threads: 2, insuranceFundUsd: 1e9 });
  let liquidated = 0;
  const t0 = performance.now();
  try {
    for (const st of path.steps) liquidated += (await sim2.step(st.market, st.label)).liquidated;
  } finally {
    await sim2.close();
  }
  const pathS = (performance.now() - t0) / 1000;
  lines.push(
    '',
    `A ${nSteps.toLocaleString('en-US')}-step path (random walk, daily σ 3 % BTC / 4 % ETH, clamped to −60 %…+150 %), the same book: ${pathS.toFixed(1)} s (${((pathS * 1000) / nSteps).toFixed(0)} ms per step), ${liquidated.toLocaleString('en-US')} account liquidations (target ≤ 2 min for 1,000 steps).`,
  );
  return { title: 'Liquidation (plan, simulation step, long path)', lines };
}
