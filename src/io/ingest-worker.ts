/**
 * piscina worker of book ingestion (built to dist/src/io/ingest-worker.js): parses and validates
 * one chunk of the input into columns (ingest-chunk.ts), with the receipt the main thread checks
 * (ingest-receipt.ts), and — when the pool was made with a resolve spec (workerData.resolve:
 * the book's market snapshot and collateral rules) — resolves the chunk's accounts
 * (runner/book/chunk-resolve.ts), which the main thread merges in input order. The result is
 * structured-cloned back (typed arrays copy as one memcpy each).
 */
import { workerData } from 'node:worker_threads';
import { resolveMarket } from '../market/index.js';
import { ChunkResolver } from '../runner/book/chunk-resolve.js';
import { ingestChunk, type IngestResolveSpec, type IngestResult, type IngestTask } from './ingest-chunk.js';
import { faulted, faultResult, ingestFault, receiptOf } from './ingest-receipt.js';

// test hook (test/ingest-faults.test.ts): OPTMARGIN_INGEST_FAULT=<exit|throw|hang|start|silent|corrupt>[,chunk=<n>][,attempts=<m>|all]
if (ingestFault?.kind === 'start') throw new Error('injected fault (OPTMARGIN_INGEST_FAULT=start): the ingestion worker failed to start');

const spec = (workerData as { resolve?: IngestResolveSpec } | null)?.resolve;
/** the book's market, resolved once per worker from its snapshot (the same function as the main thread's), and the worker's resolver */
const resolver = spec ? new ChunkResolver(resolveMarket(spec.market), spec.collateral) : null;

export default function ingest(task: IngestTask & { chunk: number; attempt: number }): IngestResult {
  const f = faulted(task.chunk, task.attempt);
  if (f?.kind === 'throw') throw new Error(`injected fault (OPTMARGIN_INGEST_FAULT=throw) in chunk ${task.chunk}`);
  if (f?.kind === 'exit') process.exit(70);
  if (f?.kind === 'hang') for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  const r = ingestChunk(task);
  if (resolver) {
    r.resolved = resolver.resolve(r.columns);
    r.receipt = receiptOf(r.columns, r.resolved);
  }
  return faultResult(r, task.chunk, task.attempt);
}
