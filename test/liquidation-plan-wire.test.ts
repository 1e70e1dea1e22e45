/**
 * A pool chunk's plans on the wire (src/liquidation/plan-wire.ts): the account after each plan is
 * rebuilt on the account the main thread sent — each position's remaining size, the plan's
 * balances — with every double as written (−0 included); a malformed answer is an engine fault
 * (OPTMARGIN_INTERNAL), never booked. Expected accounts written by hand from the rule of
 * execution.ts accountOf: a position whose rest is within 1e-12 of its size is closed, and in
 * isolated mode its attached collateral returns to the account's balances.
 */
import { describe, expect, it } from 'vitest';
import { PlanWriter, readPlans, type FlowEntry } from '../src/liquidation/plan-wire.js';
import type { AccountInput } from '../src/instruments/types.js';
import { OptmarginError } from '../src/errors.js';

const base: AccountInput = {
  id: 'iso-1',
  mode: 'isolated',
  collateral: { BTC: 0.5 },
  positions: [
    { instrument: 'BTC-PERPETUAL', size: 100_000, entryPrice: 95_000, collateral: { BTC: 0.2 } },
    { instrument: 'BTC-27MAR26-80000-P', size: -2, collateral: { BTC: 0.3, USDC: 1_000 } },
    { instrument: 'ETH-PERPETUAL', size: 30_000 },
  ],
};
const totals = { steps: 3, closedNotionalUsd: 150_000.25, fees: 612.5, liquidatorGain: 0.1 + 0.2, securityModulePaid: 0, socialised: 0, isolatedDeficit: 0 };
const flows: FlowEntry[] = [
  { underlying: 'BTC', notional: 100_000, coin: -1.0526315789473684 },
  { underlying: 'BTC', notional: 50_000.25, coin: 0.7 },
  { underlying: 'ETH', notional: 0.1, coin: -0 },
];

function written(remaining: number[], collateral: Record<string, number>, own: (Record<string, number> | undefined)[] | null = null, t = totals, fees: number[] | null = null): ReturnType<PlanWriter['done']> {
  const w = new PlanWriter();
  w.none();
  w.plan(Float64Array.from(remaining), 3, collateral, own, t, fees && Float64Array.from(fees), flows.length, (j, e) => Object.assign(e, flows[j]));
  return w.done();
}

