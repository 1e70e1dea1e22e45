/**
 * Readers for Deribit market data:
 *  - the option-chain CSV export (columns timestamp, instrument_name, underlying, underlying_name,
 *    option_type, strike, expiry_datetime, time_to_maturity, bid/ask/mark_price (coin),
 *    futures_price, futures_instrument_name, implied_volatility (fraction), open_interest,
 *    volume, currency, index_price, ...), one row per option;
 *  - the JSON of the public API's `public/get_book_summary_by_currency` (mark_iv in percent,
 *    prices of inverse options in coin, of futures in USD).
 * Both become a MarketSnapshot with one forward and one fitted SVI smile per expiry.
 */
import { parseJsonText as parseJsonTextBounded } from '../io/decode.js';
import { ErrorCodes, OptmarginError, invalidInput, show } from '../errors.js';
import { buildSnapshot, type BuildOptions, type ChainInput, type ChainOption } from './build.js';
import { parseCsv } from './csv.js';
import { parseInstrument } from './instruments.js';
import type { FutureInstrument, InstrumentQuote, MarketSnapshot } from './types.js';

export interface DeribitReadOptions extends BuildOptions {
  /** valuation instant (ms); default: the data's own timestamp */
  valuationTime?: number;
}

const CSV_REQUIRED = ['timestamp', 'instrument_name', 'mark_price', 'implied_volatility', 'index_price'] as const;

/** Parses an ISO-8601 timestamp (microseconds allowed) to ms, or NaN. */
export function parseTimestamp(text: string): number {
  // Date.parse accepts at most millisecond precision portably: trim extra fraction digits.
  const trimmed = text.trim().replace(/(\.\d{3})\d+/, '$1');
  return Date.parse(trimmed);
}

function isCsvHeader(firstLine: string): boolean {
  return /(^|,)instrument_name(,|$)/.test(firstLine) && /(^|,)mark_price(,|$)/.test(firstLine);
}

/** True when `text` looks like a Deribit option-chain CSV (its header names instrument_name and mark_price). */
export function looksLikeDeribitCsv(text: string): boolean {
  const nl = text.indexOf('\n');
  return isCsvHeader((nl < 0 ? text : text.slice(0, nl)).replace(/^\uFEFF/, '').trim());
}

