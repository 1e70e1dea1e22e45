/** Parts of a vectorized account's result read from the book's arrays. */
import { ErrorCodes } from '../../errors.js';
import type { BookAccountResult, CsvFigures, UnderlyingWorst } from '../../io/results.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { HEALTHS } from '../../measures/health.js';
import type { AccountMode, LoadedModel, MarginResult } from '../../measures/types.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';
import type { Failures } from './schedule.js';
import { Path } from './load.js';
import { sharedI8 } from './arrays.js';

/** The currency of every vectorized account's figures (they carry no separate `usd` figures). */
export const GRID_CURRENCY = 'USD';

/** What a result reads of the rows (per row: its underlying slot, worst scenario and loss) and of the instruments (names and scenario labels per slot). */
export type ResultRows = { rowSlot: Int32Array<ArrayBufferLike> } & Pick<BookRows, 'worst' | 'loss'>;
export type ResultInstruments = Pick<BookInstruments, 'underlyings' | 'scenarioLabels'>;

/** The message of the failed chunk that computed account k (or one of its rows). */
export function failureOf(red: ReduceArrays, failures: Failures, k: number): string | undefined {
  let message = failures.accounts.get(k);
  for (let j = red.accSubFrom[k]; j < red.accSubTo[k] && message === undefined; j++) {
    for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1] && message === undefined; q++) message = failures.rows.get(red.subRows[q]);
  }
  return message;
}

/** Per underlying of a pooled account: its worst scenario, worst loss and IM. */
export function underlyingsOf(red: ReduceArrays, rows: ResultRows, ins: ResultInstruments, k: number): UnderlyingWorst[] {
  const out: UnderlyingWorst[] = [];
  const j = red.accSubFrom[k];
  for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
    const r = red.subRows[q];
    const s = rows.rowSlot[r];
    out.push({
      underlying: ins.underlyings[s],
      worstScenario: ins.scenarioLabels[s][rows.worst[r]] ?? '',
      worstLoss: Math.max(0, rows.loss[r]),
      initialMargin: red.rowIm[r],
    });
  }
  return out;
}

/**
 * Equity, IM, MM of account k into out[0..2] and its health index (HEALTHS), −1 for an account
 * without a finite result. `single` is the account's single-path result (null: not computed),
 * undefined for a vectorized account (read from the reduce arrays). −1 exactly when the account's
 * full result (`gridResult`, then `finiteOrError`) answers an error: a health is never given to an
 * account whose reported result is not finite (test/book-figures-finite.test.ts).
 */
export function figuresInto(red: ReduceArrays, rows: Pick<ResultRows, 'loss'>, single: MarginResult | null | undefined, k: number, out: Float64Array): number {
  if (single === undefined) {
    const h = gridHealth(red, rows.loss, k);
    if (h < 0) return -1;
    out[0] = red.accEquity[k];
    out[1] = red.accIm[k];
    out[2] = red.accMm[k];
    return h;
  }
  if (!single || !single.ok) return -1;
  out[0] = single.equity;
  out[1] = single.initialMargin;
  out[2] = single.maintenanceMargin;
  return Number.isFinite(out[0]) && Number.isFinite(out[1]) && Number.isFinite(out[2]) ? HEALTHS.indexOf(single.health) : -1;
}

/**
 * The health index of vectorized account k, −1 when it failed or when a number `gridResult`
 * reports for it is not finite: equity, IM, MM, available funds, collateral value, the margin
 * ratio, and each pooled row's worst loss and IM, read from the same arrays by the same
 * expressions. Branch-free test: 0 × x is ±0 for a finite x and NaN otherwise, so the sum is
 * 0 exactly when every term is finite (the ratio mm / equity is reported only when equity > 0;
 * otherwise mm / 1 = mm, already a term).
 */
export function gridHealth(red: ReduceArrays, loss: Float64Array, k: number): number {
  if (red.accFailed[k]) return -1;
  const equity = red.accEquity[k];
  const mm = red.accMm[k];
  let z = 0 * equity + 0 * red.accIm[k] + 0 * mm + 0 * red.accAvail[k] + 0 * red.accCv[k] + 0 * (mm / (equity > 0 ? equity : 1));
  if (red.accKind[k] === AccKind.Pooled) {
    const j = red.accSubFrom[k];
    for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
      const r = red.subRows[q];
      z += 0 * Math.max(0, loss[r]) + 0 * red.rowIm[r];
    }
  }
  return z === 0 ? red.accHealth[k] : -1;
}

/**
 * Each vectorized account's gridHealth as the tick round that re-margined it computed it, on its
 * worker right after its figures (tasks.ts reduceSpan), while the account's arrays are in that
 * core's cache: figuresOfMany reads one byte instead of the ~15 arrays gridHealth reads (a path
 * tick refreshes ~100k accounts on the main thread). UNKNOWN wherever no round computed it or the
 * account changed since — a trade or replace (BookEngine.rebook), a recompute or load, a chunk
 * that failed every attempt (BookScheduler.failAccounts): figuresOfMany then calls gridHealth.
 */
