/**
 * The cost model of a liquidation trade and its booking on an account in the input format.
 *
 * A liquidator takes q (signed, same sign as the position: the size removed) at
 *   P = mark × (1 − s·(discount + impact)),  s = sign(q)   (longs bought below mark, shorts above)
 *   impact = coefficient × σ_daily × sqrt(N / depth)        (square-root law; N = notional closed on
 *            the underlying so far in this plan or simulation step, depth = daily traded notional)
 * and the account pays fee = rate × basis (notional |q_coin|·F, underlying |q_coin|·S, or value
 * |q|·|mark value|; options capped at capFractionOfValue × value) to the insurance fund.
 *
 * Booking (settlement currency: the coin for inverse instruments, the first USD-pegged
 * currency of the model for linear ones): options and spot credit q × cs × P; futures realise
 * q × cs × (P − entry) (linear, USD) or q × cs × (1/entry − 1/P) (inverse, coin), entry = mark
 * when the position has none (entered at mark). The position shrinks by q; the fee is debited.
 * The liquidator's gain is the mark value it receives minus what it pays: the account's loss
 * besides the fee. The margin engine re-margins the booked account: nothing is recomputed here.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { Kind, type InstrumentTable } from '../instruments/table.js';
import type { AccountInput, PositionInput } from '../measures/types.js';
import type { FeeSpec, FixedPriceMechanism, ImpactSpec, InstrumentKindName } from './mechanism.js';

const KIND_NAME: Record<number, InstrumentKindName> = { [Kind.Option]: 'option', [Kind.Future]: 'future', [Kind.Perpetual]: 'perpetual', [Kind.Spot]: 'spot' };

export interface PositionFacts {
  index: number;
  instrument: string;
  kind: InstrumentKindName;
  underlying: string;
  inverse: boolean;
  /** table index */
  i: number;
  /** mark in the instrument's price unit (coin for inverse options) */
  mark: number;
  /** USD value of one unit of size at mark (options, spot); futures: forward F */
  unitUsd: number;
  /** underlying index */
  spot: number;
  forward: number;
  contractSize: number;
}

/** The facts of position `p` (number `index` of its account); `i`: its table index when the caller has it (else looked up by name). */
export function positionFacts(table: InstrumentTable, p: PositionInput, index: number, i = table.indexOf(p.instrument)): PositionFacts {
  const k = table.kind[i];
  const kind = KIND_NAME[k];
  if (!kind) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `positions[${index}].instrument ${p.instrument} cannot be liquidated`, `positions[${index}].instrument`);
  const underlying = table.underlyings[table.underlyingOf[i]];
  const spot = table.market.spot(underlying);
  const fut = k === Kind.Future || k === Kind.Perpetual;
  return {
    index,
    instrument: p.instrument,
    kind,
    underlying,
    inverse: table.inverse[i] === 1,
    i,
    mark: fut ? table.forward[i] : table.mark[i],
    unitUsd: fut ? table.forward[i] : table.unitValue[i],
    spot,
    forward: table.forward[i],
    contractSize: table.instruments[i]?.contractSize ?? 1,
  };
}

/** Size of q in coin of the underlying (inverse futures: USD notional / F). */
export function coinQty(f: PositionFacts, q: number): number {
  if ((f.kind === 'future' || f.kind === 'perpetual') && f.inverse) return (q * f.contractSize) / f.forward;
  return f.kind === 'future' || f.kind === 'perpetual' ? q * f.contractSize : q;
}

/** |notional| of q in USD (coin × index). */
export function notionalUsd(f: PositionFacts, q: number): number {
  return Math.abs(coinQty(f, q)) * f.spot;
}

/** Coin-delta of q (what a liquidator must sell, or buy back, to stay flat): coin for futures and spot, q × delta for options. */
export function deltaQty(table: InstrumentTable, f: PositionFacts, q: number): number {
  return f.kind === 'option' ? q * table.delta[f.i] : coinQty(f, q);
}

/** Relative price impact of having liquidated `cumNotional` USD on an underlying. */
export function impactFraction(spec: ImpactSpec | undefined, underlying: string, cumNotional: number, dailyVol?: number): number {
  if (!spec || spec.model === 'none' || spec.coefficient === 0) return 0;
  const depth = spec.depthUsd[underlying] ?? spec.depthUsd.default;
  if (!(depth > 0)) return 0;
  const sigma = dailyVol ?? spec.dailyVol;
  return spec.coefficient * sigma * Math.sqrt(Math.max(cumNotional, 0) / depth);
}

/** Execution price of q at a concession `edge` = discount + impact (capped below 100 %). */
export function executionPrice(f: PositionFacts, q: number, edge: number): number {
  const e = Math.min(Math.max(edge, 0), 0.999);
  return f.mark * (1 - Math.sign(q) * e);
}

/** Liquidation fee in USD for q. */
export function liquidationFee(spec: FeeSpec, f: PositionFacts, q: number): number {
  const value = Math.abs(q) * Math.abs(f.kind === 'future' || f.kind === 'perpetual' ? 0 : f.unitUsd);
  let fee: number;
  if (spec.basis === 'notional') fee = spec.rate * notionalUsd(f, q);
  else if (spec.basis === 'underlying') fee = spec.rate * Math.abs(coinQty(f, q)) * f.spot;
  else fee = spec.rate * value;
  if (spec.capFractionOfValue !== undefined && f.kind === 'option') fee = Math.min(fee, spec.capFractionOfValue * value);
  return fee;
}

