/**
 * The resolve step of one account: validated input → instrument indices, sizes, position
 * values and collateral lines, once, in compute-ready arrays. Every measure reads a Resolved
 * account; none re-parses names or re-values holdings.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { AccountInput, CollateralParams } from './types.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { InstrumentTable } from './table.js';
import { collateralValue } from './valuation.js';

/** Collateral of one currency valued in USD: value after haircut, price, and the coin slot it moves with. */
export interface CollateralLine {
  currency: string;
  amount: number;
  price: number;
  haircut: number;
  value: number;
  /** table index of the coin pseudo-instrument, −1 for USD-pegged */
  coin: number;
}

/** Holdings of an account after resolve. The arrays are the resolver's scratch, valid until its next resolve. */
export interface Resolved {
  account: AccountInput;
  /** number of positions (the arrays may be longer) */
  n: number;
  /** position → instrument index */
  instr: Int32Array;
  size: Float64Array;
  collateral: CollateralLine[];
  collateralValue: number;
  /** mark value of each position (USD) */
  posValue: Float64Array;
  /** coin held through inverse futures' entry legs, per position */
  posCoin: Float64Array;
}

/** How a collateral currency is valued: haircut, index price (1 for USD-pegged), coin pseudo-instrument (−1 for USD-pegged). */
export interface CollateralTerms {
  haircut: number;
  price: number;
  coin: number;
}

export class AccountResolver {
  private rInstr = new Int32Array(0);
  private rSize = new Float64Array(0);
  private rValue = new Float64Array(0);
  private rCoin = new Float64Array(0);
  private readonly pair = new Float64Array(2);
  /** the account the scratch's indices (rInstr) are of: the last resolve's, once complete (its positions array too) */
  private lastAccount: AccountInput | null = null;
  private lastPositions: unknown = null;

  constructor(
    readonly table: InstrumentTable,
    readonly market: MarginMarket,
    readonly collateralParams: CollateralParams,
    /** names the model in messages */
    readonly modelId: string,
  ) {}

  /** per collateral currency: its haircut, index price and coin pseudo-instrument (the market and model are the resolver's for its life) */
  private readonly terms = new Map<string, CollateralTerms>();

  /** One collateral balance valued (haircut, index price); INVALID_INPUT when the model does not accept the currency. */
  valueCollateral(path: string, currency: string, amount: number): CollateralLine {
    const t = this.collateralTerms(path, currency);
    return { currency, amount, price: t.price, haircut: t.haircut, value: collateralValue(amount, t.price, t.haircut), coin: t.coin };
  }

  /** What values a balance of `currency` (looked up once per currency); errors as valueCollateral's, naming `path`. */
  collateralTerms(path: string, currency: string): CollateralTerms {
    const hit = this.terms.get(currency);
    if (hit) return hit;
    const c = this.collateralParams;
    const haircut = c.haircuts[currency] ?? c.defaultHaircut;
    if (haircut === null || haircut === undefined) {
      throw new OptmarginError(
        ErrorCodes.INVALID_INPUT,
        `${path}.${currency} is not accepted as collateral by model ${this.modelId} (accepted: ${Object.keys(c.haircuts).join(', ')})`,
        `${path}.${currency}`,
      );
    }
    let price = 1;
    let coin = -1;
    if (!c.usdPegged.includes(currency)) {
      if (!this.market.hasUnderlying(currency)) {
        throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `${path}.${currency}: the market has no index price for ${currency}`, `${path}.${currency}`);
      }
      price = this.market.spot(currency);
      coin = this.table.coinIndex(currency);
    }
    const t = { haircut, price, coin };
    this.terms.set(currency, t);
    return t;
  }

  /** Non-zero balances in key order. */
  collateralLines(path: string, balances: Record<string, number>): CollateralLine[] {
    const out: CollateralLine[] = [];
    for (const cur of Object.keys(balances)) {
      if (balances[cur] !== 0) out.push(this.valueCollateral(path, cur, balances[cur]));
    }
    return out;
  }

  /**
   * Table index of an instrument; errors name the field: `path`, or `${path}[${at}].instrument`
   * when `at` is given (the path is then built only for an error: no string per position).
   */
  instrumentIndex(path: string, name: string, at?: number): number {
    try {
      return this.table.indexOf(name);
    } catch (e) {
      const field = at === undefined ? path : `${path}[${at}].instrument`;
      if (e instanceof OptmarginError) throw new OptmarginError(e.code, `${field}: ${e.message}`, field);
      throw e;
    }
  }

  /**
   * Table index of position p of `a`: read from the last resolve when it resolved `a` (no name
   * lookup: a liquidation plan reads its positions' indices after its first margin), else
   * instrumentIndex's.
   */
  positionIndex(a: AccountInput, p: number): number {
    if (a === this.lastAccount && a.positions === this.lastPositions) return this.rInstr[p];
    return this.instrumentIndex('positions', a.positions[p].instrument, p);
  }

  resolve(a: AccountInput): Resolved {
    const n = a.positions.length;
    this.lastAccount = null;
    if (this.rInstr.length < n) {
      const c = Math.max(n, 2 * this.rInstr.length);
      this.rInstr = new Int32Array(c);
      this.rSize = new Float64Array(c);
      this.rValue = new Float64Array(c);
      this.rCoin = new Float64Array(c);
    }
    const { rInstr: instr, rSize: size, rValue: posValue, rCoin: posCoin, pair } = this;
    for (let p = 0; p < n; p++) {
      const pos = a.positions[p];
      const i = this.instrumentIndex('positions', pos.instrument, p);
      instr[p] = i;
      size[p] = pos.size;
      this.table.positionValueInto(i, pos.size, pos.entryPrice, pair);
      posValue[p] = pair[0];
      posCoin[p] = pair[1];
    }
    this.lastAccount = a;
    this.lastPositions = a.positions;
    const collateral = this.collateralLines('collateral', a.collateral);
    let cv = 0;
    for (const c of collateral) cv += c.value;
    return { account: a, n, instr, size, collateral, collateralValue: cv, posValue, posCoin };
  }
}
