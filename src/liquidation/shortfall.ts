/**
 * Who pays when collateral is not enough: the insurance fund first, then socialised loss
 * (Deribit; OKX's former rule) or auto-deleveraging of ranked counterparties (OKX, Binance).
 * Pure accounting: amounts in USD, every transfer returned so a caller's ledger can book it.
 *
 * ADL rankings (docs/liquidation.md §ADL, sources in presets/liquidation/*.json):
 *   OKX      leverage PnL% = PnL% × effective leverage            (PnL% ≥ 0)
 *                          = PnL% / effective leverage            (PnL% < 0, "vice versa")
 *            PnL% = uPnL / |entry notional|, effective leverage = |notional at mark| / equity
 *   Binance  LeveragePnl = max(0, uPnL) / max(1, wallet balance) × margin ratio,
 *            margin ratio = MM / (wallet balance + uPnL) when that is > 0, else 0
 * Highest rank is deleveraged first; ties by id (deterministic). Equity, wallet balance and MM are
 * the account's for a cross or portfolio position, the position's own for an isolated one.
 */
import { check } from '../errors.js';

export class InsuranceFund {
  balance: number;
  /** totals since creation */
  feesIn = 0;
  paidOut = 0;
  constructor(initialUsd = 0) {
    this.balance = check.finite('insuranceFund.initialUsd', initialUsd);
  }
  /** A liquidation fee (or auction fee) paid into the fund. */
  deposit(usd: number): void {
    const x = check.nonNegative('fee', usd);
    this.balance += x;
    this.feesIn += x;
  }
  /** Covers as much of a deficit as the fund holds; returns the covered and the uncovered parts. */
  cover(deficitUsd: number): { covered: number; uncovered: number } {
    const d = check.nonNegative('deficit', deficitUsd);
    const covered = Math.min(d, Math.max(this.balance, 0));
    this.balance -= covered;
    this.paidOut += covered;
    return { covered, uncovered: d - covered };
  }
}

export interface Winner {
  id: string;
  /** profit that can be charged (USD, > 0 to take part) */
  profit: number;
}

/**
 * Socialised loss: each winner pays loss × profit / Σ profit (the ratio capped at 1: nobody
 * pays more than their profit); what exceeds total profit stays unrecovered.
 */
export function socialiseLoss(lossUsd: number, winners: readonly Winner[]): { charges: Map<string, number>; recovered: number; unrecovered: number } {
  const loss = check.nonNegative('loss', lossUsd);
  let total = 0;
  for (const w of winners) if (w.profit > 0) total += w.profit;
  const charges = new Map<string, number>();
  if (loss === 0 || total === 0) return { charges, recovered: 0, unrecovered: loss };
  const ratio = Math.min(1, loss / total);
  let recovered = 0;
  for (const w of winners) {
    if (!(w.profit > 0)) continue;
    const c = w.profit * ratio;
    charges.set(w.id, c);
    recovered += c;
  }
  return { charges, recovered, unrecovered: Math.max(0, loss - recovered) };
}

/** What a ranking needs of one account's position on the deleveraged side. */
export interface AdlCandidate {
  id: string;
  /** unrealised P&L of the position (USD) */
  upnl: number;
  /** |entry notional| (USD) */
  entryNotional: number;
  /** |notional at mark| (USD) */
  notional: number;
  /** equity (USD) = wallet balance + uPnL: the account's, or an isolated position's own (its collateral and value) */
  equity: number;
  /** maintenance margin (USD): the account's, or an isolated position's own */
  mm: number;
}

/** OKX leverage PnL%. */
export function okxAdlRank(c: AdlCandidate): number {
  const pnlPct = c.entryNotional > 0 ? c.upnl / c.entryNotional : 0;
  const lev = c.equity > 0 ? c.notional / c.equity : Infinity;
  if (pnlPct >= 0) return lev === Infinity ? (pnlPct > 0 ? Infinity : 0) : pnlPct * lev;
  return lev === Infinity ? 0 : pnlPct / lev;
}

/** Binance LeveragePnl. */
export function binanceAdlRank(c: AdlCandidate): number {
  const wallet = c.equity - c.upnl;
  const pnlPercent = Math.max(0, c.upnl) / Math.max(1, wallet);
  const marginRatio = c.equity > 0 ? c.mm / c.equity : 0;
  return pnlPercent * marginRatio;
}

export function adlRank(ranking: 'okx' | 'binance', c: AdlCandidate): number {
  return ranking === 'okx' ? okxAdlRank(c) : binanceAdlRank(c);
}

/** Candidates in deleveraging order: highest rank first, ties by id. */
export function adlQueue(ranking: 'okx' | 'binance', candidates: readonly AdlCandidate[]): { id: string; rank: number }[] {
  return candidates
    .map((c) => ({ id: c.id, rank: adlRank(ranking, c) }))
    .sort((a, b) => (b.rank !== a.rank ? (b.rank > a.rank ? 1 : -1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface AdlFill {
  id: string;
  rank: number;
  /** notional (USD) of the counterparty's position closed against the bankrupt one */
  notional: number;
  /** its share of the deficit: deficit × notional / bankrupt notional (the price gap to bankruptcy) */
  charge: number;
}

/**
 * Deleverages a bankrupt position of `bankruptNotional` carrying `deficitUsd` (what closing it
 * at its bankruptcy price instead of mark costs the counterparties) against the queue: each
 * counterparty takes min(remaining, its notional) at the bankruptcy price and bears the deficit
 * pro rata to the notional it takes. Returns the fills and any deficit left when the queue ends.
 */
export function allocateAdl(
  ranking: 'okx' | 'binance',
  deficitUsd: number,
  bankruptNotional: number,
  candidates: readonly AdlCandidate[],
): { fills: AdlFill[]; recovered: number; unrecovered: number } {
  const deficit = check.nonNegative('deficit', deficitUsd);
  const Q = check.nonNegative('bankruptNotional', bankruptNotional);
  const fills: AdlFill[] = [];
  if (deficit === 0) return { fills, recovered: 0, unrecovered: 0 };
  if (Q === 0) return { fills, recovered: 0, unrecovered: deficit };
  const byId = new Map(candidates.map((c) => [c.id, c]));
  let left = Q;
  let recovered = 0;
  for (const q of adlQueue(ranking, candidates)) {
    if (left <= 0) break;
    const c = byId.get(q.id)!;
    const n = Math.min(left, c.notional);
    if (!(n > 0)) continue;
    const charge = (deficit * n) / Q;
    fills.push({ id: q.id, rank: q.rank, notional: n, charge });
    recovered += charge;
    left -= n;
  }
  return { fills, recovered, unrecovered: Math.max(0, deficit - recovered) };
}
