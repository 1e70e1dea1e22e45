// Auto-deleveraging in the cascade simulator, end to end: with an empty insurance fund, a bankrupt
// account's deficit is covered by the fees the fund took and then by ADL. The tests check the
// shortfall identity on the step report and, on the book itself, what ADL did to the accounts it hit:
// ADL is by position (the venues' rule): it cuts a counterparty's positions in one instrument that a
// bankrupt plan closed, held on the other side, all by one factor, and leaves its other positions as
// they were. What the bankrupt plans closed is read here from the liquidated accounts before and
// after the step (net size per instrument), not from the engine.
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());

/** The book's accounts (the simulator keeps its book private: read through it, as the test of a white box). */
function accountsOf(sim: Simulation, n: number): AccountInput[] {
  const book = (sim as unknown as { book: { account(k: number): AccountInput } }).book;
  return Array.from({ length: n }, (_, k) => book.account(k));
}

/** Net size per instrument. */
function nets(a: AccountInput): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of a.positions) m.set(p.instrument, (m.get(p.instrument) ?? 0) + p.size);
  return m;
}

/** How ADL changed account a into b: per instrument it cut, the factor (every position of it cut by the same one; a position cut to zero is dropped). */
function adlCuts(a: AccountInput, b: AccountInput): Map<string, number> {
  const cuts = new Map<string, number>();
  let j = 0;
  for (const p of a.positions) {
    const size = b.positions[j]?.instrument === p.instrument ? b.positions[j++].size : 0;
    if (size === p.size) continue;
    const keep = size / p.size;
    expect(keep).toBeGreaterThanOrEqual(0);
    expect(keep).toBeLessThan(1);
    const seen = cuts.get(p.instrument);
    if (seen === undefined) cuts.set(p.instrument, keep);
    else if (keep > 0 && seen > 0) expect(Math.abs(keep - seen)).toBeLessThan(1e-12);
  }
  expect(j).toBe(b.positions.length);
  return cuts;
}

