/**
 * A cascade round's plan engine copies the instruments' scenario values from the book's matrix
 * (BookInstruments.knownValues) instead of pricing them again, and each instrument it meets from
 * the book's tables of its last tick (BookInstruments.valued) instead of parsing and valuing the
 * name again. That is only right if the book's tick computed the very doubles the engine would
 * have, and if the engine's table numbers instruments, underlyings and add-on groups as before
 * (first sight): checked here against engines that price and value every instrument themselves
 * (on the market and on its hashed view, as planRound makes it), and on what the engine then
 * computes from them (figures, plans). Both are refused once the book has moved to another market.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBook } from '../src/io/gen-book.js';
import { planLiquidation } from '../src/liquidation/plan.js';
import { hashed } from '../src/liquidation/paths.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import type { MarginMarket } from '../src/market/margin-market.js';
import { InstrumentTable } from '../src/instruments/table.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine } from '../src/runner/book/runner.js';
import type { KnownValues } from '../src/scenarios/revaluation.js';
import planChunk, { roundPlan, type PlanChunkInput } from '../src/liquidation/plan-round.js';
import { readPlans, type WirePlans } from '../src/liquidation/plan-wire.js';
import { loadMechanism } from '../src/liquidation/mechanism.js';
import { loadModel } from '../src/measures/models.js';
import { priceRecipe } from '../src/market/resolved.js';
import { marginPricer, setMarginPricer } from '../src/scenarios/pricer.js';
import type { AccountInput } from '../src/measures/types.js';

const MODEL = 'deribit-pm-2024.1';
const market = resolveMarket(defaultMarket());
const moved = market.shocked({ priceMove: { BTC: -0.07, ETH: 0.04 } });
const later = market.shocked({ priceMove: { BTC: -0.09, ETH: 0.04 } });
const { accounts } = generateBook({ accounts: 400, seed: 7, market });

/** the instrument names in the order a round meets them (account by account) */
const met = accounts.flatMap((a) => a.positions.map((p) => p.instrument));
const FIELDS = ['underlyingOf', 'kind', 'inverse', 'isPut', 'strike', 'expiry', 'group', 't', 'forward', 'vol', 'mark', 'unitValue', 'delta', 'gamma', 'vega', 'theta'] as const;

/** A market view counting the vol look-ups (one per option valued). */
function countingVols(m: MarginMarket): MarginMarket & { vols: number } {
  const c = { ...hashed(m), vols: 0, vol: (u: string, e: number, k: number) => (c.vols++, m.vol(u, e, k)) };
  return c;
}

/** Every array and list of two tables, compared bit for bit. */
function expectSameTable(a: InstrumentTable, b: InstrumentTable): void {
  expect(a.count).toBe(b.count);
  expect(a.names).toEqual(b.names);
  expect(a.underlyings).toEqual(b.underlyings);
  expect(a.groupSlot).toEqual(b.groupSlot);
  for (const f of FIELDS) {
    for (let i = 0; i < a.count; i++) expect(Object.is(a[f][i], b[f][i]), `${f} of ${a.names[i]}`).toBe(true);
  }
}

/** A table given the book's valued instruments on `m` (counting the vols it looks up) and one valuing every instrument, fed what a round meets. */
function seededAndValued(book: BookEngine, m: MarginMarket): { seeded: InstrumentTable; valued: InstrumentTable; vols: number } {
  const cm = countingVols(m);
  const seeded = new InstrumentTable(cm, 64, book.ins.valued(() => book.market === m));
  const valued = new InstrumentTable(hashed(m), 64);
  for (const name of met) expect(seeded.indexOf(name)).toBe(valued.indexOf(name));
  return { seeded, valued, vols: cm.vols };
}

/** Counts the rows a source handed out. */
function counting(k: KnownValues): KnownValues & { hits: number } {
  const c = { nScen: k.nScen, hits: 0, into: (name: string, out: Float64Array, at: number) => k.into(name, out, at) && ++c.hits > 0 };
  return c;
}

