/**
 * Health of an account from its equity and requirements, the one rule every measure and runner
 * applies: equity < 0 bankrupt; < MM liquidatable; < IM margin call; else healthy.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { Health, MarginFigures, MarginResultOk } from './types.js';

/** Health values by code (the code is the index: worse is higher). */
export const HEALTHS: readonly Health[] = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];

export function healthCode(equity: number, im: number, mm: number): number {
  if (equity < 0) return 3;
  if (equity < mm) return 2;
  if (equity < im) return 1;
  return 0;
}

/**
 * Health code of an isolated account: its worst position's (each margined on its own collateral),
 * except that an account whose equity is negative — its own balances owe more than its positions'
 * equity — is bankrupt (the one rule's first clause, on the account's equity), whatever its
 * positions' health. A negative account-level balance is no position's: without this an isolated
 * account with a negative equity was reported healthy.
 */
export function isolatedHealthCode(worstPosition: number, equity: number): number {
  return equity < 0 ? 3 : worstPosition;
}

/**
 * How far an account stands above the health rule's liquidatable line (< 0: liquidatable or
 * bankrupt): equity − MM; for an isolated account, the least of each position's own equity − own
 * MM and the account's equity (isolatedHealthCode: its worst position's health, or bankrupt when
 * its equity is negative). What a liquidation price solves for (liquidation/price.ts).
 */
export function liquidationGap(r: Pick<MarginResultOk, 'equity' | 'maintenanceMargin' | 'modeApplied' | 'positions'>): number {
  if (r.modeApplied !== 'isolated') return r.equity - r.maintenanceMargin;
  let gap = r.equity;
  for (const p of r.positions) {
    if (p.equity === undefined || p.maintenanceMargin === undefined) {
      throw new OptmarginError(ErrorCodes.INTERNAL, `an isolated margin result has no own figures for position ${p.index}`);
    }
    gap = Math.min(gap, p.equity - p.maintenanceMargin);
  }
  return gap;
}

export function healthOf(equity: number, im: number, mm: number): Health {
  return HEALTHS[healthCode(equity, im, mm)];
}

export function worseHealth(a: Health, b: Health): Health {
  return HEALTHS.indexOf(a) >= HEALTHS.indexOf(b) ? a : b;
}

/** The figures of an account: margin ratio MM / equity (null when equity ≤ 0), available funds equity − IM unless given. */
export function marginFigures(equity: number, im: number, mm: number, available = equity - im, health = healthOf(equity, im, mm)): MarginFigures {
  return { equity, initialMargin: im, maintenanceMargin: mm, marginRatio: marginRatio(equity, mm), availableFunds: available, health };
}

function marginRatio(equity: number, mm: number): number | null {
  return equity > 0 ? mm / equity : null;
}

/** marginFigures written into `out` (a caller's object, rewritten: no object per call); returns `out`. */
export function marginFiguresInto(out: MarginFigures, equity: number, im: number, mm: number, available: number, health: Health): MarginFigures {
  out.equity = equity;
  out.initialMargin = im;
  out.maintenanceMargin = mm;
  out.marginRatio = marginRatio(equity, mm);
  out.availableFunds = available;
  out.health = health;
  return out;
}

/** The figures `r` copied into `out` (rewritten); returns `out`. */
export function copyFiguresInto(out: MarginFigures, r: MarginFigures): MarginFigures {
  out.equity = r.equity;
  out.initialMargin = r.initialMargin;
  out.maintenanceMargin = r.maintenanceMargin;
  out.marginRatio = r.marginRatio;
  out.availableFunds = r.availableFunds;
  out.health = r.health;
  return out;
}

/** The figures of a margin result (its equity, IM, MM, ratio, available funds, health). */
export function figuresOf(r: MarginFigures): MarginFigures {
  return {
    equity: r.equity,
    initialMargin: r.initialMargin,
    maintenanceMargin: r.maintenanceMargin,
    marginRatio: r.marginRatio,
    availableFunds: r.availableFunds,
    health: r.health,
  };
}
