/**
 * Daily histories for the risk engine: closes per underlying, aligned by date, and implied-vol
 * indices (DVOL, ATM IV) where present.
 *
 * Files (CSV, header row):
 *   price   `date,close[,…]`                       e.g. btc_usdt_1d_binance.csv
 *   vol     `date,dvol[,…]` (vol points, 56.76)    e.g. btc_dvol_1d.csv
 *   ATM IV  `snapshot_time,currency,atm_iv_30d,…` (decimal, 0.3968; several underlyings; the last
 *           snapshot of each UTC date is that date's value)
 * The underlying of a price or DVOL file is `--history BTC=FILE`, else the letters of the file
 * name before the first `_`, `-` or `.` (btc_usdt_1d_binance.csv → BTC).
 *
 * Alignment: the history's dates are the dates on which EVERY price series has a close
 * (intersection). Returns r_t = ln(S_t / S_{t−1}) between consecutive aligned dates, dated t.
 * Vol series are read onto those dates; a date without a vol observation holds NaN.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { readBytes } from '../platform/files.js';
import { sha256OfParts } from '../platform/hash.js';
import { parseCsv } from '../market/csv.js';

export interface HistorySpec {
  /** file path; `text` (when given) is used instead of reading it */
  file: string;
  /** underlying forced by the `U=FILE` form */
  underlying?: string;
  text?: string;
}

export interface History {
  /** underlyings with a price series, in the order given */
  readonly underlyings: string[];
  /** aligned dates, YYYY-MM-DD ascending */
  readonly dates: string[];
  /** closes per underlying, aligned on `dates` */
  readonly close: Record<string, Float64Array>;
  /** implied vol (decimal) per underlying on `dates`, NaN where absent; absent key = no vol file */
  readonly vol: Record<string, Float64Array>;
  /** sha256 (hex, 16) of the aligned closes and vols: carried into every scenario set built from it */
  readonly hash: string;
  /** the files read, per role */
  readonly sources: { file: string; underlying: string; kind: 'price' | 'dvol' | 'atm-iv' }[];
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function fileError(file: string, msg: string): OptmarginError {
  return new OptmarginError(ErrorCodes.INVALID_FILE, `${file}: ${msg}`);
}

/** Parses `U=FILE` / `FILE` items of a comma-separated --history value. */
export function parseHistoryArg(arg: string): HistorySpec[] {
  return arg
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const m = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/.exec(s);
      return m ? { file: m[2], underlying: m[1].toUpperCase() } : { file: s };
    });
}

export function underlyingFromFileName(file: string): string {
  const m = /^([A-Za-z][A-Za-z0-9]*?)(?=[_.\-]|$)/.exec(file.split(/[\\/]/).pop() ?? file);
  if (!m) throw fileError(file, 'cannot tell the underlying from the file name: use --history U=FILE');
  return m[1].toUpperCase();
}

interface Series {
  underlying: string;
  dates: string[];
  values: number[];
}

function readText(spec: HistorySpec): string {
  if (spec.text !== undefined) return spec.text;
  return new TextDecoder().decode(readBytes(spec.file)); // INVALID_FILE naming the file and the system's reason
}

/** One dated column of a CSV, validated: dates strictly increasing, values finite and > 0. */
function readColumn(file: string, rows: string[][], dateCol: number, valueCol: number, name: string, underlying: string): Series {
  const dates: string[] = [];
  const values: number[] = [];
  for (let r = 1; r < rows.length; r++) {
    const d = rows[r][dateCol]?.trim() ?? '';
    const raw = rows[r][valueCol]?.trim() ?? '';
    if (!DATE_RE.test(d) || Number.isNaN(Date.parse(d))) throw fileError(file, `line ${r + 1}: date must be YYYY-MM-DD, got ${JSON.stringify(d)}`);
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v) || !(v > 0)) throw fileError(file, `line ${r + 1}: ${name} must be a number > 0, got ${JSON.stringify(raw)}`);
    if (dates.length && d <= dates[dates.length - 1]) {
      throw fileError(file, `line ${r + 1}: dates must be strictly increasing (${d} after ${dates[dates.length - 1]})`);
    }
    dates.push(d);
    values.push(v);
  }
  if (dates.length === 0) throw fileError(file, 'no data rows');
  return { underlying, dates, values };
}

/** ATM-IV snapshot history: several underlyings, many snapshots a day → the last of each date. */
function readAtmIv(file: string, rows: string[][]): Series[] {
  const h = rows[0].map((c) => c.trim());
  const ti = h.indexOf('snapshot_time');
  const ci = h.indexOf('currency');
  const vi = h.indexOf('atm_iv_30d');
  const by = new Map<string, Map<string, number>>();
  for (let r = 1; r < rows.length; r++) {
    const ts = rows[r][ti] ?? '';
    const d = ts.slice(0, 10);
    const v = Number(rows[r][vi]);
    if (!DATE_RE.test(d)) throw fileError(file, `line ${r + 1}: snapshot_time must start YYYY-MM-DD, got ${JSON.stringify(ts)}`);
    if (!Number.isFinite(v) || !(v > 0)) throw fileError(file, `line ${r + 1}: atm_iv_30d must be a number > 0, got ${JSON.stringify(rows[r][vi])}`);
    const u = (rows[r][ci] ?? '').trim().toUpperCase();
    if (!u) throw fileError(file, `line ${r + 1}: currency is empty`);
    let m = by.get(u);
    if (!m) by.set(u, (m = new Map()));
    const prev = m.get(d);
    // rows are in time order within the file; keep the latest snapshot of the date
    if (prev === undefined || ts >= String(prev)) m.set(d, v);
  }
  return [...by].map(([u, m]) => {
    const dates = [...m.keys()].sort();
    return { underlying: u, dates, values: dates.map((d) => m.get(d)!) };
  });
}

