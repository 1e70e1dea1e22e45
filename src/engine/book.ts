/**
 * The book engine (DESIGN.md §1): margins every account of a book against one market × one model.
 *
 *   load      validate every account once and resolve it into structure-of-arrays (CSR):
 *             rows = (account, underlying) pairs, ordered underlying-major so one underlying's
 *             rows are contiguous; each row owns its holdings (positions, the coin legs of
 *             inverse futures, coin collateral) as instrument indices + sizes.
 *   risk      the distinct instruments' risk arrays, computed once per market state by the
 *             margin engine's RiskArrays (each instrument revalued once per scenario).
 *   aggregate rows → P&L vectors → worst weighted loss: WASM (SIMD across scenarios), sharded
 *             across a piscina pool; the arrays live in SharedArrayBuffers.
 *   reduce    per row: add-ons (contingencies on net short options, offsetting futures, short
 *             option minimum); per account: combination across underlyings, minimum, MM,
 *             equity, health — the same arithmetic, in the same order, as the margin engine
 *             (src/margin/engine.ts), so both paths give the same figures.
 *
 * Accounts the scenario-grid path does not cover — isolated accounts, every account under a
 * rule-based or Lyra model, and accounts whose input the engine reports an error for — are
 * margined one by one by the margin engine itself (`MarginEngine.margin`), on the main thread
 * while the pool aggregates. Every account in gives exactly one result out, in input order.
 *
 * Incremental: `tick(underlying, market)` recomputes the risk arrays of that underlying only and
 * re-aggregates only its rows (other rows keep their worst loss); `trade(account, changes)`
 * re-margins one account.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { MarginEngine, healthOf } from '../margin/engine.js';
import { InstrumentTable, Kind } from '../margin/instrument-table.js';
import { marketHashOf, type MarginMarket } from '../margin/market-view.js';
import { loadModel } from '../margin/models.js';
import { RiskArrays } from '../margin/risk-arrays.js';
import { validateAccount, validateChanges } from '../margin/account.js';
import type { AccountInput, AccountMode, GridModel, Health, LoadedModel, MarginModel, MarginResult, PositionChange } from '../margin/types.js';
import { ChunkRunner, type ChunkRunnerOptions } from './pool.js';
import type { ChunkTask } from './kernel.js';
import { InvalidEntry } from './book-file.js';
import { type BookAccountResult, type BookRunStats, type UnderlyingWorst } from './results.js';

// ───────────────────────────── growable typed arrays ─────────────────────────────

class I32 {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}
class F64 {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, n) * 8));
}
function sharedI32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/** Path of an account. */
const enum Path {
  /** pooled scenario grid over the CSR arrays (portfolio and cross accounts under a grid model) */
  Grid = 0,
  /** one by one through MarginEngine.margin (isolated, non-grid models, invalid input, traded) */
  Single = 1,
}



export interface BookEngineOptions extends Partial<ChunkRunnerOptions> {
  market: MarginMarket;
  /** A LoadedModel, a preset id / file path, or a parameter object. */
  model: LoadedModel | MarginModel | string;
  /** Target holdings per chunk of work (default 262144, and at least 4 chunks per thread): fewer, larger tasks amortise the pool overhead. */
  chunkPositions?: number;
}

/** What a load did: how many accounts took each path. */
export interface BookLoadReport {
  accounts: number;
  gridAccounts: number;
  singleAccounts: number;
  positions: number;
  rows: number;
  holdings: number;
  instruments: number;
  scenarios: number;
  resolveMs: number;
}

/** Results that changed in an incremental update, by input index. */
export interface BookUpdate {
  /** input indices of the accounts whose result changed, ascending */
  indices: number[];
  /** their results (built on first call) */
  results: () => BookAccountResult[];
  /** latency of the update, results not materialized */
  ms: number;
  /** market: new engine + market hash; risk: instruments + risk arrays of the underlying and add-on bases;
   *  aggregate: its rows (WASM); reduce: grid accounts; single: single-path accounts holding it */
  stages: { marketMs: number; riskMs: number; aggregateMs: number; reduceMs: number; singleMs: number };
}

export class BookEngine {
  readonly model: LoadedModel;
  market: MarginMarket;
  marketHash: string;
  private readonly grid: GridModel | null;
  private readonly runner: ChunkRunner;
  private readonly chunkPositions: number;
  private static counter = 0;
  private readonly id = ++BookEngine.counter;
  private riskVersion = 0;

  /** the engine of the current market: instrument table + risk arrays (grid) and the single path */
  private engine: MarginEngine;

