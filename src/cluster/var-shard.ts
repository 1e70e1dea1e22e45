/**
 * A worker's side of a VaR run (cluster/var-protocol.ts): the job's market, scenario set,
 * instrument table and revaluation are built once per job and kept between its shards (each
 * shard revalues only instruments the worker has not seen yet); a shard's accounts are read
 * from its byte range of the shared book file (or from the message), resolved, and their tails
 * computed on the worker's local pool by the same code as a local `optmargin var`: a byte range
 * is read as a local run reads a chunk of the book (io/ingest-chunk.ts, risk/book-var.ts
 * firstRiskError, riskCsrOf), inline accounts as account objects (riskAccounts, riskCsr); then
 * TailRunner, figuresFromTails, netSizes.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { InstrumentTable } from '../instruments/table.js';
import { decodeMsgpack } from '../io/decode.js';
import { ingestChunk, jsonLineEntries } from '../io/ingest-chunk.js';
import { ColumnParts } from '../instruments/column-parts.js';
import { marketHashOf, tableMarket, type MarginMarket, type TableMarketSpec } from '../market/margin-market.js';
import { resolveMarket } from '../market/resolved.js';
import { figuresFromTails, firstRiskError, netSizes, riskAccounts, riskCsr, riskCsrOf, tailLength, TailRunner, type RiskCsr } from '../risk/book-var.js';
import { strikeSpec, type StrikeSpec } from '../risk/rolling.js';
import { revalueInstruments, type ScenarioValues } from '../risk/revalue.js';
import { scenarioBlock, type ScenarioSet } from '../risk/scenario-set.js';
import { clusterError } from './broker.js';
import { PROTOCOL_VERSION, type ResultMessage } from './protocol.js';
import { bytesOf, sha256, unpackSet, varShardHash, type VarJobSpec, type VarShardResult, type VarWorkMessage } from './var-protocol.js';

/** The market of a job, rebuilt from what the coordinator sent, and its underlyings. */
export function jobMarket(m: VarJobSpec['market']): { market: MarginMarket; underlyings: readonly string[] } {
  if (m.table !== undefined) return { market: tableMarket(m.table as TableMarketSpec), underlyings: Object.keys((m.table as TableMarketSpec).underlyings) };
  const market = resolveMarket(m.snapshot as Parameters<typeof resolveMarket>[0]);
  return { market, underlyings: market.underlyings };
}

