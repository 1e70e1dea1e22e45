import { describe, expect, it } from 'vitest';
import { ErrorCodes, OptmarginError } from '../src/errors.js';
import { formatInstrument, futuresPnl, parseInstrument } from '../src/market/index.js';

describe('parseInstrument / formatInstrument (Deribit names)', () => {
  it('inverse option: 1 coin per contract, settled in coin, 08:00 UTC expiry', () => {
    const i = parseInstrument('BTC-27MAR26-80000-P');
    expect(i).toEqual({
      name: 'BTC-27MAR26-80000-P',
      underlying: 'BTC',
      quote: 'USD',
      settlement: 'inverse',
      settlementCurrency: 'BTC',
      contractSize: 1,
      sizeUnit: 'coin',
      kind: 'option',
      expiry: Date.UTC(2026, 2, 27, 8),
      strike: 80000,
      optionType: 'put',
    });
  });

  it('linear USDC option, decimal strike with d', () => {
    const i = parseInstrument('XRP_USDC-27MAR26-2d5-C');
    expect(i.kind).toBe('option');
    if (i.kind !== 'option') return;
    expect(i.strike).toBe(2.5);
    expect(i.optionType).toBe('call');
    expect(i.settlement).toBe('linear');
    expect(i.settlementCurrency).toBe('USDC');
    expect(i.quote).toBe('USDC');
    expect(parseInstrument('BTC_USDC-27MAR26-80000-P').settlement).toBe('linear');
  });

  it('futures, perpetuals and spot carry their size units', () => {
    const f = parseInstrument('BTC-27MAR26');
    expect(f.kind).toBe('future');
    expect(f.sizeUnit).toBe('usd');
    expect(f.kind === 'future' && f.expiry).toBe(Date.UTC(2026, 2, 27, 8));
    const p = parseInstrument('BTC-PERPETUAL');
    expect([p.kind, p.settlement, p.sizeUnit]).toEqual(['perpetual', 'inverse', 'usd']);
    const lp = parseInstrument('BTC_USDC-PERPETUAL');
    expect([lp.kind, lp.settlement, lp.sizeUnit, lp.settlementCurrency]).toEqual(['perpetual', 'linear', 'coin', 'USDC']);
    const lf = parseInstrument('ETH_USDC-26JUN26');
    expect([lf.kind, lf.sizeUnit]).toEqual(['future', 'coin']);
    const s = parseInstrument('ETH_USDC');
    expect([s.kind, s.underlying, s.quote, s.settlement]).toEqual(['spot', 'ETH', 'USDC', 'linear']);
  });

  it('round-trips parse → format for every kind; single-digit days print without a zero', () => {
    for (const n of [
      'BTC-27MAR26-80000-P', 'BTC_USDC-27MAR26-80000-P', 'BTC-27MAR26', 'BTC-PERPETUAL', 'ETH_USDC',
      'BTC_USDC-PERPETUAL', 'XRP_USDC-27MAR26-2d5-C', 'ETH-6FEB26-2100-C', 'SOL_USDC-31DEC27-0d125-P', 'BTC-29FEB28',
    ]) {
      expect(formatInstrument(parseInstrument(n))).toBe(n);
      expect(parseInstrument(n).name).toBe(n);
    }
    // leading zeros are canonicalised
    expect(parseInstrument('ETH-06FEB26-2100-C').name).toBe('ETH-6FEB26-2100-C');
  });

  it.each([
    ['', 'non-empty'],
    ['BTC', 'spot pair needs a quote currency'],
    ['btc-PERPETUAL', 'upper-case coin code'],
    ['BTC-27MAR26-80000-X', 'option type "X" must be C or P'],
    ['BTC-27MAR26-80000', '3 \'-\'-separated parts'],
    ['BTC-31FEB26', 'not a calendar date'],
    ['BTC-27XYZ26', 'unknown month "XYZ"'],
    ['BTC-2026-03-27', 'expiry "2026" is not a date like 27MAR26'],
    ['BTC-27MAR26--5-C', "got 5 '-'-separated parts"],
    ['BTC-27MAR26-1e5-C', 'strike "1e5" is not a positive number'],
    ['BTC-27MAR26-0-C', 'must be > 0'],
    ['BTC-27MAR26-1.5-C', "use 'd' for a decimal point"],
    ['BTC_EUR-PERPETUAL', 'quote currency "EUR"'],
    [' BTC-PERPETUAL', 'spaces'],
  ])('rejects %j with INVALID_INSTRUMENT naming the problem', (name, what) => {
    try {
      parseInstrument(name);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OptmarginError);
      expect((e as OptmarginError).code).toBe(ErrorCodes.INVALID_INSTRUMENT);
      expect((e as Error).message).toContain(JSON.stringify(name));
      expect((e as Error).message).toContain(what);
    }
  });

  it('a long invalid name is shown cut to 80 characters, not echoed whole', () => {
    const name = 'BTC-' + 'A'.repeat(300_000);
    try {
      parseInstrument(name);
      expect.unreachable();
    } catch (e) {
      expect((e as OptmarginError).code).toBe(ErrorCodes.INVALID_INSTRUMENT);
      // the name's and the expiry's first 77 characters, each with '...', quoted
      const cut = (s: string) => `"${s.slice(0, 77)}..."`;
      expect((e as Error).message).toBe(`invalid instrument name ${cut(name)}: expiry ${cut(name.slice(4))} is not a date like 27MAR26`);
    }
  });

  it('futures P&L: inverse in coin = size × (1/entry − 1/F); linear in USDC = size × (F − entry)', () => {
    // long 10 000 USD of BTC-PERPETUAL from 50 000 to 55 000: 10000 × (1/50000 − 1/55000) = 0.0181818… BTC
    expect(futuresPnl(parseInstrument('BTC-PERPETUAL'), 10_000, 50_000, 55_000)).toBeCloseTo(10_000 / 50_000 - 10_000 / 55_000, 15);
    expect(futuresPnl(parseInstrument('BTC-PERPETUAL'), 10_000, 50_000, 55_000)).toBeCloseTo(0.01818181818, 10);
    // Dederi's worked example (margin_methodology_refs.json): long 10 ETH futures, F0 = 2253.2, −15% → −3379.73 USD
    const lin = parseInstrument('ETH_USDC-10JAN24');
    expect(futuresPnl(lin, 10, 2253.1552, 2253.1552 * 0.85)).toBeCloseTo(-3379.73, 2);
  });
});