  // ── accounts ──
  n = 0;
  private ids: string[] = [];
  private inputs: (AccountInput | unknown)[] = [];
  private path = new Uint8Array(0);
  private modes: AccountMode[] = [];
  /** single-path results (and the underlyings each touches, for ticks) */
  private single = new Map<number, MarginResult>();
  private singleUnderlyings = new Map<number, Set<string>>();
  /** rows of each grid account, in first-appearance order (the margin engine's row order) */
  private accRowStart = new Int32Array(1);
  private accRows = new Int32Array(0);
  /** original positions (equity): instrument, size, entry price (NaN = entered at mark) */
  private accPosStart = new Int32Array(1);
  private opInstr = new Int32Array(0);
  private opSize = new Float64Array(0);
  private opEntry = new Float64Array(0);
  /** collateral lines in key order: currency index, amount */
  private accColStart = new Int32Array(1);
  private colCur = new Int32Array(0);
  private colAmount = new Float64Array(0);
  private currencies: string[] = [];
  /** per currency: haircut, coin instrument index (−1 = USD-pegged) */
  private curHaircut: number[] = [];
  private curCoin: number[] = [];

  // ── rows (CSR, shared memory) ──
  private nRows = 0;
  private rowAcc = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  private rowStart: Int32Array = new Int32Array(1);
  private posInstr: Int32Array = new Int32Array(0);
  private posSize: Float64Array = new Float64Array(0);
  /** for inverse futures' coin legs without an entry price: the original position (size = size/F moves with F); else −1 */
  private posLeg = new Int32Array(0);
  /** per slot: [first row, end row) */
  private slotRowFrom: number[] = [];
  private slotRowTo: number[] = [];
  /** add-on bases per row: short options (net, per netting rule), long futures coin, short futures coin, short option contracts */
  private rowBase = new Float64Array(0);
  private rowLoss: Float64Array = new Float64Array(0);
  private rowWorst: Int32Array = new Int32Array(0);
  private rowIm = new Float64Array(0);
  private rowFailed = new Uint8Array(0);
  /** 1 when the row holds inverse futures/perpetuals (its add-on bases move with the forward) */
  private rowMarketBase = new Uint8Array(0);

  // ── instruments (snapshot of the table, refreshed per underlying on a tick) ──
  private nInstr = 0;
  private iKind = new Uint8Array(0);
  private iInverse = new Uint8Array(0);
  private iSlot = new Int32Array(0);
  private iGroup = new Int32Array(0);
  private iForward = new Float64Array(0);
  private iUnitValue = new Float64Array(0);
  private iCs = new Float64Array(0);
  private names: string[] = [];
  private underlyings: string[] = [];
  private nScen = 0;
  private risk: Float64Array = new Float64Array(0);
  private slotSpot: number[] = [];
  private weights = new Float64Array(0);
  private scenarioLabels: string[][] = [];
  private groupCount = 0;

  // ── per-account figures ──
  private equity = new Float64Array(0);
  private collateralValue = new Float64Array(0);
  private im = new Float64Array(0);
  private mm = new Float64Array(0);
  private failedMessage = new Map<number, string>();

  /** timings of the last run */
  lastStats: BookRunStats | null = null;

