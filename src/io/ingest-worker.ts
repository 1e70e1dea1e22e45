/**
 * piscina worker of book ingestion (built to dist/src/io/ingest-worker.js): parses and validates
 * one chunk of the input into columns (ingest-chunk.ts). The result is structured-cloned back
 * (typed arrays copy as one memcpy each: ≈ 1 MB per 4 MB chunk of input).
 */
import { ingestChunk, type IngestResult, type IngestTask } from './ingest-chunk.js';

export default function ingest(task: IngestTask): IngestResult {
  return ingestChunk(task);
}
