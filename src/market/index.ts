/**
 * Market model: instruments (Deribit names), market snapshots (index, forwards, smiles,
 * quotes) and the resolved, compute-ready market with cheap shocked views.
 */
export * from './types.js';
export { parseInstrument, formatInstrument, parseExpiryCode, formatExpiryCode, futuresPnl, EXPIRY_HOUR_UTC } from './instruments.js';
export { marketFromDeribitCsv, marketFromBookSummary, looksLikeDeribitCsv, type DeribitReadOptions } from './deribit.js';
export {
  loadMarket,
  validateSnapshot,
  detectMarketFormat,
  marketToJson,
  marketToMsgpack,
  marketHash,
  canonicalJson,
  defaultMarket,
  defaultMarketPath,
  type LoadMarketOptions,
  type MarketFileFormat,
} from './snapshot.js';
export { resolveMarket, MIN_SHOCKED_VOL } from './resolved.js';
export { parityForward, MS_PER_YEAR, type BuildOptions } from './build.js';
export { fitSvi, sviTotalVariance, sviDensityG, sviViolation, type SviFitInput, type SviFitResult } from './svi.js';
export { compileSmile, smileVol, minDensityG, pchipSlopes, type CompiledSmile } from './smile.js';
export { summarizeMarket, formatMarketSummary, type MarketSummary, type ExpirySummary } from './summary.js';
