/**
 * A book file (or `-`) read into a book engine, as `optmargin book` and `optmargin simulate` read
 * it: parsed and validated on the engine pool's workers (io/ingest.ts ingestBookParts) while the
 * main thread resolves each chunk into the engine as it arrives (BookEngine.columnsLoad); the
 * chunks are kept as parsed (no concatenation), the book's inputs from then on.
 */
import { yieldToSignals } from '../io/atomic.js';
import { ingestBookParts, type IngestReport } from '../io/ingest.js';
import type { BookColumns } from '../instruments/columns.js';
import type { BookEngine, BookLoadReport } from '../runner/book/runner.js';
import type { MarginMarket } from '../market/margin-market.js';
import { InstrumentTable } from '../instruments/table.js';
import { pinColumnEntries } from '../liquidation/pin-entries.js';

export interface IngestedBook {
  parts: BookColumns[];
  report: IngestReport;
  loaded: BookLoadReport;
  /** wall ms: reading and cutting on the main thread; waiting for the parsing workers (parse + validate); resolving the chunks into the engine */
  stages: { read: number; parse: number; resolve: number };
}

/**
 * `pin`: a simulation's start market, on which futures and perpetuals without an entry price are
 * pinned as each chunk arrives (liquidation/pin-entries.ts: their P&L then follows the path);
 * the parts returned are the pinned ones.
 */
export async function ingestInto(engine: BookEngine, file: string, threads: number, onWarning: (m: string) => void, pin?: MarginMarket): Promise<IngestedBook> {
  const t0 = performance.now();
  const loader = engine.columnsLoad();
  const table = pin ? new InstrumentTable(pin) : null;
  const parts: BookColumns[] = [];
  const take = (c: BookColumns): void => {
    const p = table ? pinColumnEntries(c, table) : c;
    parts.push(p);
    loader.add(p);
  };
  // parsed on the book pool's workers (one set of workers started and warmed per run)
  const { report } = await ingestBookParts(file, { threads, onWarning, onChunk: take, onAllChunks: (cs) => loader.reserve(cs), pool: engine.sharedPool() });
  await yieldToSignals();
  const t1 = performance.now();
  const loaded = loader.finish(parts); // the chunks as parsed: no concatenation
  const stages = { read: t1 - t0 - report.parseMs - report.concatMs - report.consumeMs, parse: report.parseMs + report.concatMs, resolve: report.consumeMs + performance.now() - t1 };
  return { parts, report, loaded, stages };
}
