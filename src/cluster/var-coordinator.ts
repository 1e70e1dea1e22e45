/**
 * The coordinator of a distributed VaR run (`optmargin var BOOK --nats URL`; docs/scale-out.md):
 * the job (market, scenario set, α, quantile convention, the book's path) is published once;
 * a shard is a range of accounts: a byte range of a JSON-lines book that workers read from the
 * shared file (the coordinator only finds line ends and hashes the bytes, it parses no account),
 * or, for other formats and --nats-inline, the accounts themselves. Each shard's result is its
 * accounts' figures and its instruments' exact net sizes: the coordinator revalues the
 * instruments as they first arrive (while workers compute), merges the net sizes in book order
 * and computes the book's own VaR / ES from the netted row, as a local run does (risk/book-var.ts).
 */
import type { MarginMarket } from '../market/margin-market.js';
import { InstrumentTable } from '../instruments/table.js';
import type { QuantileConvention } from '../measures/quantiles.js';
import { ExactSum } from '../risk/exact-sum.js';
import { figuresFromTails, mergeTails, nettedRow, tailLength, TailRunner } from '../risk/book-var.js';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { revalueInstruments, type ScenarioValues } from '../risk/revalue.js';
import type { ScenarioSet } from '../risk/scenario-set.js';
import type { BrokerOptions } from './broker.js';
import { fittingRanges, newJobId, runJob, type DistributedStats } from './job.js';
import { pack, PROTOCOL_VERSION, type ResultMessage } from './protocol.js';
import { decodeVarResult, packSet, sha256, varShardHash, type VarJobSpec, type VarShardArrays, type VarWorkMessage } from './var-protocol.js';

export const DEFAULT_VAR_SHARD_ACCOUNTS = 5000;

/** The book as the coordinator shards it. */
export type VarSource =
  /** a JSON-lines file that every worker reads at `path` */
  | { kind: 'lines'; bytes: Uint8Array; path: string; name: string }
  /** the parsed entries, sent in the shards */
  | { kind: 'inline'; entries: readonly unknown[] };

export interface DistributedVarOptions extends BrokerOptions {
  url: string;
  market: MarginMarket;
  /** how workers rebuild it: tableMarket (the history's closes) or resolveMarket (a --market snapshot) */
  marketKind: 'table' | 'snapshot';
  marketHash: string;
  set: ScenarioSet;
  alpha: number;
  quantile: QuantileConvention;
  source: VarSource;
  shardAccounts?: number;
  /** scenario blocks per account range (default 1: every shard over the whole set) */
  scenarioBlocks?: number;
  stallS?: number;
}

export interface DistributedVarResult {
  ids: string[];
  value: Float64Array;
  var: Float64Array;
  es: Float64Array;
  book: { var: number; es: number };
  holdings: number;
  instruments: number;
  stats: DistributedStats;
  /** coordinator stages, ms: shards published, results gathered (with revaluation), the book's tail */
  stages: { publish: number; gather: number; bookTail: number };
}

interface Range {
  start: number;
  end: number;
  line: number;
  n: number;
}

const isBlank = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== 0x0d) return false;
  return true;
};

/** Cuts a JSON-lines book into byte ranges of `size` non-blank lines each (line numbers from 1). */
export function lineRanges(b: Uint8Array, size: number): Range[] {
  const out: Range[] = [];
  let start = 0;
  let line = 1;
  let n = 0;
  let at = 0;
  let lineNo = 1;
  while (at < b.length) {
    let nl = b.indexOf(10, at);
    if (nl < 0) nl = b.length;
    if (!(b[at] === 0x7b || !isBlank(b, at, nl))) {
      // a blank line before the range's first account starts the next range after it
      if (n === 0) {
        start = nl + 1;
        line = lineNo + 1;
      }
    } else n++;
    at = nl + 1;
    lineNo++;
    if (n === size) {
      out.push({ start, end: Math.min(at, b.length), line, n });
      start = at;
      line = lineNo;
      n = 0;
    }
  }
  if (n > 0) out.push({ start, end: b.length, line, n });
  return out;
}

function jobSpec(job: string, o: DistributedVarOptions): VarJobSpec {
  // a history market is a table market (its spec is its snapshot); a --market file is a snapshot
  const m = o.marketKind === 'table' ? { table: o.market.snapshot } : { snapshot: o.market.snapshot };
  return { v: PROTOCOL_VERSION, job, kind: 'var', market: m, marketHash: o.marketHash, set: packSet(o.set), alpha: o.alpha, quantile: o.quantile, ...(o.source.kind === 'lines' ? { book: { path: o.source.path, name: o.source.name } } : {}) };
}

interface VarShard {
  hash: string;
  label: string;
  /** accounts, their account range (index into the ranges) and scenario block */
  n: number;
  range: number;
  block: number;
}

