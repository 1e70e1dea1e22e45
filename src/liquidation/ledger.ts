/**
 * The cascade simulator's ledger, one per currency. An account's figures (equity, IM, MM) are in
 * its margin currency — USD on a cross-collateral model, the settlement coin (BTC, ETH) or USDC of
 * a segregated Deribit PME sub-account — and every amount booked for it (liquidation fees into
 * the insurance fund, the liquidator's gain, fund cover, socialised loss, ADL) is booked in that
 * currency: one insurance fund per currency, and per currency the closed ledger
 *   Δ Σ account equity + Δ liquidators' gains + Δ insurance fund = market P&L of the ticks (+ printed).
 * USD amounts of a plan (fees, liquidator gain: execution.ts prices them in USD) are converted at
 * the index of the plan's market: the same index the booking's coin units came from.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { AccountInput, LoadedModel } from '../measures/types.js';
import type { BookEngine } from '../runner/book/runner.js';
import { InsuranceFund } from './shortfall.js';
import { FundPools, poolOf } from './fund-pools.js';
import type { Mechanism } from './mechanism.js';

/** Shortfall figures of a simulation step (printed: auction payouts beyond the security module no winner could be charged for; Lyra prints them). */
export interface ShortfallTotals {
  badDebt: number;
  insuranceCovered: number;
  socialised: number;
  adlPositions: number;
  adlCharged: number;
  unrecovered: number;
  bankrupt: number;
  printed: number;
}

/** One currency's part of a step: its ledger and its shortfall figures, in units of the currency. */
export interface CurrencyStep extends ShortfallTotals {
  currency: string;
  /** USD per unit at the end of the step (1 for USD and USD-pegged currencies) */
  price: number;
  accounts: number;
  fees: number;
  liquidatorGain: number;
  marketPnl: number;
  insuranceFund: number;
  /** the fund's pools at the end of the step (a mechanism with funds per product line: fund-pools.ts) */
  pools?: Record<string, number>;
  ledger: { accounts: number; liquidators: number; insuranceFund: number; printed: number; residual: number };
}

export const emptyShortfall = (): ShortfallTotals => ({ badDebt: 0, insuranceCovered: 0, socialised: 0, adlPositions: 0, adlCharged: 0, unrecovered: 0, bankrupt: 0, printed: 0 });

export class CurrencyLedger {
  /** currency index of each account */
  readonly of: Uint16Array;
  readonly funds: InsuranceFund[];
  /** Σ account equity, Σ liquidators' gains, per currency */
  readonly equity: Float64Array;
  readonly liquidators: Float64Array;
  private readonly accounts: Int32Array;

  /** the funds' pools per product line (null: one fund per currency) */
  readonly pools: FundPools | null;

  /**
   * `currencies` sorted, `of[k]` the index of account k's; each fund starts at `initialUsd`
   * converted at the index of `market` — with `pools` (per currency, its pools), each pool does.
   */
  constructor(
    readonly currencies: readonly string[],
    of: Uint16Array,
    private readonly usdPegged: readonly string[],
    initialUsd: number,
    market: MarginMarket,
    pools: readonly (readonly string[])[] | null = null,
  ) {
    this.of = of;
    const n = currencies.length;
    const initial = currencies.map((_, c) => initialUsd / this.price(c, market));
    this.funds = currencies.map((_, c) => new InsuranceFund(pools ? initial[c] * pools[c].length : initial[c]));
    this.pools = pools ? new FundPools(this.funds, pools, initial) : null;
    this.equity = new Float64Array(n);
    this.liquidators = new Float64Array(n);
    this.accounts = new Int32Array(n);
    for (const c of of) this.accounts[c]++;
  }

  get n(): number {
    return this.currencies.length;
  }

  /**
   * A plan's fees (USD; `byPosition`: per position of the account before it, null when not
   * recorded) into currency c's fund at `usd` per unit — with pools, each position's into its pool.
   */
  depositFees(c: number, totalUsd: number, byPosition: ArrayLike<number> | null, before: AccountInput | null, usd: number): void {
    if (!this.pools || !byPosition || !before) return this.funds[c].deposit(totalUsd / usd);
    for (let j = 0; j < byPosition.length; j++) if (byPosition[j] > 0) this.pools.deposit(c, poolOf(before.positions[j].instrument), byPosition[j] / usd);
  }

