/**
 * The user's command, file to file (issue 9): `optmargin book BOOK --out results.csv` run as a
 * child process exactly as a user types it, timed from spawn to exit, on the 100,000-account
 * book (gen-book seed 1; --quick: 20,000) written as JSON lines, msgpack and the columnar format,
 * with 1 and 2 threads side by side in the same run; each stage's share (read, parse+validate,
 * resolve, recompute, write) and the child's peak RSS from its own --json report. The full run
 * adds the 1,000,000-account book (columnar and msgpack) with Node's default heap settings.
 * Baseline: the same command on 1 thread (the scaling ratio is 1 thread / 2 threads), interleaved
 * with the 2-thread runs; the spread (min–max) and each run's CPU time over every thread (its
 * --json report's `cpu`) are printed beside the medians.
 * What runs where: `--threads 1` runs everything on the main thread (no worker); `--threads 2`
 * starts one pool of 2 workers that parse and validate the input's chunks (JSON lines or msgpack
 * accounts read straight into columns), then recompute, then format the result rows into the
 * --out bytes, while reading (straight into shared memory), cutting, resolving (overlapping the
 * workers' parsing), the summary and writing the formatted bytes stay on the main thread.
 * Each figure is printed against issue 9's target (met / not met). Beside them, the floor of a
 * 2-thread run on this machine (bench/book-halves.ts): the book's two halves margined at once by
 * two independent 1-thread processes, interleaved in the same rounds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findPackageRoot } from '../src/wasm/module.js';
import { median, type Section } from './lib.js';
import type { SectionContext } from './sections.js';
import { halvesEqualWhole, runHalves, writeHalves } from './book-halves.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const load = (): string => `load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) on ${cpus().length} cores`;

interface Run {
  wallMs: number;
  stages: Record<string, number>;
  peakRssMB: number;
  /** CPU time of the child, every thread (user + system), from its --json report */
  cpuMs: number;
  ok: boolean;
}

function runBook(file: string, threads: number, out: string): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'book', file, '--threads', String(threads), '--out', out, '--json', '--timings', '--no-progress'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) return { wallMs, stages: {}, peakRssMB: 0, cpuMs: 0, ok: false };
  const rep = JSON.parse(r.stdout) as { stages: Record<string, number>; memory: { peakRssMB: number }; cpu: { userMs: number; systemMs: number } };
  return { wallMs, stages: rep.stages, peakRssMB: rep.memory.peakRssMB, cpuMs: rep.cpu.userMs + rep.cpu.systemMs, ok: true };
}

