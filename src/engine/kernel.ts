/**
 * The unit of parallel work of the book engine: one chunk of rows (an account's holdings on one
 * underlying) → each row's P&L vector over its underlying's scenarios (WASM, SIMD across
 * scenarios) → its worst weighted loss and scenario. The same function runs in piscina workers
 * (worker.ts) and in-process (threads = 1), so results cannot depend on the thread count.
 *
 * Every array of a task lives in a SharedArrayBuffer: posting a task shares memory, it copies
 * nothing; each chunk writes only its own rows of `outLoss` / `outIndex`.
 */
import { Aggregator } from '../wasm/aggregate.js';

export interface ChunkTask {
  /** chunk number within its batch and attempt number (0 = first try; retries count up) */
  chunk: number;
  attempt: number;
  nScen: number;
  /** CSR of the whole book: row r owns positions [rowStart[r], rowStart[r+1]) */
  rowStart: Int32Array;
  posInstr: Int32Array;
  posSize: Float64Array;
  /** risk-array matrix nInstruments × nScen (USD per unit) and its version key */
  risk: Float64Array;
  riskKey: string;
  /** [from, to, slot] triples: row ranges of one underlying slot each */
  ranges: Int32Array;
  /** scenario weights, nSlots × nScen */
  weights: Float64Array;
  /** outputs by global row index */
  outLoss: Float64Array;
  outIndex: Int32Array;
}

/** Runs one chunk; returns the number of rows computed. */
export function runChunk(agg: Aggregator, t: ChunkTask): number {
  agg.setRiskArrays(t.risk, t.riskKey);
  const ns = t.nScen;
  let rows = 0;
  for (let k = 0; k < t.ranges.length; k += 3) {
    const from = t.ranges[k];
    const to = t.ranges[k + 1];
    const slot = t.ranges[k + 2];
    agg.worstLossOfRows(from, to, ns, t.rowStart, t.posInstr, t.posSize, t.weights.subarray(slot * ns, slot * ns + ns), t.outLoss, t.outIndex, 0);
    rows += to - from;
  }
  return rows;
}
