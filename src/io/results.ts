/**
 * Book results: one per input account, in input order — a margin (`ok: true`) or the account's
 * error (`ok: false`, with a stable code). Amounts in USD. Serialized as JSON (one document with
 * a header), msgpack (the same document) or CSV (one line per account); the summary is what
 * `optmargin book` prints.
 */
import { Encoder, encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { ByteRows, NUMBER_BYTES } from './byte-rows.js';
import type { AccountMode, Health, MarginFigures, MarginResultError, UsdFigures } from '../measures/types.js';

export const HEALTHS: readonly Health[] = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];

export interface UnderlyingWorst {
  underlying: string;
  /** label of the worst scenario of this underlying's grid, e.g. "-16% vol up" */
  worstScenario: string;
  /** weighted loss in that scenario, USD (≥ 0) */
  worstLoss: number;
  /** this underlying's IM (worst loss + add-ons), USD */
  initialMargin: number;
}

/** One account's figures (equity, IM, MM, margin ratio, available funds, health: MarginFigures, USD). */
export interface BookAccountOk extends MarginFigures {
  id: string;
  ok: true;
  mode: AccountMode;
  modeApplied: AccountMode;
  /** currency of the figures: USD, or a segregated account's settlement currency (deribit-pm) */
  currency: string;
  /** USD equivalents when `currency` is not USD (at the index `price`) */
  usd?: UsdFigures;
  /** collateral after haircuts (in `currency`) */
  collateralValue: number;
  /** grid models (pooled accounts): per underlying, its worst scenario and IM */
  underlyings: UnderlyingWorst[];
}

/** An account the book could not margin: the margin engine's own error result. */
export type BookAccountError = MarginResultError;

export type BookAccountResult = BookAccountOk | BookAccountError;

export interface BookRunStats {
  totalMs: number;
  /** grid path: aggregation + worst loss of every row (pool or in-process) + per-account reduction */
  gridMs: number;
  /** of which aggregation + worst loss (WASM) */
  aggregateMs: number;
  /** of which the per-account reduction on the main thread */
  reduceMs: number;
  /** accounts margined one by one by the margin engine (isolated, non-grid models, errors) */
  singleMs: number;
  singleAccounts: number;
  threads: number;
  variant: string;
  rows: number;
  holdings: number;
  scenarios: number;
  retriedChunks: number;
  failedChunks: number;
}

export interface BookSummary {
  accounts: number;
  ok: number;
  errors: number;
  byHealth: Record<Health, number>;
  /** totals in USD: coin-margined accounts converted at their index (their `usd` figures) */
  totalEquity: number;
  totalInitialMargin: number;
  totalMaintenanceMargin: number;
  /** totals per account currency, in that currency (a book mixing BTC, ETH and USD accounts) */
  byCurrency: Record<string, { accounts: number; equity: number; initialMargin: number; maintenanceMargin: number }>;
  /** the accounts with the lowest equity − MM in USD (the closest to, or deepest in, liquidation); figures in USD */
  worst: { id: string; health: Health; equity: number; maintenanceMargin: number; shortfall: number }[];
  /** accounts with an error: id, code and message (first 100; `errors` counts them all) */
  invalid: { id: string; code: string; message: string }[];
  /** accounts that failed for a reason other than their input (OPTMARGIN_WORKER_FAILED, NON_FINITE, INTERNAL): exit code 3 */
  failed: number;
  /**
   * Ids given to more than one account: a warning, not an error — every account is margined and
   * reported in input order, the id is not a key. `count` = accounts whose id appeared before;
   * `examples`: the first 10 such ids with the input indices that carry them.
   */
  duplicates: { count: number; examples: { id: string; indices: number[] }[] };
  positions?: number;
  ms?: number;
  /** positions × scenarios aggregated per second (grid path) */
  throughput?: number;
}

/** Error codes that mean "the engine failed on this account", not "its input is invalid". */
export const FAILURE_CODES: ReadonlySet<string> = new Set([ErrorCodes.WORKER_FAILED, ErrorCodes.NON_FINITE, ErrorCodes.INTERNAL]);

type Worst = BookSummary['worst'][number];

