/**
 * Deribit instrument names ⇄ Instrument objects.
 *
 *   BTC-27MAR26-80000-P        inverse option (coin-settled), 1 contract = 1 BTC, priced in BTC
 *   BTC_USDC-27MAR26-80000-P   linear option settled in USDC, size in BTC
 *   XRP_USDC-27MAR26-2d5-C     strike 2.5 ('d' marks the decimal point)
 *   BTC-27MAR26                inverse dated future, size in USD
 *   BTC_USDC-27MAR26           linear dated future, size in coin
 *   BTC-PERPETUAL              inverse perpetual, size in USD
 *   BTC_USDC-PERPETUAL         linear perpetual, size in coin
 *   ETH_USDC                   spot pair, size in coin
 *
 * Dates are D[D]MMMYY (day without leading zero, as Deribit prints it); every expiry is
 * 08:00 UTC of that day.
 */
import { ErrorCodes, OptmarginError, show } from '../errors.js';
import type { Instrument, OptionType, QuoteCurrency } from './types.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Deribit options and futures expire at 08:00 UTC. */
export const EXPIRY_HOUR_UTC = 8;
const COIN_RE = /^[A-Z][A-Z0-9]{1,9}$/;
const LINEAR_QUOTES: readonly QuoteCurrency[] = ['USDC', 'USDT'];

function invalid(name: unknown, what: string): OptmarginError {
  return new OptmarginError(
    ErrorCodes.INVALID_INSTRUMENT,
    `invalid instrument name ${show(name)}: ${what}`,
  );
}

// A book names a few hundred distinct expiry codes millions of times: both directions are
// memoised (the Date arithmetic dominated instrument parsing).
const expiryByCode = new Map<string, number>();
const codeByExpiry = new Map<number, string>();

/** Parses `27MAR26` to 08:00 UTC of that day (ms), or throws naming the instrument. */
export function parseExpiryCode(code: string, name = code): number {
  const known = expiryByCode.get(code);
  if (known !== undefined) return known;
  const ms = parseExpiryCodeUncached(code, name);
  if (expiryByCode.size < 100_000) expiryByCode.set(code, ms);
  return ms;
}

function parseExpiryCodeUncached(code: string, name: string): number {
  const m = /^(\d{1,2})([A-Z]{3})(\d{2})$/.exec(code);
  if (!m) throw invalid(name, `expiry ${show(code)} is not a date like 27MAR26`);
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2]);
  if (month < 0) throw invalid(name, `expiry ${show(code)} has an unknown month ${show(m[2])}`);
  const year = 2000 + Number(m[3]);
  const ms = Date.UTC(year, month, day, EXPIRY_HOUR_UTC);
  // Date.UTC rolls 31FEB over into March: reject days the month does not have.
  if (day < 1 || new Date(ms).getUTCDate() !== day) {
    throw invalid(name, `expiry ${show(code)} is not a calendar date`);
  }
  return ms;
}

/** Formats an expiry instant as Deribit's `27MAR26` (the UTC calendar day). */
export function formatExpiryCode(expiryMs: number): string {
  const known = codeByExpiry.get(expiryMs);
  if (known !== undefined) return known;
  const d = new Date(expiryMs);
  const yy = d.getUTCFullYear() % 100;
  const code = `${d.getUTCDate()}${MONTHS[d.getUTCMonth()]}${String(yy).padStart(2, '0')}`;
  if (codeByExpiry.size < 100_000) codeByExpiry.set(expiryMs, code);
  return code;
}

function parseStrike(text: string, name: string): number {
  if (!/^\d+(d\d+)?$/.test(text)) {
    throw invalid(name, `strike ${show(text)} is not a positive number (use 'd' for a decimal point, e.g. 2d5)`);
  }
  const k = Number(text.replace('d', '.'));
  if (!(k > 0) || !Number.isFinite(k)) throw invalid(name, `strike ${show(text)} must be > 0`);
  return k;
}

function formatStrike(strike: number): string {
  // Deribit prints integers plainly and decimals with 'd': 2.5 → 2d5.
  return String(strike).replace('.', 'd');
}

