/**
 * `optmargin resident BOOK --nats URL`: a resident book's controller on the command line
 * (docs/scale-out.md "The resident book"), for a backend in any language. Loads BOOK onto the
 * cluster's workers (`optmargin worker --nats URL`), then reads one JSON command per line on
 * standard input and writes one JSON line per answer on standard output, each health event as
 * it comes, before its command's answer:
 *
 *   {"tick": {"underlying": "BTC", "priceMove": -0.05}}      → {"event": …}… {"tick": {pos, changed, events, marketHash}}
 *   {"trade": {"account": "acc-1", "changes": [{"instrument": "BTC-PERPETUAL", "size": -2}]}} → {"trade": {result, events}}
 *   {"results": true}                                         → {"results": [every account, in book order]}
 *   {"holdings": true}                                        → {"holdings": {members, held, buckets}} (after letting joiners in)
 *
 * A command that fails answers {"error": {code, message}} and the run goes on; the run ends with
 * standard input (exit 0). The book is loaded first ({"loaded": {accounts, buckets, members}}).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InvalidEntry, parseBook } from '../io/book-file.js';
import { defaultMarket, loadMarket } from '../market/index.js';
import { intOption, readInputBytes } from './io.js';
import { DEFAULT_BOOK_MODEL } from '../measures/presets.js';

interface ResidentCliOptions {
  nats: string;
  name: string;
  market?: string;
  model?: string;
  buckets?: string;
  minMembers?: string;
  deadAfter?: string;
}

type Command_ = { tick?: unknown; trade?: { account?: unknown; changes?: unknown }; results?: unknown; holdings?: unknown };

function commandOf(line: string): Command_ {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `a command must be one JSON object per line: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'a command must be a JSON object: {"tick": …}, {"trade": …}, {"results": true} or {"holdings": true}');
  return v as Command_;
}

export function registerResidentCommand(program: Command): void {
  program
    .command('resident <book>')
    .description('load a book onto the cluster as a resident book and drive it with JSON commands on stdin: ticks, trades, results (docs/scale-out.md)')
    .requiredOption('--nats <url>', 'the broker, nats://HOST:PORT')
    .option('--name <name>', 'the resident book (workers hold it with optmargin worker --book NAME)', 'default')
    .option('--market <file>', 'market snapshot; default: the shipped market')
    .option('--model <id>', 'margin model preset or file (default deribit-pm-2024.1)')
    .option('--buckets <n>', 'buckets the accounts are hashed into (default 32)')
    .option('--min-members <n>', 'workers to wait for before loading (default 1)')
    .option('--dead-after <ms>', 'a worker silent this long has left, its buckets move (default 3000)')
    .action(async (file: string, o: ResidentCliOptions) => {
      const { ResidentBook } = await import('../cluster/resident-book.js');
      const { parseNatsUrl } = await import('../cluster/broker.js');
      parseNatsUrl(o.nats);
      const name = file === '-' ? 'standard input' : file;
      const { accounts } = parseBook(readInputBytes(file), name);
      const bad = accounts.find((a) => a instanceof InvalidEntry) as InvalidEntry | undefined;
      if (bad) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${name}: ${bad.message} (a resident book is loaded from a book that parses)`);
      const out = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + '\n');
      const book = await ResidentBook.open({ url: o.nats, book: o.name, deadAfterMs: o.deadAfter === undefined ? undefined : intOption('dead-after', o.deadAfter, 100, 3_600_000) });
      try {
        book.onEvent((event) => out({ event }));
        const buckets = o.buckets === undefined ? undefined : intOption('buckets', o.buckets, 1, 4096);
        const minMembers = o.minMembers === undefined ? 1 : intOption('min-members', o.minMembers, 1, 10_000);
        out({ loaded: await book.load({ market: o.market ? loadMarket(o.market) : defaultMarket(), model: o.model ?? DEFAULT_BOOK_MODEL, accounts, buckets, minMembers }) });
        if (file === '-') return; // the book came on standard input: no commands follow
        for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
          if (!line.trim()) continue;
          try {
            const c = commandOf(line);
            if (c.tick !== undefined) out({ tick: await book.tick(c.tick as Parameters<typeof book.tick>[0]) });
            else if (c.trade !== undefined) out({ trade: await book.trade(c.trade.account as string, c.trade.changes) });
            else if (c.results !== undefined) out({ results: await book.results() });
            else if (c.holdings !== undefined) out({ holdings: await book.sync() });
            else throw new OptmarginError(ErrorCodes.INVALID_INPUT, `unknown command ${line.slice(0, 80)}: use tick, trade, results or holdings`);
          } catch (e) {
            if (!(e instanceof OptmarginError)) throw e;
            out({ error: { code: e.code, message: e.message } });
          }
        }
      } finally {
        await book.close();
      }
    });
}