  private constructor(opts: BookEngineOptions) {
    const m = opts.model;
    this.model = typeof m === 'string' ? loadModel(m) : 'params' in m && 'hash' in m ? (m as LoadedModel) : loadModel(m as MarginModel);
    this.grid = this.model.params.mechanism === 'scenario-grid' ? this.model.params : null;
    this.market = opts.market;
    this.engine = new MarginEngine({ market: opts.market, model: this.model });
    this.marketHash = this.engine.marketHash;
    this.runner = new ChunkRunner({ threads: opts.threads ?? 1, simd: opts.simd, workerFile: opts.workerFile, attempts: opts.attempts });
    const cp = opts.chunkPositions ?? 262144;
    if (!Number.isInteger(cp) || cp < 1) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `chunkPositions must be a positive integer, got ${cp}`);
    this.chunkPositions = cp;
  }

  /** A book engine; `threads` > 1 starts a worker pool (close() it when done). */
  static create(opts: BookEngineOptions): BookEngine {
    return new BookEngine(opts);
  }

  get threads(): number {
    return this.runner.threads;
  }

  async close(): Promise<void> {
    await this.runner.close();
  }

  // ───────────────────────────── load (resolve) ─────────────────────────────

  /**
   * Validates and resolves `accounts` (raw JSON values: a malformed one gets an error result,
   * it is never dropped). Replaces any previously loaded book. Results need a `recompute()`.
   */
  load(accounts: readonly unknown[], onProgress?: (done: number, total: number) => void): BookLoadReport {
    const t0 = performance.now();
    const n = accounts.length;
    this.n = n;
    this.ids = new Array(n);
    this.inputs = new Array(n);
    this.modes = new Array(n);
    this.path = new Uint8Array(n);
    this.single.clear();
    this.singleUnderlyings.clear();
    this.failedMessage.clear();
    const tb = this.engine.table;
    const grid = this.grid;
    const col = this.model.params.collateral;
    // holdings before the row layout: instrument, size, slot, leg source
    const hI = new I32();
    const hS = new F64();
    const hSlot = new I32();
    const hLeg = new I32();
    const accHold = new Int32Array(n + 1);
    const opI = new I32();
    const opS = new F64();
    const opE = new F64();
    const accPos = new Int32Array(n + 1);
    const cCur = new I32();
    const cAmt = new F64();
    const accCol = new Int32Array(n + 1);
    const curIndex = new Map<string, number>();
    this.currencies = [];
    this.curHaircut = [];
    this.curCoin = [];
    let positions = 0;
    for (let k = 0; k < n; k++) {
      if (onProgress && (k & 8191) === 0) onProgress(k, n);
      const raw = accounts[k];
      const rawId = (raw as { id?: unknown } | null)?.id;
      let id = typeof rawId === 'string' && rawId.length > 0 ? rawId : typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : `#${k}`;
      let a: AccountInput | null = null;
      if (raw instanceof InvalidEntry) id = raw.id;
      else {
        try {
          a = validateAccount(raw);
          id = a.id;
        } catch {
          a = null;
        }
      }
      this.ids[k] = id;
      this.inputs[k] = a ?? raw;
      this.modes[k] = a?.mode ?? ('?' as AccountMode);
      const marks = [hI.n, opI.n, cCur.n];
      let onGrid = a !== null && grid !== null && a.mode !== 'isolated';
      if (onGrid) {
        try {
          for (let p = 0; p < a!.positions.length; p++) {
            const pos = a!.positions[p];
            const i = tb.indexOf(pos.instrument);
            const slot = tb.underlyingOf[i];
            const gop = opI.n;
            opI.push(i);
            opS.push(pos.size);
            opE.push(pos.entryPrice ?? NaN);
            hI.push(i);
            hS.push(pos.size);
            hSlot.push(slot);
            hLeg.push(-1);
            const kind = tb.kind[i];
            if ((kind === Kind.Future || kind === Kind.Perpetual) && tb.inverse[i]) {
              const cs = tb.instruments[i]?.contractSize ?? 1;
              const ci = tb.coinIndex(tb.underlyings[slot]);
              hI.push(ci);
              hS.push((pos.size * cs) / (pos.entryPrice ?? tb.forward[i]));
              hSlot.push(tb.underlyingOf[ci]);
              hLeg.push(pos.entryPrice === undefined ? gop : -1);
            }
          }
          for (const cur of Object.keys(a!.collateral)) {
            const amount = a!.collateral[cur];
            if (amount === 0) continue;
            let c = curIndex.get(cur);
            if (c === undefined) {
              const h = col.haircuts[cur] ?? col.defaultHaircut;
              if (h === null || h === undefined) throw new Error('collateral not accepted');
              let coin = -1;
              if (!col.usdPegged.includes(cur)) {
                if (!this.engine.market.hasUnderlying(cur)) throw new Error('no market for collateral');
                coin = tb.coinIndex(cur);
              }
              c = this.currencies.length;
              this.currencies.push(cur);
              this.curHaircut.push(h);
              this.curCoin.push(coin);
              curIndex.set(cur, c);
            }
            cCur.push(c);
            cAmt.push(amount);
            const coin = this.curCoin[c];
            if (coin >= 0) {
              hI.push(coin);
              hS.push(amount > 0 ? amount * (1 - this.curHaircut[c]) : amount);
              hSlot.push(tb.underlyingOf[coin]);
              hLeg.push(-1);
            }
          }
        } catch {
          // the margin engine reports the problem in the account's result (same message as a single call)
          onGrid = false;
          hI.n = hS.n = hSlot.n = hLeg.n = marks[0];
          opI.n = opS.n = opE.n = marks[1];
          cCur.n = cAmt.n = marks[2];
        }
      }
      if (a) positions += a.positions.length;
      this.path[k] = onGrid ? Path.Grid : Path.Single;
      accHold[k + 1] = hI.n;
      accPos[k + 1] = opI.n;
      accCol[k + 1] = cCur.n;
    }
    this.snapshotInstruments();
    this.layoutRows(n, accHold, hI.a, hS.a, hSlot.a, hLeg.a);
    this.accPosStart = accPos;
    this.opInstr = opI.a.slice(0, opI.n);
    this.opSize = opS.a.slice(0, opS.n);
    this.opEntry = opE.a.slice(0, opE.n);
    this.accColStart = accCol;
    this.colCur = cCur.a.slice(0, cCur.n);
    this.colAmount = cAmt.a.slice(0, cAmt.n);
    this.equity = new Float64Array(n);
    this.collateralValue = new Float64Array(n);
    this.im = new Float64Array(n);
    this.mm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      if (this.path[k] === Path.Grid) this.computeEquity(k);
      else this.singleUnderlyings.set(k, touchedUnderlyings(this.inputs[k]));
    }
    for (let r = 0; r < this.nRows; r++) this.computeRowBase(r);
    let gridAccounts = 0;
    for (let k = 0; k < n; k++) if (this.path[k] === Path.Grid) gridAccounts++;
    return {
      accounts: n,
      gridAccounts,
      singleAccounts: n - gridAccounts,
      positions,
      rows: this.nRows,
      holdings: this.rowStart[this.nRows],
      instruments: this.nInstr,
      scenarios: this.nScen,
      resolveMs: performance.now() - t0,
    };
  }

  /** Copies what the reductions need from the instrument table and computes the risk arrays. */
  private snapshotInstruments(): void {
    const tb = this.engine.table;
    const n = tb.count;
    this.nInstr = n;
    this.iKind = tb.kind.slice(0, n);
    this.iInverse = tb.inverse.slice(0, n);
    this.iSlot = tb.underlyingOf.slice(0, n);
    this.iGroup = tb.group.slice(0, n);
    this.iForward = tb.forward.slice(0, n);
    this.iUnitValue = tb.unitValue.slice(0, n);
    this.iCs = new Float64Array(n);
    for (let i = 0; i < n; i++) this.iCs[i] = tb.instruments[i]?.contractSize ?? 1;
    this.names = tb.names.slice(0, n);
    this.underlyings = tb.underlyings.slice();
    this.groupCount = tb.groupCount;
    const nu = this.underlyings.length;
    this.slotSpot = this.underlyings.map((u) => this.engine.market.spot(u));
    if (!this.grid || !this.engine.risk) {
      this.nScen = 0;
      this.risk = new Float64Array(0);
      this.weights = new Float64Array(0);
      this.scenarioLabels = [];
      return;
    }
    const ra = this.engine.risk;
    ra.sync();
    const ns = ra.nScen;
    this.nScen = ns;
    this.risk = sharedF64(n * ns);
    this.risk.set(ra.values.subarray(0, n * ns));
    this.weights = new Float64Array(nu * ns);
    this.scenarioLabels = [];
    for (let s = 0; s < nu; s++) {
      const sc = ra.scenariosOf(s);
      this.weights.set(sc.weights, s * ns);
      this.scenarioLabels.push(sc.info.map((x) => x.label));
    }
    this.riskVersion++;
  }

  /** Rows ordered underlying-major, then by account; holdings in each row in input order. */
  private layoutRows(n: number, accHold: Int32Array, hI: Int32Array, hS: Float64Array, hSlot: Int32Array, hLeg: Int32Array): void {
    const nu = this.underlyings.length;
    const slotRows = new Int32Array(nu);
    const slotHold = new Int32Array(nu);
    // pass 1: distinct slots per account in first-appearance order
    const accRowStart = new Int32Array(n + 1);
    const accSlots = new I32();
    const seen = new Int32Array(nu).fill(-1);
    for (let k = 0; k < n; k++) {
      for (let h = accHold[k]; h < accHold[k + 1]; h++) {
        const s = hSlot[h];
        if (seen[s] !== k) {
          seen[s] = k;
          accSlots.push(s);
          slotRows[s]++;
        }
        slotHold[s]++;
      }
      accRowStart[k + 1] = accSlots.n;
    }
    const nRows = accSlots.n;
    this.nRows = nRows;
    this.slotRowFrom = new Array(nu);
    this.slotRowTo = new Array(nu);
    let r0 = 0;
    for (let s = 0; s < nu; s++) {
      this.slotRowFrom[s] = r0;
      r0 += slotRows[s];
      this.slotRowTo[s] = r0;
    }
    // pass 2: row ids, row lengths
    const cursor = this.slotRowFrom.slice();
    const accRows = new Int32Array(nRows);
    const rowAcc = new Int32Array(nRows);
    const rowSlot = new Int32Array(nRows);
    const rowLen = new Int32Array(nRows);
    const rowOfSlot = new Int32Array(nu);
    for (let k = 0; k < n; k++) {
      for (let j = accRowStart[k]; j < accRowStart[k + 1]; j++) {
        const s = accSlots.a[j];
        const r = cursor[s]++;
        accRows[j] = r;
        rowAcc[r] = k;
        rowSlot[r] = s;
      }
      for (let h = accHold[k]; h < accHold[k + 1]; h++) {
        // find the row of this holding's slot among the account's (≤ a few) rows
        const s = hSlot[h];
        for (let j = accRowStart[k]; j < accRowStart[k + 1]; j++) if (rowSlot[accRows[j]] === s) rowOfSlot[s] = accRows[j];
        rowLen[rowOfSlot[s]]++;
      }
    }
    const rowStart = sharedI32(nRows + 1);
    for (let r = 0; r < nRows; r++) rowStart[r + 1] = rowStart[r] + rowLen[r];
    const total = rowStart[nRows];
    const posInstr = sharedI32(total);
    const posSize = sharedF64(total);
    const posLeg = new Int32Array(total);
    const fill = rowStart.slice(0, nRows);
    for (let k = 0; k < n; k++) {
      for (let h = accHold[k]; h < accHold[k + 1]; h++) {
        const s = hSlot[h];
        let r = -1;
        for (let j = accRowStart[k]; j < accRowStart[k + 1] && r < 0; j++) if (rowSlot[accRows[j]] === s) r = accRows[j];
        const d = fill[r]++;
        posInstr[d] = hI[h];
        posSize[d] = hS[h];
        posLeg[d] = hLeg[h];
      }
    }
    this.accRowStart = accRowStart;
    this.accRows = accRows;
    this.rowAcc = rowAcc;
    this.rowSlot = rowSlot;
    this.rowStart = rowStart;
    this.posInstr = posInstr;
    this.posSize = posSize;
    this.posLeg = posLeg;
    this.rowBase = new Float64Array(4 * nRows);
    this.rowLoss = sharedF64(nRows);
    this.rowWorst = sharedI32(nRows);
    this.rowIm = new Float64Array(nRows);
    this.rowFailed = new Uint8Array(nRows);
    this.rowMarketBase = new Uint8Array(nRows);
    for (let r = 0; r < nRows; r++) {
      for (let p = rowStart[r]; p < rowStart[r + 1]; p++) {
        const k = this.iKind[posInstr[p]];
        if ((k === Kind.Future || k === Kind.Perpetual) && this.iInverse[posInstr[p]]) this.rowMarketBase[r] = 1;
      }
    }
  }

  /** Equity and collateral value of a grid account, summed in the margin engine's order. */
  private computeEquity(k: number): void {
    let cv = 0;
    for (let c = this.accColStart[k]; c < this.accColStart[k + 1]; c++) {
      const cur = this.colCur[c];
      const amount = this.colAmount[c];
      const coin = this.curCoin[cur];
      const price = coin < 0 ? 1 : this.slotSpot[this.iSlot[coin]];
      cv += amount > 0 ? amount * price * (1 - this.curHaircut[cur]) : amount * price;
    }
    let eq = cv;
    for (let p = this.accPosStart[k]; p < this.accPosStart[k + 1]; p++) eq += this.positionValue(this.opInstr[p], this.opSize[p], this.opEntry[p]);
    this.collateralValue[k] = cv;
    this.equity[k] = eq;
  }

  /** USD value of a position (InstrumentTable.positionValue, from the snapshot arrays). */
  private positionValue(i: number, size: number, entryOrNaN: number): number {
    const kind = this.iKind[i];
    if (kind === Kind.Future || kind === Kind.Perpetual) {
      const F = this.iForward[i];
      const entry = entryOrNaN === entryOrNaN ? entryOrNaN : F;
      const cs = this.iCs[i];
      if (this.iInverse[i]) {
        const coinHeld = (size * cs) / entry;
        return coinHeld * this.slotSpot[this.iSlot[i]] + size * this.iUnitValue[i];
      }
      return size * cs * (F - entry);
    }
    return size * this.iUnitValue[i];
  }

  private groupNet = new Float64Array(0);
  private instrNet = new Int32Array(0);
  private netIdx = new Int32Array(0);
  private netSize = new Float64Array(0);

  /** Add-on bases of a row from its net holdings (the margin engine's reduceGrid, per row). */
  private computeRowBase(r: number): void {
    const b = 4 * r;
    this.rowBase.fill(0, b, b + 4);
    if (!this.grid) return;
    const add = this.grid.addOns;
    const p0 = this.rowStart[r];
    const p1 = this.rowStart[r + 1];
    if (this.instrNet.length < this.nInstr) this.instrNet = new Int32Array(this.nInstr).fill(-1);
    if (this.netIdx.length < p1 - p0) {
      this.netIdx = new Int32Array(2 * (p1 - p0));
      this.netSize = new Float64Array(2 * (p1 - p0));
    }
    if (this.groupNet.length < this.groupCount) this.groupNet = new Float64Array(this.groupCount);
    const { instrNet, netIdx, netSize, groupNet, rowBase } = this;
    let nNet = 0;
    for (let p = p0; p < p1; p++) {
      const i = this.posInstr[p];
      if (this.iKind[i] === Kind.Coin) continue;
      let k = instrNet[i];
      if (k < 0) {
        k = nNet++;
        instrNet[i] = k;
        netIdx[k] = i;
        netSize[k] = 0;
      }
      netSize[k] += this.posSize[p];
    }
    const byGroup = add.shortOption !== undefined && add.shortOption.netting === 'expiry-strike';
    for (let k = 0; k < nNet; k++) {
      const i = netIdx[k];
      instrNet[i] = -1;
      const q = netSize[k];
      if (q === 0) continue;
      const kind = this.iKind[i];
      if (kind === Kind.Option) {
        if (q < 0) rowBase[b + 3] -= q;
        if (byGroup) groupNet[this.iGroup[i]] += q;
        else if (q < 0) rowBase[b] -= q;
      } else if (kind === Kind.Future || kind === Kind.Perpetual) {
        const coin = this.iInverse[i] ? q / this.iForward[i] : q;
        if (coin > 0) rowBase[b + 1] += coin;
        else rowBase[b + 2] -= coin;
      }
    }
    if (byGroup) {
      for (let k = 0; k < nNet; k++) {
        const i = netIdx[k];
        if (this.iKind[i] !== Kind.Option) continue;
        const g = this.iGroup[i];
        const q = groupNet[g];
        if (q < 0) rowBase[b] -= q;
        groupNet[g] = 0;
      }
    }
  }

  /** Row IM from its worst loss and add-on bases (reduceGrid's per-row arithmetic). */
  private computeRowIm(r: number): void {
    const add = this.grid!.addOns;
    const b = 4 * r;
    const S = this.slotSpot[this.rowSlot[r]];
    let rowIm = Math.max(0, this.rowLoss[r]);
    if (add.shortOption) rowIm += this.rowBase[b] * add.shortOption.fractionOfSpot * S;
    if (add.futures) {
      const base = add.futures.basis === 'gross' ? this.rowBase[b + 1] + this.rowBase[b + 2] : Math.min(this.rowBase[b + 1], this.rowBase[b + 2]);
      rowIm += base * add.futures.fraction * S;
    }
    if (add.shortOptionMinimum) rowIm = Math.max(rowIm, this.rowBase[b + 3] * add.shortOptionMinimum.fractionOfSpot * S);
    this.rowIm[r] = rowIm;
  }

  /** Account IM/MM from its rows (combination across underlyings, minimum, MM fraction). */
  private reduceAccount(k: number): void {
    const g = this.grid!;
    let sum = 0;
    let largest = 0;
    let failed = false;
    for (let j = this.accRowStart[k]; j < this.accRowStart[k + 1]; j++) {
      const r = this.accRows[j];
      if (this.rowFailed[r]) failed = true;
      const x = this.rowIm[r];
      sum += x;
      if (x > largest) largest = x;
    }
    let im = g.crossUnderlying.rule === 'sum' ? sum : sum - g.crossUnderlying.credit * (sum - largest);
    im = Math.max(im, g.minimumMarginUsd);
    this.im[k] = im;
    this.mm[k] = g.mmFraction * im;
    if (failed) this.failedMessage.set(k, this.failedMessage.get(k) ?? 'worker failed');
    else this.failedMessage.delete(k);
  }

  // ───────────────────────────── compute ─────────────────────────────

  /** Chunks over row ranges [from, to) of the given slots, split at about chunkPositions holdings. */
  private chunks(slots: number[]): { tasks: ChunkTask[]; rows: number[][] } {
    const total = slots.reduce((acc, s) => acc + this.rowStart[this.slotRowTo[s]] - this.rowStart[this.slotRowFrom[s]], 0);
    const target = Math.max(1024, Math.min(this.chunkPositions, Math.ceil(total / (4 * this.runner.threads))));
    const tasks: ChunkTask[] = [];
    const rows: number[][] = [];
    const base = {
      attempt: 0,
      nScen: this.nScen,
      rowStart: this.rowStart,
      posInstr: this.posInstr,
      posSize: this.posSize,
      risk: this.risk,
      riskKey: `${this.id}:${this.riskVersion}`,
      weights: this.weights,
      outLoss: this.rowLoss,
      outIndex: this.rowWorst,
    };
    for (const s of slots) {
      let from = this.slotRowFrom[s];
      const end = this.slotRowTo[s];
      while (from < end) {
        let to = from + 1;
        const startPos = this.rowStart[from];
        while (to < end && this.rowStart[to + 1] - startPos <= target) to++;
        tasks.push({ ...base, chunk: tasks.length, ranges: Int32Array.of(from, to, s) });
        rows.push([from, to]);
        from = to;
      }
    }
    return { tasks, rows };
  }

  private async aggregateSlots(slots: number[]): Promise<{ retried: number; failedChunks: number }> {
    if (!this.grid || this.nRows === 0) return { retried: 0, failedChunks: 0 };
    const { tasks, rows } = this.chunks(slots);
    for (const s of slots) this.rowFailed.fill(0, this.slotRowFrom[s], this.slotRowTo[s]);
    const out = await this.runner.run(tasks);
    for (const f of out.failed) {
      const [from, to] = rows[f.chunk];
      this.rowFailed.fill(1, from, to);
      for (let r = from; r < to; r++) this.failedMessage.set(this.rowAcc[r], f.message);
    }
    for (const s of slots) for (let r = this.slotRowFrom[s]; r < this.slotRowTo[s]; r++) this.computeRowIm(r);
    return { retried: out.retried, failedChunks: out.failed.length };
  }

  /**
   * Margins every account from the resolved inputs: the grid rows first (pool or in-process),
   * then the single-path accounts on this thread (timed separately: `singleMs`).
   */
  async recompute(): Promise<BookRunStats> {
    const t0 = performance.now();
    const slots = this.underlyings.map((_, s) => s);
    const agg = await this.aggregateSlots(slots);
    const t1 = performance.now();
    if (this.grid) for (let k = 0; k < this.n; k++) if (this.path[k] === Path.Grid) this.reduceAccount(k);
    const t2 = performance.now();
    let singleCount = 0;
    for (let k = 0; k < this.n; k++) {
      if (this.path[k] !== Path.Single) continue;
      this.single.set(k, this.marginSingle(k, this.engine));
      singleCount++;
    }
    const t3 = performance.now();
    this.lastStats = {
      totalMs: t3 - t0,
      gridMs: t2 - t0,
      aggregateMs: t1 - t0,
      reduceMs: t2 - t1,
      singleMs: t3 - t2,
      singleAccounts: singleCount,
      threads: this.runner.threads,
      variant: this.runner.variant,
      rows: this.nRows,
      holdings: this.rowStart[this.nRows],
      scenarios: this.nScen,
      retriedChunks: agg.retried,
      failedChunks: agg.failedChunks,
    };
    return this.lastStats;
  }

  // ───────────────────────────── incremental ─────────────────────────────

  /**
   * The market moved for one underlying (marks and/or vols): `market` is the new market, of
   * which only `underlying` is re-read. Recomputes that underlying's instruments and risk arrays,
   * re-aggregates only the rows on it, and re-margins the accounts holding it. Returns the
   * changed accounts' results.
   */
  async tick(underlying: string, market: MarginMarket): Promise<BookUpdate> {
    const t0 = performance.now();
    if (!market.hasUnderlying(underlying)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the new market has no underlying ${JSON.stringify(underlying)}`);
    }
    const engine = new MarginEngine({ market, model: this.model });
    this.market = market;
    this.engine = engine;
    this.marketHash = engine.marketHash;
    const changed: number[] = [];
    const slot = this.underlyings.indexOf(underlying);
    const t1 = performance.now();
    let t2 = t1;
    let t3 = t1;
    if (slot >= 0) {
      this.refreshUnderlying(slot, market);
      for (let r = this.slotRowFrom[slot]; r < this.slotRowTo[slot]; r++) {
        // inverse futures entered at mark hold size/F coin: F moved
        for (let p = this.rowStart[r]; p < this.rowStart[r + 1]; p++) {
          const op = this.posLeg[p];
          if (op >= 0) {
            const i = this.opInstr[op];
            this.posSize[p] = (this.opSize[op] * this.iCs[i]) / this.iForward[i];
          }
        }
        // only inverse futures' coin sizes (size/F) depend on the market among the add-on bases
        if (this.rowMarketBase[r]) this.computeRowBase(r);
      }
      t2 = performance.now();
      await this.aggregateSlots([slot]);
      t3 = performance.now();
      for (let r = this.slotRowFrom[slot]; r < this.slotRowTo[slot]; r++) {
        const k = this.rowAcc[r];
        if (this.path[k] !== Path.Grid) continue;
        this.computeEquity(k);
        this.reduceAccount(k);
        changed.push(k);
      }
    }
    const t4 = performance.now();
    for (const [k, us] of this.singleUnderlyings) {
      const prev = this.single.get(k);
      if (us.has(underlying) || (prev !== undefined && !prev.ok)) {
        this.single.set(k, this.marginSingle(k, engine));
        changed.push(k);
      }
    }
    changed.sort((a, b) => a - b);
    const t5 = performance.now();
    let cache: BookAccountResult[] | null = null;
    return {
      indices: changed,
      results: () => (cache ??= changed.map((k) => this.result(k))),
      ms: t5 - t0,
      stages: { marketMs: t1 - t0, riskMs: t2 - t1, aggregateMs: t3 - t2, reduceMs: t4 - t3, singleMs: t5 - t4 },
    };
  }

  private marginSingle(k: number, engine: MarginEngine): MarginResult {
    const input = this.inputs[k];
    if (input instanceof InvalidEntry) return { id: input.id, ok: false, error: { code: ErrorCodes.INVALID_INPUT, message: input.message } };
    return engine.margin(input);
  }

  /** Re-reads one underlying from the market: its instruments' marks and its risk arrays. */
  private refreshUnderlying(slot: number, market: MarginMarket): void {
    const u = this.underlyings[slot];
    const sub = new InstrumentTable(market);
    const map: number[] = [];
    for (let i = 0; i < this.nInstr; i++) {
      if (this.iSlot[i] !== slot) continue;
      const name = this.names[i];
      const j = this.iKind[i] === Kind.Coin ? sub.coinIndex(u) : sub.indexOf(name);
      map[j] = i;
    }
    for (let j = 0; j < sub.count; j++) {
      const i = map[j];
      this.iForward[i] = sub.forward[j];
      this.iUnitValue[i] = sub.unitValue[j];
    }
    this.slotSpot[slot] = market.spot(u);
    if (this.grid) {
      const ra = new RiskArrays(sub, this.grid);
      ra.sync();
      const ns = this.nScen;
      // the matrix is shared with workers: a fresh buffer per version keeps running chunks consistent
      const next = sharedF64(this.nInstr * ns);
      next.set(this.risk);
      for (let j = 0; j < sub.count; j++) next.set(ra.values.subarray(j * ns, j * ns + ns), map[j] * ns);
      this.risk = next;
      const sc = ra.scenariosOf(0);
      this.weights.set(sc.weights, slot * ns);
      this.scenarioLabels[slot] = sc.info.map((x) => x.label);
      this.riskVersion++;
    }
  }

  /**
   * Adds `changes` (trades at mark unless entryPrice is given) to one account (input index or
   * id) and returns its new margin. The account is re-margined by the margin engine; from then
   * on it is on the single-account path (reload the book to fold it back into the grid arrays).
   */
  trade(account: number | string, changesIn: PositionChange[] | unknown): { index: number; result: BookAccountResult; ms: number } {
    const t0 = performance.now();
    const k = typeof account === 'number' ? account : this.ids.indexOf(account);
    if (!Number.isInteger(k) || k < 0 || k >= this.n) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${JSON.stringify(account)} is not in the book`);
    }
    const changes = validateChanges(changesIn);
    const prev = this.inputs[k];
    let a: AccountInput;
    try {
      a = validateAccount(prev);
    } catch (e) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${this.ids[k]} is invalid, it cannot trade: ${(e as Error).message}`);
    }
    const next: AccountInput = {
      ...a,
      positions: [...a.positions, ...changes.filter((c) => c.size !== 0).map((c) => (c.entryPrice === undefined ? { instrument: c.instrument, size: c.size } : { ...c }))],
    };
    const r = this.engine.margin(next);
    if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
    this.inputs[k] = next;
    this.path[k] = Path.Single;
    this.single.set(k, r);
    this.singleUnderlyings.set(k, touchedUnderlyings(next));
    return { index: k, result: this.result(k), ms: performance.now() - t0 };
  }

  // ───────────────────────────── results ─────────────────────────────

  /** The result of account k (input order). */
  result(k: number): BookAccountResult {
    const id = this.ids[k];
    if (this.path[k] === Path.Single) {
      const r = this.single.get(k);
      if (!r) return { id, ok: false, error: { code: ErrorCodes.INVALID_OPTION, message: 'not computed yet: call recompute()' } };
      const out = fromMarginResult(r);
      out.id = id; // the book's id for inputs without one (#index), as everywhere else
      return out;
    }
    const failed = this.failedMessage.get(k);
    if (failed !== undefined) {
      return { id, ok: false, error: { code: ErrorCodes.WORKER_FAILED, message: `the worker computing this account failed twice: ${failed}` } };
    }
    const equity = this.equity[k];
    const im = this.im[k];
    const mm = this.mm[k];
    const underlyings: UnderlyingWorst[] = [];
    for (let j = this.accRowStart[k]; j < this.accRowStart[k + 1]; j++) {
      const r = this.accRows[j];
      const s = this.rowSlot[r];
      underlyings.push({
        underlying: this.underlyings[s],
        worstScenario: this.scenarioLabels[s][this.rowWorst[r]] ?? '',
        worstLoss: Math.max(0, this.rowLoss[r]),
        initialMargin: this.rowIm[r],
      });
    }
    const mode = this.modes[k];
    return {
      id,
      ok: true,
      mode,
      modeApplied: mode === 'cross' ? 'cross' : 'portfolio',
      equity,
      initialMargin: im,
      maintenanceMargin: mm,
      marginRatio: equity > 0 ? mm / equity : null,
      availableFunds: equity - im,
      health: healthOf(equity, im, mm),
      collateralValue: this.collateralValue[k],
      underlyings,
    };
  }

  results(): BookAccountResult[] {
    const out = new Array<BookAccountResult>(this.n);
    for (let k = 0; k < this.n; k++) out[k] = this.result(k);
    return out;
  }

  /** Account ids in input order. */
  accountIds(): readonly string[] {
    return this.ids;
  }

  /** Number of positions × scenarios aggregated per full recompute (the grid path's work). */
  get work(): number {
    return this.rowStart[this.nRows] * this.nScen;
  }

  /** model / market header every serialized result set carries. */
  header(): { model: { id: string; version: string; hash: string; mechanism: string }; marketHash: string; valuationTime: number } {
    const p = this.model.params;
    return {
      model: { id: p.id, version: p.version, hash: this.model.hash, mechanism: p.mechanism },
      marketHash: this.marketHash,
      valuationTime: this.market.valuationTime,
    };
  }
}

/** Underlyings an account's result depends on (positions and non-USD collateral), best effort for invalid input. */
function touchedUnderlyings(input: unknown): Set<string> {
  const out = new Set<string>();
  const a = input as Partial<AccountInput> | null;
  if (!a || typeof a !== 'object') return out;
  if (Array.isArray(a.positions)) {
    for (const p of a.positions) {
      const name = (p as { instrument?: unknown })?.instrument;
      if (typeof name === 'string') out.add(name.split(/[-_]/)[0]);
      const own = (p as { collateral?: unknown })?.collateral;
      if (own && typeof own === 'object') for (const c of Object.keys(own)) out.add(c);
    }
  }
  if (a.collateral && typeof a.collateral === 'object') for (const c of Object.keys(a.collateral)) out.add(c);
  return out;
}

/** The book's compact view of a margin engine result. */
export function fromMarginResult(r: MarginResult): BookAccountResult {
  if (!r.ok) return { id: r.id, ok: false, error: r.error };
  const out: BookAccountResult = {
    id: r.id,
    ok: true,
    mode: r.mode,
    modeApplied: r.modeApplied,
    equity: r.equity,
    initialMargin: r.initialMargin,
    maintenanceMargin: r.maintenanceMargin,
    marginRatio: r.marginRatio,
    availableFunds: r.availableFunds,
    health: r.health,
    collateralValue: r.collateralValue,
    underlyings: [],
  };
  if (r.grid && r.modeApplied !== 'isolated') {
    out.underlyings = r.grid.map((g) => ({ underlying: g.underlying, worstScenario: g.worstScenario.label, worstLoss: g.worstLoss, initialMargin: g.initialMargin }));
  }
  return out;
}


