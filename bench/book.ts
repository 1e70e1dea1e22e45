/**
 * Book engine benchmark (issue 5): a synthetic book (gen-book, seed 1) on the shipped market
 * under deribit-pm — 100,000 accounts (≈ 2M positions; --quick: 10,000). Measured from resolved
 * inputs (the book loaded once): full recompute in-process (1 thread) and on a pool of 2 worker
 * threads, the TS reference path (the margin engine one account at a time) as the baseline, a
 * tick on BTC, a trade on one account, and memory.
 */
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/margin/engine.js';
import { BookEngine } from '../src/engine/book.js';
import { generateBook } from '../src/engine/gen-book.js';
import type { Section } from './lib.js';
import type { SectionContext } from './sections.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number): string => (b / 2 ** 20).toFixed(0) + ' MB';

export async function bookSection(ctx: SectionContext): Promise<Section> {
  const nAcc = ctx.quick ? 10_000 : 100_000;
  const reps = ctx.quick ? 3 : 7;
  const market = resolveMarket(defaultMarket());
  const { accounts, info } = generateBook({ accounts: nAcc, seed: 1, market });
  const lines: string[] = [];
  const rows: string[] = [];
  let loadMs = 0;
  let work = 0;
  const full: Record<number, { grid: number; single: number; total: number }> = {};
  let tickMs: number[] = [];
  let tickStages = '';
  let tradeMs: number[] = [];
  let singleAccounts = 0;
  for (const threads of [1, 2]) {
    const eng = BookEngine.create({ market, model: 'deribit-pm', threads });
    try {
      const rep = eng.load(accounts);
      if (threads === 1) loadMs = rep.resolveMs;
      work = eng.work;
      singleAccounts = rep.singleAccounts;
      await eng.recompute(); // warm-up (JIT, pool start)
      const g: number[] = [];
      const s: number[] = [];
      const t: number[] = [];
      for (let i = 0; i < reps; i++) {
        const st = await eng.recompute();
        g.push(st.gridMs);
        s.push(st.singleMs);
        t.push(st.totalMs);
      }
      full[threads] = { grid: median(g), single: median(s), total: median(t) };
      if (threads === 2) {
        // a tick: BTC moves by a small amount each time (marks and smile sticky in moneyness)
        tickMs = [];
        let stages = { marketMs: 0, riskMs: 0, aggregateMs: 0, reduceMs: 0, singleMs: 0 };
        for (let i = 0; i < reps; i++) {
          const u = await eng.tick('BTC', market.shocked({ priceMove: { BTC: 0.001 * (i + 1) } }));
          tickMs.push(u.ms);
          stages = u.stages;
        }
        tickStages = Object.entries(stages).map(([k, v]) => `${k.replace('Ms', '')} ${v.toFixed(1)}`).join(', ');
        const k = accounts.findIndex((a) => a.mode === 'portfolio' && a.positions.length >= 20);
        tradeMs = [];
        for (let i = 0; i < reps; i++) tradeMs.push(eng.trade(k, [{ instrument: 'BTC-PERPETUAL', size: 10 * (i + 1) }]).ms);
      }
    } finally {
      await eng.close();
    }
  }
  // TS reference path: the margin engine, one account at a time, warm (its instrument table filled)
  const ref = new MarginEngine({ market, model: 'deribit-pm' });
  const refN = Math.min(accounts.length, ctx.quick ? 10_000 : 20_000);
  for (let k = 0; k < Math.min(2000, refN); k++) ref.margin(accounts[k]);
  const r0 = performance.now();
  for (let k = 0; k < refN; k++) ref.margin(accounts[k]);
  const refMs = ((performance.now() - r0) * accounts.length) / refN;
  const mem = process.memoryUsage();
  const gps = (ms: number) => `${((work / (ms / 1000)) / 1e6).toFixed(0)}M`;
  lines.push(
    `Book: ${nAcc.toLocaleString('en-US')} accounts, ${info.positions.toLocaleString('en-US')} positions (gen-book seed 1, shipped market), model deribit-pm (27 scenarios per underlying); ` +
      `${work.toLocaleString('en-US')} position×scenario products per recompute (positions plus coin legs of inverse futures and coin collateral). ` +
      `Resolve (validate + CSR + risk arrays of ${'the distinct instruments'}) once: ${loadMs.toFixed(0)} ms.`,
    '',
    '| full recompute, from resolved inputs | grid path (portfolio + cross) | throughput (positions × scenarios / s) | single path (isolated accounts via the margin engine) | total |',
    '|---|---|---|---|---|',
  );
  for (const th of [1, 2]) {
    const f = full[th];
    rows.push(`| ${th === 1 ? '1 thread (in-process WASM)' : '2 worker threads (piscina)'} | ${f.grid.toFixed(1)} ms | ${gps(f.grid)} | ${f.single.toFixed(0)} ms (${singleAccounts} accounts) | ${f.total.toFixed(0)} ms |`);
  }
  rows.push(`| TS reference path (MarginEngine.margin per account, ${refN === accounts.length ? 'all' : `${refN} accounts, scaled`}) | | | | ${refMs.toFixed(0)} ms (${(refMs / full[2].total).toFixed(1)}× the book engine) |`);
  lines.push(...rows, '');
  lines.push(
    `Scaling of the grid path from 1 to 2 threads: ${(full[1].grid / full[2].grid).toFixed(2)}× (target ≥ 1.7×; 1 thread runs in-process without pool overhead).`,
    `Tick (BTC marks move; risk arrays of BTC only, its rows re-aggregated, its holders re-margined), 2 threads: median ${median(tickMs).toFixed(1)} ms (last: ${tickStages}).`,
    `Trade on one account (${'≥ 20 positions'}), re-margined: median ${median(tradeMs).toFixed(2)} ms.`,
    `Memory after the runs: rss ${mb(mem.rss)}, arrayBuffers ${mb(mem.arrayBuffers)}, heapUsed ${mb(mem.heapUsed)}.`,
  );
  return { title: 'Book engine', lines };
}
