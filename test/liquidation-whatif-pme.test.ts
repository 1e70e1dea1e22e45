/**
 * Deribit's segregated PME (`deribit-pm`, figures in the sub-account's coin or USDC): a plan's
 * candidate steps from the account's kept vectors (MarginEngine.figuresAfter on a PME account,
 * src/measures/deribit-pme/measure.ts). References: a hand sheet from Deribit's published
 * formulas (inverse perpetual P&L q·m/(1+m)/F coin, ±16 % range, roll shock 1 % of the coin size,
 * MM = 0.8 × IM), and a fresh margin of the changed account built independently (sizes and
 * balances edited, then MarginEngine.figures from scratch).
 */
import { describe, expect, it } from 'vitest';
import { validateAccount } from '../src/instruments/account.js';
import { generateBook } from '../src/io/gen-book.js';
import { planLiquidation } from '../src/liquidation/plan.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput, MarginFigures } from '../src/measures/types.js';
import { changeOf, edited, expectClose, fresh, isOption } from './whatif-helpers.js';

const market = resolveMarket(defaultMarket());
const crash = market.shocked({ priceMove: { BTC: -0.12, ETH: -0.08 } });
const MODEL = 'deribit-pm';

/** A future or perpetual the account holds in another open position at the same entry: which one a change resizes is ambiguous (its roll shock is per position). */
function ambiguous(a: AccountInput, j: number): boolean {
  const p = a.positions[j];
  return !isOption(p.instrument) && a.positions.some((q, k) => k !== j && q.instrument === p.instrument && q.entryPrice === p.entryPrice && q.size !== 0);
}

/** The generated accounts deribit-pm accepts (one settlement currency each), validated. */
function pmeAccounts(e: MarginEngine, n: number, seed: number): AccountInput[] {
  return generateBook({ accounts: n, seed, market })
    .accounts.map((raw) => validateAccount(raw))
    .filter((a) => a.positions.length > 0 && e.figures(a).ok);
}

/** The account's settlement currency (every position of a deribit-pm sub-account settles in it). */
function currencyOf(e: MarginEngine, a: AccountInput): string {
  return e.table.instruments[e.table.indexOf(a.positions[0].instrument)]!.settlementCurrency;
}

