/**
 * Distributed book run (src/cluster) against the local pool, on the same machine and cores, as
 * users run them: `optmargin book BOOK --threads 2 --out F` vs `optmargin book BOOK --nats URL
 * --out F` with nats-server (JetStream, temp storage, 127.0.0.1) and 2 `optmargin worker
 * --threads 1` processes; file to file, interleaved. Also the per-shard message sizes and the
 * time for a SIGKILLed worker's shard to be redelivered (ack wait 2 s). Skipped without nats-server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPackageRoot } from '../src/wasm/module.js';
import { median, type Section } from './lib.js';
import { residentRows } from './resident.js';
import { freePort, start, type Proc } from './procs.js';
import type { SectionContext } from './sections.js';

const ACK_WAIT_S = 2;

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now();
}

const SHARED = join(findPackageRoot(), '..', 'shared', 'data');

type TimeRun = (args: string[]) => Promise<{ ms: number; stdout: string; stderr: string }>;

/**
 * The 1,000-scenario VaR of the same book (HS, the 1,000 most recent BTC + ETH daily returns of
 * ../shared/data), as users run it: `optmargin var BOOK --history … --json` on the local pool
 * (--threads 2) vs `--nats URL` on the 2 workers (each reads its byte ranges of the book file),
 * file to stdout, interleaved; the target is an overhead of at most 25 %.
 */
async function varRows(ctx: SectionContext, o: { cli: string; dir: string; book: string; url: string; reps: number; timeRun: TimeRun }): Promise<string[]> {
  const btc = join(SHARED, 'btc_usdt_1d_binance.csv');
  const eth = join(SHARED, 'eth_usdt_1d_binance.csv');
  if (!existsSync(btc) || !existsSync(eth)) return ['VaR run skipped: ../shared/data (BTC and ETH daily closes) not found.'];
  const args = ['var', o.book, '--history', `${btc},${eth}`, '--method', 'hs', '--lookback', '1000', '--alpha', '0.99', '--json', '--timings'];
  const local: number[] = [];
  const dist: number[] = [];
  let same = true;
  let line = '';
  for (let r = 0; r < o.reps; r++) {
    const l = await o.timeRun([...args, '--threads', '2']);
    local.push(l.ms);
    const d = await o.timeRun([...args, '--nats', o.url]);
    dist.push(d.ms);
    same &&= l.stdout === d.stdout;
    line = d.stderr.split('\n').find((x) => x.includes('optmargin var --nats:')) ?? '';
  }
  void ctx;
  const lm = median(local);
  const dm = median(dist);
  const over = ((dm - lm) / lm) * 100;
  const num = (re: RegExp): number => Number(re.exec(line)?.[1] ?? NaN);
  const shards = num(/(\d+) shards/);
  const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  return [
    `VaR: \`optmargin var BOOK.jsonl --history btc,eth --method hs --lookback 1000 --alpha 0.99 --json\` (1,000 scenarios, VaR + ES of every account and of the book), file to stdout, median of ${o.reps}, interleaved with the book runs. Local: \`--threads 2\`. Distributed: \`--nats URL\`, the same 2 workers, each reading its byte ranges of the book file.`,
    '',
    '| VaR run | wall time | vs local | target |',
    '|---|---:|---:|---|',
    `| local pool, 2 threads | ${(lm / 1000).toFixed(2)} s | 1.00× | |`,
    `| NATS, 2 workers × 1 thread (${shards} shards) | ${(dm / 1000).toFixed(2)} s | ${(dm / lm).toFixed(2)}× (overhead ${over.toFixed(0)} %) | overhead ≤ 25 %: ${over <= 25 ? 'met' : 'NOT met'} |`,
    '',
    `VaR messages: ${shards} work messages of ${kb(num(/work (\d+) B/) / shards)} on average (largest ${num(/largest (\d+) B\), results/)} B: a byte range, its hash, the job id), results ${kb(num(/results (\d+) B/))} in all, largest ${kb(num(/results \d+ B \(largest (\d+) B/))} (per account: id, value, VaR, ES; per instrument: its exact net size). Same stdout bytes as the local run: ${same ? 'yes' : 'NO'}.`,
    `Coordinator (last run): ${line.replace(/^.*workers' compute/, "workers' compute")}.`,
  ];
}

