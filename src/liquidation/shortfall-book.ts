/**
 * The simulator's shortfall desk: the negative equity bankrupt accounts are left with after their
 * liquidation (and the cash a Dutch auction's security module could not pay, which Lyra prints)
 * is covered by the insurance fund, then recovered from the step's winners (socialised loss, pro
 * rata to the step's profit) or from ranked counterparties (ADL: their positions on the
 * underlying are reduced at mark by the notional they take, and they bear the deficit pro rata).
 * Everything happens within one currency (ledger.ts): a deficit is covered by that currency's
 * fund and recovered from accounts margined in the same currency. Every transfer is booked on
 * the book's accounts (BookEngine.replace) in cash of that currency (USDC for USD accounts), so
 * each currency's ledger stays closed; what cannot be recovered stays as negative equity (bad
 * debt) on the bankrupt account, or — printed auction payouts — is reported as `printed`.
 *
 * ADL candidates are accounts, not positions: the counterparties of the bankrupt account's
 * closed position are the accounts whose net delta on its underlying is on the other side (a
 * venue deleverages the opposite positions); uPnL = equity − equity at the start of the path,
 * entry notional = gross notional at the start, notional = |net delta| on the underlying at its
 * index (an account-level reading of the venues' per-position formulas, docs/liquidation.md).
 */
import type { BookEngine } from '../runner/book/runner.js';
import { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, LoadedModel } from '../measures/types.js';
import { deltaQty, notionalUsd, positionFacts } from './execution.js';
import type { Mechanism } from './mechanism.js';
import type { RoundPlan } from './plan-round.js';
import { hashed } from './paths.js';
import { allocateAdl, socialiseLoss, type AdlCandidate } from './shortfall.js';
import type { CurrencyLedger, ShortfallTotals } from './ledger.js';

export type { ShortfallTotals } from './ledger.js';

interface Pending {
  k: number;
  /** in the account's currency */
  deficit: number;
  underlying: string;
  notional: number;
  /** the side the plan closed on `underlying`: +1 the account was long (net), −1 short, 0 neither */
  side: number;
  /** the part of `deficit` the account was never charged (an isolated plan's isolatedDeficit, its currency) */
  pre: number;
}

export class ShortfallBook {
  private pending: Pending[] = [];
  /** per currency */
  private readonly printedOwed: Float64Array;
  private readonly cash: string;
  private eq0: Float64Array | null = null;
  private gross0: Float64Array | null = null;
  /** per bankrupt account of the currency being settled: what of its `pre` no recovery has matched yet */
  private readonly preLeft = new Map<number, number>();

  constructor(
    private readonly book: BookEngine,
    private readonly model: LoadedModel,
    private readonly mechanism: Mechanism,
    private readonly ledger: CurrencyLedger,
  ) {
    const pegged = model.params.collateral.usdPegged;
    this.cash = pegged.includes('USDC') ? 'USDC' : (pegged[0] ?? 'USDC');
    this.printedOwed = new Float64Array(ledger.n);
  }

  /** The cash currency of account k's transfers: its margin currency, USDC for USD accounts. */
  private cashOf(k: number): string {
    const cur = this.ledger.currencies[this.ledger.of[k]];
    return cur === 'USD' ? this.cash : cur;
  }

  /** Remembers equities and gross notionals at the start of the path (ADL's uPnL and entry notional). */
  start(eq: Float64Array, gross: Float64Array): void {
    this.eq0 = eq.slice();
    this.gross0 = gross;
  }

  /**
   * A bankrupt account after its plan (null: it closed nothing): `deficit` in its currency, of which
   * `pre` it was never charged (an isolated position's loss beyond its margin: plan-isolated.ts);
   * the plan's main underlying (RoundPlan.underlying), closed notional and side.
   */
  add(k: number, deficit: number, plan: RoundPlan | null, pre = 0): void {
    const underlying = plan?.underlying ?? '';
    this.pending.push({ k, deficit, underlying, notional: plan?.totals.closedNotionalUsd ?? 0, side: plan ? closedSide(plan, underlying) : 0, pre });
  }

