/**
 * What a grid what-if's changes move (GridAccountMeasure.whatIf): each change's instrument index,
 * the rows they add, the equity they move and the coin exposures that move — in typed scratch
 * reused by every what-if (a liquidation plan runs thousands of them: no object, array or boxed
 * number per call).
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import type { AccountResolver } from '../../instruments/resolve.js';
import { collateralExposure, collateralValue } from '../../instruments/valuation.js';
import { Kind } from '../../instruments/kind.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { PositionChange } from '../types.js';
import { growPlain } from '../../platform/typed.js';

/** Row of underlying slot s among a state's `slots` (−1: none): a loop, not Array.indexOf's call, for a row or two. */
export function rowOf(slots: readonly number[], s: number): number {
  for (let k = 0; k < slots.length; k++) if (slots[k] === s) return k;
  return -1;
}

export class WhatIfMoves {
  /** underlyings the changes add (rows with no holdings yet), in order */
  readonly added: number[] = [];
  /** coin exposures that move: nCoin [instrument, size] pairs */
  coinI = new Int32Array(8);
  coinQ = new Float64Array(8);
  nCoin = 0;
  /** balances booked so far (nBooked currencies) */
  private readonly bookedCur: string[] = [];
  private bookedAmt = new Float64Array(4);
  private nBooked = 0;
  private readonly pv = new Float64Array(2);
  /**
   * the last two changes' instruments and their indices (a plan's candidates change the same few
   * positions step after step; venue order often tries one it does not take before the one it takes)
   */
  private lastName = '';
  private lastIndex = -1;
  private prevName = '';
  private prevIndex = -1;

  constructor(
    private readonly table: InstrumentTable,
    private readonly resolver: AccountResolver,
  ) {}

  /**
   * Instrument index of each change (underlyings not in `slots` appended to this.added), the
   * equity change (value of the trades, premiums moving the settlement balance) and the coin
   * exposures that move (inverse futures' entry legs, premiums paid/received in coin) as
   * [instrument, size] pairs (coinI, coinQ: nCoin of them). A booking of 0 moves nothing and is skipped.
   * `known[c]`, when given, is change c's index where the table names it so (no lookup by name).
   */
  of(balances: Readonly<Record<string, number>>, changes: PositionChange[], idx: Int32Array, slots: readonly number[], deltas?: Readonly<Record<string, number>>, known?: Int32Array): number {
    const tb = this.table;
    const res = this.resolver;
    this.nCoin = 0;
    if (this.added.length > 0) this.added.length = 0;
    this.nBooked = 0;
    let dEquity = 0;
    for (let c = 0; c < changes.length; c++) {
      const ch = changes[c];
      const i = known !== undefined && tb.names[known[c]] === ch.instrument ? known[c] : this.indexOf(ch.instrument, c);
      idx[c] = i;
      const s = tb.underlyingOf[i];
      this.slot(slots, s);
      tb.positionValueInto(i, ch.size, ch.entryPrice, this.pv);
      dEquity += this.pv[0];
      if (this.pv[1] !== 0) this.coinMove(this.table.coinOfSlot(s), this.pv[1]);
      if (tb.kind[i] !== Kind.Option) continue;
      // the premium (at entry, else at mark) moves the settlement currency's balance
      const inst = tb.instruments[i];
      if (!inst) throw new OptmarginError(ErrorCodes.INTERNAL, `instrument ${tb.names[i]} has no parsed definition`);
      dEquity += this.book(balances, slots, inst.settlementCurrency, -ch.size * (ch.entryPrice ?? tb.mark[i]) * inst.contractSize);
    }
    if (deltas) for (const cur in deltas) dEquity += this.book(balances, slots, cur, deltas[cur]);
    return dEquity;
  }

  /** Table index of change c's instrument (resolver.instrumentIndex; the last two kept: the table never renumbers an instrument). */
  private indexOf(name: string, c: number): number {
    if (name === this.lastName && this.lastIndex >= 0) return this.lastIndex;
    const i = name === this.prevName && this.prevIndex >= 0 ? this.prevIndex : this.resolver.instrumentIndex('changes', name, c);
    this.prevName = this.lastName;
    this.prevIndex = this.lastIndex;
    this.lastName = name;
    this.lastIndex = i;
    return i;
  }

  /** Underlying s gets a row in the what-if: appended to this.added unless `slots` or this.added has it. */
  private slot(slots: readonly number[], s: number): void {
    if (rowOf(slots, s) < 0 && rowOf(this.added, s) < 0) this.added.push(s);
  }

  /** A coin exposure that moves: [instrument, size] appended to the what-if's pairs. */
  private coinMove(instrument: number, size: number): void {
    if (this.nCoin === this.coinI.length) {
      this.coinI = growPlain(this.coinI, this.nCoin + 1);
      this.coinQ = growPlain(this.coinQ, this.nCoin + 1);
    }
    this.coinI[this.nCoin] = instrument;
    this.coinQ[this.nCoin++] = size;
  }

  /** Books d of currency `cur` on the what-if's balances: the equity change; its coin exposure into this.coin. */
  private book(balances: Readonly<Record<string, number>>, slots: readonly number[], cur: string, d: number): number {
    if (d === 0) return 0;
    const res = this.resolver;
    let b = this.bookedCur.indexOf(cur);
    if (b >= this.nBooked) b = -1;
    const old = b >= 0 ? this.bookedAmt[b] : (balances[cur] ?? 0);
    const next = old + d;
    if (b < 0) {
      b = this.nBooked++;
      if (b === this.bookedAmt.length) this.bookedAmt = growPlain(this.bookedAmt, b + 1);
      this.bookedCur[b] = cur;
    }
    this.bookedAmt[b] = next;
    // valued as resolve values a balance (valueCollateral), without its line objects
    const t = res.collateralTerms('collateral', cur);
    if (t.coin >= 0) {
      this.coinMove(t.coin, collateralExposure(next, t.haircut) - collateralExposure(old, t.haircut));
      this.slot(slots, this.table.underlyingOf[t.coin]);
    }
    return collateralValue(next, t.price, t.haircut) - collateralValue(old, t.price, t.haircut);
  }
}
