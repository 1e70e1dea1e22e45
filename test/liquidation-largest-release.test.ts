/**
 * The largest-release strategy (Deribit's portfolio-margin liquidation since 2023-08-01, the
 * instrument "contributing the most to the overall margin requirements" first:
 * presets/liquidation/deribit-pm-incremental.json): at every step of a plan, the position whose
 * step releases the most maintenance margin among the steps that improve the gap — checked by
 * brute force, every open position's step margined afresh (MarginEngine.margin of the account
 * after it), on small portfolio accounts under a scenario-grid model and a rule-based one.
 */
import { describe, expect, it } from 'vitest';
import { liquidation, margin } from '../src/index.js';
import type { AccountInput, PositionInput } from '../src/api/margin.js';
import { accountOf, bookingOf, bookInto, executionPrice, liquidationFee, positionFacts } from '../src/liquidation/execution.js';
import { gapOf, improves } from '../src/liquidation/plan-core.js';
import { loadMechanism } from '../src/liquidation/mechanism.js';
import { rng } from './helpers.js';
import { handMech } from './hand-mechanism.js';

const T0 = Date.UTC(2026, 0, 27, 8);
const E30 = T0 + 30 * 86_400_000; // 26FEB26
const market = margin.tableMarket({
  valuationTime: T0,
  underlyings: { BTC: { spot: 100_000, perpetual: 99_000, vol: 0.5, carry: 0.05, expiries: [{ expiry: E30, forward: 100_400, vol: 0.5 }] } },
});
const mech = { ...handMech, plan: { ...handMech.plan, strategy: 'largest-release' as const, buffer: 0 } };

function book(seed: number, mode: AccountInput['mode']): AccountInput {
  const r = rng(seed);
  const positions: PositionInput[] = [
    { instrument: 'BTC-26FEB26-90000-P', size: -Math.round(2 + 6 * r()) },
    { instrument: 'BTC-26FEB26-110000-C', size: -Math.round(2 + 6 * r()) },
    { instrument: 'BTC-26FEB26-100000-C', size: Math.round(1 + 3 * r()) },
    { instrument: 'BTC_USDC-PERPETUAL', size: Math.round(1 + 4 * r()) * (r() < 0.5 ? 1 : -1), entryPrice: 98_000 + 4000 * r() },
  ];
  return { id: `l${seed}`, mode, collateral: { USDC: 2000 + 6000 * r() }, positions };
}

/**
 * Replays plan p of account a step by step; before each step, every open position's next step
 * (its step size or its rest, at the hand mechanism's price and fee) is margined afresh, and
 * the plan's step must be one releasing the most MM among those that improve the gap.
 */
function checkEveryStep(engine: ReturnType<typeof margin.createMarginEngine>, a: AccountInput, p: liquidation.LiquidationPlan): number {
  const facts = a.positions.map((q, k) => positionFacts(engine.table, q, k));
  const rem = a.positions.map((q) => q.size);
  let col = { ...a.collateral };
  const after = (k: number, q: number): { account: AccountInput; col: Record<string, number> } => {
    const c = { ...col };
    const f = facts[k];
    bookInto(c, bookingOf(f, a.positions[k], q, executionPrice(f, q, mech.discount[f.kind]), liquidationFee(mech.fee[f.kind] as never, f, q), ['USDC']));
    const r2 = rem.slice();
    r2[k] -= q;
    if (Math.abs(r2[k]) <= 1e-12 * Math.abs(a.positions[k].size)) r2[k] = 0;
    return { account: accountOf(a, r2, c), col: c };
  };
  for (const s of p.steps) {
    if (s.type !== 'close') throw new Error('close steps expected');
    const cur = engine.margin(accountOf(a, rem, col));
    if (!cur.ok) throw new Error(cur.error.message);
    const g0 = gapOf(cur, 'mm-buffer', 0);
    let best = -Infinity;
    const release: number[] = [];
    rem.forEach((x, k) => {
      if (x === 0) return;
      const q = Math.abs(x) < Math.abs(a.positions[k].size * mech.plan.stepFraction) ? x : a.positions[k].size * mech.plan.stepFraction;
      const r = engine.margin(after(k, q).account);
      if (!r.ok) throw new Error(r.error.message);
      if (!improves(gapOf(r, 'mm-buffer', 0), g0, cur)) return;
      release[k] = cur.maintenanceMargin - r.maintenanceMargin;
      best = Math.max(best, release[k]);
    });
    expect(release[s.position]).toBeGreaterThanOrEqual(best - 1e-9 * Math.abs(best));
    const next = after(s.position, -s.size);
    col = next.col;
    rem[s.position] -= -s.size;
    if (Math.abs(rem[s.position]) <= 1e-12 * Math.abs(a.positions[s.position].size)) rem[s.position] = 0;
  }
  return p.steps.length;
}

describe('largest-release: the step that releases the most MM first (brute force at every step)', () => {
  for (const model of ['deribit-pm-2024.1', 'deribit-standard-2024.1']) {
    it(`${model}: every step of the plans of small accounts`, () => {
      const engine = margin.createMarginEngine({ market, model });
      let steps = 0;
      let plans = 0;
      for (let seed = 1; seed <= 16; seed++) {
        const a = book(seed, model === 'deribit-pm-2024.1' ? 'portfolio' : 'cross');
        const r0 = engine.margin(a);
        if (!r0.ok || gapOf(r0, 'mm-buffer', 0) >= 0) continue;
        const p = liquidation.planLiquidation(engine, a, { mechanism: mech });
        steps += checkEveryStep(engine, a, p);
        plans++;
      }
      expect(plans).toBeGreaterThanOrEqual(4);
      expect(steps).toBeGreaterThanOrEqual(20);
    });
  }

  it('differs from venue order where an option contributes more than the perpetual (deribit-pm-incremental vs deribit-incremental)', () => {
    const engine = margin.createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    // a small long perpetual beside a large short put (both lose as BTC falls): venue order reduces the perpetual first, the PM rule the put
    const a: AccountInput = { id: 'h', mode: 'portfolio', collateral: { USDC: 3000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 0.5 }, { instrument: 'BTC-26FEB26-100000-P', size: -12 }] };
    const r0 = engine.margin(a);
    expect(r0.ok && r0.equity < r0.maintenanceMargin).toBe(true);
    const pm = liquidation.planLiquidation(engine, a, { mechanism: loadMechanism('deribit-pm-incremental') });
    const std = liquidation.planLiquidation(engine, a, { mechanism: loadMechanism('deribit-incremental') });
    const first = (p: liquidation.LiquidationPlan): string => (p.steps[0].type === 'close' ? p.steps[0].instrument : '');
    expect(first(std)).toBe('BTC_USDC-PERPETUAL');
    expect(first(pm)).toBe('BTC-26FEB26-100000-P');
  });
});