describe('cascade simulator: auto-deleveraging', () => {
  it('okx-tiered-adl with no fund: bad debt = fund cover + socialised + ADL + unrecovered; ADL cuts only instruments a bankrupt plan closed, on the other side', async () => {
    // Account 373 (short BTC-PERPETUAL and BTC-30OCT26) is one of the crash's ADL counterparties on this seed (bankrupt
    // accounts are long BTC-PERPETUAL); it gets a long ETH perpetual too, on the bankrupt longs' side: ADL leaves it alone.
    const accounts = generateBook({ accounts: 400, seed: 7, market }).accounts as AccountInput[];
    const mixed = 373;
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
        const after = accountsOf(sim, accounts.length);
        // the sides the liquidated accounts' plans closed, per instrument (+1: a long closed)
        const closed = new Map<string, Set<number>>();
        for (const k of r.liquidatedAccounts) {
          const now = nets(after[k]);
          for (const [ins, q0] of nets(before[k])) {
            const q = q0 - (now.get(ins) ?? 0);
            if (q !== 0 && Math.sign(q) === Math.sign(q0)) closed.set(ins, (closed.get(ins) ?? new Set()).add(Math.sign(q0)));
          }
        }
        const liquidated = new Set(r.liquidatedAccounts);
        let cut = 0;
        for (let k = 0; k < accounts.length; k++) {
          if (liquidated.has(k)) continue;
          const cuts = adlCuts(before[k], after[k]);
          if (cuts.size > 0) cut++;
          for (const ins of cuts.keys()) {
            hits.add(`${k}:${ins}`);
            // a counterparty: it held the instrument on the other side of a closed leg
            expect(closed.get(ins)?.has(-Math.sign(nets(before[k]).get(ins)!))).toBe(true);
          }
        }
        // adlPositions counts fills: one account can fill the legs of several bankrupt accounts
        expect(cut > 0).toBe(r.adlPositions > 0);
        expect(cut).toBeLessThanOrEqual(r.adlPositions);
        adl += r.adlPositions;
      }
    } finally {
      await sim.close();
    }
    expect(adl).toBeGreaterThan(0);
    expect(hits).toContain(`${mixed}:BTC-PERPETUAL`);
    expect(hits).not.toContain(`${mixed}:ETH-PERPETUAL`);
  }, 120_000);

  it("ADL deleverages the bankrupt position's counterparties only: holdings of its instrument on the other side", async () => {
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
      // the bankrupt's own waterfall: its fees' cover, one ADL fill of 1/10 of what is left, the rest unrecovered
      expect(r.bankruptAccounts.map((b) => b.id)).toEqual(['bust']);
      const own = r.bankruptAccounts[0];
      expect(own.adlPositions).toBe(1);
      expect(own.adlCharged).toBeCloseTo(left * Math.min(1, (1 * r.spot.BTC) / r.volumeUsd), 6);
      expect(own.unrecovered).toBeCloseTo(left - own.adlCharged, 6);
      expect(sim.account(1).positions).toEqual([]);
      expect(sim.account(2).positions).toEqual(accounts[2].positions);
      expect(Math.abs(r.badDebt - (r.insuranceCovered + r.socialised + r.adlCharged + r.unrecovered))).toBeLessThan(1e-6 * r.badDebt);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
    } finally {
      await sim.close();
    }
  });

  it('ADL is by position: the leg is matched in its own instrument, ranked on the position\'s PnL% and its account\'s leverage', async () => {
    // by hand, BTC and ETH −20 %: a 1 BTC linear long with 10 % margin goes bankrupt (equity 0.1 S − 0.2 S < 0) and its plan
    // closes 1 BTC of BTC_USDC-PERPETUAL. Counterparties, short that instrument: A (1 BTC entered at S, 100 000 USDC) and
    // C (1 BTC entered at 1.1 S, 100 000 USDC, and a long ETH perpetual of 1.5 S entered at E, which loses 0.3 S: C's
    // account equity falls over the step while its BTC short gains). B is short BTC-PERPETUAL (inverse, 1 BTC of face):
    // the same underlying, another instrument — not a counterparty. OKX ranks a position by PnL% × notional / equity:
    // A: (S − F)/S × F/(100 000 + (S − F)); C: (1.1 S − F)/(1.1 S) × F/(100 000 + (1.1 S − F) − 0.3 S), F ≈ 0.8 S: C's
    // PnL% is the higher (0.27 against 0.2) and its equity the lower (≈ 100 000 against ≈ 112 800), so C is deleveraged
    // first and its 1 BTC takes the whole 1 BTC leg: charge = what the fund left (its notional / the leg's = 1), its ETH
    // position left as it was, A and B untouched. Before ADL was by position, C was no candidate (its account's P&L over
    // the step is negative) and B was one.
    const S = market.spot('BTC');
    const E = market.spot('ETH');
    const eth = Math.round((1.5 * S) / E);
    const accounts: AccountInput[] = [
      { id: 'bust', mode: 'cross', collateral: { USDC: Math.round(0.1 * S) }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: S }] },
      { id: 'A', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: S }] },
      { id: 'B', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -Math.round(S / 10) * 10, entryPrice: S }] },
      {
        id: 'C',
        mode: 'cross',
        collateral: { USDC: 100_000 },
        positions: [
          { instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: 1.1 * S },
          { instrument: 'ETH_USDC-PERPETUAL', size: eth, entryPrice: E },
        ],
      },
    ];
    const path = shocksPath(market, { steps: [{ moves: { BTC: -0.2, ETH: -0.2 } }] });
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'okx-tiered-adl', threads: 1, insuranceFundUsd: 0, impactTolerance: 1 });
    try {
      const r = await sim.step(path.steps[0].market, path.steps[0].label);
      expect(r.liquidatedAccounts).toEqual([0]);
      expect(r.volumeUsd).toBeCloseTo(r.spot.BTC, 6);
      const left = r.badDebt - r.insuranceCovered;
      expect(left).toBeGreaterThan(0);
      expect(r.adlPositions).toBe(1);
      expect(r.adlCharged).toBeCloseTo(left, 6);
      expect(r.unrecovered).toBeCloseTo(0, 6);
      expect(sim.account(3).positions).toEqual([accounts[3].positions[1]]);
      expect(sim.account(1).positions).toEqual(accounts[1].positions);
      expect(sim.account(2).positions).toEqual(accounts[2].positions);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
    } finally {
      await sim.close();
    }
  });

  const isolatedCases = ['okx-tiered-adl', 'binance-adl'].flatMap((mechanism) => ['deribit-pm-2024.1', 'deribit-standard-2024.1'].map((model) => ({ mechanism, model })));
  for (const { mechanism, model } of isolatedCases) {
    it(`${mechanism}, ${model}: an isolated position is ranked on its own sub-account, not on its account's balances`, async () => {
      // by hand, BTC −20 % (F ≈ 0.8 S): the bankrupt 1 BTC linear long's plan closes a 1 BTC leg of BTC_USDC-PERPETUAL.
      // Counterparties, both short 1 BTC of it entered at S (PnL% 0.2 each, the same MM): A, cross, 100 000 USDC; I,
      // isolated, the short on its own 0.15 S USDC and 1 000 000 USDC at the account's level. On its own sub-account
      // I's short has equity 0.15 S + 0.2 S = 0.35 S: OKX 0.2 × 0.8 S / 0.35 S ≈ 0.46 against A's 0.2 × 0.8 S /
      // (100 000 + 0.2 S) (≈ 0.12 at S ≈ 90 000); Binance max(0, 0.2 S) / (0.15 S) × MM / (0.35 S) against
      // 0.2 S / 100 000 × MM / (100 000 + 0.2 S). Both rank I first, and its 1 BTC takes the whole leg: the position and
      // its own collateral leave (their value, less the ADL charge, credited to the account's USDC), A is untouched.
      // On the account's figures (equity ≈ 1 000 000 + 0.35 S) I would rank far below A, and A would be deleveraged.
      const S = market.spot('BTC');
      const accounts: AccountInput[] = [
        { id: 'bust', mode: 'cross', collateral: { USDC: Math.round(0.1 * S) }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: S }] },
        { id: 'A', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: S }] },
        {
          id: 'I',
          mode: 'isolated',
          collateral: { USDC: 1_000_000 },
          positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: S, collateral: { USDC: Math.round(0.15 * S) } }],
        },
      ];
      const path = shocksPath(market, { steps: [{ moves: { BTC: -0.2 } }] });
      const sim = await Simulation.create({ accounts, market, model, mechanism, threads: 1, insuranceFundUsd: 0, impactTolerance: 1 });
      try {
        const eq0 = [1, 2].map((k) => sim.account(k));
        const r = await sim.step(path.steps[0].market, path.steps[0].label);
        expect(r.liquidatedAccounts).toEqual([0]);
        expect(r.adlPositions).toBe(1);
        expect(r.adlCharged).toBeCloseTo(r.badDebt - r.insuranceCovered, 6);
        expect(r.unrecovered).toBeCloseTo(0, 6);
        expect(sim.account(1)).toEqual(eq0[0]);
        expect(sim.account(2).positions).toEqual([]);
        expect(sim.account(2).collateral.USDC).toBeGreaterThan(1_000_000);
        expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
      } finally {
        await sim.close();
      }
    });
  }

  it('a bankrupt account with nothing to close (a coin debt, no position) under ADL: no leg, its deficit unrecovered, nobody deleveraged', async () => {
    // by hand: 1 000 USDC held, 1 BTC owed, no position: equity 1 000 − S' after BTC falls 10 % (S' = the step's index),
    // so bad debt S' − 1 000. No plan closes anything, the fund took no fee: ADL has no leg to match, and the short, which
    // gains, is left alone. Until session 22 the desk looked for counterparties on the plan's main underlying, '', and the
    // step failed with OPTMARGIN_MISSING_MARKET_DATA (market has no underlying "").
    const accounts: AccountInput[] = [
      { id: 'debt', mode: 'cross', collateral: { USDC: 1000, BTC: -1 }, positions: [] },
      { id: 'short', mode: 'cross', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1, entryPrice: market.spot('BTC') }] },
    ];
    const path = shocksPath(market, { steps: [{ moves: { BTC: -0.1 } }] });
    const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'okx-tiered-adl', threads: 1, insuranceFundUsd: 0, impactTolerance: 1 });
    try {
      const r = await sim.step(path.steps[0].market, path.steps[0].label);
      expect(r.liquidated).toBe(0);
      expect(r.badDebt).toBeCloseTo(r.spot.BTC - 1000, 6);
      expect(r.insuranceCovered).toBe(0);
      expect(r.adlPositions).toBe(0);
      expect(r.unrecovered).toBeCloseTo(r.spot.BTC - 1000, 6);
      expect(sim.account(1)).toEqual(accounts[1]);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
    } finally {
      await sim.close();
    }
  });
});
