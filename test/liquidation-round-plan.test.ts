/**
 * A cascade round's plan (src/liquidation/plan-round.ts roundPlan): the liquidators' flow of each
 * close step, checked against the plan's steps read by hand (each step's underlying from its
 * instrument's name, notional at the index); and, on a deep crash's plans (venue order and
 * greedy), the round plan's trail (no step objects) against planLiquidation's steps on a second
 * engine, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { liquidation, margin } from '../src/index.js';
import type { AccountInput } from '../src/api/margin.js';
import { roundPlan } from '../src/liquidation/plan-round.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { deltaQty, positionFacts } from '../src/liquidation/execution.js';

const T0 = Date.UTC(2026, 0, 27, 8);
const market = margin.tableMarket({
  valuationTime: T0,
  underlyings: { BTC: { spot: 100_000, perpetual: 100_000, vol: 0.5 }, ETH: { spot: 3_000, perpetual: 3_000, vol: 0.7 } },
});
const engine = margin.createMarginEngine({ market, model: 'deribit-standard-2024.1' });
const mech = liquidation.loadMechanism('deribit-incremental');
const cross = (usdc: number, btc: number, eth: number): AccountInput => ({
  id: 'x',
  mode: 'cross',
  collateral: { USDC: usdc },
  positions: [
    { instrument: 'BTC_USDC-PERPETUAL', size: btc, entryPrice: 100_000 },
    { instrument: 'ETH_USDC-PERPETUAL', size: eth, entryPrice: 3_000 },
  ],
});

/** The underlyings the plan's close steps closed (the name's coin before '_'). */
function byHand(p: liquidation.LiquidationPlan): Set<string> {
  const by = new Set<string>();
  for (const s of p.steps) if (s.type === 'close') by.add(s.instrument.split('_')[0]);
  return by;
}

describe('a round plan: its flow', () => {
  it('an account closed on both underlyings: the flow step by step', () => {
    // deep under water: 1 BTC (100 000 USD) and 50 ETH (150 000 USD) long, 1 000 USDC against ~5 000 of MM at 2 % +
    for (const [btc, eth] of [[1, 50], [2, 20]] as const) {
      const a = margin.validateAccount(cross(1_000, btc, eth));
      const plan = liquidation.planLiquidation(engine, a, { mechanism: mech, validated: true });
      const r = roundPlan(engine, a, mech, {})!;
      expect([...byHand(plan)].sort()).toEqual(['BTC', 'ETH']);
      // one flow entry per close step: its underlying, its notional, the liquidator's net coin (it sells what the account was long)
      const closes = plan.steps.filter((s) => s.type === 'close');
      expect(r.flowU).toEqual(closes.map((s) => (s as liquidation.CloseStep).instrument.split('_')[0]));
      expect(r.flowNotional).toEqual(closes.map((s) => s.notionalUsd));
      closes.forEach((s, j) => expect(r.flowCoin[j]).toBeCloseTo((s as liquidation.CloseStep).size, 12)); // the step sells: the account's trade, in coin
    }
  });

  it('nothing to close: no round plan', () => {
    expect(roundPlan(engine, margin.validateAccount(cross(1e6, 1, 1)), mech, {})).toBeNull();
  });
});

describe('a round plan from the plan’s trail', () => {
  it('deep crash: totals, after account and flow equal to planLiquidation’s steps, bit for bit (venue order, greedy)', () => {
    const base = resolveMarket(defaultMarket());
    const { accounts } = generateBook({ accounts: 1_500, seed: 3, market: base });
    const moved = base.shocked({ priceMove: { BTC: -0.36, ETH: -0.288 } });
    const model = 'deribit-pm-2024.1';
    const mine = new MarginEngine({ market: moved, model });
    const ref = new MarginEngine({ market: moved, model });
    const under = accounts.map((a) => margin.validateAccount(a)).filter((a) => {
      const r = ref.figures(a);
      return r.ok && r.equity < r.maintenanceMargin;
    });
    expect(under.length).toBeGreaterThan(100);
    const venue = liquidation.loadMechanism('deribit-incremental');
    const greedy = liquidation.loadMechanism({ ...venue, id: 'greedy-test', plan: { ...venue.plan!, strategy: 'greedy' } });
    let steps = 0;
    for (const mech of [venue, greedy]) {
      const prior = { BTC: 2e6 };
      for (const a of under) {
        const r = roundPlan(mine, a, mech, prior);
        const plan = liquidation.planLiquidation(ref, a, { mechanism: mech, priorNotional: prior, validated: true });
        const closes = plan.steps.filter((s): s is liquidation.CloseStep => s.type === 'close');
        if (closes.length === 0) {
          expect(r).toBeNull();
          continue;
        }
        steps += closes.length;
        expect(r!.totals).toEqual(plan.totals);
        expect(r!.account).toEqual(plan.after.account);
        const facts = closes.map((s) => positionFacts(ref.table, a.positions[s.position], s.position));
        expect(r!.flowU).toEqual(facts.map((f) => f.underlying));
        expect(r!.flowNotional).toEqual(closes.map((s) => s.notionalUsd));
        expect(r!.flowCoin).toEqual(closes.map((s, j) => -deltaQty(ref.table, facts[j], -s.size)));
      }
    }
    expect(steps).toBeGreaterThan(10_000);
    // nothing of one plan leaks into the next (a thread's scratch and arrays are reused plan after plan): the same plans in reverse order
    const forward = under.map((a) => JSON.stringify(roundPlan(mine, a, venue, {})));
    const backward = under.map((_, j) => JSON.stringify(roundPlan(mine, under[under.length - 1 - j], venue, {}))).reverse();
    expect(backward).toEqual(forward);
  });
});
