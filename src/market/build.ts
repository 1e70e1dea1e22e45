/**
 * Builds a MarketSnapshot from a list of instrument quotes (an option chain plus futures and
 * perpetual marks): one forward and one fitted SVI smile per expiry. Shared by the Deribit CSV
 * and book-summary readers.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { formatExpiryCode } from './instruments.js';
import { normCdf } from '../pricing/reference.js';
import { compileSmile, splineSmile } from './smile.js';
import { fitSvi, smileFitStats } from './svi.js';
import { MARKET_FORMAT } from './types.js';
import type {
  ExpiryMarket,
  ForwardSource,
  FutureInstrument,
  InstrumentQuote,
  MarketSnapshot,
  OptionInstrument,
  Smile,
  UnderlyingMarket,
} from './types.js';

export const MS_PER_YEAR = 365 * 86_400_000;

export interface ChainOption {
  inst: OptionInstrument;
  quote: InstrumentQuote;
  /** Name of the future the option references, e.g. 'BTC-27MAR26' or 'SYN.BTC-20FEB26'. */
  underlyingName?: string;
}

export interface ChainInput {
  valuationTime: number;
  rate: number;
  source?: string;
  /** index observations per underlying (the median is used: rows may be stamped a little apart) */
  index: Map<string, number[]>;
  perpetual: Map<string, number>;
  futures: { inst: FutureInstrument; quote: InstrumentQuote }[];
  options: ChainOption[];
  /** quotes of perpetuals and spot pairs, kept with the others */
  otherQuotes?: InstrumentQuote[];
  /** keep per-instrument quotes (marks, IVs, open interest) in the snapshot; default true */
  keepQuotes?: boolean;
}

export interface BuildOptions {
  /** keep per-instrument quotes in the snapshot (default true) */
  keepQuotes?: boolean;
  /** restrict to these underlyings */
  underlyings?: string[];
  source?: string;
  /**
   * Smile stored per expiry: 'spline' (default) = PCHIP in total variance through the mark IVs,
   * reproducing them; 'svi' = the raw SVI fit (compact, smoother, not exact at the marks).
   * The SVI fit is computed in both cases (`svi`, `sviFit` of each expiry).
   */
  smileModel?: 'spline' | 'svi';
}

/** |Δvol| (0.1 vol point) below which neighbouring end quotes count as one flat, extrapolated run. */
const FLAT_WING_TOL = 1e-3;

/**
 * Indices [lo, hi] of the quotes to fit SVI to: Deribit flat-extrapolates its marks beyond the
 * last strikes it trusts (runs of identical IVs at the ends of a chain); a linear-wing SVI cannot
 * follow that, so each flat end run is reduced to its innermost point.
 */
export function trimFlatWings(vol: number[]): [number, number] {
  let lo = 0;
  let hi = vol.length - 1;
  while (lo < hi && Math.abs(vol[lo + 1] - vol[lo]) < FLAT_WING_TOL) lo++;
  while (hi > lo && Math.abs(vol[hi - 1] - vol[hi]) < FLAT_WING_TOL) hi--;
  return [lo, hi];
}

export function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/**
 * Forward implied by put–call parity on option marks of one expiry. Undiscounted (rate 0):
 *   linear:  C − P = F − K                  ⇒ F = K + (C − P)
 *   inverse: C − P = (F − K)/F  (in coin)   ⇒ F = K / (1 − (C − P))
 * Uses the `nStrikes` strikes with the smallest |C − P| (nearest the money, where both marks are
 * most informative) and returns the median of their implied forwards; NaN if no strike has both.
 */
export function parityForward(
  pairs: { strike: number; call: number; put: number }[],
  settlement: 'inverse' | 'linear',
  nStrikes = 3,
): number {
  const usable = pairs
    .filter((p) => Number.isFinite(p.call) && Number.isFinite(p.put))
    .map((p) => ({ ...p, diff: p.call - p.put }))
    .filter((p) => settlement === 'linear' || p.diff < 1)
    .sort((x, y) => Math.abs(settlement === 'linear' ? x.diff / x.strike : x.diff) - Math.abs(settlement === 'linear' ? y.diff / y.strike : y.diff));
  const f = usable.slice(0, nStrikes).map((p) => (settlement === 'linear' ? p.strike + p.diff : p.strike / (1 - p.diff)));
  return f.length ? median(f) : NaN;
}

