/**
 * Isolated accounts margined one after the other on one engine (a liquidation plan's candidates):
 * a sub-account equal to one of the last account's is read from it (measures/grid/isolated-subs.ts).
 * Each account's figures are checked against a fresh engine (nothing to reuse: every sub-account
 * computed), bit for bit, and against the hand computation of test/hand-grid.ts (an isolated
 * account's IM is the sum of its positions' own IMs, each with its own coin collateral after
 * haircut); P&L vectors are counted to show the reuse happens.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { margin } from '../src/index.js';
import { PortfolioPnl } from '../src/scenarios/portfolio-pnl.js';
import { btcEthMarket, exp, model } from './grid-fixture.js';
import { handGridMargin, handPosition } from './hand-grid.js';

type AccountInput = margin.AccountInput;
type PositionInput = margin.PositionInput;
const { createMarginEngine } = margin;
const market = btcEthMarket();
const haircut: Record<string, number> = { BTC: 0.05, ETH: 0.1, USDC: 0 };

/** The hand IM of an isolated account: each position margined alone, with its own coin collateral after haircut. */
function handIsolatedIm(positions: PositionInput[]): number {
  let im = 0;
  for (const p of positions) {
    const coin: Record<string, number> = {};
    for (const [c, x] of Object.entries(p.collateral ?? {})) if (c !== 'USDC') coin[c] = x * (1 - haircut[c]);
    im += handGridMargin(market, model, [handPosition(p.instrument, p.size, exp, p.entryPrice)], coin).initialMargin;
  }
  return im;
}

// three positions, each with its own collateral (coins after haircut move with their underlying in the scenarios)
const linearPerp: PositionInput = { instrument: 'BTC_USDC-PERPETUAL', size: 2, collateral: { USDC: 5_000 } };
const inversePerp: PositionInput = { instrument: 'BTC-PERPETUAL', size: 30_000, entryPrice: 95_000, collateral: { BTC: 0.5 } };
const ethShort: PositionInput = { instrument: 'ETH_USDC-PERPETUAL', size: -3, collateral: { USDC: 2_000, ETH: 1 } };
const a0: AccountInput = { id: 'iso', mode: 'isolated', collateral: { USDC: 100 }, positions: [linearPerp, inversePerp, ethShort] };

/** The chain a plan walks: one position resized (a new object, the others the same), one closed, balances changed. */
function chain(): AccountInput[] {
  const a1 = { ...a0, positions: [linearPerp, { ...inversePerp, size: 20_000 }, ethShort] };
  const a2 = { ...a1, positions: a1.positions.slice(1) };
  const a3 = { ...a2, collateral: { USDC: 250 } };
  const a4 = { ...a3, positions: [a3.positions[0], { ...ethShort, collateral: { USDC: 1_500, ETH: 1 } }] };
  return [a0, a1, a2, a3, a4, { ...a0, id: 'again' }];
}

function figures(engine: ReturnType<typeof createMarginEngine>, a: AccountInput): margin.MarginFigures {
  const r = engine.figures(a);
  if (!r.ok) throw new Error(r.error.message);
  return { equity: r.equity, initialMargin: r.initialMargin, maintenanceMargin: r.maintenanceMargin, availableFunds: r.availableFunds, health: r.health } as margin.MarginFigures;
}

afterEach(() => vi.restoreAllMocks());

describe('isolated sub-accounts read from the last account margined', () => {
  it('every account of a plan-like chain: the figures of a fresh engine, bit for bit, and the hand IM', () => {
    const shared = createMarginEngine({ market, model });
    for (const a of chain()) {
      const got = figures(shared, a);
      const fresh = figures(createMarginEngine({ market, model }), a);
      for (const k of ['equity', 'initialMargin', 'maintenanceMargin', 'availableFunds'] as const) expect(Object.is(got[k], fresh[k])).toBe(true);
      expect(got.health).toBe(fresh.health);
      expect(got.initialMargin).toBeCloseTo(handIsolatedIm(a.positions), 6);
    }
  });

  it('only the sub-accounts that changed are computed (P&L vectors counted)', () => {
    const engine = createMarginEngine({ market, model });
    const of = vi.spyOn(PortfolioPnl.prototype, 'of');
    const [first, resized, closed, balances, ownChanged, again] = chain();
    const count = (a: AccountInput): number => {
      of.mockClear();
      figures(engine, a);
      return of.mock.calls.length;
    };
    expect(count(first)).toBe(3);
    expect(count(resized)).toBe(1); // the inverse perpetual resized
    expect(count(closed)).toBe(0); // the linear perpetual closed: the two left are the last account's
    expect(count(balances)).toBe(0); // account-level balances are not a sub-account's
    expect(count(ownChanged)).toBe(1); // the ETH short's own collateral changed
    expect(count(again)).toBe(3); // nothing of the first account's is the last account's
  });

  it('an account changed in place is margined afresh (matched by value, not by object)', () => {
    const engine = createMarginEngine({ market, model });
    const p = { ...linearPerp };
    const a: AccountInput = { id: 'm', mode: 'isolated', collateral: {}, positions: [p] };
    const before = figures(engine, a);
    p.size = 4;
    const after = figures(engine, a);
    expect(after.initialMargin).toBeCloseTo(2 * before.initialMargin, 6);
    expect(Object.is(after.initialMargin, figures(createMarginEngine({ market, model }), a).initialMargin)).toBe(true);
    p.collateral = { USDC: 4_000 };
    expect(figures(engine, a).equity).toBe(after.equity - 1_000);
  });

  it('the full margin (breakdown) of an isolated account is unchanged and leaves the figures path right', () => {
    const engine = createMarginEngine({ market, model });
    const r = engine.margin(a0);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.positions.map((p) => p.initialMargin ?? 0).reduce((x, y) => x + y, 0)).toBeCloseTo(r.initialMargin, 9);
    const [, resized] = chain();
    expect(Object.is(figures(engine, resized).initialMargin, figures(createMarginEngine({ market, model }), resized).initialMargin)).toBe(true);
  });
});
