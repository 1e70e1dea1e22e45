/**
 * Public API of liquidation (issue 12). See docs/liquidation.md.
 * - `dutchAuction(params)`: Lyra/Derive v2 Dutch auction (formulas and the stateful auction);
 * - mechanisms as parameter files (presets/liquidation/*.json): `loadMechanism`, `listMechanisms`;
 * - `planLiquidation(engine, account, opts)`: the plan of one account;
 * - insurance fund, socialised loss and ADL rankings (OKX, Binance);
 * - the cascade simulator: `Simulation.create(...)` then `step(market)` (a backend drives its own loop),
 *   and paths (shocks, history, snapshots).
 */
export { DutchAuctionFormulas, validateAuctionParams, type DutchAuctionParams, type AuctionAccountState, type Auction, type BidResult, type StartResult } from './dutch-auction.js';
export { DutchAuction, dutchAuction, type DutchAuctionOptions, type AuctionStatus, type BidOptions } from './auction-house.js';
export {
  loadMechanism,
  listMechanisms,
  validateMechanism,
  mechanismsDir,
  type Mechanism,
  type FixedPriceMechanism,
  type DutchAuctionMechanism,
  type PlanSpec,
  type PlanTarget,
  type PlanStrategy,
  type FeeSpec,
  type ImpactSpec,
  type ShortfallSpec,
} from './mechanism.js';
export { planLiquidation, gapOf, isTrade, type PlanOptions, type LiquidationPlan, type PlanStep, type CloseStep, type AuctionBidStep } from './plan.js';
export { InsuranceFund, socialiseLoss, okxAdlRank, binanceAdlRank, adlRank, adlQueue, allocateAdl, type Winner, type AdlCandidate, type AdlFill } from './shortfall.js';
export { impactFraction, executionPrice, liquidationFee, positionFacts, type PositionFacts } from './execution.js';
export { pinBook } from './pin-entries.js';
export { Simulation, type SimulationOptions, type StepReport, type BankruptAccount, type BookSummaryBefore } from './simulate.js';
export { shocksPath, historyPath, snapshotsPath, type SimPath, type PathStep } from './paths.js';
