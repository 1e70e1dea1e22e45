/**
 * Which errors a distributed run reports as the input's (not the cluster's): errors of the input
 * itself, for which every delivery of a shard fails alike. A worker reports the first one at
 * once (no retries) and the coordinator fails with that code, as a local run would (exit 2);
 * every other failure is retried by redelivery and, on the last delivery, is CLUSTER_FAILED.
 */
import { ErrorCodes } from '../errors.js';

const INPUT_ERRORS: ReadonlySet<string> = new Set([
  ErrorCodes.INVALID_INPUT,
  ErrorCodes.INVALID_INSTRUMENT,
  ErrorCodes.MISSING_MARKET_DATA,
  ErrorCodes.PRICE_OUT_OF_BOUNDS,
  ErrorCodes.INVALID_FILE,
  ErrorCodes.INVALID_MODEL,
  ErrorCodes.INVALID_OPTION,
  ErrorCodes.LIMIT_EXCEEDED,
]);

export const isInputError = (code: string): boolean => INPUT_ERRORS.has(code);
