/**
 * Synthetic but realistic books (`optmargin gen-book`), deterministic from a seed.
 *
 * Instruments: options of every listed expiry/strike of the market (plus futures of each expiry
 * that has a listed future, and the inverse and USDC perpetuals). Options are drawn in proportion
 * to their real open interest when the snapshot has it (a Deribit chain CSV does). When it has
 * none (the shipped default market), the documented fallback weight is
 *   w = exp(−z²/2) / √(1 + days/7),  z = ln(K/F) / (σ_ATM √T)
 * (open interest concentrates near the money and at short expiries), times 0.3 for
 * in-the-money options (traders hold mostly out-of-the-money options).
 *
 * Account archetypes (shares of accounts; the mix gives ≈ 20 positions per account):
 *   option sellers            30 %  5–35 short OTM options of one underlying, coin collateral
 *   hedged market makers      15 %  40–120 options on BTC and ETH both ways, delta-hedged with
 *                                   perpetuals; BTC + ETH + USDC collateral; portfolio mode
 *   directional futures       35 %  1–3 futures/perpetuals, leverage 1–4.5× (7 %: 5–9×), entries off the mark;
 *                                   cross, isolated (collateral per position) or portfolio
 *   spread traders            20 %  verticals, calendars, strangles (2–4 structures of 2 legs)
 * Collateral is sized from a random leverage or cover, calibrated to a portfolio-margin venue
 * (deribit-pm-2024.1's ±16 % grid), so a minority of accounts lands in margin call or below maintenance
 * — as in a real book (checked by test/book.test.ts).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { formatExpiryCode } from '../market/instruments.js';
import type { ResolvedMarket } from '../market/types.js';
import type { AccountInput, AccountMode, PositionInput } from '../measures/types.js';
import { black76Reference } from '../pricing/reference.js';
import { Rng } from '../platform/rng.js';

export { Rng } from '../platform/rng.js';

/** Weighted sampler (cumulative weights, binary search). */
class Weighted<T> {
  private cum: Float64Array;
  constructor(readonly items: T[], weights: number[]) {
    this.cum = new Float64Array(items.length);
    let c = 0;
    weights.forEach((w, i) => (this.cum[i] = c += w));
  }
  draw(rng: Rng): T {
    const x = rng.next() * this.cum[this.cum.length - 1];
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }
}

interface OptionInfo {
  name: string;
  underlying: string;
  expiry: number;
  strike: number;
  isPut: boolean;
  forward: number;
  vol: number;
  t: number;
  /** draw weight (open interest, or the fallback) */
  w: number;
}

interface Universe {
  underlying: string;
  spot: number;
  options: Weighted<OptionInfo>;
  /** OTM options only (sellers) */
  otm: Weighted<OptionInfo>;
  byExpiry: Map<number, OptionInfo[]>;
  futures: { name: string; forward: number }[];
  /** weights by open interest (true) or by the documented fallback */
  fromOpenInterest: boolean;
}

const MS_PER_DAY = 86_400_000;

