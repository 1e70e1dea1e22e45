/**
 * Positions re-struck at each as-of date (for backtests and dynamic margin of standing
 * strategies, e.g. "a short 30-day ATM straddle re-struck daily"):
 *   { "atm": { "underlying": "BTC", "type": "call" | "put", "days": 30,
 *              "settlement": "linear" | "inverse", "strikeStep": 1000 }, "size": -1 }
 * materialises, on a market valued at instant V, as the listed-style option with strike
 * round(S / strikeStep) · strikeStep and expiry at 08:00 UTC of the day V + days
 * (BTC_USDC-18AUG26-64000-C for linear, BTC-18AUG26-64000-C for inverse).
 */
import { check, invalidInput } from '../errors.js';
import { EXPIRY_HOUR_UTC, formatExpiryCode } from '../market/instruments.js';
import type { MarginMarket } from '../market/margin-market.js';
import { riskAccount } from '../scenarios/holdings.js';
import type { AccountInput } from '../instruments/types.js';

/** What re-striking reads of a market: its valuation instant and its underlyings' spots. */
export type StrikeMarket = Pick<MarginMarket, 'valuationTime' | 'hasUnderlying' | 'spot'>;

/** A StrikeMarket as plain data, to cross threads (the ingestion workers re-strike a risk book's `atm` positions: io/ingest.ts). */
export interface StrikeSpec {
  valuationTime: number;
  /** spot of each underlying of the market */
  spots: Record<string, number>;
}

/** The StrikeMarket of `market`, whose underlyings are `underlyings`, as plain data. */
export function strikeSpec(market: StrikeMarket, underlyings: readonly string[]): StrikeSpec {
  const spots: Record<string, number> = {};
  for (const u of underlyings) if (market.hasUnderlying(u)) spots[u] = market.spot(u);
  return { valuationTime: market.valuationTime, spots };
}

/** The StrikeMarket a StrikeSpec describes (the same spots and instant: the same instruments struck). */
export function strikeMarket(s: StrikeSpec): StrikeMarket {
  return { valuationTime: s.valuationTime, hasUnderlying: (u) => Object.hasOwn(s.spots, u), spot: (u) => s.spots[u] };
}

/** A risk input entry as an account: its `atm` positions struck on `market`, then validated for risk (riskAccount: mode defaults to cross); errors name fields under `path`. */
export function riskEntry(v: unknown, market: StrikeMarket, path = ''): AccountInput {
  return riskAccount(materialise(v, market, path), path);
}

interface AtmSpec {
  underlying: string;
  type: 'call' | 'put';
  days: number;
  settlement: 'linear' | 'inverse';
  strikeStep: number;
}

function atmSpec(path: string, v: unknown): AtmSpec {
  const o = check.object(path, v);
  const days = check.positive(`${path}.days`, o.days ?? 30);
  if (!Number.isInteger(days)) throw invalidInput(`${path}.days`, 'must be a whole number of days', days);
  return {
    underlying: check.string(`${path}.underlying`, o.underlying),
    type: check.oneOf(`${path}.type`, o.type, ['call', 'put'] as const),
    days,
    settlement: check.oneOf(`${path}.settlement`, o.settlement ?? 'linear', ['linear', 'inverse'] as const),
    strikeStep: check.positive(`${path}.strikeStep`, o.strikeStep ?? 1000),
  };
}

/** True when the account has re-struck positions (its instruments change with the date). */
export function hasRolling(account: unknown): boolean {
  const p = (account as { positions?: unknown })?.positions;
  return Array.isArray(p) && p.some((x) => x && typeof x === 'object' && 'atm' in x);
}

/** The account with each `atm` position replaced by its instrument on `market`. */
export function materialise(account: unknown, market: StrikeMarket, path = ''): unknown {
  if (!hasRolling(account)) return account;
  const a = account as { positions: Record<string, unknown>[] };
  const positions = a.positions.map((p, i) => {
    if (!p || typeof p !== 'object' || !('atm' in p)) return p;
    const at = `${path ? path + '.' : ''}positions[${i}].atm`;
    const s = atmSpec(at, p.atm);
    if (!market.hasUnderlying(s.underlying)) throw invalidInput(`${at}.underlying`, 'is not in the market', s.underlying);
    const S = market.spot(s.underlying);
    const strike = Math.max(s.strikeStep, Math.round(S / s.strikeStep) * s.strikeStep);
    const day = new Date(market.valuationTime + s.days * 86_400_000);
    const expiry = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), EXPIRY_HOUR_UTC);
    const prefix = s.settlement === 'linear' ? `${s.underlying}_USDC` : s.underlying;
    const { atm: _atm, ...rest } = p;
    void _atm;
    return { ...rest, instrument: `${prefix}-${formatExpiryCode(expiry)}-${strike}-${s.type === 'call' ? 'C' : 'P'}` };
  });
  return { ...a, positions };
}