export async function clusterSection(ctx: SectionContext): Promise<Section> {
  const title = 'Distributed book and VaR runs over NATS JetStream (2 workers) vs the local pool, same 2 cores';
  if (spawnSync('nats-server', ['--version']).status !== 0) return { title, lines: ['Skipped: nats-server is not installed (apt-get install -y nats-server).'] };
  const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-bench-cluster-'));
  const procs: Proc[] = [];
  const node = (args: string[], env: Record<string, string> = {}): Proc => {
    const p = start(process.execPath, [cli, ...args], env);
    procs.push(p);
    return p;
  };
  try {
    const nAcc = ctx.quick ? 10_000 : 100_000;
    const reps = ctx.quick ? 1 : 3;
    const book = join(dir, 'book.jsonl');
    if (spawnSync(process.execPath, [cli, 'gen-book', '--accounts', String(nAcc), '--seed', '1', '--out', book]).status !== 0) throw new Error('bench: gen-book failed');
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const broker = start('nats-server', ['-js', '-sd', join(dir, 'js'), '-a', '127.0.0.1', '-p', String(port)]);
    procs.push(broker);
    await until('nats-server', () => /Server is ready/.test(broker.err()));
    const workers = [0, 1].map(() => node(['worker', '--nats', url, '--threads', '1', '--ack-wait', String(ACK_WAIT_S)]));
    for (const w of workers) await until('a worker', () => /joined/.test(w.err()));

    const timeRun = async (args: string[]): Promise<{ ms: number; stdout: string; stderr: string }> => {
      const t0 = performance.now();
      const p = node(args);
      let stdout = '';
      p.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      const code = await p.exit;
      if (code !== 0) throw new Error(`bench: optmargin ${args[0]} exited ${code}: ${p.err()}`);
      return { ms: performance.now() - t0, stdout, stderr: p.err() };
    };
    const local: number[] = [];
    const dist: number[] = [];
    let stats: Record<string, number> = {};
    let positions = 0;
    for (let r = 0; r < reps; r++) {
      local.push((await timeRun(['book', book, '--threads', '2', '--out', join(dir, 'local.msgpack'), '--no-progress'])).ms);
      const d = await timeRun(['book', book, '--nats', url, '--out', join(dir, 'dist.msgpack'), '--json', '--timings', '--no-progress']);
      dist.push(d.ms);
      const j = JSON.parse(d.stdout);
      stats = j.cluster;
      positions = j.summary.positions;
    }
    // the timed runs ask for --timings (the coordinator's stage figures), which puts wall-clock figures
    // into --out; the byte comparison uses one more distributed run without it, as the local runs are
    await timeRun(['book', book, '--nats', url, '--out', join(dir, 'dist-plain.msgpack'), '--no-progress']);
    const same = readFileSync(join(dir, 'local.msgpack')).equals(readFileSync(join(dir, 'dist-plain.msgpack')));
    const kb = (b: number): string => `${(b / 1024).toFixed(0)} KiB`;

    const varLines = await varRows(ctx, { cli, dir, book, url, reps, timeRun });
    const residentLines = await residentRows(url, ctx.quick ? 5_000 : 20_000, ctx.quick ? 11 : 31);

    // a worker SIGKILLed while it holds a shard: time until another worker gets it again
    const slow = node(['worker', '--nats', url, '--threads', '1', '--verbose'], { OPTMARGIN_CLUSTER_FAULT: 'delay=60000' });
    await until('the slow worker', () => /joined/.test(slow.err()));
    const verbose = node(['worker', '--nats', url, '--threads', '1', '--verbose']);
    await until('a verbose worker', () => /joined/.test(verbose.err()));
    for (const w of workers) w.proc.kill('SIGTERM');
    for (const w of workers) await w.exit;
    const small = join(dir, 'small.jsonl');
    spawnSync(process.execPath, [cli, 'gen-book', '--accounts', '2000', '--seed', '2', '--out', small]);
    const t0 = performance.now();
    const coord = node(['book', small, '--nats', url, '--shard-accounts', '100', '--out', join(dir, 'kill.msgpack'), '--no-progress']);
    await until('the slow worker to take a shard', () => /received/.test(slow.err()));
    const tKill = performance.now();
    slow.proc.kill('SIGKILL');
    const tAgain = await until('the redelivery', () => /received \(delivery 2\)/.test(verbose.err()), 60_000);
    if ((await coord.exit) !== 0) throw new Error(`bench: the run with a killed worker failed: ${coord.err()}`);
    const tDone = performance.now();
    const killSame = readFileSync(join(dir, 'kill.msgpack')).equals(
      (spawnSync(process.execPath, [cli, 'book', small, '--threads', '1', '--out', join(dir, 'kill-local.msgpack')]), readFileSync(join(dir, 'kill-local.msgpack'))),
    );

    const lm = median(local);
    const dm = median(dist);
    return {
      title,
      lines: [
        `${nAcc.toLocaleString('en-US')}-account book (${positions.toLocaleString('en-US')} positions, gen-book seed 1), the book default model deribit-pm-2024.1, file to file (process start, parse, margin, write msgpack), median of ${reps}, interleaved.`,
        'Local: `optmargin book --threads 2`. Distributed: nats-server 2.9 (JetStream, file storage) on 127.0.0.1 and 2 `optmargin worker --threads 1` processes on the same 2 cores; the coordinator shares them.',
        '',
        '| run | wall time | vs local |',
        '|---|---:|---:|',
        `| local pool, 2 threads | ${(lm / 1000).toFixed(2)} s | 1.00× |`,
        `| NATS, 2 workers × 1 thread (${stats.shards} shards) | ${(dm / 1000).toFixed(2)} s | ${(dm / lm).toFixed(2)}× (overhead ${(((dm - lm) / lm) * 100).toFixed(0)} %) |`,
        '',
        `Coordinator stages (last run): shard encoding + publishing ${(stats.publishMs / 1000).toFixed(2)} s, then waiting for and decoding results ${(stats.gatherMs / 1000).toFixed(2)} s; the workers' own compute (load + margin of their shards) sums to ${(stats.workerMs / 1000).toFixed(2)} s.`,
        `Messages: work ${kb(stats.workBytes)} in all, largest shard ${kb(stats.maxWorkBytes)}; results ${kb(stats.resultBytes)} in all, largest ${kb(stats.maxResultBytes)} (500 accounts per shard; ${stats.duplicates} duplicates). Same --out bytes as the local run: ${same ? 'yes' : 'NO'}.`,
        '',
        ...varLines,
        '',
        ...residentLines,
        '',
        `Dead worker: a worker SIGKILLed while holding a shard (2,000-account book, 100 per shard, ack wait ${ACK_WAIT_S} s): the shard went to another worker ${((tAgain - tKill) / 1000).toFixed(2)} s after the kill; the run completed ${((tDone - t0) / 1000).toFixed(2)} s after it started, with the same bytes as a local run: ${killSame ? 'yes' : 'NO'}.`,
      ],
    };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
