/**
 * `optmargin var BOOK` reads its book as `optmargin book` does (io/ingest.ts: parsed and validated
 * on the workers) with the risk input's rules: `mode` may be left out (cross), and `atm` positions
 * are struck on the run's market in the workers too (risk/rolling.ts StrikeSpec). The references:
 * the same book with each `atm` position written out by hand from the documented rule (strike =
 * round(S / 1000) · 1000, expiry at 08:00 UTC of the valuation day + days), and the one-account
 * path (`--components`: account objects, resolveHoldings), which must give each account the same
 * figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { afterAll, describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { riskAccounts } from '../src/risk/book-var.js';
import { tableMarket } from '../src/market/margin-market.js';
import { syntheticHistoryText } from './synthetic-history.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-var-ingest-'));
const t = syntheticHistoryText();
writeFileSync(join(dir, 'btc.csv'), t.btc);
writeFileSync(join(dir, 'eth.csv'), t.eth);
const risk = ['--history', `${join(dir, 'btc.csv')},${join(dir, 'eth.csv')}`, '--method', 'hs', '--lookback', '250', '--alpha', '0.99', '--json'];

function run(args: string[], input?: string | Uint8Array) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input, timeout: 60_000, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// the synthetic history's last close (2026-07-31): the market's valuation instant is the next midnight, 2026-08-01T00:00Z
const lastBtc = Number(t.btc.trim().split('\n').pop()!.split(',')[1]);
const strike = Math.round(lastBtc / 1000) * 1000;

type Raw = Record<string, unknown>;
// accounts the fast readers leave to JSON.parse: no mode, `atm` positions (linear by default, and inverse)
const special = (atm: boolean): Raw[] => [
  { id: 'no-mode', collateral: { BTC: 0.5 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 1000 }] },
  { id: 'atm-linear', mode: 'cross', collateral: { USDC: 10_000 }, positions: [atm ? { atm: { underlying: 'BTC', type: 'call', days: 30 }, size: -2 } : { instrument: `BTC_USDC-31AUG26-${strike}-C`, size: -2 }] },
  { id: 'atm-inverse', positions: [atm ? { atm: { underlying: 'BTC', type: 'put', days: 30, settlement: 'inverse' }, size: 1 } : { instrument: `BTC-31AUG26-${strike}-P`, size: 1 }] },
  // an isolated position's own coin collateral: a holding of the coin, after the positions
  { id: 'iso-coin', mode: 'isolated', collateral: { ETH: 2 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -5000, collateral: { BTC: 0.2, USDC: 100 } }] },
];

describe.skipIf(!existsSync(cli))('optmargin var reads its book through the parallel ingest, as risk inputs (built CLI)', () => {
  const gen = join(dir, 'gen.jsonl');
  let base: Raw[] = [];
  const write = (name: string, accounts: Raw[], format: 'jsonl' | 'json' | 'msgpack'): string => {
    const f = join(dir, name);
    writeFileSync(f, format === 'msgpack' ? encode(accounts) : format === 'json' ? JSON.stringify(accounts) : accounts.map((a) => JSON.stringify(a)).join('\n') + '\n');
    return f;
  };
  let ref = '';

  test('atm positions and mode-less accounts: the figures of the book written out by hand, in every format and on 1 and 2 threads', () => {
    expect(run(['gen-book', '--accounts', '300', '--seed', '7', '--out', gen]).code).toBe(0);
    base = readFileSync(gen, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Raw);
    const byHand = [...base.slice(0, 150), ...special(false), ...base.slice(150)];
    const withAtm = [...base.slice(0, 150), ...special(true), ...base.slice(150)];
    const r = run(['var', write('by-hand.jsonl', byHand, 'jsonl'), ...risk, '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    ref = r.stdout;
    const doc = JSON.parse(ref);
    expect(doc.accounts).toHaveLength(304);
    expect(doc.accounts[151]).toMatchObject({ id: 'atm-linear' });
    expect(doc.accounts[151].var).toBeGreaterThan(0);
    for (const [file, threads] of [
      [write('atm.jsonl', withAtm, 'jsonl'), '2'],
      [write('atm.jsonl', withAtm, 'jsonl'), '1'],
      [write('atm.json', withAtm, 'json'), '2'],
      [write('atm.msgpack', withAtm, 'msgpack'), '2'],
    ]) {
      const a = run(['var', file, ...risk, '--threads', threads]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout === ref, `${file} on ${threads} thread(s)`).toBe(true);
    }
    // standard input
    const s = run(['var', '-', ...risk, '--threads', '2'], readFileSync(join(dir, 'atm.jsonl')));
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout === ref).toBe(true);
  });

  test('the one-account path (--components: account objects) gives each account the same VaR and ES', () => {
    const slow = JSON.parse(run(['var', join(dir, 'atm.jsonl'), ...risk, '--components']).stdout) as { accounts: { id: string; value: number; var: number; es: number }[] };
    const fast = JSON.parse(ref) as typeof slow;
    expect(slow.accounts.map((a) => [a.id, a.value, a.var, a.es])).toEqual(fast.accounts.map((a) => [a.id, a.value, a.var, a.es]));
    // the isolated position's own BTC is a holding: its account's VaR is not the short perpetual's alone
    const iso = fast.accounts.find((a) => a.id === 'iso-coin')!;
    expect(iso.value).toBeCloseTo(0.2 * lastBtc + 100 + 2 * Number(t.eth.trim().split('\n').pop()!.split(',')[1]), 6);
  });

  test('one account: a JSON object and one JSON line give the one-account report, a JSON array of one the book report', () => {
    const one = special(true)[1];
    const obj = join(dir, 'one.json');
    writeFileSync(obj, JSON.stringify(one, null, 2));
    const single = run(['var', obj, ...risk]);
    expect(single.code, single.stderr).toBe(0);
    const s = JSON.parse(single.stdout);
    expect(s.id).toBe('atm-linear');
    expect(s.var).toBe((JSON.parse(ref) as { accounts: { var: number }[] }).accounts[151].var);
    expect(run(['var', write('one.jsonl', [one], 'jsonl'), ...risk]).stdout).toBe(single.stdout);
    const array = JSON.parse(run(['var', write('one-array.json', [one], 'json'), ...risk]).stdout);
    expect(array.book.accounts).toBe(1);
    expect(array.accounts[0].var).toBe(s.var);
  });

  test("a bad entry fails the run naming its index and field, as the distributed run's reader (riskAccounts) names it", () => {
    const bad: Raw[] = [...base.slice(0, 40), { id: 'bad-size', positions: [{ instrument: 'BTC-PERPETUAL', size: 'ten' }] }, ...base.slice(40)];
    const market = tableMarket({ valuationTime: Date.UTC(2026, 7, 1), rate: 0, underlyings: { BTC: { spot: lastBtc, vol: 0.5 } } });
    let expected = '';
    try {
      riskAccounts([bad[40]], market, 40);
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(expected).toMatch(/^\[40\]\.positions\[0\]\.size /);
    for (const [name, format] of [['bad.jsonl', 'jsonl'], ['bad.msgpack', 'msgpack']] as const) {
      const r = run(['var', write(name, bad, format), ...risk, '--threads', '2']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n').pop()).toBe(`optmargin: ${expected}`);
    }
    // an atm position on an underlying the market lacks: named at its field
    const r = run(['var', write('bad-atm.jsonl', [base[0], { id: 'x', positions: [{ atm: { underlying: 'SOL', type: 'call' }, size: 1 }] }], 'jsonl'), ...risk]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[1\]\.positions\[0\]\.atm\.underlying is not in the market, got "SOL"/);
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
