/**
 * The simulator's shortfall desk: the negative equity bankrupt accounts are left with after their
 * liquidation (and the cash a Dutch auction's security module could not pay, which Lyra prints)
 * is covered by the insurance fund, then recovered from the step's winners (socialised loss, pro
 * rata to the step's profit) or from ranked counterparties (ADL: their positions in an
 * instrument the bankrupt plan closed are reduced at mark by the notional they take, and they
 * bear the deficit pro rata).
 * Everything happens within one currency (ledger.ts): a deficit is covered by that currency's
 * fund and recovered from accounts margined in the same currency. Every transfer is booked on
 * the book's accounts (BookEngine.replace) in cash of that currency (USDC for USD accounts), so
 * each currency's ledger stays closed; what cannot be recovered stays as negative equity (bad
 * debt) on the bankrupt account, or — printed auction payouts — is reported as `printed`.
 *
 * ADL is by position (adl-positions.ts): the deficit is shared over the legs the bankrupt plan
 * closed (per instrument, pro rata to their notional at the index); each leg is matched against the
 * positions other accounts of the currency hold in that same instrument on the other side,
 * ranked on the position's uPnL (from its entry price) and entry notional and its account's
 * equity and MM; a fill reduces that instrument's positions only.
 */
import type { BookEngine } from '../runner/book/runner.js';
import { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, LoadedModel } from '../measures/types.js';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { notionalUsd, positionFacts } from './execution.js';
import type { Mechanism } from './mechanism.js';
import type { RoundPlan } from './plan-round.js';
import { hashed } from './paths.js';
import { poolOf } from './fund-pools.js';
import { allocateAdl, socialiseLoss } from './shortfall.js';
import { closedLegs, HoldingsCollector, ownPosition, shrinkHolding, type ClosedLeg, type Holding } from './adl-positions.js';
import { emptyShortfall, type CurrencyLedger, type CurrencyStep, type ShortfallTotals } from './ledger.js';

export type { ShortfallTotals } from './ledger.js';

interface Pending {
  k: number;
  /** in the account's currency */
  deficit: number;
  /** what its plan closed, per instrument (ADL rules only; else empty) */
  legs: ClosedLeg[];
  /** the part of `deficit` the account was never charged (an isolated plan's isolatedDeficit, its currency) */
  pre: number;
}

export class ShortfallBook {
  private pending: Pending[] = [];
  /** per currency */
  private readonly printedOwed: Float64Array;
  /** each payout's printed part (printedOwed's units), by account, until the settle charges the winners for it */
  private printedBy: { k: number; amount: number }[] = [];
  private readonly cash: string;
  /** per bankrupt account of the currency being settled: what of its `pre` no recovery has matched yet */
  private readonly preLeft = new Map<number, number>();
  /** under an ADL rule: the legs of each plan booked in the round (planned), until its deficit is added */
  private readonly legs = new Map<number, ClosedLeg[]>();
  private readonly adl: boolean;
  /**
   * accounts whose loss others paid in the step (a deficit added here, an insolvent auction's
   * payout), never the step's winners: a cover or a payout is no profit
   */
  private readonly paidFor = new Set<number>();
  /**
   * each account bankrupt in the step, with its own shortfall figures (its currency's units): its
   * bad debt (deficits, insolvent auctions' payouts) and what bore it — the fund, the winners, ADL
   * fills, nobody (unrecovered), or printed — the parts of the currency's totals that are its own
   */
  private readonly bankrupt = new Map<number, ShortfallTotals>();
  /** the settle's engine on the book's market (the legs' notionals, ADL's holdings and fills), made when first needed */
  private settleEngine: MarginEngine | null = null;

  constructor(
    private readonly book: BookEngine,
    private readonly model: LoadedModel,
    private readonly mechanism: Mechanism,
    private readonly ledger: CurrencyLedger,
  ) {
    const pegged = model.params.collateral.usdPegged;
    this.cash = pegged.includes('USDC') ? 'USDC' : (pegged[0] ?? 'USDC');
    this.printedOwed = new Float64Array(ledger.n);
    this.adl = mechanism.shortfall?.rule === 'adl';
  }

