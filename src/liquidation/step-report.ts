/**
 * What a simulation step reports (Simulation.step, simulate.ts): its counts and USD totals, each
 * currency's ledger, the accounts it liquidated and those it left bankrupt.
 */
import type { CurrencyStep, ShortfallTotals } from './ledger.js';

/**
 * An account bankrupt in a step (StepReport.bankruptAccounts): its bad debt and what bore it, in
 * its margin currency's units — the fund (insuranceCovered), the step's winners (socialised),
 * ADL fills (adlCharged, adlPositions of them), nobody (unrecovered: it stays on the account),
 * printed (an insolvent auction's payout no winner paid) — its parts of the currency's totals;
 * badDebtUsd at the step's closing index.
 */
export interface BankruptAccount extends Omit<ShortfallTotals, 'bankrupt'> {
  /** input index */
  account: number;
  id: string;
  /** its margin currency (USD for accounts margined in USD and USD-pegged coins) */
  currency: string;
  badDebtUsd: number;
}

/**
 * One step's report; the shortfall figures (bad debt, fund cover, socialised, ADL, unrecovered,
 * printed) come from ShortfallTotals. Amounts are USD: volume, fees and liquidator gain as the
 * plans priced them; the rest is the sum of `currencies` (each in its own units, with its own
 * ledger) at the step's closing index — one currency, USD, on a cross-collateral model.
 */
export interface StepReport extends ShortfallTotals {
  step: number;
  label: string;
  spot: Record<string, number>;
  /** cumulative permanent price impact per underlying (relative) */
  impact: Record<string, number>;
  rounds: number;
  /** book ticks in the step: one at the start (every underlying whose market moved, in one pool round) and one in each cascade round that re-ticks */
  ticks: number;
  liquidated: number;
  /** input indices of the accounts liquidated in this step, ascending by round then index */
  liquidatedAccounts: number[];
  /**
   * the accounts bankrupt in this step (`bankrupt` of them), ascending by input index: each one's bad
   * debt in the step — the deficit left after its plan, and an insolvent auction's payout — in its
   * margin currency's units and in USD at the step's closing index (their sum: the step's `badDebt`)
   */
  bankruptAccounts: BankruptAccount[];
  volumeUsd: number;
  fees: number;
  liquidatorGain: number;
  marketPnl: number;
  insuranceFund: number;
  accountsFailed: number;
  ledger: { accounts: number; liquidators: number; insuranceFund: number; printed: number; residual: number };
  /** per margin currency (sorted): its ledger and shortfall figures in its own units */
  currencies: CurrencyStep[];
  ms: number;
  /** wall ms: ticks, plans and their booking (bookMs: the booking's part — the book's edit and refresh of each account, the ledger), shortfall desk, and the re-layout of the book (compactIfDead; 0 in most steps) */
  stages: { tickMs: number; liquidateMs: number; bookMs: number; shortfallMs: number; compactMs: number };
}

/** The step's USD totals: each currency's amounts at its closing index. */
export function sumCurrencies(r: StepReport, recs: readonly CurrencyStep[]): void {
  const keys = ['badDebt', 'insuranceCovered', 'socialised', 'adlCharged', 'unrecovered', 'printed', 'marketPnl', 'insuranceFund'] as const;
  const ledger = ['accounts', 'liquidators', 'insuranceFund', 'printed', 'residual'] as const;
  for (const c of recs) {
    for (const key of keys) r[key] += c[key] * c.price;
    for (const key of ledger) r.ledger[key] += c.ledger[key] * c.price;
    r.bankrupt += c.bankrupt;
    r.adlPositions += c.adlPositions;
  }
}
