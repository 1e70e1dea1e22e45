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
import { futuresValue } from '../instruments/valuation.js';
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
 * entered at mark, no P&L): a future or perpetual valued from its entry (valuation.ts futuresValue:
 * linear q·cs·(F − E), entry notional |q·cs·E|; inverse: q USD of face, P&L q·cs·(1/E − 1/F)·S,
 * entry notional |q·cs|); an option or spot q × unit value × (1 − entry/mark), entry notional
 * |q| × unit value × entry/mark (its premium at entry, in USD at today's rate).
 */
export function positionPnl(table: InstrumentTable, f: PositionFacts, q: number, entry: number | undefined): { upnl: number; entryNotional: number } {
  if (f.kind === 'future' || f.kind === 'perpetual') {
    const e = entry ?? f.forward;
    const upnl = futuresValue(table.inverse[f.i], f.contractSize, f.forward, f.spot, table.unitValue[f.i], q, e);
    return { upnl, entryNotional: f.inverse ? Math.abs(q * f.contractSize) : Math.abs(q * f.contractSize * e) };
  }
  const value = q * f.unitUsd;
  if (entry === undefined || !(f.mark > 0)) return { upnl: 0, entryNotional: Math.abs(value) };
  return { upnl: value * (1 - entry / f.mark), entryNotional: Math.abs(value * (entry / f.mark)) };
}

/**
 * The holdings of a set of accounts, built position by position as the book visits them
 * (BookEngine.positionsIn: account by account, ascending): one per account and instrument, its
 * net size, listed per instrument in account order; a net size of 0 is no holding. Each carries
 * its account's equity and MM in USD (`figures(k, out)`: out[0], out[1]).
 */
export class HoldingsCollector {
  private readonly lists = new Map<string, Holding[]>();
  /** per instrument: its facts, found once (a position's index in its account is not kept: 0) */
  private readonly facts = new Map<string, PositionFacts>();
  /** the holdings of the account being visited */
  private readonly open = new Map<string, Holding>();
  private k = -1;
  private readonly fig = new Float64Array(2);

  constructor(
    private readonly table: InstrumentTable,
    private readonly figures: (k: number, out: Float64Array) => void,
  ) {}

  /** A position of account k (accounts in ascending order, each one's positions together). */
  readonly add = (k: number, instrument: string, size: number, entry: number | undefined): void => {
    if (k !== this.k) {
      this.flush();
      this.k = k;
      this.figures(k, this.fig);
    }
    let f = this.facts.get(instrument);
    if (!f) this.facts.set(instrument, (f = positionFacts(this.table, { instrument, size }, 0)));
    const { upnl, entryNotional } = positionPnl(this.table, f, size, entry);
    const h = this.open.get(instrument);
    if (!h) this.open.set(instrument, { id: String(k), k, size, upnl, entryNotional, notional: 0, equity: this.fig[0], mm: this.fig[1], facts: f });
    else {
      h.size += size;
      h.upnl += upnl;
      h.entryNotional += entryNotional;
    }
  };

  /** The holdings per instrument, once every position has been added. */
  done(): Map<string, Holding[]> {
    this.flush();
    return this.lists;
  }

  private flush(): void {
    for (const h of this.open.values()) {
      if (h.size === 0) continue;
      h.notional = notionalUsd(h.facts, h.size);
      const list = this.lists.get(h.facts.instrument);
      if (list) list.push(h);
      else this.lists.set(h.facts.instrument, [h]);
    }
    this.open.clear();
  }
}

/** A holding after `keep` of it is left (an ADL fill took the rest): its size, P&L and notionals scaled. */
export function shrinkHolding(h: Holding, keep: number): void {
  h.size *= keep;
  h.upnl *= keep;
  h.entryNotional *= keep;
  h.notional *= keep;
}
