/**
 * The work of `optmargin simulate` (loaded on demand by cli/simulate.ts): `optmargin simulate BOOK --path PATH --model ID[,ID…] --liquidation MECH[,MECH…] [--out FILE]`: the
 * cascade simulator (docs/liquidation.md). BOOK is a book file read as `optmargin book` reads it (JSON lines, JSON array, msgpack, columnar; `-` for stdin)
 * or `gen:N[:SEED]` (a generated book on the path's first market). PATH:
 *   shocks:FILE | FILE.json                  steps of stress scenarios on --market
 *   history:FILE[,FILE…][@FROM..TO]           daily closes (+ DVOL) on --market
 *   snapshots:FILE[,FILE…] | snapshots:DIR    market snapshots / Deribit CSVs in time order
 * Several models, and several mechanisms, run side by side on the same book and path (every model
 * under every mechanism, model by model). Progress on stderr; the summary
 * table (or --json) on stdout; --out writes every step (JSON, or CSV by extension) atomically, its
 * wall-clock figures only with --timings (the same inputs give the same bytes, whatever the threads).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, OptmarginError, terminalSafe } from '../errors.js';
import { writeFileAtomic } from '../io/book-file.js';
import { ColumnParts } from '../instruments/column-parts.js';
import { generateBook } from '../io/gen-book.js';
import { parseInstrument } from '../market/instruments.js';
import { defaultMarket, loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import type { AccountInput } from '../measures/types.js';
import { historyPath, shocksPath, snapshotsPath, type SimPath } from '../liquidation/paths.js';
import { Simulation, type BookSummaryBefore, type StepReport } from '../liquidation/simulate.js';
import { BookEngine } from '../runner/book/runner.js';
import { loadMechanism } from '../liquidation/mechanism.js';
import { parseHistoryArg } from '../risk/history.js';
import { cpuOfProcess, formatShares, readInputBytes } from './io.js';
import { ingestInto } from './book-ingest.js';
import { intOption } from './book.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface SimulateCommandOptions {
  path: string;
  model?: string;
  liquidation?: string;
  market?: string;
  threads?: string;
  insuranceFund?: string;
  maxRounds?: string;
  impactTolerance?: string;
  /** share each round's plans with the engine's workers (Simulation poolPlans) */
  poolPlans?: boolean;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  /** also write each step's wall-clock figures (ms, stages) into --out */
  timings?: boolean;
}

export interface ModelRun {
  model: string;
  /** the liquidation mechanism as --liquidation names it (a preset id or a file) */
  mechanism: string;
  before: BookSummaryBefore;
  steps: StepReport[];
  totals: Record<string, number>;
}

const usd = (x: number): string => (Math.round(x) + 0).toLocaleString('en-US');

