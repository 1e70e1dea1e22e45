/**
 * Health of an account from its equity and requirements, the one rule every measure and runner
 * applies: equity < 0 bankrupt; < MM liquidatable; < IM margin call; else healthy.
 */
import type { Health, MarginFigures } from './types.js';

/** Health values by code (the code is the index: worse is higher). */
export const HEALTHS: readonly Health[] = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];

export function healthCode(equity: number, im: number, mm: number): number {
  if (equity < 0) return 3;
  if (equity < mm) return 2;
  if (equity < im) return 1;
  return 0;
}

export function healthOf(equity: number, im: number, mm: number): Health {
  return HEALTHS[healthCode(equity, im, mm)];
}

export function worseHealth(a: Health, b: Health): Health {
  return HEALTHS.indexOf(a) >= HEALTHS.indexOf(b) ? a : b;
}

/** The figures of an account: margin ratio MM / equity (null when equity ≤ 0), available funds equity − IM unless given. */
export function marginFigures(equity: number, im: number, mm: number, available = equity - im, health = healthOf(equity, im, mm)): MarginFigures {
  return { equity, initialMargin: im, maintenanceMargin: mm, marginRatio: equity > 0 ? mm / equity : null, availableFunds: available, health };
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
