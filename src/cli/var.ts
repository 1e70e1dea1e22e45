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
import { riskFigures } from '../measures/quantiles.js';
import { accountPnl, resolveHoldings } from '../scenarios/holdings.js';
import { revalueInstruments } from '../risk/revalue.js';
import { accountRisk, marketFromHistory, requireUnderlyings, scenarioSetFor, type AccountRisk } from '../risk/var.js';
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import type { AccountInput } from '../measures/types.js';
import type { ScenarioSet } from '../risk/scenario-set.js';
import { TailRunner, figuresFromTails, firstRiskError, nettedBook, riskAccountsOf, riskCsrOf, tailLength } from '../risk/book-var.js';
import { strikeSpec } from '../risk/rolling.js';
import { ingestBookParts } from '../io/ingest.js';
import { ColumnParts } from '../instruments/column-parts.js';
import type { QuantileConvention } from '../measures/quantiles.js';
import { alphaFrom, historyFrom, int, quantileFrom, scenarioRequestFrom, type RiskCliOptions } from './risk-args.js';
import type { MarginMarket } from '../market/margin-market.js';

export interface VarCliOptions extends RiskCliOptions {
  components?: boolean;
  threads?: string;
  timings?: boolean;
  /** run on a NATS JetStream cluster (docs/scale-out.md), with its shard size, stall timeout and book path on the workers */
  nats?: string;
  shardAccounts?: string;
  natsTimeout?: string;
  natsBook?: string;
  natsInline?: boolean;
  scenarioBlocks?: string;
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

/** The run's market and its underlyings (what a book's `atm` positions may be struck on). */
function marketFor(o: VarCliOptions, h: History, k: number): { market: MarginMarket; underlyings: readonly string[] } {
  if (!o.market) return { market: marketFromHistory(h, k, o.lambda === undefined ? 0.94 : Number(o.lambda)), underlyings: h.underlyings };
  const market = resolveMarket(loadMarket(o.market));
  return { market, underlyings: market.underlyings };
}

export async function runVarCommand(file: string, o: VarCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const started = performance.now();
  const h = historyFrom(o);
  const k = o.asOf ? dateIndex(h, o.asOf) : h.dates.length - 1;
  const alpha = alphaFrom(o);
  const quantile = quantileFrom(o);
  const set = scenarioSetFor(h, scenarioRequestFrom(o, k));
  const { market, underlyings } = marketFor(o, h, k);
  requireUnderlyings(set, market);
  if (o.nats !== undefined) return (await import('./cluster.js')).distributedVar(file, { set, market, alpha, quantile }, o, (r) => writeBookVar(r, set, alpha, quantile, o.json, write), started);
  const threads = int('--threads', o.threads, Math.min(2, availableParallelism()));
  const history = performance.now() - started;
  // the tail runner's workers, started when first needed: to parse a book's chunks (a JSON document is parsed here) or for the tails
  let runner: TailRunner | null = null;
  const tails = (): TailRunner => (runner ??= new TailRunner(threads));
  const pool: PromiseLike<Piscina | null> = { then: (ok, fail) => tails().sharedPool().then(ok, fail) };
  try {
    // one account (a JSON object), or a book: a JSON array, JSON lines, msgpack or columnar (the book command's parallel reader), read as risk inputs
    const { parts, report } = await ingestBookParts(file, { threads, pool, strike: strikeSpec(market, underlyings) });
    const book = new ColumnParts(parts);
    if (book.n === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
    const isBook = report.jsonArray || book.n !== 1;
    if (isBook && !o.components) {
      firstRiskError(book);
      return await bookVar(book, new InstrumentTable(market), set, alpha, quantile, o, write, { started, history }, tails());
    }
    write(componentsVar(riskAccountsOf(book), isBook, market, set, alpha, quantile, o));
    return 0;
  } finally {
    await (runner as TailRunner | null)?.close();
  }
}

/** One account's VaR and ES with their figures, or a book's with every account's (--components): the one-account path, account by account. */
function componentsVar(accounts: AccountInput[], isBook: boolean, market: MarginMarket, set: ScenarioSet, alpha: number, quantile: QuantileConvention, o: VarCliOptions): string {
  const table = new InstrumentTable(market);
  // resolve every account first so one revaluation covers the whole book's instruments
  const holdings = accounts.map((a) => resolveHoldings(table, a));
  const sv = revalueInstruments(table, set);
  const results = accounts.map((a) => accountRisk(a, table, set, { alpha, quantile, components: o.components }, sv).result);
  if (!isBook) return o.json ? JSON.stringify(results[0], null, 2) + '\n' : formatRisk(results[0]);
  const bookPnl = new Float64Array(set.n);
  for (const hd of holdings) {
    const x = accountPnl(hd, sv);
    for (let s = 0; s < set.n; s++) bookPnl[s] += x[s];
  }
  const f = riskFigures(bookPnl, alpha, quantile);
  const book = { accounts: accounts.length, var: f.var, es: f.es, tailMean: f.tailMean, alpha, quantile, scenarios: set.n, sumOfAccountVar: results.reduce((s, r) => s + r.var, 0) };
  if (o.json) return JSON.stringify({ book, scenarioSet: results[0].scenarioSet, accounts: results }, null, 2) + '\n';
  return `book of ${accounts.length} accounts: VaR ${usd(book.var)} USD, ES ${usd(book.es)} USD (sum of account VaRs ${usd(book.sumOfAccountVar)})\n\n` + results.map(formatRisk).join('\n');
}

/** A book's VaR run, local or distributed: every account's figures in book order and the book's. */
export interface BookVarOutcome {
  ids: string[];
  value: Float64Array;
  var: Float64Array;
  es: Float64Array;
  book: { var: number; es: number };
}

/** The output of a book VaR run (the one writer of both the local and the --nats run). */
export function writeBookVar(r: BookVarOutcome, set: ScenarioSet, alpha: number, quantile: QuantileConvention, json: boolean | undefined, write: (s: string) => void): void {
  const n = r.ids.length;
  let sum = 0;
  for (let a = 0; a < n; a++) sum += r.var[a];
  const book = { accounts: n, var: r.book.var, es: r.book.es, alpha, quantile, scenarios: set.n, sumOfAccountVar: sum };
  if (json) {
    const rows = r.ids.map((id, k) => ({ id, currency: 'USD', value: r.value[k], var: r.var[k], es: r.es[k] }));
    write(JSON.stringify({ book, scenarioSet: { id: set.id, hash: set.hash, kind: set.kind, params: set.params }, accounts: rows }) + '\n');
  } else write(`book of ${n} accounts: VaR ${usd(book.var)} USD, ES ${usd(book.es)} USD (sum of account VaRs ${usd(sum)}); --json for every account\n`);
}

/**
 * A book without --components: the vectorized path — one CSR, one revaluation, the WASM tail
 * kernel per account and for the whole book (netted by instrument: one row) on --threads workers.
 * Stage timings go to stderr with --timings (stdout stays byte-identical run to run).
 */
async function bookVar(book: ColumnParts, table: InstrumentTable, set: ScenarioSet, alpha: number, quantile: QuantileConvention, o: VarCliOptions, write: (s: string) => void, clock: { started: number; history: number }, run: TailRunner): Promise<number> {
  const { started, history } = clock;
  // history: the price history, scenario set and market; read: the book file read, parsed and validated (on the runner's workers)
  const t: Record<string, number> = { history, read: performance.now() - started - history };
  const stage = <T>(name: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    t[name] = performance.now() - t0;
    return r;
  };
  const csr = stage('resolve', () => riskCsrOf(table, book));
  const sv = stage('revalue', () => revalueInstruments(table, set));
  const m = tailLength(set.n, alpha);
  const t0 = performance.now();
  const tails = await run.tails(csr, sv.values, set.n, m);
  const total = csr.accStart[book.n];
  const bookTail = await run.tails(nettedBook(csr), sv.values, set.n, m, 1);
  t.tails = performance.now() - t0;
  const f = stage('figures', () => figuresFromTails(tails, book.n, set.n, alpha, quantile));
  const b = figuresFromTails(bookTail, 1, set.n, alpha, quantile);
  const outcome: BookVarOutcome = { ids: csr.ids, value: csr.value, var: f.var, es: f.es, book: { var: b.var[0], es: b.es[0] } };
  t.total = performance.now() - started;
  if (o.timings) process.stderr.write(`optmargin var: ${book.n} accounts, ${total} holdings, ${table.count} instruments × ${set.n} scenarios, ${run.threads} thread(s): ` + Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ') + '\n');
  writeBookVar(outcome, set, alpha, quantile, o.json, write);
  return 0;
}
