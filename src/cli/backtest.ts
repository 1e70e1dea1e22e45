/**
 * `optmargin backtest ACCOUNT --history … --from DATE --to DATE --method hs|fhs|mc --lookback N
 *   --alpha A --quantile … [--json] [--csv] [--out FILE]`
 * JSON: observations, exceptions (with their dates), kupiec / christoffersen / conditionalCoverage
 * (each with lr and p), the Basel zone, and the day-by-day series. --csv prints the series
 * (date,var,es,pnl,exception) instead; --out writes it (atomically) to FILE as well.
 */
import cliProgress from 'cli-progress';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { writeFileAtomic } from '../io/book-file.js';
import { backtest, backtestCsv, type BacktestResult } from '../risk/backtest.js';
import { readDocument } from './io.js';
import { alphaFrom, historyFrom, quantileFrom, scenarioRequestFrom, type RiskCliOptions } from './risk-args.js';

export interface BacktestCliOptions extends RiskCliOptions {
  from?: string;
  to?: string;
  csv?: boolean;
  out?: string;
}

const f4 = (x: number) => x.toFixed(4);

export function formatBacktest(r: BacktestResult): string {
  return [
    `backtest of ${r.account}: ${r.method.toUpperCase()} VaR ${(r.alpha * 100).toFixed(2)}% (${r.quantile}), lookback ${r.lookback}, ${r.from} … ${r.to}`,
    `observations ${r.observations}  exceptions ${r.exceptionCount} (expected ${r.expected.toFixed(1)})`,
    `Kupiec POF               LR ${f4(r.kupiec.lr)}  p ${f4(r.kupiec.p)}`,
    `Christoffersen indep.    LR ${f4(r.christoffersen.lr)}  p ${f4(r.christoffersen.p)}  (n00 ${r.christoffersen.n00}, n01 ${r.christoffersen.n01}, n10 ${r.christoffersen.n10}, n11 ${r.christoffersen.n11})`,
    `conditional coverage     LR ${f4(r.conditionalCoverage.lr)}  p ${f4(r.conditionalCoverage.p)}`,
    `Basel zone (last 250 days): ${r.basel.zone ?? 'n/a (< 250 observations)'}${r.basel.last250 !== null ? ` (${r.basel.last250} exceptions)` : ''}`,
    `exceptions: ${r.exceptions.map((e) => e.date).join(', ') || 'none'}`,
  ].join('\n') + '\n';
}

export function runBacktestCommand(file: string, o: BacktestCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  if (!o.from || !o.to) throw new OptmarginError(ErrorCodes.INVALID_INPUT, '--from and --to (YYYY-MM-DD) are required', o.from ? '--to' : '--from');
  const h = historyFrom(o);
  const { asOfIndex: _k, ...scenario } = scenarioRequestFrom(o, 0);
  void _k;
  const account = readDocument(file);
  if (Array.isArray(account)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'backtest takes one account (an object), got an array');
  const showBar = o.progress !== false && process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'backtest [{bar}] {percentage}% | {value}/{total} days', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;
  let started = false;
  const r = backtest(h, account, {
    from: o.from,
    to: o.to,
    alpha: alphaFrom(o),
    quantile: quantileFrom(o),
    scenario,
    onProgress: (done, total) => {
      if (!started) bar?.start(total, 0);
      started = true;
      bar?.update(done);
    },
  });
  bar?.stop();
  if (o.out) writeFileAtomic(o.out, o.out.endsWith('.csv') ? backtestCsv(r) : JSON.stringify(r, null, 2) + '\n');
  if (o.csv) write(backtestCsv(r));
  else write(o.json ? JSON.stringify(r, null, 2) + '\n' : formatBacktest(r));
  return 0;
}
