/**
 * What makes plans and simulation steps cheaper must not change a figure:
 *  - MarginEngine.figures / figuresOfValid (what a plan's steps read) give margin()'s headline
 *    doubles on every mechanism (grid pooled and isolated, rule-based, Deribit PME) and margin()'s errors;
 *  - mechanisms are validated once and come back frozen;
 *  - a simulation step skips ticking an underlying whose data did not change
 *    (ResolvedMarket.sameUnderlying), yet still liquidates every account below MM;
 *  - liquidations edit accounts in place (no row appended), and re-laying the book out (the dead
 *    rows of a trade dropped) changes no figure;
 *  - a step's impact is the square-root law on its cumulative flow, re-ticked only beyond the tolerance.
 */
import { describe, expect, it } from 'vitest';
import { validateAccount } from '../src/instruments/account.js';
import { generateBook } from '../src/io/gen-book.js';
import { loadMechanism } from '../src/liquidation/mechanism.js';
import { Simulation, type StepReport } from '../src/liquidation/simulate.js';
import { shocksPath } from '../src/liquidation/paths.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket());
/** The underlyings the simulation's book ticks, in order (a spy on BookEngine.tick). */
function tickedUnderlyings(sim: Simulation): string[] {
  const book = (sim as unknown as { book: { tick: (u: string | string[], m: unknown) => Promise<unknown> } }).book;
  const ticked: string[] = [];
  const tick = book.tick.bind(book);
  book.tick = (u, m) => {
    ticked.push(...(typeof u === 'string' ? [u] : u));
    return tick(u, m);
  };
  return ticked;
}

const HEADLINE = ['equity', 'initialMargin', 'maintenanceMargin', 'marginRatio', 'availableFunds', 'health'] as const;

describe('MarginEngine.figures: margin() without the breakdown', () => {
  const { accounts } = generateBook({ accounts: 120, seed: 3, market });
  for (const model of ['deribit-pm-2024.1', 'deribit-standard', 'deribit-pm']) {
    it(`${model}: the same headline doubles (or the same error) as margin() on generated accounts`, () => {
      const e = new MarginEngine({ market: market.shocked({ priceMove: { BTC: -0.08, ETH: 0.05 } }), model });
      let ok = 0;
      const modes = new Set<string>();
      for (const a of accounts) {
        const r = e.margin(a);
        const f = e.figures(a);
        expect(f.ok).toBe(r.ok);
        if (!r.ok || !f.ok) {
          if (!r.ok && !f.ok) expect(f.error).toEqual(r.error);
          continue;
        }
        ok++;
        modes.add(a.mode);
        for (const k of HEADLINE) expect(Object.is(f[k], r[k]), `${a.id} ${k}`).toBe(true);
        expect(e.figuresOfValid(validateAccount(a))).toEqual(f); // what a plan calls on accounts it built
      }
      expect(ok).toBeGreaterThan(30);
      if (model !== 'deribit-pm') expect([...modes].sort()).toEqual(['cross', 'isolated', 'portfolio']);
    });
  }
  it('a bad account: the error margin() reports, naming the field', () => {
    const e = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
    const bad = { id: 'x', mode: 'cross', collateral: {}, positions: [{ instrument: 'BTC-NOPE', size: 1 }] };
    const f = e.figures(bad);
    const r = e.margin(bad);
    expect(f.ok).toBe(false);
    if (f.ok || r.ok) return;
    expect(f.error).toEqual(r.error);
    expect(f.error.message).toMatch(/BTC-NOPE/);
  });
});

describe('mechanisms validated once', () => {
  it('the same frozen object for a shipped id and when passed back; a modified copy is validated again', () => {
    const m = loadMechanism('fixed-price-5pct');
    expect(loadMechanism('fixed-price-5pct')).toBe(m);
    expect(loadMechanism(m)).toBe(m);
    expect(Object.isFrozen(m)).toBe(true);
    if (m.mechanism !== 'fixed-price') throw new Error('fixed-price expected');
    expect(Object.isFrozen(m.fee.future)).toBe(true);
    expect(() => loadMechanism({ ...m, plan: { ...m.plan, stepFraction: 2 } })).toThrow(/plan.stepFraction must be <= 1, got 2/);
  });
});