  /** Cash an auction paid to an insolvent bidder beyond the security module (Lyra prints it; here winners are charged). */
  addPrinted(k: number, amount: number): void {
    this.printedOwed[this.ledger.of[k]] += amount;
  }

  /**
   * Adds `amount` of cash (its currency) to account k. With `scale`, its positions on the underlying are also
   * reduced to `keep` of their size, closed at mark: the mark value removed is credited in cash
   * (the change of equity the removal alone would cause, measured by the margin engine).
   */
  private adjustCash(k: number, amount: number, scale?: { underlying: string; keep: number; engine: MarginEngine }): void {
    const a = this.book.account(k);
    let credit = amount;
    let positions = a.positions;
    if (scale) {
      const on = (q: AccountInput['positions'][number], j: number): boolean => positionFacts(scale.engine.table, q, j).underlying === scale.underlying;
      positions = a.positions.map((q, j) => (on(q, j) ? { ...q, size: q.size * scale.keep } : q)).filter((q) => Math.abs(q.size) > 0);
      const before = scale.engine.margin(a);
      const after = scale.engine.margin({ ...a, positions });
      if (before.ok && after.ok) credit += before.equity - after.equity;
    }
    const cash = this.cashOf(k);
    this.book.replace(k, { ...a, positions, collateral: { ...a.collateral, [cash]: (a.collateral[cash] ?? 0) + credit } });
  }

  /** Covers this round's shortfalls, currency by currency; books every transfer; adds to the currencies' totals. */
  settle(eq: Float64Array, stepStartEq: Float64Array, totals: ShortfallTotals[], refresh: (ks: number[]) => void): void {
    if (this.pending.length === 0 && this.printedOwed.every((x) => x === 0)) return;
    const touched: number[] = [];
    const bankrupt = new Set(this.pending.map((p) => p.k));
    const of = this.ledger.of;
    for (let c = 0; c < this.ledger.n; c++) {
      const mine = this.pending.filter((p) => of[p.k] === c);
      if (mine.length === 0 && this.printedOwed[c] === 0) continue;
      const winners = (): { id: string; profit: number }[] => {
        const w: { id: string; profit: number }[] = [];
        for (let k = 0; k < eq.length; k++) if (of[k] === c && !bankrupt.has(k) && eq[k] - stepStartEq[k] > 0) w.push({ id: String(k), profit: eq[k] - stepStartEq[k] });
        return w;
      };
      this.settleCurrency(c, mine, winners, eq, totals[c], touched);
    }
    this.pending = [];
    refresh([...new Set(touched)]);
  }

  private settleCurrency(c: number, pending: Pending[], winners: () => { id: string; profit: number }[], eq: Float64Array, r: ShortfallTotals, touched: number[]): void {
    const fund = this.ledger.funds[c];
    const left: Pending[] = [];
    this.preLeft.clear();
    for (const p of pending) if (p.pre > 0) this.preLeft.set(p.k, p.pre);
    for (const p of pending) {
      r.bankrupt++;
      r.badDebt += p.deficit;
      const cov = fund.cover(p.deficit);
      r.insuranceCovered += cov.covered;
      this.credit(p.k, cov.covered);
      touched.push(p.k);
      if (cov.uncovered > 0) left.push({ ...p, deficit: cov.uncovered });
    }
    if (this.printedOwed[c] > 0) {
      // a printed payout is already in the bidder's hands: charge winners for it; what they cannot cover stays printed
      const s = socialiseLoss(this.printedOwed[c], winners());
      for (const [id, x] of s.charges) {
        this.adjustCash(Number(id), -x);
        touched.push(Number(id));
      }
      r.socialised += s.recovered;
      r.printed += s.unrecovered;
      this.printedOwed[c] = 0;
    }
    if (left.length) {
      if (this.mechanism.shortfall?.rule === 'adl') this.deleverage(c, left, eq, r, touched);
      else this.socialise(left, winners(), r, touched);
    }
    // what no one recovered of a deficit the account was never charged stays on it, like any unrecovered deficit
    for (const [k, owed] of this.preLeft) if (owed > 0) this.adjustCash(k, -owed);
  }