/** Files as given; a directory stands for its .csv/.json files by name. */
function expandFiles(items: string[]): string[] {
  const files: string[] = [];
  for (const it of items) {
    let isDir = false;
    try {
      isDir = statSync(it).isDirectory();
    } catch (e) {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `cannot read ${it}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (isDir) files.push(...readdirSync(it).filter((f) => /\.(csv|json)$/.test(f)).sort().map((f) => join(it, f)));
    else files.push(it);
  }
  return files;
}

/** The path named by --path (markets built on `base` for shocks and history). */
export function parsePathArg(arg: string, base: () => ReturnType<typeof resolveMarket>): SimPath {
  const m = /^(shocks|history|snapshots):(.+)$/.exec(arg);
  const kind = m ? m[1] : arg.endsWith('.json') ? 'shocks' : '';
  const body = m ? m[2] : arg;
  if (kind === 'shocks') return shocksPath(base(), JSON.parse(readInputBytes(body).toString('utf8')), body);
  if (kind === 'history') {
    const at = /^(.*)@(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(body);
    return historyPath(base(), parseHistoryArg(at ? at[1] : body), at?.[2], at?.[3]);
  }
  if (kind === 'snapshots') return snapshotsPath(expandFiles(body.split(',').map((s) => s.trim()).filter(Boolean)));
  throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--path must be shocks:FILE, history:FILES[@FROM..TO] or snapshots:FILES|DIR, got ${JSON.stringify(arg)}`);
}

/** Positions that expire before the last step cannot be valued along the path: they are dropped (a generated book only). */
function aliveThrough(accounts: AccountInput[], until: number): AccountInput[] {
  return accounts.map((a) => ({
    ...a,
    positions: a.positions.filter((p) => {
      const inst = parseInstrument(p.instrument);
      return inst.kind === 'perpetual' || inst.kind === 'spot' || inst.expiry > until;
    }),
  }));
}

/** The accounts of BOOK `gen:N[:SEED]` (generated on the path's first market); null for a file, which the first run's engine reads (ingestInto). */
function generatedBook(arg: string, path: SimPath): unknown[] | null {
  const g = /^gen:(\d+)(?::(-?\d+))?$/.exec(arg);
  if (!g) return null;
  const first = path.steps[0].market as unknown as ReturnType<typeof resolveMarket>;
  const market = path.kind === 'snapshots' ? first : null;
  const n = intOption('gen accounts', Number(g[1]), 1, 10_000_000);
  const seed = g[2] === undefined ? 1 : Number(g[2]);
  const base = market ?? resolveMarket(defaultMarket());
  const { accounts } = generateBook({ accounts: n, seed, market: base });
  return aliveThrough(accounts, path.steps[path.steps.length - 1].market.valuationTime);
}

function totalsOf(steps: StepReport[]): Record<string, number> {
  const t: Record<string, number> = { liquidated: 0, bankrupt: 0, volumeUsd: 0, fees: 0, liquidatorGain: 0, badDebt: 0, insuranceCovered: 0, socialised: 0, adlPositions: 0, adlCharged: 0, unrecovered: 0, printed: 0, marketPnl: 0, maxAbsResidual: 0 };
  for (const s of steps) {
    for (const k of Object.keys(t)) if (k in s) t[k] += (s as unknown as Record<string, number>)[k];
    t.maxAbsResidual = Math.max(t.maxAbsResidual, Math.abs(s.ledger.residual));
  }
  t.insuranceFundEnd = steps.length ? steps[steps.length - 1].insuranceFund : 0;
  return t;
}

/** The summary table: a row per run; a mechanism column when the runs have several mechanisms. */
export function formatRuns(runs: ModelRun[], path: SimPath, mechanisms: readonly string[]): string {
  const several = mechanisms.length > 1;
  const head = ['IM / notional', 'liquidated', 'volume', 'fees', 'bad debt', 'fund covered', 'socialised', 'ADL', 'unrecovered', 'fund end'];
  const rows = [several ? ['model', 'mechanism', ...head] : ['model', ...head]];
  const left = several ? 2 : 1;
  for (const r of runs) {
    const t = r.totals;
    const figures = [`${(r.before.imPerNotional * 100).toFixed(2)}%`, String(t.liquidated), usd(t.volumeUsd), usd(t.fees), usd(t.badDebt), usd(t.insuranceCovered), usd(t.socialised), `${t.adlPositions} / ${usd(t.adlCharged)}`, usd(t.unrecovered + t.printed), usd(t.insuranceFundEnd)];
    rows.push(several ? [r.model, r.mechanism, ...figures] : [r.model, ...figures]);
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((x) => x[c].length)));
  const o = [`path ${path.kind} (${path.steps.length} steps): ${path.source}`, `${several ? 'mechanisms' : 'mechanism'} ${mechanisms.join(', ')}; USD; liquidated = account liquidations summed over steps`, ''];
  for (const x of rows) o.push(x.map((c, i) => (i < left ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  return o.join('\n') + '\n';
}

/** The runs as --out writes them: without the steps' wall-clock figures unless `timings` (the same inputs give the same bytes). */
function runsOut(runs: ModelRun[], timings: boolean): ModelRun[] {
  if (timings) return runs;
  return runs.map((r) => ({ ...r, steps: r.steps.map(({ ms: _ms, stages: _stages, ...s }) => s as StepReport) }));
}

function csvOf(runs: ModelRun[], timings: boolean): string {
  const cols = ['model', 'mechanism', 'step', 'label', 'rounds', 'liquidated', 'bankrupt', 'volumeUsd', 'fees', 'liquidatorGain', 'marketPnl', 'badDebt', 'insuranceCovered', 'socialised', 'adlPositions', 'adlCharged', 'unrecovered', 'printed', 'insuranceFund', 'residual'];
  if (timings) cols.push('ms');
  const lines = [cols.join(',') + ',spot,impact'];
  for (const r of runs) {
    for (const s of r.steps) {
      const v: Record<string, unknown> = { ...s, model: r.model, mechanism: r.mechanism, residual: s.ledger.residual };
      const q = (x: unknown): string => (typeof x === 'string' && /[",\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : String(x));
      lines.push([...cols.map((c) => q(v[c])), q(JSON.stringify(s.spot)), q(JSON.stringify(s.impact))].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** One run's wall ms: its simulation's start-up (Simulation.startup: load, first margin, summary) and its steps. */
export interface RunTimings {
  model: string;
  mechanism: string;
  loadMs: number;
  recomputeMs: number;
  summaryMs: number;
  stepsMs: number;
}

/**
 * The command's stages (wall ms): read (the path's markets; the book file read and cut, or
 * generated), parse (the wait for its parsing and validating workers), then the runs' start-ups —
 * load (the file's chunks resolved into the first engine as they arrive; each later run's load of
 * the parsed book again) — and steps summed, write (--out).
 */
function commandStages(read: { read: number; parse: number }, runs: readonly RunTimings[], writeMs: number): [string, number][] {
  const sum = (f: (r: RunTimings) => number): number => runs.reduce((t, r) => t + f(r), 0);
  return [['read', read.read], ['parse', read.parse], ['load', sum((r) => r.loadMs)], ['recompute', sum((r) => r.recomputeMs)], ['summary', sum((r) => r.summaryMs)], ['steps', sum((r) => r.stepsMs)], ['write', writeMs]];
}

export async function runSimulateCommand(book: string, opts: SimulateCommandOptions, write: (s: string) => void = (s) => process.stdout.write(s), log: (s: string) => void = (s) => process.stderr.write(s)): Promise<ModelRun[]> {
  const t0 = performance.now();
  if (!opts.path) throw new OptmarginError(ErrorCodes.INVALID_OPTION, '--path is required');
  const base = () => resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
  const path = parsePathArg(opts.path, base);
  const generated = generatedBook(book, path);
  const read = { read: performance.now() - t0, parse: 0 };
  // a file's book once parsed (by the first run's engine, as it reads it): every later run loads these columns again
  let parsed: ColumnParts | null = null;
  const models = listOption('model', opts.model ?? DEFAULT_BOOK_MODEL);
  const mechanisms = listOption('liquidation', opts.liquidation ?? 'deribit-incremental');
  // every mechanism loaded before the first run: an unknown one fails at once, not after the runs before it
  for (const m of mechanisms) loadMechanism(m);
  const threads = opts.threads === undefined ? 1 : intOption('threads', Number(opts.threads), 1, 64);
  const fund = opts.insuranceFund === undefined ? undefined : Number(opts.insuranceFund);
  if (fund !== undefined && !(fund >= 0)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--insurance-fund must be a number >= 0, got ${JSON.stringify(opts.insuranceFund)}`);
  const maxRounds = opts.maxRounds === undefined ? undefined : intOption('max-rounds', Number(opts.maxRounds), 1, 100);
  const impactTolerance = opts.impactTolerance === undefined ? undefined : Number(opts.impactTolerance);
  if (impactTolerance !== undefined && !(impactTolerance >= 0)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--impact-tolerance must be a number >= 0, got ${JSON.stringify(opts.impactTolerance)}`);
  const start = path.kind === 'snapshots' ? path.steps[0].market : base();
  const runs: ModelRun[] = [];
  const timed: RunTimings[] = [];
  for (const model of models) {
    // one book engine per model: each mechanism's simulation loads the book into it again, on its pool and warm workers
    const engine = BookEngine.create({ market: start, model, threads });
    try {
      for (const mechanism of mechanisms) {
        const name = mechanisms.length > 1 ? `${model} / ${mechanism}` : model;
        let ingestMs = 0;
        const accounts = generated ?? parsed ?? undefined;
        if (accounts === undefined) {
          // the file parsed on the engine's workers and resolved into it as it is read, as `optmargin book` reads a book
          const r = await ingestInto(engine, book, threads, (m) => log(`optmargin: ${terminalSafe(m)}\n`), start);
          parsed = new ColumnParts(r.parts);
          read.read += r.stages.read;
          read.parse += r.stages.parse;
          ingestMs = r.stages.resolve;
        }
        const sim = await Simulation.create({ accounts, market: start, model: engine.model, mechanism, book: engine, insuranceFundUsd: fund, maxRounds, impactTolerance, poolPlans: opts.poolPlans === true });
        const steps: StepReport[] = [];
        const ts = performance.now();
        for (const st of path.steps) {
          const r = await sim.step(st.market, st.label, st.dailyVol);
          steps.push(r);
          if (!opts.quiet) log(`simulate ${name}: step ${r.step}/${path.steps.length} ${st.label}: ${r.liquidated} liquidated, bad debt ${usd(r.badDebt)}, fund ${usd(r.insuranceFund)} (${r.ms.toFixed(0)} ms)\n`);
        }
        timed.push({ model, mechanism, ...sim.startup, loadMs: sim.startup.loadMs + ingestMs, stepsMs: performance.now() - ts });
        runs.push({ model, mechanism, before: sim.before, steps, totals: totalsOf(steps) });
      }
    } finally {
      await engine.close();
    }
  }
  const timings = opts.timings === true;
  const head = { path: { kind: path.kind, source: path.source }, mechanism: mechanisms.join(',') };
  const tw = performance.now();
  if (opts.out) writeFileAtomic(opts.out, opts.out.endsWith('.csv') ? csvOf(runs, timings) : JSON.stringify({ ...head, runs: runsOut(runs, timings) }, null, 1) + '\n');
  const stages = commandStages(read, timed, performance.now() - tw);
  const ms = performance.now() - t0;
  // wall-clock figures differ from run to run: in the --json summary only with --timings (the same inputs give the same bytes)
  const timing = timings ? { timings: { ms, stages: Object.fromEntries(stages), runs: timed, memory: { peakRssMB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }, cpu: cpuOfProcess() } } : {};
  write(opts.json ? JSON.stringify({ ...head, runs: runs.map((r) => ({ model: r.model, mechanism: r.mechanism, before: r.before, totals: r.totals })), ...timing }, null, 2) + '\n' : formatRuns(runs, path, mechanisms));
  // the timing line on stderr for a person watching (a terminal) or on request, as `optmargin book` prints it
  if (timings || (!opts.quiet && process.stderr.isTTY === true)) log(`simulate: ${ms.toFixed(0)} ms  stages: ${formatShares(stages)}\n`);
  return runs;
}

/** A comma-separated option's items (trimmed, none empty); INVALID_OPTION when it names none. */
function listOption(name: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--${name} must name at least one, got ${JSON.stringify(value)}`);
  return items;
}
