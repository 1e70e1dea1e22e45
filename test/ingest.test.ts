/**
 * Streaming ingestion (src/io/ingest.ts): the same book read from JSON lines, a JSON array,
 * msgpack (array and stream) and the columnar format, with 1 or 2 parsing threads and chunks
 * small enough to cut everywhere, gives identical columns; malformed lines and invalid accounts
 * keep their place with validateAccount's own messages; columnar files are checked like any input.
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import { ingestBook } from '../src/io/ingest.js';
import { accountAt, type BookColumns } from '../src/instruments/columns.js';
import { encodeColumns, encodeSegment, readColumns } from '../src/io/book-columns.js';
import { BookWriter } from '../src/io/book-file.js';
import { validateAccount } from '../src/instruments/account.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';

const dir = mkdtempSync(join(tmpdir(), 'optmargin-ingest-'));
const market = resolveMarket(defaultMarket());
const { accounts } = generateBook({ accounts: 300, seed: 5, market });
const file = (name: string, data: string | Uint8Array): string => {
  const f = join(dir, name);
  writeFileSync(f, data);
  return f;
};
const bytesOf = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
/** Everything a book's columns say, as plain data. */
const view = (c: BookColumns) => ({
  n: c.n,
  accounts: Array.from({ length: c.n }, (_, k) => accountAt(c, k) ?? { id: c.ids[k], error: c.errors.get(k) }),
});