/** Settlement currency of an instrument: the coin for inverse, else the first USD-pegged currency. */
export function settlementCurrency(f: PositionFacts, usdPegged: readonly string[]): string {
  if (f.inverse) return f.underlying;
  return usdPegged.includes('USDC') ? 'USDC' : (usdPegged[0] ?? 'USDC');
}

export interface Booking {
  /** cash credited to the account for the trade (settlement currency units), before the fee */
  cash: number;
  currency: string;
  /** USD value of that cash (coin × index) */
  cashUsd: number;
  /** the fee in settlement currency units */
  feeUnits: number;
}

/** Cash flow of closing q of `p` at price P (into `out` when given: a planner's one booking per step, rewritten). */
export function bookingOf(f: PositionFacts, p: PositionInput, q: number, P: number, feeUsd: number, usdPegged: readonly string[], out?: Booking): Booking {
  const currency = settlementCurrency(f, usdPegged);
  const toUnits = f.inverse ? 1 / f.spot : 1;
  let cash: number;
  if (f.kind === 'future' || f.kind === 'perpetual') {
    const e = p.entryPrice ?? f.forward;
    cash = f.inverse ? q * f.contractSize * (1 / e - 1 / P) : q * f.contractSize * (P - e);
  } else {
    cash = q * P * f.contractSize; // options (coin for inverse) and spot pairs
  }
  const cashUsd = f.inverse ? cash * f.spot : cash;
  const feeUnits = feeUsd * toUnits;
  if (!out) return { cash, currency, cashUsd, feeUnits };
  out.cash = cash;
  out.currency = currency;
  out.cashUsd = cashUsd;
  out.feeUnits = feeUnits;
  return out;
}

/**
 * The account in the input format from the original positions and their remaining sizes (a
 * fully closed position disappears; in isolated mode its attached collateral returns to the
 * account's), with `collateral` as the account-level balances and, when given, `own[k]` as
 * position k's own collateral after the plan (an isolated plan books its steps there:
 * plan-isolated.ts) in place of its input's.
 */
export function accountOf(base: AccountInput, remaining: ArrayLike<number>, collateral: Record<string, number>, own?: readonly (Record<string, number> | undefined)[]): AccountInput {
  const positions: PositionInput[] = [];
  const col = { ...collateral };
  for (let k = 0; k < base.positions.length; k++) {
    const p = base.positions[k];
    const left = remaining[k];
    const mine = own ? own[k] : p.collateral;
    if (Math.abs(left) > 1e-12 * Math.abs(p.size)) positions.push(left === p.size && mine === p.collateral ? p : withSizeAndOwn(p, left, mine));
    else if (mine) for (const [c, x] of Object.entries(mine)) col[c] = (col[c] ?? 0) + x;
  }
  return { ...base, collateral: col, positions };
}

/** Position p resized to `size`, with `own` as its own collateral (none when undefined). */
function withSizeAndOwn(p: PositionInput, size: number, own: Record<string, number> | undefined): PositionInput {
  const q: PositionInput = { ...p, size };
  if (own) q.collateral = { ...own };
  else if (q.collateral !== undefined) delete q.collateral;
  return q;
}

/** A liquidation trade's terms: its notional (USD), price, fee (USD), booking and the liquidator's gain (USD). */
export interface TradeTerms {
  notional: number;
  price: number;
  fee: number;
  gain: number;
  booking: Booking;
}

/**
 * The terms of the liquidator taking q of position p (facts f; q of the position's sign: a close;
 * of the other sign: the account buys or sells the position up — a hedge, plan-hedge.ts) after
 * `cumBefore` USD liquidated on its underlying, into `out` (its booking rewritten in place): the
 * price at the mechanism's discount and the impact of cumBefore + its notional, the fee, the cash
 * booked and the gain (the mark value taken less the cash paid). `pv`: scratch of two.
 */
export function tradeTermsInto(table: InstrumentTable, mech: FixedPriceMechanism, f: PositionFacts, p: PositionInput, q: number, cumBefore: number, usdPegged: readonly string[], pv: Float64Array, out: TradeTerms): TradeTerms {
  const notional = notionalUsd(f, q);
  const edge = mech.discount[f.kind] + impactFraction(mech.impact, f.underlying, cumBefore + notional);
  const price = executionPrice(f, q, edge);
  const fee = liquidationFee(mech.fee[f.kind], f, q);
  const booking = bookingOf(f, p, q, price, fee, usdPegged, out.booking);
  let markValue = q * f.unitUsd;
  if (f.kind === 'future' || f.kind === 'perpetual') {
    table.positionValueInto(f.i, q, p.entryPrice, pv);
    markValue = pv[0];
  }
  out.notional = notional;
  out.price = price;
  out.fee = fee;
  out.gain = markValue - booking.cashUsd;
  return out;
}

/** Adds a booking to account-level balances (in place). */
export function bookInto(collateral: Record<string, number>, b: Booking): void {
  collateral[b.currency] = (collateral[b.currency] ?? 0) + b.cash - b.feeUnits;
}
