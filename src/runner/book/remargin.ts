/**
 * One account re-margined on the main thread after its rows changed (a trade's appended rows, an
 * in-place edit's moved rows: a liquidation): each row aggregated with the pool's own kernel (the
 * same doubles), its IM, then the account's equity and reduction. It holds what the rows of every
 * such call share — the aggregator, the risk matrix's key, each slot's weights vector — so that a
 * call allocates nothing.
 */
import { rowImInto } from '../../measures/grid/addons.js';
import type { GridMeasureParams } from '../../measures/grid/params.js';
import { reduceAccount, type ReduceArrays } from '../../measures/grid/reduce.js';
import { Aggregator } from '../../wasm/aggregate.js';
import { WasmInstance } from '../../wasm/module.js';
import type { BookAccounts } from './accounts.js';
import { accountEquity } from './equity.js';
import type { BookInstruments } from './instruments.js';
import type { ChunkRunner } from './pool.js';
import type { BookRows } from './rows.js';

export class AccountRemargin {
  /** in-process aggregator when the pool runs elsewhere */
  private own: Aggregator | null = null;
  /** the risk matrix's key (book id : version) and the version it names */
  private riskKey = '';
  private riskVersion = -1;
  /** per slot: a view of its weights in `weights` (the instruments' array they were made on) */
  private weights: Float64Array | null = null;
  private slotWeights: Float64Array[] = [];

  constructor(
    private readonly runner: ChunkRunner,
    private readonly bookId: number,
    private readonly params: GridMeasureParams,
  ) {}

  /** Aggregates rows[0, n) of account k (BookRows ids), then its equity and figures into `red`. */
  run(k: number, rows: ArrayLike<number>, n: number, ins: BookInstruments, bookRows: BookRows, accounts: BookAccounts, red: ReduceArrays): void {
    const agg = this.runner.localAggregator ?? (this.own ??= new Aggregator(new WasmInstance({ simd: this.runner.variant === 'simd' })));
    agg.setRiskArrays(ins.risk, this.keyOf(ins));
    const ns = ins.nScen;
    const c = bookRows.csr;
    for (let t = 0; t < n; t++) {
      const r = rows[t];
      const s = bookRows.rowSlot[r];
      agg.worstLossOfRows(r, r + 1, ns, c.rowStart, c.posInstr, c.posSize, this.weightsOf(ins, s), bookRows.loss, bookRows.worst, 0);
      rowImInto(this.params, bookRows.bases, bookRows.loss, ins.slotSpot[s], r, r + 1, red.rowIm);
    }
    accountEquity(accounts.equityArrays(ins), red, k);
    reduceAccount(red, this.params, k);
  }

  /** The key of the instruments' current risk matrix (a new string only when its version moves). */
  private keyOf(ins: BookInstruments): string {
    if (ins.riskVersion !== this.riskVersion) {
      this.riskVersion = ins.riskVersion;
      this.riskKey = `${this.bookId}:${ins.riskVersion}`;
    }
    return this.riskKey;
  }

  /** Slot s's weights (a view made once per weights array: a tick rewrites the values in place, a snapshot makes a new array). */
  private weightsOf(ins: BookInstruments, s: number): Float64Array {
    if (this.weights !== ins.weights) {
      this.weights = ins.weights;
      this.slotWeights = [];
    }
    const ns = ins.nScen;
    return (this.slotWeights[s] ??= ins.weights.subarray(s * ns, s * ns + ns));
  }
}