describe('round plans on the wire', () => {
  it('the account after the plan, its totals and its flow, read back exactly on the account sent', () => {
    // the perpetual reduced to 40 000, the put closed to within 1e-12 of its size (its collateral returns), the ETH perpetual untouched
    const plans = readPlans(written([40_000, -2e-13, 30_000], { BTC: 0.5 + 0.01, USDC: -0 }), [base, base]);
    expect(plans[0]).toBeNull();
    const p = plans[1]!;
    expect(p.totals).toEqual(totals);
    expect(p.account).toEqual({
      id: 'iso-1',
      mode: 'isolated',
      collateral: { BTC: 0.5 + 0.01 + 0.3, USDC: 1_000 },
      positions: [
        { instrument: 'BTC-PERPETUAL', size: 40_000, entryPrice: 95_000, collateral: { BTC: 0.2 } },
        { instrument: 'ETH-PERPETUAL', size: 30_000 },
      ],
    });
    // an untouched position is the object sent (what the book compares against), a resized one a copy
    expect(p.account.positions[1]).toBe(base.positions[2]);
    expect(p.account.positions[0]).not.toBe(base.positions[0]);
    expect(p.flowU).toEqual(['BTC', 'BTC', 'ETH']);
    expect(p.flowNotional).toEqual([100_000, 50_000.25, 0.1]);
    expect(p.flowCoin[0]).toBe(-1.0526315789473684);
    expect(Object.is(p.flowCoin[2], -0)).toBe(true);
    expect(p.fees).toBeNull();
  });

  it('the fees per position where the plan records them (funds per product line), after the own collateral', () => {
    const own: (Record<string, number> | undefined)[] = [{ BTC: 0.15 }, { BTC: -0.05, USDC: 1_000 }, undefined];
    const p = readPlans(written([40_000, 0, 30_000], { BTC: 0.5 }, own, totals, [600, 12.5, 0]), [base, base])[1]!;
    expect(Array.from(p.fees!)).toEqual([600, 12.5, 0]);
    expect(p.account.positions[0].collateral).toEqual({ BTC: 0.15 });
    expect(p.flowU).toEqual(['BTC', 'BTC', 'ETH']);
  });

  it("an isolated plan's own collateral per position: a resized position carries its own, a closed one's (negative) returns to the balances", () => {
    // plan-isolated.ts books a step's cash to the position's own collateral: the perpetual's own BTC 0.2 → 0.15 after a partial close,
    // the put closed whole with its own BTC 0.3 → −0.05 (its deficit: 0.05 BTC at 100 000 = 5 000 USD), its USDC 1 000 untouched
    const t = { ...totals, isolatedDeficit: 5_000 };
    const own: (Record<string, number> | undefined)[] = [{ BTC: 0.15 }, { BTC: -0.05, USDC: 1_000 }, undefined];
    const p = readPlans(written([40_000, 0, 30_000], { BTC: 0.5 }, own, t), [base, base])[1]!;
    expect(p.totals).toEqual(t);
    expect(p.account).toEqual({
      id: 'iso-1',
      mode: 'isolated',
      collateral: { BTC: 0.5 - 0.05, USDC: 1_000 },
      positions: [
        { instrument: 'BTC-PERPETUAL', size: 40_000, entryPrice: 95_000, collateral: { BTC: 0.15 } },
        { instrument: 'ETH-PERPETUAL', size: 30_000 },
      ],
    });
    expect(p.account.positions[1]).toBe(base.positions[2]);
  });

  it('a balance of −0 stays −0 (JSON would have made it 0)', () => {
    const p = readPlans(written([100_000, -2, 30_000], { BTC: 0.5, USDC: -0 }), [base, base])[1]!;
    expect(Object.keys(p.account.collateral)).toEqual(['BTC', 'USDC']);
    expect(Object.is(p.account.collateral.USDC, -0)).toBe(true);
  });

  it('malformed answers are OPTMARGIN_INTERNAL', () => {
    const good = written([1, -2, 3], { BTC: 1 });
    const internal = (f: () => unknown, message: RegExp): void => {
      try {
        f();
        expect.unreachable('no error');
      } catch (e) {
        expect(e).toBeInstanceOf(OptmarginError);
        expect((e as OptmarginError).code).toBe('OPTMARGIN_INTERNAL');
        expect((e as OptmarginError).message).toMatch(message);
      }
    };
    internal(() => readPlans(good, [base]), /2 plans for 1 accounts/);
    internal(() => readPlans({ ...good, num: good.num.subarray(0, good.num.length - 1) }, [base, base]), /3 positions, 3 flow entries/);
    internal(() => readPlans({ ...good, num: Float64Array.of(...good.num, 7) }, [base, base]), /1 numbers left over/);
    internal(() => readPlans(good, [base, { ...base, positions: base.positions.slice(1) }]), /plan 1: 3 positions/);
    const bad = Float64Array.from(good.num);
    bad[2 + 7 + 3 + 1] = 9; // the first flow entry's underlying index
    internal(() => readPlans({ ...good, num: bad }, [base, base]), /names underlying #9 of 2/);
    const isolated = written([1, -2, 3], { BTC: 1 }, [{ BTC: 0.1 }, undefined, undefined]);
    const head = JSON.parse(isolated.head) as { plans: ({ o?: unknown } | null)[] };
    head.plans[1]!.o = [['BTC'], null];
    internal(() => readPlans({ ...isolated, head: JSON.stringify(head) }, [base, base]), /2 own collateral entries for 3 positions/);
  });
});