describe('streaming ingestion', () => {
  const jsonl = accounts.map((a) => JSON.stringify(a)).join('\n') + '\n';
  const expected = { n: accounts.length, accounts: accounts.map((a) => validateAccount(a)) };

  test('JSON lines, JSON array, msgpack array, msgpack stream and columns: identical, for 1 and 2 threads and tiny chunks', async () => {
    const files = {
      jsonl: file('b.jsonl', jsonl),
      json: file('b.json', JSON.stringify(accounts)),
      msgpack: file('b.msgpack', encode(accounts)),
      stream: file('b.mpstream', Buffer.concat(accounts.map((a) => encode(a)))),
    };
    for (const [fmt, f] of Object.entries(files)) {
      for (const threads of [1, 2]) {
        // read blocks of the default size, and small ones: the bytes not yet cut carried over
        // many blocks (4 MiB chunks), the last whole values of each block cut as a chunk
        // (3,000-byte chunks in 5,003-byte blocks), values longer than a block (333 bytes)
        for (const [chunkBytes, blockBytes] of [[4 << 20, undefined], [777, undefined], [4 << 20, 1000], [3000, 5003], [777, 333]]) {
          const { columns, report } = await ingestBook(f, { threads, chunkBytes, blockBytes });
          expect(view(columns), `${fmt} ${threads} ${chunkBytes} ${blockBytes}`).toEqual(expected);
          if (fmt !== 'json' && chunkBytes === 777) expect(report.chunks).toBeGreaterThan(10);
          // 4 MiB chunks ramp up from 512 KiB (ingest.ts), a block's last whole entries cut once they fill half
          // of that: this book (270–310 KB) is one chunk of 256 KiB or more, carried over hundreds of 1,000-byte blocks, and the rest
          if (fmt !== 'json' && blockBytes === 1000) expect(report.chunks).toBe(statSync(f).size >= 256 << 10 ? 2 : 1);
        }
      }
    }
    const { columns } = await ingestBook(files.jsonl, { threads: 2 });
    const ombook = file('b.ombook', bytesOf(encodeColumns(columns)));
    const back = await ingestBook(ombook, { threads: 1 });
    expect(back.report.format).toBe('columns');
    expect(view(back.columns)).toEqual(expected);
  });

  test('malformed lines and invalid accounts keep their place, with the line number or the field; blank lines skipped; ids of id-less accounts are #index', async () => {
    const lines = [
      JSON.stringify(accounts[0]),
      '',
      '{"id":"broken","mode":"portfolio", positions: [',
      JSON.stringify({ ...accounts[1], positions: [{ instrument: 'BTC-PERPETUAL', size: 1e300 }] }),
      JSON.stringify({ mode: 'cross', positions: [] }),
      '[' .repeat(80) + ']'.repeat(80),
      JSON.stringify(accounts[2]),
    ];
    for (const chunkBytes of [4 << 20, 50]) {
      const { columns: c } = await ingestBook(file('bad.jsonl', lines.join('\n')), { threads: 2, chunkBytes });
      expect(c.n).toBe(6);
      expect(c.ids).toEqual([accounts[0].id, 'broken', accounts[1].id, '#3', 'line 6', accounts[2].id]);
      expect(c.errors.get(1)).toEqual({ code: 'OPTMARGIN_INVALID_INPUT', message: 'line 3 is not valid JSON' });
      expect(c.errors.get(2)).toMatchObject({ path: 'positions[0].size', message: 'positions[0].size must be within ±1e12 (docs/book.md "Limits"), got 1e+300' });
      expect(c.errors.get(3)).toMatchObject({ path: 'id' });
      expect(c.errors.get(4)?.message).toBe('line 6 nests arrays/objects deeper than 64 levels');
    }
  });

  test('not a book: empty, a first line that is not an account, msgpack declaring more accounts than it holds', async () => {
    await expect(ingestBook(file('e.jsonl', '\n \n'), { threads: 1 })).rejects.toThrow(/the file is empty/);
    await expect(ingestBook(file('n.jsonl', '{"a":1}\n{"b":2}\n'), { threads: 2 })).rejects.toThrow(/is not a book: line 1 holds an object that is not an account/);
    const m = encode(accounts.slice(0, 3));
    m[0] = 0x95; // fixarray of 5, 3 present
    await expect(ingestBook(file('short.msgpack', m), { threads: 1 })).rejects.toThrow(/declares 2 more accounts than the file holds/);
  });

  test('columnar files are checked: structure (lengths, offsets, indices) and values (limits → invalid account with validateAccount\'s message)', async () => {
    const { columns } = await ingestBook(file('c.jsonl', jsonl), { threads: 1 });
    const good = bytesOf(encodeColumns(columns));
    expect(() => readColumns(good.subarray(0, good.length - 8), 'x')).toThrow(/without its end marker \(a truncated file\)/);
    expect(() => readColumns(good.subarray(0, good.length - 16), 'x')).toThrow(/the arrays need \d+ bytes in all/);
    expect(() => readColumns(Buffer.concat([good, new Uint8Array(8)]), 'x')).toThrow(/8 bytes after the end marker/);
    const miscount = Buffer.from(good);
    miscount.writeUInt32LE(columns.n + 1, miscount.length - 4);
    expect(() => readColumns(miscount, 'x')).toThrow(new RegExp(`the end marker counts ${columns.n + 1} accounts, the segments hold ${columns.n}`));
    const c2 = structuredClone(columns);
    c2.size[0] = Infinity;
    const back = readColumns(bytesOf(encodeColumns(c2)), 'x');
    expect(back.errors.get(0)).toMatchObject({ path: 'positions[0].size', message: 'positions[0].size must be a finite number, got Infinity' });
    const c3 = structuredClone(columns);
    c3.instr[5] = 1e6;
    expect(() => readColumns(bytesOf(encodeColumns(c3)), 'x')).toThrow(/instr\[5\] = 1000000 is outside its table/);
    const c4 = structuredClone(columns);
    c4.posStart[3] = c4.posStart[2] - 1;
    expect(() => readColumns(bytesOf(encodeColumns(c4)), 'x')).toThrow(/posStart\[3\] decreases/);
    // an account's currency: a code a rule rejects makes the account invalid with validateAccount's message; an entry naming no valid account once is a broken file
    const c5 = structuredClone(columns);
    c5.settlement.set(2, 'btc');
    c5.settlement.set(4, 'ETH');
    const back5 = readColumns(bytesOf(encodeColumns(c5)), 'x');
    expect(back5.errors.get(2)).toMatchObject({ path: 'currency', message: expect.stringMatching(/^currency must be an upper-case currency code/) });
    expect([back5.settlement.has(2), accountAt(back5, 4)?.currency]).toEqual([false, 'ETH']);
    for (const k of [-1, columns.n, 1.5]) {
      const c6 = structuredClone(columns);
      c6.settlement.set(k, 'BTC');
      expect(() => readColumns(bytesOf(encodeColumns(c6)), 'x'), `index ${k}`).toThrow(/a settlement entry does not name a valid account once with a string/);
    }
  });
});

