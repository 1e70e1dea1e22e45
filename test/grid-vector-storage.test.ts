/**
 * A grid engine recycles the storage of P&L vectors it no longer reads (the kept state it
 * replaces, an isolated account's sub-account vectors: PortfolioPnl.release). The reference is
 * independent of that reuse: each account margined by an engine of its own, which has never
 * released anything. One engine margining a stream of accounts — portfolio, cross and isolated
 * mixed, what-ifs between them — must give the same doubles. And the account resolver hands a
 * plan the table indices of the account it last resolved, by name otherwise.
 */
import { describe, expect, it } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { validateAccount } from '../src/instruments/account.js';
import type { AccountInput, MarginFigures } from '../src/measures/types.js';

const market = resolveMarket(defaultMarket()).shocked({ priceMove: { BTC: -0.2, ETH: -0.15 } });
const model = 'deribit-pm-2024.1';
const accounts: AccountInput[] = generateBook({ accounts: 400, seed: 7, market: resolveMarket(defaultMarket()) }).accounts.map((a) => validateAccount(a));
const fresh = () => new MarginEngine({ market, model });
const figures = (r: ReturnType<MarginEngine['figures']>): MarginFigures => {
  if (!r.ok) throw new Error(r.error.message);
  return { equity: r.equity, initialMargin: r.initialMargin, maintenanceMargin: r.maintenanceMargin, marginRatio: r.marginRatio, availableFunds: r.availableFunds, health: r.health };
};

describe('grid vector storage reuse', () => {
  it('the stream of accounts mixes modes and sizes (the reuse meets every path)', () => {
    const modes = new Set(accounts.map((a) => a.mode));
    expect(modes.has('isolated')).toBe(true);
    expect(modes.size).toBeGreaterThan(1);
    expect(Math.max(...accounts.map((a) => a.positions.length))).toBeGreaterThan(4 * Math.min(...accounts.map((a) => a.positions.length)));
  });

  it('figures of a stream on one engine equal each account on an engine of its own', () => {
    const one = fresh();
    for (const a of accounts) expect(figures(one.figuresOfValid(a))).toEqual(figures(fresh().figuresOfValid(a)));
  });

  it('a what-if after the storage was recycled equals one on an engine of its own', () => {
    const one = fresh();
    const picked = accounts.filter((a) => a.mode !== 'isolated' && a.positions.length > 0).slice(0, 60);
    for (const a of picked) {
      // the previous account's state released into the storage this account's vectors may use
      one.figuresOfValid(a);
      const p = a.positions[0];
      const change = [{ instrument: p.instrument, size: -p.size / 2 }]; // traded at mark
      const ref = fresh();
      ref.figuresOfValid(a);
      const got = one.figuresAfter(a, change, { USDC: -10 });
      expect(got).not.toBeNull();
      expect(got).toEqual(ref.figuresAfter(a, change, { USDC: -10 }));
    }
  });

  it('the kept state survives isolated accounts margined after it (their released vectors never back it)', () => {
    const one = fresh();
    const pooled = accounts.filter((a) => a.mode !== 'isolated' && a.positions.length > 0).slice(0, 30);
    const isolated = accounts.filter((a) => a.mode === 'isolated' && a.positions.length > 1);
    expect(isolated.length).toBeGreaterThan(3);
    pooled.forEach((a, j) => {
      one.figuresOfValid(a);
      // isolated accounts do not replace the kept state: their sub-account vectors come and go around it
      for (let q = 0; q < 3; q++) one.figuresOfValid(isolated[(3 * j + q) % isolated.length]);
      const p = a.positions[a.positions.length - 1];
      const change = [{ instrument: p.instrument, size: -p.size / 4 }];
      const ref = fresh();
      ref.figuresOfValid(a);
      const got = one.figuresAfter(a, change, {});
      expect(got).not.toBeNull();
      expect(got).toEqual(ref.figuresAfter(a, change, {}));
    });
  });

  it('margin() (the breakdown) after recycled storage equals a fresh engine', () => {
    const one = fresh();
    for (const a of accounts.slice(0, 80)) {
      one.figuresOfValid(a);
      const r = one.margin(a);
      const ref = fresh().margin(a);
      expect(r.ok && ref.ok).toBe(true);
      if (r.ok && ref.ok) expect(JSON.stringify(r.grid)).toBe(JSON.stringify(ref.grid));
    }
  });
});

describe('resolver position indices', () => {
  it('after a resolve of the account: its table indices; for another account: looked up by name', () => {
    const eng = fresh();
    const [a, b] = accounts.filter((x) => x.positions.length >= 2);
    eng.figuresOfValid(a);
    a.positions.forEach((p, k) => expect(eng.resolver.positionIndex(a, k)).toBe(eng.table.indexOf(p.instrument)));
    // b was never resolved: its indices come from the names
    b.positions.forEach((p, k) => expect(eng.table.names[eng.resolver.positionIndex(b, k)]).toBe(p.instrument));
    // a copy of a (another object) is not taken for a
    const copy = { ...a, positions: [...a.positions].reverse() };
    copy.positions.forEach((p, k) => expect(eng.table.names[eng.resolver.positionIndex(copy, k)]).toBe(p.instrument));
  });
});