export class RoundHealth {
  static readonly UNKNOWN = -2;
  /** per account (shared: the round's chunks write their accounts') */
  of: Int8Array = sharedI8(0);

  /** n accounts, none known (a load). */
  reset(n: number): void {
    this.of = sharedI8(n).fill(RoundHealth.UNKNOWN);
  }

  /** Every account's forgotten (a recompute). */
  clear(): void {
    this.of.fill(RoundHealth.UNKNOWN);
  }

  /** Account k's forgotten (it changed). */
  drop(k: number): void {
    this.of[k] = RoundHealth.UNKNOWN;
  }
}

/**
 * figuresInto of the accounts `indices` into the caller's arrays: eq[k] and mm[k] (0 without a
 * finite result), health[k] (−1 without), and the change of eq[k] into delta[i]. `path` and
 * `single` are the book's (each account's path; the single-path results), `round` its RoundHealth.
 * One loop over the reduce arrays, no call per vectorized account (a path tick refreshes ~100k accounts).
 */
export function figuresOfMany(red: ReduceArrays, loss: Float64Array, path: Uint8Array, single: ReadonlyMap<number, MarginResult>, round: Int8Array, indices: ArrayLike<number>, into: FiguresOut): void {
  const { eq, mm, health, delta } = into;
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    let h: number;
    let e: number;
    let m: number;
    if (path[k] === Path.Single) {
      h = figuresInto(red, { loss }, single.get(k) ?? null, k, into.scratch);
      e = h < 0 ? 0 : into.scratch[0];
      m = h < 0 ? 0 : into.scratch[2];
    } else {
      h = round[k];
      if (h === RoundHealth.UNKNOWN) h = gridHealth(red, loss, k);
      e = h < 0 ? 0 : red.accEquity[k];
      m = h < 0 ? 0 : red.accMm[k];
    }
    delta[i] = e - eq[k];
    eq[k] = e;
    mm[k] = m;
    health[k] = h;
  }
}

/** Where figuresOfMany writes (eq, mm, health per account; delta per index; scratch: 3 doubles). */
export interface FiguresOut { eq: Float64Array; mm: Float64Array; health: Int8Array; delta: Float64Array; scratch: Float64Array }

/** A vectorized account's figures as its CSV line reads them (no usd: its currency is USD), filled in place. */
export type GridFigures = CsvFigures & { modeApplied: AccountMode };

export function newGridFigures(): GridFigures {
  return { mode: 'portfolio', modeApplied: 'portfolio', currency: GRID_CURRENCY, equity: 0, initialMargin: 0, maintenanceMargin: 0, marginRatio: null, availableFunds: 0, health: 'healthy', collateralValue: 0, usd: undefined };
}

/** The figures of vectorized account k (not failed) from the reduce arrays into f: the one home of their expressions. */
export function gridFiguresInto(f: GridFigures, red: ReduceArrays, mode: AccountMode, k: number): GridFigures {
  const equity = red.accEquity[k];
  const mm = red.accMm[k];
  const kind = red.accKind[k];
  f.mode = mode;
  f.modeApplied = kind === AccKind.Isolated ? 'isolated' : mode === 'cross' ? 'cross' : 'portfolio';
  f.equity = equity;
  f.initialMargin = red.accIm[k];
  f.maintenanceMargin = mm;
  f.marginRatio = equity > 0 ? mm / equity : null;
  f.availableFunds = red.accAvail[k];
  f.health = HEALTHS[red.accHealth[k]];
  f.collateralValue = red.accCv[k];
  return f;
}

const scratch = newGridFigures();

/** The result of vectorized account k from the book's arrays (a failed chunk's account: OPTMARGIN_WORKER_FAILED). */
export function gridResult(red: ReduceArrays, rows: ResultRows, ins: ResultInstruments, failures: Failures, id: string, mode: AccountMode, k: number): BookAccountResult {
  if (red.accFailed[k]) return { id, ok: false, error: { code: ErrorCodes.WORKER_FAILED, message: `the worker computing this account failed every attempt: ${failureOf(red, failures, k) ?? 'unknown error'}` } };
  const f = gridFiguresInto(scratch, red, mode, k);
  return {
    id,
    ok: true,
    mode,
    modeApplied: f.modeApplied,
    currency: GRID_CURRENCY,
    equity: f.equity,
    initialMargin: f.initialMargin,
    maintenanceMargin: f.maintenanceMargin,
    marginRatio: f.marginRatio,
    availableFunds: f.availableFunds,
    health: f.health,
    collateralValue: f.collateralValue,
    underlyings: red.accKind[k] === AccKind.Pooled ? underlyingsOf(red, rows, ins, k) : [],
  };
}

/** The model / market header every serialized result set of a book carries. */
export interface BookHeader {
  model: { id: string; version: string; hash: string; mechanism: string };
  marketHash: string;
  valuationTime: number;
}

export function resultHeader(m: LoadedModel, marketHash: string, valuationTime: number): BookHeader {
  const p = m.params;
  return { model: { id: p.id, version: p.version, hash: m.hash, mechanism: p.mechanism }, marketHash, valuationTime };
}