describe('simulation step: unchanged underlyings are not ticked', () => {
  // ETH: 10 linear perpetuals, 2,000 USDC. Hand: the 2024.1 grid's worst move is -16 %, so IM =
  // 10 × spot × 0.16 (no add-on applies to one future) and MM = 0.8 × IM: below MM before any move.
  const eth: AccountInput = { id: 'eth', mode: 'cross', collateral: { USDC: 2000 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 10 }] };
  const btc: AccountInput = { id: 'btc', mode: 'cross', collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 60_000 }] };

  it('ETH sheet by hand: MM = 0.8 × 0.16 × 10 × spot > 2,000', () => {
    const r = new MarginEngine({ market, model: 'deribit-pm-2024.1' }).margin(eth);
    if (!r.ok) throw new Error(r.error.message);
    const spot = market.spot('ETH');
    expect(r.maintenanceMargin).toBeCloseTo(0.8 * 0.16 * 10 * spot, 9);
    expect(r.equity).toBe(2000);
    expect(r.health).toBe('liquidatable');
  });

  it('a BTC-only move ticks BTC alone, and the ETH account below MM is still liquidated', async () => {
    const sim = await Simulation.create({ accounts: [eth, btc], market, model: 'deribit-pm-2024.1', mechanism: 'fixed-price-5pct', insuranceFundUsd: 1e6 });
    const ticked = tickedUnderlyings(sim);
    try {
      const moved = market.shocked({ priceMove: { BTC: -0.01 } });
      const r = await sim.step(moved, 'BTC -1 %');
      expect(ticked).toEqual(['BTC']);
      expect(r.liquidatedAccounts).toEqual([0]);
      expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
      // BTC's 1 % fall: the long linear perpetual (1 BTC, entry 60,000) loses 1 % of its mark
      expect(r.marketPnl).toBeCloseTo(-0.01 * market.perpetual('BTC'), 6);
      ticked.length = 0;
      await sim.step(moved, 'no move');
      expect(ticked).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it('sameUnderlying: views of one snapshot compare per underlying', () => {
    const a = market.shocked({ priceMove: { BTC: -0.05 } });
    expect(market.sameUnderlying(a, 'ETH')).toBe(true);
    expect(market.sameUnderlying(a, 'BTC')).toBe(false);
    expect(a.sameUnderlying(market.shocked({ priceMove: { BTC: -0.05 } }), 'BTC')).toBe(true);
    expect(market.sameUnderlying(market.shocked({ volShift: { ETH: 0.01 } }), 'ETH')).toBe(false);
    expect(market.sameUnderlying(resolveMarket(defaultMarket()), 'ETH')).toBe(false);
  });
});

describe('simulation: liquidations leave no dead rows; a re-layout changes nothing', () => {
  it('liquidations edit accounts in place (no row appended); compacting before every step gives the same steps, bit for bit, as never compacting', async () => {
    const { accounts } = generateBook({ accounts: 300, seed: 7, market });
    const moves = [{ BTC: -0.04 }, { BTC: -0.09, ETH: -0.05 }, { BTC: -0.15, ETH: -0.12 }, { BTC: -0.1, ETH: -0.2 }];
    const path = shocksPath(market, { steps: moves.map((m, i) => ({ name: `s${i}`, moves: m })) });
    type Book = { load: (...a: unknown[]) => unknown; trade: (k: number, c: unknown) => unknown; rows: { nRows: number; loadedRows: number } };
    const run = async (compactDeadRows: number, traded: boolean): Promise<{ steps: unknown[]; loads: number; appended: number }> => {
      const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', compactDeadRows });
      const book = (sim as unknown as { book: Book }).book;
      // a trade appends rows (a new position): the dead rows a re-layout drops
      if (traded) book.trade(5, [{ instrument: 'BTC-PERPETUAL', size: 10 }]);
      let loads = 0;
      const load = book.load.bind(book);
      book.load = (...a: unknown[]) => {
        loads++;
        return load(...a);
      };
      const steps: unknown[] = [];
      try {
        for (const st of path.steps) steps.push({ ...(await sim.step(st.market, st.label, st.dailyVol)), ms: 0, stages: null });
      } finally {
        await sim.close();
      }
      return { steps, loads, appended: book.rows.nRows - book.rows.loadedRows };
    };
    const plain = await run(Infinity, false);
    expect(plain.steps.reduce((n: number, r) => n + (r as StepReport).liquidated, 0)).toBeGreaterThan(10);
    expect(plain.appended).toBe(0);
    const never = await run(Infinity, true);
    const always = await run(0, true);
    expect(never.appended).toBeGreaterThan(0);
    expect(always.loads).toBeGreaterThan(0);
    expect(never.loads).toBe(0);
    expect(always.steps).toEqual(never.steps);
  }, 120_000);
});

describe('the cascade within tolerance', () => {
  const eth: AccountInput = { id: 'eth', mode: 'cross', collateral: { USDC: 2000 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 10 }] };
  const btc: AccountInput = { id: 'btc', mode: 'cross', collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1, entryPrice: 60_000 }] };
  for (const impactTolerance of [1e-3, 0]) {
    it(`impact = −σ·√(N / depth) of the step's flow; tolerance ${impactTolerance}: ${impactTolerance ? 'kept for the next tick' : 're-ticked at once'}`, async () => {
      const sim = await Simulation.create({ accounts: [eth, btc], market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', insuranceFundUsd: 1e6, impactTolerance });
      const ticked = tickedUnderlyings(sim);
      try {
        const r = await sim.step(market.shocked({ priceMove: { BTC: -0.01 } }), 'BTC -1 %');
        expect(r.liquidatedAccounts).toEqual([0]);
        // the liquidator sells the ETH long it took: σ_daily 0.03, ETH depth 1e9 USD (presets/liquidation/deribit-incremental.json)
        const x = -0.03 * Math.sqrt(r.volumeUsd / 1e9);
        expect(x).toBeLessThan(-1e-5);
        expect(x).toBeGreaterThan(-1e-3);
        expect(r.impact.ETH).toBeCloseTo(x, 15);
        expect(r.spot.ETH).toBeCloseTo(market.spot('ETH') * (impactTolerance ? 1 : 1 + x), 8);
        expect(ticked).toEqual(impactTolerance ? ['BTC'] : ['BTC', 'ETH']);
        expect(r.ticks).toBe(ticked.length);
        expect(Math.abs(r.ledger.residual)).toBeLessThan(1e-6);
        ticked.length = 0;
        const r2 = await sim.step(market, 'back');
        expect(ticked).toEqual(impactTolerance ? ['BTC', 'ETH'] : ['BTC']);
        expect(r2.spot.ETH).toBeCloseTo(market.spot('ETH') * (1 + x), 8);
        expect(Math.abs(r2.ledger.residual)).toBeLessThan(1e-6);
      } finally {
        await sim.close();
      }
    });
  }
});

