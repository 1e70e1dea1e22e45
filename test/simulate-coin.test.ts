/**
 * The cascade simulator on a book of segregated Deribit PME sub-accounts (deribit-pm): figures in
 * each account's coin (BTC, ETH) or USDC, one ledger and one insurance fund per currency
 * (src/liquidation/ledger.ts). Figures checked by hand on inverse perpetuals, which a plan closes
 * whole when the account cannot be restored:
 *   a long of S USD (contract size 1 USD) entered at e, mark F, liquidated at P = 0.95 F
 *   (fixed-price-5pct: 5 % discount, fee 1 % of notional) realises S (1/e − 1/P) BTC and pays
 *   0.01 S / F BTC of fee; the liquidator gains S (1/P − 1/F) BTC (mark value − price paid).
 */
import { describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { Simulation } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
const F = market.perpetual('BTC');
const SPOT = market.spot('BTC');

const book = (sim: Simulation): { account: (k: number) => AccountInput } => (sim as unknown as { book: { account: (k: number) => AccountInput } }).book;

describe('deribit-pm (coin) books: the ledger per currency', () => {
  const long: AccountInput = { id: 'long', mode: 'cross', collateral: { BTC: 0.02 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10_000, entryPrice: 1.1 * F }] };
  const eth: AccountInput = { id: 'eth', mode: 'cross', collateral: { ETH: 10 }, positions: [{ instrument: 'ETH-PERPETUAL', size: 1000 }] };
  const usdc: AccountInput = { id: 'usdc', mode: 'cross', collateral: { USDC: 10_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -0.1, entryPrice: F }] };

  it('a bankrupt BTC account: closed whole, its deficit covered by the BTC fund; the ETH and USDC funds untouched', async () => {
    const sim = await Simulation.create({ accounts: [long, eth, usdc], market, model: 'deribit-pm', mechanism: 'fixed-price-5pct', insuranceFundUsd: 100_000 });
    try {
      expect(Object.keys(sim.funds)).toEqual(['BTC', 'ETH', 'USDC']);
      expect(sim.funds.BTC.balance).toBeCloseTo(100_000 / SPOT, 12);
      expect(sim.funds.ETH.balance).toBeCloseTo(100_000 / market.spot('ETH'), 12);
      const r = await sim.step(market, 'no move');
      expect(r.liquidatedAccounts).toEqual([0]);
      const S = 10_000;
      const P = 0.95 * F;
      const equity0 = 0.02 + S * (1 / (1.1 * F) - 1 / F); // 0.005781 BTC
      const fee = (0.01 * S) / F; // 0.001564 BTC
      const after = 0.02 + S * (1 / (1.1 * F) - 1 / P) - fee; // −0.004015 BTC: bankrupt
      expect(after).toBeCloseTo(-0.004015, 6);
      const btc = r.currencies.find((c) => c.currency === 'BTC')!;
      expect(book(sim).account(0).positions).toEqual([]);
      expect(book(sim).account(0).collateral.BTC).toBeCloseTo(0, 12); // the fund paid the deficit
      expect(btc.fees).toBeCloseTo(fee, 12);
      expect(btc.liquidatorGain).toBeCloseTo(S * (1 / P - 1 / F), 12);
      expect(btc.badDebt).toBeCloseTo(-after, 12);
      // the account's own bad debt, in BTC and at the index
      expect(r.bankruptAccounts).toHaveLength(1);
      expect(r.bankruptAccounts[0]).toMatchObject({ account: 0, id: 'long', currency: 'BTC' });
      expect(r.bankruptAccounts[0].badDebt).toBeCloseTo(-after, 12);
      expect(r.bankruptAccounts[0].badDebtUsd).toBeCloseTo(-after * SPOT, 6);
      expect(btc.insuranceCovered).toBeCloseTo(-after, 12);
      expect(btc.insuranceFund).toBeCloseTo(100_000 / SPOT + fee + after, 12);
      expect(btc.ledger.accounts).toBeCloseTo(-equity0, 12);
      expect(Math.abs(btc.ledger.residual)).toBeLessThan(1e-15);
      for (const c of r.currencies.filter((x) => x.currency !== 'BTC')) {
        expect([c.fees, c.badDebt, c.ledger.insuranceFund, c.ledger.accounts]).toEqual([0, 0, 0, 0]);
      }
      // the step's USD figures: BTC amounts at the index
      expect(r.badDebt).toBeCloseTo(-after * SPOT, 6);
      expect(r.fees).toBeCloseTo(fee * SPOT, 6);
    } finally {
      await sim.close();
    }
  });

  it('socialised loss within the currency: a BTC deficit beyond the BTC fund (the plan\'s fee) is charged to the BTC winner, never to the USDC one', async () => {
    // a short of 20,000 USD entered at F wins S_B (1/F' − 1/F) BTC when BTC falls 10 %
    const short: AccountInput = { id: 'short', mode: 'cross', collateral: { BTC: 0.5 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -20_000, entryPrice: F }] };
    const sim = await Simulation.create({ accounts: [long, short, usdc], market, model: 'deribit-pm', mechanism: 'fixed-price-5pct', insuranceFundUsd: 0 });
    try {
      const moved = market.shocked({ priceMove: { BTC: -0.1 } });
      const F1 = moved.perpetual('BTC');
      const r = await sim.step(moved, 'BTC −10 %');
      expect(r.liquidatedAccounts).toEqual([0]);
      const fee = (0.01 * 10_000) / F1; // 0.001738 BTC: the fund's whole balance (it started at 0)
      const deficit = -(0.02 + 10_000 * (1 / (1.1 * F) - 1 / (0.95 * F1)) - fee); // 0.022483 BTC
      expect(deficit).toBeCloseTo(0.0225, 3);
      const win = 20_000 * (1 / F1 - 1 / F); // 0.034758 BTC > what is left of the deficit: charged whole
      const btc = r.currencies.find((c) => c.currency === 'BTC')!;
      expect(btc.badDebt).toBeCloseTo(deficit, 12);
      expect(btc.insuranceCovered).toBeCloseTo(fee, 12);
      expect(btc.insuranceFund).toBeCloseTo(0, 12);
      expect(btc.socialised).toBeCloseTo(deficit - fee, 12);
      // the bankrupt's own waterfall: the fund's whole balance (the fee), the rest charged to the winner
      expect(r.bankruptAccounts.map((b) => [b.id, b.currency])).toEqual([['long', 'BTC']]);
      const own = r.bankruptAccounts[0];
      expect(own.badDebt).toBeCloseTo(deficit, 12);
      expect(own.insuranceCovered).toBeCloseTo(fee, 12);
      expect(own.socialised).toBeCloseTo(deficit - fee, 12);
      expect(own.unrecovered).toBeCloseTo(0, 12);
      expect(btc.unrecovered).toBeCloseTo(0, 12);
      expect(btc.marketPnl).toBeCloseTo(10_000 * (1 / F - 1 / F1) + win, 12);
      expect(book(sim).account(1).collateral.BTC).toBeCloseTo(0.5 - (deficit - fee), 12);
      expect(book(sim).account(2).collateral.USDC).toBe(10_000);
      const u = r.currencies.find((c) => c.currency === 'USDC')!;
      expect(u.marketPnl).toBeCloseTo(0.1 * (F - F1), 6);
      expect(u.socialised).toBe(0);
      for (const c of r.currencies) expect(Math.abs(c.ledger.residual)).toBeLessThan(1e-12 * Math.max(1, c.price === 1 ? 1e4 : 1));
    } finally {
      await sim.close();
    }
  });

  it('a Dutch auction cannot run a coin book (it books the bidder in USDC): a clear error', async () => {
    await expect(Simulation.create({ accounts: [long, eth], market, model: 'deribit-pm', mechanism: 'lyra-mainnet' })).rejects.toThrow(/lyra-mainnet \(a Dutch auction\) books the bidder's cash in USDC: it cannot liquidate accounts margined in BTC, ETH/);
  });

  it('a generated PME book on a random path: each currency\'s ledger closed at every step, for every fixed-price mechanism', async () => {
    const eng = new MarginEngine({ market, model: 'deribit-pm' });
    const accounts = generateBook({ accounts: 600, seed: 3, market }).accounts.filter((a) => eng.figures(a).ok);
    expect(accounts.length).toBeGreaterThan(150);
    const moves = [{ BTC: -0.06, ETH: -0.04 }, { BTC: -0.14, ETH: -0.12 }, { BTC: -0.05, ETH: -0.2 }, { BTC: 0.04, ETH: -0.1 }];
    const path = shocksPath(market, { steps: moves.map((m, i) => ({ name: `s${i}`, moves: m })) });
    for (const mechanism of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl']) {
      const sim = await Simulation.create({ accounts, market, model: 'deribit-pm', mechanism, threads: 2 });
      let liquidated = 0;
      try {
        for (const st of path.steps) {
          const r = await sim.step(st.market, st.label, st.dailyVol);
          liquidated += r.liquidated;
          expect(r.currencies.map((c) => c.currency)).toEqual(['BTC', 'ETH', 'USDC']);
          for (const c of r.currencies) {
            const scale = Math.abs(sim.ledger.equity[r.currencies.indexOf(c)]) + Math.abs(c.marketPnl) + 1;
            expect(Math.abs(c.ledger.residual)).toBeLessThan(1e-9 * scale);
            expect(c.insuranceFund).toBeGreaterThanOrEqual(-1e-12);
          }
          expect(new Set(r.liquidatedAccounts).size).toBe(r.liquidatedAccounts.length);
        }
      } finally {
        await sim.close();
      }
      expect(liquidated).toBeGreaterThan(0);
    }
  }, 120_000);
});
