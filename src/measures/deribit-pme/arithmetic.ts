/**
 * Deribit's portfolio margin engine ("PME", private/pme/simulate) — the arithmetic shared by every
 * runner. Everything here is in the SETTLEMENT currency of the instrument (coin for inverse
 * instruments, USDC for linear ones), as Deribit computes it:
 *
 * Scenarios of a currency pair (one row of `n = nStd + nExt` per instrument, per unit of size):
 *   standard  bucket b = 0..2B (B = buckets_count): move = price_range·(b − B)/B, × vol up, same, down
 *             (index 3b + v, v = 0 up, 1 same, 2 down)
 *   extended  extendedMoves[k] on vol up; futures, perpetuals and balances keep the P&L of the
 *             nearest edge of the standard range (both published responses show exactly that)
 * Unit P&L in the settlement currency:
 *   inverse future/perpetual (size in USD): (1/F)·m/(1+m) coin   (q·m/(1+m) for q coin)
 *   inverse option (size in coin):          Black76(F(1+m), σ')/(F(1+m)) − mark     (coin)
 *   linear future/perpetual/spot (coin):    F·m  (USDC);  linear option: Black76(F(1+m), σ') − mark
 *   coin balance (cross margining only):    m/(1+m) coin (its USD P&L expressed in coin)
 * Vol shock (sticky strike), days = max(365·T, minDays), p = short_term_vega_power below
 * shortTermBelowDays, else long_term_vega_power:
 *   up   = max(σ·(1 + volatility_range_up·(30/days)^p), min_volatility_for_shock_up)
 *   down = max(floor, σ·(1 − volatility_range_down·(30/days)^p))
 * Reduction of a pair's aggregated vector x (Σ size·row):
 *   extended entries: x ← extended_table_factor·x, then sign(x)·max(0, |x|·P − extended_dampener)/P
 *   positive entries: x ← min(pnl_offset·x, max_offsetable_pnl/P)    (P = USD price of the settlement currency)
 *   worst_case = max(0, −min x)  (ties: the vol-same scenario, as both responses report)
 * Per settlement currency:
 *   roll_shock  = Σ |q_coin|·max(annualised_move_risk·T, min_annualised_move) over futures/perpetuals
 *                 (× F for linear ones: USDC)
 *   delta_shock = per pair, e = |Δ| − threshold/S when |Δ|·S > delta_total_liq_shock_threshold:
 *                 e·min(max_delta_shock, m_inc·e) (coin of the pair; × S when settled in USDC)
 *   risk_matrix_margin = Σ worst_case + roll_shock + delta_shock + correlation_contingency (0)
 *   IM = risk_matrix_margin, MM = mm_factor·IM
 * Verified to 1e-9 relative against the API reference's response example and a live ETH
 * response (test/deribit-pme.test.ts); the readings that no published figure pins down are
 * listed in presets/deribit-pm.json `source`.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import { OptionFlag, allocOptionBatch, type OptionBatch } from '../../pricing/types.js';
import { marginPricer } from '../../scenarios/pricer.js';
import type { DeribitPmeModel, PmeCurrencyParams, PmePairParams } from '../types.js';

const VOL_OF_SLOT = [1, 0, -1] as const;

export interface PmeLayout {
  nStd: number;
  nExt: number;
  n: number;
  /** move used by options */
  moves: Float64Array;
  /** move used by futures, perpetuals, spot and balances (extended moves clamped to ±price_range) */
  linearMoves: Float64Array;
  /** +1 up, 0 same, −1 down */
  volDir: Int8Array;
}

export function pmePair(model: DeribitPmeModel, underlying: string): PmePairParams {
  const p = model.currencyPair[underlying];
  if (!p) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `model ${model.id} has no currency pair parameters for ${underlying} (it has ${Object.keys(model.currencyPair).join(', ')})`,
    );
  }
  return p;
}

export function pmeCurrency(model: DeribitPmeModel, currency: string): PmeCurrencyParams {
  const c = model.currency[currency];
  if (!c) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `model ${model.id} has no parameters for settlement currency ${currency} (it has ${Object.keys(model.currency).join(', ')})`,
    );
  }
  return c;
}

