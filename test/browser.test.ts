/**
 * The platform seam, proven: the core (src/browser.ts) bundled by esbuild for the browser
 * platform (no node:* import can be reached), served from 127.0.0.1, loaded in Debian's headless
 * Chromium (playwright-core, executablePath; nothing downloads a browser). The page loads the
 * kernels asynchronously from URLs, margins a BTC sub-account of the shipped market under deribit-pm
 * and prices an option; the figures equal Node's bit for bit and the WASM pricer is the one in
 * use (no silent fallback). A screenshot is kept in .test-results/ as the test's artefact.
 * Skipped, with the reason, where Chromium is absent (.ci/run installs it).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { build } from 'esbuild';
import { findPackageRoot } from '../src/platform/files.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { marginPricerName } from '../src/scenarios/pricer.js';
import { priceOptions } from '../src/pricing/index.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './support/chromium.js';

const root = findPackageRoot();
const account = {
  id: 'browser-1',
  mode: 'portfolio',
  collateral: { BTC: 2.5 }, // a BTC sub-account: deribit-pm margins it in BTC (one settlement currency)
  positions: [
    { instrument: 'BTC-PERPETUAL', size: -20_000 },
    { instrument: 'BTC-25SEP26-70000-C', size: -3 },
    { instrument: 'BTC-25SEP26-55000-P', size: 2 },
  ],
};
const option = { type: 'put' as const, forward: 100_000, strike: 95_000, vol: 0.6, t: 0.25, rate: 0 };

const PAGE = `<!doctype html><meta charset="utf-8"><title>optmargin in a browser</title>
<body style="font: 14px monospace"><h3>optmargin core in Chromium</h3><pre id="out">running…</pre>
<script type="module">
import * as om from '/bundle.js';
const out = document.getElementById('out');
try {
  const variants = await om.initKernels({ simd: '/optmargin.simd.wasm', scalar: '/optmargin.scalar.wasm' });
  const market = om.market.resolveMarket(om.market.defaultMarket());
  const engine = new om.margin.MarginEngine({ market, model: 'deribit-pm' });
  const account = ${JSON.stringify(account)};
  const r = engine.margin(account);
  const greeks = om.priceOptions([${JSON.stringify(option)}]);
  window.__result = { variants, pricer: om.margin.marginPricerName(), margin: r, greeks, node: typeof process };
  out.textContent = JSON.stringify({ variants, pricer: window.__result.pricer, ok: r.ok, equity: r.equity, initialMargin: r.initialMargin, maintenanceMargin: r.maintenanceMargin, health: r.health, put: greeks[0] }, null, 2);
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
  out.textContent = 'ERROR ' + window.__result.error;
}
</script>`;

let server: Server | null = null;
let base = '';

describe.skipIf(!CHROMIUM)(`core in headless Chromium${CHROMIUM ? '' : ' (skipped: Debian chromium is not installed; `apt-get install -y chromium`, as .ci/run does)'}`, () => {
  beforeAll(async () => {
    const bundle = await build({ entryPoints: [join(root, 'src', 'browser.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent' });
    const js = bundle.outputFiles[0].contents;
    const files: Record<string, [string, Uint8Array | string]> = {
      '/': ['text/html', PAGE],
      '/bundle.js': ['text/javascript', js],
      '/optmargin.simd.wasm': ['application/wasm', readFileSync(join(root, 'build', 'optmargin.simd.wasm'))],
      '/optmargin.scalar.wasm': ['application/wasm', readFileSync(join(root, 'build', 'optmargin.scalar.wasm'))],
    };
    server = createServer((req, res) => {
      const f = files[req.url ?? ''];
      if (!f) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  });

  test('the esbuild browser bundle margins an account and prices an option like Node, bit for bit, on the WASM kernels', async () => {
    const { chromium } = await import('playwright-core');
    const userDir = mkdtempSync(join(tmpdir(), 'optmargin-chromium-')); // a fresh profile per run
    const browser = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForFunction(() => (globalThis as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 30_000 });
      const got = (await page.evaluate(() => (globalThis as unknown as { __result: unknown }).__result)) as Record<string, unknown>;
      mkdirSync(join(root, '.test-results'), { recursive: true });
      await page.screenshot({ path: join(root, '.test-results', 'browser-margin.png') });
      expect(got.error).toBeUndefined();
      expect(got.node).toBe('undefined'); // a real browser: no Node globals
      expect(got.variants).toEqual(['simd', 'scalar']);
      expect(got.pricer).toBe('wasm-simd');
      const ref = new MarginEngine({ market: resolveMarket(defaultMarket()), model: 'deribit-pm' }).margin(account);
      expect(ref.ok).toBe(true);
      expect(marginPricerName()).toMatch(/^wasm-/);
      // the whole result (figures, per-position breakdown, grid, Greeks, hashes) as Node computes it
      expect(got.margin).toEqual(JSON.parse(JSON.stringify(ref)));
      expect(got.greeks).toEqual(JSON.parse(JSON.stringify(priceOptions([option], { simd: true }))));
    } finally {
      await browser.close();
      rmSync(userDir, { recursive: true, force: true });
    }
  });
});
