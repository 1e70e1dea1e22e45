/**
 * `optmargin var ACCOUNT|BOOK --history FILE[,FILE…] [--as-of DATE] --method hs|fhs|mc
 *   --lookback N --alpha A --quantile lower|empirical|linear [--horizon D] [--lambda L]
 *   [--market FILE] [--components] [--json]`
 * One account: an object with `var` and `es` (positive losses, USD) and the figures behind them.
 * A JSON array of accounts (a book): `{ book: {var, es, …}, accounts: [...] }`, the book's P&L
 * vector being the sum of the accounts' vectors.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InstrumentTable } from '../instruments/table.js';
import { loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import { dateIndex, type History } from '../risk/history.js';
import { riskFigures } from '../risk/measures.js';
import { accountPnl, resolveHoldings, riskAccount } from '../risk/portfolio.js';
import { revalueInstruments } from '../risk/revalue.js';
import { materialise } from '../risk/rolling.js';
import { accountRisk, marketFromHistory, requireUnderlyings, scenarioSetFor, type AccountRisk } from '../risk/var.js';
import { readDocument } from './io.js';
import { alphaFrom, historyFrom, quantileFrom, scenarioRequestFrom, type RiskCliOptions } from './risk-args.js';
import type { MarginMarket } from '../market/margin-market.js';

export interface VarCliOptions extends RiskCliOptions {
  components?: boolean;
}

const usd = (x: number): string => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatRisk(r: AccountRisk): string {
  const o = [
    `account ${r.id}  value ${usd(r.value)} USD  as of ${r.valuationTime}`,
    `scenarios ${r.scenarioSet.id} (${r.scenarios}, hash ${r.scenarioSet.hash})`,
    `VaR ${(r.alpha * 100).toFixed(2)}% (${r.quantile})  ${usd(r.var)} USD${r.varScenarioLabels ? `  at ${r.varScenarioLabels.join(' / ')}` : ''}`,
    `ES  ${(r.alpha * 100).toFixed(2)}% (Acerbi–Tasche)  ${usd(r.es)} USD   tail mean ${usd(r.tailMean)} USD`,
  ];
  if (r.lines) {
    o.push('', 'line                                      component VaR  component ES  incremental VaR  standalone VaR');
    for (const l of r.lines) o.push(`${l.label.padEnd(40)} ${usd(l.componentVar).padStart(14)} ${usd(l.componentEs).padStart(13)} ${usd(l.incrementalVar).padStart(16)} ${usd(l.standaloneVar).padStart(15)}`);
  }
  return o.join('\n') + '\n';
}

function marketFor(o: VarCliOptions, h: History, k: number): MarginMarket {
  if (!o.market) return marketFromHistory(h, k, o.lambda === undefined ? 0.94 : Number(o.lambda));
  return resolveMarket(loadMarket(o.market));
}

export function runVarCommand(file: string, o: VarCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  const h = historyFrom(o);
  const k = o.asOf ? dateIndex(h, o.asOf) : h.dates.length - 1;
  const alpha = alphaFrom(o);
  const quantile = quantileFrom(o);
  const set = scenarioSetFor(h, scenarioRequestFrom(o, k));
  const market = marketFor(o, h, k);
  requireUnderlyings(set, market);
  const doc = readDocument(file);
  const isBook = Array.isArray(doc);
  const inputs = isBook ? (doc as unknown[]) : [doc];
  if (inputs.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
  const table = new InstrumentTable(market);
  const accounts = inputs.map((a, i) => riskAccount(materialise(a, market, isBook ? `[${i}]` : ''), isBook ? `[${i}]` : ''));
  // resolve every account first so one revaluation covers the whole book's instruments
  const holdings = accounts.map((a) => resolveHoldings(table, a));
  const sv = revalueInstruments(table, set);
  const results = accounts.map((a) => accountRisk(a, table, set, { alpha, quantile, components: o.components }, sv).result);
  if (!isBook) {
    write(o.json ? JSON.stringify(results[0], null, 2) + '\n' : formatRisk(results[0]));
    return 0;
  }
  const bookPnl = new Float64Array(set.n);
  for (const hd of holdings) {
    const x = accountPnl(hd, sv);
    for (let s = 0; s < set.n; s++) bookPnl[s] += x[s];
  }
  const f = riskFigures(bookPnl, alpha, quantile);
  const book = { accounts: accounts.length, var: f.var, es: f.es, tailMean: f.tailMean, alpha, quantile, scenarios: set.n, sumOfAccountVar: results.reduce((s, r) => s + r.var, 0) };
  if (o.json) write(JSON.stringify({ book, scenarioSet: results[0].scenarioSet, accounts: results }, null, 2) + '\n');
  else write(`book of ${accounts.length} accounts: VaR ${usd(book.var)} USD, ES ${usd(book.es)} USD (sum of account VaRs ${usd(book.sumOfAccountVar)})\n\n` + results.map(formatRisk).join('\n'));
  return 0;
}