/**
 * Weights of the SVI fit ∝ Black vega of each quote relative to the ATM vega, n(d1)/n(0), floored
 * at SVI_WEIGHT_FLOOR: the fit follows prices where options are worth something (near the money)
 * and does not let stale far-wing marks bend the body; the floor keeps the wings in the fit.
 */
export const SVI_WEIGHT_FLOOR = 0.1;
function vegaWeights(k: number[], vol: number[], t: number): number[] {
  return k.map((ki, i) => {
    const sd = vol[i] * Math.sqrt(t);
    const d1 = -ki / sd + sd / 2;
    return Math.max(Math.exp(-0.5 * d1 * d1), SVI_WEIGHT_FLOOR);
  });
}

/**
 * Static-arbitrage check of a smile among its listed strikes, what a trader could actually
 * combine: undiscounted Black call prices per unit forward, c_i = C(K_i)/F, must decrease in K
 * with call-spread slopes in [−1, 0] and be convex (butterflies ≥ 0), within 1e-9 for rounding.
 * (A pointwise density test is stricter: an interpolant forced through marks that wiggle by a
 * tenth of a vol point has local negative densities between listed strikes.)
 */
export function listedStrikesArbitrageFree(k: number[], vol: number[], t: number): boolean {
  const n = k.length;
  const x = k.map(Math.exp); // K/F
  const c = k.map((ki, i) => {
    const sd = vol[i] * Math.sqrt(t);
    const d1 = -ki / sd + sd / 2;
    return normCdf(d1) - x[i] * normCdf(d1 - sd);
  });
  const TOL = 1e-9;
  let prevSlope = -1 - TOL;
  for (let i = 0; i + 1 < n; i++) {
    const slope = (c[i + 1] - c[i]) / (x[i + 1] - x[i]);
    if (slope > TOL || slope < -1 - TOL) return false;
    if (slope < prevSlope - TOL) return false;
    prevSlope = slope;
  }
  return true;
}

function errorsOf(smile: Smile, k: number[], vol: number[], t: number): { rmsVolError: number; maxVolError: number } {
  const c = compileSmile(smile, t);
  let sse = 0;
  let max = 0;
  for (let i = 0; i < k.length; i++) {
    const e = Math.abs(Math.sqrt(Math.max(c.variance(k[i]), 0) / t) - vol[i]);
    sse += e * e;
    if (e > max) max = e;
  }
  return { rmsVolError: Math.sqrt(sse / k.length), maxVolError: max };
}

