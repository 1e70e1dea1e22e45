/**
 * The stateful Dutch auction: Lyra v2-core DutchAuction.sol's start / bid / terminate /
 * convert, its security module payouts, socialised losses and withdrawal lock, on top of the
 * pure formulas (dutch-auction.ts). The caller owns the accounts: every call takes the account's
 * current { mm, mtm } (what Lyra's manager.getMarginAndMarkToMarket returns), and applies the
 * returned transfers (fee, cash from / to the bidder, fraction of the portfolio moved).
 * Reverts become OptmarginError AUCTION_STATE with the contract's revert name.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import {
  DutchAuctionFormulas,
  stateError,
  type Auction,
  type AuctionAccountState,
  type BidResult,
  type DutchAuctionParams,
  type StartResult,
} from './dutch-auction.js';

export interface DutchAuctionOptions {
  /** Cash of the security module (pays insolvent bidders; receives liquidation fees). Default 0. */
  securityModuleBalance?: number;
  /** Whether a security-module account is set (DutchAuction.smAccount ≠ 0): only then can withdrawals lock. Default true. */
  withdrawLock?: boolean;
}

export interface AuctionStatus {
  canTerminate: boolean;
  mtm: number;
  mm: number;
  bm: number;
}

export interface BidOptions {
  /** Max cash paid by the bidder (solvent), or min (as a negative number) received (insolvent); 0 or absent = no limit. */
  priceLimit?: number;
  /** When given, the bid fails as in Lyra when the bidder holds less cash than required. */
  bidderCash?: number;
}

export class DutchAuction extends DutchAuctionFormulas {
  /** sum of cachedMM over ongoing insolvent auctions */
  totalInsolventMM = 0;
  securityModuleBalance: number;
  /** total printed by socialised losses (CashAsset.socializeLoss) */
  socialisedLoss = 0;
  readonly withdrawLock: boolean;
  private readonly auctions = new Map<string, Auction>();

  constructor(params: DutchAuctionParams | unknown, opts: DutchAuctionOptions = {}) {
    super(params);
    this.securityModuleBalance = check.finite('securityModuleBalance', opts.securityModuleBalance ?? 0);
    this.withdrawLock = opts.withdrawLock ?? true;
  }

  /** The auction of an account (a copy), or undefined when none was ever started. */
  auction(id: string): Auction | undefined {
    const a = this.auctions.get(id);
    return a && { ...a };
  }

  /** Starts an auction on an account below maintenance margin (_startAuction): solvent when MtM > 0 (fee charged), else insolvent. */
  start(id: string, state: AuctionAccountState, t: number): StartResult {
    const mm = check.finite('state.mm', state?.mm);
    const mtm = check.finite('state.mtm', state.mtm);
    check.finite('t', t);
    if (mm >= 0) throw stateError('DA_AccountIsAboveMaintenanceMargin', `account ${id} has MM ${mm} >= 0`);
    if (this.auctions.get(id)?.ongoing) throw stateError('DA_AuctionAlreadyStarted', `account ${id} is already in auction`);
    if (mtm > 0) {
      const fee = this.liquidationFee({ mm, mtm });
      this.securityModuleBalance += fee;
      const auction: Auction = { id, insolvent: false, ongoing: true, startTime: t, reservedCash: 0, cachedMM: 0 };
      this.auctions.set(id, auction);
      return { auction: { ...auction }, fee };
    }
    return { auction: this.startInsolvent(id, mm, t), fee: 0 };
  }

  private startInsolvent(id: string, mm: number, t: number): Auction {
    const auction: Auction = { id, insolvent: true, ongoing: true, startTime: t, reservedCash: 0, cachedMM: -mm };
    this.totalInsolventMM += -mm;
    this.auctions.set(id, auction);
    return { ...auction };
  }

  private ongoing(id: string): Auction {
    const a = this.auctions.get(id);
    if (!a || !a.ongoing) throw stateError('DA_NotOngoingAuction', `account ${id} has no ongoing auction`);
    return a;
  }

  /** getAuctionStatus: may the auction be terminated (BM ≥ 0 solvent, MM ≥ 0 insolvent or after the solvent phases). */
  status(id: string, state: AuctionAccountState, t: number): AuctionStatus {
    const a = this.ongoing(id);
    const mm = check.finite('state.mm', state?.mm);
    const mtm = check.finite('state.mtm', state.mtm);
    const bm = this.bufferMargin({ mm, mtm });
    const p = this.params;
    if (a.insolvent || t - a.startTime >= p.fastAuctionLength + p.slowAuctionLength) return { canTerminate: mm >= 0, mtm, mm, bm };
    // MtM < 0, or reserved cash worth more than the MtM: terminate, to restart (insolvent)
    if (mtm < 0 || a.reservedCash >= mtm) return { canTerminate: true, mtm, mm, bm };
    return { canTerminate: bm >= 0, mtm, mm, bm };
  }

  /** terminateAuction: ends an auction whose account is back above its margin. */
  terminate(id: string, state: AuctionAccountState, t: number): Auction {
    if (!this.status(id, state, t).canTerminate) throw stateError('DA_AuctionCannotTerminate', `account ${id}'s auction cannot terminate yet`);
    return this.end(id);
  }

  private end(id: string): Auction {
    const a = this.auctions.get(id)!;
    a.ongoing = false;
    this.totalInsolventMM -= a.cachedMM;
    return { ...a };
  }