/**
 * The summary of a book, one result at a time (in input order): counts, totals (USD, and per
 * account currency), the worst accounts in a bounded selection — no array of results needed.
 */
export class Summarizer {
  private s: BookSummary = {
    accounts: 0, ok: 0, errors: 0, failed: 0, byHealth: { healthy: 0, 'margin call': 0, liquidatable: 0, bankrupt: 0 },
    totalEquity: 0, totalInitialMargin: 0, totalMaintenanceMargin: 0, byCurrency: {}, worst: [], invalid: [], duplicates: { count: 0, examples: [] },
  };
  /** the worst accounts so far with their input index (ties broken by input order), at most worstN */
  private worst: (Worst & { gap: number })[] = [];
  private firstIndex = new Map<string, number>();
  private dup = new Map<string, number[]>();

  /**
   * `firstOf`: for each account k of the book, the first index with its id (firstIndices), when
   * the ids are known before the results: then no map of the ids is built here.
   */
  constructor(
    private readonly worstN = 10,
    private readonly firstOf?: Int32Array,
  ) {}

  add(r: BookAccountResult, k: number): void {
    if (!r.ok) {
      const s = this.s;
      this.count(r.id, k);
      s.errors++;
      if (FAILURE_CODES.has(r.error.code)) s.failed++;
      if (s.invalid.length < 100) s.invalid.push({ id: r.id, code: r.error.code, message: r.error.message });
      return;
    }
    const u = r.usd ?? r;
    this.addOk(r.id, k, r.health, r.currency, r.equity, r.initialMargin, r.maintenanceMargin, u.equity, u.initialMargin, u.maintenanceMargin);
  }

  /**
   * Account k's figures without a result object (a book's vectorized account, read from its
   * arrays): equity, IM, MM in `currency`, then in USD (the same numbers for a USD account).
   */
  addOk(id: string, k: number, health: Health, currency: string, equity: number, im: number, mm: number, usdEquity: number, usdIm: number, usdMm: number): void {
    const s = this.s;
    this.count(id, k);
    s.ok++;
    s.byHealth[health]++;
    s.totalEquity += usdEquity;
    s.totalInitialMargin += usdIm;
    s.totalMaintenanceMargin += usdMm;
    const c = (s.byCurrency[currency] ??= { accounts: 0, equity: 0, initialMargin: 0, maintenanceMargin: 0 });
    c.accounts++;
    c.equity += equity;
    c.initialMargin += im;
    c.maintenanceMargin += mm;
    const gap = usdEquity - usdMm;
    const w = this.worst;
    if (w.length < this.worstN || gap < w[w.length - 1].gap) {
      // results arrive in input order: an equal gap sorts after the ones already kept
      let i = w.length;
      while (i > 0 && w[i - 1].gap > gap) i--;
      w.splice(i, 0, { gap, id, health, equity: usdEquity, maintenanceMargin: usdMm, shortfall: -gap });
      if (w.length > this.worstN) w.pop();
    }
  }

  /** One more account, and its id against the ids seen (duplicates are a warning). */
  private count(id: string, k: number): void {
    this.s.accounts++;
    const f = this.firstOf;
    const seen = f ? (f[k] === k ? undefined : f[k]) : this.firstIndex.get(id);
    if (seen === undefined) {
      if (!f) this.firstIndex.set(id, k);
    } else {
      this.s.duplicates.count++;
      const d = this.dup.get(id);
      if (d) d.push(k);
      else if (this.dup.size < 10) this.dup.set(id, [seen, k]);
    }
  }

  finish(): BookSummary {
    const s = this.s;
    if (!Number.isFinite(s.totalEquity) || !Number.isFinite(s.totalInitialMargin) || !Number.isFinite(s.totalMaintenanceMargin)) {
      throw new OptmarginError(ErrorCodes.INTERNAL, 'book totals overflowed although every account is within the documented limits');
    }
    s.worst = this.worst.map(({ id, health, equity, maintenanceMargin, shortfall }) => ({ id, health, equity, maintenanceMargin, shortfall }));
    s.duplicates.examples = [...this.dup].map(([id, indices]) => ({ id, indices }));
    const sorted: BookSummary['byCurrency'] = {};
    for (const c of Object.keys(s.byCurrency).sort()) sorted[c] = s.byCurrency[c];
    s.byCurrency = sorted;
    return s;
  }
}

