/**
 * What the margin engine reads from a market: a subset of the market model's ResolvedMarket
 * (src/market/types.ts), so any ResolvedMarket works, plus `tableMarket`, a small explicit
 * market (spot, perpetual, forward and vols per expiry/strike) for hand-checked tests and for
 * venues whose feeds give a vol per strike (Lyra/Derive golden cases).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { ResolvedMarket } from './types.js';
import { marketHash } from './snapshot.js';
import { MARKET_FORMAT, type MarketSnapshot } from './types.js';
import { hashOf } from '../platform/hash.js';

export type MarginMarket = Pick<
  ResolvedMarket,
  'valuationTime' | 'rate' | 'hasUnderlying' | 'spot' | 'perpetual' | 'forward' | 'timeToExpiry' | 'vol'
> & {
  /** Serialisable snapshot (hashed into every result) when the market has one. */
  readonly snapshot?: unknown;
  /** A precomputed hash of the market data (takes precedence over hashing `snapshot`). */
  readonly hash?: string;
};

const MS_PER_YEAR = 365 * 86_400_000;

/** Hash of the market data every result carries (sha256 hex; the market model's marketHash for snapshots). */
export function marketHashOf(market: MarginMarket): string {
  if (market.hash) return market.hash;
  const snap = market.snapshot as { format?: unknown } | undefined;
  // market snapshots hash as the market model hashes them (sha256 of its canonical JSON)
  if (snap && snap.format === MARKET_FORMAT) return marketHash(snap as MarketSnapshot);
  if (snap !== undefined) return hashOf(snap);
  return 'unhashed';
}

export interface TableExpiry {
  /** Expiry instant, ms since epoch UTC. */
  expiry: number;
  /** Forward, USD per coin. */
  forward: number;
  /** Flat vol for strikes not listed in `vols`. */
  vol?: number;
  /** Vol per strike (exact strike match), annualised. */
  vols?: Record<string, number>;
}

export interface TableUnderlying {
  spot: number;
  /** Perpetual mark (default: the spot). */
  perpetual?: number;
  /** Flat vol for expiries not listed. */
  vol?: number;
  /** Annualised carry for unlisted expiries: F = spot × exp(carry × T) (default 0). */
  carry?: number;
  expiries?: TableExpiry[];
}

export interface TableMarketSpec {
  valuationTime: number;
  rate?: number;
  underlyings: Record<string, TableUnderlying>;
}

/**
 * A market given by explicit tables. Forwards of unlisted expiries follow the carry; vols are
 * looked up by exact strike, then the expiry's flat vol, then the underlying's flat vol.
 */
export function tableMarket(spec: TableMarketSpec): MarginMarket {
  const rate = spec.rate ?? 0;
  const need = (u: string): TableUnderlying => {
    const d = spec.underlyings[u];
    if (!d) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no underlying ${JSON.stringify(u)}`);
    return d;
  };
  const exp = (u: string, expiryMs: number): TableExpiry | undefined => need(u).expiries?.find((e) => e.expiry === expiryMs);
  const market: MarginMarket = {
    valuationTime: spec.valuationTime,
    rate,
    snapshot: spec,
    hasUnderlying: (u) => spec.underlyings[u] !== undefined,
    spot: (u) => need(u).spot,
    perpetual: (u) => need(u).perpetual ?? need(u).spot,
    timeToExpiry: (e) => (e - spec.valuationTime) / MS_PER_YEAR,
    forward: (u, e) => {
      const x = exp(u, e);
      if (x) return x.forward;
      const d = need(u);
      const t = (e - spec.valuationTime) / MS_PER_YEAR;
      return d.spot * Math.exp((d.carry ?? 0) * Math.max(t, 0));
    },
    vol: (u, e, k) => {
      const x = exp(u, e);
      const v = x?.vols?.[String(k)] ?? x?.vol ?? need(u).vol;
      if (v === undefined || !(v > 0)) {
        throw new OptmarginError(
          ErrorCodes.MISSING_MARKET_DATA,
          `the market has no vol for ${u} expiry ${new Date(e).toISOString()} strike ${k}`,
        );
      }
      return v;
    },
  };
  return market;
}

/**
 * The market with one underlying's index, perpetual and forwards multiplied by (1 + move),
 * the smile sticky in moneyness (vol at K is the base vol at K/(1 + move)). Used by the
 * liquidation-price search; other underlyings are unchanged.
 */
export function movedMarket(base: MarginMarket, underlying: string, move: number, baseHash = marketHashOf(base)): MarginMarket {
  const f = 1 + move;
  return {
    valuationTime: base.valuationTime,
    rate: base.rate,
    hash: `${baseHash}:${underlying}${move >= 0 ? '+' : ''}${move}`,
    hasUnderlying: (u) => base.hasUnderlying(u),
    spot: (u) => (u === underlying ? base.spot(u) * f : base.spot(u)),
    perpetual: (u) => (u === underlying ? base.perpetual(u) * f : base.perpetual(u)),
    forward: (u, e) => (u === underlying ? base.forward(u, e) * f : base.forward(u, e)),
    timeToExpiry: (e) => base.timeToExpiry(e),
    vol: (u, e, k) => (u === underlying ? base.vol(u, e, k / f) : base.vol(u, e, k)),
  };
}

const hashMemo = new WeakMap<object, string>();
/** marketHashOf, memoized per market object and per snapshot (a shocked view shares its base's snapshot). */
export function memoMarketHash(market: MarginMarket): string {
  const m = market as object;
  let h = hashMemo.get(m);
  if (h !== undefined) return h;
  const snap = market.snapshot;
  if (market.hash === undefined && snap !== null && typeof snap === 'object') {
    h = hashMemo.get(snap);
    if (h === undefined) {
      h = marketHashOf(market);
      hashMemo.set(snap, h);
    }
  } else h = marketHashOf(market);
  hashMemo.set(m, h);
  return h;
}

