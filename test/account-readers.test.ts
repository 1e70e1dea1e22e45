/**
 * msgpack values and JSON lines read straight into columns (src/io/msgpack-account.ts,
 * json-account.ts) give exactly the columns of the object path — @msgpack/msgpack's decode or
 * JSON.parse, validateAccount, ColumnsBuilder.add (written out here on its own) — for random
 * books and for every value a reader must leave to the object path (other key orders or keys,
 * repeated keys, escapes, non-ASCII strings, nil, 64-bit and float32 numbers, exponents and long
 * decimals, values a rule rejects, lines JSON.parse rejects): same columns, same errors (code,
 * message, path).
 */
import { encode, decode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import { ErrorCodes, OptmarginError } from '../src/errors.js';
import { validateAccount } from '../src/instruments/account.js';
import { ColumnsBuilder, usableId, type BookColumns } from '../src/instruments/columns.js';
import { generateBook } from '../src/io/gen-book.js';
import { ingestChunk } from '../src/io/ingest-chunk.js';
import { MsgpackAccountReader } from '../src/io/msgpack-account.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';

const market = resolveMarket(defaultMarket());

/** The object path, value by value. */
function objectPath(values: unknown[]): BookColumns {
  const b = new ColumnsBuilder();
  for (const v of values) {
    try {
      b.add(validateAccount(v));
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
      b.addInvalid(usableId(v), e.path === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, path: e.path });
    }
  }
  return b.build();
}

function readChunk(bytes: Uint8Array): BookColumns {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return ingestChunk({ format: 'msgpack', bytes: shared, firstLine: 0, firstIndex: 0, entries: 0 }).columns;
}

const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const str = (s: string): Uint8Array => encode(s);
/** A map written by hand (keys in this order, repeats kept). */
const map = (entries: [string, Uint8Array][]): Uint8Array => cat([Uint8Array.of(0x80 | entries.length), ...entries.flatMap(([k, v]) => [str(k), v])]);

const perp = (extra: Record<string, unknown> = {}) => ({ instrument: 'BTC-PERPETUAL', size: 1000, ...extra });

/** Values the reader must leave to the object path, each with what makes it so. */
const oddValues: [string, Uint8Array][] = [
  ['non-ASCII id', encode({ id: 'compte-été', mode: 'cross', collateral: { BTC: 1 }, positions: [perp()] })],
  ['non-ASCII instrument', encode({ id: 'a1', mode: 'cross', collateral: { BTC: 1 }, positions: [perp({ instrument: 'BTC-PERPÉTUAL' })] })],
  ['numeric id', encode({ id: 42, mode: 'cross', collateral: { BTC: 1 }, positions: [perp()] })],
  ['empty id', encode({ id: '', mode: 'cross', positions: [perp()] })],
  ['no id', encode({ mode: 'cross', positions: [perp()] })],
  ['mode first', encode({ mode: 'cross', id: 'a2', positions: [perp()] })],
  ['unknown mode', encode({ id: 'a3', mode: 'sideways', positions: [perp()] })],
  ['extra account key', encode({ id: 'a4', mode: 'cross', currency: 'BTC', collateral: { BTC: 1 }, positions: [perp()] })],
  ['bad currency key', encode({ id: 'a5', mode: 'cross', collateral: { btc: 1 }, positions: [perp()] })],
  ['collateral after positions', encode({ id: 'a6', mode: 'cross', positions: [perp()], collateral: { BTC: 1 } })],
  ['repeated currency', map([['id', str('a7')], ['mode', str('cross')], ['collateral', map([['BTC', encode(1)], ['USDC', encode(5)], ['BTC', encode(2)]])], ['positions', encode([perp()])]])],
  ['repeated positions key', map([['id', str('a8')], ['mode', str('cross')], ['positions', encode([perp()])], ['positions', encode([perp({ size: 3 })])]])],
  ['size first', encode({ id: 'a9', mode: 'cross', positions: [{ size: 5, instrument: 'BTC-PERPETUAL' }] })],
  ['unknown position key', encode({ id: 'b1', mode: 'cross', positions: [perp({ leverage: 3 })] })],
  ['nil entry price', encode({ id: 'b2', mode: 'cross', positions: [perp({ entryPrice: null })] })],
  ['zero size', encode({ id: 'b3', mode: 'cross', positions: [perp({ size: 0 })] })],
  ['size over the limit', encode({ id: 'b4', mode: 'cross', positions: [perp({ size: 1e13 })] })],
  ['NaN size', encode({ id: 'b5', mode: 'cross', positions: [perp({ size: NaN })] })],
  ['negative entry price', encode({ id: 'b6', mode: 'cross', positions: [perp({ entryPrice: -5 })] })],
  ['collateral over the limit', encode({ id: 'b7', mode: 'cross', collateral: { BTC: -2e15 } })],
  ['position collateral in cross mode', encode({ id: 'b8', mode: 'cross', positions: [perp({ collateral: { BTC: 1 } })] })],
  ['64-bit size', encode({ id: 'b9', mode: 'cross', positions: [perp({ size: 2 ** 35 })] })],
  ['string size', encode({ id: 'c1', mode: 'cross', positions: [perp({ size: '10' })] })],
  ['not a map', encode([1, 2, 3])],
  ['a number', encode(7)],
];

