/**
 * `optmargin market FILE [--json]`: loads a market (our JSON / msgpack snapshot, a Deribit
 * option-chain CSV or a Deribit book-summary JSON) and prints a summary: underlyings, expiries,
 * forwards, ATM vols and smile fit errors. Errors surface as OptmarginError (the CLI maps them
 * to exit code 2) — a missing or malformed file never prints a stack trace.
 */
import type { Command } from 'commander';
import { formatMarketSummary, summarizeMarket } from '../market/summary.js';
import { loadMarket, marketToJson, marketToMsgpack } from '../market/snapshot.js';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { AtomicFile } from '../io/atomic.js';

export interface MarketCommandOptions {
  json?: boolean;
  /** write the loaded snapshot in our format (.json or .msgpack by extension) */
  out?: string;
  smile?: 'spline' | 'svi';
}

/** The command's work, separate from commander so it can be called and tested directly. */
export function runMarketCommand(file: string, opts: MarketCommandOptions, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (opts.smile !== undefined && opts.smile !== 'spline' && opts.smile !== 'svi') {
    throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--smile must be "spline" or "svi", got ${JSON.stringify(opts.smile)}`);
  }
  // --out is opened (checked writable) before the work; written atomically after it
  const out = opts.out ? AtomicFile.create(opts.out) : null;
  try {
    runMarket(file, opts, write, out);
  } finally {
    out?.abort();
  }
}

function runMarket(file: string, opts: MarketCommandOptions, write: (s: string) => void, out: AtomicFile | null): void {
  const snapshot = loadMarket(file, opts.smile ? { smileModel: opts.smile } : {});
  const summary = summarizeMarket(snapshot);
  if (out) {
    out.write(out.target.endsWith('.msgpack') ? marketToMsgpack(snapshot) : marketToJson(snapshot) + '\n');
    out.commit();
  }
  write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatMarketSummary(summary) + '\n');
}

export function registerMarketCommand(program: Command): void {
  program
    .command('market')
    .description(
      'summarise a market snapshot: underlyings, expiries, forwards, ATM vols, smile fit errors. ' +
        'FILE: optmargin JSON or msgpack snapshot, Deribit option-chain CSV, or Deribit get_book_summary_by_currency JSON',
    )
    .argument('<file>', 'market file')
    .option('--json', 'print the summary as JSON')
    .option('--smile <model>', 'smile built from Deribit quotes: spline (through the marks, default) or svi')
    .option('--out <file>', 'also write the snapshot in optmargin format (.json, or .msgpack)')
    .action((file: string, opts: MarketCommandOptions) => {
      runMarketCommand(file, opts);
    });
}
