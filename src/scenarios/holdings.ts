/**
 * An account's holdings as lines over an InstrumentTable, and their P&L vectors under a
 * revalued scenario set. A line is a position (its instrument, plus the coin of an inverse
 * future's entry leg) or a collateral currency (the coin pseudo-instrument; USD-pegged balances
 * carry no market risk). Collateral counts at its full amount: VaR measures the market value's
 * change, not haircut collateral. The account P&L vector is the sum of its lines' vectors,
 * aggregated by the margin engine's aggregation (one CSR row per account).
 */
import { InstrumentTable } from '../instruments/table.js';
import { validateAccount } from '../instruments/account.js';
import { aggregateInto } from './aggregate.js';
import type { AccountInput } from '../instruments/types.js';
import { ErrorCodes, OptmarginError } from '../errors.js';

/** Values of the table's instruments under a set: values[i·n + s], USD P&L of one unit of instrument i in scenario s. */
export interface ScenarioValues {
  n: number;
  values: Float64Array;
}

/** Stablecoins and USD: no market risk in a USD account. */
export const USD_PEGGED: readonly string[] = ['USD', 'USDC', 'USDT'];

export interface HoldingLine {
  label: string;
  /** holdings (instrument index, size) of the line */
  instr: number[];
  size: number[];
}

export interface Holdings {
  account: AccountInput;
  lines: HoldingLine[];
  /** mark value of the holdings (USD) */
  value: number;
}

/** Validates an account for risk (mode defaults to cross: VaR does not depend on it). */
export function riskAccount(v: unknown, path = ''): AccountInput {
  const o = v as Record<string, unknown>;
  if (o && typeof o === 'object' && !Array.isArray(o) && o.mode === undefined) return validateAccount({ ...o, mode: 'cross' }, path);
  return validateAccount(v, path);
}

function lineError(path: string, e: unknown): never {
  if (e instanceof OptmarginError) throw new OptmarginError(e.code, `${path}: ${e.message}`, path);
  throw e;
}

/** The table index of instrument `name`; its error names the field `path`. */
export function holdingIndex(table: InstrumentTable, name: string, path: string): number {
  try {
    return table.indexOf(name);
  } catch (e) {
    lineError(path, e);
  }
}

/** Where an account's holdings go (a line of resolveHoldings, a CSR row). */
export interface HoldingSink {
  add(instr: number, size: number): void;
}

/**
 * One position's holdings into `sink`: instrument i, then the coin of an inverse future's entry
 * leg when it has one (pv: scratch of 2); returns its mark value (USD). The one rule, for account
 * objects (resolveHoldings) and book columns (risk/book-var.ts riskCsrOf).
 */
export function positionHoldingsInto(table: InstrumentTable, i: number, size: number, entryPrice: number | undefined, pv: Float64Array, sink: HoldingSink): number {
  table.positionValueInto(i, size, entryPrice, pv);
  sink.add(i, size);
  if (pv[1] !== 0) sink.add(table.coinOfSlot(table.underlyingOf[i]), pv[1]);
  return pv[0];
}

/**
 * One balance's holding into `sink`: the coin pseudo-instrument at its full amount (VaR measures
 * the market value's change, not haircut collateral); USD-pegged balances carry no market risk
 * and no holding, a zero balance neither. Returns its value (USD); `path` names the balances.
 */
export function balanceHoldingInto(table: InstrumentTable, path: string, cur: string, amount: number, sink: HoldingSink): number {
  if (amount === 0) return 0;
  if (USD_PEGGED.includes(cur)) return amount;
  if (!table.market.hasUnderlying(cur)) {
    throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `${path}.${cur}: the market has no index price for ${cur}`, `${path}.${cur}`);
  }
  sink.add(table.coinIndex(cur), amount);
  return amount * table.market.spot(cur);
}

/** resolveHoldings' sink: each holding goes to the line of the item being read, made at its first holding (an item with none — a USD-pegged or zero balance — has no line). */
class LineSink implements HoldingSink {
  readonly lines: HoldingLine[] = [];
  private path = '';
  private name = '';
  private line: HoldingLine | null = null;

  /** The next holdings are item `name` under `path` (its line's label: `${path} ${name}`). */
  item(path: string, name: string): void {
    this.path = path;
    this.name = name;
    this.line = null;
  }

  add(instr: number, size: number): void {
    if (!this.line) this.lines.push((this.line = { label: `${this.path} ${this.name}`, instr: [], size: [] }));
    this.line.instr.push(instr);
    this.line.size.push(size);
  }
}

/**
 * An account's holdings as lines: each position (its instrument, and its entry leg's coin), then
 * each isolated position's own balances, then the account's balances — the order a book's
 * columns are read in too (riskCsrOf).
 */
export function resolveHoldings(table: InstrumentTable, a: AccountInput): Holdings {
  const sink = new LineSink();
  const pv = new Float64Array(2);
  let value = 0;
  a.positions.forEach((p, k) => {
    const path = `positions[${k}]`;
    const i = holdingIndex(table, p.instrument, `${path}.instrument`);
    sink.item(path, p.instrument);
    value += positionHoldingsInto(table, i, p.size, p.entryPrice, pv, sink);
  });
  const addCollateral = (path: string, balances: Record<string, number>): void => {
    for (const cur of Object.keys(balances)) {
      sink.item(path, cur);
      value += balanceHoldingInto(table, path, cur, balances[cur], sink);
    }
  };
  // isolated positions' own collateral belongs to the account's holdings too
  a.positions.forEach((p, k) => p.collateral && addCollateral(`positions[${k}].collateral`, p.collateral));
  addCollateral('collateral', a.collateral);
  return { account: a, lines: sink.lines, value };
}

/** P&L vector of each line (lines × n, row-major). */
export function linePnl(h: Holdings, sv: ScenarioValues): Float64Array {
  const nl = h.lines.length;
  const start = new Int32Array(nl + 1);
  const instr: number[] = [];
  const size: number[] = [];
  h.lines.forEach((l, k) => {
    instr.push(...l.instr);
    size.push(...l.size);
    start[k + 1] = instr.length;
  });
  const out = new Float64Array(nl * sv.n);
  aggregateInto(nl, sv.n, start, Int32Array.from(instr), Float64Array.from(size), sv.values, out);
  return out;
}

/** The account's P&L vector: Σ of its holdings in one aggregation row (position order). */
export function accountPnl(h: Holdings, sv: ScenarioValues): Float64Array {
  const instr: number[] = [];
  const size: number[] = [];
  for (const l of h.lines) {
    instr.push(...l.instr);
    size.push(...l.size);
  }
  const out = new Float64Array(sv.n);
  aggregateInto(1, sv.n, Int32Array.of(0, instr.length), Int32Array.from(instr), Float64Array.from(size), sv.values, out);
  return out;
}