  /** A recovery of `amount` for bankrupt account k: first what it was never charged (preLeft), the rest credited to it. */
  private credit(k: number, amount: number): void {
    const owed = this.preLeft.get(k) ?? 0;
    const matched = Math.min(owed, amount);
    if (matched > 0) this.preLeft.set(k, owed - matched);
    if (amount - matched > 0) this.adjustCash(k, amount - matched);
  }

  private socialise(left: Pending[], w: { id: string; profit: number }[], r: ShortfallTotals, touched: number[]): void {
    const total = left.reduce((a, p) => a + p.deficit, 0);
    const s = socialiseLoss(total, w);
    for (const [id, c] of s.charges) {
      this.adjustCash(Number(id), -c);
      touched.push(Number(id));
    }
    r.socialised += s.recovered;
    r.unrecovered += s.unrecovered;
    const share = total > 0 ? s.recovered / total : 0;
    for (const p of left) if (share > 0) this.credit(p.k, p.deficit * share);
  }

  /** ADL among the accounts of currency c: ranked on USD figures (the currency's amounts at its index); the deficit and charges stay in the currency. */
  private deleverage(c: number, left: Pending[], eq: Float64Array, r: ShortfallTotals, touched: number[]): void {
    const ranking = this.mechanism.shortfall?.ranking ?? 'okx';
    const engine = new MarginEngine({ market: hashed(this.book.market), model: this.model });
    const fig = new Float64Array(3);
    const usd = this.ledger.price(c, this.book.market);
    for (const p of left) {
      const cands: AdlCandidate[] = [];
      const notionalOn = new Map<number, number>();
      for (let k = 0; k < eq.length; k++) {
        if (k === p.k || this.ledger.of[k] !== c || this.book.figuresInto(k, fig) < 0 || !(eq[k] > 0)) continue;
        const a = this.book.account(k);
        let delta = 0;
        let gross = 0;
        a.positions.forEach((q, j) => {
          const f = positionFacts(engine.table, q, j);
          gross += notionalUsd(f, q.size);
          if (f.underlying === p.underlying) delta += deltaQty(engine.table, f, q.size); // p.underlying: RoundPlan.underlying, from the same facts
        });
        // a counterparty: net on the other side of the bankrupt one's closed position (either side when that was flat)
        if (p.side !== 0 && Math.sign(delta) !== -p.side) continue;
        const n = Math.abs(delta) * this.book.market.spot(p.underlying);
        const upnl = eq[k] - (this.eq0?.[k] ?? eq[k]);
        if (!(n > 0) || !(upnl > 0)) continue;
        notionalOn.set(k, n);
        cands.push({ id: String(k), upnl: upnl * usd, entryNotional: this.gross0?.[k] ?? gross, notional: n, equity: fig[0] * usd, mm: fig[2] * usd });
      }
      const res = allocateAdl(ranking, p.deficit, p.notional, cands);
      for (const f of res.fills) {
        const k = Number(f.id);
        this.adjustCash(k, -f.charge, { underlying: p.underlying, keep: 1 - f.notional / notionalOn.get(k)!, engine });
        touched.push(k);
        r.adlPositions++;
        r.adlCharged += f.charge;
      }
      if (res.recovered > 0) this.credit(p.k, res.recovered);
      r.unrecovered += res.unrecovered;
    }
  }
}

/**
 * The side a plan closed on `underlying`: the liquidators' net coin flow there is what they took
 * (they sell what the account was long: RoundPlan.flowCoin < 0), so the account's side is its
 * opposite sign; 0 when the flow nets to zero or there is none.
 */
function closedSide(plan: RoundPlan, underlying: string): number {
  let coin = 0;
  for (let j = 0; j < plan.flowU.length; j++) if (plan.flowU[j] === underlying) coin += plan.flowCoin[j];
  return coin < 0 ? 1 : coin > 0 ? -1 : 0;
}
