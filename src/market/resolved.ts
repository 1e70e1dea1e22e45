/**
 * The compute-ready market: per underlying, typed arrays of expiry times, log-forwards and
 * compiled smiles, built once from a snapshot. A shocked market is a thin view over the same
 * arrays holding a price multiplier per underlying and a vol shift per smile expiry, so the
 * margin grid can make hundreds of them for the cost of a few small allocations each.
 *
 * Interpolation rules (also in docs/market.md):
 *  - forwards: ln F linear in T between listed expiries (a constant carry rate per segment),
 *    anchored at the index for T = 0; after the last expiry the last segment's carry continues;
 *    T ≤ 0 returns the index.
 *  - vol across expiries, at fixed log-moneyness k = ln(K/F(T)): total variance w = σ²T linear
 *    in T between smile expiries (flat forward variance); before the first smile expiry and
 *    after the last, the implied vol at that k is held constant (w scales with T).
 *  - vol in strike: the smile's own rule (SVI formula, or PCHIP with flat-vol wings).
 *  - shocks: price moves scale index, perpetual and every forward by (1 + move), the smile is
 *    sticky-moneyness (evaluated at ln(K/F_shocked)); vol shifts apply to the implied vol after
 *    interpolation, σ' = σ + shift(T) ('absolute') or σ·(1 + shift(T)) ('relative'), floored at
 *    MIN_SHOCKED_VOL.
 */
import { ErrorCodes, OptmarginError, invalidInput } from '../errors.js';
import { MS_PER_YEAR } from './build.js';
import { compileSmile, type CompiledSmile } from './smile.js';
import { validateSnapshot } from './snapshot.js';
import type { InstrumentQuote, MarketShock, MarketSnapshot, ResolvedMarket, VolShiftSpec } from './types.js';

/** Floor on a shocked implied vol (1% annualised): a downward shift never produces a zero or negative vol. */
export const MIN_SHOCKED_VOL = 0.01;

interface Curve {
  index: number;
  perpetual: number;
  /** forward nodes: T (years) and ln F, including the index at T = 0 */
  fT: Float64Array;
  fLn: Float64Array;
  /** smile expiries */
  sMs: Float64Array;
  sT: Float64Array;
  smiles: CompiledSmile[];
}

interface Base {
  snapshot: MarketSnapshot;
  valuationTime: number;
  underlyings: string[];
  curves: Map<string, Curve>;
  quotes: Map<string, InstrumentQuote> | null;
}

/** One vol-shift layer for one underlying: shift(T) and its value at each smile expiry. */
interface VolLayer {
  relative: boolean;
  fn: (t: number) => number;
  atSmiles: Float64Array;
}

interface ShockState {
  priceMult: Map<string, number>;
  volLayers: Map<string, VolLayer[]>;
  spec: MarketShock | null;
}

function buildBase(snapshot: MarketSnapshot): Base {
  const t0 = snapshot.valuationTime;
  const curves = new Map<string, Curve>();
  for (const u of snapshot.underlyings) {
    const fwd = u.expiries.filter((e) => e.expiry > t0);
    const fT = new Float64Array(fwd.length + 1);
    const fLn = new Float64Array(fwd.length + 1);
    fLn[0] = Math.log(u.index);
    fwd.forEach((e, i) => {
      fT[i + 1] = (e.expiry - t0) / MS_PER_YEAR;
      fLn[i + 1] = Math.log(e.forward);
    });
    const withSmile = fwd.filter((e) => e.smile);
    const sMs = Float64Array.from(withSmile, (e) => e.expiry);
    const sT = Float64Array.from(withSmile, (e) => (e.expiry - t0) / MS_PER_YEAR);
    const smiles = withSmile.map((e, i) => compileSmile(e.smile!, sT[i]));
    curves.set(u.underlying, { index: u.index, perpetual: u.perpetual ?? u.index, fT, fLn, sMs, sT, smiles });
  }
  return {
    snapshot,
    valuationTime: t0,
    underlyings: snapshot.underlyings.map((u) => u.underlying),
    curves,
    quotes: null,
  };
}