  /** USD per unit of currency c on `market`: 1 for USD and USD-pegged currencies, else the coin's index. */
  price(c: number, market: MarginMarket): number {
    const cur = this.currencies[c];
    return cur === 'USD' || this.usdPegged.includes(cur) ? 1 : market.spot(cur);
  }

  /** Σ fund balances in USD at the index of `market`. */
  fundsUsd(market: MarginMarket): number {
    let s = 0;
    for (let c = 0; c < this.n; c++) s += this.funds[c].balance * this.price(c, market);
    return s;
  }

  /** Balances at the start of a step: Σ equity, liquidators, funds per currency. */
  mark(): { equity: Float64Array; liquidators: Float64Array; funds: Float64Array } {
    return { equity: this.equity.slice(), liquidators: this.liquidators.slice(), funds: Float64Array.from(this.funds, (f) => f.balance) };
  }

  /** A fresh per-currency step record. */
  stepRecords(): CurrencyStep[] {
    return this.currencies.map((currency, c) => ({
      currency, price: 1, accounts: this.accounts[c], fees: 0, liquidatorGain: 0, marketPnl: 0, insuranceFund: 0, ...emptyShortfall(),
      ledger: { accounts: 0, liquidators: 0, insuranceFund: 0, printed: 0, residual: 0 },
    }));
  }

  /** Closes the step's records: balances, ledger changes since `start`, residuals, prices on `market`. */
  close(recs: CurrencyStep[], start: ReturnType<CurrencyLedger['mark']>, market: MarginMarket): void {
    for (let c = 0; c < this.n; c++) {
      const r = recs[c];
      r.price = this.price(c, market);
      r.insuranceFund = this.funds[c].balance;
      if (this.pools) r.pools = this.pools.balances(c);
      const dA = this.equity[c] - start.equity[c];
      const dL = this.liquidators[c] - start.liquidators[c];
      const dF = this.funds[c].balance - start.funds[c];
      r.ledger = { accounts: dA, liquidators: dL, insuranceFund: dF, printed: r.printed, residual: dA + dL + dF - r.marketPnl - r.printed };
    }
  }
}

/**
 * The ledger of a loaded book: each account's margin currency (USD on the vectorized path, the
 * margin result's currency otherwise — a segregated PME sub-account's coin or USDC), the funds
 * starting at `initialUsd` each (with funds per product line, each pool of the instruments the
 * currency's accounts hold). A Dutch auction books its bidder's cash in USDC: an error on a book
 * with coin accounts.
 */
export function ledgerOf(book: BookEngine, model: LoadedModel, mechanism: Mechanism, initialUsd: number, market: MarginMarket): CurrencyLedger | OptmarginError {
  const names: string[] = [];
  const of = new Uint16Array(book.n);
  for (let k = 0; k < book.n; k++) {
    const r = book.isGrid(k) ? null : book.result(k);
    const cur = r?.ok ? r.currency : 'USD';
    let c = names.indexOf(cur);
    if (c < 0) c = names.push(cur) - 1;
    of[k] = c;
  }
  const sorted = [...names].sort();
  const remap = names.map((n) => sorted.indexOf(n));
  for (let k = 0; k < of.length; k++) of[k] = remap[of[k]];
  const pegged = model.params.collateral.usdPegged;
  const coins = sorted.filter((c) => c !== 'USD' && !pegged.includes(c));
  if (mechanism.mechanism === 'dutch-auction' && coins.length > 0) {
    return new OptmarginError(ErrorCodes.INVALID_OPTION, `mechanism ${mechanism.id} (a Dutch auction) books the bidder's cash in USDC: it cannot liquidate accounts margined in ${coins.join(', ')} (model ${model.params.id})`);
  }
  const currencies = sorted.length ? sorted : ['USD'];
  return new CurrencyLedger(currencies, of, pegged, initialUsd, market, mechanism.mechanism === 'fixed-price' && mechanism.insuranceFund.pools === 'product-line' ? poolsOf(book, of, currencies.length) : null);
}

/** Per currency, the pools of the instruments its accounts hold, in order of first appearance. */
function poolsOf(book: BookEngine, of: Uint16Array, n: number): string[][] {
  const seen = Array.from({ length: n }, () => new Set<string>());
  // each account's positions read from the book's inputs (no account built: a columns load's)
  const v = { into: seen[0], position: (instrument: string) => v.into.add(poolOf(instrument)), currency: () => {} };
  for (let k = 0; k < book.n; k++) {
    v.into = seen[of[k]];
    book.visitInput(k, v);
  }
  return seen.map((s) => [...s]);
}