export function buildSnapshot(chain: ChainInput, opts: BuildOptions = {}): MarketSnapshot {
  const wanted = opts.underlyings ? new Set(opts.underlyings) : null;
  const keepQuotes = opts.keepQuotes ?? chain.keepQuotes ?? true;
  const t0 = chain.valuationTime;

  const names = new Set<string>();
  for (const u of chain.index.keys()) names.add(u);
  for (const o of chain.options) names.add(o.inst.underlying);
  for (const f of chain.futures) names.add(f.inst.underlying);
  const underlyings: UnderlyingMarket[] = [];

  for (const u of [...names].sort()) {
    if (wanted && !wanted.has(u)) continue;
    const idx = chain.index.get(u);
    if (!idx || idx.length === 0) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `no index price for ${u} in the source data`);
    }
    const index = median(idx);
    // Group by expiry instant.
    const byExpiry = new Map<number, { options: ChainOption[]; future?: { name: string; mark: number } }>();
    const slot = (e: number) => {
      let s = byExpiry.get(e);
      if (!s) byExpiry.set(e, (s = { options: [] }));
      return s;
    };
    for (const o of chain.options) if (o.inst.underlying === u && o.inst.expiry > t0) slot(o.inst.expiry).options.push(o);
    for (const f of chain.futures) {
      if (f.inst.underlying !== u || !(f.inst.expiry > t0) || !(f.quote.markPrice! > 0)) continue;
      // an inverse future's mark is the forward of that expiry; prefer it over a linear one
      const s = slot(f.inst.expiry);
      if (!s.future || f.inst.settlement === 'inverse') s.future = { name: f.inst.name, mark: f.quote.markPrice! };
    }
    const expiries: ExpiryMarket[] = [];
    for (const e of [...byExpiry.keys()].sort((a, b) => a - b)) {
      const s = byExpiry.get(e)!;
      const t = (e - t0) / MS_PER_YEAR;
      let forward: number;
      let forwardSource: ForwardSource;
      let futureName: string | undefined;
      const refPrices = s.options.map((o) => o.quote.underlyingPrice).filter((p): p is number => p !== undefined && p > 0);
      if (s.future) {
        forward = s.future.mark;
        forwardSource = 'future';
        futureName = s.future.name;
      } else if (refPrices.length > 0) {
        // the option rows' own underlying price: a listed future or Deribit's synthetic forward
        forward = median(refPrices);
        futureName = s.options.find((o) => o.underlyingName)?.underlyingName;
        forwardSource = futureName?.startsWith('SYN.') ? 'synthetic' : futureName ? 'future' : 'synthetic';
      } else {
        const pairs = new Map<number, { strike: number; call: number; put: number }>();
        let settlement: 'inverse' | 'linear' = 'inverse';
        for (const o of s.options) {
          if (o.quote.markPrice === undefined) continue;
          settlement = o.inst.settlement;
          const p = pairs.get(o.inst.strike) ?? { strike: o.inst.strike, call: NaN, put: NaN };
          p[o.inst.optionType] = o.quote.markPrice;
          pairs.set(o.inst.strike, p);
        }
        forward = parityForward([...pairs.values()], settlement);
        forwardSource = 'parity';
        if (!(forward > 0)) {
          throw new OptmarginError(
            ErrorCodes.MISSING_MARKET_DATA,
            `${u} ${formatExpiryCode(e)}: no future, no underlying price and no call/put pair at one strike to imply a forward`,
          );
        }
      }
      const em: ExpiryMarket = { expiry: e, forward, forwardSource };
      if (futureName) em.futureName = futureName;
      // Smile: one vol per strike (Deribit marks calls and puts of a strike off one smile; average
      // the two IVs, which agree to the 4th decimal).
      const volsByStrike = new Map<number, number[]>();
      for (const o of s.options) {
        const iv = o.quote.markIv;
        if (iv === undefined || !(iv > 0)) continue;
        const arr = volsByStrike.get(o.inst.strike) ?? [];
        arr.push(iv);
        volsByStrike.set(o.inst.strike, arr);
      }
      const strikes = [...volsByStrike.keys()].sort((a, b) => a - b);
      if (s.options.length > 0) em.listedStrikes = [...new Set(s.options.map((o) => o.inst.strike))].sort((a, b) => a - b);
      if (strikes.length >= 1) {
        const k = strikes.map((K) => Math.log(K / forward));
        const vol = strikes.map((K) => {
          const v = volsByStrike.get(K)!;
          return v.reduce((x, y) => x + y, 0) / v.length;
        });
        const spline = splineSmile(k, vol);
        const [lo, hi] = trimFlatWings(vol);
        if (hi - lo + 1 >= 3) {
          const kk = k.slice(lo, hi + 1);
          const vv = vol.slice(lo, hi + 1);
          const fit = fitSvi({ k: kk, vol: vv, t, weight: vegaWeights(kk, vv, t) });
          // errors over ALL quoted strikes, flat wings included
          const all = { ...fit, ...errorsOf(fit.smile, k, vol, t) };
          em.svi = fit.smile;
          em.sviFit = smileFitStats(strikes, all);
        }
        if ((opts.smileModel ?? 'spline') === 'svi' && em.svi) {
          em.smile = em.svi;
          em.fit = em.sviFit;
          delete em.svi;
          delete em.sviFit;
        } else {
          em.smile = spline;
          const st = errorsOf(spline, k, vol, t);
          em.fit = smileFitStats(strikes, { ...st, butterflyFree: listedStrikesArbitrageFree(k, vol, t) });
        }
      }
      expiries.push(em);
    }
    const um: UnderlyingMarket = { underlying: u, index, expiries };
    const perp = chain.perpetual.get(u);
    if (perp !== undefined && perp > 0) um.perpetual = perp;
    underlyings.push(um);
  }
  if (underlyings.length === 0) {
    throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, 'the source data has no underlying with an index price');
  }
  const source = opts.source ?? chain.source;
  const snap: MarketSnapshot = { format: MARKET_FORMAT, valuationTime: t0, rate: chain.rate, ...(source ? { source } : {}), underlyings };
  if (keepQuotes) {
    const keep = (u: string) => !wanted || wanted.has(u);
    snap.instruments = [
      ...(chain.otherQuotes ?? []).filter((q) => keep(q.name.split(/[-_]/)[0])),
      ...chain.futures.filter((f) => keep(f.inst.underlying)).map((f) => f.quote),
      ...chain.options.filter((o) => keep(o.inst.underlying)).map((o) => o.quote),
    ];
  }
  return snap;
}