/** Turns a VolShiftSpec into shift(T). */
function volShiftFunction(spec: VolShiftSpec, path: string): { fn: (t: number) => number; relative: boolean } {
  if (typeof spec === 'number') {
    if (!Number.isFinite(spec)) throw invalidInput(path, 'must be a finite number', spec);
    return { fn: () => spec, relative: false };
  }
  if (typeof spec === 'function') return { fn: spec, relative: false };
  if (spec && typeof spec === 'object') {
    const mode = spec.mode ?? 'absolute';
    if (mode !== 'absolute' && mode !== 'relative') throw invalidInput(`${path}.mode`, 'must be "absolute" or "relative"', mode);
    const relative = mode === 'relative';
    if (spec.kind === 'parallel') {
      const s = spec.shift;
      if (typeof s !== 'number' || !Number.isFinite(s)) throw invalidInput(`${path}.shift`, 'must be a finite number', s);
      return { fn: () => s, relative };
    }
    if (spec.kind === 'term') {
      const { base, power } = spec;
      const ref = spec.referenceDays ?? 30;
      const minDays = spec.minDays ?? 1;
      if (typeof base !== 'number' || !Number.isFinite(base)) throw invalidInput(`${path}.base`, 'must be a finite number', base);
      if (typeof power !== 'number' || !Number.isFinite(power)) throw invalidInput(`${path}.power`, 'must be a finite number', power);
      if (!(ref > 0)) throw invalidInput(`${path}.referenceDays`, 'must be > 0', ref);
      if (!(minDays > 0)) throw invalidInput(`${path}.minDays`, 'must be > 0', minDays);
      // shift(T) = base × (referenceDays / days)^power, days = T·365 floored at minDays
      return { fn: (t) => base * Math.pow(ref / Math.max(t * 365, minDays), power), relative };
    }
  }
  throw invalidInput(path, 'must be a number, a function of T in years, {kind:"parallel",shift} or {kind:"term",base,power}', spec);
}

function isVolShiftSpec(v: unknown): v is VolShiftSpec {
  return typeof v === 'number' || typeof v === 'function' || (typeof v === 'object' && v !== null && 'kind' in v);
}

class Resolved implements ResolvedMarket {
  readonly snapshot: MarketSnapshot;
  readonly valuationTime: number;
  readonly rate: number;
  readonly underlyings: readonly string[];
  readonly shock: MarketShock | null;
  /** vol()'s one strike and its vol (scratch: volInto's arrays, not two new ones per call) */
  private readonly oneStrike = new Float64Array(1);
  private readonly oneVol = new Float64Array(1);

  constructor(
    private readonly base: Base,
    private readonly state: ShockState,
  ) {
    this.snapshot = base.snapshot;
    this.valuationTime = base.valuationTime;
    this.rate = base.snapshot.rate;
    this.underlyings = base.underlyings;
    this.shock = state.spec;
  }

  private curve(u: string): Curve {
    const c = this.base.curves.get(u);
    if (!c) {
      throw new OptmarginError(
        ErrorCodes.MISSING_MARKET_DATA,
        `market has no underlying ${JSON.stringify(u)} (has ${this.base.underlyings.join(', ') || 'none'})`,
      );
    }
    return c;
  }

  private mult(u: string): number {
    return this.state.priceMult.get(u) ?? 1;
  }

  hasUnderlying(u: string): boolean {
    return this.base.curves.has(u);
  }

  spot(u: string): number {
    return this.curve(u).index * this.mult(u);
  }

  perpetual(u: string): number {
    return this.curve(u).perpetual * this.mult(u);
  }

  timeToExpiry(expiryMs: number): number {
    return (expiryMs - this.valuationTime) / MS_PER_YEAR;
  }

  private forwardAtT(c: Curve, t: number): number {
    const { fT, fLn } = c;
    const n = fT.length;
    if (t <= 0) return c.index;
    if (n === 1) return c.index; // no expiries: flat at the index
    let i = 1;
    while (i < n - 1 && fT[i] < t) i++;
    // segment [i-1, i] contains t, or the last segment extended beyond the last expiry
    const x0 = fT[i - 1], x1 = fT[i];
    const y = fLn[i - 1] + ((fLn[i] - fLn[i - 1]) * (t - x0)) / (x1 - x0);
    return Math.exp(y);
  }

  forward(u: string, expiryMs: number): number {
    const c = this.curve(u);
    return this.forwardAtT(c, this.timeToExpiry(expiryMs)) * this.mult(u);
  }

  smileExpiries(u: string): Float64Array {
    return this.curve(u).sMs;
  }

  private checkT(u: string, expiryMs: number, t: number): void {
    if (!(t > 0)) {
      throw new OptmarginError(
        ErrorCodes.MISSING_MARKET_DATA,
        `${u} expiry ${new Date(expiryMs).toISOString()} is not after the valuation time ${new Date(this.valuationTime).toISOString()}: no implied vol`,
      );
    }
  }

