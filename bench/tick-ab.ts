/**
 * The book tick, A/B against another build, interleaved: `npm run build && node dist/bench/tick-ab.js
 * --base DIR` where DIR is another checkout of optmargin, built (`npm run build` there: its
 * dist/ and build/ are what run). Each run is one child process per build, alternately (the order
 * swapped every run), each loading the same book — gen-book seed 1, the shipped market,
 * deribit-pm-2024.1, 100,000 accounts — on a pool of 2 threads, then timing `BookEngine.tick('BTC', …)`
 * `--reps` times after a warm full recompute, with the same moves as `npm run bench -- --only book`.
 * Prints each run's median and best tick per build, and the medians over the runs. Both builds
 * are measured by this script's own loop (the base's modules are imported from DIR), so what
 * differs between A and B is the engine only. Figures are as noisy as the machine: run it under the
 * heavy-job lock when the machine is shared.
 *
 *   --base DIR      the other build (required)
 *   --runs N        runs per build (default 3)
 *   --reps N        ticks per run (default 20)
 *   --accounts N    book size (default 100000)
 *   --threads N     pool size (default 2)
 *   --child DIR     (internal) one run of the build at DIR: prints its ticks as JSON
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findPackageRoot } from '../src/wasm/module.js';
import { median } from './lib.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt?: string): string | undefined => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : dflt;
};
const int = (name: string, dflt: number): number => {
  const v = Number(opt(name, String(dflt)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${opt(name)}`);
  return v;
};


interface RunOut {
  tick: number[];
  full: number[];
  changed: number;
  /** median of each of the tick's stages (BookUpdate.stages and .chunks: those the build reports) */
  stages: Record<string, number>;
}

/** One run of the build at `root` (its dist imported): the ticks and full recomputes of a loaded book. */
async function child(root: string, nAcc: number, reps: number, threads: number): Promise<RunOut> {
  const mod = async <T>(p: string): Promise<T> => (await import(pathToFileURL(join(root, 'dist', 'src', p)).href)) as T;
  const { defaultMarket, resolveMarket } = await mod<typeof import('../src/market/index.js')>('market/index.js');
  const { generateBook } = await mod<typeof import('../src/io/gen-book.js')>('io/gen-book.js');
  const { BookEngine } = await mod<typeof import('../src/runner/book/runner.js')>('runner/book/runner.js');
  const market = resolveMarket(defaultMarket());
  const { accounts } = generateBook({ accounts: nAcc, seed: 1, market });
  const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads });
  const out: RunOut = { tick: [], full: [], changed: 0, stages: {} };
  const stages: Record<string, number[]> = {};
  try {
    eng.load(accounts);
    for (let i = 0; i < 4; i++) out.full.push((await eng.recompute()).totalMs);
    for (let i = 0; i < reps; i++) {
      const u = await eng.tick('BTC', market.shocked({ priceMove: { BTC: 0.001 * (i + 1) } }));
      out.tick.push(u.ms);
      out.changed = u.indices.length;
      const chunks = (u as unknown as { chunks?: Record<string, number> }).chunks; // absent from a build before the chunks' clock
      for (const [k, v] of Object.entries({ ...u.stages, ...chunks })) (stages[k] ??= []).push(v);
    }
    for (const [k, v] of Object.entries(stages)) out.stages[k] = median(v);
  } finally {
    await eng.close();
  }
  return out;
}

async function main(): Promise<void> {
  const nAcc = int('--accounts', 100_000);
  const reps = int('--reps', 20);
  const threads = int('--threads', 2);
  const childRoot = opt('--child');
  if (childRoot) {
    process.stdout.write(JSON.stringify(await child(childRoot, nAcc, reps, threads)) + '\n');
    return;
  }
  const baseArg = opt('--base');
  if (!baseArg) throw new Error('--base DIR is required: another optmargin checkout, built (npm run build)');
  const base = resolve(baseArg);
  if (!existsSync(join(base, 'dist', 'src', 'runner', 'book', 'runner.js'))) throw new Error(`${base} has no built dist/ (run npm run build there)`);
  const self = findPackageRoot();
  const runs = int('--runs', 3);
  const builds: [string, string][] = [
    ['this build', self],
    ['base', base],
  ];
  const res = new Map<string, RunOut[]>(builds.map(([name]) => [name, []]));
  const script = join(self, 'dist', 'bench', 'tick-ab.js');
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? builds : [...builds].reverse();
    for (const [name, root] of order) {
      const p = spawnSync(process.execPath, [script, '--child', root, '--accounts', String(nAcc), '--reps', String(reps), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`the ${name} run failed (exit ${p.status}): ${p.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const o = JSON.parse(p.stdout.trim().split('\n').pop()!) as RunOut;
      res.get(name)!.push(o);
      process.stderr.write(`run ${r + 1} ${name}: tick median ${median(o.tick).toFixed(1)} ms, best ${Math.min(...o.tick).toFixed(1)} ms\n`);
    }
  }
  const lines = [
    `Book tick A/B (bench/tick-ab.ts): ${nAcc.toLocaleString('en-US')} accounts, gen-book seed 1, deribit-pm-2024.1, ${threads} threads, BTC ticked ${reps} times per run after 4 full recomputes, ${runs} runs per build interleaved. Base: ${base}.`,
    '',
    '| build | tick median per run, ms | tick best per run, ms | full recompute median per run, ms | accounts re-margined |',
    '|---|---|---|---|---|',
  ];
  for (const [name] of builds) {
    const rs = res.get(name)!;
    const col = (f: (o: RunOut) => number): string => rs.map((o) => f(o).toFixed(1)).join(' / ');
    lines.push(`| ${name} | ${col((o) => median(o.tick))} | ${col((o) => Math.min(...o.tick))} | ${col((o) => median(o.full))} | ${rs[0].changed.toLocaleString('en-US')} |`);
  }
  const med = (name: string): number => median(res.get(name)!.map((o) => median(o.tick)));
  lines.push('', `Median of the runs' median ticks: this build ${med('this build').toFixed(1)} ms, base ${med('base').toFixed(1)} ms (${(med('base') / med('this build')).toFixed(2)}× faster than the base).`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`tick-ab: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(1);
});