/**
 * For each id, the index of the first id equal to it (itself when it is new): duplicates found
 * with an open-addressing table of FNV-1a hashes (a string compare only when two hashes share a
 * slot), no map of the strings.
 */
export function firstIndices(ids: readonly string[]): Int32Array {
  const n = ids.length;
  const first = new Int32Array(n);
  let cap = 16;
  while (cap < 2 * n) cap *= 2;
  const table = new Int32Array(cap).fill(-1);
  for (let k = 0; k < n; k++) {
    const s = ids[k];
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
    let slot = (h ^ (h >>> 15)) & (cap - 1);
    for (;;) {
      const j = table[slot];
      if (j < 0) {
        table[slot] = first[k] = k;
        break;
      }
      if (ids[j] === s) {
        first[k] = j;
        break;
      }
      slot = (slot + 1) & (cap - 1);
    }
  }
  return first;
}

export function summarize(results: readonly BookAccountResult[], worstN = 10): BookSummary {
  const sum = new Summarizer(worstN);
  results.forEach((r, k) => sum.add(r, k));
  return sum.finish();
}

export type ResultFormat = 'json' | 'msgpack' | 'csv';

export function formatOf(file: string): ResultFormat | null {
  if (file.endsWith('.json')) return 'json';
  if (file.endsWith('.msgpack') || file.endsWith('.mpk')) return 'msgpack';
  if (file.endsWith('.csv')) return 'csv';
  return null;
}

export interface ResultsDocument {
  format: 'optmargin.book-results/1';
  model: { id: string; version: string; hash: string; mechanism: string };
  marketHash: string;
  valuationTime: number;
  summary: BookSummary;
  results: BookAccountResult[];
}

/**
 * One CSV field (RFC 4180 quoting). Text fields that a spreadsheet would run as a formula (first
 * character = + - @ TAB CR) get a leading apostrophe (OWASP "CSV injection"); numbers are
 * written as numbers (String(x): the shortest text that reads back as the same double).
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return csvText(String(v));
}

/** A text field (csvField's rule) by one scan of its characters: no regex, no copy when nothing needs escaping. */
export function csvText(s: string): string {
  const formula = isFormulaStart(s.charCodeAt(0));
  let quote = false;
  for (let i = 0; i < s.length && !quote; i++) quote = needsQuote(s.charCodeAt(i));
  const t = formula ? `'${s}` : s;
  return quote ? `"${t.replace(/"/g, '""')}"` : t;
}

/** = + - @ TAB CR: a spreadsheet would run the field as a formula */
const isFormulaStart = (c: number): boolean => c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13;
/** " , LF CR: the field is quoted */
const needsQuote = (c: number): boolean => c === 34 || c === 44 || c === 10 || c === 13;

/**
 * A text field given as UTF-16 code units [a, b) into `out` when csvText would leave it as it is
 * and it is ASCII (its bytes are its code units); false (nothing written) otherwise.
 */
export function csvUnitsInto(out: ByteRows, units: ArrayLike<number>, a: number, b: number): boolean {
  if (a < b && isFormulaStart(units[a])) return false;
  for (let i = a; i < b; i++) if (units[i] >= 0x80 || needsQuote(units[i])) return false;
  out.room(b - a);
  for (let i = a; i < b; i++) out.byte(units[i]);
  return true;
}

/** The bytes of a few text fields' csvText (modes, healths, currencies: small sets), made once each. */
const textBytes = new Map<string, Uint8Array>();

/** A text field's bytes, then the byte `end` (a comma). */
function csvTextInto(out: ByteRows, s: string, end: number): void {
  let t = textBytes.get(s);
  if (t === undefined) {
    t = Buffer.from(csvText(s));
    if (textBytes.size < 256) textBytes.set(s, t);
  }
  out.room(t.length + 1);
  for (let i = 0; i < t.length; i++) out.byte(t[i]);
  out.byte(end);
}

