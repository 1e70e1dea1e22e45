/** The CLI contract: data on stdout, messages on stderr, documented exit codes. Runs the built CLI (npm test builds first). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { findPackageRoot } from '../src/wasm/module.js';
import { black76Reference } from '../src/pricing/reference.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
function run(args: string[], input?: string | Uint8Array) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: input instanceof Uint8Array ? 'buffer' : 'utf8' });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe.skipIf(!existsSync(cli))('optmargin CLI (built at dist/src/cli.js)', () => {
  test('price: JSON array in, Greeks out in the same order, exit 0', () => {
    const input = [
      { type: 'call', forward: 65000, strike: 70000, vol: 0.55, t: 0.1 },
      { type: 'put', forward: 65000, strike: 60000, vol: 0.6, t: 0.25, rate: 0.02, settlement: 'inverse' },
    ];
    const r = run(['price', '-'], JSON.stringify(input));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out[0]).sort()).toEqual(['delta', 'gamma', 'price', 'rho', 'theta', 'vanna', 'vega', 'volga']);
    const ref0 = black76Reference(false, 65000, 70000, 0.55, 0.1, 0, false);
    const ref1 = black76Reference(true, 65000, 60000, 0.6, 0.25, 0.02, true);
    expect(out[0].price).toBeCloseTo(ref0.price, 9);
    expect(out[1].price).toBeCloseTo(ref1.price, 14);
    expect(out[1].delta).toBeCloseTo(ref1.delta, 16);
  });

  test('price reads msgpack and files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'optmargin-'));
    const file = join(dir, 'in.msgpack');
    writeFileSync(file, encode([{ type: 'call', forward: 100, strike: 100, vol: 0.2, t: 1 }]));
    const r = run(['price', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].price).toBeCloseTo(7.965567455405804, 12); // QuantLib BlackCalculator value
  });

  test('bad input: exit 2, a message naming element and field, nothing on stdout', () => {
    const r = run(['price', '-'], JSON.stringify([{ type: 'call', forward: 1, strike: 1, vol: 0.2, t: 1 }, ...Array(16).fill({ type: 'call', forward: 1, strike: 1, vol: 0.2, t: 1 }), { type: 'call', forward: 1, strike: -5, vol: 0.2, t: 1 }]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('[17].strike must be > 0, got -5');
    const r2 = run(['price', '-'], '{not json');
    expect(r2.code).toBe(2);
    expect(r2.stdout).toBe('');
    const r3 = run(['price', '/nonexistent/file.json']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('cannot read /nonexistent/file.json');
  });

  test('iv: recovers the vol; a price outside the bounds gives { vol: null, error } for that element only', () => {
    const price = black76Reference(true, 65000, 60000, 0.6, 0.25, 0, true).price;
    const r = run(['iv', '-'], JSON.stringify([
      { type: 'put', forward: 65000, strike: 60000, t: 0.25, price, settlement: 'inverse' },
      { type: 'call', forward: 65000, strike: 60000, t: 0.25, price: 2, settlement: 'inverse' },
    ]));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Math.abs(out[0].vol - 0.6)).toBeLessThan(1e-12);
    expect(out[1].vol).toBeNull();
    expect(out[1].error).toMatch(/upper bound/);
  });

  test('unknown command and --help', () => {
    expect(run(['frobnicate']).code).toBe(2);
    const h = run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('price');
  });

  test('demo (what npm start runs): margins the sample book and prints a summary', () => {
    const r = run(['demo', '--accounts', '300', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/book: 300 accounts/);
    expect(r.stdout).toMatch(/healthy \d+ \| margin call \d+ \| liquidatable \d+ \| bankrupt \d+ \| invalid 0/);
    expect(r.stdout).toContain('one account in full');
    const bad = run(['demo', '--accounts', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--accounts must be an integer');
  });

  test('market: summary of the shipped default market, --json for machines', () => {
    const r = run(['market', join(findPackageRoot(), 'data', 'default-market.json'), '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    // every figure against the input file itself: index, forwards, and the ATM vol of each raw SVI
    // smile by hand, σ = √(w(0)/T) with w(k) = a + b(ρ(k − m) + √((k − m)² + σ²))
    const file = JSON.parse(readFileSync(join(findPackageRoot(), 'data', 'default-market.json'), 'utf8'));
    expect(s.underlyings.map((u: { underlying: string }) => u.underlying)).toEqual(file.underlyings.map((u: { underlying: string }) => u.underlying));
    file.underlyings.forEach((u: any, i: number) => {
      const got = s.underlyings[i];
      expect(got.index).toBe(u.index);
      expect(got.expiries.length).toBe(u.expiries.length);
      u.expiries.forEach((e: any, k: number) => {
        const t = (e.expiry - file.valuationTime) / (365 * 86_400_000);
        const p = e.smile;
        const w0 = p.a + p.b * (p.rho * -p.m + Math.sqrt(p.m * p.m + p.sigma * p.sigma));
        expect(got.expiries[k].forward).toBe(e.forward);
        expect(got.expiries[k].days).toBeCloseTo(t * 365, 9);
        expect(got.expiries[k].atmVol, `${u.underlying} ${got.expiries[k].code}`).toBeCloseTo(Math.sqrt(w0 / t), 10);
      });
    });
  });
});