describe('a cascade round is a batch auction', () => {
  // two identical ETH accounts below MM (the sheet above): liquidated in the same round, each plan prices
  // its impact on the step's flow before the round, so each is the plan the account gets when liquidated alone
  const eth = (id: string): AccountInput => ({ id, mode: 'cross', collateral: { USDC: 2000 }, positions: [{ instrument: 'ETH_USDC-PERPETUAL', size: 10 }] });
  it('two identical accounts of one round: the same plan each as alone (volume, fees, liquidator gain doubled; the same account after)', async () => {
    const run = async (accounts: AccountInput[]): Promise<{ r: StepReport; after: AccountInput[] }> => {
      const sim = await Simulation.create({ accounts, market, model: 'deribit-pm-2024.1', mechanism: 'deribit-incremental', insuranceFundUsd: 1e6 });
      try {
        const r = await sim.step(market.shocked({ priceMove: { BTC: -0.01 } }), 'BTC -1 %');
        const book = (sim as unknown as { book: { account: (k: number) => AccountInput } }).book;
        return { r, after: accounts.map((_, k) => book.account(k)) };
      } finally {
        await sim.close();
      }
    };
    const alone = await run([eth('a')]);
    const both = await run([eth('a'), eth('b')]);
    expect(alone.r.liquidatedAccounts).toEqual([0]);
    expect(both.r.liquidatedAccounts).toEqual([0, 1]);
    expect(both.r.rounds).toBe(1);
    // the lone plan's impact is not zero (so a sequential round would have priced b's plan worse)
    expect(alone.r.liquidatorGain).toBeGreaterThan(0);
    for (const key of ['volumeUsd', 'fees', 'liquidatorGain'] as const) expect(both.r[key]).toBeCloseTo(2 * alone.r[key], 9);
    expect({ ...both.after[1], id: 'a' }).toEqual(alone.after[0]);
    expect(both.after[0]).toEqual(alone.after[0]);
    expect(Math.abs(both.r.ledger.residual)).toBeLessThan(1e-6);
  });
});

describe("the book's own validated account, handed to a plan", () => {
  it('account(k, true) equals account(k) (a validated copy): a load’s raw numeric id as validated, a replace’s account itself; an invalid entry still throws its error', async () => {
    const { BookEngine } = await import('../src/runner/book/runner.js');
    const raw = [
      { id: 7, mode: 'portfolio', collateral: { USDC: 1000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 0.5 }] },
      { id: 'bad', mode: 'portfolio', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] },
    ];
    const book = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      book.load(raw);
      const shared = book.account(0, true);
      expect(shared).toEqual(book.account(0));
      expect(shared.id).toBe('7');
      expect(book.account(0, true)).toBe(shared); // the book's object, not a copy
      const next = validateAccount({ ...raw[0], positions: [{ instrument: 'BTC-PERPETUAL', size: 0.25 }] });
      book.replaceValid(0, next);
      expect(book.account(0, true)).toBe(next);
      expect(book.account(0)).toEqual(next);
      expect(() => book.account(1, true)).toThrow(/positions\[0\]\.size/);
    } finally {
      await book.close();
    }
  });
});
