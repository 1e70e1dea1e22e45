/**
 * `optmargin book BOOK` margins every account of a book; `optmargin gen-book` writes a synthetic,
 * realistic book (docs/book.md). Results go to --out (JSON, msgpack or CSV, written atomically);
 * the summary to stdout (text, or --json); progress to stderr (only when it is a terminal).
 * Exit code 0 when the book ran, even if some accounts are invalid: they are listed with their
 * errors (and counted on stderr), and every account in has a result out. Exit 3 (partial) when
 * some accounts failed for a reason other than their input (OPTMARGIN_WORKER_FAILED,
 * OPTMARGIN_NON_FINITE), with a line on stderr. --out is opened before any work starts.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { ErrorCodes, OptmarginError, terminalSafe } from '../errors.js';
import { AtomicFile, yieldToSignals } from '../io/atomic.js';
import { defaultMarket, loadMarket, resolveMarket } from '../market/index.js';
import { BookEngine, type BookLoadReport } from '../runner/book/runner.js';
import type { ResultSink } from '../runner/book/format.js';
import { BookWriter, bookFormatOf } from '../io/book-file.js';
import { ingestBook } from '../io/ingest.js';
import { ingestInto } from './book-ingest.js';
import { ResultsStreamWriter, Summarizer } from '../io/results-stream.js';
import { generateAccounts } from '../io/gen-book.js';
import { firstIndices, formatOf, type BookAccountResult, type BookSummary, type ResultFormat, type ResultsDocument } from '../io/results.js';
import { cpuOfProcess, ExitCode, formatShares, intOption, warn } from './io.js';
import { distributedBook } from './cluster.js';
import { modelFrom } from './risk-args.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface BookCommandOptions {
  market?: string;
  model?: string;
  threads?: string | number;
  out?: string;
  json?: boolean;
  progress?: boolean;
  /** also write the wall-clock figures (ms, throughput, stage timings) into --out and the --json summary */
  timings?: boolean;
  /** where the wall-clock line goes (default: stderr when it is a terminal or --timings is given) */
  log?: (s: string) => void;
  /** a distributed run on the workers of this NATS broker (src/cluster, docs/scale-out.md) */
  nats?: string;
  shardAccounts?: string | number;
  natsTimeout?: string | number;
  /** var-es models: price history files and the as-of date */
  history?: string;
  asOf?: string;
}

export { intOption };

