/**
 * `optmargin stress BOOK --scenario NAME|FILE[,…] [--market FILE] [--model ID|FILE] [--json]`
 * BOOK: one account or a book in any of `optmargin book`'s formats (JSON lines, a JSON array,
 * msgpack, columnar; `-` or none: standard input), read by the book reader (io/ingest.ts); an
 * entry that does not parse or validate is reported among each scenario's errors, in its place.
 * Each account is re-margined on the shocked market of each scenario (the margin engine on the
 * base market moved by the scenario): P&L = equity after − equity before, the health after, and
 * per scenario the book P&L and the accounts that would be liquidatable or bankrupt.
 * Model: --model, default deribit-pm-2024.1 (as `optmargin book`); var-es models with --history [--as-of].
 * NAME: a shipped episode (`optmargin stress --list`), or `all`.
 */
import cliProgress from 'cli-progress';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { createMarginEngine } from '../runner/account/runner.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { Health, MarginResult } from '../measures/types.js';
import { defaultMarket, loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import { episodeNames, loadStressScenarios, shockedMarket, stressLibrary, stressScenarioSet } from '../risk/stress.js';
import { readDocument } from './io.js';
import { pinEntries } from '../liquidation/pin-entries.js';
import { ingestBookParts } from '../io/ingest.js';
import { ColumnParts } from '../instruments/column-parts.js';
import { InvalidEntry } from '../runner/book/types.js';
import { invalidResult } from '../runner/book/inputs.js';
import type { AccountInput } from '../instruments/types.js';
import { modelFrom } from './risk-args.js';
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

/** The accounts of BOOK, each validated, or its entry's error in its place. */
async function stressBook(file: string | undefined): Promise<(AccountInput | InvalidEntry)[]> {
  const { parts } = await ingestBookParts(file ?? '-', { threads: 1 });
  const book = new ColumnParts(parts);
  return Array.from({ length: book.n }, (_, k) => book.account(k) ?? new InvalidEntry(book.id(k), book.error(k)?.message ?? 'invalid account', book.error(k)));
}

export async function runStressCommand(file: string | undefined, opts: StressCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  if (opts.list) {
    const lib = stressLibrary();
    write(opts.json ? JSON.stringify(lib, null, 2) + '\n' : lib.episodes.map((e) => `${e.name}  ${e.title}\n` + Object.entries(e.moves).map(([u, m]) => `  ${u} ${(Math.expm1(m.logReturn) * 100).toFixed(2)}%  vol ×${m.volRatio.toFixed(4)}  (${m.source})`).join('\n')).join('\n') + '\n');
    return 0;
  }
  if (!opts.scenario) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--scenario NAME|FILE is required (episodes: ${episodeNames().join(', ')}, or all)`, '--scenario');
  const accounts = await stressBook(file);
  if (!accounts.length) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
  const set = stressScenarioSet(loadStressScenarios(opts.scenario, (f) => readDocument(f)));
  const base = resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
  const model = modelFor(opts, base);
  const before = createMarginEngine({ market: base, model });
  const r0 = accounts.map((a) => (a instanceof InvalidEntry ? invalidResult(a) : before.margin(a)));
  // futures without an entry price were entered at the base market's mark: pinned, so the shock shows their P&L
  const pinned = accounts.map((a, k) => (r0[k].ok ? pinEntries(before, a as AccountInput) : a));
  const bar = opts.progress !== false && process.stderr.isTTY === true && accounts.length * set.n > 2000
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'stress [{bar}] {percentage}% | {value}/{total} account-scenarios', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(accounts.length * set.n, 0);
  const out: ScenarioStress[] = [];
  for (let s = 0; s < set.n; s++) {
    const engine = createMarginEngine({ market: shockedMarket(base, set, s), model });
    const res: ScenarioStress = { scenario: set.labels![s], bookPnl: 0, liquidatable: [], bankrupt: [], accounts: [], errors: [] };
    accounts.forEach((a, k) => {
      const b = r0[k];
      const r: MarginResult = b.ok ? engine.margin(pinned[k]) : b;
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
      if ((k & 255) === 0) bar?.update(s * accounts.length + k);
    });
    out.push(res);
  }
  bar?.stop();
  const header = { scenarioSet: { id: set.id, hash: set.hash }, model: { id: model.params.id, hash: model.hash }, marketHash: before.marketHash, accounts: accounts.length };
  if (opts.json) write(JSON.stringify({ ...header, scenarios: out }, null, 2) + '\n');
  else {
    const lines = [`stress of ${accounts.length} accounts under ${model.params.id} (scenario set ${set.hash})`];
    for (const r of out) {
      lines.push('', `${r.scenario}: book P&L ${usd(r.bookPnl)} USD; liquidatable ${r.liquidatable.length}, bankrupt ${r.bankrupt.length}${r.errors.length ? `, ${r.errors.length} accounts in error` : ''}`);
      for (const a of r.accounts.slice(0, 20)) lines.push(`  ${a.id.padEnd(20)} P&L ${usd(a.pnl).padStart(16)}  equity ${usd(a.equityAfter).padStart(16)}  MM ${usd(a.maintenanceMarginAfter).padStart(14)}  ${a.healthBefore} → ${a.healthAfter}`);
      if (r.accounts.length > 20) lines.push(`  … ${r.accounts.length - 20} more (--json for all)`);
    }
    write(lines.join('\n') + '\n');
  }
  return out.some((r) => r.errors.length === accounts.length) ? 2 : 0;
}
