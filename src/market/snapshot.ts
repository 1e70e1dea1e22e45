/**
 * The snapshot file format (docs/market.md): validation at the boundary, JSON / msgpack
 * reading and writing, format detection for loadMarket, the content hash and the shipped
 * default market.
 */
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError, check, invalidInput } from '../errors.js';
import { packagePath, readBytes } from '../platform/files.js';
import { canonicalJson, contentHash } from '../platform/hash.js';
import defaultMarketData from '../../data/default-market.json' with { type: 'json' };
import { looksLikeDeribitCsv, marketFromBookSummary, marketFromDeribitCsv, type DeribitReadOptions } from './deribit.js';
import { sviViolation } from './svi.js';
import { MARKET_FORMAT } from './types.js';
import { LIMITS } from '../limits.js';
import { parseJsonText, decodeMsgpack } from '../io/decode.js';
import type {
  ExpiryMarket,
  ForwardSource,
  InstrumentQuote,
  MarketSnapshot,
  SmileFitStats,
  Smile,
  UnderlyingMarket,
} from './types.js';

const FORWARD_SOURCES: readonly ForwardSource[] = ['future', 'synthetic', 'parity', 'input'];

/** Accepts ms since epoch or an ISO-8601 string with a time zone. */
function instant(path: string, v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > LIMITS.instantMs) throw invalidInput(path, 'must be ms since the Unix epoch, from 0 to 9999-12-31', v);
    return v;
  }
  if (typeof v === 'string') {
    const ms = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
    if (Number.isFinite(ms) && ms >= 0 && ms <= LIMITS.instantMs && /(Z|[+-]\d{2}:?\d{2})$/.test(v)) return ms;
  }
  throw invalidInput(path, 'must be ms since the Unix epoch or an ISO-8601 date-time with a time zone', v);
}

function optNumber(path: string, v: unknown, positive: boolean, limit: number = LIMITS.price): number | undefined {
  if (v === undefined || v === null) return undefined;
  return positive ? check.bounded(path, v, limit, true) : check.bounded(path, check.nonNegative(path, v), limit);
}

function validateSmile(path: string, v: unknown, forward: number): Smile {
  const o = check.object(path, v);
  const model = check.oneOf(`${path}.model`, o.model, ['svi-raw', 'spline'] as const);
  if (model === 'svi-raw') {
    const s = {
      model,
      a: check.bounded(`${path}.a`, o.a, LIMITS.logMoneyness),
      b: check.bounded(`${path}.b`, o.b, LIMITS.sviSlope),
      rho: check.bounded(`${path}.rho`, o.rho, 1),
      m: check.bounded(`${path}.m`, o.m, LIMITS.logMoneyness),
      sigma: check.bounded(`${path}.sigma`, o.sigma, LIMITS.sviSlope),
    };
    const bad = sviViolation(s);
    if (bad) throw invalidInput(path, `is not an admissible SVI smile: ${bad}`, o);
    return s;
  }
  // spline: nodes in log-moneyness `k`, or in `strikes` (converted with this expiry's forward)
  const vol = check.array(`${path}.vol`, o.vol).map((x, i) => check.bounded(`${path}.vol[${i}]`, x, LIMITS.vol, true));
  let k: number[];
  if (o.k !== undefined) k = check.array(`${path}.k`, o.k).map((x, i) => check.bounded(`${path}.k[${i}]`, x, LIMITS.logMoneyness));
  else if (o.strikes !== undefined) {
    k = check.array(`${path}.strikes`, o.strikes).map((x, i) => Math.log(check.bounded(`${path}.strikes[${i}]`, x, LIMITS.price, true) / forward));
  } else throw invalidInput(`${path}.k`, 'is required for a spline smile (or give strikes)', undefined);
  if (k.length !== vol.length) throw invalidInput(`${path}.vol`, `must have as many entries as k (${k.length})`, vol.length);
  if (k.length === 0) throw invalidInput(`${path}.vol`, 'must have at least one node', vol);
  for (let i = 1; i < k.length; i++) {
    if (!(k[i] > k[i - 1])) throw invalidInput(`${path}.${o.k !== undefined ? 'k' : 'strikes'}[${i}]`, 'must be strictly increasing', o.k ? k[i] : (o.strikes as unknown[])[i]);
  }
  return { model, k, vol };
}

