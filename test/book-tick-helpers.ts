/** What the book tick tests share: their own RNG, which accounts a move touches (from the inputs), a fresh full recompute. */
import { BookEngine } from '../src/runner/book/runner.js';
import type { AccountInput } from '../src/measures/types.js';
import type { MarginMarket } from '../src/market/margin-market.js';

/** A small deterministic RNG (mulberry32) for the tests' own draws. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether an account's figures depend on underlying u: a position on it, or collateral in its coin (account or position level). */
export function dependsOn(a: AccountInput, u: string): boolean {
  return a.positions.some((p) => p.instrument.startsWith(`${u}-`) || p.instrument.startsWith(`${u}_`) || (p.collateral?.[u] ?? 0) !== 0) || (a.collateral[u] ?? 0) !== 0;
}

/** Results (JSON) of a fresh in-process engine that loads `accounts` on `market` and recomputes every account. */
export async function freshResults(accounts: AccountInput[], market: MarginMarket, model: string): Promise<string> {
  const f = BookEngine.create({ market, model, threads: 1, chunkPositions: 1024 });
  try {
    f.load(accounts);
    await f.recompute();
    return JSON.stringify(f.results());
  } finally {
    await f.close();
  }
}
