/**
 * Aggregation (docs/architecture.md §2): an account's P&L vector per underlying is Σ size × risk array
 * of each position's instrument. This plain-TS loop has the same contract as the WASM kernel
 * `aggregateAccounts` (assembly/aggregate.ts): "sub-accounts" (here: one account's positions
 * on one underlying) own contiguous position ranges [start[a], start[a+1]). The book engine
 * (issue 5) swaps in the WASM kernel for whole books; per-account calls stay in JS where a
 * 20-position sum costs less than a crossing into WASM.
 */

/** out[a·nScen + s] = Σ_{p ∈ [start[a], start[a+1])} size[p] × values[instr[p]·nScen + s], for a < nSub. */
export function aggregateInto(
  nSub: number,
  nScen: number,
  start: Int32Array,
  instr: Int32Array,
  size: Float64Array,
  values: Float64Array,
  out: Float64Array,
): void {
  for (let a = 0; a < nSub; a++) {
    const row = a * nScen;
    out.fill(0, row, row + nScen);
    for (let p = start[a]; p < start[a + 1]; p++) {
      const q = size[p];
      const src = instr[p] * nScen;
      for (let s = 0; s < nScen; s++) out[row + s] += q * values[src + s];
    }
  }
}

/** pnl[offset + s] += size × values[instr·nScen + s] (what-if: one trade on one vector). */
export function addPositionInto(nScen: number, pnl: Float64Array, offset: number, values: Float64Array, instr: number, size: number): void {
  const src = instr * nScen;
  for (let s = 0; s < nScen; s++) pnl[offset + s] += size * values[src + s];
}

/**
 * Worst weighted loss of the vector at pnl[offset .. offset+nScen): loss_s = −weight_s × pnl_s.
 * Returns the scenario index of the first maximum (ties → lowest index); the loss is
 * −weights[i]·pnl[offset+i] (may be negative when every scenario gains).
 */
export function worstScenario(nScen: number, pnl: Float64Array, offset: number, weights: Float64Array): number {
  let worst = -Infinity;
  let at = 0;
  for (let s = 0; s < nScen; s++) {
    const loss = -(weights[s] * pnl[offset + s]);
    if (loss > worst) {
      worst = loss;
      at = s;
    }
  }
  return at;
}
