/**
 * The resident sharded book over NATS (src/cluster/resident-*.ts) against one local BookEngine:
 * the latency of a tick as a backend sees it — `ResidentBook.tick` (publish on the feed, every
 * member re-margins the buckets it holds, reports back, events numbered) against
 * `BookEngine.tick` in process on the same book, market sequence and 2 threads. Runs on the
 * cluster section's broker and 2 workers (`optmargin worker --threads 1`), same 2 cores.
 */
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import type { MarginMarket } from '../src/market/margin-market.js';
import { BookMarket } from '../src/runner/book/health.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { ResidentBook } from '../src/cluster/resident-book.js';
import { median } from './lib.js';


export async function residentRows(url: string, accounts: number, ticks: number): Promise<string[]> {
  const snapshot = defaultMarket();
  const base = resolveMarket(snapshot);
  const book = generateBook({ accounts, seed: 3, market: base }).accounts;
  const model = 'deribit-pm-2024.1';
  const local = BookEngine.create({ market: base, model, threads: 2 });
  const resident = await ResidentBook.open({ url, timeoutS: 120, deadAfterMs: 10_000 });
  try {
    const t0 = performance.now();
    const loaded = await resident.load({ market: snapshot, model, accounts: book, minMembers: 2 });
    const loadMs = performance.now() - t0;
    local.load(book);
    await local.recompute();
    const market = new BookMarket(base, () => local.marketHash);
    let current: MarginMarket = base;
    const tl: number[] = [];
    const tr: number[] = [];
    let events = 0;
    for (let i = 0; i < ticks; i++) {
      const body = { underlying: i % 2 ? 'ETH' : 'BTC', priceMove: ((i % 5) - 2) * 0.01 };
      const a = performance.now();
      current = market.apply(body);
      await local.tick(body.underlying, current);
      tl.push(performance.now() - a);
      const b = performance.now();
      events += (await resident.tick(body)).events.length;
      tr.push(performance.now() - b);
    }
    const same = JSON.stringify(await resident.results()) === JSON.stringify(local.results());
    const l = median(tl);
    const r = median(tr);
    return [
      `Resident book: ${accounts.toLocaleString('en-US')} accounts (gen-book seed 3, ${model}) loaded into ${loaded.buckets} buckets on ${loaded.members.length} workers in ${(loadMs / 1000).toFixed(2)} s (bucket snapshots through the broker + each worker's load and margin). ` +
        `${ticks} ticks alternating BTC and ETH, median latency as the caller sees it: local \`BookEngine.tick\` (2 threads, in process) ${l.toFixed(1)} ms; \`ResidentBook.tick\` through NATS (feed → 2 workers × 1 thread, each ticking one BookEngine over its buckets → reports → ${events} events numbered) ${r.toFixed(1)} ms, ${(r / l).toFixed(2)}× (no target set). ` +
        `Every account's result equal to the local engine's after the ticks: ${same ? 'yes' : 'NO'}.`,
    ];
  } finally {
    await resident.close();
    await local.close();
  }
}