/** A number field's bytes ('' for null: a margin ratio without equity), then the byte `end` (room already made). */
function csvNumberInto(out: ByteRows, x: number | null | undefined, end: number): void {
  if (x !== null && x !== undefined) out.number(x);
  out.byte(end);
}

export const CSV_COLUMNS = [
  'id', 'ok', 'mode', 'health', 'currency', 'equity', 'initialMargin', 'maintenanceMargin', 'availableFunds', 'marginRatio', 'collateralValue', 'equityUsd', 'initialMarginUsd', 'maintenanceMarginUsd', 'errorCode', 'errorMessage',
] as const;

/** One encoder for every msgpack result piece (`encode` would make one per call): the same bytes as `encode(r)`. */
const encoder = new Encoder();

/**
 * Result k (input order) as it goes into a results stream of `format` (after the header): a CSV
 * line, a JSON array element (a comma before every one but the first) or a msgpack value. The
 * one home of a result's bytes, whoever formats it (the main thread or a book worker).
 */
export function resultPiece(format: ResultFormat, r: BookAccountResult, k: number): string | Uint8Array {
  if (format === 'csv') return csvRow(r) + '\n';
  if (format === 'json') return (k > 0 ? ',' : '') + JSON.stringify(r);
  return encoder.encode(r);
}

/** Serializes a results document; numbers print with full precision (round-trip exact). */
export function serializeResults(doc: ResultsDocument, format: ResultFormat): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify(doc) + '\n');
  if (format === 'msgpack') return encode(doc);
  const lines: string[] = [CSV_COLUMNS.join(',')];
  for (const r of doc.results) lines.push(csvRow(r));
  return Buffer.from(lines.join('\n') + '\n');
}

/** What an ok result's CSV line reads besides its id: a result's, or a format chunk's read from the book's arrays. */
export type CsvFigures = Pick<BookAccountOk, 'mode' | 'health' | 'currency' | 'equity' | 'initialMargin' | 'maintenanceMargin' | 'availableFunds' | 'marginRatio' | 'collateralValue' | 'usd'>;

/** (no Buffer at module level: the browser bundle imports this module) */
const TRUE_FIELD = new TextEncoder().encode(',true,');

/**
 * An ok result's CSV line after its id, up to its last comma (CSV_COLUMNS from `ok` on), as bytes
 * into `out`: the one home of that layout (csvRow derives its text from these bytes). Numbers are
 * String(x)'s bytes (writeNumber); a USD account's USD columns are the bytes of its own three
 * figures, copied.
 */
export function csvFiguresInto(out: ByteRows, f: CsvFigures): void {
  out.add(TRUE_FIELD);
  csvTextInto(out, f.mode, 44);
  csvTextInto(out, f.health, 44);
  csvTextInto(out, f.currency, 44);
  out.room(9 * (NUMBER_BYTES + 1) + 2);
  const own = out.n;
  csvNumberInto(out, f.equity, 44);
  csvNumberInto(out, f.initialMargin, 44);
  csvNumberInto(out, f.maintenanceMargin, 44);
  const ownEnd = out.n;
  csvNumberInto(out, f.availableFunds, 44);
  csvNumberInto(out, f.marginRatio, 44);
  csvNumberInto(out, f.collateralValue, 44);
  const u = f.usd;
  if (u) {
    csvNumberInto(out, u.equity, 44);
    csvNumberInto(out, u.initialMargin, 44);
    csvNumberInto(out, u.maintenanceMargin, 44);
  } else out.repeat(own, ownEnd);
  out.byte(44);
}

let rowBytes: ByteRows | undefined;

/** One result as a CSV line (CSV_COLUMNS), without its newline. */
export function csvRow(r: BookAccountResult): string {
  if (!r.ok) return `${csvText(r.id)},false,,,,,,,,,,,,,${csvText(r.error.code)},${csvText(r.error.message)}`;
  const b = (rowBytes ??= new ByteRows());
  b.n = 0;
  csvFiguresInto(b, r);
  return csvText(r.id) + b.buf.toString('utf8', 0, b.n);
}
