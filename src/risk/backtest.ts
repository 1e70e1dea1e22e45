/**
 * Rolling VaR backtest of one account over a history.
 *
 * For each date t in [from, to]: VaR_t is computed at the close of t−1 (history index k = t−1)
 * from the N returns ending at t−1 (the scenario set as of k), on the market as of k (the
 * history's closes; options at its vol level). It is compared with the realised P&L from close
 * t−1 to close t: the holdings of close t−1 revalued on the market as of t (index, vol level
 * and time to expiry of close t) minus their value at close t−1. Exception: −P&L_t > VaR_t.
 * Re-struck (`atm`) positions are materialised at each t−1 and held to t.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InstrumentTable } from '../instruments/table.js';
import { dateIndex, type History } from './history.js';
import { backtestStats, baselZone, type BacktestStats, type BaselZone } from './backtest-stats.js';
import { riskFigures, type QuantileConvention } from '../measures/quantiles.js';
import { accountPnl, resolveHoldings, riskAccount } from '../scenarios/holdings.js';
import { revalueInstruments } from './revalue.js';
import { materialise } from './rolling.js';
import { marketFromHistory, scenarioSetFor, type ScenarioRequest } from './var.js';

export interface BacktestOptions {
  from: string;
  to: string;
  alpha: number;
  quantile: QuantileConvention;
  scenario: Omit<ScenarioRequest, 'asOfIndex'>;
  onProgress?: (done: number, total: number) => void;
}

export interface BacktestDay {
  date: string;
  var: number;
  es: number;
  pnl: number;
  exception: boolean;
}

export interface BaselWindow {
  /** last date of the 250-day window */
  end: string;
  exceptions: number;
  zone: BaselZone;
}

export interface BacktestResult extends BacktestStats {
  account: string;
  method: string;
  lookback: number;
  alpha: number;
  quantile: QuantileConvention;
  from: string;
  to: string;
  exceptions: { date: string; pnl: number; var: number }[];
  /** Basel traffic light over the last 250 observations (null with fewer) and every rolling 250-day window */
  basel: { zone: BaselZone | null; last250: number | null; windows: BaselWindow[] };
  days: BacktestDay[];
}

function valueOn(h: History, k: number, account: unknown, lambda: number): number {
  const t = new InstrumentTable(marketFromHistory(h, k, lambda));
  return resolveHoldings(t, riskAccount(account)).value;
}

export function backtest(h: History, accountIn: unknown, o: BacktestOptions): BacktestResult {
  const first = dateIndex(h, o.from, '--from');
  const last = dateIndex(h, o.to, '--to');
  if (first < 1 || last < first) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--from ${o.from} must be after the first date of the history and not after --to ${o.to}`, '--from');
  }
  const lambda = o.scenario.lambda ?? 0.94;
  const days: BacktestDay[] = [];
  const total = last - first + 1;
  let id = '';
  for (let t = first; t <= last; t++) {
    const k = t - 1;
    const market = marketFromHistory(h, k, lambda);
    const held = materialise(accountIn, market);
    const account = riskAccount(held);
    id = account.id;
    const table = new InstrumentTable(market);
    const hold = resolveHoldings(table, account);
    const set = scenarioSetFor(h, { ...o.scenario, asOfIndex: k });
    const x = accountPnl(hold, revalueInstruments(table, set));
    const f = riskFigures(x, o.alpha, o.quantile);
    const pnl = valueOn(h, t, held, lambda) - hold.value;
    days.push({ date: h.dates[t], var: f.var, es: f.es, pnl, exception: -pnl > f.var });
    o.onProgress?.(t - first + 1, total);
  }
  const exc = days.map((d) => (d.exception ? 1 : 0));
  const stats = backtestStats(exc, o.alpha);
  const windows: BaselWindow[] = [];
  let inWin = 0;
  for (let i = 0; i < exc.length; i++) {
    inWin += exc[i] - (i >= 250 ? exc[i - 250] : 0);
    if (i >= 249) windows.push({ end: days[i].date, exceptions: inWin, zone: baselZone(inWin, 250, o.alpha) });
  }
  const lastW = windows.length ? windows[windows.length - 1] : null;
  return {
    account: id,
    method: o.scenario.method,
    lookback: o.scenario.lookback,
    alpha: o.alpha,
    quantile: o.quantile,
    from: o.from,
    to: o.to,
    ...stats,
    exceptions: days.filter((d) => d.exception).map((d) => ({ date: d.date, pnl: d.pnl, var: d.var })),
    basel: { zone: lastW?.zone ?? null, last250: lastW?.exceptions ?? null, windows },
    days,
  };
}

/** The day-by-day series as CSV (date,var,es,pnl,exception), ready to plot. */
export function backtestCsv(r: BacktestResult): string {
  return 'date,var,es,pnl,exception\n' + r.days.map((d) => `${d.date},${d.var},${d.es},${d.pnl},${d.exception ? 1 : 0}`).join('\n') + '\n';
}
