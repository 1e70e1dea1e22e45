/**
 * Dutch-auction liquidation with the semantics of Lyra/Derive v2-core
 * `src/liquidation/DutchAuction.sol` (commit d69b557, 2024-10-04), in real numbers.
 *
 * An account is a state { mm, mtm, reservedCash }: its maintenance margin (equity − MM, negative
 * when liquidatable, as Lyra's managers return it), its mark-to-market and the cash bidders have
 * paid into it during the auction. Formulas (docs/liquidation.md §Dutch auction):
 *
 *   BM        = MM + (MM − MtM) × bufferMarginPercentage
 *   d(t)      = s − (s − c)·t/Tf                       t < Tf            (fast phase)
 *             = c − c·(t − Tf)/Ts                      Tf ≤ t < Tf + Ts  (slow phase)
 *             = 0                                      t ≥ Tf + Ts
 *   bid(t)    = (MtM − R) × d(t)                       price of 100 % of the current portfolio
 *   fMax(t)   = BM⁻ / (BM⁻ − MtM·d − R·(1 − d))        BM⁻ = min(BM, 0); 1 when MtM < mtmCutoff
 *   fee       = fMax(d = 1, R = 0) × |MtM| × liquidatorFeeRate   (charged at start, to the security module)
 *   ins(t)    = (MM − MtM⁻)·t/Ti + MtM⁻  (t < Ti), MM (t ≥ Ti)      MtM⁻ = min(MtM, 0); 0 when MM ≥ 0
 *
 * Where Solidity's 18-decimal fixed point differs (see `solidityDiscount`): the slow phase
 * computes c.multiplyDecimal(tSlow) with tSlow in plain seconds, i.e. floor(c × tSlow) in wei,
 * so the discount falls in steps of 1/Ts each time c·tSlow crosses an integer: the contract's
 * discount is c − floor(c·tSlow)/Ts, never below the real one and less than 1/Ts above it
 * (1.4e-4 with the test defaults' Ts = 7200 s, 2.3e-5 on mainnet's 43200 s). Time is in whole
 * seconds on chain (block.timestamp); here t is real. Every other product truncates at 1e-18,
 * below any figure a margin engine reports.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';

/** Lyra's AuctionParams (IDutchAuction.sol), fractions as numbers (0.98 = 98 %), lengths in seconds. */
export interface DutchAuctionParams {
  startingMtMPercentage: number;
  fastAuctionCutoffPercentage: number;
  fastAuctionLength: number;
  slowAuctionLength: number;
  insolventAuctionLength: number;
  liquidatorFeeRate: number;
  bufferMarginPercentage: number;
  /** DutchAuction.mtmCutoff: below this MtM a bid may take 100 % (default 0, the contract's initial value). */
  mtmCutoff?: number;
}

/** An account as the auction sees it (USD). `mm` is equity − maintenance requirement. */
export interface AuctionAccountState {
  mm: number;
  mtm: number;
  reservedCash?: number;
}

export interface Auction {
  id: string;
  insolvent: boolean;
  ongoing: boolean;
  startTime: number;
  /** cash paid into the account by bidders during the solvent auction */
  reservedCash: number;
  /** insolvent auctions: −MM at start, counted in totalInsolventMM for the withdrawal lock */
  cachedMM: number;
}

export interface BidResult {
  /** fraction of the current portfolio taken (capped at the max proportion in a solvent auction) */
  finalPercentage: number;
  cashFromBidder: number;
  /** insolvent auctions: what the bidder is paid to take the portfolio */
  cashToBidder: number;
  /** of cashToBidder: paid by the security module, and socialised (printed) beyond its balance */
  securityModulePaid: number;
  socialised: number;
  /** cash the bidder must hold (Lyra's _ensureBidderCashBalance) */
  bidderCashRequired: number;
  terminated: boolean;
}

export interface StartResult {
  auction: Auction;
  /** liquidation fee charged to the account and paid to the security module (solvent start only) */
  fee: number;
}

function stateError(revert: string, message: string): OptmarginError {
  return new OptmarginError(ErrorCodes.AUCTION_STATE, `${message} (${revert})`);
}