/** Reads a Deribit option-chain CSV (the format of the shared deribit_snapshots/ files). */
export function marketFromDeribitCsv(text: string, options: DeribitReadOptions = {}): MarketSnapshot {
  if (typeof text !== 'string') throw invalidInput('csv', 'must be text', text);
  const rows = parseCsv(text);
  if (rows.length < 2) throw new OptmarginError(ErrorCodes.INVALID_FILE, 'Deribit CSV has no data rows');
  const header = rows[0].map((h) => h.trim());
  const col = new Map(header.map((h, i) => [h, i]));
  for (const c of CSV_REQUIRED) {
    if (!col.has(c)) {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `Deribit CSV is missing column ${JSON.stringify(c)} (header: ${header.join(',')})`);
    }
  }
  if (!col.has('futures_price') && !col.has('underlying')) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, 'Deribit CSV needs a futures_price or underlying column (the forward of each row)');
  }
  const cell = (r: string[], name: string): string | undefined => {
    const i = col.get(name);
    if (i === undefined) return undefined;
    const v = r[i]?.trim();
    return v === '' ? undefined : v;
  };
  const chain: ChainInput = { valuationTime: NaN, rate: 0, index: new Map(), perpetual: new Map(), futures: [], options: [] };
  const futurePrices = new Map<string, { inst: FutureInstrument; prices: number[] }>();
  let ts = NaN;
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const line = r + 1; // 1-based file line, header = line 1
    const name = cell(row, 'instrument_name');
    const where = `line ${line} (${name ?? 'no instrument_name'})`;
    const num = (c: string, required: boolean, positive: boolean): number | undefined => {
      const v = cell(row, c);
      if (v === undefined) {
        if (required) throw invalidInput(`${where} ${c}`, 'is required', v);
        return undefined;
      }
      const x = Number(v);
      if (!Number.isFinite(x) || (positive ? !(x > 0) : x < 0)) {
        throw invalidInput(`${where} ${c}`, positive ? 'must be a number > 0' : 'must be a number >= 0', v);
      }
      return x;
    };
    if (!name) throw invalidInput(`${where} instrument_name`, 'is required', undefined);
    const inst = parseInstrument(name);
    if (inst.kind !== 'option') {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `${where}: the chain CSV holds options only, got a ${inst.kind}`);
    }
    const tsText = cell(row, 'timestamp');
    const rowTs = tsText === undefined ? NaN : parseTimestamp(tsText);
    if (!Number.isFinite(rowTs)) throw invalidInput(`${where} timestamp`, 'must be an ISO-8601 date-time', tsText);
    // Rows of one export share one timestamp; should they differ, value at the latest.
    if (!(rowTs <= ts)) ts = rowTs;
    const currency = cell(row, 'currency');
    if (currency !== undefined && currency !== inst.underlying && inst.settlement === 'inverse') {
      throw invalidInput(`${where} currency`, `must be ${inst.underlying} for ${inst.name}`, currency);
    }
    const index = num('index_price', true, true)!;
    const fwd = num('futures_price', false, true) ?? num('underlying', false, true);
    if (fwd === undefined) throw invalidInput(`${where} futures_price`, 'is required', undefined);
    const futName = cell(row, 'futures_instrument_name') ?? cell(row, 'underlying_name');
    const quote: InstrumentQuote = { name: inst.name, markPrice: num('mark_price', true, false)!, markIv: num('implied_volatility', true, false)! };
    const bid = num('bid_price', false, false);
    const ask = num('ask_price', false, false);
    if (bid !== undefined) quote.bidPrice = bid;
    if (ask !== undefined) quote.askPrice = ask;
    quote.underlyingPrice = fwd;
    const oi = num('open_interest', false, false);
    const vol = num('volume', false, false);
    if (oi !== undefined) quote.openInterest = oi;
    if (vol !== undefined) quote.volume = vol;
    let idx = chain.index.get(inst.underlying);
    if (!idx) chain.index.set(inst.underlying, (idx = []));
    idx.push(index);
    const co: ChainOption = { inst, quote };
    if (futName) co.underlyingName = futName;
    chain.options.push(co);
    // A listed (non-synthetic) future: its price is the forward of its expiry.
    if (futName && !futName.startsWith('SYN.')) {
      let fut;
      try {
        fut = parseInstrument(futName);
      } catch (e) {
        if (!(e instanceof OptmarginError)) throw e;
        fut = undefined; // not a name we parse: its price is not used as a forward
      }
      if (fut && fut.kind === 'future') {
        let e = futurePrices.get(fut.name);
        if (!e) futurePrices.set(fut.name, (e = { inst: fut, prices: [] }));
        e.prices.push(fwd);
      }
    }
  }
  for (const { inst, prices } of futurePrices.values()) {
    prices.sort((a, b) => a - b);
    chain.futures.push({ inst, quote: { name: inst.name, markPrice: prices[(prices.length - 1) >> 1] } });
  }
  chain.valuationTime = options.valuationTime ?? ts;
  return buildSnapshot(chain, options);
}

/**
 * Reads the JSON of Deribit's `public/get_book_summary_by_currency`: the JSON-RPC envelope
 * `{ result: [...] }`, a bare array of summaries, or an array of envelopes (one per currency).
 * Combination instruments and other names that are not plain options/futures/perpetuals/spot
 * are skipped (their count is returned in the snapshot's `source`).
 */
