/**
 * Resolve step (docs/architecture.md §2): every distinct instrument a margin call meets is parsed and
 * valued ONCE per market and stored in structure-of-arrays form; accounts then refer to
 * instruments by index. Values are per unit of position size, in USD.
 *
 * Entry-independent unit value `unitValue` (USD per unit of size):
 *   option, linear      Black-76 value (USDC = USD)
 *   option, inverse     (Black-76 / F) coin × index S
 *   future/perp, linear F (a position's value is size × (F − entry))
 *   future/perp, inverse −S/F (a position's value is size × S × (1/entry − 1/F)
 *                        = size·S/entry [coin held: `coinPerUnitAtEntry`] − size·S/F)
 *   spot pair (ETH_USDC) S
 * Greeks are derivatives of the USD value with respect to the underlying price when index
 * and forwards move together (S/F fixed), which is how every scenario moves them.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { parseInstrument } from '../market/instruments.js';
import type { Instrument } from '../market/types.js';
import { black76Reference } from '../pricing/reference.js';
import { entryLegCoin, positionValue } from './valuation.js';
import { Kind } from './kind.js';
import type { MarginMarket } from '../market/margin-market.js';
import { growPlain } from '../platform/typed.js';

export { Kind } from './kind.js';

const KIND_OF: Record<Instrument['kind'], Kind> = { option: Kind.Option, future: Kind.Future, perpetual: Kind.Perpetual, spot: Kind.Spot };

/**
 * Instruments another table has already valued on this table's market data (a book's
 * underlyings as its last tick read them: BookInstruments.valued): indexOf copies an instrument
 * found there instead of parsing and valuing its name again.
 */
export interface ValuedInstruments {
  /** the table holding `name` valued on the current market data, or null (then indexOf parses and values it) */
  tableOf(name: string): InstrumentTable | null;
}

export class InstrumentTable {
  readonly market: MarginMarket;
  count = 0;
  private capacity = 0;
  readonly names: string[] = [];
  readonly instruments: (Instrument | null)[] = [];
  /** underlyings, in order of first appearance; `underlyingOf[i]` indexes this list */
  readonly underlyings: string[] = [];
  private readonly underlyingIndex = new Map<string, number>();
  private readonly index = new Map<string, number>();
  /** coinIndex of each underlying slot, once asked (coinOfSlot) */
  private readonly slotCoin: number[] = [];
  /** option expiry/strike group id (calls and puts of one strike share it), −1 otherwise: per underlying slot, expiry → strike → id (numbers: no key string per instrument) */
  private readonly groups: Map<number, Map<number, number>>[] = [];
  /** underlying slot of each option group */
  readonly groupSlot: number[] = [];
  underlyingOf = new Int32Array(0);
  kind = new Uint8Array(0);
  inverse = new Uint8Array(0);
  isPut = new Uint8Array(0);
  strike = new Float64Array(0);
  expiry = new Float64Array(0);
  /** years to expiry (0 for perpetual/spot/coin) */
  t = new Float64Array(0);
  /** the price the instrument references: expiry forward, perpetual mark, or index */
  forward = new Float64Array(0);
  vol = new Float64Array(0);
  /** mark price in the instrument's own unit (coin for inverse options, USD otherwise) */
  mark = new Float64Array(0);
  unitValue = new Float64Array(0);
  delta = new Float64Array(0);
  gamma = new Float64Array(0);
  vega = new Float64Array(0);
  theta = new Float64Array(0);
  group = new Int32Array(0);

  constructor(
    market: MarginMarket,
    capacity = 64,
    private readonly valued: ValuedInstruments | null = null,
  ) {
    this.market = market;
    this.grow(capacity);
  }

  private grow(cap: number): void {
    this.underlyingOf = growPlain(this.underlyingOf, cap);
    this.kind = growPlain(this.kind, cap);
    this.inverse = growPlain(this.inverse, cap);
    this.isPut = growPlain(this.isPut, cap);
    this.group = growPlain(this.group, cap);
    for (const f of ['strike', 'expiry', 't', 'forward', 'vol', 'mark', 'unitValue', 'delta', 'gamma', 'vega', 'theta'] as const) {
      this[f] = growPlain(this[f], cap);
    }
    this.capacity = this.kind.length;
  }