/** Validates params with the bounds of DutchAuction.setAuctionParams (lines 98-108). */
export function validateAuctionParams(p: unknown, path = 'params'): Required<DutchAuctionParams> {
  const o = check.object(path, p);
  const frac = (k: keyof DutchAuctionParams): number => check.nonNegative(`${path}.${k}`, o[k]);
  const q: Required<DutchAuctionParams> = {
    startingMtMPercentage: frac('startingMtMPercentage'),
    fastAuctionCutoffPercentage: frac('fastAuctionCutoffPercentage'),
    fastAuctionLength: frac('fastAuctionLength'),
    slowAuctionLength: frac('slowAuctionLength'),
    insolventAuctionLength: frac('insolventAuctionLength'),
    liquidatorFeeRate: frac('liquidatorFeeRate'),
    bufferMarginPercentage: frac('bufferMarginPercentage'),
    mtmCutoff: o.mtmCutoff === undefined ? 0 : check.finite(`${path}.mtmCutoff`, o.mtmCutoff),
  };
  const bad = (k: string, req: string, v: unknown): never => {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${path}.${k} ${req}, got ${v}`, `${path}.${k}`);
  };
  if (q.startingMtMPercentage > 1) bad('startingMtMPercentage', 'must be <= 1 (100 % of MtM)', q.startingMtMPercentage);
  if (q.liquidatorFeeRate > 0.1) bad('liquidatorFeeRate', 'must be <= 0.1', q.liquidatorFeeRate);
  if (q.fastAuctionCutoffPercentage > q.startingMtMPercentage) bad('fastAuctionCutoffPercentage', `must be <= startingMtMPercentage (${q.startingMtMPercentage})`, q.fastAuctionCutoffPercentage);
  if (q.bufferMarginPercentage > 4) bad('bufferMarginPercentage', 'must be <= 4 (400 %)', q.bufferMarginPercentage);
  if (q.fastAuctionLength <= 0) bad('fastAuctionLength', 'must be > 0 seconds', q.fastAuctionLength);
  if (q.slowAuctionLength <= 0) bad('slowAuctionLength', 'must be > 0 seconds', q.slowAuctionLength);
  if (q.mtmCutoff > 1000) bad('mtmCutoff', 'must be <= 1000 (DutchAuction.setMtmCutoff)', q.mtmCutoff);
  return q;
}

/** The pure formulas of the auction (no auction state). */
export class DutchAuctionFormulas {
  readonly params: Required<DutchAuctionParams>;
  constructor(params: DutchAuctionParams | unknown) {
    this.params = validateAuctionParams(params);
  }

  /** Discount d(t) at t seconds after the start (_getDiscountPercentage), in real numbers. */
  discount(t: number): number {
    const p = this.params;
    const e = check.nonNegative('t', t);
    if (e < p.fastAuctionLength) {
      return p.startingMtMPercentage - ((p.startingMtMPercentage - p.fastAuctionCutoffPercentage) * e) / p.fastAuctionLength;
    }
    if (e >= p.fastAuctionLength + p.slowAuctionLength) return 0;
    return p.fastAuctionCutoffPercentage * (1 - (e - p.fastAuctionLength) / p.slowAuctionLength);
  }

  /**
   * The discount exactly as the contract computes it in 18-decimal integers (whole seconds):
   * the documented difference from `discount` (step-wise slow phase). For comparison only.
   */
  solidityDiscount(t: number): number {
    const p = this.params;
    const E = 10n ** 18n;
    const wei = (x: number): bigint => BigInt(Math.round(x * 1e18));
    const e = BigInt(Math.floor(check.nonNegative('t', t)));
    const s = wei(p.startingMtMPercentage);
    const c = wei(p.fastAuctionCutoffPercentage);
    const tf = BigInt(Math.round(p.fastAuctionLength));
    const ts = BigInt(Math.round(p.slowAuctionLength));
    let d: bigint;
    if (e < tf) d = s - ((s - c) * e) / tf;
    else if (e >= tf + ts) d = 0n;
    else d = c - (((c * (e - tf)) / E) * E) / ts; // c.multiplyDecimal(tSlow).divideDecimal(Ts)
    return Number(d) / 1e18;
  }

  /** BM = MM + (MM − MtM) × bufferMarginPercentage (_getBufferMargin). */
  bufferMargin(state: AuctionAccountState): number {
    const mm = check.finite('state.mm', state?.mm);
    const mtm = check.finite('state.mtm', state?.mtm);
    return mm + (mm - mtm) * this.params.bufferMarginPercentage;
  }

  /** Solvent bid price of 100 % of the current portfolio at t: (MtM − R) × d(t) (_getSolventAuctionBidPrice). */
  bidPrice(state: AuctionAccountState, t: number): number {
    const p = this.params;
    const mtm = check.finite('state.mtm', state?.mtm);
    const r = check.nonNegative('state.reservedCash', state.reservedCash ?? 0);
    if (t >= p.fastAuctionLength + p.slowAuctionLength) return 0;
    if (r > mtm) throw stateError('DA_ReservedCashGreaterThanMtM', `reserved cash ${r} exceeds MtM ${mtm}`);
    return (mtm - r) * this.discount(t);
  }

  /** The largest fraction of the current portfolio a bid may take, bringing BM back to 0 (_getMaxProportion). */
  maxProportionAt(mtm: number, bm: number, d: number, reservedCash: number): number {
    if (mtm < this.params.mtmCutoff) return 1;
    const b = Math.min(bm, 0);
    if (b === 0) return 0;
    return b / (b - mtm * d - reservedCash * (1 - d));
  }

  /** getMaxProportion at t: reverts (throws) when MtM < 0, as the contract's view does. */
  maxProportion(state: AuctionAccountState, t: number): number {
    const mtm = check.finite('state.mtm', state?.mtm);
    if (mtm < 0) throw stateError('DA_SolventAuctionEnded', `MtM ${mtm} < 0: no solvent auction`);
    const r = check.nonNegative('state.reservedCash', state.reservedCash ?? 0);
    return this.maxProportionAt(mtm, this.bufferMargin(state), this.discount(t), r);
  }

  /** The fee charged at a solvent start: fMax(d = 1, R = 0) × |MtM| × feeRate (_getLiquidationFee). */
  liquidationFee(state: AuctionAccountState): number {
    const mtm = check.finite('state.mtm', state?.mtm);
    return this.maxProportionAt(mtm, this.bufferMargin(state), 1, 0) * Math.abs(mtm) * this.params.liquidatorFeeRate;
  }

  /**
   * Insolvent bid price (≤ 0: minus what the security module pays for 100 %), growing linearly
   * from min(MtM, 0) to MM over insolventAuctionLength; 0 when MM ≥ 0 (_getInsolventAuctionBidPrice).
   */
  insolventBidPrice(state: { mm: number; mtm: number }, t: number): number {
    const mm = check.finite('state.mm', state?.mm);
    const mtm = Math.min(check.finite('state.mtm', state.mtm), 0);
    const e = check.nonNegative('t', t);
    if (mm >= 0) return 0;
    const L = this.params.insolventAuctionLength;
    if (e >= L) return mm;
    return ((mm - mtm) * e) / L + mtm;
  }
}

export { stateError };
