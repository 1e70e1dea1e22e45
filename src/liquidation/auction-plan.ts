/**
 * The Dutch-auction plan of one account: Lyra v2's auction run on a portfolio with the figures of
 * the margin engine (Lyra's mm = equity − MM, MtM = equity). A solvent auction charges its fee to
 * the security module, then a bidder takes the max proportion at time t: that fraction of every
 * position and balance (reserved cash excepted) moves to the bidder, who pays (MtM − R) × d × f
 * into the portfolio (ManagerBase.executeBid). An insolvent one (MtM ≤ 0) is bid for 100 %, the
 * security module paying the bidder (the excess socialised). A new auction starts while the
 * portfolio stays below MM, as on chain.
 *
 * The portfolio is the account's, except on an isolated account: Lyra has no isolated mode, and an
 * isolated position is margined and liquidated on its own collateral (plan-isolated.ts). So each
 * position below its own MM is auctioned as its sub-account — the position with its own
 * collateral —, in input order, one security module for all of them; the account's balances and
 * its other positions are not auctioned. A bidder's cash goes to the position's own collateral
 * (returned to the balances once the position is taken whole, as a closed isolated position's is).
 */
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, MarginFigures } from '../measures/types.js';
import { DutchAuction } from './auction-house.js';
import { accountOf, notionalUsd, positionFacts } from './execution.js';
import type { DutchAuctionMechanism, PlanSpec } from './mechanism.js';
import { figuresOk, finishPlan, gapOf, type AuctionBidStep, type LiquidationPlan } from './plan-core.js';
import { isolatedSub } from './plan-isolated.js';

const MAX_AUCTIONS = 50;

/** A step's auction fields (its number and figures are the caller's: the account's, or an isolated account's from its sub-account's). */
type AuctionFields = Omit<AuctionBidStep, 'step' | 'equity' | 'initialMargin' | 'maintenanceMargin' | 'gap'>;

/** What the auctions of one portfolio run with: the engine, the security module (shared by an account's auctions), the bid time and the cash currency. */
interface AuctionRun {
  engine: MarginEngine;
  da: DutchAuction;
  t: number;
  cashCur: string;
}

/** Lyra's mm: equity − MM. */
const lyraMM = (x: MarginFigures): number => x.equity - x.maintenanceMargin;

function scaled(a: AccountInput, keep: number, cashCur: string, reserved: number, credit: number): AccountInput {
  const collateral: Record<string, number> = {};
  for (const [c, x] of Object.entries(a.collateral)) {
    const r = c === cashCur ? reserved : 0;
    collateral[c] = (x - r) * keep + r;
  }
  collateral[cashCur] = (collateral[cashCur] ?? 0) + credit;
  const positions = keep > 1e-12 ? a.positions.map((p) => ({ ...p, size: p.size * keep, ...(p.collateral ? { collateral: Object.fromEntries(Object.entries(p.collateral).map(([c, x]) => [c, x * keep])) } : {}) })) : [];
  return { ...a, collateral, positions };
}

function grossNotional(engine: MarginEngine, a: AccountInput): number {
  let n = 0;
  a.positions.forEach((p, k) => (n += notionalUsd(positionFacts(engine.table, p, k), p.size)));
  return n;
}

/**
 * Lyra's auctions on `portfolio` (figures `r`) while it is below MM and holds positions: each
 * step to `record` with the portfolio's figures after it. Returns the portfolio after them and
 * its figures.
 */
function runAuctions(run: AuctionRun, portfolio: AccountInput, r: MarginFigures, id: string, record: (s: AuctionFields, r: MarginFigures) => void): { acc: AccountInput; r: MarginFigures } {
  const { engine, da, t, cashCur } = run;
  let acc = portfolio;
  for (let n = 0; n < MAX_AUCTIONS && lyraMM(r) < 0 && acc.positions.length > 0; n++) {
    const auction = `${id}#${n}`;
    const started = da.start(auction, { mm: lyraMM(r), mtm: r.equity }, 0);
    if (started.fee > 0) {
      acc = { ...acc, collateral: { ...acc.collateral, [cashCur]: (acc.collateral[cashCur] ?? 0) - started.fee } };
      r = figuresOk(engine, acc);
    }
    const base = { t, discount: 0, cashFromBidder: 0, cashToBidder: 0, securityModulePaid: 0, socialised: 0, liquidatorGain: 0, notionalUsd: 0 };
    record({ ...base, type: 'auction-start', t: 0, insolvent: started.auction.insolvent, percent: 0, fee: started.fee }, r);
    const state = { mm: lyraMM(r), mtm: r.equity, reservedCash: 0 };
    if (da.status(auction, state, t).canTerminate) {
      da.terminate(auction, state, t);
      if (lyraMM(r) >= 0) break;
      continue;
    }
    const notional = grossNotional(engine, acc);
    const bid = da.bid(auction, state, 1, t);
    const f = bid.finalPercentage;
    const valueTaken = f * r.equity; // reserved cash is 0 at the first bid of an auction
    acc = bid.cashToBidder > 0 || started.auction.insolvent ? scaled(acc, 1 - f, cashCur, 0, 0) : scaled(acc, 1 - f, cashCur, 0, bid.cashFromBidder);
    r = figuresOk(engine, acc);
    record(
      {
        ...base,
        type: 'auction-bid',
        insolvent: started.auction.insolvent,
        percent: f,
        discount: started.auction.insolvent ? 0 : da.discount(t),
        cashFromBidder: bid.cashFromBidder,
        cashToBidder: bid.cashToBidder,
        securityModulePaid: bid.securityModulePaid,
        socialised: bid.socialised,
        fee: 0,
        liquidatorGain: valueTaken - bid.cashFromBidder + bid.cashToBidder,
        notionalUsd: f * notional,
      },
      r,
    );
    if (started.auction.insolvent) break;
  }
  return { acc, r };
}