function universeOf(market: ResolvedMarket, u: string): Universe {
  const snap = market.snapshot.underlyings.find((x) => x.underlying === u)!;
  const spot = market.spot(u);
  const opts: OptionInfo[] = [];
  const oi: number[] = [];
  const futures: { name: string; forward: number }[] = [];
  for (const e of snap.expiries) {
    const t = market.timeToExpiry(e.expiry);
    // skip expiries within the hour: their options are settling, not held into margin runs
    if (!(t > 1 / (365 * 24))) continue;
    const code = formatExpiryCode(e.expiry);
    if (e.forwardSource === 'future') futures.push({ name: `${u}-${code}`, forward: e.forward });
    if (!e.smile) continue;
    let strikes = e.listedStrikes;
    if (!strikes || strikes.length === 0) {
      // no listing: a Deribit-like ladder of ±40 % around the forward
      const step = spot > 20_000 ? 1000 : spot > 1000 ? 50 : 1;
      strikes = [];
      for (let k = Math.ceil((e.forward * 0.6) / step) * step; k <= e.forward * 1.4; k += step) strikes.push(k);
    }
    for (const K of strikes) {
      for (const isPut of [false, true]) {
        const name = `${u}-${code}-${K}-${isPut ? 'P' : 'C'}`;
        opts.push({ name, underlying: u, expiry: e.expiry, strike: K, isPut, forward: e.forward, vol: market.vol(u, e.expiry, K), t, w: 0 });
        oi.push(market.openInterest(name) ?? 0);
      }
    }
  }
  if (opts.length === 0) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no option expiries for ${u}`);
  const fromOpenInterest = oi.some((x) => x > 0);
  const weights = opts.map((o, i) => {
    if (fromOpenInterest) return oi[i];
    const atm = market.atmVol(u, o.expiry);
    const z = Math.log(o.strike / o.forward) / (atm * Math.sqrt(o.t));
    const itm = o.isPut ? o.strike > o.forward : o.strike < o.forward;
    return (Math.exp(-0.5 * z * z) / Math.sqrt(1 + (o.t * 365) / 7)) * (itm ? 0.3 : 1);
  });
  opts.forEach((o, i) => (o.w = weights[i]));
  const otmIdx = opts.map((o, i) => ((o.isPut ? o.strike < o.forward : o.strike > o.forward) && weights[i] > 0 ? i : -1)).filter((i) => i >= 0);
  const byExpiry = new Map<number, OptionInfo[]>();
  for (const o of opts) {
    // second legs of spreads are drawn among instruments that carry weight (open interest)
    if (!(o.w > 0)) continue;
    const l = byExpiry.get(o.expiry) ?? [];
    l.push(o);
    byExpiry.set(o.expiry, l);
  }
  return {
    underlying: u,
    spot,
    options: new Weighted(opts, weights),
    otm: new Weighted(
      otmIdx.map((i) => opts[i]),
      otmIdx.map((i) => weights[i]),
    ),
    byExpiry,
    futures,
    fromOpenInterest,
  };
}

export interface GenBookOptions {
  accounts: number;
  seed: number;
  market: ResolvedMarket;
  /** underlyings to draw from (default: BTC and ETH when present, else all) */
  underlyings?: string[];
}

export interface GenBookInfo {
  accounts: number;
  positions: number;
  byArchetype: Record<string, number>;
  byMode: Record<AccountMode, number>;
  /** per underlying: whether options were weighted by open interest or by the fallback */
  weighting: Record<string, 'open interest' | 'fallback: near ATM, short expiry'>;
  /** archetype of each account, by index */
  archetypeOf: string[];
}

/** x rounded to a multiple of step (≥ step); decimal steps divide by 1/step so 3 × 0.1 prints as 0.3, not 0.30000000000000004. */
const round = (x: number, step: number): number => {
  const r = Math.round(x / step);
  const v = step < 1 ? r / Math.round(1 / step) : r * step;
  return Math.max(step, v);
};

/** Generates a book; the same options always give the same accounts. */
export function generateBook(opts: GenBookOptions): { accounts: AccountInput[]; info: GenBookInfo } {
  const accounts: AccountInput[] = new Array(opts.accounts);
  const stream = generateAccounts(opts);
  let k = 0;
  for (const a of stream.accounts) accounts[k++] = a;
  return { accounts, info: stream.info };
}

/**
 * The accounts of a book one at a time (what `gen-book` streams: any size in constant memory).
 * `info` fills in as accounts are drawn (its `archetypeOf` only when `archetypes` is true).
 */
export function generateAccounts(opts: GenBookOptions, archetypes = true): { info: GenBookInfo; accounts: Generator<AccountInput, void, undefined> } {
  const { market } = opts;
  if (!Number.isInteger(opts.accounts) || opts.accounts < 0) {
    throw new OptmarginError(ErrorCodes.INVALID_OPTION, `accounts must be a non-negative integer, got ${opts.accounts}`);
  }
  if (!Number.isInteger(opts.seed)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `seed must be an integer, got ${opts.seed}`);
  const all = market.underlyings;
  const us = opts.underlyings ?? (all.includes('BTC') && all.includes('ETH') ? ['BTC', 'ETH'] : [...all]);
  for (const u of us) if (!market.hasUnderlying(u)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no underlying ${u}`);
  const unis = us.map((u) => universeOf(market, u));
  const rng = new Rng(opts.seed);
  const info: GenBookInfo = {
    accounts: opts.accounts,
    positions: 0,
    byArchetype: { 'option seller': 0, 'market maker': 0, 'futures trader': 0, 'spread trader': 0 },
    byMode: { portfolio: 0, cross: 0, isolated: 0 },
    weighting: Object.fromEntries(unis.map((x) => [x.underlying, x.fromOpenInterest ? 'open interest' : 'fallback: near ATM, short expiry'])),
    archetypeOf: archetypes ? new Array(opts.accounts) : [],
  };
  // BTC-heavy, as open interest is
  const uniPick = new Weighted(unis, unis.map((x) => (x.underlying === 'BTC' ? 0.6 : x.underlying === 'ETH' ? 0.4 : 0.2)));
  /** option size unit in coin: ETH positions are larger in coin (≈ same USD scale per contract decade) */
  const lot = (x: Universe): number => (x.spot > 20_000 ? 0.1 : x.spot > 1000 ? 1 : 10);
  const premiumUsd = (o: OptionInfo): number => black76Reference(o.isPut, o.forward, o.strike, o.vol, o.t, market.rate, false).price;
  const deltaOf = (o: OptionInfo): number => black76Reference(o.isPut, o.forward, o.strike, o.vol, o.t, market.rate, false).delta;
  function* draw(): Generator<AccountInput, void, undefined> {
    for (let k = 0; k < opts.accounts; k++) {
      const x = rng.next();
      const id = `acc-${String(k).padStart(7, '0')}`;
      let a: AccountInput;
      if (x < 0.3) {
        // option seller: short OTM options, premium received in coin; collateral from a leverage draw
        info.byArchetype['option seller']++;
        if (archetypes) info.archetypeOf[k] = 'option seller';
        const uni = uniPick.draw(rng);
        const n = rng.int(5, 35);
        const positions: PositionInput[] = [];
        let notionalCoin = 0;
        let premiumCoin = 0;
        for (let p = 0; p < n; p++) {
          const o = uni.otm.draw(rng);
          const size = -round(lot(uni) * Math.exp(rng.normal() * 0.8) * 3, lot(uni));
          positions.push({ instrument: o.name, size });
          notionalCoin -= size;
          premiumCoin -= (size * premiumUsd(o)) / o.forward;
        }
        const cover = Math.exp(rng.normal() * 0.45) * 0.3; // coin per contract; median 30 %
        const mode: AccountMode = rng.next() < 0.75 ? 'portfolio' : 'cross';
        a = { id, mode, collateral: { [uni.underlying]: round(notionalCoin * cover + premiumCoin, 1e-4) }, positions };
      } else if (x < 0.45) {
        // hedged market maker on every underlying: two-way options, delta hedged with the perpetual
        info.byArchetype['market maker']++;
        if (archetypes) info.archetypeOf[k] = 'market maker';
        const positions: PositionInput[] = [];
        const collateral: Record<string, number> = {};
        let usd = 0;
        for (const uni of unis) {
          const n = rng.int(20, 60);
          let delta = 0;
          for (let p = 0; p < n; p++) {
            const o = uni.options.draw(rng);
            const size = (rng.next() < 0.5 ? -1 : 1) * round(lot(uni) * Math.exp(rng.normal() * 0.7) * 5, lot(uni));
            positions.push({ instrument: o.name, size });
            delta += size * deltaOf(o);
          }
          // inverse perpetual sized in USD: −Δ coin × spot, to the nearest 10 USD
          const hedge = Math.round((-delta * uni.spot) / 10) * 10;
          if (hedge !== 0) positions.push({ instrument: `${uni.underlying}-PERPETUAL`, size: hedge });
          collateral[uni.underlying] = round(n * lot(uni) * 5 * rng.uniform(0.05, 0.4), 1e-4);
          usd += n * lot(uni) * 5 * uni.spot * rng.uniform(0.02, 0.2);
        }
        collateral.USDC = Math.round(usd);
        a = { id, mode: 'portfolio', collateral, positions };
      } else if (x < 0.8) {
        // directional futures trader
        info.byArchetype['futures trader']++;
        if (archetypes) info.archetypeOf[k] = 'futures trader';
        const uni = uniPick.draw(rng);
        const n = rng.int(1, 3);
        const dir = rng.next() < 0.55 ? 1 : -1;
        const y = rng.next();
        const mode: AccountMode = y < 0.5 ? 'cross' : y < 0.85 ? 'isolated' : 'portfolio';
        const linear = rng.next() < 0.25;
        const positions: PositionInput[] = [];
        let notionalUsd = 0;
        // Leverage as a portfolio-margin venue allows it (±16 % grid ⇒ IM ≈ 1/6 of notional):
        // mostly 1–4.5× (log-uniform), and a tail of 5–9× that populates the margin-call and
        // liquidation tiers.
        const leverage = rng.next() < 0.93 ? Math.exp(rng.uniform(0, Math.log(4.5))) : rng.uniform(5, 9);
        for (let p = 0; p < n; p++) {
          const useFuture = uni.futures.length > 0 && rng.next() < 0.4;
          const f = useFuture ? rng.pick(uni.futures) : null;
          const mark = f ? f.forward : uni.spot;
          const entry = round(mark * (1 + 0.03 * rng.normal()), uni.spot > 1000 ? 0.5 : 0.01);
          const usdSize = Math.exp(rng.uniform(Math.log(1000), Math.log(2_000_000)));
          notionalUsd += usdSize;
          const pos: PositionInput = linear
            ? { instrument: `${uni.underlying}_USDC-PERPETUAL`, size: dir * round(usdSize / uni.spot, 0.001), entryPrice: entry }
            : { instrument: f ? f.name : `${uni.underlying}-PERPETUAL`, size: dir * round(usdSize, 10), entryPrice: entry };
          if (mode === 'isolated') {
            pos.collateral = linear ? { USDC: Math.round(usdSize / leverage) } : { [uni.underlying]: round(usdSize / leverage / uni.spot, 1e-5) };
          }
          positions.push(pos);
        }
        const pool = (notionalUsd / leverage) * (mode === 'isolated' ? 0.1 : 1);
        const collateral = linear ? { USDC: Math.round(pool) } : { [uni.underlying]: round(pool / uni.spot, 1e-5) };
        a = { id, mode, collateral, positions };
      } else {
        // spread trader: verticals, calendars and strangles
        info.byArchetype['spread trader']++;
        if (archetypes) info.archetypeOf[k] = 'spread trader';
        const uni = uniPick.draw(rng);
        const positions: PositionInput[] = [];
        const nStruct = rng.int(2, 4);
        let width = 0;
        for (let s = 0; s < nStruct; s++) {
          const o = uni.options.draw(rng);
          const size = round(lot(uni) * Math.exp(rng.normal() * 0.7) * 5, lot(uni)) * (rng.next() < 0.5 ? -1 : 1);
          const same = uni.byExpiry.get(o.expiry)!;
          const kind = rng.next();
          let other: OptionInfo | undefined;
          if (kind < 0.5) {
            // vertical: same type, a neighbouring strike
            const cands = same.filter((q) => q.isPut === o.isPut && q.strike !== o.strike && Math.abs(q.strike / o.strike - 1) < 0.15);
            other = cands.length ? rng.pick(cands) : undefined;
            if (other) width += Math.abs(other.strike - o.strike) * Math.abs(size);
          } else if (kind < 0.75) {
            // calendar: same strike and type, another expiry
            const exps = [...uni.byExpiry.keys()].filter((e) => e !== o.expiry);
            const e = exps.length ? rng.pick(exps) : o.expiry;
            other = uni.byExpiry.get(e)!.find((q) => q.strike === o.strike && q.isPut === o.isPut);
            width += 0.1 * o.forward * Math.abs(size);
          } else {
            // strangle: the other type on the other side, same direction
            const cands = same.filter((q) => q.isPut !== o.isPut && (q.isPut ? q.strike < o.forward : q.strike > o.forward));
            other = cands.length ? rng.pick(cands) : undefined;
            if (other) {
              positions.push({ instrument: o.name, size }, { instrument: other.name, size });
              width += (size < 0 ? 0.3 : 0.05) * o.forward * Math.abs(size);
              continue;
            }
          }
          positions.push({ instrument: o.name, size });
          if (other) positions.push({ instrument: other.name, size: -size });
        }
        const mode: AccountMode = rng.next() < 0.6 ? 'portfolio' : 'cross';
        const cover = Math.exp(rng.normal() * 0.4) * 1.5;
        const usd = width * cover;
        a = {
          id,
          mode,
          collateral: rng.next() < 0.5 ? { USDC: Math.round(usd) } : { [uni.underlying]: round(usd / uni.spot, 1e-5) },
          positions,
        };
      }
      info.byMode[a.mode]++;
      info.positions += a.positions.length;
      yield a;
    }
  }
  return { info, accounts: draw() };
}
