/** Kinds of the instrument table's entries (InstrumentTable.kind). */
export const enum Kind {
  Option = 0,
  Future = 1,
  Perpetual = 2,
  Spot = 3,
  /** pseudo-instrument: one coin of the underlying held as collateral (or as an inverse future's entry leg) */
  Coin = 4,
}