export function marketFromBookSummary(json: unknown, options: DeribitReadOptions = {}): MarketSnapshot {
  const data = typeof json === 'string' ? parseJsonText(json) : json;
  const items: unknown[] = [];
  const collect = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (x && typeof x === 'object' && 'result' in x) collect((x as { result: unknown }).result, `${path}[${i}].result`);
        else items.push(x);
      });
    } else if (v && typeof v === 'object' && 'result' in v) collect((v as { result: unknown }).result, `${path}.result`);
    else throw invalidInput(path, 'must be a get_book_summary_by_currency response ({result: [...]}) or an array of summaries', v);
  };
  collect(data, 'book summary');
  const chain: ChainInput = { valuationTime: NaN, rate: 0, index: new Map(), perpetual: new Map(), futures: [], options: [], otherQuotes: [] };
  let ts = -Infinity;
  const rates: number[] = [];
  let skipped = 0;
  items.forEach((raw, i) => {
    const path = `result[${i}]`;
    if (!raw || typeof raw !== 'object') throw invalidInput(path, 'must be an object', raw);
    const it = raw as Record<string, unknown>;
    const name = it.instrument_name;
    if (typeof name !== 'string') throw invalidInput(`${path}.instrument_name`, 'must be a string', name);
    let inst;
    try {
      inst = parseInstrument(name);
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      skipped++; // counted and reported in the snapshot's source line
      return;
    }
    const num = (field: string, positive = false): number | undefined => {
      const v = it[field];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || (positive ? !(v > 0) : v < 0)) {
        throw invalidInput(`${path}.${field} (${name})`, positive ? 'must be a number > 0' : 'must be a number >= 0', v);
      }
      return v;
    };
    const created = num('creation_timestamp');
    if (created !== undefined && created > ts) ts = created;
    const edp = num('estimated_delivery_price', true);
    if (edp !== undefined) {
      let idx = chain.index.get(inst.underlying);
      if (!idx) chain.index.set(inst.underlying, (idx = []));
      idx.push(edp);
    }
    const quote: InstrumentQuote = { name: inst.name };
    const mark = num('mark_price');
    if (mark !== undefined) quote.markPrice = mark;
    const bid = num('bid_price');
    const ask = num('ask_price');
    if (bid !== undefined) quote.bidPrice = bid;
    if (ask !== undefined) quote.askPrice = ask;
    const oi = num('open_interest');
    const vol = num('volume');
    if (oi !== undefined) quote.openInterest = oi;
    if (vol !== undefined) quote.volume = vol;
    if (inst.kind === 'option') {
      const iv = num('mark_iv');
      if (iv !== undefined) quote.markIv = iv / 100; // Deribit reports percent
      const up = num('underlying_price', true);
      if (up !== undefined) quote.underlyingPrice = up;
      const r = it.interest_rate;
      if (typeof r === 'number' && Number.isFinite(r)) rates.push(r);
      const co: ChainOption = { inst, quote };
      if (typeof it.underlying_index === 'string' && it.underlying_index !== 'index_price') co.underlyingName = it.underlying_index;
      chain.options.push(co);
    } else if (inst.kind === 'future') {
      chain.futures.push({ inst, quote });
    } else {
      if (inst.kind === 'perpetual' && mark !== undefined && mark > 0) {
        // an inverse perpetual's mark is the reference; a linear one only if none
        if (inst.settlement === 'inverse' || !chain.perpetual.has(inst.underlying)) chain.perpetual.set(inst.underlying, mark);
      }
      chain.otherQuotes!.push(quote);
    }
  });
  if (chain.options.length === 0 && chain.futures.length === 0) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `book summary holds no options or futures (${items.length} items, ${skipped} skipped)`);
  }
  const valuationTime = options.valuationTime ?? ts;
  if (!Number.isFinite(valuationTime)) {
    throw invalidInput('valuationTime', 'must be given: the book summary has no creation_timestamp', undefined);
  }
  chain.valuationTime = valuationTime;
  if (rates.length) chain.rate = rates.sort((a, b) => a - b)[(rates.length - 1) >> 1];
  const source = options.source ?? `deribit get_book_summary_by_currency (${items.length} items${skipped ? `, ${skipped} combos/unknown skipped` : ''})`;
  return buildSnapshot(chain, { ...options, source });
}

function parseJsonText(text: string): unknown {
  return parseJsonTextBounded(text, 'the book summary');
}
