/**
 * The book engine (DESIGN.md §1): margins every account of a book against one market × one model.
 *
 *   load      validate every account once and resolve it into structure-of-arrays (CSR). The
 *             unit that owns holdings is the *sub-account*: a portfolio or cross account is one;
 *             an isolated account is one per position (the position with its own collateral),
 *             plus its account-level collateral, which only counts in its equity. Rows =
 *             (sub-account, underlying) pairs, ordered underlying-major so one underlying's rows
 *             are contiguous; each row owns its holdings (positions, the coin legs of inverse
 *             futures, coin collateral) as instrument indices + sizes.
 *   risk      the distinct instruments' risk arrays, computed once per market state by the
 *             margin engine's RiskArrays (each instrument revalued once per scenario).
 *   aggregate rows → P&L vectors → worst weighted loss → row IM (worst loss + add-ons): WASM (SIMD
 *             across scenarios), sharded across a piscina pool; the CSR lives in
 *             SharedArrayBuffers and is copied into each worker's WASM memory once per load.
 *   reduce    per sub-account: combination across underlyings, minimum; per account: equity, IM,
 *             MM, available funds, health (isolated: summed over its positions, as the margin
 *             engine does) — sharded by account ranges on the same pool. The same arithmetic, in
 *             the same order, as the margin engine (src/margin/engine.ts), so both paths give
 *             the same doubles (kernel.ts).
 *
 * Accounts the scenario-grid path does not cover — every account under a rule-based or Lyra
 * model, and accounts whose input the engine reports an error for — are margined one by one by
 * the margin engine itself (`MarginEngine.margin`, the "single path"). Every account in gives
 * exactly one result out, in input order.
 *
 * Incremental: `tick(underlying, market)` recomputes the risk arrays of that underlying only,
 * re-aggregates only its rows (other rows keep their IM) and re-reduces only the accounts holding
 * it; `trade(account, changes)` appends the account's new rows at the end of the CSR (its old rows
 * become dead), aggregates them in-process and re-reduces that account: it stays vectorized.
 */
import { finiteOrError } from '../../measures/finite.js';
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { MarginEngine } from '../account/runner.js';
import { InstrumentTable, Kind } from '../../instruments/table.js';
import { marketHashOf, type MarginMarket } from '../../market/margin-market.js';
import { loadModel } from '../../measures/models.js';
import { RiskArrays } from '../../scenarios/revaluation.js';
import { validateAccount, validateChanges } from '../../instruments/account.js';
import type { AccountInput, AccountMode, GridModel, LoadedModel, MarginModel, MarginResult, PositionChange } from '../../measures/types.js';
import { Aggregator } from '../../wasm/aggregate.js';
import { WasmInstance } from '../../wasm/module.js';
import { ChunkRunner, type ChunkRunnerOptions } from './pool.js';
import { AccKind, reduceAccount, rowImInto, type AddOnParams, type AggregateTask, type BookCsr, type CombineParams, type ReduceArrays, type ReduceTask } from './tasks.js';
import { InvalidEntry } from '../../io/book-file.js';
import { HEALTHS, type BookAccountResult, type BookRunStats, type UnderlyingWorst } from '../../io/results.js';

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

