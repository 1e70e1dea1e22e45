/**
 * Book engine benchmark (issue 5): a synthetic book (gen-book, seed 1) on the shipped market
 * under deribit-pm-2024.1 (the vectorized scenario-grid path) — 100,000 accounts (≈ 2M positions; --quick: 10,000). Measured from resolved
 * inputs (the book loaded once): the full recompute in-process (1 thread) and on a pool of 2
 * worker threads and the scaling between them, throughput, the TS reference path (the margin
 * engine one account at a time) as the baseline, a tick on BTC, a tick of BTC and ETH in one round
 * against two ticks, a trade on one account, and
 * memory (peak rss). Medians and best runs: the machine may be shared.
 */
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine, type BookLoadReport } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import { median, type Section } from './lib.js';
import type { SectionContext } from './sections.js';

const mb = (b: number): string => (b / 2 ** 20).toFixed(0) + ' MB';

export async function bookSection(ctx: SectionContext): Promise<Section> {
  const nAcc = ctx.quick ? 10_000 : 100_000;
  const reps = ctx.quick ? 5 : 15;
  const market = resolveMarket(defaultMarket());
  const { accounts, info } = generateBook({ accounts: nAcc, seed: 1, market });
  const lines: string[] = [];
  let loadMs = 0;
  let work = 0;
  let rep: BookLoadReport | null = null;
  const full: Record<number, { total: number[]; first: number }> = {};
  const tickMs: number[] = [];
  let tickChanged = 0;
  const tickStages: Record<string, number[]> = {};
  const tradeMs: number[] = [];
  const bothMs: number[] = [];
  const pairMs: number[] = [];
  let bothChanged = 0;
  const tickAfterMs: number[] = [];
  let traded = 0;
  for (const threads of [1, 2]) {
    const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads });
    try {
      rep = eng.load(accounts);
      if (threads === 1) loadMs = rep.resolveMs;
      work = eng.work;
      const first = (await eng.recompute()).totalMs; // cold: the CSR copied into WASM memory, JIT, pool start
      const f = { total: [] as number[], first };
      for (let i = 0; i < reps; i++) f.total.push((await eng.recompute()).totalMs);
      full[threads] = f;
      if (threads === 2) {
        // a tick: BTC moves by a small amount each time (marks and smile sticky in moneyness)
        for (let i = 0; i < reps; i++) {
          const u = await eng.tick('BTC', market.shocked({ priceMove: { BTC: 0.001 * (i + 1) } }));
          tickMs.push(u.ms);
          tickChanged = u.indices.length;
          for (const [k, v] of Object.entries({ ...u.stages, ...u.chunks })) (tickStages[k] ??= []).push(v);
        }
        // BTC and ETH both move (a simulation step): one tick of both (one round) against BTC then ETH (two rounds), interleaved
        for (let i = 0; i < reps; i++) {
          const m1 = market.shocked({ priceMove: { BTC: -0.002 * (i + 1), ETH: 0.002 * (i + 1) } });
          const u = await eng.tick(['BTC', 'ETH'], m1);
          bothMs.push(u.ms);
          bothChanged = u.indices.length;
          const m2 = market.shocked({ priceMove: { BTC: 0.002 * (i + 1), ETH: -0.002 * (i + 1) } });
          pairMs.push((await eng.tick('BTC', m2)).ms + (await eng.tick('ETH', m2)).ms);
        }
        const k = accounts.findIndex((a) => a.mode === 'portfolio' && a.positions.length >= 20);
        for (let i = 0; i < reps; i++) tradeMs.push(eng.trade(k, [{ instrument: 'BTC-PERPETUAL', size: 10 * (i + 1) }]).ms);
        // trades on many accounts (their rows appended at the end of
        // the CSR, outside the load's order), then ticks
        for (let j = 0; j < accounts.length && traded < 1000; j += 97) {
          if (accounts[j].positions.length === 0) continue;
          eng.trade(j, [{ instrument: 'BTC-PERPETUAL', size: -10 }]);
          traded++;
        }
        for (let i = 0; i < reps; i++) tickAfterMs.push((await eng.tick('BTC', market.shocked({ priceMove: { BTC: -0.001 * (i + 1) } }))).ms);
      }
    } finally {
      await eng.close();
    }
  }
  // TS reference path: the margin engine, one account at a time, warm (its instrument table filled)
  const ref = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
  const refN = Math.min(accounts.length, ctx.quick ? 10_000 : 20_000);
  for (let k = 0; k < Math.min(2000, refN); k++) ref.margin(accounts[k]);
  const r0 = performance.now();
  for (let k = 0; k < refN; k++) ref.margin(accounts[k]);
  const refMs = ((performance.now() - r0) * accounts.length) / refN;
  const mem = process.memoryUsage();
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const gps = (ms: number) => `${(work / (ms / 1000) / 1e6).toFixed(0)}M`;
  const min = (xs: number[]): number => Math.min(...xs);
  const f1 = full[1];
  const f2 = full[2];
  lines.push(
    `Book: ${nAcc.toLocaleString('en-US')} accounts, ${info.positions.toLocaleString('en-US')} positions (gen-book seed 1, shipped market), model deribit-pm-2024.1 (27 scenarios per underlying): ` +
      `${rep!.gridAccounts.toLocaleString('en-US')} accounts vectorized (${rep!.isolatedAccounts.toLocaleString('en-US')} of them isolated, one sub-account per position), ${rep!.singleAccounts} on the single path; ` +
      `${rep!.rows.toLocaleString('en-US')} rows, ${work.toLocaleString('en-US')} holding×scenario products per recompute (positions plus coin legs of inverse futures and coin collateral). ` +
      `Resolve (validate + CSR + risk arrays of the distinct instruments) once: ${loadMs.toFixed(0)} ms.`,
    '',
    `A full recompute is one round of chunks (each aggregates the rows of an account range in WASM, computes their row IM, then reduces those accounts).`,
    '',
    `| full recompute from resolved inputs (median of ${reps}; best) | total | throughput (holdings × scenarios / s) | first recompute after load |`,
    '|---|---|---|---|',
  );
  for (const th of [1, 2]) {
    const f = full[th];
    lines.push(
      `| ${th === 1 ? '1 thread (in-process WASM)' : '2 worker threads (piscina)'} | ` +
        `${median(f.total).toFixed(1)} ms (best ${min(f.total).toFixed(1)}) | ${gps(median(f.total))} | ${f.first.toFixed(0)} ms |`,
    );
  }
  lines.push(
    `| TS reference path (MarginEngine.margin per account, ${refN === accounts.length ? 'all' : `${refN.toLocaleString('en-US')} accounts, scaled`}) | ${refMs.toFixed(0)} ms | ${gps(refMs)} | |`,
    '',
    `Scaling of the full recompute from 1 to 2 threads: ${(median(f1.total) / median(f2.total)).toFixed(2)}× on medians, ${(min(f1.total) / min(f2.total)).toFixed(2)}× on best runs (target ≥ 1.7×; 1 thread runs in-process without pool overhead). ` +
      `The book engine is ${(refMs / median(f2.total)).toFixed(0)}× the TS reference path on 2 threads (${(refMs / median(f1.total)).toFixed(0)}× on 1).`,
    `Tick (BTC marks move; \`BookEngine.tick\`, 2 threads): one round of chunks on the pool, one per thread — while they start, the main thread reads BTC's instruments' marks; each chunk then resizes the coin legs and futures bases of the BTC rows of its account range and computes the equity of its accounts holding BTC, while the main thread revalues BTC's instruments (risk arrays); then it aggregates those rows (WASM) with their IM and computes the figures of those accounts (${tickChanged.toLocaleString('en-US')} accounts re-margined). ` +
      `Median ${median(tickMs).toFixed(1)} ms, best ${min(tickMs).toFixed(1)} ms (target ≤ 20 ms: ${median(tickMs) <= 20 ? 'met' : 'not met'}); ${(median(tickMs) / median(f2.total)).toFixed(2)}× the full recompute on 2 threads. ` +
      `Median stages, ms: ${Object.entries(tickStages).map(([k, v]) => `${k.replace('Ms', '')} ${median(v).toFixed(1)}`).join(', ')} (market: switch to the new market; select: the accounts holding BTC; pool: the round of chunks; risk: the main thread's read of BTC's instruments' marks and revalue: its revaluation of them, both inside the pool stage; single: single-path accounts; ` +
      `then inside the pool stage, each the mean over the round's chunks (src/runner/book/clock.ts): start: from posting the round to a chunk starting; wait: a chunk waiting for the marks, then for the revaluation; follow: its rows' coin legs and futures bases; equity: its accounts' equity, only their BTC positions re-summed (per-underlying partial sums); aggregate: its rows' P&L (WASM) and IM; figures: its accounts' figures; return: from the last chunk's end to the round's end, receipts checked).`,
    `Tick of BTC and ETH together (\`BookEngine.tick(['BTC', 'ETH'], market)\`, 2 threads: both underlyings' marks, one round of chunks over their rows and the ${bothChanged.toLocaleString('en-US')} accounts depending on either, both revaluations on the main thread meanwhile; what a simulation step moving both calls): ` +
      `median ${median(bothMs).toFixed(1)} ms, best ${min(bothMs).toFixed(1)} ms; the same move as a BTC tick then an ETH tick (two rounds, the same results): median ${median(pairMs).toFixed(1)} ms, best ${min(pairMs).toFixed(1)} ms (${(median(pairMs) / median(bothMs)).toFixed(2)}× the one-round tick; interleaved).`,
    `Trade on one account (≥ 20 positions; its rows re-resolved, appended and aggregated in-process, the account re-reduced — it stays vectorized): median ${median(tradeMs).toFixed(2)} ms.`,
    `Tick after trades on ${traded.toLocaleString('en-US')} accounts (their rows appended at the end of the CSR; each goes to the chunk of its account, the same one round): median ${median(tickAfterMs).toFixed(1)} ms, best ${min(tickAfterMs).toFixed(1)} ms.`,
    `Memory: peak rss ${mb(peakRss)}; after the runs rss ${mb(mem.rss)}, arrayBuffers ${mb(mem.arrayBuffers)}, heapUsed ${mb(mem.heapUsed)} (the generated accounts themselves are most of the heap).`,
  );
  return { title: 'Book engine', lines };
}