/** The scenario blocks of a set of n: [from, to) each, --scenario-blocks of them, each at least as long as the tail. */
export function scenarioBlocks(n: number, blocks: number, m: number): [number, number][] {
  const size = Math.ceil(n / blocks);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  if (out.some(([a, b]) => b - a < m)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--scenario-blocks ${blocks}: blocks of ${size} of the ${n} scenarios would be shorter than the tail of ${m} entries that VaR at this alpha needs`, '--scenario-blocks');
  return out;
}

/**
 * Publishes the shards: each account range (byte ranges of the shared file, or the entries
 * themselves, halved until they fit) × each scenario block.
 */
async function publishVarShards(emit: (shard: number, bytes: Uint8Array) => Promise<void>, spec: VarJobSpec, o: DistributedVarOptions, maxPayload: number): Promise<VarShard[]> {
  const size = o.shardAccounts ?? DEFAULT_VAR_SHARD_ACCOUNTS;
  const blocks: ([number, number] | undefined)[] = (o.scenarioBlocks ?? 1) > 1 ? scenarioBlocks(o.set.n, o.scenarioBlocks!, tailLength(o.set.n, o.alpha)) : [undefined];
  const shards: VarShard[] = [];
  const base = { v: PROTOCOL_VERSION, job: spec.job, kind: 'var' as const };
  let nRanges = 0;
  const publishRange = async (first: number, n: number, input: Pick<VarWorkMessage, 'range' | 'content' | 'accounts'>, content: string, label: string): Promise<void> => {
    const range = nRanges++;
    for (let b = 0; b < blocks.length; b++) {
      const scen = blocks[b];
      const w: VarWorkMessage = { ...base, shard: shards.length, first, n, hash: varShardHash(spec, first, n, content, scen), ...input, ...(scen ? { scen } : {}) };
      shards.push({ hash: w.hash, label: `${label}${scen ? `, scenarios ${scen[0]}–${scen[1] - 1}` : ''}`, n, range, block: b });
      await emit(w.shard, pack(w));
    }
  };
  const src = o.source;
  if (src.kind === 'lines') {
    let first = 0;
    for (const r of lineRanges(src.bytes, size)) {
      const content = sha256(src.bytes.subarray(r.start, r.end));
      await publishRange(first, r.n, { range: [r.start, r.end, r.line], content }, content, `accounts ${first}–${first + r.n - 1}, lines ${r.line}…`);
      first += r.n;
    }
    return shards;
  }
  await fittingRanges(src.entries.length, size, maxPayload, (from, to) => ({ bytes: pack(src.entries.slice(from, to)) }), (from, to, { bytes }) =>
    publishRange(from, to - from, { accounts: bytes }, sha256(bytes), `accounts ${from}–${to - 1}`),
  );
  return shards;
}

/** The book's VaR on the cluster's workers: every account's figures in book order and the book's, or an error. */
export async function runDistributedVar(o: DistributedVarOptions): Promise<DistributedVarResult> {
  const job = newJobId();
  const spec = jobSpec(job, o);
  let shards: VarShard[] = [];
  const m = tailLength(o.set.n, o.alpha);
  const blocked = (o.scenarioBlocks ?? 1) > 1;
  // instruments revalued as they first arrive (any order: a row's values do not depend on its index)
  const table = new InstrumentTable(o.market);
  let sv: ScenarioValues | undefined;
  const decoded = new Map<number, VarShardArrays>();
  const indexOf = (name: string): number => (name.startsWith('coin:') ? table.coinIndex(name.slice(5)) : table.indexOf(name));
  const t0 = performance.now();
  const accept = (r: ResultMessage): void => {
    const d = decodeVarResult(r.var ?? {}, shards[r.shard].n, blocked ? m : undefined);
    for (const name of d.names) indexOf(name);
    sv = revalueInstruments(table, o.set, sv);
    decoded.set(r.shard, d);
  };
  const publish = async (emit: (shard: number, bytes: Uint8Array) => Promise<void>, maxPayload: number) => (shards = await publishVarShards(emit, spec, o, maxPayload));
  const { stats } = await runJob(job, { ...o, spec: pack(spec), specWhat: 'market + scenario set', publish, accept });
  const t1 = performance.now();
  const n = shards.reduce((s, x) => s + (x.block === 0 ? x.n : 0), 0);
  const out = { ids: [] as string[], value: new Float64Array(n), var: new Float64Array(n), es: new Float64Array(n) };
  const net = new Map<string, ExactSum>();
  let holdings = 0;
  let at = 0;
  for (let s = 0; s < shards.length; s++) {
    if (shards[s].block !== 0) continue;
    const d = decoded.get(s)!;
    const f = blocked ? figuresOfRange(shards, decoded, s, m, o) : { var: d.var!, es: d.es! };
    for (const id of d.ids) out.ids.push(id);
    out.value.set(d.value, at);
    out.var.set(f.var, at);
    out.es.set(f.es, at);
    at += d.ids.length;
    holdings += d.holdings;
    // the book's net size of each instrument: exact partial sums merged in book order of first holding
    let p = 0;
    d.names.forEach((name, k) => {
      let sum = net.get(name);
      if (!sum) net.set(name, (sum = new ExactSum()));
      sum.addExpansion(d.partials.subarray(p, p + d.count[k]));
      p += d.count[k];
    });
  }
  let value = 0;
  for (let a = 0; a < n; a++) value += out.value[a];
  const row = nettedRow([...net.keys()].map(indexOf), [...net.values()].map((x) => x.value()), value);
  sv = revalueInstruments(table, o.set, sv);
  const runner = new TailRunner(1);
  try {
    const tail = await runner.tails(row, sv.values, o.set.n, m, 1);
    const b = figuresFromTails(tail, 1, o.set.n, o.alpha, o.quantile);
    const t2 = performance.now();
    return { ...out, book: { var: b.var[0], es: b.es[0] }, holdings, instruments: net.size, stats, stages: { publish: stats.publishMs, gather: t1 - t0 - stats.publishMs, bookTail: t2 - t1 } };
  } finally {
    await runner.close();
  }
}

/** VaR and ES of an account range from its scenario blocks' tails (shards s, s + 1, … of one range). */
function figuresOfRange(shards: VarShard[], decoded: Map<number, VarShardArrays>, s: number, m: number, o: DistributedVarOptions): { var: Float64Array; es: Float64Array } {
  const parts: Float64Array[] = [];
  for (let k = s; k < shards.length && shards[k].range === shards[s].range; k++) parts.push(decoded.get(k)!.tail!);
  return figuresFromTails(mergeTails(parts, shards[s].n, m), shards[s].n, o.set.n, o.alpha, o.quantile);
}