describe('the book matrix as known values (a plan engine on the book market)', () => {
  let book: BookEngine;
  beforeAll(async () => {
    book = BookEngine.create({ market, model: MODEL, threads: 2 });
    book.load(accounts);
    await book.recompute();
    await book.tick(['BTC', 'ETH'], moved);
  });
  afterAll(async () => book.close());

  it("every instrument's row is the one an engine prices itself, bit for bit (on the market and on its hashed view)", () => {
    const known = book.ins.knownValues(() => book.market === moved)!;
    const ns = known.nScen;
    expect(ns).toBe(27); // deribit-pm-2024.1: 9 moves × 3 vol shocks
    for (const m of [moved, hashed(moved)]) {
      const e = new MarginEngine({ market: m, model: MODEL });
      for (const name of book.ins.names) if (name.startsWith('coin:')) e.table.coinIndex(name.slice(5));
      else e.table.indexOf(name);
      e.risk!.sync();
      const row = new Float64Array(ns);
      let options = 0;
      for (const name of book.ins.names) {
        const i = e.table.indexOf(name); // in the table already (added above): a lookup
        expect(known.into(name, row, 0)).toBe(true);
        for (let s = 0; s < ns; s++) expect(Object.is(row[s], e.risk!.values[i * ns + s]), `${name} scenario ${s}`).toBe(true);
        if (e.table.kind[i] === 0) options++; // 0: Kind.Option
      }
      expect(options).toBeGreaterThan(100);
    }
  });

  it("the book's valued instruments in a table: nothing valued, what a table valuing every instrument holds, numbered alike", () => {
    const { seeded, valued, vols } = seededAndValued(book, moved);
    expect(vols).toBe(0);
    expect(seeded.groupCount).toBeGreaterThan(50);
    expectSameTable(seeded, valued);
    // by hand: a future's forward and a perpetual's mark are the market's own
    const fut = met.find((n) => n.split('-').length === 2 && !n.endsWith('PERPETUAL'))!;
    const i = seeded.indexOf(fut);
    expect(seeded.forward[i]).toBe(moved.forward(seeded.underlyings[seeded.underlyingOf[i]], seeded.expiry[i]));
    expect(seeded.mark[seeded.indexOf('BTC-PERPETUAL')]).toBe(moved.perpetual('BTC'));
  });

  it('an engine given both (as planRound makes it): every row copied, the same table, figures and plans as an engine that prices', () => {
    const known = counting(book.ins.knownValues(() => book.market === moved)!);
    const fast = new MarginEngine({ market: hashed(moved), model: MODEL, knownValues: known, valued: book.ins.valued(() => book.market === moved) });
    const slow = new MarginEngine({ market: hashed(moved), model: MODEL });
    let planned = 0;
    for (const a of accounts) {
      const f = fast.figures(a);
      const s = slow.figures(a);
      expect(f).toEqual(s);
      if (!f.ok || !(f.equity < f.maintenanceMargin)) continue;
      planned++;
      const pf = planLiquidation(fast, a, { mechanism: 'deribit-incremental' });
      const ps = planLiquidation(slow, a, { mechanism: 'deribit-incremental' });
      expect(pf.steps).toEqual(ps.steps);
      expect(pf.after.account).toEqual(ps.after.account);
    }
    expect(planned).toBeGreaterThan(5);
    expect(known.hits).toBe(fast.table.count); // nothing priced: the book holds every instrument of its accounts
    expectSameTable(fast.table, slow.table);
  });

  it("a pool's plan chunk given the book's rows of its instruments prices no option and plans as an engine that prices them", () => {
    const model = loadModel(MODEL);
    const mech = loadMechanism('deribit-incremental');
    const m = hashed(moved);
    const below = (accounts as AccountInput[]).filter((a) => {
      const f = new MarginEngine({ market: m, model }).figures(a);
      return f.ok && f.equity < f.maintenanceMargin;
    });
    expect(below.length).toBeGreaterThan(5);
    const r = priceRecipe(moved)!;
    const chunk = (values: PlanChunkInput['values'], key: string): PlanChunkInput => ({
      market: { hash: m.hash!, key, snapshot: JSON.stringify(r.snapshot), priceMult: r.priceMult },
      model: { hash: model.hash, params: model.params }, mechanism: mech, prior: {}, accounts: JSON.stringify(below), count: below.length, values,
    });
    const names = [...new Set(below.flatMap((a) => a.positions.map((p) => p.instrument)))];
    const values = { risk: book.ins.risk, nScen: book.ins.nScen, layout: book.ins.layout, names, rows: names.map((x) => book.ins.rowOf(x)) };
    expect(values.rows.every((i) => i >= 0)).toBe(true);
    const pricer = marginPricer();
    let priced = 0;
    setMarginPricer((b, out) => ((priced += b.length), pricer(b, out)), 'counting');
    try {
      const withRows = planChunk(chunk(values, 'known')) as { plans: WirePlans };
      const pricedWith = priced;
      const without = planChunk(chunk(null, 'priced')) as { plans: WirePlans };
      expect(pricedWith).toBe(0);
      expect(priced).toBeGreaterThan(0);
      expect(withRows.plans.head).toBe(without.plans.head);
      expect(withRows.plans.num).toEqual(without.plans.num);
      const slow = new MarginEngine({ market: m, model });
      expect(readPlans(withRows.plans, below)).toEqual(below.map((a) => roundPlan(slow, a, mech, {})));
    } finally {
      setMarginPricer(null);
    }
  });

  it('refused once the book has moved on, and ignored by a revaluation of another scenario count', async () => {
    const known = book.ins.knownValues(() => book.market === moved)!;
    const name = book.ins.names.find((n) => !n.startsWith('coin:'))!;
    expect(known.into(name, new Float64Array(27), 0)).toBe(true);
    expect(known.into('BTC-1JAN00-1-C', new Float64Array(27), 0)).toBe(false); // not in the book
    const wrong = counting({ nScen: 5, into: () => true });
    const e = new MarginEngine({ market: moved, model: MODEL, knownValues: wrong });
    e.figures(accounts[0]);
    expect(wrong.hits).toBe(0);
    await book.tick('BTC', later);
    expect(known.into(name, new Float64Array(27), 0)).toBe(false);
  });

  it('valued instruments: an underlying a tick skipped (same data) served as its last tick valued it; nothing once the book has moved on', async () => {
    const next = later.shocked({ priceMove: { BTC: -0.02 } });
    expect(later.sameUnderlying(next, 'ETH')).toBe(true);
    await book.tick('BTC', next);
    const { seeded, valued, vols } = seededAndValued(book, next);
    expect(vols).toBe(0);
    expectSameTable(seeded, valued);
    const stale = book.ins.valued(() => book.market === next);
    await book.tick(['BTC', 'ETH'], market);
    expect(stale.tableOf(met[0])).toBeNull();
    expect(book.ins.valued(() => book.market === market).tableOf('BTC-1JAN00-1-C')).toBeNull(); // not in the book
  });
});
