/**
 * The I/O contract of every command (issue 9): bounded decoders, one-line errors on stderr with
 * documented exit codes, outputs that cannot lie (checked, atomic, cleaned up on error and on
 * signals), finite-or-error figures, terminal- and spreadsheet-safe text. Runs the built CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { findPackageRoot } from '../src/wasm/module.js';
import { AtomicFile, setFileIoForTests, writeFileAtomic } from '../src/io/atomic.js';
import { decodeMsgpack, jsonNestingViolation, parseJsonText, skipMsgpack } from '../src/io/decode.js';
import { finiteOrError, firstNonFinite } from '../src/measures/finite.js';
import { csvField, csvRow, summarize } from '../src/io/results.js';
import { ErrorCodes, OptmarginError, terminalSafe } from '../src/errors.js';
import { defaultMarket } from '../src/market/index.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-io-'));
function run(args: string[], input?: string | Uint8Array, env: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}
const file = (name: string, data: string | Uint8Array): string => {
  const f = join(dir, name);
  writeFileSync(f, data);
  return f;
};
const oneLine = (s: string): void => expect(s.trim().split('\n').length, s).toBe(1);
const account = { id: 'a1', mode: 'portfolio', collateral: { BTC: 2 }, positions: [{ instrument: 'BTC-25SEP26-60000-P', size: -5 }] };

describe('bounded decoders', () => {
  test('msgpack structure checked before decoding: declared counts must fit the bytes left, nesting capped', () => {
    expect(() => decodeMsgpack(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), 'x')).toThrow(/declares 4294967295 values .* more than the 0 bytes left/);
    expect(() => decodeMsgpack(new Uint8Array(300).fill(0x91), 'x')).toThrow(/deeper than 64 levels/);
    expect(() => decodeMsgpack(Uint8Array.of(0xdb, 0x7f, 0xff, 0xff, 0xff, 0x41), 'x')).toThrow(/declares 2147483647 bytes/);
    expect(() => decodeMsgpack(new Uint8Array(0), 'x')).toThrow(/x is empty/);
    expect(decodeMsgpack(encode({ a: [1, 2, { b: 'c' }] }), 'x')).toEqual({ a: [1, 2, { b: 'c' }] });
  });
  test('the structure walk (skipMsgpack, inline fast path for fixint/fixstr/float 64/fixmap/fixarray) ends each value where the encoder ended it, and refuses out-of-bounds headers with the general messages', () => {
    // values of every header form, encoded one after the other: the walk must land on each boundary the encoder made
    const values: unknown[] = [0, 127, -1, -32, 128, -33, 70000, -70000, 2 ** 40, 1.5, -0.25, 'a', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300), 'w'.repeat(70000), true, false, null,
      Uint8Array.of(1, 2, 3), [], {}, [1, [2, [3, [4]]]], { a: { b: { c: [1.5, 'q'] } } }, Array.from({ length: 20 }, (_, i) => i * 0.5), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))];
    const parts = values.map((v) => encode(v));
    const bytes = Buffer.concat(parts);
    let p = 0;
    parts.forEach((part, i) => {
      const next = skipMsgpack(bytes, p, bytes.length, 'x');
      expect(next - p, `value ${i}`).toBe(part.length);
      p = next;
    });
    // out of bounds: fixmap of 15 pairs with 0 bytes left, fixstr of 5 with 1 byte, float 64 cut short, fixarray nested past 64
    expect(() => skipMsgpack(Uint8Array.of(0x8f), 0, 1, 'x')).toThrow(/declares 30 values at byte 0, more than the 0 bytes left could hold/);
    expect(() => skipMsgpack(Uint8Array.of(0xa5, 0x41), 0, 2, 'x')).toThrow(/declares 5 bytes at byte 0, more than the 1 left in the input/);
    expect(() => skipMsgpack(Uint8Array.of(0xcb, 0, 0), 0, 3, 'x')).toThrow(/declares 0 bytes at byte 0, more than the 0 left in the input/);
    expect(() => skipMsgpack(new Uint8Array(66).fill(0x91), 0, 66, 'x')).toThrow(/nests arrays\/maps deeper than 64 levels \(at byte 64\)/);
    expect(skipMsgpack(Uint8Array.of(...new Array(64).fill(0x91), 0x01), 0, 65, 'x')).toBe(65); // 64 levels: allowed
  });
  test('JSON nesting capped before JSON.parse (brackets inside strings ignored); syntax errors never quote the text', () => {
    expect(jsonNestingViolation('['.repeat(65))).toBe(64);
    expect(jsonNestingViolation(`["${'['.repeat(100)}"]`)).toBe(-1);
    expect(() => parseJsonText('root:x:0:0:root:/root:/bin/bash', 'f')).toThrow(/^f is not valid JSON/);
    try {
      parseJsonText('root:x:0:0:root:/root:/bin/bash', 'f');
    } catch (e) {
      expect((e as Error).message).not.toMatch(/root:/);
    }
  });
});

describe.skipIf(!existsSync(cli))('CLI contract (built CLI)', () => {
  test('a hostile 60 KB msgpack file (nested array16 headers): exit 2, one line, under a second, for every command', () => {
    const bomb = new Uint8Array(60_000);
    for (let i = 0; i + 2 < bomb.length; i += 3) bomb.set([0xdc, 0xff, 0xff], i);
    const f = file('bomb.msgpack', bomb);
    const timed = existsSync('/usr/bin/time');
    for (const args of [['book', f], ['margin', f], ['price', f], ['iv', f], ['market', f], ['book', '-', '--market', f]]) {
      const input = args.includes('-') ? JSON.stringify(account) : undefined;
      const r = run(args, input);
      expect(r.code, args.join(' ') + r.stderr).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/OPTMARGIN|declares|deeper|not a book|msgpack/);
      expect(r.stdout).toBe('');
      if (timed) {
        // CPU seconds of the whole process (node start-up included): wall time on a shared machine says little
        const t = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, cli, ...args], { input, encoding: 'utf8' });
        const [user, sys] = t.stderr.trim().split('\n').pop()!.split(' ').map(Number);
        expect(user + sys, t.stderr).toBeLessThan(1);
      } else expect(r.ms).toBeLessThan(5000);
    }
  });

  test('100k-deep JSON, an empty file, a truncated file: exit 2 with one line, no stack trace', () => {
    for (const [name, data] of [['deep.json', '['.repeat(100_000)], ['empty.json', ''], ['cut.json', '[{"id":"a","mode":']] as const) {
      const f = file(name, data);
      for (const cmd of ['margin', 'book', 'price']) {
        const r = run([cmd, f]);
        expect(r.code, `${cmd} ${name}: ${r.stderr}`).toBe(2);
        oneLine(r.stderr);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr).not.toMatch(/DataView|RangeError/);
      }
    }
  });

  test('errors never echo file content they did not parse (--model /etc/passwd-like file)', () => {
    const secret = file('secret.txt', 'root:x:0:0:SECRET-TOKEN:/root:/bin/bash\n');
    const acc = file('acc.json', JSON.stringify(account));
    const r = run(['margin', acc, '--model', secret]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).not.toMatch(/SECRET|root:/);
  });

  test('numeric limits: non-finite-making inputs are rejected naming the field (collateral 1e308, market rate / SVI sigma / expiry 1e308)', () => {
    const bad = file('big.json', JSON.stringify({ ...account, collateral: { BTC: 1e308, ETH: -1e308 } }));
    const r = run(['margin', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('collateral.BTC must be within ±1e15');
    const snap = defaultMarket() as unknown as Record<string, unknown> & { underlyings: { expiries: Record<string, unknown>[] }[] };
    const cases: [string, (m: typeof snap) => void, string][] = [
      ['rate', (m) => (m.rate = 1e308), 'market.rate must be within ±1e1'],
      ['expiry', (m) => (m.underlyings[0].expiries[0].expiry = 1e308), 'market.underlyings[0].expiries[0].expiry must be ms since the Unix epoch'],
      ['sigma', (m) => (m.underlyings[0].expiries[0].smile = { model: 'svi-raw', a: 0.01, b: 0.1, rho: 0, m: 0, sigma: 1e308 }), 'smile.sigma must be within ±1e2'],
    ];
    for (const [name, mutate, msg] of cases) {
      const m = structuredClone(snap);
      mutate(m);
      const mf = file(`market-${name}.json`, JSON.stringify(m));
      const rr = run(['book', '-', '--market', mf], JSON.stringify(account));
      expect(rr.code, rr.stderr).toBe(2);
      oneLine(rr.stderr);
      expect(rr.stderr).toContain(msg);
    }
  });

  test('margin: errors on stderr (one line per invalid account naming [i].field), data on stdout; each account under its own mode\'s model', () => {
    const cross = { id: 'c', mode: 'cross', collateral: { BTC: 1 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 10_000 }] };
    const alone = run(['margin', file('cross.json', JSON.stringify(cross)), '--json']);
    expect(alone.code).toBe(0);
    const mixed = run(['margin', file('mixed.json', JSON.stringify([account, cross, { ...cross, id: 'bad', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] }])), '--json']);
    expect(mixed.code).toBe(2);
    oneLine(mixed.stderr);
    expect(mixed.stderr).toContain('[2].positions[0].size must be a finite number, got "x"');
    const out = JSON.parse(mixed.stdout);
    expect(out[0].model.id).toBe('deribit-pm');
    expect(out[1].model.id).toBe('deribit-standard');
    expect(out[1].initialMargin).toBe(JSON.parse(alone.stdout).initialMargin);
  });

  test('duplicate ids: a warning (both accounts margined), in the summary and on stderr', () => {
    const f = file('dup.jsonl', [account, { ...account, collateral: { BTC: 3 } }].map((a) => JSON.stringify(a)).join('\n'));
    const r = run(['book', f, '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning: 1 accounts reuse an id already seen/);
    expect(r.stdout).toMatch(/book: 2 accounts/);
    expect(r.stderr).toMatch(/warning: 1 accounts reuse an id/);
  });

  test('ids reach CSV escaped against formula injection and the terminal without control characters', () => {
    const evil = [
      { ...account, id: '=HYPERLINK("http://x","y")' },
      { ...account, id: 'a\u001b]0;pwned\u0007\u001b[2Jb', collateral: { BTC: 0.0001 } },
    ];
    const out = join(dir, 'evil.csv');
    const r = run(['book', file('evil.jsonl', evil.map((a) => JSON.stringify(a)).join('\n')), '--threads', '1', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(readFileSync(out, 'utf8')).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField(-5)).toBe('-5');
    expect(csvField('-5')).toBe("'-5");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('+1,"x"\n')).toBe(`"'+1,""x""\n"`);
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    // whole rows (results.ts csvRow builds each line as one string), by hand against CSV_COLUMNS
    const fig = { equity: 1.5, initialMargin: 0.1, maintenanceMargin: 0.07, availableFunds: 1.4, marginRatio: null, health: 'healthy' as const };
    expect(csvRow({ id: 'a,b', ok: true, mode: 'cross', modeApplied: 'cross', currency: 'USD', collateralValue: 2, underlyings: [], ...fig })).toBe('"a,b",true,cross,healthy,USD,1.5,0.1,0.07,1.4,,2,1.5,0.1,0.07,,');
    expect(csvRow({ id: '-x', ok: true, mode: 'portfolio', modeApplied: 'portfolio', currency: 'BTC', collateralValue: 3, underlyings: [], ...fig, usd: { equity: 150000, initialMargin: 1e-7, maintenanceMargin: 7000 } as never })).toBe("'-x,true,portfolio,healthy,BTC,1.5,0.1,0.07,1.4,,3,150000,1e-7,7000,,");
    expect(csvRow({ id: 'e', ok: false, error: { code: 'OPTMARGIN_INVALID_INPUT', message: 'size "x", bad' } })).toBe('e,false,,,,,,,,,,,,,OPTMARGIN_INVALID_INPUT,"size ""x"", bad"');
    expect(terminalSafe('a\u001b[31mb\u009bc')).toBe('a\ufffd[31mb\ufffdc');
  });

  test('stdout closed early (demo | head -1): exit 4, nothing on stderr; stdout on a full device: exit 4, one line', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" demo --accounts 300 --threads 1 | head -c 10 >/dev/null; echo "rc=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe('rc=4');
    if (existsSync('/dev/full')) {
      const full = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" models > /dev/full`], { encoding: 'utf8' });
      expect(full.status).toBe(4);
      oneLine(full.stderr);
      expect(full.stderr).toMatch(/cannot write standard output: ENOSPC/);
    }
  });

  test('--out is checked before the work: an unwritable directory fails at once with exit 2', () => {
    const r = run(['book', file('one.jsonl', JSON.stringify(account)), '--out', join(dir, 'no', 'such', 'dir', 'r.csv')]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--out .* cannot be written: ENOENT/);
    const g = run(['gen-book', '--accounts', '10', '--out', join(dir, 'nodir', 'b.jsonl')]);
    expect(g.code).toBe(2);
    const m = run(['market', join(findPackageRoot(), 'data', 'default-market.json'), '--out', join(dir, 'nodir', 'm.json')]);
    expect(m.code).toBe(2);
    expect(m.stdout).toBe('');
  });

  test('SIGTERM / SIGINT during a run: temporary files removed, the previous --out intact, exit 143 / 130', async () => {
    const big = join(dir, 'big.jsonl');
    expect(run(['gen-book', '--accounts', '10000', '--out', big]).code).toBe(0);
    for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
      const sub = join(dir, `sig-${sig}`);
      mkdirSync(sub);
      const out = join(sub, 'r.json');
      writeFileSync(out, 'previous');
      const child = spawn(process.execPath, [cli, 'book', big, '--threads', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      // wait for the temporary file to appear (opened up front, the handlers installed before it),
      // then signal; a loaded host may take seconds to start the CLI
      const tmpSeen = (): boolean => readdirSync(sub).some((f) => f.endsWith('.tmp'));
      for (let i = 0; i < 1500 && !tmpSeen() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 20));
      expect(tmpSeen(), `no temporary file appeared: ${stderr}`).toBe(true);
      child.kill(sig);
      const status = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(status).toBe(code);
      expect(stderr).toMatch(new RegExp(`interrupted by ${sig}`));
      expect(readdirSync(sub)).toEqual(['r.json']);
      expect(readFileSync(out, 'utf8')).toBe('previous');
    }
  });
});

describe('atomic writes', () => {
  test('short writes are continued to the last byte; a write that stores nothing fails, leaving the previous file and no temporary', () => {
    const target = join(dir, 'atomic.bin');
    writeFileSync(target, 'previous');
    const data = Buffer.alloc(100_000, 7);
    const calls: number[] = [];
    setFileIoForTests({ writeSync: (fd, buf, off, len) => (calls.push(len), spawnSafeWrite(fd, buf, off, Math.min(len, 999))) });
    try {
      writeFileAtomic(target, data);
    } finally {
      setFileIoForTests(null);
    }
    expect(readFileSync(target).equals(data)).toBe(true);
    expect(calls.length).toBe(Math.ceil(100_000 / 999));
    writeFileSync(target, 'previous');
    let n = 0;
    setFileIoForTests({ writeSync: (fd, buf, off, len) => (n++ < 3 ? spawnSafeWrite(fd, buf, off, Math.min(len, 10)) : 0) });
    try {
      expect(() => writeFileAtomic(target, data)).toThrow(/cannot write .*atomic\.bin.*no space left/);
    } finally {
      setFileIoForTests(null);
    }
    expect(readFileSync(target, 'utf8')).toBe('previous');
    expect(readdirSync(dir).filter((f) => f.startsWith('.atomic.bin'))).toEqual([]);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const f = AtomicFile.create(target);
    setFileIoForTests({ writeSync: () => { throw enospc; } });
    try {
      expect(() => f.write('x')).toThrow(OptmarginError);
    } finally {
      setFileIoForTests(null);
    }
    expect(existsSync(f.tmp)).toBe(false);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  test.skipIf(!canMount)(`a real full disk (64 KB tmpfs): book --out exits 4, the previous file intact, no temporary left${canMount ? '' : ' [SKIPPED: needs root to mount a tmpfs]'}`, () => {
    const mnt = join(dir, 'tiny');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status !== 0) return;
    try {
      const out = join(mnt, 'r.json');
      writeFileSync(out, 'previous');
      const book = join(dir, 'tiny-book.jsonl');
      expect(run(['gen-book', '--accounts', '400', '--out', book]).code).toBe(0);
      const r = run(['book', book, '--threads', '1', '--out', out]);
      expect(r.code).toBe(4);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/no space left on the device/);
      expect(readFileSync(out, 'utf8')).toBe('previous');
      expect(readdirSync(mnt)).toEqual(['r.json']);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('finite or error', () => {
  test('a NaN or infinity anywhere in a result makes it an OPTMARGIN_NON_FINITE error naming the figure', () => {
    expect(firstNonFinite({ a: 1, b: [2, { c: NaN }] })).toBe('b[1].c');
    const r = finiteOrError({ id: 'x', ok: true, equity: Infinity, health: 'healthy' });
    expect(r).toMatchObject({ id: 'x', ok: false, error: { code: ErrorCodes.NON_FINITE, path: 'equity' } });
    expect(finiteOrError({ id: 'y', ok: true, equity: 1 })).toEqual({ id: 'y', ok: true, equity: 1 });
  });
  test('book totals count only finite accounts; a failed account counts toward exit 3', () => {
    const s = summarize([
      { id: 'a', ok: true, mode: 'cross', modeApplied: 'cross', currency: 'USD', equity: 10, initialMargin: 2, maintenanceMargin: 1, marginRatio: 0.1, availableFunds: 8, health: 'healthy', collateralValue: 10, underlyings: [] },
      { id: 'b', ok: false, error: { code: ErrorCodes.NON_FINITE, message: 'equity came out non-finite' } },
    ]);
    expect([s.totalEquity, s.totalInitialMargin, s.failed, s.errors]).toEqual([10, 2, 1, 1]);
  });
});

import { writeSync } from 'node:fs';
function spawnSafeWrite(fd: number, buf: Uint8Array, off: number, len: number): number {
  return writeSync(fd, buf, off, len);
}
