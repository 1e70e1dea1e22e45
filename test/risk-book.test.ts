/**
 * The book VaR path (WASM tail kernel, sharded) against the one-account TS path (aggregateInto +
 * full sort): bit-identical tails for both WASM builds and any thread count.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { InstrumentTable } from '../src/instruments/table.js';
import { defaultMarket } from '../src/market/snapshot.js';
import { resolveMarket } from '../src/market/resolved.js';
import { TailRunner, figuresFromTails, mergeTails, nettedBook, riskCsr, tailLength } from '../src/risk/book-var.js';
import { scenarioBlock } from '../src/risk/scenario-set.js';
import { loadHistory } from '../src/risk/history.js';
import { expectedShortfall, valueAtRisk } from '../src/measures/quantiles.js';
import { monteCarloScenarios } from '../src/risk/monte-carlo.js';
import { accountPnl, resolveHoldings, riskAccount } from '../src/scenarios/holdings.js';
import { revalueInstruments } from '../src/risk/revalue.js';
import { simdSupported } from '../src/wasm/module.js';

const worker = new URL('../dist/src/runner/book/worker.js', import.meta.url).pathname;

function history() {
  let a = 70000, b = 2500, s = 11;
  const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647) - 0.5;
  const r1 = ['date,close'], r2 = ['date,close'];
  for (let i = 0; i < 300; i++) {
    const d = new Date(Date.UTC(2024, 0, 1) + i * 86400000).toISOString().slice(0, 10);
    const z = rnd();
    a *= Math.exp(0.1 * z);
    b *= Math.exp(0.08 * z + 0.06 * rnd());
    r1.push(`${d},${a}`);
    r2.push(`${d},${b}`);
  }
  return loadHistory([{ file: 'BTC.csv', text: r1.join('\n') }, { file: 'ETH.csv', text: r2.join('\n') }]);
}

describe('book VaR: WASM tails vs the TS path' + (existsSync(worker) ? '' : ' [SKIPPED: dist/src/runner/book/worker.js not built]'), () => {
  const market = resolveMarket(defaultMarket());
  const { accounts } = generateBook({ accounts: 400, seed: 3, market });
  const h = history();
  const set = monteCarloScenarios(h, { asOfIndex: 299, scenarios: 1003, seed: 9, distribution: 'student-t' });
  const table = new InstrumentTable(market);
  const accts = accounts.map((a) => riskAccount(a));
  const csr = riskCsr(table, accts);
  const sv = revalueInstruments(table, set);
  const alpha = 0.99;
  const m = tailLength(set.n, alpha);
  const ref = accts.map((a) => accountPnl(resolveHoldings(table, a), sv));

  it.skipIf(!existsSync(worker))('tails are bit-identical for 1 and 2 threads and both builds, and give the TS figures', async () => {
    const variants = simdSupported() ? [true, false] : [false];
    let first: Float64Array | null = null;
    for (const simd of variants) {
      for (const threads of [1, 2]) {
        const run = new TailRunner(threads, simd);
        try {
          const t = await run.tails(csr, sv.values, set.n, m, threads * 7);
          if (!first) first = Float64Array.from(t.val);
          else expect(Buffer.compare(Buffer.from(t.val.buffer), Buffer.from(first.buffer))).toBe(0);
          const f = figuresFromTails(t, accts.length, set.n, alpha, 'linear');
          for (let a = 0; a < accts.length; a++) {
            const sorted = Float64Array.from(ref[a]).sort();
            for (let j = 0; j < m; j++) expect(t.val[a * m + j]).toBe(sorted[j]);
            expect(ref[a][t.idx[a * m]]).toBe(t.val[a * m]);
            expect(f.var[a]).toBe(valueAtRisk(ref[a], alpha, 'linear'));
            expect(f.es[a]).toBe(expectedShortfall(ref[a], alpha));
          }
        } finally {
          await run.close();
        }
      }
    }
  }, 60_000);

  it.skipIf(!existsSync(worker))('the book netted by instrument has the P&L vector of the sum of the accounts', async () => {
    const book = new Float64Array(set.n);
    for (const x of ref) for (let s = 0; s < set.n; s++) book[s] += x[s];
    const sorted = Float64Array.from(book).sort();
    const net = nettedBook(csr);
    expect(net.accStart[1]).toBeLessThanOrEqual(table.count);
    const run = new TailRunner(1);
    try {
      const t = await run.tails(net, sv.values, set.n, m, 1);
      const scale = Math.max(...sorted.map(Math.abs));
      for (let j = 0; j < m; j++) expect(Math.abs(t.val[j] - sorted[j]) / scale).toBeLessThan(1e-12);
    } finally {
      await run.close();
    }
  });

  it.skipIf(!existsSync(worker))('a set split into scenario blocks: each block revalued on its own, tails merged = the sorted P&L of the whole set', async () => {
    const run = new TailRunner(1);
    try {
      const parts: Float64Array[] = [];
      for (const [from, to] of [[0, 400], [400, 401 + 300], [701, 1003]]) {
        const own = new InstrumentTable(market);
        const blockCsr = riskCsr(own, accts);
        const b = revalueInstruments(own, scenarioBlock(set, from, to));
        parts.push(Float64Array.from((await run.tails(blockCsr, b.values, to - from, m)).val));
      }
      const merged = mergeTails(parts, accts.length, m);
      for (let a = 0; a < accts.length; a++) {
        const sorted = Float64Array.from(ref[a]).sort();
        for (let j = 0; j < m; j++) expect(merged.val[a * m + j]).toBe(sorted[j]);
      }
    } finally {
      await run.close();
    }
  });
});
