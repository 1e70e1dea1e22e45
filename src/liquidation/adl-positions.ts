/**
 * Auto-deleveraging by position, as the venues rank and match it: what a bankrupt account's plan
 * closed, per instrument (its legs), and, per leg, the positions other accounts hold in that same
 * instrument on the other side, each with the figures the rankings read (shortfall.ts
 * AdlCandidate): the position's unrealised P&L and entry notional, its notional at mark, and its
 * account's equity and maintenance margin.
 *
 * Sources (docs/liquidation.md §ADL): OKX ranks positions by "the position's PnL% × effective
 * leverage" (okx-tiered-adl.json); Binance closes the ranked traders' positions "at the bankruptcy
 * price of the initial liquidated order" (binance-adl.json). A cross or portfolio account holding
 * one instrument in several positions is one holding of their net size, ranked on the account's
 * equity and MM; an isolated position is a holding of its own, ranked on its own sub-account's
 * (runner/book/positions-in.ts, with the venue's source).
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

/** One account's net holding of an instrument as an ADL candidate (id: the account's index; an isolated position's: `k/own`). */
export interface Holding extends AdlCandidate {
  k: number;
  /** net size */
  size: number;
  facts: PositionFacts;
  /** an isolated position: its rank among the account's open positions in the instrument (from 0; ownPosition); −1: the account's net holding */
  own: number;
}

/** The index in `a.positions` of its `own`-th open position (size ≠ 0) in `instrument` (from 0), −1 when there is none. */
export function ownPosition(a: AccountInput, instrument: string, own: number): number {
  let m = 0;
  for (let i = 0; i < a.positions.length; i++) {
    const p = a.positions[i];
    if (p.instrument !== instrument || p.size === 0) continue;
    if (m++ === own) return i;
  }
  return -1;
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
 * (BookEngine.positionsIn: account by account, ascending): per account and instrument, the net
 * size of its cross or portfolio positions, and each isolated position apart; listed per
 * instrument in account order (an account's isolated positions in its order, after its net
 * holding); a size of 0 is no holding. A net holding carries its account's equity and MM
 * (`figures(k, out)`: out[0], out[1]), an isolated position its own (the visit's `own`); both
 * in the book's units, times `usd` (USD per unit).
 */
export class HoldingsCollector {
  private readonly lists = new Map<string, Holding[]>();
  /** per instrument: its facts, found once (a position's index in its account is not kept: 0) */
  private readonly facts = new Map<string, PositionFacts>();
  /** the net holdings of the account being visited, then its isolated positions */
  private readonly open = new Map<string, Holding>();
  private readonly isolated: Holding[] = [];
  private k = -1;
  private readonly fig = new Float64Array(2);

  constructor(
    private readonly table: InstrumentTable,
    private readonly figures: (k: number, out: Float64Array) => void,
    private readonly usd = 1,
  ) {}

  /** A position of account k (accounts in ascending order, each one's positions together); `own`: an isolated position's equity and MM. */
  readonly add = (k: number, instrument: string, size: number, entry: number | undefined, own: Float64Array | null = null): void => {
    if (k !== this.k) {
      this.flush();
      this.k = k;
      this.figures(k, this.fig);
    }
    let f = this.facts.get(instrument);
    if (!f) this.facts.set(instrument, (f = positionFacts(this.table, { instrument, size }, 0)));
    const { upnl, entryNotional } = positionPnl(this.table, f, size, entry);
    if (own) {
      if (size !== 0) this.isolated.push(this.holding(k, size, upnl, entryNotional, own, f, this.ownRank(instrument)));
      return;
    }
    const h = this.open.get(instrument);
    if (!h) this.open.set(instrument, this.holding(k, size, upnl, entryNotional, this.fig, f, -1));
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

  private holding(k: number, size: number, upnl: number, entryNotional: number, fig: Float64Array, facts: PositionFacts, own: number): Holding {
    const id = own < 0 ? String(k) : `${k}/${own}`;
    return { id, k, size, upnl, entryNotional, notional: 0, equity: fig[0] * this.usd, mm: fig[1] * this.usd, facts, own };
  }

  /** The next isolated position's rank among the account's open positions in `instrument` (ownPosition). */
  private ownRank(instrument: string): number {
    let m = 0;
    for (const h of this.isolated) if (h.facts.instrument === instrument) m++;
    return m;
  }

  private flush(): void {
    for (const h of [...this.open.values(), ...this.isolated]) {
      if (h.size === 0) continue;
      h.notional = notionalUsd(h.facts, h.size);
      const list = this.lists.get(h.facts.instrument);
      if (list) list.push(h);
      else this.lists.set(h.facts.instrument, [h]);
    }
    this.open.clear();
    this.isolated.length = 0;
  }
}

/**
 * A holding after `keep` of it is left (an ADL fill took the rest): its size, P&L and notionals
 * scaled. An isolated position closed whole leaves its account (the fill drops it): the account's
 * later isolated positions in the instrument, among `list` (the instrument's holdings), move up a
 * rank (ownPosition counts open positions).
 */
export function shrinkHolding(h: Holding, keep: number, list: readonly Holding[]): void {
  h.size *= keep;
  h.upnl *= keep;
  h.entryNotional *= keep;
  h.notional *= keep;
  if (keep === 0 && h.own >= 0) for (const x of list) if (x.k === h.k && x.own > h.own) x.own--;
}
