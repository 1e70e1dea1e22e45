/**
 * The book's single path: accounts the vectorized path does not cover — every account under a
 * rule-based or Lyra model, and accounts whose input the runner reports an error for — are
 * margined one by one by the account runner (the same measures), their results kept with the
 * underlyings each depends on (a tick re-margins those holding the ticked underlying).
 */
import type { AccountInput, MarginResult } from '../../measures/types.js';
import type { BookAccountResult } from '../../io/results.js';
import { figuresOf } from '../../measures/health.js';
import { ErrorCodes } from '../../errors.js';

/** Underlyings an account's result depends on (positions and non-USD collateral), best effort for invalid input. */
export function touchedUnderlyings(input: unknown): Set<string> {
  const out = new Set<string>();
  const a = input as Partial<AccountInput> | null;
  if (!a || typeof a !== 'object') return out;
  if (Array.isArray(a.positions)) {
    for (const p of a.positions) {
      const name = (p as { instrument?: unknown })?.instrument;
      if (typeof name === 'string') out.add(name.split(/[-_]/)[0]);
      const own = (p as { collateral?: unknown })?.collateral;
      if (own && typeof own === 'object') for (const c of Object.keys(own)) out.add(c);
    }
  }
  if (a.collateral && typeof a.collateral === 'object') for (const c of Object.keys(a.collateral)) out.add(c);
  return out;
}

/** The book's compact view of an account runner result. */
export function fromMarginResult(r: MarginResult): BookAccountResult {
  if (!r.ok) return { id: r.id, ok: false, error: r.error };
  const out: BookAccountResult = {
    id: r.id,
    ok: true,
    mode: r.mode,
    modeApplied: r.modeApplied,
    currency: r.currency,
    ...figuresOf(r),
    collateralValue: r.collateralValue,
    underlyings: [],
  };
  if (r.usd) out.usd = r.usd;
  if (r.grid && r.modeApplied !== 'isolated') {
    out.underlyings = r.grid.map((g) => ({ underlying: g.underlying, worstScenario: g.worstScenario.label, worstLoss: g.worstLoss, initialMargin: g.initialMargin }));
  }
  return out;
}

/** A single-path account's book result under the book's id (inputs without one get #index), or "not computed yet". */
export function singleResult(r: MarginResult | undefined, id: string): BookAccountResult {
  if (!r) return { id, ok: false, error: { code: ErrorCodes.INVALID_OPTION, message: 'not computed yet: call recompute()' } };
  const out = fromMarginResult(r);
  out.id = id;
  return out;
}
