/**
 * piscina worker of book ingestion (built to dist/src/io/ingest-worker.js): parses and validates
 * one chunk of the input into columns (ingest-chunk.ts), with the receipt the main thread checks
 * (ingest-receipt.ts). The columns' typed arrays are transferred back, not copied (≈ 1 MB per
 * 4 MB chunk of input); the ids and the name tables are structured-cloned.
 */
import { ingestChunk, type IngestResult, type IngestTask } from './ingest-chunk.js';
import { faulted, faultResult, ingestFault } from './ingest-receipt.js';
import { transferring } from '../platform/workers.js';

// test hook (test/ingest-faults.test.ts): OPTMARGIN_INGEST_FAULT=<exit|throw|hang|start|silent|corrupt>[,chunk=<n>][,attempts=<m>|all]
if (ingestFault?.kind === 'start') throw new Error('injected fault (OPTMARGIN_INGEST_FAULT=start): the ingestion worker failed to start');

export default function ingest(task: IngestTask & { chunk: number; attempt: number }): IngestResult {
  const f = faulted(task.chunk, task.attempt);
  if (f?.kind === 'throw') throw new Error(`injected fault (OPTMARGIN_INGEST_FAULT=throw) in chunk ${task.chunk}`);
  if (f?.kind === 'exit') process.exit(70);
  if (f?.kind === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  const r = faultResult(ingestChunk(task), task.chunk, task.attempt);
  const c = r.columns;
  return transferring(r, [c.mode, c.posStart, c.colStart, c.instr, c.size, c.entry, c.pcolStart, c.cur, c.amount, c.pcur, c.pamount].map((a) => a.buffer));
}