/** Values the reader takes itself (every number form, map16/array16, str8, isolated lines). */
const plainValues: Uint8Array[] = [
  encode({ id: 'p1', mode: 'isolated', collateral: { USDC: 10 }, positions: [perp({ entryPrice: 64000.5, collateral: { BTC: 0.25, ETH: 3 } }), perp({ size: -7, collateral: {} })] }),
  encode({ id: 'p2', mode: 'portfolio', collateral: { BTC: 1.5, USDC: 70000, USDT: -300, ETH: 0 }, positions: Array.from({ length: 40 }, (_, i) => perp({ size: (i % 2 ? -1 : 1) * (i + 1) * 10 })) }),
  encode({ id: 'p3', mode: 'cross', collateral: { BTC: 0.1 }, positions: [perp({ size: 0.5, entryPrice: 70000 })] }, { forceFloat32: true }),
  encode({ id: 'p4', mode: 'cross', collateral: { USDC: 200, USDT: 65535, USD: 4294967295 }, positions: [perp({ size: -128 }), perp({ size: -32768 }), perp({ size: -2147483648 }), perp({ size: 127 })] }),
  encode({ id: 'p5-' + 'x'.repeat(60), mode: 'portfolio' }),
  encode({ id: 'p6', mode: 'cross', positions: [] }),
  encode({ id: 'p7', mode: 'cross', collateral: {} }),
];

describe('msgpack accounts read into columns', () => {
  test('random books: the columns of the object path, array for array, names and currencies in the same order', () => {
    for (const seed of [1, 2, 3]) {
      const { accounts } = generateBook({ accounts: 400, seed, market });
      const bytes = cat(accounts.map((a) => encode(a)));
      expect(readChunk(bytes), `seed ${seed}`).toEqual(objectPath(accounts));
    }
  });

  test('every value the reader leaves to the object path gives its error or account exactly, between plain ones', () => {
    const { accounts } = generateBook({ accounts: 30, seed: 4, market });
    const parts: Uint8Array[] = [];
    oddValues.forEach(([, v], i) => parts.push(encode(accounts[i % accounts.length]), v));
    parts.push(...plainValues);
    const bytes = cat(parts);
    const got = readChunk(bytes);
    const want = objectPath(parts.map((p) => decode(p)));
    expect(got).toEqual(want);
    // the errors are validateAccount's, with their paths
    const errs = [...got.errors.values()];
    expect(errs.length).toBe(15); // ids through "a number" above: 15 values validateAccount rejects
    expect(errs.every((e) => e.code === ErrorCodes.INVALID_INPUT)).toBe(true);
    expect(errs.map((e) => e.path)).toContain('positions[0].size');
    // and what the accepted odd ones hold: the last BTC of a repeated key, the 64-bit size
    const k7 = got.ids.indexOf('a7');
    expect(Array.from(got.amount.subarray(got.colStart[k7], got.colStart[k7 + 1]))).toEqual([2, 5]);
    const k9 = got.ids.indexOf('b9');
    expect(got.size[got.posStart[k9]]).toBe(2 ** 35);
    const p3 = got.ids.indexOf('p3');
    expect(got.entry[got.posStart[p3]]).toBe(70000);
    expect(got.amount[got.colStart[p3]]).toBe(Math.fround(0.1));
  });
});

/** One JSON line per value, read as the ingestion workers read them. */
function readLines(lines: string[]): BookColumns {
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return ingestChunk({ format: 'jsonl', bytes: shared, firstLine: 1, firstIndex: -1, entries: 0 }).columns;
}

describe('the name table of a reader reused across builder resets', () => {
  test('an instrument name met in an earlier generation of the builder is looked up again: the columns of the object path', () => {
    const b = new ColumnsBuilder();
    const reader = new MsgpackAccountReader(b);
    const first = { id: 'r1', mode: 'cross', collateral: { BTC: 1 }, positions: [perp(), perp({ instrument: 'ETH-PERPETUAL' })] };
    const second = { id: 'r2', mode: 'cross', collateral: { BTC: 1 }, positions: [perp({ instrument: 'BTC-25SEP26-60000-P', size: -2 }), perp({ instrument: 'ETH-PERPETUAL' }), perp()] };
    const one = encode(first);
    expect(reader.read(one, 0)).toBe(one.length);
    b.reset(); // names forgotten: ETH-PERPETUAL and BTC-PERPETUAL take new indices (1 and 2 after the option's 0)
    const two = encode(second);
    expect(reader.read(two, 0)).toBe(two.length);
    const got = b.build();
    expect(got.names).toEqual(['BTC-25SEP26-60000-P', 'ETH-PERPETUAL', 'BTC-PERPETUAL']);
    expect(Array.from(got.instr)).toEqual([0, 1, 2]);
    expect(got).toEqual(objectPath([second]));
  });
});

