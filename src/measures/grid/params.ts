/**
 * The scenario-grid margin measure's parameters in compute-ready form: read once from a
 * validated GridModel (measures/models.ts), plain data (structured-clone safe: the book's
 * workers receive it in every task). Both runners — one account (runner/account) and the book
 * (runner/book, in workers) — reduce P&L vectors with these numbers only.
 */
import type { GridModel } from '../types.js';

export interface GridMeasureParams {
  /** contingency per net short option contract, fraction of the index (null: none) */
  shortOption: number | null;
  /** net short options per expiry/strike (calls and puts of a strike together) rather than per instrument */
  shortOptionByStrike: boolean;
  /** charge on futures/perpetual notional in coin × index (null: none) */
  futuresFraction: number | null;
  /** true: long + short; false: min(long, short) per underlying */
  futuresGross: boolean;
  /** SPAN short option minimum per short contract, fraction of the index (null: none) */
  shortOptionMinimum: number | null;
  /** combination across underlyings: plain sum, else sum − credit × (sum − largest) */
  sum: boolean;
  credit: number;
  /** IM floor, USD */
  minimumMarginUsd: number;
  /** MM = mmFraction × IM */
  mmFraction: number;
}

export function gridMeasureParams(m: GridModel): GridMeasureParams {
  const a = m.addOns;
  const cu = m.crossUnderlying;
  return {
    shortOption: a.shortOption ? a.shortOption.fractionOfSpot : null,
    shortOptionByStrike: a.shortOption !== undefined && a.shortOption.netting === 'expiry-strike',
    futuresFraction: a.futures ? a.futures.fraction : null,
    futuresGross: a.futures?.basis === 'gross',
    shortOptionMinimum: a.shortOptionMinimum ? a.shortOptionMinimum.fractionOfSpot : null,
    sum: cu.rule === 'sum',
    credit: cu.rule === 'sum' ? 0 : cu.credit,
    minimumMarginUsd: m.minimumMarginUsd,
    mmFraction: m.mmFraction,
  };
}