export function pmeLayout(model: DeribitPmeModel, pair: PmePairParams): PmeLayout {
  const B = model.general.buckets_count;
  const nStd = (2 * B + 1) * 3;
  const nExt = model.extendedMoves.length;
  const n = nStd + nExt;
  const moves = new Float64Array(n);
  const linearMoves = new Float64Array(n);
  const volDir = new Int8Array(n);
  const r = pair.price_range;
  for (let b = 0; b <= 2 * B; b++) {
    for (let v = 0; v < 3; v++) {
      moves[3 * b + v] = linearMoves[3 * b + v] = (r * (b - B)) / B;
      volDir[3 * b + v] = VOL_OF_SLOT[v];
    }
  }
  for (let k = 0; k < nExt; k++) {
    const m = model.extendedMoves[k];
    moves[nStd + k] = m;
    linearMoves[nStd + k] = Math.min(Math.max(m, -r), r);
    volDir[nStd + k] = 1;
  }
  return { nStd, nExt, n, moves, linearMoves, volDir };
}

/** The shocked vol of an expiry `t` years away (see the module comment). */
export function pmeShockedVol(model: DeribitPmeModel, pair: PmePairParams, vol: number, dir: number, t: number): number {
  if (dir === 0) return vol;
  const vs = model.volShock;
  const days = Math.max(t * 365, vs.minDays);
  const power = days < vs.shortTermBelowDays ? pair.short_term_vega_power : pair.long_term_vega_power;
  const scale = Math.pow(vs.referenceDays / days, power);
  if (dir > 0) return Math.max(vol * (1 + pair.volatility_range_up * scale), pair.min_volatility_for_shock_up);
  return Math.max(vs.floor, vol * (1 - pair.volatility_range_down * scale));
}

/**
 * Risk vectors of every instrument of an InstrumentTable under a Deribit PME model, in the
 * instrument's settlement currency per unit of size, filled lazily (`sync()`).
 */
export class PmeRiskVectors {
  readonly table: InstrumentTable;
  readonly model: DeribitPmeModel;
  readonly n: number;
  readonly nStd: number;
  values: Float64Array;
  /** scratch: one pair's vector being reduced (pmeReduce works in place) */
  readonly reduced: Float64Array;
  private readonly layouts = new Map<string, PmeLayout>();
  private filled = 0;
  private batch: OptionBatch;
  private prices: Float64Array;