  /** The cash currency of account k's transfers: its margin currency, USDC for USD accounts. */
  private cashOf(k: number): string {
    const cur = this.ledger.currencies[this.ledger.of[k]];
    return cur === 'USD' ? this.cash : cur;
  }

  /** Account k's plan, before the book takes it (the book still holds the account before it): under an ADL rule or with funds per product line, the legs it closes. */
  planned(k: number, plan: RoundPlan): void {
    if (this.adl || this.ledger.pools) this.legs.set(k, closedLegs(this.book.account(k, true), plan.account));
  }

  /**
   * A bankrupt account after its plan (null: it closed nothing): `deficit` in its currency, of which
   * `pre` it was never charged (an isolated position's loss beyond its margin: plan-isolated.ts).
   */
  add(k: number, deficit: number, plan: RoundPlan | null, pre = 0): void {
    this.pending.push({ k, deficit, legs: (plan && this.legs.get(k)) ?? [], pre });
    this.paidFor.add(k);
  }

  /** A new step: no account's loss has been paid by others in it yet, and none is bankrupt. */
  beginStep(): void {
    this.paidFor.clear();
    this.bankrupt.clear();
  }

  /** The step's bankrupt accounts, ascending, each with its own shortfall figures (its currency's units: their sums are the currency's). */
  bankrupts(): { k: number; figures: ShortfallTotals }[] {
    return [...this.bankrupt].sort((a, b) => a[0] - b[0]).map(([k, figures]) => ({ k, figures }));
  }

  /** Bankrupt account k's own shortfall figures in the step (made at its first bad debt, counted bankrupt once). */
  private own(k: number): ShortfallTotals {
    let o = this.bankrupt.get(k);
    if (!o) this.bankrupt.set(k, (o = { ...emptyShortfall(), bankrupt: 1 }));
    return o;
  }

  /**
   * Account k's insolvent auctions' payout to their bidders (plan totals, USD; its currency at
   * `usd`): the account's bad debt, no account pays it — the security module's part covered by
   * the fund (Lyra's module is the fund), the socialised part printed (Lyra prints it; here the
   * winners are charged at the settle). The account is bankrupt (counted here unless its deficit
   * was added: `counted`) and its loss was paid by others (never one of the step's winners).
   */
  payout(k: number, totals: RoundPlan['totals'], rc: CurrencyStep, usd: number, counted: boolean): void {
    const sm = totals.securityModulePaid;
    const printed = totals.socialised;
    if (!(sm + printed > 0)) return;
    const c = this.ledger.of[k];
    if (sm > 0) this.ledger.funds[c].cover(sm);
    const o = this.own(k);
    both(rc, o, 'badDebt', (sm + printed) / usd);
    both(rc, o, 'insuranceCovered', sm / usd);
    this.printedOwed[c] += printed;
    this.printedBy.push({ k, amount: printed });
    if (!counted) rc.bankrupt++;
    this.paidFor.add(k);
  }

  /**
   * Adds `amount` of cash (its currency) to account k. With `scale`, its positions in one instrument
   * (`own` ≥ 0: only its isolated position of that rank, adl-positions.ts ownPosition) are also
   * reduced to `keep` of their size, closed at mark: the mark value removed is credited in cash
   * (the change of equity the removal alone would cause, measured by the margin engine).
   */
  private adjustCash(k: number, amount: number, scale?: { instrument: string; own: number; keep: number; engine: MarginEngine }): void {
    const a = this.book.account(k);
    let credit = amount;
    let positions = a.positions;
    if (scale) {
      const only = scale.own < 0 ? -1 : ownPosition(a, scale.instrument, scale.own);
      if (scale.own >= 0 && only < 0) throw new OptmarginError(ErrorCodes.INTERNAL, `ADL: account ${k} has no isolated position ${scale.own} in ${scale.instrument}`);
      const cut = (q: AccountInput['positions'][number], i: number): boolean => (only < 0 ? q.instrument === scale.instrument : i === only);
      positions = a.positions.map((q, i) => (cut(q, i) ? { ...q, size: q.size * scale.keep } : q)).filter((q) => Math.abs(q.size) > 0);
      const before = scale.engine.margin(a);
      const after = scale.engine.margin({ ...a, positions });
      if (before.ok && after.ok) credit += before.equity - after.equity;
    }
    const cash = this.cashOf(k);
    this.book.replace(k, { ...a, positions, collateral: { ...a.collateral, [cash]: (a.collateral[cash] ?? 0) + credit } });
  }

