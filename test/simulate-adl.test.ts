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
    // The generated accounts each hold one underlying. Account 66 (short BTC linear perpetuals) is one of the crash's ADL
    // counterparties on this seed (the bankrupt accounts are long BTC); it gets a small ETH perpetual too, which ADL on BTC
    // must leave as it was.
    const accounts = generateBook({ accounts: 400, seed: 7, market }).accounts as AccountInput[];
    const mixed = 66;
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

  it("ADL deleverages the bankrupt position's counterparties only: accounts net on the other side of its underlying", async () => {
    // by hand: a 10 BTC long (10 % margin) goes bankrupt on a 20 % fall; a 1 BTC short gains; an account long 0.5 BTC and
    // 50 ETH gains on ETH's 30 % rise. The short is the long's counterparty; the other account, long BTC too, is not
    // (before session 21 any winner holding the underlying was ranked, on either side). Fund empty: its fees cover part of
    // the deficit, ADL the rest: the short takes min(1 BTC, what is left) of the 10 BTC closed at the bankruptcy price,
    // bearing the deficit pro rata: charge = left × (1 × S) / (10 × S) (OKX's ranking orders fills; one candidate fills here).
    const S = market.spot('BTC');
    const E = market.spot('ETH');
    const accounts: AccountInput[] = [
      { id: 'bust', mode: 'cross', collateral: { USDC: Math.round(S) }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 10, entryPrice: S }] },
      { id: 'short', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: S }] },
      { id: 'long-eth', mode: 'cross', collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.5, entryPrice: S }, { instrument: 'ETH_USDC-PERPETUAL', size: 50, entryPrice: E }] },
    ];
    const path = shocksPath(market, { steps: [{ moves: { BTC: -0.2, ETH: 0.3 } }] });
    // impactTolerance 1: no re-tick within the step (the ADL reads the path's index)
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'okx-tiered-adl', threads: 1, insuranceFundUsd: 0, impactTolerance: 1 });
    try {
      const r = await sim.step(path.steps[0].market, path.steps[0].label);
      expect(r.liquidatedAccounts).toEqual([0]);
      expect(r.adlPositions).toBe(1);
      const left = r.badDebt - r.insuranceCovered;
      expect(left).toBeGreaterThan(0);
      expect(r.adlCharged).toBeCloseTo(left * Math.min(1, (1 * r.spot.BTC) / r.volumeUsd), 6);
      expect(r.volumeUsd).toBeCloseTo(10 * r.spot.BTC, 6);
      expect(sim.account(1).positions).toEqual([]);
      expect(sim.account(2).positions).toEqual(accounts[2].positions);
      expect(Math.abs(r.badDebt - (r.insuranceCovered + r.socialised + r.adlCharged + r.unrecovered))).toBeLessThan(1e-6 * r.badDebt);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
    } finally {
      await sim.close();
    }
  });
});
