/**
 * A liquidation plan's candidate steps from the account's kept P&L vectors
 * (MarginEngine.figuresAfter: whatIf's O(changes × scenarios) with balance deltas, chained along
 * the plan by `next`). References: a hand sheet, and a fresh margin of the changed account built
 * independently (sizes and balances edited, then MarginEngine.figures from scratch).
 */
import { describe, expect, it } from 'vitest';
import { validateAccount } from '../src/instruments/account.js';
import { generateBook } from '../src/io/gen-book.js';
import { planLiquidation } from '../src/liquidation/plan.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput, MarginFigures } from '../src/measures/types.js';
import { changeOf, edited, expectClose, fresh } from './whatif-helpers.js';

const market = resolveMarket(defaultMarket());
const crash = market.shocked({ priceMove: { BTC: -0.12, ETH: -0.08 } });

describe('MarginEngine.figuresAfter', () => {
  it('by hand: 10 ETH linear perpetuals → 6 and 10 USDC paid; MM = 0.8 × 0.16 × 6 × spot, equity 1,990', () => {
    const e = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
    const a = validateAccount({ id: 'eth', mode: 'cross', collateral: { USDC: 2000 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 10 }] });
    e.figuresOfValid(a);
    const f = e.figuresAfter(a, [{ instrument: 'ETH_USDC-PERPETUAL', size: -4 }], { USDC: -10 });
    expect(f).not.toBeNull();
    expect(f!.maintenanceMargin).toBeCloseTo(0.8 * 0.16 * 6 * market.spot('ETH'), 8);
    expect(f!.equity).toBeCloseTo(1990, 9);
  });

  it("figures written into the caller's object (`out`): the same doubles; the kept state copies them (a later what-if into it leaves the state's figures and an earlier result alone)", () => {
    const e = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const ref = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const a = validateAccount({ id: 'eth', mode: 'cross', collateral: { USDC: 2000 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 10 }, { instrument: 'BTC_USDC-PERPETUAL', size: -0.2 }] });
    const out: MarginFigures = { equity: 0, initialMargin: 0, maintenanceMargin: 0, marginRatio: null, availableFunds: 0, health: 'healthy' };
    e.figuresOfValid(a);
    ref.figuresOfValid(a);
    const ch = [{ instrument: 'ETH_USDC-PERPETUAL', size: -4 }];
    const next = edited(a, 0, -4, { USDC: -10 });
    const step1 = e.figuresAfter(a, ch, { USDC: -10 }, next, undefined, out);
    expect(step1).toBe(out);
    const want1 = ref.figuresAfter(a, ch, { USDC: -10 }, next)!;
    expect({ ...step1 }).toEqual(want1);
    const before = e.whatIf(next, []).before;
    expect(before).toEqual(want1);
    // a candidate from the moved state written into the same object: the state's figures stay the step's
    const cand = e.figuresAfter(next, [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.1 }], { USDC: -5 }, undefined, undefined, out)!;
    expect(cand).toBe(out);
    expect(cand).toEqual(ref.figuresAfter(next, [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.1 }], { USDC: -5 }));
    expect(cand.equity).not.toBe(want1.equity);
    expect(e.whatIf(next, []).before).toEqual(want1);
    expect(before).toEqual(want1);
  });

  it('generated portfolio/cross accounts: one change and balance deltas = a fresh margin of the edited account (1e-9)', () => {
    const e = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const { accounts } = generateBook({ accounts: 300, seed: 11, market });
    let n = 0;
    for (const raw of accounts) {
      const a = validateAccount(raw);
      if (a.mode === 'isolated' || a.positions.length === 0 || !e.figures(a).ok) continue;
      const j = n % a.positions.length;
      const d = -0.3 * a.positions[j].size;
      const deltas = { USDC: -17.5, BTC: 0.002 * ((n % 3) - 1) };
      const want = fresh(e, edited(a, j, d, deltas));
      e.figuresOfValid(a);
      expectClose(e.figuresAfter(a, [changeOf(a, j, d)], deltas), want, a.id);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it('a chain of changes moved along by `next` = a fresh margin of the account at its end (1e-9)', () => {
    const e = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const { accounts } = generateBook({ accounts: 200, seed: 12, market });
    let chains = 0;
    for (const raw of accounts) {
      let a = validateAccount(raw);
      if (a.mode === 'isolated' || a.positions.length < 3 || !e.figures(a).ok) continue;
      e.figuresOfValid(a);
      let got: MarginFigures | null = null;
      for (let s = 0; s < 6; s++) {
        const j = (s * 7) % a.positions.length;
        const d = -0.1 * a.positions[j].size;
        const next = edited(a, j, d, { USDC: -3 });
        got = e.figuresAfter(a, [changeOf(a, j, d)], { USDC: -3 }, next);
        a = next;
      }
      expectClose(got, fresh(e, a), raw.id as string);
      chains++;
    }
    expect(chains).toBeGreaterThan(30);
  });

  it('a chain on two underlyings, each link tried first on the other row: every what-if = a fresh margin (1e-9), the rows a change leaves alone read from the kept state', () => {
    const e = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const ref = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' }); // the fresh margins: e keeps the chain's state
    const { accounts } = generateBook({ accounts: 400, seed: 13, market });
    let chains = 0;
    for (const raw of accounts) {
      let a = validateAccount(raw);
      const on = (u: string): number => a.positions.findIndex((p) => p.instrument.startsWith(u));
      if (a.mode === 'isolated' || on('BTC') < 0 || on('ETH') < 0 || !e.figures(a).ok) continue;
      e.figuresOfValid(a);
      for (let s = 0; s < 6; s++) {
        const [take, other] = s % 2 === 0 ? [on('BTC'), on('ETH')] : [on('ETH'), on('BTC')];
        // a candidate not taken: its what-if reads the kept IM of the row it leaves alone
        const d0 = -0.2 * a.positions[other].size;
        expectClose(e.figuresAfter(a, [changeOf(a, other, d0)], { USDC: -1 }), fresh(ref, edited(a, other, d0, { USDC: -1 })), `${a.id} candidate ${s}`);
        const d = -0.15 * a.positions[take].size;
        const next = edited(a, take, d, { USDC: -2 });
        expectClose(e.figuresAfter(a, [changeOf(a, take, d)], { USDC: -2 }, next), fresh(ref, next), `${a.id} step ${s}`);
        a = next;
      }
      chains++;
    }
    expect(chains).toBeGreaterThan(20);
  });

  it('no kept vectors: isolated accounts, another account margined since, other models give null', () => {
    const e = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
    const iso = validateAccount({ id: 'i', mode: 'isolated', collateral: {}, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, collateral: { USDC: 20_000 } }] });
    e.figuresOfValid(iso);
    expect(e.figuresAfter(iso, [{ instrument: 'BTC_USDC-PERPETUAL', size: -0.5 }], {})).toBeNull();
    const a = validateAccount({ id: 'a', mode: 'cross', collateral: { USDC: 5000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] });
    const b = validateAccount({ ...a, id: 'b' });
    e.figuresOfValid(a);
    e.figuresOfValid(b);
    expect(e.figuresAfter(a, [{ instrument: 'BTC_USDC-PERPETUAL', size: -0.5 }], {})).toBeNull();
    const std = new MarginEngine({ market, model: 'deribit-standard' });
    std.figuresOfValid(a);
    expect(std.figuresAfter(a, [{ instrument: 'BTC_USDC-PERPETUAL', size: -0.5 }], {})).toBeNull();
  });
});

