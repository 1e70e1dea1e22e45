/**
 * Deterministic benchmark workloads. The pricing batch is a synthetic but
 * Deribit-shaped chain: BTC-like forward curve, expiries from 1 day to 1 year,
 * strikes from 0.3·F to 3·F, a skewed smile, calls and puts, coin-settled and
 * linear. Strike-sorted per expiry, as a venue's instrument table is.
 */
import { allocOptionBatch, OptionFlag, type OptionBatch } from '../src/pricing/types.js';

export function pricingBatch(n: number): OptionBatch {
  const b = allocOptionBatch(n);
  const expiriesDays = [1, 2, 7, 14, 28, 56, 91, 182, 273, 364];
  const perExpiry = Math.ceil(n / expiriesDays.length);
  for (let i = 0; i < n; i++) {
    const e = Math.floor(i / perExpiry);
    const j = i % perExpiry;
    const t = expiriesDays[Math.min(e, expiriesDays.length - 1)] / 365;
    const F = 65000 * Math.exp(0.06 * t);
    const m = Math.log(0.3) + (Math.log(10) * (j >> 1)) / Math.max(1, (perExpiry >> 1) - 1); // ln K/F from ln 0.3 to ln 3
    b.forward[i] = F;
    b.strike[i] = Math.round(F * Math.exp(m) / 500) * 500 || 500;
    b.vol[i] = 0.5 + 0.15 * m * m - 0.05 * m + 0.1 / Math.sqrt(t * 12 + 1);
    b.t[i] = t;
    b.rate[i] = 0;
    b.flags[i] = (j & 1 ? OptionFlag.Put : 0) | (i % 3 === 0 ? 0 : OptionFlag.Inverse);
  }
  b.length = n;
  return b;
}
