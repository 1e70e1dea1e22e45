/**
 * `optmargin stress BOOK --scenario NAME|FILE[,…] [--market FILE] [--model ID|FILE] [--json]`
 * BOOK: one account or a book in any of `optmargin book`'s formats (JSON lines, a JSON array,
 * msgpack, columnar; `-` or none: standard input), read by the book reader (io/ingest.ts); an
 * entry that does not parse or validate is reported among each scenario's errors, in its place.
 * The book is loaded once into a book engine (`--threads`), and each scenario is a tick of it to
 * the base market moved by the scenario (its figures are the margin engine's on that market): P&L = equity after − equity before, the health after, and
 * per scenario the book P&L and the accounts that would be liquidatable or bankrupt.
 * Model: --model, default deribit-pm-2024.1 (as `optmargin book`); var-es models with --history [--as-of].
 * NAME: a shipped episode (`optmargin stress --list`), or `all`.
 */
import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { marketHashOf, type MarginMarket } from '../market/margin-market.js';
import type { Health, MarginResult } from '../measures/types.js';
import { defaultMarket, loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import { episodeNames, loadStressScenarios, shockedMarket, stressLibrary, stressScenarioSet } from '../risk/stress.js';
import type { ScenarioSet } from '../risk/scenario-set.js';
import { BookEngine } from '../runner/book/runner.js';
import { readDocument } from './io.js';
import { ingestInto } from './book-ingest.js';
import { int, modelFrom } from './risk-args.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface StressCliOptions {
  scenario?: string;
  market?: string;
  model?: string;
  json?: boolean;
  list?: boolean;
  progress?: boolean;
  history?: string;
  asOf?: string;
  threads?: string;
}

interface AccountStress {
  id: string;
  equityBefore: number;
  equityAfter: number;
  pnl: number;
  maintenanceMarginAfter: number;
  healthBefore: Health;
  healthAfter: Health;
}

interface ScenarioStress {
  scenario: string;
  bookPnl: number;
  liquidatable: string[];
  bankrupt: string[];
  accounts: AccountStress[];
  errors: { id: string; code: string; message: string }[];
}

const usd = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** The book command's default: one model for the whole book, the USD grid that every account mode and currency mix can hold (var-es: with --history). */
function modelFor(opts: StressCliOptions, market: MarginMarket) {
  return modelFrom(opts.model ?? DEFAULT_BOOK_MODEL, market, opts);
}