function gen(n: number, file: string): void {
  const r = spawnSync(process.execPath, [cli, 'gen-book', '--accounts', String(n), '--seed', '1', '--out', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gen-book failed: ${r.stderr}`);
}

/** gen-book's own function (what the command runs) in a child process that reports its peak RSS: [wall ms, peak RSS MB]. */
function genMeasured(n: number, file: string): [number, number] {
  const book = pathToFileURL(join(findPackageRoot(), 'dist', 'src', 'cli', 'book.js')).href;
  const script = `const { runGenBookCommand } = await import(${JSON.stringify(book)}); await runGenBookCommand({ accounts: ${n}, seed: 1, out: ${JSON.stringify(file)} }); process.stdout.write(String(process.resourceUsage().maxRSS));`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gen-book failed: ${r.stderr}`);
  return [performance.now() - t0, (Number(r.stdout) * 1024) / 2 ** 20];
}

const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
const secs = (ms: number): string => (ms / 1000).toFixed(2);
/** min–max wall time of the runs (s) */
const spread = (rs: Run[]): string => `${secs(Math.min(...rs.map((r) => r.wallMs)))}–${secs(Math.max(...rs.map((r) => r.wallMs)))}`;
/** median CPU time of the runs, every thread (s) */
const cpu = (rs: Run[]): string => (rs.every((r) => r.ok) ? `${secs(median(rs.map((r) => r.cpuMs)))} s` : 'failed');

const shares = (st: Record<string, number>): string => {
  const total = Object.values(st).reduce((a, b) => a + b, 0);
  return ['read', 'parse', 'resolve', 'recompute', 'write'].map((k) => `${((100 * (st[k] ?? 0)) / total).toFixed(0)}%`).join(' / ');
};

export async function bookCliSection(ctx: SectionContext): Promise<Section> {
  const n = ctx.quick ? 20_000 : 100_000;
  const reps = ctx.quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-bench-book-'));
  const lines: string[] = [];
  try {
    const files = { 'JSON lines': join(dir, 'book.jsonl'), msgpack: join(dir, 'book.msgpack'), 'columnar (.ombook)': join(dir, 'book.ombook') };
    for (const f of Object.values(files)) gen(n, f);
    const halves = await writeHalves(files['JSON lines'], dir);
    const halvesOf: Record<string, [string, string]> = { 'JSON lines': halves.jsonl, msgpack: halves.msgpack, 'columnar (.ombook)': halves.columns };
    lines.push(
      `\`optmargin book BOOK --threads T --out results.csv\` on ${n.toLocaleString('en-US')} accounts (gen-book seed 1, shipped market, the default model deribit-pm-2024.1), run as a child process and timed from spawn to exit (median of ${reps}, 1 and 2 threads interleaved); CPU is the child's own (user + system, every thread, from its --json report: on 2 cores a 2-thread run takes at least half its CPU time in wall time, so the ratio cannot pass the 1-thread time over that half); stage shares are read / parse+validate / resolve / recompute / write (from the run's own --json report).`,
      '',
      'What runs where: `--threads 1` runs everything on the main thread (no worker is started); `--threads 2` starts one pool of 2 workers (the book pool) that first parse and validate the input\'s chunks (JSON lines and msgpack accounts read straight into columns, without an object per account; the .ombook format has no parse step), then recompute, then format the result rows into the bytes of --out (docs/book.md, *Write stage*), while reading the input (straight into shared memory) and cutting it, resolving (chunk by chunk, overlapping the workers\' parsing), the summary and writing the formatted bytes in account order stay on the main thread.',
      '',
      `Load when the section started: ${load()}.`,
      '',
      `Targets (issue 9, on 100,000 accounts${ctx.quick ? '; not judged on this --quick book' : ''}): 2 threads at most 1.5 s from msgpack or the columnar format, at most 3 s from JSON lines; 2 threads at least 1.6× faster than 1 thread.`,
      '',
      'The floor: the same book cut in two halves (where the running count of positions reaches half), each margined by a 1-thread process of its own, both at once — no coordination, no shared memory, no merge: what two cores give this work per account at best. Its ratio (1 thread over the halves\' time) is about the best 2-thread ratio any design doing the same work can show on this machine — one process running both halves saves the second process\'s start, so it can beat the floor by that much, not more; the CPU columns show why it is low: a 1-thread run already keeps more than one core busy (V8 compiles and collects on threads of its own).',
      '',
      '| input | size | 1 thread | 2 threads | target (2 threads) | 2 threads vs 1 (target ≥ 1.6×) | floor: two halves at once (1 thread over it) | spread (min–max, 1 / 2 threads / halves) | CPU, all threads (1 / 2 threads / halves) | same bytes (1 vs 2 threads; halves vs whole) | stage shares (2 threads) | peak RSS (2 threads) |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [label, f] of Object.entries(files)) {
      const res: Record<string, Run[]> = { 1: [], 2: [], halves: [] };
      const outs: [string, string] = [join(dir, 'h0.csv'), join(dir, 'h1.csv')];
      for (let i = 0; i < reps; i++) {
        for (const t of [1, 2]) res[t].push(runBook(f, t, join(dir, `r${t}.csv`)));
        res.halves.push({ ...(await runHalves(cli, halvesOf[label], outs)), stages: {}, peakRssMB: 0 });
      }
      const m1 = median(res[1].map((r) => r.wallMs));
      const m2 = median(res[2].map((r) => r.wallMs));
      const mH = median(res.halves.map((r) => r.wallMs));
      const limit = label === 'JSON lines' ? 3 : 1.5;
      const last = res[2][res[2].length - 1];
      const same = res[1].every((r) => r.ok) && last.ok && readFileSync(join(dir, 'r1.csv')).equals(readFileSync(join(dir, 'r2.csv')));
      const halvesSame = res.halves.every((r) => r.ok) && halvesEqualWhole(outs, join(dir, 'r1.csv'));
      lines.push(
        `| ${label} | ${(statSync(f).size / 2 ** 20).toFixed(0)} MB | ${(m1 / 1000).toFixed(2)} s | ${(m2 / 1000).toFixed(2)} s | ≤ ${limit} s: ${ctx.quick ? 'n/a (--quick book)' : verdict(m2 <= limit * 1000)} | ${(m1 / m2).toFixed(2)}×${ctx.quick ? '' : `: ${verdict(m1 / m2 >= 1.6)}`} | ${(mH / 1000).toFixed(2)} s (${(m1 / mH).toFixed(2)}×) | ${spread(res[1])} / ${spread(res[2])} / ${spread(res.halves)} | ${cpu(res[1])} / ${cpu(res[2])} / ${cpu(res.halves)} | ${same ? 'yes' : 'NO'}; ${halvesSame ? 'yes' : 'NO'} | ${last.ok ? shares(last.stages) : 'failed'} | ${last.peakRssMB.toFixed(0)} MB |`,
      );
    }
    // the write stage per output format (results formatted on the book pool: docs/book.md, Write stage)
    lines.push(
      '',
      `The write stage per \`--out\` format, from the columnar book (median of ${reps}; write = formatting on the pool + the summary + writing, as the run reports it):`,
      '',
      '| --out | size | 1 thread: time / write | 2 threads: time / write | same bytes (1 vs 2 threads) |',
      '|---|---|---|---|---|',
    );
    for (const fmt of ['csv', 'json', 'msgpack']) {
      const res: Record<number, Run[]> = { 1: [], 2: [] };
      for (let i = 0; i < reps; i++) for (const t of [1, 2]) res[t].push(runBook(files['columnar (.ombook)'], t, join(dir, `w${t}.${fmt}`)));
      const cell = (rs: Run[]): string => (rs.every((r) => r.ok) ? `${(median(rs.map((r) => r.wallMs)) / 1000).toFixed(2)} s / ${median(rs.map((r) => r.stages.write)).toFixed(0)} ms` : 'failed');
      // --timings puts the run's ms into the summary of .json/.msgpack: compare without it
      const plain = (t: number): Buffer => {
        const out = join(dir, `p${t}.${fmt}`);
        spawnSync(process.execPath, [cli, 'book', files['columnar (.ombook)'], '--threads', String(t), '--out', out, '--no-progress'], { encoding: 'utf8' });
        return readFileSync(out);
      };
      const same = plain(1).equals(plain(2));
      lines.push(`| .${fmt} | ${(statSync(join(dir, `w2.${fmt}`)).size / 2 ** 20).toFixed(0)} MB | ${cell(res[1])} | ${cell(res[2])} | ${same ? 'yes' : 'NO'} |`);
    }
    if (!ctx.quick) {
      const big = { 'columnar (.ombook)': join(dir, 'big.ombook'), msgpack: join(dir, 'big.msgpack') };
      const [genMs, genRss] = genMeasured(1_000_000, big['columnar (.ombook)']);
      gen(1_000_000, big.msgpack);
      lines.push(
        '',
        `1,000,000 accounts (≈ 20 M positions), 2 threads, Node's default heap settings; target (issue 9): at most 20 s, peak RSS stated. Writing the columnar book (\`gen-book --out big.ombook\`, streamed one 65,536-account segment at a time) took ${(genMs / 1000).toFixed(1)} s at ${genRss.toFixed(0)} MB peak RSS.`,
        '',
        '| input | size | time | target ≤ 20 s | stage shares | peak RSS |',
        '|---|---|---|---|---|---|',
      );
      for (const [label, f] of Object.entries(big)) {
        const r = runBook(f, 2, join(dir, 'big.csv'));
        lines.push(`| ${label} | ${(statSync(f).size / 2 ** 20).toFixed(0)} MB | ${r.ok ? `${(r.wallMs / 1000).toFixed(1)} s` : 'failed'} | ${r.ok ? verdict(r.wallMs <= 20_000) : 'NOT met'} | ${r.ok ? shares(r.stages) : ''} | ${r.peakRssMB.toFixed(0)} MB |`);
      }
    }
    lines.push('', `Load when the section ended: ${load()}.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'optmargin book, file to file', lines };
}