  constructor(table: InstrumentTable, model: DeribitPmeModel) {
    this.table = table;
    this.model = model;
    const B = model.general.buckets_count;
    if (model.general.vol_scenarios_count !== 3) {
      throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${model.id}: general.vol_scenarios_count must be 3 (up, same, down)`);
    }
    this.nStd = (2 * B + 1) * 3;
    this.n = this.nStd + model.extendedMoves.length;
    this.values = new Float64Array(64 * this.n);
    this.reduced = new Float64Array(this.n);
    this.batch = allocOptionBatch(this.n);
    this.prices = new Float64Array(this.n);
  }

  layoutOf(underlying: string): PmeLayout {
    let l = this.layouts.get(underlying);
    if (!l) {
      l = pmeLayout(this.model, pmePair(this.model, underlying));
      this.layouts.set(underlying, l);
    }
    return l;
  }

  /** Computes the vectors of every instrument added to the table since the last call (options: one pricer call). */
  sync(): void {
    const tb = this.table;
    const count = tb.count;
    if (this.filled === count) return;
    if (this.values.length < count * this.n) {
      const v = new Float64Array(Math.max(count, (2 * this.values.length) / this.n) * this.n);
      v.set(this.values);
      this.values = v;
    }
    let nOpt = 0;
    for (let i = this.filled; i < count; i++) {
      if (tb.kind[i] === Kind.Option) nOpt++;
      else this.fillLinear(i);
    }
    if (nOpt > 0) this.priceOptions(this.filled, count, nOpt);
    this.filled = count;
  }

  private fillLinear(i: number): void {
    const tb = this.table;
    const l = this.layoutOf(tb.underlyings[tb.underlyingOf[i]]);
    const row = i * this.n;
    const v = this.values;
    const k = tb.kind[i];
    const cs = tb.instruments[i]?.contractSize ?? 1;
    const F = tb.forward[i];
    for (let s = 0; s < l.n; s++) {
      const m = l.linearMoves[s];
      if (k === Kind.Coin) v[row + s] = m / (1 + m);
      else if ((k === Kind.Future || k === Kind.Perpetual) && tb.inverse[i]) v[row + s] = (cs / F) * (m / (1 + m));
      else v[row + s] = cs * F * m;
    }
  }

  /** Every new option × scenario in one batch: F(1+m), shocked vol; then P&L = cs·(price − mark). */
  private priceOptions(from: number, to: number, nOpt: number): void {
    const tb = this.table;
    const n = this.n;
    if (this.batch.forward.length < nOpt * n) {
      this.batch = allocOptionBatch(nOpt * n);
      this.prices = new Float64Array(nOpt * n);
    }
    const b = this.batch;
    let j = 0;
    for (let i = from; i < to; i++) {
      if (tb.kind[i] !== Kind.Option) continue;
      const u = tb.underlyings[tb.underlyingOf[i]];
      const l = this.layoutOf(u);
      const pair = pmePair(this.model, u);
      const F = tb.forward[i];
      const flags = (tb.isPut[i] ? OptionFlag.Put : 0) | (tb.inverse[i] ? OptionFlag.Inverse : 0);
      const up = pmeShockedVol(this.model, pair, tb.vol[i], 1, tb.t[i]);
      const down = pmeShockedVol(this.model, pair, tb.vol[i], -1, tb.t[i]);
      for (let s = 0; s < n; s++, j++) {
        b.forward[j] = F * (1 + l.moves[s]);
        b.strike[j] = tb.strike[i];
        b.vol[j] = l.volDir[s] > 0 ? up : l.volDir[s] < 0 ? down : tb.vol[i];
        b.t[j] = tb.t[i];
        b.rate[j] = tb.market.rate;
        b.flags[j] = flags;
      }
    }
    b.length = j;
    marginPricer()(b, this.prices);
    j = 0;
    for (let i = from; i < to; i++) {
      if (tb.kind[i] !== Kind.Option) continue;
      // mark in the settlement currency: coin for inverse (Black/F), USDC for linear
      const cs = tb.instruments[i]?.contractSize ?? 1;
      const mark = tb.mark[i];
      const row = i * n;
      for (let s = 0; s < n; s++, j++) this.values[row + s] = cs * (this.prices[j] - mark);
    }
  }
}

export interface PmeWorst {
  /** max(0, −min of the reduced vector), settlement currency */
  worstCase: number;
  /** scenario index in the pair's vector (standard: 0..nStd−1, extended: nStd + k) */
  index: number;
  source: 'standard' | 'extended';
  /** standard: 1..2B+1 left to right; extended: 1..nExt */
  bucket: number;
  side: 'left' | 'right' | 'center';
}

/**
 * Reduces a pair's aggregated vector in place (extended factor and dampener, profit offset) and
 * returns its worst case. `price` is the USD price of the settlement currency.
 */
export function pmeReduce(
  x: Float64Array,
  off: number,
  l: PmeLayout,
  pair: PmePairParams,
  cur: PmeCurrencyParams,
  price: number,
): PmeWorst {
  const cap = cur.max_offsetable_pnl / price;
  let best = Infinity;
  let bi = 0;
  for (let s = 0; s < l.n; s++) {
    let v = x[off + s];
    if (s >= l.nStd) {
      v *= pair.extended_table_factor;
      const excess = Math.abs(v) * price - cur.extended_dampener;
      v = excess > 0 ? (Math.sign(v) * excess) / price : 0;
    }
    if (v > 0) v = Math.min(v * cur.pnl_offset, cap);
    x[off + s] = v;
    if (v < best || (v === best && l.volDir[s] === 0 && l.volDir[bi] !== 0 && s < l.nStd)) {
      best = v;
      bi = s;
    }
  }
  const ext = bi >= l.nStd;
  const m = l.moves[bi];
  return {
    worstCase: Math.max(0, -best),
    index: ext ? bi - l.nStd : bi,
    source: ext ? 'extended' : 'standard',
    bucket: ext ? bi - l.nStd + 1 : Math.floor(bi / 3) + 1,
    side: m < 0 ? 'left' : m > 0 ? 'right' : 'center',
  };
}

/** Roll shock of |q| coin of a future/perpetual `t` years from expiry (perpetual: t = 0), in coin. */
export function pmeRollShock(cur: PmeCurrencyParams, coin: number, t: number): number {
  return Math.abs(coin) * Math.max(cur.annualised_move_risk * t, cur.min_annualised_move);
}

/** Delta shock of a pair with net delta `delta` coin at index `spot`, in coin of the pair. */
export function pmeDeltaShock(pair: PmePairParams, delta: number, spot: number): number {
  const d = Math.abs(delta);
  if (!(d * spot > pair.delta_total_liq_shock_threshold)) return 0;
  const e = d - pair.delta_total_liq_shock_threshold / spot;
  return e * Math.min(pair.max_delta_shock, pair.m_inc * e);
}