  /** Applies this view's vol layers to a base vol at expiry time t (smile index si ≥ 0 when listed). */
  private shiftVol(layers: VolLayer[] | undefined, sigma: number, t: number, si: number): number {
    if (!layers) return sigma;
    for (const L of layers) {
      const s = si >= 0 ? L.atSmiles[si] : L.fn(t);
      sigma = L.relative ? sigma * (1 + s) : sigma + s;
    }
    return sigma < MIN_SHOCKED_VOL ? MIN_SHOCKED_VOL : sigma;
  }

  volInto(u: string, expiryMs: number, strikes: Float64Array, out: Float64Array, count = strikes.length): void {
    const c = this.curve(u);
    const t = this.timeToExpiry(expiryMs);
    this.checkT(u, expiryMs, t);
    if (c.smiles.length === 0) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `${u} has no volatility smile in the market`);
    }
    const f = this.forwardAtT(c, t) * this.mult(u);
    const lnF = Math.log(f);
    const { sT, smiles } = c;
    const n = sT.length;
    const layers = this.state.volLayers.get(u);
    // locate T among smile expiries once for the batch
    let i = 0;
    while (i < n && sT[i] < t) i++;
    let exact = -1;
    let lo: CompiledSmile, hi: CompiledSmile | null = null;
    let wLo = 0, wHi = 0; // weights on w_lo(k), w_hi(k)
    if (i < n && Math.abs(sT[i] - t) <= 1e-12) {
      exact = i;
      lo = smiles[i];
      wLo = 1;
    } else if (i === 0) {
      lo = smiles[0];
      wLo = t / sT[0]; // constant vol before the first expiry
    } else if (i === n) {
      lo = smiles[n - 1];
      wLo = t / sT[n - 1]; // constant vol after the last expiry
    } else {
      lo = smiles[i - 1];
      hi = smiles[i];
      const a = (t - sT[i - 1]) / (sT[i] - sT[i - 1]); // linear in T: flat forward variance
      wLo = 1 - a;
      wHi = a;
    }
    for (let j = 0; j < count; j++) {
      const k = Math.log(strikes[j]) - lnF;
      let w = wLo * lo.variance(k);
      if (hi) w += wHi * hi.variance(k);
      const sigma = Math.sqrt((w > 0 ? w : 0) / t);
      out[j] = this.shiftVol(layers, sigma, t, exact);
    }
  }

  impliedVolInto(u: string, expiryIndex: number, strikes: Float64Array, out: Float64Array, count = strikes.length): void {
    const c = this.curve(u);
    if (!Number.isInteger(expiryIndex) || expiryIndex < 0 || expiryIndex >= c.smiles.length) {
      throw invalidInput('expiryIndex', `must be an integer in [0, ${c.smiles.length - 1}] for ${u}`, expiryIndex);
    }
    const t = c.sT[expiryIndex];
    const lnF = Math.log(this.forwardAtT(c, t) * this.mult(u));
    const sm = c.smiles[expiryIndex];
    const layers = this.state.volLayers.get(u);
    for (let j = 0; j < count; j++) {
      const w = sm.variance(Math.log(strikes[j]) - lnF);
      out[j] = this.shiftVol(layers, Math.sqrt((w > 0 ? w : 0) / t), t, expiryIndex);
    }
  }

  vol(u: string, expiryMs: number, strike: number): number {
    if (!(strike > 0) || !Number.isFinite(strike)) throw invalidInput('strike', 'must be > 0', strike);
    this.oneStrike[0] = strike;
    this.volInto(u, expiryMs, this.oneStrike, this.oneVol, 1);
    return this.oneVol[0];
  }

  atmVol(u: string, expiryMs: number): number {
    return this.vol(u, expiryMs, this.forward(u, expiryMs));
  }

  shocked(shock: MarketShock): ResolvedMarket {
    if (!shock || typeof shock !== 'object') throw invalidInput('shock', 'must be an object', shock);
    const priceMult = new Map(this.state.priceMult);
    const volLayers = new Map<string, VolLayer[]>();
    for (const [u, ls] of this.state.volLayers) volLayers.set(u, ls.slice());
    const perUnderlying = <T>(v: T | Record<string, T> | undefined, isScalar: (x: unknown) => boolean, path: string): Map<string, T> => {
      const m = new Map<string, T>();
      if (v === undefined) return m;
      if (isScalar(v)) {
        for (const u of this.base.underlyings) m.set(u, v as T);
        return m;
      }
      if (typeof v !== 'object' || v === null) throw invalidInput(path, 'must be a number or an object keyed by underlying', v);
      for (const [u, x] of Object.entries(v as Record<string, T>)) {
        if (!this.base.curves.has(u)) throw invalidInput(`${path}.${u}`, `names no underlying of the market (has ${this.base.underlyings.join(', ')})`, x);
        m.set(u, x);
      }
      return m;
    };
    for (const [u, move] of perUnderlying<number>(shock.priceMove, (x) => typeof x === 'number', 'shock.priceMove')) {
      if (typeof move !== 'number' || !Number.isFinite(move) || !(move > -1)) {
        throw invalidInput(`shock.priceMove.${u}`, 'must be a finite relative move > -1', move);
      }
      priceMult.set(u, (priceMult.get(u) ?? 1) * (1 + move));
    }
    for (const [u, spec] of perUnderlying<VolShiftSpec>(shock.volShift, isVolShiftSpec, 'shock.volShift')) {
      const { fn, relative } = volShiftFunction(spec, `shock.volShift.${u}`);
      const c = this.base.curves.get(u)!;
      const atSmiles = Float64Array.from(c.sT, (t) => fn(t));
      for (let i = 0; i < atSmiles.length; i++) {
        if (!Number.isFinite(atSmiles[i])) throw invalidInput(`shock.volShift.${u}`, `must give a finite shift at T = ${c.sT[i]} years`, atSmiles[i]);
      }
      const ls = volLayers.get(u) ?? [];
      ls.push({ fn, relative, atSmiles });
      volLayers.set(u, ls);
    }
    return new Resolved(this.base, { priceMult, volLayers, spec: shock });
  }

  /** priceRecipe: null with vol layers (their functions do not cross threads). */
  recipe(): { snapshot: MarketSnapshot; base: object; priceMult: Record<string, number> } | null {
    if (this.state.volLayers.size > 0) return null;
    return { snapshot: this.base.snapshot, base: this.base, priceMult: Object.fromEntries(this.state.priceMult) };
  }

  /** withPriceMultipliers: a view of the same base with these multipliers. */
  withMultipliers(priceMult: Record<string, number>): ResolvedMarket {
    return new Resolved(this.base, { priceMult: new Map(Object.entries(priceMult)), volLayers: new Map(), spec: null });
  }

  sameUnderlying(other: unknown, u: string): boolean {
    if (!(other instanceof Resolved) || other.base !== this.base) return false;
    if (this.mult(u) !== other.mult(u)) return false;
    const a = this.state.volLayers.get(u) ?? [];
    const b = other.state.volLayers.get(u) ?? [];
    return a.length === b.length && a.every((l, i) => l === b[i]);
  }

  private quotesMap(): Map<string, InstrumentQuote> {
    if (!this.base.quotes) {
      const m = new Map<string, InstrumentQuote>();
      for (const q of this.base.snapshot.instruments ?? []) m.set(q.name, q);
      this.base.quotes = m;
    }
    return this.base.quotes;
  }

  openInterest(name: string): number | undefined {
    return this.quotesMap().get(name)?.openInterest;
  }

  quote(name: string): InstrumentQuote | undefined {
    return this.quotesMap().get(name);
  }
}

/**
 * Builds the compute-ready market from a snapshot (validated first: a hand-built object gets the
 * same field-path errors as a file).
 */
export function resolveMarket(snapshot: MarketSnapshot): ResolvedMarket {
  const valid = validateSnapshot(snapshot);
  return new Resolved(buildBase(valid), { priceMult: new Map(), volLayers: new Map(), spec: null });
}

/**
 * A price-only view's recipe — its base snapshot and each underlying's price multiplier — so that
 * another thread can rebuild the same market (resolveMarket(snapshot), then withPriceMultipliers:
 * the same doubles); null for a market that is not a resolved view or carries vol shifts.
 */
export function priceRecipe(m: unknown): { snapshot: MarketSnapshot; base: object; priceMult: Record<string, number> } | null {
  if (!(m instanceof Resolved)) return null;
  return m.recipe();
}

/** The resolved market `m` (unshocked) with exactly these price multipliers (priceRecipe's), no vol shift. */
export function withPriceMultipliers(m: ResolvedMarket, priceMult: Record<string, number>): ResolvedMarket {
  if (!(m instanceof Resolved)) throw new OptmarginError(ErrorCodes.INTERNAL, 'withPriceMultipliers needs a resolved market');
  return m.withMultipliers(priceMult);
}
