/** Parts of a vectorized account's result read from the book's arrays. */
import { ErrorCodes } from '../../errors.js';
import type { BookAccountResult, CsvFigures, UnderlyingWorst } from '../../io/results.js';
import { AccKind, type ReduceArrays } from '../../measures/grid/reduce.js';
import { HEALTHS } from '../../measures/health.js';
import type { AccountMode, LoadedModel, MarginResult } from '../../measures/types.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';
import type { Failures } from './schedule.js';

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
  let h: number;
  if (single !== undefined) {
    if (!single || !single.ok) return -1;
    out[0] = single.equity;
    out[1] = single.initialMargin;
    out[2] = single.maintenanceMargin;
    h = HEALTHS.indexOf(single.health);
  } else {
    if (red.accFailed[k] || !gridExtrasFinite(red, rows, k)) return -1;
    out[0] = red.accEquity[k];
    out[1] = red.accIm[k];
    out[2] = red.accMm[k];
    h = red.accHealth[k];
  }
  return Number.isFinite(out[0]) && Number.isFinite(out[1]) && Number.isFinite(out[2]) ? h : -1;
}

/**
 * Whether the numbers `gridResult` reports for vectorized account k besides equity, IM and MM
 * are finite, read from the same arrays by the same expressions: available funds, collateral
 * value, the margin ratio, and each pooled row's worst loss and IM.
 */
function gridExtrasFinite(red: ReduceArrays, rows: Pick<ResultRows, 'loss'>, k: number): boolean {
  const equity = red.accEquity[k];
  if (!Number.isFinite(red.accAvail[k]) || !Number.isFinite(red.accCv[k])) return false;
  if (equity > 0 && !Number.isFinite(red.accMm[k] / equity)) return false;
  if (red.accKind[k] !== AccKind.Pooled) return true;
  const j = red.accSubFrom[k];
  for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
    const r = red.subRows[q];
    if (!Number.isFinite(Math.max(0, rows.loss[r])) || !Number.isFinite(red.rowIm[r])) return false;
  }
  return true;
}

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
