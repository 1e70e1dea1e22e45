/**
 * The write stage on the pool (issue 9): result rows formatted by format chunks (in the book
 * pool's workers, in-process on 1 thread) must give the bytes written by hand here — tricky ids
 * (quotes, commas, formula prefixes, control characters, non-ASCII, a lone surrogate) and numbers
 * (−0, the smallest subnormal, huge, integers, a NaN that must never reach the output) — and the
 * CLI's --out must equal, byte for byte and for 1, 2 and 3 threads, a document serialized here
 * independently (a CSV formatter of this file, JSON.stringify / msgpack encode of the whole document).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, decodeMulti, encode } from '@msgpack/msgpack';
import { afterAll, describe, expect, test } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { summarize, type BookAccountResult } from '../src/io/results.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { sharedF64, sharedI32, sharedReduceArrays } from '../src/runner/book/arrays.js';
import { NOT_FORMATTED, formatChecksum, formatProblem, runFormat, type FormatTask, type FormatView } from '../src/runner/book/format-task.js';
import { findPackageRoot } from '../src/wasm/module.js';

const TRICKY = ['a,"b"', '=cmd|x', 'ünï€😀\u0007', 'single', 'failed', '\ud800x'];

/** Six accounts laid out by hand: two pooled rows (BTC, ETH) for account 0, one isolated sub-account for 1, holes 2–4, a cross account 5. */
function handView(): FormatView {
  const red = sharedReduceArrays(6);
  red.subRowStart = sharedI32(5);
  red.subRows = sharedI32(3);
  red.rowIm = sharedF64(3);
  // account 0: sub 0 holds rows 0 (BTC) and 1 (ETH); account 1: sub 1 (isolated, no rows); account 5: sub 2, row 2 (BTC)
  red.subRowStart.set([0, 2, 2, 3, 3]);
  red.subRows.set([0, 1, 2]);
  red.rowIm.set([5e-324, 2.5, 1]);
  const acc = (k: number, kind: number, sub: number, eq: number, im: number, mm: number, avail: number, cv: number, health: number) => {
    red.accKind[k] = kind;
    red.accSubFrom[k] = sub;
    red.accSubTo[k] = sub + 1;
    red.accEquity[k] = eq;
    red.accIm[k] = im;
    red.accMm[k] = mm;
    red.accAvail[k] = avail;
    red.accCv[k] = cv;
    red.accHealth[k] = health;
  };
  acc(0, 1, 0, 1e21, 1.2345678901234568e20, 0.1 + 0.2, -0, 5e-324, 0);
  acc(1, 2, 1, 42, 7, 3, -1.5, 1e-7, 1);
  acc(2, 1, 2, NaN, 1, 1, 1, 1, 0); // a NaN figure: a hole (the main thread reports OPTMARGIN_NON_FINITE)
  acc(4, 1, 2, 1, 1, 1, 1, 1, 0);
  red.accFailed[4] = 1; // its chunk failed: a hole
  acc(5, 1, 2, -0, 0, 0, 0, 0, 3);
  const idStart = sharedI32(7);
  TRICKY.forEach((s, k) => (idStart[k + 1] = idStart[k] + s.length));
  const idUnits = new Uint16Array(new SharedArrayBuffer(2 * idStart[6]));
  TRICKY.forEach((s, k) => [...Array(s.length).keys()].forEach((i) => (idUnits[idStart[k] + i] = s.charCodeAt(i))));
  const modes = new Uint8Array(new SharedArrayBuffer(6));
  modes.set([0, 2, 0, NOT_FORMATTED, 0, 1]);
  const rowSlot = Int32Array.of(0, 1, 0);
  return {
    idUnits,
    idStart,
    modes,
    red,
    rows: { rowSlot, worst: Int32Array.of(1, 0, 2), loss: Float64Array.of(-0, 2, 1e-300) },
    ins: { underlyings: ['BTC', 'ETH'], scenarioLabels: [['s0', 's1', 's"2,'], ['e0']] },
  };
}

const task = (format: FormatTask['format'], from = 0, to = 6): FormatTask => ({ kind: 'format', chunk: 0, attempt: 0, from, to, format, view: handView() });
const text = (p: Uint8Array): string => Buffer.from(p).toString('utf8');

