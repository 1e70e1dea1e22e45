import type { ErrorCode } from '../../errors.js';
/** Options and reports of the book runner. */
import type { MarginMarket } from '../../market/margin-market.js';
import type { LoadedModel, MarginModel } from '../../measures/types.js';
import type { BookAccountResult } from '../../io/results.js';
import type { ChunkRunnerOptions } from './pool.js';
import type { ChunkStages } from './clock.js';

export interface BookEngineOptions extends Partial<ChunkRunnerOptions> {
  market: MarginMarket;
  /** A LoadedModel, a preset id / file path, or a parameter object. */
  model: LoadedModel | MarginModel | string;
  /** Target holdings per chunk of work (default 262144, and at least 4 chunks per thread): fewer, larger tasks amortise the pool overhead. */
  chunkPositions?: number;
}

/** What a load did: how many accounts took each path. */
export interface BookLoadReport {
  accounts: number;
  gridAccounts: number;
  /** of the grid accounts, the isolated ones (one sub-account per position) */
  isolatedAccounts: number;
  singleAccounts: number;
  subAccounts: number;
  positions: number;
  rows: number;
  holdings: number;
  instruments: number;
  scenarios: number;
  resolveMs: number;
}

/** Results that changed in an incremental update, by input index. */
export interface BookUpdate {
  /** input indices of the accounts whose result changed, ascending: the update's own array (no later tick writes it, unless the caller hands it back: BookEngine.tick's `reuse`) */
  changed: Int32Array;
  /** the same list as a plain array (built on first read) */
  indices: number[];
  /** their results (built on first call) */
  results: () => BookAccountResult[];
  /** latency of the update, results not materialized */
  ms: number;
  /** market: switch to the new market (no re-hash: the hash is computed when asked for);
   *  select: what the chunks need (main thread): the rows following the moved forwards, the
   *  vectorized accounts depending on a moved underlying;
   *  pool: one round of chunks on the pool, each over an account range: its rows on the moved
   *  underlyings follow the forwards, its listed accounts' equity, then (WASM) the rows' P&L and
   *  IM, then those accounts' figures. Meanwhile the main thread reads the moved underlyings'
   *  marks (riskMs: instruments' forwards and unit values, index; the chunks wait for them) and
   *  revalues their instruments (revalueMs; the chunks wait for it before aggregating) — both
   *  inside poolMs (in-process: before the chunks run);
   *  single: single-path accounts depending on a moved underlying */
  stages: { marketMs: number; riskMs: number; selectMs: number; poolMs: number; revalueMs: number; singleMs: number };
  /** inside the pool stage, the chunks' own (clock.ts: each a mean over the round's chunks; all 0 without a round) */
  chunks: ChunkStages;
}

/** A book entry that could not even be parsed (a malformed JSON line): its result is this error. */
export class InvalidEntry {
  constructor(
    readonly id: string,
    readonly message: string,
    /** the validation error itself (code, message, path), when the entry parsed but did not validate */
    readonly error?: { code: ErrorCode; message: string; path?: string },
  ) {}
}