  /**
   * Covers this round's shortfalls, currency by currency; books every transfer; adds to the
   * currencies' totals. The step's winners (socialised loss) are the accounts whose equity rose
   * in the step, but for those whose loss others paid in it (paidFor).
   */
  settle(eq: Float64Array, stepStartEq: Float64Array, totals: ShortfallTotals[], refresh: (ks: number[]) => void): void {
    this.legs.clear();
    this.settleEngine = null;
    if (this.pending.length === 0 && this.printedOwed.every((x) => x === 0)) return;
    const touched: number[] = [];
    const of = this.ledger.of;
    for (let c = 0; c < this.ledger.n; c++) {
      const mine = this.pending.filter((p) => of[p.k] === c);
      if (mine.length === 0 && this.printedOwed[c] === 0) continue;
      const winners = (): { id: string; profit: number }[] => {
        const w: { id: string; profit: number }[] = [];
        for (let k = 0; k < eq.length; k++) if (of[k] === c && !this.paidFor.has(k) && eq[k] - stepStartEq[k] > 0) w.push({ id: String(k), profit: eq[k] - stepStartEq[k] });
        return w;
      };
      this.settleCurrency(c, mine, winners, eq, totals[c], touched);
    }
    this.pending = [];
    this.printedBy = [];
    refresh([...new Set(touched)]);
  }

  private settleCurrency(c: number, pending: Pending[], winners: () => { id: string; profit: number }[], eq: Float64Array, r: ShortfallTotals, touched: number[]): void {
    const left: Pending[] = [];
    this.preLeft.clear();
    for (const p of pending) if (p.pre > 0) this.preLeft.set(p.k, p.pre);
    for (const p of pending) {
      r.bankrupt++;
      const cov = this.cover(c, p);
      both(r, this.own(p.k), 'badDebt', p.deficit);
      both(r, this.own(p.k), 'insuranceCovered', cov.covered);
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
      // each payout's part of what the winners paid and of what stays printed, pro rata
      for (const { k, amount } of this.printedBy) {
        if (this.ledger.of[k] !== c) continue;
        this.own(k).socialised += (amount * s.recovered) / this.printedOwed[c];
        this.own(k).printed += (amount * s.unrecovered) / this.printedOwed[c];
      }
      this.printedOwed[c] = 0;
    }
    if (left.length) {
      if (this.mechanism.shortfall?.rule === 'adl') this.deleverage(c, left, eq, r, touched);
      else this.socialise(left, winners(), r, touched);
    }
    // what no one recovered of a deficit the account was never charged stays on it, like any unrecovered deficit
    for (const [k, owed] of this.preLeft) if (owed > 0) this.adjustCash(k, -owed);
  }

  /** Covers bankrupt p's deficit from currency c's fund — with pools, from the pools of its plan's legs, pro rata to their notional at the index (fund-pools.ts). */
  private cover(c: number, p: Pending): { covered: number; uncovered: number } {
    const pools = this.ledger.pools;
    if (!pools) return this.ledger.funds[c].cover(p.deficit);
    const weights = new Map<string, number>();
    for (const l of p.legs) {
      const key = poolOf(l.instrument);
      weights.set(key, (weights.get(key) ?? 0) + this.legNotional(l));
    }
    return pools.cover(c, p.deficit, weights);
  }