describe('plans from kept vectors = plans re-margined step by step', () => {
  it('generated accounts below MM after a crash, three fixed-price mechanisms: the same trades, figures within 1e-9', () => {
    const e = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    const full = new MarginEngine({ market: crash, model: 'deribit-pm-2024.1' });
    full.figuresAfter = () => null; // every candidate re-margined: the reference
    const { accounts } = generateBook({ accounts: 1500, seed: 13, market });
    const liq = accounts.filter((a) => {
      const r = full.figures(a);
      return r.ok && r.equity < r.maintenanceMargin;
    });
    expect(liq.length).toBeGreaterThan(40);
    for (const mechanism of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl']) {
      for (const a of liq.slice(0, 60)) {
        const p = planLiquidation(e, a, { mechanism });
        const q = planLiquidation(full, a, { mechanism });
        const trades = (ss: typeof p.steps): unknown[] => ss.map((s) => (s.type === 'close' ? [s.instrument, s.size, s.price] : s.type));
        expect(trades(p.steps)).toEqual(trades(q.steps));
        const figs = (s: (typeof p.steps)[number]): MarginFigures => ({ equity: s.equity, initialMargin: s.initialMargin, maintenanceMargin: s.maintenanceMargin }) as MarginFigures;
        p.steps.forEach((s, k) => expectClose(figs(s), figs(q.steps[k]), `${mechanism} ${a.id} step ${k + 1}`));
        expect(p.after.account).toEqual(q.after.account);
        expect(p.restored).toBe(q.restored);
      }
    }
  });
});
