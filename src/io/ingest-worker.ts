/**
 * piscina worker of book ingestion (built to dist/src/io/ingest-worker.js): parses and validates
 * one chunk of the input into columns (ingest-chunk.ts). The result is structured-cloned back
 * (typed arrays copy as one memcpy each: ≈ 1 MB per 4 MB chunk of input).
 */
import { ingestChunk, type IngestResult, type IngestTask } from './ingest-chunk.js';
import { parseFault } from '../runner/book/faults.js';

// test hook (test/ingest-faults.test.ts): OPTMARGIN_INGEST_FAULT=<exit|throw|hang|start>[,chunk=<n>],
// the grammar of OPTMARGIN_FAULT (runner/book/faults.ts); the in-process retry is never faulted
const fault = parseFault(process.env.OPTMARGIN_INGEST_FAULT);
if (fault?.kind === 'start') throw new Error('injected fault (OPTMARGIN_INGEST_FAULT=start): the ingestion worker failed to start');

export default function ingest(task: IngestTask & { chunk: number }): IngestResult {
  if (fault && task.chunk === fault.chunk) {
    if (fault.kind === 'throw') throw new Error(`injected fault (OPTMARGIN_INGEST_FAULT=throw) in chunk ${task.chunk}`);
    if (fault.kind === 'exit') process.exit(70);
    if (fault.kind === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  return ingestChunk(task);
}
