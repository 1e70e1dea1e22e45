/**
 * Auto-deleveraging by position, as the venues rank and match it: what a bankrupt account's plan
 * closed, per instrument (its legs), and, per leg, the positions other accounts hold in that same
 * instrument on the other side, each with the figures the rankings read (shortfall.ts
 * AdlCandidate): the position's unrealised P&L and entry notional, its notional at mark, and its
 * account's equity and maintenance margin.
 *
 * Sources (docs/liquidation.md §ADL): OKX ranks positions by "the position's PnL% × effective
 * leverage" (okx-tiered-adl.json); Binance closes the ranked traders' positions "at the bankruptcy
 * price of the initial liquidated order" (binance-adl.json). An account holding one instrument in
 * several positions is one holding of their net size.
 */
import type { InstrumentTable } from '../instruments/table.js';
import type { AccountInput } from '../measures/types.js';
import { notionalUsd, positionFacts, type PositionFacts } from './execution.js';
import type { AdlCandidate } from './shortfall.js';

/** What a plan closed of one instrument: its net size before less its net size after (signed: a long closed is > 0). */
export interface ClosedLeg {
  instrument: string;
  size: number;
}

/** One account's net holding of an instrument as an ADL candidate (id: the account's index). */
export interface Holding extends AdlCandidate {
  k: number;
  /** net size */
  size: number;
  facts: PositionFacts;
}

/** Net size per instrument of an account, in order of first appearance. */
function netSizes(a: AccountInput): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of a.positions) out.set(p.instrument, (out.get(p.instrument) ?? 0) + p.size);
  return out;
}

/** The legs a plan closed: each instrument whose net size it reduced on the side the account held. */
export function closedLegs(before: AccountInput, after: AccountInput): ClosedLeg[] {
  const now = netSizes(after);
  const legs: ClosedLeg[] = [];
  for (const [instrument, q0] of netSizes(before)) {
    const closed = q0 - (now.get(instrument) ?? 0);
    if (Math.sign(closed) === Math.sign(q0) && Math.abs(closed) > 1e-12 * Math.abs(q0)) legs.push({ instrument, size: closed });
  }
  return legs;
}

/**
 * Unrealised P&L and |entry notional| (USD) of size q of an instrument entered at `entry` (none:
 * entered at mark, no P&L): a future or perpetual valued from its entry by the table (linear
 * q·cs·(F − E), entry notional |q·cs·E|; inverse: q USD of face, P&L q·cs·(1/E − 1/F)·S, entry
 * notional |q·cs|); an option or spot q × unit value × (1 − entry/mark), entry notional
 * |q| × unit value × entry/mark (its premium at entry, in USD at today's rate).
 */
export function positionPnl(table: InstrumentTable, f: PositionFacts, q: number, entry: number | undefined, pv: Float64Array): { upnl: number; entryNotional: number } {
  if (f.kind === 'future' || f.kind === 'perpetual') {
    table.positionValueInto(f.i, q, entry, pv);
    const e = entry ?? f.forward;
    return { upnl: pv[0], entryNotional: f.inverse ? Math.abs(q * f.contractSize) : Math.abs(q * f.contractSize * e) };
  }
  const value = q * f.unitUsd;
  if (entry === undefined || !(f.mark > 0)) return { upnl: 0, entryNotional: Math.abs(value) };
  return { upnl: value * (1 - entry / f.mark), entryNotional: Math.abs(value * (entry / f.mark)) };
}

/**
 * Account k's net holdings of `instruments` (those it holds, at a non-zero net size), each with
 * the rankings' figures; `equityUsd` and `mmUsd` are its account's.
 */
export function holdingsOf(table: InstrumentTable, k: number, a: AccountInput, instruments: ReadonlySet<string>, equityUsd: number, mmUsd: number, pv: Float64Array): Holding[] {
  const per = new Map<string, Holding>();
  a.positions.forEach((p, j) => {
    if (!instruments.has(p.instrument)) return;
    const f = positionFacts(table, p, j);
    const { upnl, entryNotional } = positionPnl(table, f, p.size, p.entryPrice, pv);
    const h = per.get(p.instrument);
    if (!h) per.set(p.instrument, { id: String(k), k, size: p.size, upnl, entryNotional, notional: 0, equity: equityUsd, mm: mmUsd, facts: f });
    else {
      h.size += p.size;
      h.upnl += upnl;
      h.entryNotional += entryNotional;
    }
  });
  const out: Holding[] = [];
  for (const h of per.values()) {
    h.notional = notionalUsd(h.facts, h.size);
    if (h.size !== 0) out.push(h);
  }
  return out;
}

/** A holding after `keep` of it is left (an ADL fill took the rest): its size, P&L and notionals scaled. */
export function shrinkHolding(h: Holding, keep: number): void {
  h.size *= keep;
  h.upnl *= keep;
  h.entryNotional *= keep;
  h.notional *= keep;
}
