/**
 * Insurance funds per product line (a fixed-price mechanism's `insuranceFund.pools:
 * 'product-line'`). OKX keeps the insurance funds of its business lines — margin trading,
 * futures, perpetual swaps, options — independent, and within a line separates them by
 * underlying and by settlement currency (coin-margined and USDT-margined), futures of one
 * underlying and different expiries sharing one ("Introduction to Auto-deleveraging (ADL)",
 * okx.com/help/iv-introduction-to-auto-deleveraging-adl, updated 2024-04-04, read 2026-12-03).
 *
 * Here a pool is (line, underlying, settlement currency) of an instrument, within the ledger of a
 * margin currency (ledger.ts): the currency's fund is the sum of its pools, so its closed ledger
 * is unchanged. A plan's fees go to the pools of the positions they were paid on; a bankrupt
 * account's deficit is shared over the pools of the legs its plan closed, pro rata to their
 * notional at the index, each share covered by its pool up to its balance (a plan that closed
 * nothing: pro rata to the pools' balances, the currency's fund as a whole). Every pool of the
 * book's instruments starts at the fund's starting amount, as every currency's fund does.
 */
import { parseInstrument } from '../market/instruments.js';
import type { InsuranceFund } from './shortfall.js';

const LINE: Record<string, string> = { future: 'futures', perpetual: 'perpetual', option: 'options', spot: 'spot' };
const keys = new Map<string, string>();

/** The pool of an instrument: its line, underlying and settlement currency, e.g. "perpetual BTC USDC". */
export function poolOf(instrument: string): string {
  let key = keys.get(instrument);
  if (key === undefined) {
    const i = parseInstrument(instrument);
    keys.set(instrument, (key = `${LINE[i.kind]} ${i.underlying} ${i.settlementCurrency}`));
  }
  return key;
}

export class FundPools {
  /** per currency: pool → balance (in the currency's units), in order of first appearance */
  private readonly pools: Map<string, number>[];

  /** `funds` the ledger's per currency; `start[c]` the pools of currency c, each starting at `initial[c]` (already in its fund). */
  constructor(
    private readonly funds: readonly InsuranceFund[],
    start: readonly (readonly string[])[],
    initial: readonly number[],
  ) {
    this.pools = start.map((ks, c) => new Map(ks.map((k) => [k, initial[c]])));
  }

  /** A fee of `amount` (currency c's units) paid on an instrument of pool `key`. */
  deposit(c: number, key: string, amount: number): void {
    this.funds[c].deposit(amount);
    const m = this.pools[c];
    m.set(key, (m.get(key) ?? 0) + amount);
  }

  /**
   * Covers `deficit` of currency c: shared over the pools of `weights` (pool → weight ≥ 0; none
   * with a positive weight: pro rata to the pools' balances), each share up to its pool's balance.
   */
  cover(c: number, deficit: number, weights: ReadonlyMap<string, number>): { covered: number; uncovered: number } {
    const m = this.pools[c];
    let w = weights;
    let total = 0;
    for (const x of w.values()) total += x;
    if (!(total > 0)) {
      w = new Map([...m].map(([k, b]) => [k, Math.max(b, 0)]));
      total = 0;
      for (const x of w.values()) total += x;
    }
    let covered = 0;
    if (total > 0) {
      for (const [k, x] of w) {
        const take = Math.min((deficit * x) / total, Math.max(m.get(k) ?? 0, 0));
        if (!(take > 0)) continue;
        m.set(k, (m.get(k) ?? 0) - take);
        covered += take;
      }
    }
    const paid = this.funds[c].cover(Math.min(covered, deficit));
    return { covered: paid.covered, uncovered: deficit - paid.covered };
  }

  /** Currency c's pool balances. */
  balances(c: number): Record<string, number> {
    return Object.fromEntries(this.pools[c]);
  }
}