describe('the columnar format in segments (streamed writing)', () => {
  test('a book written one segment at a time (BookWriter, 7 segments) reads back as the accounts written, an invalid account at its book index', async () => {
    const chunks: Uint8Array[] = [];
    const w = new BookWriter('columns', accounts.length, (c) => void chunks.push(c), 45);
    for (const a of accounts) await w.add(validateAccount(a));
    await w.end();
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('OMBOOKC2');
    expect(bytes.readUInt32LE(bytes.length - 4)).toBe(accounts.length);
    const { columns, report } = await ingestBook(file('seg.ombook', bytes), { threads: 1 });
    expect(report.format).toBe('columns');
    expect(view(columns)).toEqual({ n: accounts.length, accounts: accounts.map((a) => validateAccount(a)) });
    // a size breaking the limit in the 5th segment: that account (book index 200) becomes invalid, no other
    const parts: Uint8Array[] = [];
    const w2 = new BookWriter('columns', accounts.length, (c) => void parts.push(c), 45);
    for (const [k, a] of accounts.entries()) {
      const v = validateAccount(a);
      await w2.add(k === 200 ? { ...v, positions: [{ ...v.positions[0], size: 1e300 }, ...v.positions.slice(1)] } : v);
    }
    await w2.end();
    const seg = readColumns(Buffer.concat(parts), 'x');
    expect([...seg.errors.keys()]).toEqual([200]);
    expect(seg.errors.get(200)).toMatchObject({ path: 'positions[0].size', message: 'positions[0].size must be within ±1e12 (docs/book.md "Limits"), got 1e+300' });
    expect(seg.ids[200]).toBe(accounts[200].id);
  });

  test('an empty instrument name in a segmented file makes only its account invalid, with validateAccount\'s error, in every segment', async () => {
    const bad = new Set([7, 130, 299]);
    const broken = (k: number) => {
      const v = validateAccount(accounts[k]);
      return { ...v, positions: v.positions.map((p, t) => (t === v.positions.length - 1 ? { ...p, instrument: '' } : p)) };
    };
    const parts: Uint8Array[] = [];
    const w = new BookWriter('columns', accounts.length, (c) => void parts.push(c), 45);
    for (const [k, a] of accounts.entries()) await w.add(bad.has(k) ? broken(k) : validateAccount(a));
    await w.end();
    const seg = readColumns(Buffer.concat(parts), 'x');
    expect([...seg.errors.keys()]).toEqual([...bad]);
    for (const k of bad) {
      let expected: unknown = null;
      try {
        validateAccount(broken(k));
      } catch (e) {
        expected = { code: (e as { code: string }).code, message: (e as Error).message };
      }
      expect(expected, `account ${k}`).not.toBeNull();
      expect(seg.errors.get(k), `account ${k}`).toMatchObject(expected as object);
    }
  });

  test('accounts with an empty id in a segmented file are invalid, reported as #<book index> (the index in the whole book, not in their segment), for 1 and 2 threads', async () => {
    const unnamed = new Set([3, 44, 45, 100, 299]); // first and last of a 45-account segment, the book's last
    const chunks: Uint8Array[] = [];
    const w = new BookWriter('columns', accounts.length, (c) => void chunks.push(c), 45);
    for (const [k, a] of accounts.entries()) await w.add(unnamed.has(k) ? { ...validateAccount(a), id: '' } : validateAccount(a));
    await w.end();
    const f = file('unnamed.ombook', Buffer.concat(chunks));
    for (const threads of [1, 2]) {
      const { columns } = await ingestBook(f, { threads });
      const ids = [...unnamed].map((k) => columns.ids[k]);
      expect(ids, `threads ${threads}`).toEqual(['#3', '#44', '#45', '#100', '#299']);
      for (const k of unnamed) expect(columns.errors.get(k), `account ${k}`).toMatchObject({ path: 'id', message: 'id must be a non-empty string, got ""' });
      expect(columns.ids[46]).toBe(accounts[46].id);
    }
  });

  test('a version-1 file (OMBOOKC1, one segment, no end marker) still reads', async () => {
    const c = (await ingestBook(file('v1.jsonl', accounts.map((a) => JSON.stringify(a)).join('\n')), { threads: 1 })).columns;
    const seg = Buffer.concat(encodeSegment(c));
    const at = seg.indexOf(Buffer.from('optmargin.book-columns/3'));
    seg[at + 'optmargin.book-columns/'.length] = '1'.charCodeAt(0);
    const v1 = Buffer.concat([Buffer.from('OMBOOKC1'), seg]);
    expect(view(readColumns(v1, 'x'))).toEqual(view(c));
  });

  test('gen-book --out x.ombook (streamed) and --out x.jsonl give the same book', async () => {
    const { runGenBookCommand } = await import('../src/cli/book.js');
    const ombook = join(dir, 'gen.ombook');
    const jsonlFile = join(dir, 'gen.jsonl');
    await runGenBookCommand({ accounts: 700, seed: 9, out: ombook });
    await runGenBookCommand({ accounts: 700, seed: 9, out: jsonlFile });
    const a = await ingestBook(ombook, { threads: 1 });
    const b = await ingestBook(jsonlFile, { threads: 2 });
    expect(a.report.format).toBe('columns');
    expect(view(a.columns)).toEqual(view(b.columns));
    expect(a.columns.n).toBe(700);
  });
});