describe('format chunks, rows written by hand', () => {
  test('CSV: escaping and number text by hand; NaN, the single-path and the failed account are holes', () => {
    const { parts, holes } = runFormat(task('csv'));
    expect(Array.from(holes)).toEqual([2, 3, 4]);
    expect(parts.map(text)).toEqual([
      '"a,""b""",true,portfolio,healthy,USD,1e+21,123456789012345680000,0.30000000000000004,0,3.0000000000000004e-22,5e-324,1e+21,123456789012345680000,0.30000000000000004,,\n' +
        "'=cmd|x,true,isolated,margin call,USD,42,7,3,-1.5,0.07142857142857142,1e-7,42,7,3,,\n",
      '',
      '',
      // the lone surrogate goes out as UTF-8's replacement character (Buffer.from, as the main thread's text did)
      '\ufffdx,true,cross,bankrupt,USD,0,0,0,0,,0,0,0,0,,\n',
    ]);
  });

  test('JSON: array elements by hand (a comma before all but the first account of the book)', () => {
    const { parts } = runFormat(task('json'));
    expect(text(parts[0])).toBe(
      '{"id":"a,\\"b\\"","ok":true,"mode":"portfolio","modeApplied":"portfolio","currency":"USD","equity":1e+21,"initialMargin":123456789012345680000,"maintenanceMargin":0.30000000000000004,"marginRatio":3.0000000000000004e-22' +
        ',"availableFunds":0,"health":"healthy","collateralValue":5e-324,"underlyings":[{"underlying":"BTC","worstScenario":"s1","worstLoss":0,"initialMargin":5e-324},{"underlying":"ETH","worstScenario":"e0","worstLoss":2,"initialMargin":2.5}]}' +
        ',{"id":"=cmd|x","ok":true,"mode":"isolated","modeApplied":"isolated","currency":"USD","equity":42,"initialMargin":7,"maintenanceMargin":3,"marginRatio":0.07142857142857142,"availableFunds":-1.5,"health":"margin call","collateralValue":1e-7,"underlyings":[]}',
    );
    expect(text(parts[3])).toBe(',{"id":"\\ud800x","ok":true,"mode":"cross","modeApplied":"cross","currency":"USD","equity":0,"initialMargin":0,"maintenanceMargin":0,"marginRatio":null,"availableFunds":0,"health":"bankrupt","collateralValue":0,"underlyings":[{"underlying":"BTC","worstScenario":"s\\"2,","worstLoss":1e-300,"initialMargin":1}]}');
    // a chunk starting at account 1: its first element carries the comma
    expect(text(runFormat(task('json', 1, 2)).parts[0]).startsWith(',{"id":"=cmd|x"')).toBe(true);
  });

  test('msgpack: the values decode to the objects written by hand ', () => {
    const { parts } = runFormat(task('msgpack'));
    const values = [...decodeMulti(parts[0])] as BookAccountResult[];
    expect(values.map((v) => v.id)).toEqual(['a,"b"', '=cmd|x']);
    expect(values[0]).toMatchObject({ equity: 1e21, maintenanceMargin: 0.30000000000000004, collateralValue: 5e-324, marginRatio: 3.0000000000000004e-22 });
    // -0 is an integer to msgpack: written as the integer 0 (what encode(result) always did)
    expect(Object.is((values[0] as { availableFunds: number }).availableFunds, 0)).toBe(true);
    expect((values[0] as { underlyings: unknown[] }).underlyings).toEqual([
      { underlying: 'BTC', worstScenario: 's1', worstLoss: 0, initialMargin: 5e-324 },
      { underlying: 'ETH', worstScenario: 'e0', worstLoss: 2, initialMargin: 2.5 },
    ]);
    expect([...decodeMulti(parts[3])]).toEqual([{ id: decode(encode('\ud800x')), ok: true, mode: 'cross', modeApplied: 'cross', currency: 'USD', equity: 0, initialMargin: 0, maintenanceMargin: 0, marginRatio: null, availableFunds: 0, health: 'bankrupt', collateralValue: 0, underlyings: [{ underlying: 'BTC', worstScenario: 's"2,', worstLoss: 1e-300, initialMargin: 1 }] }]);
  });

  test('no format: holes only (the summary of a run without --out)', () => {
    const a = runFormat(task(null));
    expect(a.parts).toEqual([]);
    expect(Array.from(a.holes)).toEqual([2, 3, 4]);
  });

  test('receipts: a changed byte, a missing account or holes out of order are refused', () => {
    const t = task('csv');
    const { parts, holes } = runFormat(t);
    const good = { count: 6, checksum: formatChecksum(parts, holes), parts, holes };
    expect(formatProblem(t, good)).toBeNull();
    expect(formatProblem(t, { ...good, count: 5 })).toMatch(/covered 5 accounts, expected 6/);
    expect(formatProblem(t, { ...good, holes: Int32Array.of(3, 2, 4) })).toMatch(/holes out of its range/);
    const bad = parts.map((p) => new Uint8Array(p));
    bad[0][7] ^= 1;
    expect(formatProblem(t, { ...good, parts: bad })).toMatch(/checksum .* does not match/);
    expect(formatProblem(t, null)).toMatch(/returned no receipt/);
  });
});

