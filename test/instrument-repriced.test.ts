/**
 * InstrumentTable.repriced (what a book's tick re-reads its underlying's instruments with): the
 * same instruments valued on another market, against a table built afresh on that market by
 * indexOf / coinIndex in the same order — every field the same double, the same names, indices
 * and groups — and the same error when an instrument has expired on it.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCodes, OptmarginError } from '../src/errors.js';
import { InstrumentTable, tableMarket } from '../src/api/margin.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';

const FIELDS = ['underlyingOf', 'kind', 'inverse', 'isPut', 'strike', 'expiry', 't', 'forward', 'vol', 'mark', 'unitValue', 'delta', 'gamma', 'vega', 'theta', 'group'] as const;

/** A table on `market` of `keys` in order (an instrument name, or `coin:U` for one coin of U). */
function tableOf(market: InstrumentTable['market'], keys: readonly string[]): InstrumentTable {
  const tb = new InstrumentTable(market);
  for (const k of keys) {
    if (k.startsWith('coin:')) tb.coinIndex(k.slice(5));
    else tb.indexOf(k);
  }
  return tb;
}

describe('InstrumentTable.repriced', () => {
  test('every field equals a table built afresh on the new market (options, futures, perpetuals, spot, coins; BTC moved, vols shifted)', () => {
    const m0 = resolveMarket(defaultMarket());
    const keys: string[] = ['coin:BTC'];
    for (const a of generateBook({ accounts: 300, seed: 3, market: m0 }).accounts) for (const p of a.positions) if (!keys.includes(p.instrument)) keys.push(p.instrument);
    keys.push('coin:ETH');
    const kinds = new Set(tableOf(m0, keys).kind.subarray(0, keys.length));
    expect(kinds.size).toBeGreaterThanOrEqual(4); // options, futures, perpetuals, coins at least
    const m1 = m0.shocked({ priceMove: { BTC: 0.037, ETH: -0.021 }, volShift: { BTC: 0.05 } });
    const fresh = tableOf(m1, keys);
    const re = tableOf(m0, keys).repriced(m1);
    expect(re.count).toBe(fresh.count);
    expect(re.market).toBe(m1);
    expect(re.names).toEqual(fresh.names);
    expect(re.underlyings).toEqual(fresh.underlyings);
    expect(re.groupCount).toBe(fresh.groupCount);
    expect(re.groupSlot).toEqual(fresh.groupSlot);
    for (const f of FIELDS) {
      for (let i = 0; i < fresh.count; i++) if (!Object.is(re[f][i], fresh[f][i])) expect.fail(`${f}[${i}] (${fresh.names[i]}): ${re[f][i]} ≠ ${fresh[f][i]}`);
    }
    for (const k of keys) expect(k.startsWith('coin:') ? re.coinIndex(k.slice(5)) : re.indexOf(k)).toBe(keys.indexOf(k)); // looked up, none added again
    expect(re.count).toBe(keys.length);
  });

  test('an instrument expired on the new market: the error of a table built afresh there', () => {
    const T0 = Date.UTC(2026, 0, 27, 8);
    const E30 = T0 + 30 * 86_400_000;
    const spec = (valuationTime: number) => ({ valuationTime, underlyings: { BTC: { spot: 100_000, vol: 0.5, expiries: [{ expiry: E30, forward: 100_400, vol: 0.5 }] } } });
    const before = tableMarket(spec(T0));
    const after = tableMarket(spec(E30 + 3_600_000));
    const keys = ['BTC-PERPETUAL', 'BTC-26FEB26-100000-P'];
    let want: unknown = null;
    try {
      tableOf(after, keys);
    } catch (e) {
      want = e;
    }
    expect(want).toBeInstanceOf(OptmarginError);
    expect((want as OptmarginError).code).toBe(ErrorCodes.MISSING_MARKET_DATA);
    expect(() => tableOf(before, keys).repriced(after)).toThrow((want as Error).message);
  });
});

describe('InstrumentTable option groups', () => {
  test('calls and puts of one underlying, expiry and strike share a group; ids in order of first appearance; a repriced table goes on numbering them', () => {
    const m0 = resolveMarket(defaultMarket());
    const names: string[] = [];
    for (const a of generateBook({ accounts: 300, seed: 5, market: m0 }).accounts) for (const p of a.positions) if (!names.includes(p.instrument) && /-[CP]$/.test(p.instrument)) names.push(p.instrument);
    const half = names.length >> 1;
    // the reference: the key of each option from its name's fields (underlying, expiry code, strike), numbered by first appearance
    const key = (n: string) => n.split('-').slice(0, 3).join('-');
    const ids = new Map<string, number>();
    const expected = names.map((n) => (ids.has(key(n)) ? ids.get(key(n))! : (ids.set(key(n), ids.size), ids.size - 1)));
    expect(ids.size).toBeLessThan(names.length); // some call/put pairs share a group
    const tb = tableOf(m0, names.slice(0, half));
    const re = tb.repriced(m0.shocked({ priceMove: { BTC: 0.01 } }));
    for (const n of names.slice(half)) re.indexOf(n);
    names.forEach((n, k) => expect(re.group[re.indexOf(n)]).toBe(expected[k]));
    expect(re.groupCount).toBe(ids.size);
    // the original table is not changed by the repriced one's additions
    expect(tb.groupCount).toBe(new Set(expected.slice(0, half)).size);
  });
});
