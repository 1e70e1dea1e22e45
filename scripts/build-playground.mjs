/**
 * Builds the playground (src/playground) into dist/playground with esbuild: the page script
 * (app.js + app.css, uPlot bundled), the engine worker (worker.js: the package's core, presets and
 * default market as data), index.html and the two WASM builds it loads by URL.
 * Part of `npm run build` (after build:wasm).
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'playground');
const out = join(root, 'dist', 'playground');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/**
 * Until the book runner's worker pool is loaded lazily (see the team notes), the worker bundle
 * replaces node:* and piscina by a module that throws if ever called: the browser runs books on
 * one thread, in process, and never reaches them.
 */
const nodeOnly = {
  name: 'node-only',
  setup(b) {
    b.onResolve({ filter: /^(node:.*|piscina)$/ }, (a) => ({ path: a.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${a.path} is not available in a browser`)}); };
module.exports = new Proxy(fail, { get: (_t, k) => (k === '__esModule' ? false : fail) });`,
      loader: 'js',
    }));
  },
};

const common = { bundle: true, minify: true, sourcemap: true, platform: 'browser', format: 'esm', target: ['chrome111', 'firefox114', 'safari16.4'], logLevel: 'warning' };
await build({ ...common, entryPoints: { app: join(src, 'main.ts') }, outdir: out });
// process.env (test hooks such as OPTMARGIN_FAULT, read at module load) is empty in a browser
await build({ ...common, entryPoints: { worker: join(src, 'worker.ts') }, outdir: out, plugins: [nodeOnly], define: { 'process.env': '{}' } });
copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
for (const v of ['simd', 'scalar']) copyFileSync(join(root, 'build', `optmargin.${v}.wasm`), join(out, `optmargin.${v}.wasm`));
console.error(`playground built into ${out}`);