// ---------------------------------------------------------------------------------------------
// the CLI's --out against a document serialized independently, 1 / 2 / 3 threads

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-format-'));
const market = resolveMarket(defaultMarket());
const { accounts } = generateBook({ accounts: 900, seed: 11, market });
const ids = ['a,b', 'say "hi"', '=SUM(A1)', '+1', '-2', '@x', '\tTab', '\rCR', 'line\nfeed', 'ünï€😀', '\u0007bell', '\u001b[31mred', ',', '"', ' sp ', 'a,b'];
const book = accounts.map((a, i) => (i % 50 === 0 && i / 50 < ids.length ? { ...a, id: ids[i / 50] } : a)) as unknown[];
book.splice(7, 0, { id: 'bad,"x"', mode: 'cross', collateral: { USD: 1 }, positions: [{ instrument: 'NOPE-1', size: 1 }] });
const bookFile = join(dir, 'book.jsonl');
writeFileSync(bookFile, book.map((a) => JSON.stringify(a)).join('\n') + '\n');

/** This file's own CSV (RFC 4180 by regex, OWASP's apostrophe before = + - @ TAB CR; numbers as String(x)). */
function csvByHand(results: BookAccountResult[]): string {
  const q = (s: string) => {
    const t = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\n\r]/.test(s) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const num = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));
  const head = 'id,ok,mode,health,currency,equity,initialMargin,maintenanceMargin,availableFunds,marginRatio,collateralValue,equityUsd,initialMarginUsd,maintenanceMarginUsd,errorCode,errorMessage';
  const rows = results.map((r) => {
    if (!r.ok) return [q(r.id), 'false', '', '', '', '', '', '', '', '', '', '', '', '', q(r.error.code), q(r.error.message)].join(',');
    const u = r.usd ?? r;
    return [q(r.id), 'true', q(r.mode), q(r.health), q(r.currency), num(r.equity), num(r.initialMargin), num(r.maintenanceMargin), num(r.availableFunds), num(r.marginRatio), num(r.collateralValue), num(u.equity), num(u.initialMargin), num(u.maintenanceMargin), '', ''].join(',');
  });
  return [head, ...rows].join('\n') + '\n';
}

const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

describe.skipIf(!existsSync(cli))('optmargin book --out, formatted on the pool, against an independent serialization', () => {
  for (const model of ['deribit-pm-2024.1', 'deribit-pm']) {
    test(`${model}: CSV, JSON and msgpack equal the hand serialization for 1, 2 and 3 threads`, async () => {
      const e = BookEngine.create({ market, model, threads: 1 });
      engines.push(e);
      e.load(book.map((a) => JSON.parse(JSON.stringify(a))));
      await e.recompute();
      const results = e.results();
      const doc = { format: 'optmargin.book-results/1', ...e.header(), results, summary: { ...summarize(results), positions: book.reduce((s: number, a) => s + ((a as { positions: unknown[] }).positions?.length ?? 0), 0) } };
      const want = { csv: Buffer.from(csvByHand(results)), json: Buffer.from(JSON.stringify(doc) + '\n'), msgpack: Buffer.from(encode(doc)) };
      expect(results.filter((r) => !r.ok).length).toBeGreaterThan(0);
      for (const threads of [1, 2, 3]) {
        for (const f of ['csv', 'json', 'msgpack'] as const) {
          const out = join(dir, `r${threads}.${f}`);
          const r = spawnSync(process.execPath, [cli, 'book', bookFile, '--model', model, '--threads', String(threads), '--out', out, '--no-progress'], { encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
          expect(readFileSync(out).equals(want[f]), `${model} ${f} ${threads} threads`).toBe(true);
        }
      }
    }, 120_000);
  }
});