  /** The settle's margin engine on the book's market (made once per settle). */
  private engine(): MarginEngine {
    return (this.settleEngine ??= new MarginEngine({ market: hashed(this.book.market), model: this.model }));
  }

  /** A closed leg's notional at the index (USD). */
  private legNotional(l: ClosedLeg): number {
    return notionalUsd(positionFacts(this.engine().table, { instrument: l.instrument, size: l.size }, 0), l.size);
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
    for (const p of left) {
      if (share > 0) this.credit(p.k, p.deficit * share);
      this.own(p.k).socialised += p.deficit * share;
      this.own(p.k).unrecovered += p.deficit * (1 - share);
    }
  }

  /**
   * ADL among the accounts of currency c, by position: each bankrupt plan's deficit shared over its
   * legs pro rata to their notional, each leg matched against the holdings of its instrument on
   * the other side (ranked on USD figures: the currency's amounts at its index); the deficit and
   * charges stay in the currency.
   */
  private deleverage(c: number, left: Pending[], eq: Float64Array, r: ShortfallTotals, touched: number[]): void {
    const ranking = this.mechanism.shortfall?.ranking ?? 'okx';
    const engine = this.engine();
    const holdings = this.holdings(c, left, eq, engine);
    for (const p of left) {
      const legs = p.legs.map((l) => ({ l, notional: this.legNotional(l) }));
      const total = legs.reduce((x, g) => x + g.notional, 0);
      const o = this.own(p.k);
      if (!(total > 0)) {
        both(r, o, 'unrecovered', p.deficit);
        continue;
      }
      let recovered = 0;
      for (const { l, notional } of legs) {
        // the other side of the leg: holdings whose net size has the opposite sign (the bankrupt account's own excluded)
        const list = holdings.get(l.instrument) ?? [];
        const cands = list.filter((h) => h.k !== p.k && Math.sign(h.size) === -Math.sign(l.size) && h.notional > 0);
        const res = allocateAdl(ranking, (p.deficit * notional) / total, notional, cands);
        for (const f of res.fills) {
          const h = cands.find((x) => x.id === f.id)!;
          const keep = f.notional >= h.notional ? 0 : 1 - f.notional / h.notional;
          this.adjustCash(h.k, -f.charge, { instrument: l.instrument, own: h.own, keep, engine });
          shrinkHolding(h, keep, list);
          touched.push(h.k);
          both(r, o, 'adlPositions', 1);
          both(r, o, 'adlCharged', f.charge);
        }
        recovered += res.recovered;
        both(r, o, 'unrecovered', res.unrecovered);
      }
      if (recovered > 0) this.credit(p.k, recovered);
    }
  }

  /** The holdings of the pending plans' instruments, per instrument, of the accounts of currency c with equity > 0 and figures. */
  private holdings(c: number, left: Pending[], eq: Float64Array, engine: MarginEngine): Map<string, Holding[]> {
    const instruments = new Set(left.flatMap((p) => p.legs.map((l) => l.instrument)));
    if (instruments.size === 0) return new Map();
    const usd = this.ledger.price(c, this.book.market);
    const fig = new Float64Array(3);
    const ks: number[] = [];
    for (let k = 0; k < eq.length; k++) if (this.ledger.of[k] === c && eq[k] > 0 && this.book.figuresInto(k, fig) >= 0) ks.push(k);
    const collect = new HoldingsCollector(
      engine.table,
      (k, out) => {
        this.book.figuresInto(k, fig);
        out[0] = fig[0];
        out[1] = fig[2];
      },
      usd,
    );
    this.book.positionsIn(instruments, ks, collect.add);
    return collect.done();
  }
}

/** Adds v to `key` of a currency's totals and of the bankrupt account's own part of them. */
function both(totals: ShortfallTotals, own: ShortfallTotals, key: keyof ShortfallTotals, v: number): void {
  totals[key] += v;
  own[key] += v;
}