function parseBase(text: string, name: string): { underlying: string; quote: QuoteCurrency; linear: boolean } {
  const parts = text.split('_');
  if (parts.length > 2) throw invalid(name, `currency pair ${show(text)} has more than one '_'`);
  const underlying = parts[0];
  if (!COIN_RE.test(underlying)) {
    throw invalid(name, `underlying ${show(underlying)} is not an upper-case coin code like BTC`);
  }
  if (parts.length === 1) return { underlying, quote: 'USD', linear: false };
  const quote = parts[1] as QuoteCurrency;
  if (!LINEAR_QUOTES.includes(quote)) {
    throw invalid(name, `quote currency ${show(parts[1])} must be one of ${LINEAR_QUOTES.join(', ')}`);
  }
  return { underlying, quote, linear: true };
}

/**
 * Parses a Deribit instrument name. Throws OptmarginError INVALID_INSTRUMENT naming the
 * name and what is wrong with it.
 */
export function parseInstrument(name: string): Instrument {
  if (typeof name !== 'string' || name.length === 0) throw invalid(name, 'must be a non-empty string');
  if (name !== name.trim()) throw invalid(name, 'has leading or trailing spaces');
  const parts = name.split('-');
  const base = parseBase(parts[0], name);
  const { underlying, quote, linear } = base;
  const settlement = linear ? ('linear' as const) : ('inverse' as const);
  const settlementCurrency = linear ? quote : underlying;
  // Object literals written out per kind (no spread): parsing every name of a book, spreads
  // cost more than everything else here.
  let inst: Instrument;
  if (parts.length === 1) {
    if (!linear) throw invalid(name, `a spot pair needs a quote currency, e.g. ${underlying}_USDC`);
    inst = { name, underlying, quote, settlement, settlementCurrency, contractSize: 1, kind: 'spot', sizeUnit: 'coin' };
  } else if (parts.length === 2) {
    const sizeUnit = linear ? ('coin' as const) : ('usd' as const);
    if (parts[1] === 'PERPETUAL') {
      inst = { name, underlying, quote, settlement, settlementCurrency, contractSize: 1, kind: 'perpetual', sizeUnit };
    } else {
      const expiry = parseExpiryCode(parts[1], name);
      inst = { name, underlying, quote, settlement, settlementCurrency, contractSize: 1, kind: 'future', expiry, sizeUnit };
    }
  } else if (parts.length === 4) {
    const expiry = parseExpiryCode(parts[1], name);
    const strike = parseStrike(parts[2], name);
    let optionType: OptionType;
    if (parts[3] === 'C') optionType = 'call';
    else if (parts[3] === 'P') optionType = 'put';
    else throw invalid(name, `option type ${show(parts[3])} must be C or P`);
    inst = { name, underlying, quote, settlement, settlementCurrency, contractSize: 1, kind: 'option', expiry, strike, optionType, sizeUnit: 'coin' };
  } else {
    throw invalid(
      name,
      `expected COIN-PERPETUAL, COIN-DDMMMYY (future) or COIN-DDMMMYY-STRIKE-C|P (option), got ${parts.length} '-'-separated parts`,
    );
  }
  // Canonicalise (e.g. '06FEB26' → '6FEB26', '080000' → '80000') so names round-trip.
  inst.name = formatInstrument(inst);
  return inst;
}

/** Prints the Deribit name of an instrument (inverse of parseInstrument). */
export function formatInstrument(i: Instrument): string {
  const base = i.settlement === 'linear' || i.kind === 'spot' ? `${i.underlying}_${i.quote}` : i.underlying;
  switch (i.kind) {
    case 'spot':
      return base;
    case 'perpetual':
      return `${base}-PERPETUAL`;
    case 'future':
      return `${base}-${formatExpiryCode(i.expiry)}`;
    case 'option':
      return `${base}-${formatExpiryCode(i.expiry)}-${formatStrike(i.strike)}-${i.optionType === 'call' ? 'C' : 'P'}`;
  }
}

/**
 * P&L of a futures/perpetual position in its settlement currency, from entry to mark price F:
 * inverse (size in USD): size × (1/entry − 1/F) coin; linear (size in coin): size × (F − entry) USDC.
 */
export function futuresPnl(i: Instrument, size: number, entryPrice: number, markPrice: number): number {
  if (i.settlement === 'inverse') return size * i.contractSize * (1 / entryPrice - 1 / markPrice);
  return size * i.contractSize * (markPrice - entryPrice);
}