/** Reads bytes [start, end) of a file (CLUSTER_FAILED when this worker cannot: another may). */
function readRange(path: string, start: number, end: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw clusterError(`cannot open the book ${path} on this worker (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): workers read it by the path the coordinator gives (--nats-book), or use --nats-inline`);
  }
  try {
    const b = Buffer.allocUnsafe(end - start);
    let got = 0;
    while (got < b.length) {
      const k = readSync(fd, b, got, b.length - got, start + got);
      if (k === 0) throw clusterError(`the book ${path} on this worker ends at byte ${start + got}, before byte ${end}: not the coordinator's file`);
      got += k;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}

export class VarJob {
  private readonly table: InstrumentTable;
  private readonly runner: TailRunner;
  /** per scenario block ('all' or 'from:to'): its set and the values revalued so far */
  private readonly blocks = new Map<string, { set: ScenarioSet; sv?: ScenarioValues }>();
  private readonly m: number;

  private constructor(
    private readonly spec: VarJobSpec,
    private readonly market: MarginMarket,
    /** the market as the book reader strikes `atm` positions on it */
    private readonly strike: StrikeSpec,
    private readonly set: ScenarioSet,
    threads: number,
  ) {
    this.table = new InstrumentTable(market);
    this.runner = new TailRunner(threads);
    this.m = tailLength(set.n, spec.alpha);
  }

  static create(spec: VarJobSpec, threads: number): VarJob {
    const { market, underlyings } = jobMarket(spec.market);
    const h = marketHashOf(market);
    if (h !== spec.marketHash) throw clusterError(`job ${spec.job}: the market rebuilt here hashes ${h}, the coordinator's ${spec.marketHash}: mixed optmargin versions?`);
    return new VarJob(spec, market, strikeSpec(market, underlyings), unpackSet(spec.set), threads);
  }

  /**
   * The shard's accounts resolved into tail rows: its message's accounts (risk/book-var.ts
   * riskAccounts, riskCsr), or its byte range of the book read as a local run reads a chunk of
   * it (io/ingest-chunk.ts with the job's StrikeSpec, then riskCsrOf; line numbers and entry
   * indices those of the whole file).
   */
  private shardCsr(w: VarWorkMessage): RiskCsr {
    if (w.accounts) {
      const list = decodeMsgpack(w.accounts, `shard ${w.shard} accounts`);
      if (!Array.isArray(list)) throw clusterError(`shard ${w.shard}: accounts are not an array`);
      this.count(w, list.length);
      return riskCsr(this.table, riskAccounts(list, this.market, w.first));
    }
    const book = this.spec.book;
    if (!book) throw clusterError(`shard ${w.shard} of job ${w.job}: a byte range but no book path in the job`);
    const [start, end, line] = w.range!;
    const bytes = readRange(book.path, start, end);
    if (sha256(bytes) !== w.content) throw clusterError(`the book ${book.path} on this worker differs from the coordinator's in bytes ${start}–${end}`);
    const parts = new ColumnParts([ingestChunk({ format: 'jsonl', bytes, firstLine: line, firstIndex: -1, entries: jsonLineEntries(bytes), strike: this.strike }).columns]);
    this.count(w, parts.n);
    firstRiskError(parts, w.first);
    return riskCsrOf(this.table, parts, w.first);
  }

  private count(w: VarWorkMessage, n: number): void {
    if (n !== w.n) throw clusterError(`shard ${w.shard}: ${n} accounts read where the coordinator counted ${w.n}`);
  }

  /** The shard's scenarios (the whole set or a block) with the instruments of the table revalued under them. */
  private values(scen: [number, number] | undefined): ScenarioValues {
    const key = scen ? scen.join(':') : 'all';
    let b = this.blocks.get(key);
    if (!b) {
      if (scen && scen[1] > this.set.n) throw clusterError(`scenario block ${key} of a set of ${this.set.n}`);
      b = { set: scen ? scenarioBlock(this.set, scen[0], scen[1]) : this.set };
      this.blocks.set(key, b);
    }
    b.sv = revalueInstruments(this.table, b.set, b.sv);
    return b.sv;
  }

  async compute(w: VarWorkMessage, worker: string): Promise<ResultMessage> {
    const t0 = performance.now();
    const content = w.accounts ? sha256(w.accounts) : w.content!;
    if (varShardHash(this.spec, w.first, w.n, content, w.scen) !== w.hash) throw clusterError(`shard ${w.shard} of job ${w.job}: its inputs do not match its hash (corrupted in transit?)`);
    const csr = this.shardCsr(w);
    const sv = this.values(w.scen);
    if (sv.n < this.m) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `a scenario block of ${sv.n} scenarios is shorter than the tail (${this.m}): use fewer --scenario-blocks`);
    const tails = await this.runner.tails(csr, sv.values, sv.n, this.m);
    // a block returns its tails (merged on the coordinator), the whole set the figures
    const figures = w.scen ? { tail: bytesOf(tails.val.slice(0, w.n * this.m)) } : this.figures(tails.val, w.n);
    // the net sizes travel once per account range: with the whole set or the first block
    const net = !w.scen || w.scen[0] === 0 ? netSizes(csr) : { instr: [], sums: [] };
    const count = Int32Array.from(net.sums, (s) => s.partials.length);
    const partials = Float64Array.from(net.sums.flatMap((s) => s.partials));
    if (partials.some((x) => !Number.isFinite(x))) throw new OptmarginError(ErrorCodes.INTERNAL, `shard ${w.shard}: a non-finite net size`);
    const result: VarShardResult = {
      ids: csr.ids,
      value: bytesOf(csr.value),
      ...figures,
      holdings: csr.accStart[w.n],
      net: { names: net.instr.map((i) => this.table.names[i]), count: bytesOf(count), partials: bytesOf(partials) },
    };
    return { v: PROTOCOL_VERSION, job: w.job, shard: w.shard, hash: w.hash, worker, positions: result.holdings, ms: performance.now() - t0, var: result as unknown as Record<string, unknown> };
  }

  private figures(val: Float64Array, n: number): { var: Uint8Array; es: Uint8Array } {
    const f = figuresFromTails({ m: this.m, val }, n, this.set.n, this.spec.alpha, this.spec.quantile);
    return { var: bytesOf(f.var), es: bytesOf(f.es) };
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