  /** The current solvent bid price of an auction (0 once the solvent phases are over). */
  currentBidPrice(id: string, state: AuctionAccountState, t: number): number {
    const a = this.auctions.get(id);
    if (!a || !a.ongoing) throw stateError('DA_AuctionNotStarted', `account ${id} has no ongoing auction`);
    if (a.insolvent) return this.insolventBidPrice({ mm: state.mm, mtm: state.mtm }, t - a.startTime);
    return this.bidPrice({ mtm: state.mtm, mm: state.mm, reservedCash: a.reservedCash }, t - a.startTime);
  }

  /** convertToInsolventAuction: a solvent auction whose price reached 0, account still below MM. */
  convert(id: string, state: AuctionAccountState, t: number): Auction {
    const a = this.auctions.get(id);
    const mm = check.finite('state.mm', state?.mm);
    if (a?.insolvent) throw stateError('DA_AuctionAlreadyInInsolvencyMode', `account ${id}'s auction is already insolvent`);
    if (!a || !a.ongoing) throw stateError('DA_AuctionNotStarted', `account ${id} has no ongoing auction`);
    if (this.currentBidPrice(id, state, t) > 0) throw stateError('DA_OngoingSolventAuction', `account ${id}'s solvent auction still has a positive price`);
    if (mm >= 0) throw stateError('DA_AccountIsAboveMaintenanceMargin', `account ${id} has MM ${mm} >= 0`);
    return this.startInsolvent(id, mm, t);
  }

  /** A bid on `percent` (0, 1] of the current portfolio at time t. */
  bid(id: string, state: AuctionAccountState, percent: number, t: number, opts: BidOptions = {}): BidResult {
    if (typeof percent !== 'number' || !(percent > 0 && percent <= 1)) throw stateError('DA_InvalidPercentage', `percent must be in (0, 1], got ${percent}`);
    const st = this.status(id, state, t);
    if (st.canTerminate) throw stateError('DA_AuctionShouldBeTerminated', `account ${id}'s auction should be terminated`);
    const a = this.auctions.get(id)!;
    const limit = opts.priceLimit ?? 0;
    const res = a.insolvent ? this.insolventBid(a, st, percent, t) : this.solventBid(a, st, percent, t);
    if (limit !== 0 && (a.insolvent ? -res.cashToBidder > limit : res.cashFromBidder > limit)) {
      throw stateError('DA_PriceLimitExceeded', `bid costs ${a.insolvent ? -res.cashToBidder : res.cashFromBidder}, limit ${limit}`);
    }
    if (opts.bidderCash !== undefined && opts.bidderCash < res.bidderCashRequired) {
      throw stateError('DA_InsufficientCash', `bidder holds ${opts.bidderCash}, needs ${res.bidderCashRequired}`);
    }
    // effects, once every check passed
    if (a.insolvent) {
      res.securityModulePaid = Math.min(Math.max(this.securityModuleBalance, 0), res.cashToBidder);
      res.socialised = res.cashToBidder - res.securityModulePaid;
      this.securityModuleBalance -= res.securityModulePaid;
      this.socialisedLoss += res.socialised;
    } else a.reservedCash += res.cashFromBidder;
    if (res.terminated) this.end(id);
    return res;
  }

  private solventBid(a: Auction, st: AuctionStatus, percent: number, t: number): BidResult {
    const e = t - a.startTime;
    const price = this.bidPrice({ mm: st.mm, mtm: st.mtm, reservedCash: a.reservedCash }, e);
    if (price <= 0) throw stateError('DA_SolventAuctionEnded', `account ${a.id}'s solvent auction has ended`);
    const maxOfCurrent = this.maxProportionAt(st.mtm, st.bm, this.discount(e), a.reservedCash);
    const terminated = percent >= maxOfCurrent;
    const f = terminated ? maxOfCurrent : percent;
    const cashFromBidder = price * f;
    return {
      finalPercentage: f,
      cashFromBidder,
      cashToBidder: 0,
      securityModulePaid: 0,
      socialised: 0,
      bidderCashRequired: cashFromBidder + Math.abs(st.bm - a.reservedCash) * f,
      terminated,
    };
  }

  private insolventBid(a: Auction, st: AuctionStatus, percent: number, t: number): BidResult {
    const cashToBidder = -this.insolventBidPrice({ mm: st.mm, mtm: st.mtm }, t - a.startTime) * percent;
    return {
      finalPercentage: percent,
      cashFromBidder: 0,
      cashToBidder,
      securityModulePaid: 0,
      socialised: 0,
      bidderCashRequired: Math.abs(st.mm) * percent - cashToBidder,
      terminated: percent === 1,
    };
  }

  /** getIsWithdrawBlocked: insolvent auctions owe more MM than the security module holds. */
  isWithdrawBlocked(): boolean {
    if (this.totalInsolventMM > 0 && this.withdrawLock) return this.totalInsolventMM > this.securityModuleBalance;
    return false;
  }
}

/** `liquidation.dutchAuction(params)`: Lyra/Derive v2 Dutch auction with its formulas and state. */
export function dutchAuction(params: DutchAuctionParams | unknown, opts?: DutchAuctionOptions): DutchAuction {
  if (params === undefined || params === null) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'dutchAuction needs params (Lyra AuctionParams)', 'params');
  return new DutchAuction(params, opts);
}