function sha16(parts: (string | Float64Array)[]): string {
  return sha256OfParts(parts).slice(0, 16);
}

/** Reads and aligns the history files. */
export function loadHistory(specs: HistorySpec[]): History {
  if (specs.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, '--history needs at least one file', 'history');
  const prices: Series[] = [];
  const vols: Series[] = [];
  const sources: History['sources'] = [];
  for (const spec of specs) {
    const rows = parseCsv(readText(spec));
    if (rows.length < 2) throw fileError(spec.file, 'needs a header row and data rows');
    const head = rows[0].map((c) => c.trim().toLowerCase());
    if (head.includes('atm_iv_30d') && head.includes('currency')) {
      for (const s of readAtmIv(spec.file, rows)) {
        if (spec.underlying && s.underlying !== spec.underlying) continue;
        vols.push({ ...s, values: s.values });
        sources.push({ file: spec.file, underlying: s.underlying, kind: 'atm-iv' });
      }
      continue;
    }
    const u = spec.underlying ?? underlyingFromFileName(spec.file);
    const di = head.indexOf('date');
    if (di < 0) throw fileError(spec.file, `needs a "date" column (columns: ${rows[0].join(', ')})`);
    if (head.includes('dvol')) {
      const s = readColumn(spec.file, rows, di, head.indexOf('dvol'), 'dvol', u);
      vols.push({ ...s, values: s.values.map((v) => v / 100) });
      sources.push({ file: spec.file, underlying: u, kind: 'dvol' });
      continue;
    }
    const ci = head.indexOf('close');
    if (ci < 0) throw fileError(spec.file, `needs a "close" column (columns: ${rows[0].join(', ')})`);
    if (prices.some((p) => p.underlying === u)) throw fileError(spec.file, `a second price history for ${u}: give one per underlying`);
    prices.push(readColumn(spec.file, rows, di, ci, 'close', u));
    sources.push({ file: spec.file, underlying: u, kind: 'price' });
  }
  if (prices.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, '--history has no price file (a CSV with date and close)', 'history');
  return alignHistory(prices, vols, sources);
}

function alignHistory(prices: Series[], vols: Series[], sources: History['sources']): History {
  let common = new Set(prices[0].dates);
  for (const p of prices.slice(1)) {
    const s = new Set(p.dates);
    common = new Set([...common].filter((d) => s.has(d)));
  }
  const dates = [...common].sort();
  if (dates.length < 2) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the price histories share ${dates.length} date(s): at least 2 are needed for a return`, 'history');
  }
  const close: Record<string, Float64Array> = {};
  for (const p of prices) {
    const at = new Map(p.dates.map((d, k) => [d, p.values[k]]));
    close[p.underlying] = Float64Array.from(dates, (d) => at.get(d)!);
  }
  const vol: Record<string, Float64Array> = {};
  // DVOL before ATM IV for one underlying on one date: the first file given wins
  for (const v of vols) {
    if (!close[v.underlying]) continue;
    const at = new Map(v.dates.map((d, k) => [d, v.values[k]]));
    const arr = (vol[v.underlying] ??= new Float64Array(dates.length).fill(NaN));
    dates.forEach((d, k) => {
      if (Number.isNaN(arr[k]) && at.has(d)) arr[k] = at.get(d)!;
    });
  }
  const underlyings = prices.map((p) => p.underlying);
  const parts: (string | Float64Array)[] = [dates.join(',')];
  for (const u of underlyings) parts.push(u, close[u], vol[u] ?? '');
  return { underlyings, dates, close, vol, hash: sha16(parts), sources };
}

/** Index of `date` in the history; throws naming the flag when absent. */
export function dateIndex(h: History, date: string, flag = '--as-of'): number {
  if (!DATE_RE.test(date)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${flag} must be YYYY-MM-DD, got ${JSON.stringify(date)}`, flag);
  const k = binarySearch(h.dates, date);
  if (k < 0) {
    throw new OptmarginError(
      ErrorCodes.INVALID_INPUT,
      `${flag} ${date} is not a date of the history (${h.dates[0]} … ${h.dates[h.dates.length - 1]}, ${h.underlyings.join('+')} aligned)`,
      flag,
    );
  }
  return k;
}

function binarySearch(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] === x) return mid;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** r_t = ln(S_t/S_{t−1}) for t = 1 … dates.length−1, stored at index t (index 0 is NaN). */
export function logReturns(h: History, u: string): Float64Array {
  const s = h.close[u];
  const r = new Float64Array(s.length);
  r[0] = NaN;
  for (let t = 1; t < s.length; t++) r[t] = Math.log(s[t] / s[t - 1]);
  return r;
}

/** Valuation instant of the close of `date`: daily candles close at the next 00:00 UTC. */
export function closeInstant(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) + 86_400_000;
}