type Typed = Int32Array | Float64Array | Uint8Array;
function shared<T extends Typed>(C: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number): T {
  return new C(new SharedArrayBuffer(Math.max(1, n) * C.BYTES_PER_ELEMENT));
}
const sharedF64 = (n: number) => shared(Float64Array, n);
const sharedI32 = (n: number) => shared(Int32Array, n);
const sharedU8 = (n: number) => shared(Uint8Array, n);
/** `a` with room for n elements: a larger SharedArrayBuffer (contents copied, ~1/8 headroom) when needed. */
function growShared<T extends Typed>(a: T, n: number): T {
  if (n <= a.length) return a;
  const C = a.constructor as { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const b = shared(C, Math.max(n, Math.ceil(a.length * 1.125) + 1024));
  b.set(a as never);
  return b;
}
function growPlain<T extends Typed>(a: T, n: number): T {
  if (n <= a.length) return a;
  const C = a.constructor as { new (n: number): T };
  const b = new C(Math.max(n, 2 * a.length));
  b.set(a as never);
  return b;
}

/** Path of an account. */
const enum Path {
  /** vectorized: rows of the CSR, pooled aggregation and reduction (grid models) */
  Grid = 0,
  /** one by one through MarginEngine.margin (non-grid models, input the engine rejects) */
  Single = 1,
}

/** Holdings of sub-accounts being resolved (before their rows are laid out). */
class Holdings {
  instr = new I32();
  size = new F64();
  slot = new I32();
  /** original position of an inverse future's coin leg entered at mark (its size follows F), else −1 */
  leg = new I32();
  /** sub-account l owns holdings [end[l−1], end[l]) (end[−1] = 0) */
  end = new I32();
  push(i: number, q: number, slot: number, leg: number): void {
    this.instr.push(i);
    this.size.push(q);
    this.slot.push(slot);
    this.leg.push(leg);
  }
  truncate(nHold: number, nSubs: number): void {
    this.instr.n = this.size.n = this.slot.n = this.leg.n = nHold;
    this.end.n = nSubs;
  }
}

/** Where an account's resolved data sits. */
interface ResolvedAccount {
  kind: AccKind;
  subFrom: number;
  subTo: number;
  colFrom: number;
  colTo: number;
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
  /** of the grid accounts, the isolated ones (one sub-account per position) */
  isolatedAccounts: number;
  singleAccounts: number;
  subAccounts: number;
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
  /** market: switch to the new market (no re-hash: the hash is computed when asked for);
   *  risk: instruments + risk arrays of the underlying, coin legs and add-on bases of its rows;
   *  aggregate: its rows (WASM, pool); reduce: equity and figures of the accounts holding it;
   *  single: single-path accounts holding it */
  stages: { marketMs: number; riskMs: number; aggregateMs: number; reduceMs: number; singleMs: number };
}

const hashMemo = new WeakMap<object, string>();
/** marketHashOf, memoized per market object and per snapshot (a shocked view shares its base's snapshot). */
function memoHash(market: MarginMarket): string {
  const m = market as object;
  let h = hashMemo.get(m);
  if (h !== undefined) return h;
  const snap = market.snapshot;
  if (market.hash === undefined && snap !== null && typeof snap === 'object') {
    h = hashMemo.get(snap);
    if (h === undefined) {
      h = marketHashOf(market);
      hashMemo.set(snap, h);
    }
  } else h = marketHashOf(market);
  hashMemo.set(m, h);
  return h;
}

export class BookEngine {
  readonly model: LoadedModel;
  market: MarginMarket;
  private readonly grid: GridModel | null;
  private readonly runner: ChunkRunner;
  private readonly chunkPositions: number;
  private static counter = 0;
  private readonly id = ++BookEngine.counter;
  private riskVersion = 0;
  private csrVersion = 0;

  /** the margin engine of the current market (single path; its table resolves a load), made on demand */
  private engineOf: MarginEngine | null = null;
  /** the instrument table of the last load: the index space of the CSR and the risk matrix */
  private table: InstrumentTable | null = null;
  /** in-process aggregator for trades when the pool runs elsewhere */
  private tradeAggregator: Aggregator | null = null;

  // ── accounts ──
  n = 0;
  private ids: string[] = [];
  private inputs: (AccountInput | unknown)[] = [];
  private path = new Uint8Array(0);
  private modes: AccountMode[] = [];
  /** single-path results (and the underlyings each touches, for ticks) */
  private single = new Map<number, MarginResult>();
  private singleUnderlyings = new Map<number, Set<string>>();
  /** account-level collateral lines of isolated accounts [accColFrom, accColTo) (pooled accounts: in their sub-account) */
  private accColFrom = new Int32Array(0);
  private accColTo = new Int32Array(0);
  /** what the reduce tasks read and write (shared) */
  private red: ReduceArrays = emptyReduceArrays(0);

  // ── sub-accounts ──
  private nSubs = 0;
  private subAcc = new I32();
  /** original positions [subPosFrom, subPosTo) and collateral lines [subColFrom, subColTo) of each sub-account (equity) */
  private subPosFrom = new I32();
  private subPosTo = new I32();
  private subColFrom = new I32();
  private subColTo = new I32();
  /** original positions (equity): instrument, size, entry price (NaN = entered at mark) */
  private opInstr = new I32();
  private opSize = new F64();
  private opEntry = new F64();
  /** collateral lines: currency index, amount */
  private colCur = new I32();
  private colAmount = new F64();
  private currencies: string[] = [];
  private curIndex = new Map<string, number>();
  /** per currency: haircut, coin instrument index (−1 = USD-pegged) */
  private curHaircut: number[] = [];
  private curCoin: number[] = [];

  // ── rows (CSR, shared memory) ──
  private nRows = 0;
  private loadedRows = 0;
  private csr: BookCsr = { key: '', rowStart: new Int32Array(1), posInstr: new Int32Array(0), posSize: new Float64Array(0), nRows: 0, nHold: 0, loadedHold: 0, legPos: new Int32Array(0), nLeg: 0, sizeVersion: 0 };
  private rowSub = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  /** coin legs whose size follows F (inverse futures entered at mark): holding, original position */
  private legOp = new Int32Array(0);
  private tailLegPos = new I32();
  private tailLegOp = new I32();
  /** per slot: loaded rows [from, to), rows appended by trades */
  private slotRowFrom: number[] = [];
  private slotRowTo: number[] = [];
  private tailRows: number[][] = [];
  /** add-on bases per row: short options (net, per netting rule), long futures coin, short futures coin, short option contracts */
  private rowBase = new Float64Array(0);
  private rowLoss = new Float64Array(0);
  private rowWorst = new Int32Array(0);
  /** 1 when the row holds inverse futures/perpetuals (its add-on bases move with the forward) */
  private rowMarketBase = new Uint8Array(0);
  private failedRowMessage = new Map<number, string>();
  private failedAccMessage = new Map<number, string>();

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
  private slotSpot = new Float64Array(0);
  private weights = new Float64Array(0);
  private scenarioLabels: string[][] = [];
  private groupCount = 0;
  private readonly addOns: AddOnParams | null;
  private readonly combine: CombineParams | null;

  /** timings of the last run */
  lastStats: BookRunStats | null = null;

  private constructor(opts: BookEngineOptions) {
    const m = opts.model;
    this.model = typeof m === 'string' ? loadModel(m) : 'params' in m && 'hash' in m ? (m as LoadedModel) : loadModel(m as MarginModel);
    this.grid = this.model.params.mechanism === 'scenario-grid' ? this.model.params : null;
    const g = this.grid;
    this.addOns = g
      ? {
          shortOption: g.addOns.shortOption ? g.addOns.shortOption.fractionOfSpot : null,
          futuresFraction: g.addOns.futures ? g.addOns.futures.fraction : null,
          futuresGross: g.addOns.futures?.basis === 'gross',
          shortOptionMinimum: g.addOns.shortOptionMinimum ? g.addOns.shortOptionMinimum.fractionOfSpot : null,
        }
      : null;
    this.combine = g
      ? { sum: g.crossUnderlying.rule === 'sum', credit: g.crossUnderlying.rule === 'sum' ? 0 : g.crossUnderlying.credit, minimumMarginUsd: g.minimumMarginUsd, mmFraction: g.mmFraction }
      : null;
    this.market = opts.market;
    this.runner = new ChunkRunner({ ...opts, threads: opts.threads ?? 1 });
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

  /** Hash of the current market (computed when first asked for, memoized per snapshot). */
  get marketHash(): string {
    return memoHash(this.market);
  }

  private get engine(): MarginEngine {
    return (this.engineOf ??= new MarginEngine({ market: this.market, model: this.model }));
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
    this.failedRowMessage.clear();
    this.failedAccMessage.clear();
    const tb = this.engine.table;
    this.table = tb;
    this.nInstr = 0;
    this.nSubs = 0;
    this.subAcc = new I32();
    this.subPosFrom = new I32();
    this.subPosTo = new I32();
    this.subColFrom = new I32();
    this.subColTo = new I32();
    this.opInstr = new I32();
    this.opSize = new F64();
    this.opEntry = new F64();
    this.colCur = new I32();
    this.colAmount = new F64();
    this.currencies = [];
    this.curIndex.clear();
    this.curHaircut = [];
    this.curCoin = [];
    this.tailLegPos = new I32();
    this.tailLegOp = new I32();
    const red = emptyReduceArrays(n);
    this.red = red;
    this.accColFrom = new Int32Array(n);
    this.accColTo = new Int32Array(n);
    const hold = new Holdings();
    let positions = 0;
    let isolated = 0;
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
      if (a) positions += a.positions.length;
      const res = a !== null && this.grid !== null ? this.resolveAccount(a, k, hold) : null;
      this.path[k] = res ? Path.Grid : Path.Single;
      if (res) {
        this.setAccount(k, res);
        if (res.kind === AccKind.Isolated) isolated++;
      }
    }
    this.snapshotInstruments();
    this.layoutRows(hold);
    for (let k = 0; k < n; k++) {
      if (this.path[k] === Path.Grid) this.computeAccountEquity(k);
      else this.singleUnderlyings.set(k, touchedUnderlyings(this.inputs[k]));
    }
    this.rowFutStart = new I32();
    this.rowFutStart.push(0);
    this.futInstr = new I32();
    this.futNet = new F64();
    for (let r = 0; r < this.nRows; r++) this.computeRowBase(r);
    let gridAccounts = 0;
    for (let k = 0; k < n; k++) if (this.path[k] === Path.Grid) gridAccounts++;
    return {
      accounts: n,
      gridAccounts,
      isolatedAccounts: isolated,
      singleAccounts: n - gridAccounts,
      subAccounts: this.nSubs,
      positions,
      rows: this.nRows,
      holdings: this.csr.nHold,
      instruments: this.nInstr,
      scenarios: this.nScen,
      resolveMs: performance.now() - t0,
    };
  }

  private setAccount(k: number, res: ResolvedAccount): void {
    this.red.accKind[k] = res.kind;
    this.red.accSubFrom[k] = res.subFrom;
    this.red.accSubTo[k] = res.subTo;
    this.accColFrom[k] = res.colFrom;
    this.accColTo[k] = res.colTo;
  }

  /** Forward of instrument i: the book's snapshot once it has it, else the table's (during a load). */
  private forwardOf(i: number): number {
    return i < this.nInstr ? this.iForward[i] : this.table!.forward[i];
  }

  /**
   * Appends account k's sub-accounts (holdings, original positions, collateral lines). Returns
   * null — and appends nothing — when the margin engine would report an error for the account
   * (the single path then gives that error, with the engine's message).
   */
  private resolveAccount(a: AccountInput, k: number, hold: Holdings): ResolvedAccount | null {
    const tb = this.table!;
    const marks = { hold: hold.instr.n, holdSubs: hold.end.n, subs: this.nSubs, op: this.opInstr.n, col: this.colCur.n };
    const subFrom = this.nSubs;
    let colFrom = 0;
    let colTo = 0;
    try {
      const newSub = (): void => {
        this.subAcc.push(k);
        this.subPosFrom.push(this.opInstr.n);
        this.subColFrom.push(this.colCur.n);
        this.nSubs++;
      };
      const endSub = (): void => {
        this.subPosTo.push(this.opInstr.n);
        this.subColTo.push(this.colCur.n);
        hold.end.push(hold.instr.n);
      };
      if (a.mode === 'isolated') {
        // the margin engine resolves every position and the account collateral first
        for (const pos of a.positions) tb.indexOf(pos.instrument);
        colFrom = this.colCur.n;
        this.collateralLines(a.collateral, null);
        colTo = this.colCur.n;
        for (const pos of a.positions) {
          newSub();
          this.positionHoldings(pos.instrument, pos.size, pos.entryPrice, hold);
          if (pos.collateral) this.collateralLines(pos.collateral, hold);
          endSub();
        }
      } else {
        newSub();
        for (const pos of a.positions) this.positionHoldings(pos.instrument, pos.size, pos.entryPrice, hold);
        this.collateralLines(a.collateral, hold);
        endSub();
      }
    } catch {
      hold.truncate(marks.hold, marks.holdSubs);
      this.nSubs = marks.subs;
      this.subAcc.n = this.subPosFrom.n = this.subPosTo.n = this.subColFrom.n = this.subColTo.n = marks.subs;
      this.opInstr.n = this.opSize.n = this.opEntry.n = marks.op;
      this.colCur.n = this.colAmount.n = marks.col;
      return null;
    }
    return { kind: a.mode === 'isolated' ? AccKind.Isolated : AccKind.Pooled, subFrom, subTo: this.nSubs, colFrom, colTo };
  }

  /** A position's holdings: itself, and the coin leg of an inverse future/perpetual (size·cs / entry). */
  private positionHoldings(name: string, size: number, entryPrice: number | undefined, hold: Holdings): void {
    const tb = this.table!;
    const i = tb.indexOf(name);
    const slot = tb.underlyingOf[i];
    const op = this.opInstr.n;
    this.opInstr.push(i);
    this.opSize.push(size);
    this.opEntry.push(entryPrice ?? NaN);
    hold.push(i, size, slot, -1);
    const kind = tb.kind[i];
    if ((kind === Kind.Future || kind === Kind.Perpetual) && tb.inverse[i]) {
      const cs = tb.instruments[i]?.contractSize ?? 1;
      const ci = tb.coinIndex(tb.underlyings[slot]);
      hold.push(ci, (size * cs) / (entryPrice ?? this.forwardOf(i)), tb.underlyingOf[ci], entryPrice === undefined ? op : -1);
    }
  }

  /** Collateral lines in key order (zero balances skipped); with `hold`, coin balances become holdings too. */
  private collateralLines(balances: Record<string, number>, hold: Holdings | null): void {
    const tb = this.table!;
    const col = this.model.params.collateral;
    for (const cur of Object.keys(balances)) {
      const amount = balances[cur];
      if (amount === 0) continue;
      let c = this.curIndex.get(cur);
      if (c === undefined) {
        const h = col.haircuts[cur] ?? col.defaultHaircut;
        if (h === null || h === undefined) throw new Error('collateral not accepted');
        let coin = -1;
        if (!col.usdPegged.includes(cur)) {
          if (!this.market.hasUnderlying(cur)) throw new Error('no market for collateral');
          coin = tb.coinIndex(cur);
        }
        c = this.currencies.length;
        this.currencies.push(cur);
        this.curHaircut.push(h);
        this.curCoin.push(coin);
        this.curIndex.set(cur, c);
      }
      this.colCur.push(c);
      this.colAmount.push(amount);
      const coin = this.curCoin[c];
      if (hold && coin >= 0) hold.push(coin, amount > 0 ? amount * (1 - this.curHaircut[c]) : amount, tb.underlyingOf[coin], -1);
    }
  }

  /** Copies what the reductions need from the instrument table and computes the risk arrays. */
  private snapshotInstruments(): void {
    const tb = this.table!;
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
    this.slotSpot = sharedF64(nu);
    this.underlyings.forEach((u, s) => (this.slotSpot[s] = this.market.spot(u)));
    const ra = this.engine.risk;
    if (!this.grid || !ra) {
      this.nScen = 0;
      this.risk = new Float64Array(0);
      this.weights = new Float64Array(0);
      this.scenarioLabels = [];
      return;
    }
    ra.sync();
    const ns = ra.nScen;
    this.nScen = ns;
    this.risk = sharedF64(n * ns);
    this.risk.set(ra.values.subarray(0, n * ns));
    this.weights = sharedF64(nu * ns);
    this.scenarioLabels = [];
    for (let s = 0; s < nu; s++) {
      const sc = ra.scenariosOf(s);
      this.weights.set(sc.weights, s * ns);
      this.scenarioLabels.push(sc.info.map((x) => x.label));
    }
    this.riskVersion++;
  }

  /** Room for `rows` rows (per-row arrays; shared ones reallocated with headroom when full). */
  private ensureRows(rows: number): void {
    const c = this.csr;
    if (rows + 1 > c.rowStart.length) {
      c.rowStart = growShared(c.rowStart, rows + 1);
      c.key = `${this.id}:${++this.csrVersion}`;
    }
    this.rowBase = growShared(this.rowBase, 4 * rows);
    this.rowLoss = growShared(this.rowLoss, rows);
    this.rowWorst = growShared(this.rowWorst, rows);
    this.red.rowIm = growShared(this.red.rowIm, rows);
    this.red.rowFailed = growShared(this.red.rowFailed, rows);
    this.rowSub = growPlain(this.rowSub, rows);
    this.rowSlot = growPlain(this.rowSlot, rows);
    this.rowMarketBase = growPlain(this.rowMarketBase, rows);
  }

  private ensureHoldings(nHold: number): void {
    const c = this.csr;
    if (nHold > c.posInstr.length) {
      c.posInstr = growShared(c.posInstr, nHold);
      c.posSize = growShared(c.posSize, nHold);
      c.key = `${this.id}:${++this.csrVersion}`;
    }
  }

  private ensureSubs(nSubs: number, nSubRows: number): void {
    const red = this.red;
    red.subRowStart = growShared(red.subRowStart, nSubs + 1);
    red.subEquity = growShared(red.subEquity, nSubs);
    red.subRows = growShared(red.subRows, nSubRows);
  }

  /** Rows ordered underlying-major, then by sub-account; holdings in each row in input order. */
  private layoutRows(hold: Holdings): void {
    const nu = this.underlyings.length;
    const nSubs = this.nSubs;
    const hEnd = hold.end.a;
    const hSlot = hold.slot.a;
    const slotRows = new Int32Array(nu);
    // pass 1: distinct slots per sub-account in first-appearance order
    const subRowStart = new Int32Array(nSubs + 1);
    const subSlots = new I32();
    const seen = new Int32Array(nu).fill(-1);
    for (let j = 0, h = 0; j < nSubs; j++) {
      for (; h < hEnd[j]; h++) {
        const s = hSlot[h];
        if (seen[s] !== j) {
          seen[s] = j;
          subSlots.push(s);
          slotRows[s]++;
        }
      }
      subRowStart[j + 1] = subSlots.n;
    }
    const nRows = subSlots.n;
    this.nRows = nRows;
    this.loadedRows = nRows;
    this.slotRowFrom = new Array(nu);
    this.slotRowTo = new Array(nu);
    this.tailRows = this.underlyings.map(() => []);
    let r0 = 0;
    for (let s = 0; s < nu; s++) {
      this.slotRowFrom[s] = r0;
      r0 += slotRows[s];
      this.slotRowTo[s] = r0;
    }
    const rowCap = nRows + Math.max(1024, nRows >> 4);
    const holdTotal = hold.instr.n;
    const holdCap = holdTotal + Math.max(16384, holdTotal >> 4);
    this.csr = {
      key: `${this.id}:${++this.csrVersion}`,
      rowStart: sharedI32(rowCap + 1),
      posInstr: sharedI32(holdCap),
      posSize: sharedF64(holdCap),
      nRows,
      nHold: holdTotal,
      loadedHold: holdTotal,
      legPos: new Int32Array(0),
      nLeg: 0,
      sizeVersion: 0,
    };
    this.rowBase = sharedF64(4 * rowCap);
    this.rowLoss = sharedF64(rowCap);
    this.rowWorst = sharedI32(rowCap);
    this.red.rowIm = sharedF64(rowCap);
    this.red.rowFailed = sharedU8(rowCap);
    this.rowSub = new Int32Array(rowCap);
    this.rowSlot = new Int32Array(rowCap);
    this.rowMarketBase = new Uint8Array(rowCap);
    const subCap = nSubs + Math.max(1024, nSubs >> 4);
    this.red.subRowStart = sharedI32(subCap + 1);
    this.red.subRows = sharedI32(rowCap);
    this.red.subEquity = sharedF64(subCap);
    this.red.subRowStart.set(subRowStart);
    // pass 2: row ids, row lengths
    const cursor = this.slotRowFrom.slice();
    const subRows = this.red.subRows;
    const rowLen = new Int32Array(nRows);
    const rowOfSlot = new Int32Array(nu);
    for (let j = 0, h = 0; j < nSubs; j++) {
      for (let q = subRowStart[j]; q < subRowStart[j + 1]; q++) {
        const s = subSlots.a[q];
        const r = cursor[s]++;
        subRows[q] = r;
        this.rowSub[r] = j;
        this.rowSlot[r] = s;
        rowOfSlot[s] = r;
      }
      for (; h < hEnd[j]; h++) rowLen[rowOfSlot[hSlot[h]]]++;
    }
    const rowStart = this.csr.rowStart;
    for (let r = 0; r < nRows; r++) rowStart[r + 1] = rowStart[r] + rowLen[r];
    const { posInstr, posSize } = this.csr;
    const legPos = new I32();
    const legOp = new I32();
    const fill = rowStart.slice(0, nRows);
    for (let j = 0, h = 0; j < nSubs; j++) {
      for (let q = subRowStart[j]; q < subRowStart[j + 1]; q++) rowOfSlot[this.rowSlot[subRows[q]]] = subRows[q];
      for (; h < hEnd[j]; h++) {
        const r = rowOfSlot[hSlot[h]];
        const d = fill[r]++;
        posInstr[d] = hold.instr.a[h];
        posSize[d] = hold.size.a[h];
        if (hold.leg.a[h] >= 0) {
          legPos.push(d);
          legOp.push(hold.leg.a[h]);
        }
      }
    }
    this.csr.legPos = sharedI32(legPos.n);
    this.csr.legPos.set(legPos.a.subarray(0, legPos.n));
    this.csr.nLeg = legPos.n;
    this.legOp = legOp.a.slice(0, legOp.n);
    for (let r = 0; r < nRows; r++) this.markMarketBase(r);
  }

  private markMarketBase(r: number): void {
    const { rowStart, posInstr } = this.csr;
    this.rowMarketBase[r] = 0;
    for (let p = rowStart[r]; p < rowStart[r + 1]; p++) {
      const k = this.iKind[posInstr[p]];
      if ((k === Kind.Future || k === Kind.Perpetual) && this.iInverse[posInstr[p]]) this.rowMarketBase[r] = 1;
    }
  }

  /**
   * Appends the rows of sub-accounts [subBase, subBase + hold.end.n) at the end of the CSR (a
   * trade): rows in first-appearance order of their underlyings, holdings in input order.
   */
  private appendRows(hold: Holdings, subBase: number): number[] {
    const nSubsNew = hold.end.n;
    let rowsNeeded = 0;
    const slotsOf: number[][] = [];
    for (let l = 0, h = 0; l < nSubsNew; l++) {
      const slots: number[] = [];
      for (; h < hold.end.a[l]; h++) if (!slots.includes(hold.slot.a[h])) slots.push(hold.slot.a[h]);
      slotsOf.push(slots);
      rowsNeeded += slots.length;
    }
    const c = this.csr;
    this.ensureRows(this.nRows + rowsNeeded);
    this.ensureHoldings(c.nHold + hold.instr.n);
    const red = this.red;
    this.ensureSubs(subBase + nSubsNew, red.subRowStart[subBase] + rowsNeeded);
    const newRows: number[] = [];
    for (let l = 0, h0 = 0; l < nSubsNew; l++) {
      const j = subBase + l;
      const h1 = hold.end.a[l];
      let q = red.subRowStart[j];
      for (const s of slotsOf[l]) {
        const r = this.nRows++;
        let d = c.rowStart[r];
        for (let h = h0; h < h1; h++) {
          if (hold.slot.a[h] !== s) continue;
          c.posInstr[d] = hold.instr.a[h];
          c.posSize[d] = hold.size.a[h];
          if (hold.leg.a[h] >= 0) {
            this.tailLegPos.push(d);
            this.tailLegOp.push(hold.leg.a[h]);
          }
          d++;
        }
        c.rowStart[r + 1] = d;
        c.nHold = d;
        this.rowSub[r] = j;
        this.rowSlot[r] = s;
        this.red.rowFailed[r] = 0;
        this.markMarketBase(r);
        this.computeRowBase(r);
        this.tailRows[s].push(r);
        red.subRows[q++] = r;
        newRows.push(r);
      }
      red.subRowStart[j + 1] = q;
      h0 = h1;
    }
    c.nRows = this.nRows;
    return newRows;
  }

  /** Equity of a sub-account (collateral lines, then positions, in the margin engine's order); returns its collateral value. */
  private computeSubEquity(j: number): number {
    let cv = 0;
    for (let c = this.subColFrom.a[j]; c < this.subColTo.a[j]; c++) cv += this.lineValue(c);
    let eq = cv;
    for (let p = this.subPosFrom.a[j]; p < this.subPosTo.a[j]; p++) eq += this.positionValue(this.opInstr.a[p], this.opSize.a[p], this.opEntry.a[p]);
    this.red.subEquity[j] = eq;
    return cv;
  }

  /** USD value of collateral line c after haircut (negative balances at full value). */
  private lineValue(c: number): number {
    const cur = this.colCur.a[c];
    const amount = this.colAmount.a[c];
    const coin = this.curCoin[cur];
    const price = coin < 0 ? 1 : this.slotSpot[this.iSlot[coin]];
    return amount > 0 ? amount * price * (1 - this.curHaircut[cur]) : amount * price;
  }

  /** Equities of account k's sub-accounts and its collateral value. */
  private computeAccountEquity(k: number): void {
    const red = this.red;
    if (red.accKind[k] === AccKind.Pooled) {
      red.accCv[k] = this.computeSubEquity(red.accSubFrom[k]);
      return;
    }
    let cv = 0;
    for (let c = this.accColFrom[k]; c < this.accColTo[k]; c++) cv += this.lineValue(c);
    red.accCv[k] = cv;
    for (let j = red.accSubFrom[k]; j < red.accSubTo[k]; j++) this.computeSubEquity(j);
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

  /** per row, its net futures/perpetuals in first-appearance order (instrument, net size): what moves its futures add-on base on a tick */
  private rowFutStart = new I32();
  private futInstr = new I32();
  private futNet = new F64();

  private groupNet = new Float64Array(0);
  private instrNet = new Int32Array(0);
  private netIdx = new Int32Array(0);
  private netSize = new Float64Array(0);

  /**
   * The futures bases of a row after a tick (F moved): the same sums as computeRowBase over the
   * row's net futures, recorded in the same order, so the same doubles.
   */
  private refreshRowFutures(r: number): void {
    const b = 4 * r;
    const rowBase = this.rowBase;
    rowBase[b + 1] = 0;
    rowBase[b + 2] = 0;
    for (let f = this.rowFutStart.a[r]; f < this.rowFutStart.a[r + 1]; f++) {
      const i = this.futInstr.a[f];
      const q = this.futNet.a[f];
      const coin = this.iInverse[i] ? q / this.iForward[i] : q;
      if (coin > 0) rowBase[b + 1] += coin;
      else rowBase[b + 2] -= coin;
    }
  }

  /**
   * Add-on bases of a row from its net holdings (the margin engine's reduceGrid, per row). Rows
   * are computed once each in increasing order (load, then rows appended by trades), which
   * records their net futures for refreshRowFutures.
   */
  private computeRowBase(r: number): void {
    const b = 4 * r;
    const rowBase = this.rowBase;
    rowBase.fill(0, b, b + 4);
    if (!this.grid) return;
    const record = this.rowFutStart.n === r + 1;
    const add = this.grid.addOns;
    const { rowStart, posInstr, posSize } = this.csr;
    const p0 = rowStart[r];
    const p1 = rowStart[r + 1];
    if (this.instrNet.length < this.nInstr) this.instrNet = new Int32Array(this.nInstr).fill(-1);
    if (this.netIdx.length < p1 - p0) {
      this.netIdx = new Int32Array(2 * (p1 - p0));
      this.netSize = new Float64Array(2 * (p1 - p0));
    }
    if (this.groupNet.length < this.groupCount) this.groupNet = new Float64Array(this.groupCount);
    const { instrNet, netIdx, netSize, groupNet } = this;
    let nNet = 0;
    for (let p = p0; p < p1; p++) {
      const i = posInstr[p];
      if (this.iKind[i] === Kind.Coin) continue;
      let k = instrNet[i];
      if (k < 0) {
        k = nNet++;
        instrNet[i] = k;
        netIdx[k] = i;
        netSize[k] = 0;
      }
      netSize[k] += posSize[p];
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
        if (record) {
          this.futInstr.push(i);
          this.futNet.push(q);
        }
      }
    }
    if (record) this.rowFutStart.push(this.futInstr.n);
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

  // ───────────────────────────── compute ─────────────────────────────

  private aggregateBase(): Omit<AggregateTask, 'chunk' | 'ranges'> {
    const c = this.csr;
    return {
      kind: 'aggregate',
      attempt: 0,
      nScen: this.nScen,
      csr: { ...c, nRows: this.nRows },
      risk: this.risk,
      riskKey: `${this.id}:${this.riskVersion}`,
      weights: this.weights,
      rowBase: this.rowBase,
      slotSpot: this.slotSpot,
      addOns: this.addOns!,
      outLoss: this.rowLoss,
      outIndex: this.rowWorst,
      outIm: this.red.rowIm,
    };
  }

  /** Aggregation chunks over the rows of the given slots, split at about chunkPositions holdings; rows appended by trades in a last chunk. */
  private aggregateTasks(slots: number[]): AggregateTask[] {
    const rowStart = this.csr.rowStart;
    const total = slots.reduce((acc, s) => acc + rowStart[this.slotRowTo[s]] - rowStart[this.slotRowFrom[s]], 0);
    // Equal-sized chunks, a multiple of the thread count (at least 4 per thread, more when
    // chunkPositions caps their size): each slot gets a share of the chunks proportional to its
    // holdings and is cut at equal holding counts, so no small remainder chunk unbalances the
    // pool's last round.
    const threads = this.runner.threads;
    const nChunks = threads * Math.max(4, Math.ceil(Math.ceil(total / Math.max(1024, this.chunkPositions)) / threads));
    const tasks: AggregateTask[] = [];
    const base = this.aggregateBase();
    for (const s of slots) {
      let from = this.slotRowFrom[s];
      const end = this.slotRowTo[s];
      const h0 = rowStart[from];
      const slotTotal = rowStart[end] - h0;
      const n = Math.max(1, Math.min(end - from, Math.round((nChunks * slotTotal) / Math.max(1, total))));
      for (let k = 1; k <= n && from < end; k++) {
        const limit = h0 + Math.round((k * slotTotal) / n); // holdings before this chunk's end
        let to = from + 1;
        while (to < end && (k === n || rowStart[to + 1] <= limit)) to++;
        tasks.push({ ...base, chunk: tasks.length, ranges: Int32Array.of(from, to, s) });
        from = to;
      }
    }
    const tail: number[] = [];
    for (const s of slots) {
      const rows = this.tailRows[s];
      for (let k = 0; k < rows.length; k++) {
        const n = tail.length;
        if (n > 0 && tail[n - 2] === rows[k] && tail[n - 1] === s) tail[n - 2]++;
        else tail.push(rows[k], rows[k] + 1, s);
      }
    }
    if (tail.length > 0) tasks.push({ ...base, chunk: tasks.length, ranges: Int32Array.from(tail) });
    return tasks;
  }

  private async aggregateSlots(slots: number[]): Promise<{ retried: number; failedChunks: number; tasks: number }> {
    if (!this.grid || this.nRows === 0) return { retried: 0, failedChunks: 0, tasks: 0 };
    const tasks = this.aggregateTasks(slots);
    const inSlots = new Uint8Array(this.underlyings.length);
    for (const s of slots) inSlots[s] = 1;
    for (const t of tasks) for (let k = 0; k < t.ranges.length; k += 3) this.red.rowFailed.fill(0, t.ranges[k], t.ranges[k + 1]);
    for (const r of [...this.failedRowMessage.keys()]) if (inSlots[this.rowSlot[r]]) this.failedRowMessage.delete(r);
    const out = await this.runner.run(tasks);
    for (const f of out.failed) {
      const rg = tasks[f.chunk].ranges;
      for (let k = 0; k < rg.length; k += 3) {
        this.red.rowFailed.fill(1, rg[k], rg[k + 1]);
        for (let r = rg[k]; r < rg[k + 1]; r++) this.failedRowMessage.set(r, f.message);
      }
    }
    return { retried: out.retried, failedChunks: out.failed.length, tasks: tasks.length };
  }

  /** Account-range chunks of the fused round, cached per load (null: the book has rows appended by trades). */
  private fusedCache: { key: string; tasks: { from: number; to: number; ranges: Int32Array }[] } | null = null;

  /**
   * Splits the accounts into ranges of about equal holdings, a multiple of the thread count,
   * with the rows of each range per slot (rows of one slot are ordered by account, so an
   * account range is a contiguous row range in every slot). Null when rows were appended by
   * trades (they sit outside that order): then the two-round path runs.
   */
  private fusedTasks(): AggregateTask[] | null {
    if (!this.grid || this.nRows === 0 || this.nRows !== this.loadedRows) return null;
    const key = this.csr.key;
    if (this.fusedCache?.key !== key) {
      const rowStart = this.csr.rowStart;
      const nu = this.underlyings.length;
      const accOfRow = (r: number): number => this.subAcc.a[this.rowSub[r]];
      // holdings per account, then cut points at equal cumulative holdings
      const hold = new Float64Array(this.n + 1);
      for (let r = 0; r < this.nRows; r++) hold[accOfRow(r) + 1] += rowStart[r + 1] - rowStart[r];
      for (let k = 0; k < this.n; k++) hold[k + 1] += hold[k];
      const total = hold[this.n];
      const threads = this.runner.threads;
      const nChunks = Math.min(this.n, threads * Math.max(4, Math.ceil(Math.ceil(total / Math.max(1024, this.chunkPositions)) / threads)));
      const cuts: number[] = [0];
      for (let c = 1, k = 0; c < nChunks; c++) {
        const want = (c * total) / nChunks;
        while (k < this.n && hold[k + 1] <= want) k++;
        if (k > cuts[cuts.length - 1]) cuts.push(k);
      }
      cuts.push(this.n);
      // per slot, walk its rows once and cut them at the account boundaries
      const ranges: number[][] = cuts.slice(1).map(() => []);
      for (let s = 0; s < nu; s++) {
        let r = this.slotRowFrom[s];
        const end = this.slotRowTo[s];
        let prevAcc = -1;
        for (let c = 0; c + 1 < cuts.length; c++) {
          const from = r;
          while (r < end && accOfRow(r) < cuts[c + 1]) {
            const a = accOfRow(r);
            if (a < prevAcc) return null; // not ordered by account: keep the two-round path
            prevAcc = a;
            r++;
          }
          if (r > from) ranges[c].push(from, r, s);
        }
      }
      this.fusedCache = { key, tasks: ranges.map((rg, c) => ({ from: cuts[c], to: cuts[c + 1], ranges: Int32Array.from(rg) })) };
    }
    const base = this.aggregateBase();
    return this.fusedCache.tasks.map((t, c) => ({
      ...base,
      chunk: c,
      ranges: t.ranges,
      reduce: { from: t.from, to: t.to, arrays: this.red, combine: this.combine! },
    }));
  }

  /** Runs the fused round; a chunk that fails every attempt fails its rows and its accounts. */
  private async runFused(tasks: AggregateTask[]): Promise<{ retried: number; failedChunks: number; tasks: number }> {
    for (const t of tasks) for (let k = 0; k < t.ranges.length; k += 3) this.red.rowFailed.fill(0, t.ranges[k], t.ranges[k + 1]);
    this.failedRowMessage.clear();
    this.failedAccMessage.clear();
    const out = await this.runner.run(tasks);
    for (const f of out.failed) {
      const t = tasks[f.chunk];
      const rg = t.ranges;
      for (let k = 0; k < rg.length; k += 3) {
        this.red.rowFailed.fill(1, rg[k], rg[k + 1]);
        for (let r = rg[k]; r < rg[k + 1]; r++) this.failedRowMessage.set(r, f.message);
      }
      for (let k = t.reduce!.from; k < t.reduce!.to; k++) {
        if (this.path[k] !== Path.Grid) continue;
        this.red.accFailed[k] = 1;
        this.failedAccMessage.set(k, f.message);
      }
    }
    return { retried: out.retried, failedChunks: out.failed.length, tasks: tasks.length };
  }

  /** Reduces every vectorized account, in account ranges on the pool (chunk numbers continue the aggregation batch's). */
  private async reduceAll(firstChunk: number): Promise<{ retried: number; failedChunks: number }> {
    if (!this.grid || this.n === 0) return { retried: 0, failedChunks: 0 };
    const nTasks = Math.min(this.n, this.runner.threads === 1 ? 1 : 2 * this.runner.threads);
    const tasks: ReduceTask[] = [];
    for (let c = 0; c < nTasks; c++) {
      const from = Math.floor((c * this.n) / nTasks);
      const to = Math.floor(((c + 1) * this.n) / nTasks);
      tasks.push({ kind: 'reduce', chunk: firstChunk + c, attempt: 0, from, to, arrays: this.red, combine: this.combine! });
    }
    this.failedAccMessage.clear();
    const out = await this.runner.run(tasks);
    for (const f of out.failed) {
      const t = tasks[f.chunk - firstChunk];
      for (let k = t.from; k < t.to; k++) {
        if (this.path[k] !== Path.Grid) continue;
        this.red.accFailed[k] = 1;
        this.failedAccMessage.set(k, f.message);
      }
    }
    return { retried: out.retried, failedChunks: out.failed.length };
  }

  /**
   * Margins every account from the resolved inputs: aggregation of every row, then the
   * per-account reduction (pool or in-process), then the single-path accounts on this thread
   * (timed separately: `singleMs`).
   */
  async recompute(): Promise<BookRunStats> {
    const t0 = performance.now();
    const slots = this.underlyings.map((_, s) => s);
    const fused = this.fusedTasks();
    let agg: { retried: number; failedChunks: number; tasks: number };
    let red = { retried: 0, failedChunks: 0 };
    let t1: number;
    if (fused) {
      // one pool round: each chunk aggregates the rows of an account range, then reduces it
      agg = await this.runFused(fused);
      t1 = performance.now();
    } else {
      agg = await this.aggregateSlots(slots);
      t1 = performance.now();
      red = await this.reduceAll(agg.tasks);
    }
    const t2 = performance.now();
    let singleCount = 0;
    for (let k = 0; k < this.n; k++) {
      if (this.path[k] !== Path.Single) continue;
      this.single.set(k, this.marginSingle(k));
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
      holdings: this.csr.nHold,
      scenarios: this.nScen,
      retriedChunks: agg.retried + red.retried,
      failedChunks: agg.failedChunks + red.failedChunks,
    };
    return this.lastStats;
  }

  // ───────────────────────────── incremental ─────────────────────────────

  /**
   * The market moved for one underlying (marks and/or vols): `market` is the new market, of
   * which only `underlying` is re-read. Recomputes that underlying's instruments and risk arrays,
   * re-aggregates only the rows on it, and re-reduces the accounts holding it. Returns the
   * changed accounts' results.
   */
  async tick(underlying: string, market: MarginMarket): Promise<BookUpdate> {
    const t0 = performance.now();
    if (!market.hasUnderlying(underlying)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the new market has no underlying ${JSON.stringify(underlying)}`);
    }
    this.market = market;
    this.engineOf = null; // the single path's engine for the new market, made if needed
    const changed: number[] = [];
    const slot = this.underlyings.indexOf(underlying);
    const t1 = performance.now();
    let t2 = t1;
    let t3 = t1;
    if (slot >= 0 && this.table) {
      this.refreshUnderlying(slot, market);
      // inverse futures entered at mark hold size/F coin: F moved
      const c = this.csr;
      const resize = (p: number, op: number): void => {
        const i = this.opInstr.a[op];
        if (this.iSlot[i] === slot) c.posSize[p] = (this.opSize.a[op] * this.iCs[i]) / this.iForward[i];
      };
      for (let k = 0; k < c.nLeg; k++) resize(c.legPos[k], this.legOp[k]);
      for (let k = 0; k < this.tailLegPos.n; k++) resize(this.tailLegPos.a[k], this.tailLegOp.a[k]);
      c.sizeVersion++;
      // only inverse futures' coin sizes (size/F) depend on the market among the add-on bases
      for (let r = this.slotRowFrom[slot]; r < this.slotRowTo[slot]; r++) if (this.rowMarketBase[r]) this.refreshRowFutures(r);
      for (const r of this.tailRows[slot]) if (this.rowMarketBase[r]) this.refreshRowFutures(r);
      t2 = performance.now();
      await this.aggregateSlots([slot]);
      t3 = performance.now();
      const mark = new Uint8Array(this.n);
      const red = this.red;
      const touch = (r: number): void => {
        mark[this.subAcc.a[this.rowSub[r]]] = 1;
      };
      for (let r = this.slotRowFrom[slot]; r < this.slotRowTo[slot]; r++) touch(r);
      for (const r of this.tailRows[slot]) touch(r);
      for (let k = 0; k < this.n; k++) {
        for (let q = this.accColFrom[k]; q < this.accColTo[k]; q++) {
          const coin = this.curCoin[this.colCur.a[q]];
          if (coin >= 0 && this.iSlot[coin] === slot) mark[k] = 1;
        }
      }
      for (let k = 0; k < this.n; k++) {
        if (!mark[k] || this.path[k] !== Path.Grid) continue;
        this.computeAccountEquity(k);
        reduceAccount(red, this.combine!, k);
        changed.push(k);
      }
    }
    const t4 = performance.now();
    const nGrid = changed.length;
    for (const [k, us] of this.singleUnderlyings) {
      if (this.path[k] !== Path.Single) continue;
      const prev = this.single.get(k);
      // errors that depend on market data may clear (or appear) with the new market
      if (us.has(underlying) || (prev !== undefined && !prev.ok && prev.error.code === ErrorCodes.MISSING_MARKET_DATA)) {
        this.single.set(k, this.marginSingle(k));
        changed.push(k);
      }
    }
    if (changed.length > nGrid) changed.sort((a, b) => a - b); // grid accounts are pushed in order
    const t5 = performance.now();
    let cache: BookAccountResult[] | null = null;
    return {
      indices: changed,
      results: () => (cache ??= changed.map((k) => this.result(k))),
      ms: t5 - t0,
      stages: { marketMs: t1 - t0, riskMs: t2 - t1, aggregateMs: t3 - t2, reduceMs: t4 - t3, singleMs: t5 - t4 },
    };
  }

  private marginSingle(k: number): MarginResult {
    const input = this.inputs[k];
    if (input instanceof InvalidEntry) return { id: input.id, ok: false, error: { code: ErrorCodes.INVALID_INPUT, message: input.message } };
    return this.engine.margin(input);
  }

  /** Re-reads one underlying from the market: its instruments' marks and its risk arrays. */
  private refreshUnderlying(slot: number, market: MarginMarket): void {
    const u = this.underlyings[slot];
    const sub = new InstrumentTable(market);
    const map: number[] = [];
    for (let i = 0; i < this.nInstr; i++) {
      if (this.iSlot[i] !== slot) continue;
      const j = this.iKind[i] === Kind.Coin ? sub.coinIndex(u) : sub.indexOf(this.names[i]);
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
      next.set(this.risk.subarray(0, this.nInstr * ns));
      for (let j = 0; j < sub.count; j++) next.set(ra.values.subarray(j * ns, j * ns + ns), map[j] * ns);
      this.risk = next;
      const sc = ra.scenariosOf(0);
      this.weights.set(sc.weights, slot * ns);
      this.scenarioLabels[slot] = sc.info.map((x) => x.label);
      this.riskVersion++;
    }
  }

  /**
   * Instruments a trade added to the table: valued on the current market (a side table: the
   * load's table may hold an older market's values) and their risk arrays appended.
   */
  private extendInstruments(): void {
    const tb = this.table!;
    const from = this.nInstr;
    const n = tb.count;
    if (n === from) return;
    this.iKind = growPlain(this.iKind, n);
    this.iInverse = growPlain(this.iInverse, n);
    this.iSlot = growPlain(this.iSlot, n);
    this.iGroup = growPlain(this.iGroup, n);
    this.iForward = growPlain(this.iForward, n);
    this.iUnitValue = growPlain(this.iUnitValue, n);
    this.iCs = growPlain(this.iCs, n);
    const side = new InstrumentTable(this.market);
    const map: number[] = [];
    for (let i = from; i < n; i++) {
      this.iKind[i] = tb.kind[i];
      this.iInverse[i] = tb.inverse[i];
      this.iSlot[i] = tb.underlyingOf[i];
      this.iGroup[i] = tb.group[i];
      this.iCs[i] = tb.instruments[i]?.contractSize ?? 1;
      this.names[i] = tb.names[i];
      const j = tb.kind[i] === Kind.Coin ? side.coinIndex(tb.underlyings[tb.underlyingOf[i]]) : side.indexOf(tb.names[i]);
      map[j] = i;
      this.iForward[i] = side.forward[j];
      this.iUnitValue[i] = side.unitValue[j];
    }
    this.groupCount = tb.groupCount;
    this.nInstr = n;
    if (this.grid) {
      const ra = new RiskArrays(side, this.grid);
      ra.sync();
      const ns = this.nScen;
      const next = sharedF64(n * ns);
      next.set(this.risk.subarray(0, from * ns));
      for (let j = 0; j < side.count; j++) if (map[j] !== undefined) next.set(ra.values.subarray(j * ns, j * ns + ns), map[j] * ns);
      this.risk = next;
      this.riskVersion++;
    }
  }

  /**
   * Adds `changes` (trades at mark unless entryPrice is given) to one account (input index or
   * id) and returns its new margin. On a grid model the account stays vectorized: its new rows
   * are appended to the CSR and aggregated here, the account re-reduced (its old rows are left
   * dead until the next load). Other accounts are re-margined by the margin engine.
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
    if (this.path[k] === Path.Grid && this.tradeVectorized(k, next)) {
      this.inputs[k] = next;
      return { index: k, result: this.result(k), ms: performance.now() - t0 };
    }
    this.setSingle(k, next);
    return { index: k, result: this.result(k), ms: performance.now() - t0 };
  }

  /**
   * Replaces account k (input index or id) by `next` (same id), re-margined on the current market
   * by the margin engine; from then on the account follows the single path (ticks re-margin it).
   * This is how a liquidation books its trades and cash on an account. Throws for an invalid
   * `next`, leaving the book unchanged.
   */
  replace(account: number | string, next: AccountInput): { index: number; result: BookAccountResult } {
    const k = typeof account === 'number' ? account : this.ids.indexOf(account);
    if (!Number.isInteger(k) || k < 0 || k >= this.n) {
      throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account ${JSON.stringify(account)} is not in the book`);
    }
    this.setSingle(k, validateAccount(next));
    return { index: k, result: this.result(k) };
  }

  private setSingle(k: number, next: AccountInput): void {
    const r = this.engine.margin(next);
    if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
    this.inputs[k] = next;
    this.path[k] = Path.Single;
    this.red.accKind[k] = AccKind.None;
    this.single.set(k, r);
    this.singleUnderlyings.set(k, touchedUnderlyings(next));
  }

  /** The vectorized trade; false when the account cannot stay vectorized (an error, or an underlying the book does not have). */
  private tradeVectorized(k: number, next: AccountInput): boolean {
    const tb = this.table!;
    const col = this.model.params.collateral;
    try {
      // every instrument and collateral coin the account needs, in the table first (then valued on the current market)
      for (const p of next.positions) tb.indexOf(p.instrument);
      const balances = [next.collateral, ...next.positions.map((p) => p.collateral ?? {})];
      for (const b of balances) for (const cur of Object.keys(b)) if (!col.usdPegged.includes(cur) && this.market.hasUnderlying(cur)) tb.coinIndex(cur);
    } catch {
      return false;
    }
    if (tb.underlyings.length !== this.underlyings.length) return false;
    this.extendInstruments();
    const hold = new Holdings();
    const subBase = this.nSubs;
    const res = this.resolveAccount(next, k, hold);
    if (!res) return false;
    const rows = this.appendRows(hold, subBase);
    // aggregate the new rows here (the same kernel as the pool: the same doubles)
    const agg = this.runner.localAggregator ?? (this.tradeAggregator ??= new Aggregator(new WasmInstance({ simd: this.runner.variant === 'simd' })));
    agg.setRiskArrays(this.risk, `${this.id}:${this.riskVersion}`);
    const ns = this.nScen;
    const c = this.csr;
    for (const r of rows) {
      const s = this.rowSlot[r];
      agg.worstLossOfRows(r, r + 1, ns, c.rowStart, c.posInstr, c.posSize, this.weights.subarray(s * ns, s * ns + ns), this.rowLoss, this.rowWorst, 0);
      rowImInto(this.addOns!, this.rowBase, this.rowLoss, this.slotSpot[s], r, r + 1, this.red.rowIm);
    }
    this.setAccount(k, res);
    this.computeAccountEquity(k);
    reduceAccount(this.red, this.combine!, k);
    this.failedAccMessage.delete(k);
    return true;
  }

  // ───────────────────────────── results ─────────────────────────────

  /** The result of account k (input order); a non-finite figure makes it an OPTMARGIN_NON_FINITE error. */
  result(k: number): BookAccountResult {
    return finiteOrError(this.rawResult(k)) as BookAccountResult;
  }

  private rawResult(k: number): BookAccountResult {
    const id = this.ids[k];
    if (this.path[k] === Path.Single) {
      const r = this.single.get(k);
      if (!r) return { id, ok: false, error: { code: ErrorCodes.INVALID_OPTION, message: 'not computed yet: call recompute()' } };
      const out = fromMarginResult(r);
      out.id = id; // the book's id for inputs without one (#index), as everywhere else
      return out;
    }
    const red = this.red;
    const kind = red.accKind[k];
    if (red.accFailed[k]) {
      let message = this.failedAccMessage.get(k);
      for (let j = red.accSubFrom[k]; j < red.accSubTo[k] && message === undefined; j++) {
        for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1] && message === undefined; q++) message = this.failedRowMessage.get(red.subRows[q]);
      }
      return { id, ok: false, error: { code: ErrorCodes.WORKER_FAILED, message: `the worker computing this account failed every attempt: ${message ?? 'unknown error'}` } };
    }
    const equity = red.accEquity[k];
    const mm = red.accMm[k];
    const underlyings: UnderlyingWorst[] = [];
    if (kind === AccKind.Pooled) {
      const j = red.accSubFrom[k];
      for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
        const r = red.subRows[q];
        const s = this.rowSlot[r];
        underlyings.push({
          underlying: this.underlyings[s],
          worstScenario: this.scenarioLabels[s][this.rowWorst[r]] ?? '',
          worstLoss: Math.max(0, this.rowLoss[r]),
          initialMargin: red.rowIm[r],
        });
      }
    }
    const mode = this.modes[k];
    return {
      id,
      ok: true,
      mode,
      modeApplied: kind === AccKind.Isolated ? 'isolated' : mode === 'cross' ? 'cross' : 'portfolio',
      equity,
      initialMargin: red.accIm[k],
      maintenanceMargin: mm,
      marginRatio: equity > 0 ? mm / equity : null,
      availableFunds: red.accAvail[k],
      health: HEALTHS[red.accHealth[k]],
      collateralValue: red.accCv[k],
      underlyings,
    };
  }

  results(): BookAccountResult[] {
    const out = new Array<BookAccountResult>(this.n);
    for (let k = 0; k < this.n; k++) out[k] = this.result(k);
    return out;
  }

  /** The current input of account k (after any trade or replace), validated. */
  account(k: number): AccountInput {
    if (!Number.isInteger(k) || k < 0 || k >= this.n) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `account index ${k} is not in the book`);
    return validateAccount(this.inputs[k]);
  }

  /** Account ids in input order. */
  accountIds(): readonly string[] {
    return this.ids;
  }

  /** Number of holdings × scenarios aggregated per full recompute (every row, dead rows of traded accounts included). */
  get work(): number {
    return this.csr.nHold * this.nScen;
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

function emptyReduceArrays(n: number): ReduceArrays {
  return {
    accKind: sharedU8(n),
    accSubFrom: sharedI32(n),
    accSubTo: sharedI32(n),
    accCv: sharedF64(n),
    subRowStart: sharedI32(1),
    subRows: sharedI32(0),
    subEquity: sharedF64(0),
    rowIm: sharedF64(0),
    rowFailed: sharedU8(0),
    accEquity: sharedF64(n),
    accIm: sharedF64(n),
    accMm: sharedF64(n),
    accAvail: sharedF64(n),
    accHealth: sharedU8(n),
    accFailed: sharedU8(n),
  };
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