/** Why an auction plan ended (`below`: the portfolio, or a position's own, still below MM). */
function auctionReason(steps: number, restored: boolean, below: boolean): string {
  if (steps === 0) return !below ? 'the account is not below maintenance margin: no auction starts' : 'the account has no positions to auction';
  if (restored) return 'target restored';
  return !below
    ? 'auction ended at the max proportion with the account above MM (MM is not linear in the fraction taken): Lyra does not liquidate further'
    : 'the account stays below MM after the auctions';
}

/** Why an isolated account's auction plan ended (`below`: a position's own figures still below MM). */
function isolatedReason(steps: number, restored: boolean, below: boolean, positions: number, equity: number): string {
  if (steps > 0) return auctionReason(steps, restored, below);
  if (positions === 0) return 'the account has no positions to auction';
  return equity < 0
    ? "no position is below its own maintenance margin: the account's balances owe more than its positions are worth, which no auction mends"
    : 'no position is below its own maintenance margin: no auction starts';
}

export function auctionPlan(engine: MarginEngine, account: AccountInput, mech: DutchAuctionMechanism, spec: PlanSpec, t: number, smBalance?: number): LiquidationPlan {
  const da = new DutchAuction(mech.auction, { securityModuleBalance: smBalance ?? mech.insuranceFund?.initialUsd ?? 0 });
  const pegged = engine.model.params.collateral.usdPegged;
  const run: AuctionRun = { engine, da, t, cashCur: pegged.includes('USDC') ? 'USDC' : (pegged[0] ?? 'USDC') };
  if (account.mode === 'isolated') return isolatedAuctionPlan(run, account, mech, spec);
  const before = figuresOk(engine, account);
  const steps: AuctionBidStep[] = [];
  const gap = (r: MarginFigures): number => gapOf(r, spec.target, spec.buffer);
  const { acc, r } = runAuctions(run, account, before, account.id, (s, x) => {
    steps.push({ step: steps.length + 1, ...s, equity: x.equity, initialMargin: x.initialMargin, maintenanceMargin: x.maintenanceMargin, gap: gap(x) });
  });
  const restored = gap(r) >= 0;
  const reason = auctionReason(steps.length, restored, lyraMM(r) < 0);
  return finishPlan(engine, account, mech, spec, before, gap(before), steps, restored, reason, acc);
}

/**
 * An isolated account's auctions: each position whose sub-account is below MM auctioned on its
 * own. A step's figures are the account's (its figures before the plan moved by the sub-account's
 * change) and its gap the isolated planner's: Σ over positions of min(0, own gap) + min(0, equity).
 */
function isolatedAuctionPlan(run: AuctionRun, account: AccountInput, mech: DutchAuctionMechanism, spec: PlanSpec): LiquidationPlan {
  const before = figuresOk(run.engine, account);
  const n = account.positions.length;
  const remaining = account.positions.map((p) => p.size);
  const own = account.positions.map((p) => p.collateral);
  const subs = account.positions.map((_, k) => isolatedSub(account, k, own[k]));
  const subBefore = subs.map((s) => figuresOk(run.engine, s));
  const ownGap = subBefore.map((r) => Math.min(0, gapOf(r, spec.target, spec.buffer)));
  const gapWith = (equity: number): number => ownGap.reduce((s, g) => s + g, 0) + Math.min(0, equity);
  const g0 = gapWith(before.equity);
  const fig = { equity: before.equity, im: before.initialMargin, mm: before.maintenanceMargin };
  const steps: AuctionBidStep[] = [];
  let below = false;
  for (let k = 0; k < n; k++) {
    const b = subBefore[k];
    if (lyraMM(b) >= 0) continue;
    const base = { ...fig };
    const out = runAuctions(run, subs[k], b, `${account.id}/${k}`, (s, r) => {
      fig.equity = base.equity + (r.equity - b.equity);
      fig.im = base.im + (r.initialMargin - b.initialMargin);
      fig.mm = base.mm + (r.maintenanceMargin - b.maintenanceMargin);
      ownGap[k] = Math.min(0, gapOf(r, spec.target, spec.buffer));
      steps.push({ step: steps.length + 1, ...s, position: k, equity: fig.equity, initialMargin: fig.im, maintenanceMargin: fig.mm, gap: gapWith(fig.equity) });
    });
    remaining[k] = out.acc.positions[0]?.size ?? 0;
    own[k] = out.acc.collateral;
    if (lyraMM(out.r) < 0 && remaining[k] !== 0) below = true;
  }
  const after = accountOf(account, remaining, account.collateral, own);
  const afterFigures = figuresOk(run.engine, after);
  const restored = gapWith(afterFigures.equity) >= 0;
  const reason = isolatedReason(steps.length, restored, below, n, afterFigures.equity);
  return finishPlan(run.engine, account, mech, spec, before, g0, steps, restored, reason, after, afterFigures);
}
