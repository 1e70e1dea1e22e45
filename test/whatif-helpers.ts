/**
 * References of the what-if tests (liquidation-whatif*.test.ts): an account edited by hand and a
 * fresh margin of it, compared with MarginEngine.figuresAfter within 1e-9.
 */
import { expect } from 'vitest';
import type { MarginEngine } from '../src/runner/account/runner.js';
import type { AccountInput, MarginFigures, PositionChange } from '../src/measures/types.js';

/** The account with position j resized by d and balances moved by `deltas`, built by hand. */
export function edited(a: AccountInput, j: number, d: number, deltas: Record<string, number>): AccountInput {
  const collateral = { ...a.collateral };
  for (const [c, x] of Object.entries(deltas)) collateral[c] = (collateral[c] ?? 0) + x;
  return { ...a, collateral, positions: a.positions.map((p, k) => (k === j ? { ...p, size: p.size + d } : p)) };
}

/** The figures of `a` margined from scratch. */
export function fresh(e: MarginEngine, a: AccountInput): MarginFigures {
  const r = e.figures(a);
  if (!r.ok) throw new Error(r.error.message);
  return r;
}

export function expectClose(got: MarginFigures | null, want: MarginFigures, what: string): void {
  expect(got, what).not.toBeNull();
  for (const k of ['equity', 'initialMargin', 'maintenanceMargin'] as const) {
    expect(Math.abs(got![k] - want[k]), `${what} ${k}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[k])));
  }
}

export const isOption = (name: string): boolean => /-[CP]$/.test(name);

/** A change of position j: at its entry (an option at 0: no premium booked by the change). */
export function changeOf(a: AccountInput, j: number, d: number): PositionChange {
  const p = a.positions[j];
  return { instrument: p.instrument, size: d, entryPrice: isOption(p.instrument) ? 0 : p.entryPrice };
}