describe('JSON-lines accounts read into columns', () => {
  test('random books, written by JSON.stringify and with spaces everywhere JSON allows: the columns of JSON.parse + validateAccount', () => {
    for (const seed of [1, 2]) {
      const { accounts } = generateBook({ accounts: 400, seed, market });
      expect(readLines(accounts.map((a) => JSON.stringify(a))), `seed ${seed}`).toEqual(objectPath(accounts));
      expect(readLines(accounts.map((a) => JSON.stringify(a, null, 1).replace(/\n/g, ' \t'))), `seed ${seed}, spaced`).toEqual(objectPath(accounts));
    }
  });

  test('every line the reader leaves to JSON.parse gives its account or error exactly, numbers converted as JSON.parse converts them', () => {
    const base = '{"id":"j1","mode":"cross","collateral":{"BTC":1},"positions":[{"instrument":"BTC-PERPETUAL","size":SIZE}]}';
    const sizes = ['1e3', '-2.5E+2', '0.30000000000000004', '123456789.012345678', '-7.25', '1234.5678901234567', '7e-1', '0.000001', '99999999999.99999'];
    const valid = [
      ...sizes.map((x) => base.replace('SIZE', x)),
      '{"id":"z0","mode":"cross","collateral":{"BTC":-0.0}}',
      '{"id":"j\\"2","mode":"cross","positions":[]}', // an escape
      '{"id":"j3\\u00e9","mode":"cross"}',
      '{"id":"compte-été","mode":"cross"}', // UTF-8
      '{"mode":"cross","id":"j4"}', // other key order
      '{"id":"j5","mode":"cross","currency":"BTC"}', // another key
      '{"id":"j6","mode":"cross","collateral":{"BTC":1,"BTC":2}}', // a repeated key: the last
      '{"id":"j7","mode":"cross","positions":[],"collateral":{"ETH":1}}',
      '{"id":42,"mode":"portfolio"}',
      '{"id":"j8","mode":"cross","positions":[{"size":1,"instrument":"BTC-PERPETUAL"}]}',
      '{"id":"j9","mode":"isolated","positions":[{"instrument":"BTC-PERPETUAL","size":1,"collateral":{"BTC":1},"entryPrice":60000}]}',
      '{"id":"k1","mode":"cross","positions":[{"instrument":"BTC-PERPETUAL","size":1,"entryPrice":null}]}',
      '{"id":"k2","mode":"cross","positions":[{"instrument":"BTC-PERPETUAL","size":0}]}',
      '{"id":"k3","mode":"cross","positions":[{"instrument":"BTC-PERPETUAL","size":"1"}]}',
      '{"id":"k4","mode":"cross","positions":[{"instrument":"BTC-PERPETUAL","size":1,"collateral":{"BTC":1}}]}',
      '{"id":"k5","mode":"cross","collateral":{"usd":1}}',
      '{"id":"","mode":"cross"}',
      '[1,2]',
      '{"id":"k6","mode":"cross","collateral":{"BTC":1e400}}',
    ];
    const got = readLines(valid);
    expect(got).toEqual(objectPath(valid.map((l) => JSON.parse(l))));
    expect(Array.from(got.size.subarray(0, sizes.length))).toEqual(sizes.map(Number));
    expect(Object.is(got.amount[got.colStart[got.ids.indexOf('z0')]], -0)).toBe(true);
    // lines JSON.parse rejects are never read as accounts
    const broken = ['{"id":"b1","mode":"cross",}', '{"id":"b2","mode":"cross","collateral":{"BTC":01}}', '{"id":"b3","mode":"cross","collateral":{"BTC":1.}}',
      '{"id":"b4","mode":"cross","collateral":{"BTC":-}}', '{"id":"b5","mode":"cross"} x', '{"id":"b6","mode":"cross","collateral":{"BTC":.5}}', '{"id":"b7\u0001","mode":"cross"}', '{"id":"b8","mode":"cross","positions":[{"instrument":"BTC-PERPETUAL","size":1},]}'];
    for (const l of broken) {
      expect(() => JSON.parse(l)).toThrow();
      const c = readLines([l]);
      expect(c.mode[0], l).toBe(255);
      expect(c.errors.get(0)?.message, l).toBe('line 1 is not valid JSON');
    }
  });
});
