/**
 * Vol shocks of scenario sets. The term shock of a margin grid (Deribit PM, SPAN-style,
 * Lyra/Derive): size(days) = base × (referenceDays / max(days, minDays))^power, with
 * `longTermPower` beyond `longTermAfterDays` when given; relative σ' = σ(1 ± size) (down floored
 * at `floor`), absolute σ' = σ ± size.
 */
import type { VolShock, VolShockParams } from './types.js';

/** Size of the term vol shock of an expiry `t` years away, before its sign. */
export function volShockSize(p: VolShockParams, base: number, t: number): number {
  const days = Math.max(t * 365, p.minDays);
  const power = p.longTermPower !== undefined && days > (p.longTermAfterDays ?? 30) ? p.longTermPower : p.power;
  return base * Math.pow(p.referenceDays / days, power);
}

/** The shocked vol given the shock's size for this expiry (+1 up, −1 down, 0 unchanged). */
export function applyVolShock(p: VolShockParams, vol: number, dir: number, size: number): number {
  if (dir === 0) return vol;
  if (dir > 0) return p.mode === 'relative' ? vol * (1 + size) : vol + size;
  return Math.max(p.floor, p.mode === 'relative' ? vol * (1 - size) : vol - size);
}

export function shockVol(p: VolShockParams, vol: number, dir: number, t: number): number {
  if (dir === 0) return vol;
  return applyVolShock(p, vol, dir, dir > 0 ? volShockSize(p, p.up, t) : volShockSize(p, p.down, t));
}

/**
 * The term shock's sizes (volShockSize up and down) per expiry, each computed once per distinct
 * params and `t` and kept: a revaluation prices hundreds of options on about a dozen expiries, in
 * no order of expiry (two Math.pow per option group before). Same doubles as volShockSize (they
 * are its results).
 */
export class TermShockSizes {
  private readonly params: VolShockParams[] = [];
  private readonly t: number[] = [];
  private readonly up: number[] = [];
  private readonly down: number[] = [];

  /** The index of the sizes of expiry t under p (see upAt / downAt), computed on its first call. */
  of(p: VolShockParams, t: number): number {
    const n = this.params.length;
    for (let e = 0; e < n; e++) if (this.params[e] === p && (this.t[e] === t || (t !== t && this.t[e] !== this.t[e]))) return e; // NaN: one entry too
    this.params.push(p);
    this.t.push(t);
    this.up.push(volShockSize(p, p.up, t));
    this.down.push(volShockSize(p, p.down, t));
    return n;
  }

  upAt(e: number): number {
    return this.up[e];
  }

  downAt(e: number): number {
    return this.down[e];
  }
}

/**
 * Writes the shocked vol of every scenario of one option (strike K, forward F, expiry `t` years
 * away) into out[0..n): base[s] is the scenario's unshocked vol (the smile read at the moved
 * strike), moves[s] the scenario's relative move of F. A term shock's sizes come from `sizes`
 * (kept per expiry: the caller's across its options).
 */
export function shockedVolsInto(shock: VolShock, t: number, K: number, F: number, moves: Float64Array, base: Float64Array, n: number, out: Float64Array, sizes: TermShockSizes): void {
  if (shock.kind === 'term') {
    const p = shock.params;
    const e = sizes.of(p, t);
    const up = sizes.upAt(e);
    const down = sizes.downAt(e);
    for (let s = 0; s < n; s++) {
      const dir = shock.dir[s];
      out[s] = applyVolShock(p, base[s], dir, dir > 0 ? up : down);
    }
    return;
  }
  const days = t * 365;
  for (let s = 0; s < n; s++) out[s] = surfaceVolAt(shock, s, base[s], days, K, F * (1 + moves[s]));
}

export type SurfaceShock = Extract<VolShock, { kind: 'surface' }>;

/**
 * The 'surface' shock of scenario s, the one rule for risk sets (revaluation and stressed markets):
 * σ' = max(floor, σ × ratio[s] + shift(s, days, ln(K/F'))); `sigma` is the smile read at the moved
 * strike (sticky moneyness), F' the moved forward.
 */
export function surfaceVolAt(shock: SurfaceShock, s: number, sigma: number, days: number, K: number, movedForward: number): number {
  const v = sigma * shock.ratio[s] + (shock.shift ? shock.shift(s, days, Math.log(K / movedForward)) : 0);
  return v < shock.floor ? shock.floor : v;
}