describe('the book runner loaded from columns', () => {
  test('loadColumns gives the same results as load(objects) — invalid accounts with their validation error and path — and trades/account(k) work on it', async () => {
    const { BookEngine } = await import('../src/runner/book/runner.js');
    const raw: unknown[] = [...accounts.slice(0, 120), { ...accounts[3], id: 'bad', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] }, { mode: 'cross' }];
    const f = file('mixed.jsonl', raw.map((a) => JSON.stringify(a)).join('\n'));
    const { columns } = await ingestBook(f, { threads: 1 });
    const a = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    const b = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      a.load(raw);
      b.loadColumns(columns);
      await a.recompute();
      await b.recompute();
      expect(JSON.stringify(b.results())).toBe(JSON.stringify(a.results()));
      expect(b.result(120)).toMatchObject({ id: 'bad', ok: false, error: { code: 'OPTMARGIN_INVALID_INPUT', path: 'positions[0].size' } });
      expect(b.result(121)).toMatchObject({ id: '#121', ok: false });
      expect(b.account(5)).toEqual(validateAccount(accounts[5]));
      const k = accounts.findIndex((x) => x.mode === 'portfolio');
      const ta = a.trade(k, [{ instrument: 'BTC-PERPETUAL', size: 1000 }]);
      const tb = b.trade(k, [{ instrument: 'BTC-PERPETUAL', size: 1000 }]);
      expect(tb.result).toEqual(ta.result);
      expect(b.account(k).positions.length).toBe(accounts[k].positions.length + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an account's `currency` (a segregated sub-account's settlement currency) is kept by every reader and the columnar file: deribit-pm margins it as load(objects) does; a /2 segment, written without it, still reads", async () => {
    const { BookEngine } = await import('../src/runner/book/runner.js');
    const perp = accounts.flatMap((a) => a.positions).find((p) => p.instrument.startsWith('BTC-'))!.instrument;
    const given = [
      { id: 'empty-btc', mode: 'cross', currency: 'BTC', collateral: {} }, // reported in BTC (inferred: USD, all zero)
      { id: 'eth-with-btc', mode: 'cross', currency: 'ETH', collateral: { BTC: 1 } }, // a balance in another currency: an error at collateral.BTC
      { id: 'btc-held', mode: 'portfolio', currency: 'BTC', collateral: { BTC: 2 }, positions: [{ instrument: perp, size: -1 }] },
      { id: 'bad-code', mode: 'cross', currency: 'btc', collateral: {} }, // invalid: the code's case
    ];
    const raw: unknown[] = [...accounts.slice(0, 40), ...given];
    const jsonl = file('currency.jsonl', raw.map((a) => JSON.stringify(a)).join('\n'));
    const base = (await ingestBook(jsonl, { threads: 1 })).columns;
    const files = [jsonl, file('currency.json', JSON.stringify(raw)), file('currency.msgpack', encode(raw)), file('currency.ombook', bytesOf(encodeColumns(base)))];
    const a = BookEngine.create({ market, model: 'deribit-pm', threads: 1 });
    const b = BookEngine.create({ market, model: 'deribit-pm', threads: 1 });
    try {
      a.load(raw);
      await a.recompute();
      const want = JSON.stringify(a.results());
      expect(a.result(40)).toMatchObject({ id: 'empty-btc', ok: true, currency: 'BTC' });
      expect(a.result(41)).toMatchObject({ id: 'eth-with-btc', ok: false, error: { path: 'collateral.BTC' } });
      expect(a.result(42)).toMatchObject({ id: 'btc-held', ok: true, currency: 'BTC' });
      expect(a.result(43)).toMatchObject({ id: 'bad-code', ok: false, error: { path: 'currency' } });
      for (const f of files) {
        for (const threads of [1, 2]) {
          const { columns } = await ingestBook(f, { threads, chunkBytes: 2000 });
          expect(view(columns).accounts.slice(40, 43), `${f} ${threads}`).toEqual(given.slice(0, 3).map((x) => validateAccount(x)));
          b.loadColumns(columns);
          await b.recompute();
          expect(JSON.stringify(b.results()), `${f} ${threads}`).toBe(want);
        }
      }
      // a /2 segment (no settlement in its header): its accounts infer their currency
      const seg = Buffer.concat(encodeSegment(base));
      const at = seg.indexOf(Buffer.from('optmargin.book-columns/3'));
      seg[at + 'optmargin.book-columns/'.length] = '2'.charCodeAt(0);
      const end = Buffer.alloc(8);
      end.writeUInt32LE(base.n, 4);
      const v2 = readColumns(Buffer.concat([Buffer.from('OMBOOKC2'), seg, end]), 'v2');
      expect(accountAt(v2, 40)).toEqual({ id: 'empty-btc', mode: 'cross', collateral: {}, positions: [] });
      expect(view(v2).accounts.slice(0, 40)).toEqual(view(base).accounts.slice(0, 40));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a load resolved chunk by chunk as ingestion delivers them (columnsLoad, the CLI path) equals load(objects) bit for bit, on 1 and 2 threads', async () => {
    const { BookEngine } = await import('../src/runner/book/runner.js');
    const raw: unknown[] = [...accounts.slice(0, 150), { mode: 'cross', positions: [] }, { ...accounts[7], id: 'bad', mode: 'sideways' }, ...accounts.slice(150, 200)];
    const f = file('chunked.jsonl', raw.map((a) => JSON.stringify(a)).join('\n'));
    const a = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      a.load(raw);
      await a.recompute();
      const want = JSON.stringify(a.results());
      for (const threads of [1, 2]) {
        const b = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads });
        try {
          const loader = b.columnsLoad();
          let chunks = 0;
          // the CLI path: on 2 threads the chunks are parsed on the book pool's own workers
          const { columns } = await ingestBook(f, { threads, chunkBytes: 3000, onChunk: (c) => (chunks++, loader.add(c)), pool: b.sharedPool() });
          expect(chunks).toBeGreaterThan(20);
          const rep = loader.finish(columns);
          expect(rep.accounts).toBe(raw.length);
          await b.recompute();
          expect(JSON.stringify(b.results()), `${threads} threads`).toBe(want);
          expect(b.result(150)).toMatchObject({ id: '#150', ok: false });
        } finally {
          await b.close();
        }
      }
    } finally {
      await a.close();
    }
  });
});