export async function runStressCommand(file: string | undefined, opts: StressCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  if (opts.list) {
    const lib = stressLibrary();
    write(opts.json ? JSON.stringify(lib, null, 2) + '\n' : lib.episodes.map((e) => `${e.name}  ${e.title}\n` + Object.entries(e.moves).map(([u, m]) => `  ${u} ${(Math.expm1(m.logReturn) * 100).toFixed(2)}%  vol ×${m.volRatio.toFixed(4)}  (${m.source})`).join('\n')).join('\n') + '\n');
    return 0;
  }
  if (!opts.scenario) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--scenario NAME|FILE is required (episodes: ${episodeNames().join(', ')}, or all)`, '--scenario');
  const set = stressScenarioSet(loadStressScenarios(opts.scenario, (f) => readDocument(f)));
  const base = resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
  const model = modelFor(opts, base);
  const threads = int('--threads', opts.threads, Math.min(2, availableParallelism()));
  const book = BookEngine.create({ market: base, model, threads });
  try {
    // read as `optmargin book` reads a book; futures without an entry price were entered at the base market's mark: pinned, so the shock shows their P&L
    await ingestInto(book, file ?? '-', threads, (m) => void process.stderr.write(`optmargin: ${m}\n`), base);
    if (book.n === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
    await book.recompute();
    const r0 = Array.from({ length: book.n }, (_, k) => book.result(k) as MarginResult);
    const out = await stressScenarios(book, r0, base, set, opts.progress !== false && process.stderr.isTTY === true && book.n * set.n > 2000);
    const header = { scenarioSet: { id: set.id, hash: set.hash }, model: { id: model.params.id, hash: model.hash }, marketHash: marketHashOf(base), accounts: book.n };
    write(opts.json ? JSON.stringify({ ...header, scenarios: out }, null, 2) + '\n' : stressText(out, book.n, model.params.id, set.hash));
    return out.some((r) => r.errors.length === book.n) ? 2 : 0;
  } finally {
    await book.close();
  }
}

/**
 * Each scenario in turn: the book ticked to the base market shocked by it (every underlying the
 * set moves, in one tick: the book engine's figures are the margin engine's, a tick's those of a
 * load on its market), then each account read against its figures before (`r0`).
 */
async function stressScenarios(book: BookEngine, r0: readonly MarginResult[], base: MarginMarket, set: ScenarioSet, progress: boolean): Promise<ScenarioStress[]> {
  const bar = progress ? new cliProgress.SingleBar({ stream: process.stderr, format: 'stress [{bar}] {percentage}% | {value}/{total} scenarios', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
  bar?.start(set.n, 0);
  const moved = set.underlyings.filter((u) => base.hasUnderlying(u));
  const out: ScenarioStress[] = [];
  for (let s = 0; s < set.n; s++) {
    await book.tick(moved, shockedMarket(base, set, s));
    out.push(scenarioStress(set.labels![s], r0, (k) => book.result(k) as MarginResult));
    bar?.update(s + 1);
  }
  bar?.stop();
  return out;
}

/** One scenario's report: each account's figures after (`after(k)`) against before (`r0`), in USD. */
function scenarioStress(scenario: string, r0: readonly MarginResult[], after: (k: number) => MarginResult): ScenarioStress {
  const res: ScenarioStress = { scenario, bookPnl: 0, liquidatable: [], bankrupt: [], accounts: [], errors: [] };
  r0.forEach((b, k) => {
    const r: MarginResult = b.ok ? after(k) : b;
    if (!r.ok || !b.ok) {
      const e = (r.ok ? b : r) as Extract<MarginResult, { ok: false }>;
      res.errors.push({ id: e.id, code: e.error.code, message: e.error.message });
      return;
    }
    // in USD: a coin sub-account (deribit-pm) reports its figures in the coin, with USD beside
    const ub = b.usd ?? b;
    const ur = r.usd ?? r;
    const pnl = ur.equity - ub.equity;
    res.bookPnl += pnl;
    if (r.health === 'bankrupt') res.bankrupt.push(r.id);
    else if (r.health === 'liquidatable') res.liquidatable.push(r.id);
    res.accounts.push({ id: r.id, equityBefore: ub.equity, equityAfter: ur.equity, pnl, maintenanceMarginAfter: ur.maintenanceMargin, healthBefore: b.health, healthAfter: r.health });
  });
  return res;
}

/** The text report: per scenario the book P&L and counts, then its first 20 accounts. */
function stressText(out: readonly ScenarioStress[], n: number, modelId: string, setHash: string): string {
  const lines = [`stress of ${n} accounts under ${modelId} (scenario set ${setHash})`];
  for (const r of out) {
    lines.push('', `${r.scenario}: book P&L ${usd(r.bookPnl)} USD; liquidatable ${r.liquidatable.length}, bankrupt ${r.bankrupt.length}${r.errors.length ? `, ${r.errors.length} accounts in error` : ''}`);
    for (const a of r.accounts.slice(0, 20)) lines.push(`  ${a.id.padEnd(20)} P&L ${usd(a.pnl).padStart(16)}  equity ${usd(a.equityAfter).padStart(16)}  MM ${usd(a.maintenanceMarginAfter).padStart(14)}  ${a.healthBefore} → ${a.healthAfter}`);
    if (r.accounts.length > 20) lines.push(`  … ${r.accounts.length - 20} more (--json for all)`);
  }
  return lines.join('\n') + '\n';
}
