/**
 * The user's simulation command, file to summary (issue 12): `optmargin simulate BOOK --path
 * shocks:data/paths/crash-5-10-15.json --threads 2` on the liquidation section's generated book
 * (gen-book seed 1) written as JSON lines, run as a child process exactly as a user types it and
 * timed from spawn to exit; each stage's share from the run's own --json --timings report (read:
 * the path's markets and the book file read and cut; parse: the wait for the workers parsing and
 * validating it; load: the chunks resolved into the engine; recompute: the first full margin;
 * summary: the book before the path; steps; write). Baseline, interleaved
 * in the same rounds: `optmargin book` on the same file and threads (margin only: read, parse,
 * resolve, recompute, write).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPackageRoot } from '../src/wasm/module.js';
import { formatShares } from '../src/cli/io.js';
import { median } from './lib.js';

const root = findPackageRoot();
const cli = join(root, 'dist', 'src', 'cli.js');
const crash = join(root, 'data', 'paths', 'crash-5-10-15.json');
const REPS = 3;

interface Timed {
  wallMs: number;
  report: { timings?: { stages: Record<string, number>; cpu: { userMs: number; systemMs: number }; memory: { peakRssMB: number } }; runs?: { totals: { liquidated: number } }[] };
}

/** One child run of the CLI with `args`, timed from spawn to exit; its --json report parsed. */
function timed(args: string[]): Timed {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`optmargin ${args[0]} failed (exit ${r.status}): ${r.stderr.split('\n')[0]}`);
  return { wallMs, report: JSON.parse(r.stdout) as Timed['report'] };
}

/** The section's line: the simulate command against the book command on the same file. */
export function simulateCommandLine(nAccounts: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-bench-sim-'));
  try {
    const book = join(dir, 'book.jsonl');
    const gen = spawnSync(process.execPath, [cli, 'gen-book', '--accounts', String(nAccounts), '--seed', '1', '--out', book], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`gen-book failed: ${gen.stderr}`);
    const sims: Timed[] = [];
    const books: number[] = [];
    for (let i = 0; i < REPS; i++) {
      sims.push(timed(['simulate', book, '--path', `shocks:${crash}`, '--threads', '2', '--json', '--timings', '--quiet']));
      books.push(timed(['book', book, '--threads', '2', '--out', join(dir, 'results.csv'), '--json', '--no-progress']).wallMs);
    }
    const mid = [...sims].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(REPS / 2)];
    const t = mid.report.timings!;
    const shares = formatShares(Object.entries(t.stages)); // as the command's own stderr line prints them
    const spread = `${(Math.min(...sims.map((s) => s.wallMs)) / 1000).toFixed(1)}–${(Math.max(...sims.map((s) => s.wallMs)) / 1000).toFixed(1)} s`;
    const b = median(books);
    return [
      '',
      `\`optmargin simulate BOOK.jsonl --path shocks:data/paths/crash-5-10-15.json --threads 2\` (deribit-pm-2024.1, deribit-incremental, no insurance fund; 3 steps, BTC and ETH −5 / −10 / −15 %: ${mid.report.runs![0].totals.liquidated.toLocaleString('en-US')} account liquidations) on ${nAccounts.toLocaleString('en-US')} generated accounts written as JSON lines, run as a child process and timed from spawn to exit, median of ${REPS}: ${(mid.wallMs / 1000).toFixed(1)} s (spread ${spread}; CPU ${((t.cpu.userMs + t.cpu.systemMs) / 1000).toFixed(1)} s over all threads, peak RSS ${t.memory.peakRssMB.toFixed(0)} MB); its stages (the median run's own --json --timings report): ${shares}. Baseline, interleaved: \`optmargin book\` on the same file, 2 threads (margin only), median ${(b / 1000).toFixed(1)} s: the simulation takes ${(mid.wallMs / b).toFixed(1)} × the book command. No target: the user's figure, file to summary. Load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores.`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
