/**
 * Every example in the docs, run as written: JSON accounts and book lines of README.md and
 * docs/*.md are margined on the shipped market (each must give figures, not an error — an
 * example that expired against the market fails here), and every shell example line that calls
 * optmargin runs with exit 0 (`optmargin` / `npx optmargin` replaced by the built CLI). Code
 * blocks that are usage synopses (no language tag) are not examples.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { createMarginEngine } from '../src/api/margin.js';
import { defaultModelFor } from '../src/cli/margin.js';
import { priceOptions } from '../src/pricing/index.js';

const root = findPackageRoot();
const cli = join(root, 'dist', 'src', 'cli.js');
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function blocks(file: string): { lang: string; body: string; line: number }[] {
  const out: { lang: string; body: string; line: number }[] = [];
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w*)\s*$/.exec(lines[i]);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ lang: m[1], body: body.join('\n'), line: start + 1 });
  }
  return out;
}

const isAccount = (v: unknown): boolean => typeof v === 'object' && v !== null && 'mode' in v && 'positions' in v;

describe('docs examples, run as written', () => {
  const market = resolveMarket(defaultMarket());
  for (const file of docs) {
    for (const b of blocks(file).filter((x) => x.lang === 'json')) {
      let docs: unknown[];
      try {
        docs = [JSON.parse(b.body)];
      } catch (e) {
        void e; // JSON lines (a book), or a commented format description (not an account)
        try {
          docs = b.body.replace(/\n\s+/g, ' ').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
        } catch (e2) {
          void e2;
          continue;
        }
      }
      const accounts = docs.flatMap((d) => (Array.isArray(d) ? d : [d])).filter(isAccount);
      if (accounts.length === 0) continue;
      test(`${file}:${b.line}: ${accounts.length} example account(s) margin on the shipped market`, () => {
        for (const a of accounts) {
          const r = createMarginEngine({ market, model: defaultModelFor((a as { mode: string }).mode) }).margin(a);
          expect(r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`).toBe('ok');
        }
      });
    }
    const shell = blocks(file).filter((x) => x.lang === 'sh').flatMap((b) => b.body.replace(/\\\n\s*/g, ' ').split('\n').map((l) => ({ l: l.replace(/\s+#.*$/, '').trim(), line: b.line })));
    for (const { l, line } of shell.filter((x) => /(^|\|\s*|&&\s*)(npx )?optmargin /.test(x.l))) {
      // servers run until stopped (test/serve-process.test.ts starts and stops them); npm lines are the set-up
      const why = /optmargin (serve|playground)\b/.test(l) ? 'a server: started and stopped by test/serve-process.test.ts' : /--nats\b/.test(l) ? 'a cluster on a broker host: run on loopback by test/cluster.test.ts, test/cluster-var.test.ts and test/cluster-resident.test.ts' : /\$\{?\w/.test(l) ? 'needs shell variables set by the surrounding text' : /^npm /.test(l) ? 'an npm set-up line' : !existsSync(cli) ? 'dist/src/cli.js not built' : '';
      test.skipIf(why !== '')(`${file}:${line}: \`${l}\` exits 0${why ? ` [SKIPPED: ${why}]` : ''}`, () => {
        const cmd = l.replace(/(npx )?optmargin /g, `"${process.execPath}" "${cli}" `);
        const r = spawnSync('bash', ['-c', cmd], { cwd: mkdtempSync(join(tmpdir(), 'optmargin-doc-')), encoding: 'utf8', timeout: 60_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.length).toBeGreaterThan(0);
      });
    }
  }

  test.skipIf(!existsSync(cli))(`the "next:" hint that npm start (demo) prints runs as printed${existsSync(cli) ? '' : ' [SKIPPED: dist/src/cli.js not built]'}`, () => {
    const cwd = mkdtempSync(join(tmpdir(), 'optmargin-hint-'));
    const demo = spawnSync(process.execPath, [cli, 'demo', '--accounts', '200', '--threads', '1'], { cwd, encoding: 'utf8' });
    expect(demo.status).toBe(0);
    const hint = /^next: (.*?)\s{2,}\(see README\)$/m.exec(demo.stdout)?.[1];
    expect(hint).toBeDefined();
    expect(hint).not.toMatch(/^optmargin /); // not installed on PATH: the hint names how to run it
    const r = spawnSync('bash', ['-c', hint!], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(cwd, 'results.csv'))).toBe(true);
  });

  test('docs/margin.md "Greeks and units": Deribit delta = F·delta + price and premium-adjusted = F·delta, against N(d1) by hand', () => {
    const F = 65000;
    const K = 70000;
    const vol = 0.55;
    const t = 30 / 365;
    const [g] = priceOptions([{ type: 'call', forward: F, strike: K, vol, t, settlement: 'inverse' }]);
    // N(d1) by hand: erf from its Maclaurin series (|x| < 0.3 here: converged to 1e-16 well before 60 terms)
    const d1 = (Math.log(F / K) + 0.5 * vol * vol * t) / (vol * Math.sqrt(t));
    const x = d1 / Math.SQRT2;
    let term = x;
    let erf = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      erf += term / (2 * n + 1);
    }
    const nd1 = 0.5 * (1 + (2 / Math.sqrt(Math.PI)) * erf);
    expect(F * g.delta + g.price).toBeCloseTo(nd1, 12);
    expect(F * g.delta).toBeCloseTo(nd1 - g.price, 12);
    expect(F * g.delta + g.price).toBeCloseTo(0.3478, 4); // the figure the table shows
    expect(F * g.delta).toBeCloseTo(0.314, 3);
  });
});