function validateFit(path: string, v: unknown): SmileFitStats | undefined {
  if (v === undefined) return undefined;
  const o = check.object(path, v);
  return {
    points: check.bounded(`${path}.points`, check.nonNegative(`${path}.points`, o.points), LIMITS.quantity),
    minStrike: check.bounded(`${path}.minStrike`, check.nonNegative(`${path}.minStrike`, o.minStrike), LIMITS.price),
    maxStrike: check.bounded(`${path}.maxStrike`, check.nonNegative(`${path}.maxStrike`, o.maxStrike), LIMITS.price),
    rmsVolError: check.bounded(`${path}.rmsVolError`, check.nonNegative(`${path}.rmsVolError`, o.rmsVolError), LIMITS.vol),
    maxVolError: check.bounded(`${path}.maxVolError`, check.nonNegative(`${path}.maxVolError`, o.maxVolError), LIMITS.vol),
    butterflyFree: Boolean(o.butterflyFree),
  };
}

/**
 * Validates a parsed snapshot object (our JSON/msgpack format) and returns a normalised copy:
 * instants as ms, expiries sorted, rate defaulted to 0. Errors name the field path, e.g.
 * `market.underlyings[0].expiries[3].forward must be > 0, got -5`.
 */
export function validateSnapshot(v: unknown, path = 'market'): MarketSnapshot {
  const o = check.object(path, v);
  if (o.format !== MARKET_FORMAT) throw invalidInput(`${path}.format`, `must be ${JSON.stringify(MARKET_FORMAT)}`, o.format);
  const valuationTime = instant(`${path}.valuationTime`, o.valuationTime);
  const rate = o.rate === undefined ? 0 : check.bounded(`${path}.rate`, o.rate, LIMITS.rate);
  const seen = new Set<string>();
  const underlyings: UnderlyingMarket[] = check.array(`${path}.underlyings`, o.underlyings).map((uv, ui) => {
    const up = `${path}.underlyings[${ui}]`;
    const u = check.object(up, uv);
    const name = check.string(`${up}.underlying`, u.underlying);
    if (!/^[A-Z][A-Z0-9]{1,9}$/.test(name)) throw invalidInput(`${up}.underlying`, 'must be an upper-case coin code like BTC', name);
    if (seen.has(name)) throw invalidInput(`${up}.underlying`, 'must be unique', name);
    seen.add(name);
    const out: UnderlyingMarket = { underlying: name, index: check.bounded(`${up}.index`, u.index, LIMITS.price, true), expiries: [] };
    const perp = optNumber(`${up}.perpetual`, u.perpetual, true);
    if (perp !== undefined) out.perpetual = perp;
    const exps = check.array(`${up}.expiries`, u.expiries).map((ev, ei) => {
      const ep = `${up}.expiries[${ei}]`;
      const e = check.object(ep, ev);
      const expiry = instant(`${ep}.expiry`, e.expiry);
      if (!(expiry > valuationTime)) throw invalidInput(`${ep}.expiry`, `must be after valuationTime (${new Date(valuationTime).toISOString()})`, e.expiry);
      const forward = check.bounded(`${ep}.forward`, e.forward, LIMITS.price, true);
      const em: ExpiryMarket = {
        expiry,
        forward,
        forwardSource: e.forwardSource === undefined ? 'input' : check.oneOf(`${ep}.forwardSource`, e.forwardSource, FORWARD_SOURCES),
      };
      if (e.futureName !== undefined) em.futureName = check.string(`${ep}.futureName`, e.futureName);
      if (e.smile !== undefined) em.smile = validateSmile(`${ep}.smile`, e.smile, forward);
      const fit = validateFit(`${ep}.fit`, e.fit);
      if (fit) em.fit = fit;
      if (e.svi !== undefined) {
        const s = validateSmile(`${ep}.svi`, e.svi, forward);
        if (s.model !== 'svi-raw') throw invalidInput(`${ep}.svi.model`, 'must be "svi-raw"', s.model);
        em.svi = s;
      }
      const sviFit = validateFit(`${ep}.sviFit`, e.sviFit);
      if (sviFit) em.sviFit = sviFit;
      if (e.listedStrikes !== undefined) {
        em.listedStrikes = check.array(`${ep}.listedStrikes`, e.listedStrikes).map((x, i) => check.bounded(`${ep}.listedStrikes[${i}]`, x, LIMITS.price, true));
      }
      return em;
    });
    exps.sort((a, b) => a.expiry - b.expiry);
    for (let i = 1; i < exps.length; i++) {
      if (exps[i].expiry === exps[i - 1].expiry) {
        throw invalidInput(`${up}.expiries`, 'must not list the same expiry twice', new Date(exps[i].expiry).toISOString());
      }
    }
    out.expiries = exps;
    return out;
  });
  const source = o.source === undefined ? undefined : check.string(`${path}.source`, o.source);
  const snap: MarketSnapshot = { format: MARKET_FORMAT, valuationTime, rate, ...(source ? { source } : {}), underlyings };
  if (o.instruments !== undefined) {
    snap.instruments = check.array(`${path}.instruments`, o.instruments).map((qv, qi) => {
      const qp = `${path}.instruments[${qi}]`;
      const q = check.object(qp, qv);
      const out: InstrumentQuote = { name: check.string(`${qp}.name`, q.name) };
      for (const f of ['markPrice', 'markIv', 'bidPrice', 'askPrice', 'underlyingPrice', 'openInterest', 'volume'] as const) {
        const x = optNumber(`${qp}.${f}`, q[f], false, LIMITS.quantity);
        if (x !== undefined) out[f] = x;
      }
      return out;
    });
  }
  return snap;
}

