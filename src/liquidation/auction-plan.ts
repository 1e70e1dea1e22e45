/**
 * The Dutch-auction plan of one account: Lyra v2's auction run on the whole portfolio with the
 * figures of the margin engine (Lyra's mm = equity − MM, MtM = equity). A solvent auction charges
 * its fee to the security module, then a bidder takes the max proportion at time t: that
 * fraction of every position and balance (reserved cash excepted) moves to the bidder, who pays
 * (MtM − R) × d × f into the account (ManagerBase.executeBid). An insolvent one (MtM ≤ 0) is bid
 * for 100 %, the security module paying the bidder (the excess socialised). A new auction starts
 * while the account stays below MM, as on chain.
 */
import type { MarginEngine } from '../runner/account/runner.js';
import type { AccountInput, MarginFigures } from '../measures/types.js';
import { DutchAuction } from './auction-house.js';
import { notionalUsd, positionFacts } from './execution.js';
import type { DutchAuctionMechanism, PlanSpec } from './mechanism.js';
import { figuresOk, finishPlan, gapOf, type AuctionBidStep, type LiquidationPlan } from './plan-core.js';

const MAX_AUCTIONS = 50;

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

export function auctionPlan(engine: MarginEngine, account: AccountInput, mech: DutchAuctionMechanism, spec: PlanSpec, t: number, smBalance?: number): LiquidationPlan {
  const da = new DutchAuction(mech.auction, { securityModuleBalance: smBalance ?? mech.insuranceFund?.initialUsd ?? 0 });
  const pegged = engine.model.params.collateral.usdPegged;
  const cashCur = pegged.includes('USDC') ? 'USDC' : (pegged[0] ?? 'USDC');
  const before = figuresOk(engine, account);
  const g0 = gapOf(before, spec.target, spec.buffer);
  const steps: AuctionBidStep[] = [];
  let acc = account;
  let r = before;
  const lyraMM = (x: MarginFigures): number => x.equity - x.maintenanceMargin;
  const push = (s: Omit<AuctionBidStep, 'step' | 'equity' | 'initialMargin' | 'maintenanceMargin' | 'gap'>): void => {
    steps.push({ step: steps.length + 1, ...s, equity: r.equity, initialMargin: r.initialMargin, maintenanceMargin: r.maintenanceMargin, gap: gapOf(r, spec.target, spec.buffer) });
  };
  for (let n = 0; n < MAX_AUCTIONS && lyraMM(r) < 0 && acc.positions.length > 0; n++) {
    const id = `${account.id}#${n}`;
    const started = da.start(id, { mm: lyraMM(r), mtm: r.equity }, 0);
    if (started.fee > 0) {
      acc = { ...acc, collateral: { ...acc.collateral, [cashCur]: (acc.collateral[cashCur] ?? 0) - started.fee } };
      r = figuresOk(engine, acc);
    }
    const base = { t, discount: 0, cashFromBidder: 0, cashToBidder: 0, securityModulePaid: 0, socialised: 0, liquidatorGain: 0, notionalUsd: 0 };
    push({ ...base, type: 'auction-start', t: 0, insolvent: started.auction.insolvent, percent: 0, fee: started.fee });
    const state = { mm: lyraMM(r), mtm: r.equity, reservedCash: 0 };
    const st = da.status(id, state, t);
    if (st.canTerminate) {
      da.terminate(id, state, t);
      if (lyraMM(r) >= 0) break;
      continue;
    }
    const notional = grossNotional(engine, acc);
    const bid = da.bid(id, state, 1, t);
    const f = bid.finalPercentage;
    const valueTaken = f * r.equity; // reserved cash is 0 at the first bid of an auction
    acc = bid.cashToBidder > 0 || started.auction.insolvent ? scaled(acc, 1 - f, cashCur, 0, 0) : scaled(acc, 1 - f, cashCur, 0, bid.cashFromBidder);
    r = figuresOk(engine, acc);
    push({
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
    });
    if (started.auction.insolvent) break;
  }
  const restored = gapOf(r, spec.target, spec.buffer) >= 0;
  const reason =
    steps.length === 0
      ? lyraMM(r) >= 0
        ? 'the account is not below maintenance margin: no auction starts'
        : 'the account has no positions to auction'
      : restored
        ? 'target restored'
        : lyraMM(r) >= 0
          ? 'auction ended at the max proportion with the account above MM (MM is not linear in the fraction taken): Lyra does not liquidate further'
          : 'the account stays below MM after the auctions';
  return finishPlan(engine, account, mech, spec, before, g0, steps, restored, reason, acc);
}