  underlyingSlot(u: string): number {
    let k = this.underlyingIndex.get(u);
    if (k === undefined) {
      if (!this.market.hasUnderlying(u)) {
        throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no data for underlying ${JSON.stringify(u)}`);
      }
      k = this.underlyings.length;
      this.underlyings.push(u);
      this.underlyingIndex.set(u, k);
    }
    return k;
  }

  /**
   * Index of an instrument by (Deribit) name; parses and values it on first sight (or copies it
   * from the valued instruments the table was given). Throws on a bad name or missing data.
   */
  indexOf(name: string): number {
    const hit = this.index.get(name);
    if (hit !== undefined) return hit;
    const from = this.valued?.tableOf(name) ?? undefined;
    const j = from?.index.get(name);
    const inst = j !== undefined ? from!.instruments[j] : null;
    const i = inst ? this.add(name, inst, undefined, from, j) : this.indexOfInstrument(parseInstrument(name));
    this.index.set(name, i);
    return i;
  }

  /** 1 per index of an instrument of `names` the table holds (nothing parsed or added: a name it lacks is left out). */
  marks(names: Iterable<string>): Uint8Array {
    const out = new Uint8Array(this.names.length);
    for (const name of names) {
      const i = this.index.get(name);
      if (i !== undefined) out[i] = 1;
    }
    return out;
  }

  /** Index of an instrument already parsed (indexOf without parsing its name again: a book's tick re-values known instruments). */
  indexOfInstrument(inst: Instrument): number {
    const hit = this.index.get(inst.name);
    if (hit !== undefined) return hit;
    const i = this.add(inst.name, inst);
    this.index.set(inst.name, i);
    return i;
  }

  /** coinIndex of underlying slot s, kept per slot (no key string per call: an edit or a what-if asks for it per holding). */
  coinOfSlot(s: number): number {
    const c = this.slotCoin[s];
    return c !== undefined ? c : (this.slotCoin[s] = this.coinIndex(this.underlyings[s]));
  }

  /** Index of the pseudo-instrument "one coin of `u`" (collateral, inverse futures' entry leg). */
  coinIndex(u: string): number {
    const key = `coin:${u}`;
    const hit = this.index.get(key);
    if (hit !== undefined) return hit;
    const i = this.add(key, null, u);
    this.index.set(key, i);
    return i;
  }

  /** Appends an instrument (or a coin of `coinUnderlying`), valued on this market — or copied from `from`'s instrument j, valued on the same data. */
  private add(name: string, inst: Instrument | null, coinUnderlying?: string, from?: InstrumentTable, j = -1): number {
    const u = inst ? inst.underlying : coinUnderlying!;
    const slot = this.underlyingSlot(u);
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const i = this.count;
    this.underlyingOf[i] = slot;
    this.kind[i] = inst ? KIND_OF[inst.kind] : Kind.Coin;
    this.inverse[i] = inst?.settlement === 'inverse' ? 1 : 0;
    this.isPut[i] = inst?.kind === 'option' && inst.optionType === 'put' ? 1 : 0;
    this.strike[i] = inst?.kind === 'option' ? inst.strike : 0;
    this.expiry[i] = inst?.kind === 'option' || inst?.kind === 'future' ? inst.expiry : 0;
    if (from) this.copyValue(i, from, j);
    else this.valueAt(i, inst, u); // throws (nothing added) when it has expired
    this.group[i] = inst?.kind === 'option' ? this.groupOf(slot, inst.expiry, inst.strike) : -1;
    this.names.push(name);
    this.instruments.push(inst);
    this.count = i + 1;
    return i;
  }

  /** The option group of (underlying slot, expiry, strike): the existing one, else a new id. */
  private groupOf(slot: number, expiry: number, strike: number): number {
    const byExpiry = (this.groups[slot] ??= new Map());
    let byStrike = byExpiry.get(expiry);
    if (!byStrike) byExpiry.set(expiry, (byStrike = new Map()));
    let group = byStrike.get(strike);
    if (group === undefined) {
      group = this.groupSlot.length;
      byStrike.set(strike, group);
      this.groupSlot.push(slot);
    }
    return group;
  }

  /** Instrument i's market fields (those valueAt writes) copied from `from`'s instrument j, valued on the same market data. */
  private copyValue(i: number, from: InstrumentTable, j: number): void {
    this.t[i] = from.t[j];
    this.forward[i] = from.forward[j];
    this.vol[i] = from.vol[j];
    this.mark[i] = from.mark[j];
    this.unitValue[i] = from.unitValue[j];
    this.delta[i] = from.delta[j];
    this.gamma[i] = from.gamma[j];
    this.vega[i] = from.vega[j];
    this.theta[i] = from.theta[j];
  }

  /**
   * Instrument i's market fields — years to expiry, forward, vol, mark, unit value, Greeks — on
   * this table's market, from its kind, settlement, strike and expiry (already in the arrays);
   * `inst` null: one coin of `u`. Throws when it has expired.
   */
  private valueAt(i: number, inst: Instrument | null, u: string): void {
    const m = this.market;
    const S = m.spot(u);
    let t = 0;
    let F = S;
    let vol = 0;
    let mark = S;
    let unitValue = S;
    let delta = 1;
    let gamma = 0;
    let vega = 0;
    let theta = 0;
    if (inst) {
      const inverse = this.inverse[i];
      const cs = inst.contractSize;
      const expiry = this.expiry[i];
      if (inst.kind === 'option') {
        const strike = this.strike[i];
        t = m.timeToExpiry(expiry);
        if (!(t > 0)) {
          throw new OptmarginError(
            ErrorCodes.MISSING_MARKET_DATA,
            `${inst.name} has expired at the valuation time ${new Date(m.valuationTime).toISOString()} (settle it before margining)`,
          );
        }
        F = m.forward(u, expiry);
        vol = m.vol(u, expiry, strike);
        const g = black76Reference(this.isPut[i] === 1, F, strike, vol, t, m.rate, false);
        // Inverse: USD value = (V/F)·S; with S/F fixed under a move every Greek scales by S/F.
        const r = inverse ? S / F : 1;
        mark = inverse ? g.price / F : g.price;
        unitValue = g.price * r * cs;
        delta = g.delta * r * cs;
        gamma = g.gamma * r * cs;
        vega = g.vega * r * cs;
        theta = g.theta * r * cs;
      } else if (inst.kind === 'future' || inst.kind === 'perpetual') {
        if (inst.kind === 'future') {
          t = m.timeToExpiry(expiry);
          if (!(t > 0)) {
            throw new OptmarginError(
              ErrorCodes.MISSING_MARKET_DATA,
              `${inst.name} has expired at the valuation time ${new Date(m.valuationTime).toISOString()}`,
            );
          }
          F = m.forward(u, expiry);
        } else {
          F = m.perpetual(u);
        }
        mark = F;
        if (inverse) {
          unitValue = (-S / F) * cs;
          delta = 0; // the −S/F leg is flat when S and F move together; the entry leg carries the delta
        } else {
          unitValue = F * cs;
          delta = (F / S) * cs;
        }
      } else {
        mark = S;
        unitValue = S * cs;
        delta = cs;
      }
    }
    this.t[i] = t;
    this.forward[i] = F;
    this.vol[i] = vol;
    this.mark[i] = mark;
    this.unitValue[i] = unitValue;
    this.delta[i] = delta;
    this.gamma[i] = gamma;
    this.vega[i] = vega;
    this.theta[i] = theta;
  }

  /**
   * The same instruments — same indices, names and groups — valued on `market` by valueAt (a
   * book's tick re-reads its underlying's instruments so: no name looked up, no group key made).
   * Throws as indexOf does when the market lacks an underlying or an instrument has expired.
   */
  repriced(market: MarginMarket): InstrumentTable {
    const tb = new InstrumentTable(market, Math.max(64, this.count));
    for (const u of this.underlyings) tb.underlyingSlot(u);
    for (const [k, v] of this.index) tb.index.set(k, v);
    this.groups.forEach((byExpiry, slot) => (tb.groups[slot] = new Map(Array.from(byExpiry, ([e, byStrike]) => [e, new Map(byStrike)]))));
    tb.groupSlot.push(...this.groupSlot);
    const n = this.count;
    for (const f of ['underlyingOf', 'kind', 'inverse', 'isPut', 'strike', 'expiry', 'group'] as const) tb[f].set(this[f].subarray(0, n) as never);
    for (let i = 0; i < n; i++) {
      const inst = this.instruments[i];
      tb.valueAt(i, inst, this.underlyings[this.underlyingOf[i]]);
      tb.names.push(this.names[i]);
      tb.instruments.push(inst);
      tb.count = i + 1;
    }
    return tb;
  }

  get groupCount(): number {
    return this.groupSlot.length;
  }

  /** Size unit of an instrument in coin (inverse futures: USD notional / F). */
  coinSize(i: number, size: number): number {
    const k = this.kind[i];
    if ((k === Kind.Future || k === Kind.Perpetual) && this.inverse[i]) return size / this.forward[i];
    return size;
  }

  /**
   * USD value of a position of `size` with `entryPrice` (futures/perps: unrealised P&L from the
   * entry, absent = entered at mark; other kinds: mark value), and the coin of the underlying it
   * holds through an inverse future's entry leg (size / entry).
   */
  positionValue(i: number, size: number, entryPrice: number | undefined): { value: number; coinHeld: number } {
    const out = new Float64Array(2);
    this.positionValueInto(i, size, entryPrice, out);
    return { value: out[0], coinHeld: out[1] };
  }

  /** positionValue without allocation: out[0] = value (USD), out[1] = coin held. */
  positionValueInto(i: number, size: number, entryPrice: number | undefined, out: Float64Array): void {
    const k = this.kind[i];
    const cs = this.instruments[i]?.contractSize ?? 1;
    const entry = entryPrice ?? this.forward[i];
    const S = (k === Kind.Future || k === Kind.Perpetual) && this.inverse[i] ? this.market.spot(this.underlyings[this.underlyingOf[i]]) : 0;
    out[0] = positionValue(k, this.inverse[i], cs, this.forward[i], S, this.unitValue[i], size, entry);
    out[1] = entryLegCoin(k, this.inverse[i], cs, size, entry);
  }
}