export type MarketFileFormat = 'json' | 'msgpack' | 'deribit-csv' | 'book-summary';

/** Decides what a buffer holds: our JSON, Deribit's book-summary JSON, the Deribit chain CSV, or msgpack. */
export function detectMarketFormat(buf: Uint8Array): MarketFileFormat {
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  const c = buf[i];
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    const head = new TextDecoder().decode(buf.subarray(i, i + 4096));
    return head.includes(MARKET_FORMAT) ? 'json' : 'book-summary';
  }
  const head = new TextDecoder().decode(buf.subarray(0, 2048));
  if (looksLikeDeribitCsv(head)) return 'deribit-csv';
  return 'msgpack';
}

export interface LoadMarketOptions extends DeribitReadOptions {
  /** force a format instead of detecting it */
  format?: MarketFileFormat;
}

/**
 * Loads a market snapshot from a file path or the file's bytes: our JSON or msgpack format,
 * a Deribit option-chain CSV or a Deribit get_book_summary_by_currency JSON (detected).
 */
export function loadMarket(pathOrBuffer: string | Uint8Array, options: LoadMarketOptions = {}): MarketSnapshot {
  let buf: Uint8Array;
  let label: string;
  if (typeof pathOrBuffer === 'string') {
    label = pathOrBuffer;
    buf = readBytes(pathOrBuffer);
  } else if (pathOrBuffer instanceof Uint8Array) {
    buf = pathOrBuffer;
    label = 'market buffer';
  } else {
    throw invalidInput('market', 'must be a file path or a Uint8Array', pathOrBuffer);
  }
  if (buf.length === 0) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${label} is empty`);
  const format = options.format ?? detectMarketFormat(buf);
  const text = () => new TextDecoder().decode(buf);
  const wrap = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof OptmarginError) {
        if (e.message.startsWith(label)) throw e;
        throw new OptmarginError(e.code, `${label}: ${e.message}`, e.path);
      }
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `${label} is not ${what}: ${(e as Error).message}`);
    }
  };
  const source = typeof pathOrBuffer === 'string' ? pathOrBuffer.split(/[\\/]/).pop() : undefined;
  switch (format) {
    case 'json':
      return wrap('a JSON market snapshot', () => validateSnapshot(parseJsonText(text(), label)));
    case 'book-summary':
      return wrap('a Deribit book summary', () => validateSnapshot(marketFromBookSummary(parseJsonText(text(), label), { source, ...options })));
    case 'deribit-csv':
      return wrap('a Deribit chain CSV', () => validateSnapshot(marketFromDeribitCsv(text(), { source: source && `deribit chain CSV ${source}`, ...options })));
    case 'msgpack':
      return wrap('a msgpack market snapshot', () => validateSnapshot(decodeMsgpack(buf, label)));
  }
}

/** Our JSON format (pretty-printed). */
export function marketToJson(snapshot: MarketSnapshot, indent = 1): string {
  return JSON.stringify(snapshot, null, indent);
}

/** Our msgpack format: the same object tree as the JSON, msgpack-encoded. */
export function marketToMsgpack(snapshot: MarketSnapshot): Uint8Array {
  return msgpackEncode(JSON.parse(JSON.stringify(snapshot)));
}

export { canonicalJson };

/** sha256 (hex) of the snapshot's canonical JSON: identical content ⇒ identical hash, whatever the key order or file format. */
export function marketHash(snapshot: MarketSnapshot): string {
  return contentHash(snapshot);
}

/** data/default-market.json of the package (Node: for commands that take a file). */
export function defaultMarketPath(): string {
  return packagePath('data', 'default-market.json');
}

let defaultCache: MarketSnapshot | null = null;

/** The market shipped with the package (data/default-market.json, importable data; provenance in docs/market.md). */
export function defaultMarket(): MarketSnapshot {
  if (!defaultCache) defaultCache = validateSnapshot(defaultMarketData);
  // a fresh copy: callers may mutate what they get
  return structuredClone(defaultCache);
}