const usd = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function formatBookSummary(s: BookSummary, header: ResultsDocument['model'] & { marketHash: string }): string {
  const lines: string[] = [];
  const t = (x: string): string => terminalSafe(x);
  lines.push(`book: ${s.accounts} accounts${s.positions !== undefined ? ` (${s.positions} positions)` : ''}, model ${header.id} ${header.version} (${header.hash}), market ${header.marketHash}`);
  lines.push(
    `  healthy ${s.byHealth.healthy} | margin call ${s.byHealth['margin call']} | liquidatable ${s.byHealth.liquidatable} | bankrupt ${s.byHealth.bankrupt} | invalid ${s.errors}`,
  );
  const cur = Object.keys(s.byCurrency);
  const coinAccounts = cur.some((c) => c !== 'USD');
  lines.push(`  total equity ${usd(s.totalEquity)} USD, IM ${usd(s.totalInitialMargin)} USD, MM ${usd(s.totalMaintenanceMargin)} USD${coinAccounts ? ' (coin accounts at their index)' : ''}`);
  if (coinAccounts) {
    for (const c of cur) {
      const t = s.byCurrency[c];
      const f = (x: number) => (c === 'USD' || c === 'USDC' || c === 'USDT' ? usd(x) : x.toLocaleString('en-US', { maximumFractionDigits: 4 }));
      lines.push(`    ${c}: ${t.accounts} accounts, equity ${f(t.equity)} ${c}, IM ${f(t.initialMargin)} ${c}, MM ${f(t.maintenanceMargin)} ${c}`);
    }
  }
  if (s.worst.length) {
    lines.push('  worst accounts (equity − MM, USD):');
    for (const w of s.worst) lines.push(`    ${t(w.id)}  ${w.health}  equity ${usd(w.equity)}  MM ${usd(w.maintenanceMargin)}  shortfall ${usd(w.shortfall)}`);
  }
  if (s.errors) {
    lines.push(`  invalid accounts (${s.errors}):`);
    for (const e of s.invalid.slice(0, 20)) lines.push(`    ${t(e.id)}  ${e.code}  ${t(e.message)}`);
    if (s.errors > 20) lines.push(`    … ${s.errors - 20} more (all are in --out)`);
  }
  if (s.duplicates.count) {
    lines.push(`  warning: ${s.duplicates.count} accounts reuse an id already seen (each is margined and reported in input order):`);
    for (const d of s.duplicates.examples) lines.push(`    ${t(d.id)}  at inputs ${d.indices.slice(0, 5).join(', ')}${d.indices.length > 5 ? ', …' : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** The wall-clock line (stderr by default: it differs from run to run). */
export function formatTimings(ms: number, throughput: number | undefined): string {
  return `  time ${ms.toFixed(0)} ms${throughput ? `, throughput ${(throughput / 1e6).toFixed(0)}M positions×scenarios/s` : ''}\n`;
}

/** The exit code of a finished book run: 3 when some accounts failed for a reason other than their input. */
export function bookExitCode(s: BookSummary): number {
  return s.failed > 0 ? ExitCode.PARTIAL : ExitCode.OK;
}

/** stderr lines of a finished run: failures (exit 3), invalid accounts, duplicate ids. */
export function reportBookProblems(s: BookSummary): void {
  if (s.failed > 0) {
    const first = s.invalid.find((e) => e.code === ErrorCodes.WORKER_FAILED || e.code === ErrorCodes.NON_FINITE || e.code === ErrorCodes.INTERNAL);
    warn(`${s.failed} of ${s.accounts} accounts have no figures because the engine failed on them (${first ? `${first.code}, first ${first.id}: ${first.message}` : 'see the results'}); exit code 3`);
  }
  const invalid = s.errors - s.failed;
  if (invalid > 0) {
    const first = s.invalid.find((e) => e.code !== ErrorCodes.WORKER_FAILED && e.code !== ErrorCodes.NON_FINITE && e.code !== ErrorCodes.INTERNAL);
    warn(`${invalid} of ${s.accounts} accounts are invalid and have error results${first ? ` (first ${first.id}: ${first.message})` : ''}`);
  }
  if (s.duplicates.count > 0) warn(`warning: ${s.duplicates.count} accounts reuse an id already seen (first ${s.duplicates.examples[0]?.id ?? '?'}); ids are not keys: every account is reported in input order`);
}

/** Checks --out's extension and opens its temporary file (fails before any work when it cannot be written). */
export function openOut(out: string | undefined): { file: AtomicFile; format: ResultFormat } | null {
  if (out === undefined) return null;
  const format = formatOf(out);
  if (format === null) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--out must end in .json, .msgpack or .csv, got ${JSON.stringify(out)}`);
  return { file: AtomicFile.create(out), format };
}

/** Wall-clock ms of each stage of a book run (the CLI prints their shares). */
export interface BookStages {
  /** reading the input and cutting it into chunks (main thread) */
  read: number;
  /** parsing and validating (the ingestion workers; the part of it the main thread waited for) */
  parse: number;
  /** resolving accounts into rows, instruments' revaluation */
  resolve: number;
  /** aggregation, row IM, reduction (pool), single-path accounts */
  recompute: number;
  /** results built, summarized, serialized and written (streamed) */
  write: number;
}

export function formatStages(st: BookStages): string {
  return formatShares([['read', st.read], ['parse+validate', st.parse], ['resolve', st.resolve], ['recompute', st.recompute], ['write', st.write]]);
}

/** The command's work, callable from tests. Returns the summary. */
export async function runBookCommand(file: string, opts: BookCommandOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<BookSummary> {
  const threads = opts.threads === undefined ? Math.min(4, availableParallelism()) : intOption('threads', opts.threads, 1, 256);
  const out = openOut(opts.out);
  try {
    const t0 = performance.now();
    const snapshot = opts.market ? loadMarket(opts.market) : defaultMarket();
    const market = resolveMarket(snapshot);
    if (opts.nats !== undefined) {
      const { columns, report } = await ingestBook(file, { threads, onWarning: warn });
      await yieldToSignals();
      const stages = { read: performance.now() - t0 - report.parseMs - report.concatMs, parse: report.parseMs + report.concatMs };
      return await distributedBook(columns, snapshot, market, opts, stages, (o) => finishBook(o, out, opts, t0, write));
    }
    // the engine is made first: each parsed chunk is resolved as it arrives, while the ingestion
    // workers parse the next ones (the main thread's resolving overlaps their parsing)
    const engine = bookEngine(market, threads, opts);
    try {
      const ti = performance.now();
      const { loaded, stages } = await ingestInto(engine, file, threads, warn);
      stages.read += ti - t0; // the market's loading
      return await marginBook(engine, loaded, out, opts, t0, write, stages);
    } finally {
      await engine.close();
    }
  } finally {
    out?.file.abort(); // no-op after a commit
  }
}

/** The book runner of a command: the model from --model (default deribit-pm-2024.1) on `threads` threads. */
function bookEngine(market: ReturnType<typeof resolveMarket>, threads: number, opts: BookCommandOptions): BookEngine {
  return BookEngine.create({ market, model: modelFrom(opts.model ?? DEFAULT_BOOK_MODEL, market, opts), threads, onWarning: warn });
}

/** Margins parsed accounts (demo), writes --out and the summary; returns the summary. */
export async function marginAccounts(
  accounts: unknown[],
  market: ReturnType<typeof resolveMarket>,
  threads: number,
  out: { file: AtomicFile; format: ResultFormat } | null,
  opts: BookCommandOptions,
  t0: number,
  write: (s: string) => void,
): Promise<BookSummary> {
  const engine = bookEngine(market, threads, opts);
  try {
    const t1 = performance.now();
    const loaded = engine.load(accounts);
    return await marginBook(engine, loaded, out, opts, t0, write, { read: 0, parse: 0, resolve: performance.now() - t1 });
  } finally {
    await engine.close();
  }
}

/** Recomputes a loaded book, streams every result to --out and the summary to stdout. */
async function marginBook(
  engine: BookEngine,
  loaded: BookLoadReport,
  out: { file: AtomicFile; format: ResultFormat } | null,
  opts: BookCommandOptions,
  t0: number,
  write: (s: string) => void,
  before: Pick<BookStages, 'read' | 'parse' | 'resolve'>,
): Promise<BookSummary> {
  const n = engine.n;
  const showBar = opts.progress !== false && process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'margining [{bar}] {percentage}% | {value}/{total} accounts | {stage}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;
  try {
    bar?.start(n, 0, { stage: 'margin' });
    await yieldToSignals();
    const t2 = performance.now();
    const stats = await engine.recompute();
    const t3 = performance.now();
    bar?.update(n, { stage: 'done' });
    bar?.stop();
    const throughput = stats.aggregateMs > 0 ? engine.work / (stats.aggregateMs / 1000) : undefined;
    const stages = { ...before, recompute: t3 - t2 };
    const stream = (format: ResultFormat | null, sink: ResultSink): Promise<void> => engine.streamResults(format, sink, warn);
    return await finishBook({ n, resultAt: (k) => engine.result(k), stream, ids: engine.accountIds(), positions: loaded.positions, header: engine.header(), timed: { stats }, load: loaded, throughput, stages }, out, opts, t0, write);
  } finally {
    bar?.stop();
  }
}

/** What a book run hands to its ending (finishBook), local or distributed. */
export interface BookOutcome {
  n: number;
  /** account k's result, in input order */
  resultAt: (k: number) => BookAccountResult;
  /** every result in input order, formatted where the book computed them (a local book's pool: runner/book/format.ts); else resultAt is formatted here */
  stream?: (format: ResultFormat | null, sink: ResultSink) => Promise<void>;
  /** the ids in input order, when known before the results (duplicates found at once: results.ts firstIndices) */
  ids?: readonly string[];
  positions: number;
  header: ReturnType<BookEngine['header']>;
  /** the run's stats: in the --json summary with --timings */
  timed: Record<string, unknown>;
  load: object;
  throughput?: number;
  /** the stages before the ending (it adds `write`) */
  stages: Omit<BookStages, 'write'>;
}

/**
 * The end of a book run, local or distributed: one pass over the results in input order feeds
 * the summary and the --out stream (written atomically; the file carries no timing, so the same
 * inputs give the same bytes whatever the thread count or the cluster), then the summary.
 */
export async function finishBook(
  o: BookOutcome,
  out: { file: AtomicFile; format: ResultFormat } | null,
  opts: BookCommandOptions,
  t0: number,
  write: (s: string) => void,
): Promise<BookSummary> {
  const tw = performance.now();
  const { n, header, throughput } = o;
  const sum = new Summarizer(10, o.ids ? firstIndices(o.ids) : undefined);
  const writer = out ? new ResultsStreamWriter(out.format, n, header, (c) => out.file.write(c)) : null;
  const result = (r: BookAccountResult, k: number): void => {
    sum.add(r, k);
    writer?.add(r);
  };
  if (o.stream) {
    await o.stream(out?.format ?? null, {
      bytes: (p, count) => writer!.addFormatted(p, count),
      result,
      figures: (id, k, health, currency, eq, im, mm) => sum.addOk(id, k, health, currency, eq, im, mm, eq, im, mm),
    });
  } else for (let k = 0; k < n; k++) result(o.resultAt(k), k);
  const summary = sum.finish();
  if (summary.accounts !== n) throw new OptmarginError(ErrorCodes.INTERNAL, `${n} accounts in, ${summary.accounts} results out`);
  summary.positions = o.positions;
  // wall-clock figures differ from run to run: kept out of the results file and stdout (same
  // inputs → same bytes, whatever the thread count or the cluster) unless --timings asks for them
  const ms = performance.now() - t0;
  if (opts.timings) {
    summary.ms = ms;
    summary.throughput = throughput;
  }
  writer?.end(summary);
  if (out) {
    await yieldToSignals(); // an interruption that arrived during the work wins over the commit
    out.file.commit();
  }
  const stages: BookStages = { ...o.stages, write: performance.now() - tw };
  const timing = opts.timings
    ? { ...o.timed, load: o.load, stages, memory: { peakRssMB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }, cpu: cpuOfProcess() }
    : { load: { ...o.load, resolveMs: undefined, ms: undefined } };
  write(opts.json ? JSON.stringify({ ...header, summary, ...timing }, null, 2) + '\n' : formatBookSummary(summary, { ...header.model, marketHash: header.marketHash }));
  // stderr carries the timing lines only for a person watching (a terminal) or on request: scripts
  // reading stderr see problems only (the I/O contract)
  const log = opts.log ?? (opts.timings || process.stderr.isTTY === true ? (x: string) => void process.stderr.write(x) : null);
  log?.(formatTimings(ms, throughput) + `  stages: ${formatStages(stages)}\n`);
  return summary;
}

export interface GenBookCommandOptions {
  accounts: string | number;
  seed?: string | number;
  market?: string;
  out?: string;
}

/** Writes the book as a stream: constant memory for any number of accounts (--out atomically, else stdout). */
export async function runGenBookCommand(opts: GenBookCommandOptions, write: (s: Uint8Array) => void | Promise<void> = stdoutChunk): Promise<void> {
  const n = intOption('accounts', opts.accounts, 0, 10_000_000);
  const seed = opts.seed === undefined ? 1 : intOption('seed', opts.seed, -2147483648, 4294967295);
  const file = opts.out ? AtomicFile.create(opts.out) : null;
  try {
    const market = resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
    const { accounts, info } = generateAccounts({ accounts: n, seed, market }, false);
    const writer = new BookWriter(opts.out ? bookFormatOf(opts.out) : 'jsonl', n, file ? (c) => (file.write(c), yieldToSignals()) : write);
    for (const a of accounts) await writer.add(a);
    await writer.end();
    await yieldToSignals();
    file?.commit();
    process.stderr.write(
      `gen-book: ${info.accounts} accounts, ${info.positions} positions (${Object.entries(info.byArchetype).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
        `${Object.entries(info.byMode).map(([k, v]) => `${k} ${v}`).join(', ')}); options weighted by ${Object.entries(info.weighting).map(([u, w]) => `${u}: ${w}`).join(', ')}\n`,
    );
  } finally {
    file?.abort();
  }
}

/** A chunk to standard output, waiting for it to drain (pipes to a slow reader). */
function stdoutChunk(c: Uint8Array): Promise<void> | void {
  if (process.stdout.write(c)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

export function registerBookCommands(program: Command): void {
  program
    .command('book')
    .description('margin every account of a book (JSON lines, JSON array, msgpack array or stream, .ombook columnar; docs/book.md) and print a summary')
    .argument('<book>', 'book file, or - for standard input')
    .option('--market <file>', 'market snapshot (optmargin JSON/msgpack, Deribit CSV or book summary); default: the shipped market')
    .option('--model <id>', 'margin model preset id or parameter file', DEFAULT_BOOK_MODEL)
    .option('--threads <n>', 'worker threads (1 = in-process)')
    .option('--history <files>', 'var-es models: daily price histories, FILE[,FILE…] or U=FILE (docs/risk.md)')
    .option('--as-of <date>', 'var-es models: the history date the scenario sets are as of (default: the last close at or before the market time)')
    .option('--out <file>', 'write every result: .json, .msgpack or .csv')
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--timings', 'write wall-clock figures (ms, throughput) into --out, the --json summary and stderr (default: stderr only, when it is a terminal)')
    .option('--nats <url>', 'run on the workers of this NATS JetStream broker (nats://HOST:PORT; docs/scale-out.md)')
    .option('--shard-accounts <n>', 'with --nats: accounts per shard (default 500)')
    .option('--nats-timeout <s>', 'with --nats: fail when no shard result arrives for this many seconds (default 120)')
    .action(async (file: string, opts: BookCommandOptions) => {
      const summary = await runBookCommand(file, opts);
      reportBookProblems(summary);
      process.exitCode = bookExitCode(summary);
    });
  program
    .command('gen-book')
    .description('write a synthetic, realistic book drawn from a market (deterministic from --seed)')
    .requiredOption('--accounts <n>', 'number of accounts')
    .option('--seed <s>', 'seed of the generator', '1')
    .option('--market <file>', 'market snapshot; default: the shipped market')
    .option('--out <file>', 'book file (.jsonl default, .json array, .msgpack, .ombook columnar); default: JSON lines on stdout')
    .action(async (opts: GenBookCommandOptions) => {
      await runGenBookCommand(opts);
    });
}
