// Auto-deleveraging in the cascade simulator, end to end: with an empty insurance fund, a bankrupt
// account's deficit is covered by the fees the fund took and then by ADL. The test checks the
// shortfall identity on the step report and, on the book itself, what ADL did to the accounts it hit:
// each one's positions on one underlying (the bankrupt plan's) are cut by one common factor, and its
// positions on every other underlying are left as they were. The underlying of a position is read
// here from its Deribit name by hand (the part before the first '-' or '_'), not by the engine.
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
const underlyingByHand = (name: string): string => name.split(/[-_]/)[0];

/** The book's accounts (the simulator keeps its book private: read through it, as the test of a white box). */
function accountsOf(sim: Simulation, n: number): AccountInput[] {
  const book = (sim as unknown as { book: { account(k: number): AccountInput } }).book;
  return Array.from({ length: n }, (_, k) => book.account(k));
}

/** How ADL changed account a into b: the one underlying it cut and the factor, or null when the positions are equal.
 *  Positions keep their order (a position cut to zero is dropped; an account may hold one instrument twice). */
function adlCut(a: AccountInput, b: AccountInput): { underlying: string; keep: number } | null {
  let cut: { underlying: string; keep: number } | null = null;
  let j = 0;
  for (const p of a.positions) {
    const size = b.positions[j]?.instrument === p.instrument ? b.positions[j++].size : 0;
    if (size === p.size) continue;
    const keep = size / p.size;
    expect(keep).toBeGreaterThanOrEqual(0);
    expect(keep).toBeLessThan(1);
    cut ??= { underlying: underlyingByHand(p.instrument), keep };
    expect(underlyingByHand(p.instrument)).toBe(cut.underlying);
    if (keep > 0 && cut.keep > 0) expect(Math.abs(keep - cut.keep)).toBeLessThan(1e-12);
  }
  expect(j).toBe(b.positions.length);
  return cut;
}

describe('cascade simulator: auto-deleveraging', () => {
  it('okx-tiered-adl with no fund: bad debt = fund cover + socialised + ADL + unrecovered; ADL cuts one underlying of each account it hits by one factor', async () => {
    // The generated accounts each hold one underlying. Account 158 (BTC options spreads) is the crash's top ADL
    // candidate on this seed; it gets a small ETH perpetual too, which ADL on BTC must leave as it was.
    const accounts = generateBook({ accounts: 400, seed: 7, market }).accounts as AccountInput[];
    const mixed = 158;
    accounts[mixed] = { ...accounts[mixed], positions: [...accounts[mixed].positions, { instrument: 'ETH-PERPETUAL', size: 1000 }] };
    const hits = new Set<string>();
    const path = shocksPath(market, { steps: [{ moves: { BTC: -0.15, ETH: -0.1 } }, { moves: { BTC: 0.1, ETH: -0.2 } }] });
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'okx-tiered-adl', threads: 1, insuranceFundUsd: 0 });
    let adl = 0;
    try {
      for (const st of path.steps) {
        const before = accountsOf(sim, accounts.length);
        const r = await sim.step(st.market, st.label);
        expect(Math.abs(r.badDebt - (r.insuranceCovered + r.socialised + r.adlCharged + r.unrecovered))).toBeLessThan(1e-6 * (1 + r.badDebt));
        expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-3);
        const liquidated = new Set(r.liquidatedAccounts);
        const after = accountsOf(sim, accounts.length);
        let cut = 0;
        for (let k = 0; k < accounts.length; k++) {
          const c = liquidated.has(k) ? null : adlCut(before[k], after[k]);
          if (c) (cut++, hits.add(`${k}:${c.underlying}`));
        }
        // adlPositions counts fills: one account can fill the deficits of several bankrupt accounts
        expect(cut > 0).toBe(r.adlPositions > 0);
        expect(cut).toBeLessThanOrEqual(r.adlPositions);
        adl += r.adlPositions;
      }
    } finally {
      await sim.close();
    }
    expect(adl).toBeGreaterThan(0);
    expect(hits).toContain(`${mixed}:BTC`);
  }, 120_000);
});
