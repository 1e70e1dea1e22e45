/**
 * `optmargin demo` (what `npm start` runs): the main job on shipped defaults. It generates the
 * sample book — 20,000 synthetic accounts (gen-book, seed 1) drawn from the shipped default
 * market (BTC and ETH smiles fitted by the project, docs/market.md) — margins it with the book
 * engine under the Deribit-style portfolio margin preset, prints the book summary, then the full
 * breakdown of one portfolio account.
 */
import { availableParallelism } from 'node:os';
import { basename, isAbsolute, relative } from 'node:path';
import type { Command } from 'commander';
import { defaultMarket, resolveMarket } from '../market/index.js';
import { generateBook } from '../io/gen-book.js';
import { createMarginEngine } from '../api/margin.js';
import { intOption, marginAccounts } from './book.js';
import { formatMarginResult } from './margin.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

export interface DemoOptions {
  accounts?: string;
  threads?: string;
  model?: string;
}

export async function runDemo(opts: DemoOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const t0 = performance.now();
  const n = opts.accounts === undefined ? 20_000 : intOption('accounts', opts.accounts, 1, 10_000_000);
  const threads = opts.threads === undefined ? Math.min(2, availableParallelism()) : intOption('threads', opts.threads, 1, 256);
  const model = opts.model ?? DEFAULT_BOOK_MODEL;
  const snapshot = defaultMarket();
  const market = resolveMarket(snapshot);
  const { accounts, info } = generateBook({ accounts: n, seed: 1, market });
  write(
    `optmargin demo: ${info.accounts.toLocaleString('en-US')} synthetic accounts (gen-book --seed 1; ` +
      `${Object.entries(info.byArchetype).map(([k, v]) => `${v} ${k}s`).join(', ')}) on the shipped default market ` +
      `(${new Date(snapshot.valuationTime as number).toISOString().slice(0, 10)}, BTC and ETH), model ${model}, ${threads} thread${threads > 1 ? 's' : ''}\n\n`,
  );
  await marginAccounts(accounts, market, threads, null, { model, threads }, t0, write);
  // One account in full: the smallest portfolio account with at least 6 positions (a readable table).
  let sample: (typeof accounts)[number] | undefined;
  for (const a of accounts) {
    if (a.mode === 'portfolio' && a.positions.length >= 6 && (!sample || a.positions.length < sample.positions.length)) sample = a;
  }
  if (sample) {
    const engine = createMarginEngine({ market, model });
    write(`\none account in full (${sample.id}, ${sample.positions.length} positions):\n`);
    write(formatMarginResult(engine.margin(sample)));
  }
  const cmd = invocation();
  write(`\nnext: ${cmd} gen-book --accounts 1000 --out book.jsonl && ${cmd} book book.jsonl --out results.csv   (see README)\n`);
}

/** How this CLI was started, as the user can type it again: `optmargin` when installed, else `node <path to cli.js>`. */
export function invocation(script = process.argv[1] ?? ''): string {
  if (basename(script) === 'optmargin') return 'optmargin';
  const rel = relative(process.cwd(), script);
  return `node ${rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : script}`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('margin the sample book on the shipped default market and print a summary (what `npm start` runs)')
    .option('--accounts <n>', 'accounts in the sample book', '20000')
    .option('--threads <n>', 'worker threads')
    .option('--model <id>', 'margin model preset', DEFAULT_BOOK_MODEL)
    .action(async (opts: DemoOptions) => {
      await runDemo(opts);
    });
}