describe('MarginEngine.figuresAfter on deribit-pm (segregated PME)', () => {
  it('by hand: 200,000 USD of BTC-PERPETUAL and 1 BTC → 150,000 and 0.01 BTC paid', () => {
    const e = new MarginEngine({ market, model: MODEL });
    const F = e.table.forward[e.table.indexOf('BTC-PERPETUAL')];
    const a = validateAccount({ id: 'h', mode: 'portfolio', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 200_000 }] });
    e.figuresOfValid(a);
    const f = e.figuresAfter(a, [{ instrument: 'BTC-PERPETUAL', size: -50_000 }], { BTC: -0.01 });
    // worst case: the −16 % bucket, 150,000/F × 0.16/0.84 coin; roll shock 150,000/F × 1 %; no delta shock (< 20M USD)
    const im = (150_000 / F) * (0.16 / 0.84 + 0.01);
    expect(f).not.toBeNull();
    expect(f!.initialMargin).toBeCloseTo(im, 12);
    expect(f!.maintenanceMargin).toBeCloseTo(0.8 * im, 12);
    // closed at the forward (the position has no entry: entered at mark): no P&L, the fee paid
    expect(f!.equity).toBeCloseTo(0.99, 12);
  });

  it('generated accounts: one change and a balance delta = a fresh margin of the edited account (1e-9)', () => {
    const e = new MarginEngine({ market: crash, model: MODEL });
    let n = 0;
    let skipped = 0;
    for (const a of pmeAccounts(e, 600, 21)) {
      const j = n % a.positions.length;
      const d = -0.3 * a.positions[j].size;
      const deltas = { [currencyOf(e, a)]: -0.001 * ((n % 3) + 1) };
      e.figuresOfValid(a);
      const got = e.figuresAfter(a, [changeOf(a, j, d)], deltas);
      if (ambiguous(a, j)) {
        expect(got, a.id).toBeNull();
        skipped++;
      } else expectClose(got, fresh(e, edited(a, j, d, deltas)), a.id);
      n++;
    }
    expect(n).toBeGreaterThan(200);
    expect(skipped).toBeLessThan(n / 10);
  });

  it('a chain of changes moved along by `next` = a fresh margin of the account at its end (1e-9), closing positions whole', () => {
    const e = new MarginEngine({ market: crash, model: MODEL });
    let chains = 0;
    for (let a of pmeAccounts(e, 300, 22)) {
      if (a.positions.length < 3) continue;
      const cur = currencyOf(e, a);
      const id = a.id;
      e.figuresOfValid(a);
      let got: MarginFigures | null = null;
      for (let s = 0; s < 6; s++) {
        const j = (s * 7) % a.positions.length;
        if (ambiguous(a, j)) break;
        // every third link closes the position whole: it leaves the next account
        const d = s % 3 === 2 ? -a.positions[j].size : -0.1 * a.positions[j].size;
        const e1 = edited(a, j, d, { [cur]: -0.002 });
        const next = d === -a.positions[j].size ? { ...e1, positions: e1.positions.filter((_, k) => k !== j) } : e1;
        got = e.figuresAfter(a, [changeOf(a, j, d)], { [cur]: -0.002 }, next);
        expect(got, `${id} link ${s}`).not.toBeNull();
        a = next;
        if (a.positions.length === 0) break;
      }
      if (got) expectClose(got, fresh(e, a), id);
      chains++;
    }
    expect(chains).toBeGreaterThan(30);
  });

  it('null (the caller re-margins): cross PME, an instrument not held, a perpetual held twice, a balance of another currency, another account margined since', () => {
    const e = new MarginEngine({ market, model: MODEL });
    const a = validateAccount({ id: 'a', mode: 'portfolio', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 200_000 }] });
    const option = generateBook({ accounts: 50, seed: 24, market })
      .accounts.flatMap((x) => x.positions.map((p) => p.instrument))
      .find((name) => /^BTC-.*-[CP]$/.test(name))!;
    e.figuresOfValid(a);
    expect(e.figuresAfter(a, [{ instrument: option, size: -1 }], {})).toBeNull();
    e.figuresOfValid(a);
    expect(e.figuresAfter(a, [{ instrument: 'ETH-PERPETUAL', size: -10 }], {})).toBeNull();
    const twice = validateAccount({ ...a, positions: [...a.positions, { instrument: 'BTC-PERPETUAL', size: 50_000 }] });
    e.figuresOfValid(twice);
    expect(e.figuresAfter(twice, [{ instrument: 'BTC-PERPETUAL', size: -10 }], {})).toBeNull();
    e.figuresOfValid(a);
    expect(e.figuresAfter(a, [{ instrument: 'BTC-PERPETUAL', size: -10 }], { USDC: -1 })).toBeNull();
    const b = validateAccount({ ...a, id: 'b' });
    e.figuresOfValid(a);
    e.figuresOfValid(b);
    expect(e.figuresAfter(a, [{ instrument: 'BTC-PERPETUAL', size: -10 }], {})).toBeNull();
    const x = new MarginEngine({ market, model: 'deribit-xpm' });
    x.figuresOfValid(a);
    expect(x.figuresAfter(a, [{ instrument: 'BTC-PERPETUAL', size: -10 }], {})).toBeNull();
  });
});

describe('deribit-pm plans from kept vectors = plans re-margined step by step', () => {
  it('generated sub-accounts below MM after a crash, three fixed-price mechanisms: the same trades, figures within 1e-9', () => {
    const e = new MarginEngine({ market: crash, model: MODEL });
    const full = new MarginEngine({ market: crash, model: MODEL });
    full.figuresAfter = () => null; // every candidate re-margined: the reference
    const liq = generateBook({ accounts: 6000, seed: 23, market }).accounts.filter((a) => {
      const r = full.figures(a);
      return r.ok && r.equity < r.maintenanceMargin;
    });
    expect(liq.length).toBeGreaterThan(100);
    let plans = 0;
    for (const mechanism of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl']) {
      for (const a of liq.slice(0, 100)) {
        const p = planLiquidation(e, a, { mechanism });
        const q = planLiquidation(full, a, { mechanism });
        const trades = (ss: typeof p.steps): unknown[] => ss.map((s) => (s.type === 'close' ? [s.position, s.size, s.price] : s.type));
        expect(trades(p.steps), `${mechanism} ${a.id}`).toEqual(trades(q.steps));
        const figs = (s: (typeof p.steps)[number]): MarginFigures => ({ equity: s.equity, initialMargin: s.initialMargin, maintenanceMargin: s.maintenanceMargin }) as MarginFigures;
        p.steps.forEach((s, k) => expectClose(figs(s), figs(q.steps[k]), `${mechanism} ${a.id} step ${k + 1}`));
        expect(p.after.account).toEqual(q.after.account);
        expect(p.restored).toBe(q.restored);
        expectClose(p.after.margin, fresh(full, p.after.account), `${mechanism} ${a.id} after`);
        plans++;
      }
    }
    expect(plans).toBeGreaterThanOrEqual(300);
  });
});
