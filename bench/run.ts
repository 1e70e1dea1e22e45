/**
 * `npm run bench`: every figure in BENCHMARKS.md comes from this script, run on
 * the machine it reports. Each section measures the baselines in the same
 * process, interleaved with the subject, and reports ratios (machines are noisy).
 *
 *   npm run bench              print the report (markdown) to stdout
 *   npm run bench -- --write   also replace the generated part of BENCHMARKS.md
 *   npm run bench -- --quick   shorter runs (CI smoke / development)
 *   npm run bench -- --long    long runs in full (the liquidation section's 1,000-step path on 100,000 accounts)
 *   npm run bench -- --only var[,book…]   only the named sections (pricing, latency, margin, book, book-cli,
 *                              serve, var, liquidation, cluster); not with --write
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { findPackageRoot, simdSupported, WasmInstance } from '../src/wasm/module.js';
import { Pricer } from '../src/wasm/pricer.js';
import { black76ReferenceInto } from '../src/pricing/reference.js';
import { allocGreeksBatch, allocOptionBatch, OptionFlag, type OptionBatch } from '../src/pricing/types.js';
import { priceOptions } from '../src/pricing/index.js';
import { impliedVolInto } from '../src/pricing/iv.js';
import { pricingBatch } from './workloads.js';
import { extraSections } from './sections.js';
import { fmt, runBench, setDefaultTime, type Section } from './lib.js';

const argv = process.argv.slice(2);
const args = new Set(argv);
const QUICK = args.has('--quick');
const LONG = args.has('--long');
const onlyAt = argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean)) : null;
setDefaultTime(QUICK ? 150 : 1500);
const root = findPackageRoot();

async function pricingSection(): Promise<Section> {
  const n = 8192;
  const batch = pricingBatch(n);
  const ref = allocGreeksBatch(n);
  const simd = simdSupported() ? new Pricer({ instance: new WasmInstance({ simd: true }), capacity: n }) : undefined;
  const scalar = new Pricer({ instance: new WasmInstance({ simd: false }), capacity: n });
  // Resident buffers: the batch lives in WASM memory, results are read in place (the zero-copy API).
  const load = (p: Pricer): OptionBatch => {
    const rb = p.residentBatch(n);
    rb.forward.set(batch.forward); rb.strike.set(batch.strike); rb.vol.set(batch.vol); rb.t.set(batch.t); rb.rate.set(batch.rate); rb.flags.set(batch.flags);
    return rb;
  };
  const sBatch = load(scalar);
  const vBatch = simd ? load(simd) : undefined;
  const copyOut = allocGreeksBatch(n);
  // npm `black-scholes` (price only, spot model with r = 0 ≡ undiscounted Black-76 on F)
  const blackScholes = createRequire(import.meta.url)('black-scholes').blackScholes as (s: number, k: number, t: number, v: number, r: number, type: string) => number;
  const bsOut = new Float64Array(n);
  const tasks: [string, () => void][] = [
    ['TS reference (price + 7 Greeks)', () => black76ReferenceInto(batch, ref)],
    ['WASM scalar (price + 7 Greeks)', () => scalar.priceInto(sBatch, scalar.residentGreeks())],
  ];
  if (simd && vBatch) {
    tasks.push(['WASM SIMD (price + 7 Greeks)', () => simd.priceInto(vBatch, simd.residentGreeks())]);
    tasks.push(['WASM SIMD, copying in/out (price + 7 Greeks)', () => simd.priceInto(batch, copyOut)]);
    tasks.push(['WASM SIMD (price only)', () => simd.priceOnlyInto(vBatch, simd.residentGreeks().price)]);
  }
  tasks.push(['WASM scalar (price only)', () => scalar.priceOnlyInto(sBatch, scalar.residentGreeks().price)]);
  tasks.push([
    'npm black-scholes 1.1.0 (price only)',
    () => {
      for (let i = 0; i < n; i++) {
        const v = blackScholes(batch.forward[i], batch.strike[i], batch.t[i], batch.vol[i], 0, batch.flags[i] & OptionFlag.Put ? 'put' : 'call');
        bsOut[i] = batch.flags[i] & OptionFlag.Inverse ? v / batch.forward[i] : v;
      }
    },
  ]);
  const r = await runBench(tasks);
  const perSec = (name: string) => n / (r.get(name)!.meanMs / 1000);
  const base = perSec('TS reference (price + 7 Greeks)');
  const lines = [
    `Batch of ${n} options (synthetic Deribit-shaped chain, bench/workloads.ts), one thread.`,
    '',
    '| kernel | options/s per core | vs TS reference | ± (rme) |',
    '|---|---:|---:|---:|',
  ];
  for (const [name] of tasks) {
    lines.push(`| ${name} | ${fmt(perSec(name))} | ${(perSec(name) / base).toFixed(2)}× | ${r.get(name)!.rme.toFixed(1)}% |`);
  }
  if (simd) {
    const ratio = perSec('WASM SIMD (price + 7 Greeks)') / perSec('WASM scalar (price + 7 Greeks)');
    lines.push('', `SIMD / scalar (price + Greeks): **${ratio.toFixed(2)}×**; SIMD / TS reference: **${(perSec('WASM SIMD (price + 7 Greeks)') / base).toFixed(2)}×**.`);
  }
  // Native C -O3 port of the same kernel (built here only for this comparison, never shipped).
  const native = nativeComparison(batch, n, simd ?? scalar, simd ? perSec('WASM SIMD (price + 7 Greeks)') : perSec('WASM scalar (price + 7 Greeks)'));
  lines.push('', ...native);
  return { title: 'Pricing kernels: throughput per core', lines };
}

function nativeComparison(batch: OptionBatch, n: number, wasm: Pricer, wasmPerSec: number): string[] {
  const src = join(root, 'bench', 'native', 'black76.c');
  const outDir = join(root, 'build', 'bench');
  mkdirSync(outDir, { recursive: true });
  const exe = join(outDir, 'black76-native');
  const cc = spawnSync('cc', ['-O3', '-march=native', '-ffp-contract=off', '-o', exe, src, '-lm'], { encoding: 'utf8' });
  if (cc.status !== 0) return [`Native C comparison skipped: \`cc\` failed or is missing (${(cc.stderr || cc.error?.message || '').trim().split('\n')[0]}).`];
  let input = '';
  for (let i = 0; i < n; i++) input += `${batch.forward[i]} ${batch.strike[i]} ${batch.vol[i]} ${batch.t[i]} ${batch.rate[i]} ${batch.flags[i]}\n`;
  const reps = QUICK ? 50 : 400;
  const res = JSON.parse(execFileSync(exe, [String(n), String(reps)], { input, encoding: 'utf8' }));
  const nativePerSec = (n * reps) / res.seconds;
  const out = allocGreeksBatch(n);
  wasm.priceInto(batch, out);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out.price[i];
  const same = sum === res.checksum;
  return [
    `Native C port of the same kernel (bench/native/black76.c, \`cc -O3 -march=native -ffp-contract=off\`, scalar): ${fmt(nativePerSec)} options/s; ` +
      `the best WASM build reaches **${((wasmPerSec / nativePerSec) * 100).toFixed(0)}%** of native. ` +
      `Checksum of prices ${same ? 'identical to' : `differs from (${res.checksum} vs ${sum})`} the WASM output.`,
  ];
}

async function latencySection(): Promise<Section> {
  const pricer = new Pricer({ capacity: 1 });
  const one = allocOptionBatch(1);
  one.forward[0] = 65000; one.strike[0] = 70000; one.vol[0] = 0.55; one.t[0] = 30 / 365; one.rate[0] = 0; one.flags[0] = OptionFlag.Inverse;
  one.length = 1;
  const out = allocGreeksBatch(1);
  const input = [{ type: 'call' as const, forward: 65000, strike: 70000, vol: 0.55, t: 30 / 365, settlement: 'inverse' as const }];
  const ivBatch = { ...one };
  const ivPrice = new Float64Array([0.0123]);
  const ivOut = new Float64Array(1);
  const r = await runBench([
    ['Pricer.priceInto, 1 option, preallocated', () => pricer.priceInto(one, out)],
    ['priceOptions([{…}]) (validates, allocates)', () => priceOptions(input)],
    ['impliedVolInto, 1 option', () => impliedVolInto(ivBatch, ivPrice, ivOut)],
    ['TS reference, 1 option', () => black76ReferenceInto(one, out)],
  ]);
  const lines = ['| call | mean | p99 |', '|---|---:|---:|'];
  for (const [name, v] of r) lines.push(`| ${name} | ${fmt(v.meanMs * 1000)} µs | ${fmt(v.p99Ms * 1000)} µs |`);
  return { title: 'Single-call latency through the public API', lines };
}

async function main(): Promise<void> {
  const sections: Section[] = [];
  const report = (s: Section) => {
    sections.push(s);
    process.stderr.write(`done: ${s.title}\n`);
  };
  const names = ['pricing', 'latency', ...extraSections.map((x) => x.name)];
  if (ONLY && (ONLY.size === 0 || [...ONLY].some((n) => !names.includes(n)))) throw new Error(`--only takes section names: ${names.join(', ')}`);
  if (ONLY && args.has('--write')) throw new Error('--only cannot --write BENCHMARKS.md (a partial report)');
  const want = (name: string): boolean => !ONLY || ONLY.has(name);
  if (want('pricing')) report(await pricingSection());
  if (want('latency')) report(await latencySection());
  for (const x of extraSections) if (want(x.name)) report(await x.make({ quick: QUICK, long: LONG, runBench }));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const header = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}` +
      `${QUICK ? ' (--quick: short runs)' : ''}. Reproduce with \`npm run bench\`.`,
  ];
  const md = [...header, '', ...sections.flatMap((s) => [`### ${s.title}`, '', ...s.lines, ''])].join('\n');
  process.stdout.write(md + '\n');
  if (args.has('--write')) {
    const file = join(root, 'BENCHMARKS.md');
    const begin = '<!-- BEGIN GENERATED: npm run bench -- --write -->';
    const end = '<!-- END GENERATED -->';
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
    const a = doc.indexOf(begin), b = doc.indexOf(end);
    const next = a >= 0 && b > a ? doc.slice(0, a + begin.length) + '\n' + md + '\n' + doc.slice(b) : doc + `\n${begin}\n${md}\n${end}\n`;
    writeFileSync(file, next);
    process.stderr.write(`wrote ${file}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exitCode = 1;
});
