/**
 * Risk engine benchmark (issue 11): 1-day historical-simulation VaR + ES at 1,000 scenarios for
 * the generated book (gen-book seed 1, 100,000 accounts; --quick 10,000) on the shipped market.
 * Scenarios: the 1,000 most recent BTC+ETH daily returns of ../shared/data (a seeded Monte Carlo
 * set of 1,000 when ../shared is absent, said in the output). Stages timed separately: resolve
 * (accounts → CSR, once), revaluation of the distinct instruments, tails (WASM aggregation +
 * selection) on 1 and 2 threads, figures. Peer: numpy computing the same book's tails from the
 * same arrays (python3-numpy; skipped with a message otherwise). One account: VaR + ES over
 * 1,000 scenarios, warm (instrument values resident).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBook } from '../src/io/gen-book.js';
import { InstrumentTable } from '../src/instruments/table.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { TailRunner, figuresFromTails, riskCsr, tailLength } from '../src/risk/book-var.js';
import { serializeBook } from '../src/io/book-file.js';
import type { AccountInput } from '../src/measures/types.js';
import { loadHistory, type History } from '../src/risk/history.js';
import { historicalScenarios } from '../src/risk/historical.js';
import { monteCarloScenarios } from '../src/risk/monte-carlo.js';
import { riskAccount } from '../src/scenarios/holdings.js';
import { revalueInstruments } from '../src/risk/revalue.js';
import type { ScenarioSet } from '../src/risk/scenario-set.js';
import { WasmInstance, findPackageRoot } from '../src/wasm/module.js';
import { TailKernel } from '../src/wasm/tails.js';
import { median, type Section } from './lib.js';
import { formatShares } from '../src/cli/io.js';
import type { SectionContext } from './sections.js';

const SHARED = join(findPackageRoot(), '..', 'shared', 'data');

function scenarios(): { set: ScenarioSet; note: string } {
  const btc = join(SHARED, 'btc_usdt_1d_binance.csv');
  const eth = join(SHARED, 'eth_usdt_1d_binance.csv');
  if (existsSync(btc) && existsSync(eth)) {
    const h = loadHistory([{ file: btc }, { file: eth }]);
    return { set: historicalScenarios(h, { asOfIndex: h.dates.length - 1, lookback: 1000 }), note: `HS, the 1,000 most recent BTC+ETH daily returns to ${'{asOf}'}` };
  }
  // no ../shared: a synthetic two-asset history and a Monte Carlo set of the same size
  let a = 70000, b = 2500, s = 5;
  const rnd = () => ((s = (s * 48271) % 2147483647) / 2147483647) - 0.5;
  const r1 = ['date,close'], r2 = ['date,close'];
  for (let i = 0; i < 400; i++) {
    const d = new Date(Date.UTC(2024, 0, 1) + i * 86400000).toISOString().slice(0, 10);
    a *= Math.exp(0.1 * rnd());
    b *= Math.exp(0.12 * rnd());
    r1.push(`${d},${a}`);
    r2.push(`${d},${b}`);
  }
  const h: History = loadHistory([{ file: 'BTC.csv', text: r1.join('\n') }, { file: 'ETH.csv', text: r2.join('\n') }]);
  return { set: monteCarloScenarios(h, { asOfIndex: 399, scenarios: 1000, seed: 1 }), note: 'Monte Carlo (1,000, seed 1) on a synthetic history: ../shared/data not found' };
}

function numpyPeer(csr: ReturnType<typeof riskCsr>, values: Float64Array, nScen: number, m: number): { ms: number } | string {
  if (spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) return 'numpy peer skipped: python3 with numpy not found (apt-get install python3-numpy)';
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-var-'));
  try {
    writeFileSync(join(dir, 'values.f64'), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    writeFileSync(join(dir, 'instr.i32'), new Uint8Array(csr.instr.buffer, 0, csr.accStart[csr.ids.length] * 4));
    writeFileSync(join(dir, 'size.f64'), new Uint8Array(csr.size.buffer, 0, csr.accStart[csr.ids.length] * 8));
    writeFileSync(join(dir, 'start.i32'), new Uint8Array(csr.accStart.buffer));
    const r = spawnSync('python3', [join(findPackageRoot(), 'scripts', 'numpy_book_tails.py'), dir, String(nScen), String(m)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) return `numpy peer failed: ${r.stderr.trim().split('\n').pop()}`;
    return JSON.parse(r.stdout) as { ms: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One child run of the built CLI, timed from spawn to exit; with `out`, its stdout is written to
 * that file (a large report kept out of this process) and `stdout` is ''.
 */
function timedCli(cli: string, args: string[], out?: string): { wallMs: number; stdout: string; stderr: string } {
  const fd = out === undefined ? null : openSync(out, 'w');
  const t0 = performance.now();
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
  } finally {
    if (fd !== null) closeSync(fd);
  }
  const wallMs = performance.now() - t0;
  const stderr = String(r.stderr);
  if (r.status !== 0) throw new Error(`optmargin ${args[0]} failed (exit ${r.status}): ${stderr.trim().split('\n').pop()}`);
  return { wallMs, stdout: String(r.stdout ?? ''), stderr };
}

/** The stages of an `optmargin var --timings` line (`name N ms` pairs, the total left out), as formatShares lists them. */
function varStages(stderr: string): string {
  const line = stderr.split('\n').find((x) => x.startsWith('optmargin var:')) ?? '';
  const stages = [...line.matchAll(/(\w+) (\d+) ms/g)].filter((m) => m[1] !== 'total').map((m) => [m[1], Number(m[2])] as const);
  return stages.length > 0 ? formatShares(stages) : '(no --timings line)';
}

const COMMAND_REPS = 3;

/** A run of timedCli with `out`: its time, and the size and sha256 of what it wrote. */
function timedToFile(cli: string, args: string[], out: string): { wallMs: number; bytes: number; sha: string } {
  const { wallMs } = timedCli(cli, args, out);
  const body = readFileSync(out);
  return { wallMs, bytes: body.length, sha: createHash('sha256').update(body).digest('hex') };
}

/** The stress command's line: `runs` against the book command's median `book` (ms), interleaved. */
function stressLine(runs: ReturnType<typeof timedToFile>[], book: number): string {
  const mid = [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(runs.length / 2)];
  const spread = `${(Math.min(...runs.map((r) => r.wallMs)) / 1000).toFixed(1)}–${(Math.max(...runs.map((r) => r.wallMs)) / 1000).toFixed(1)} s`;
  const same = runs.every((r) => r.sha === runs[0].sha);
  return `Book stress, file to file: \`optmargin stress BOOK.jsonl --scenario all --threads 2 --json\` on the same book (the five shipped episodes, deribit-pm-2024.1; the book loaded into the book engine once, each episode a tick of it; ${(mid.bytes / 1e6).toFixed(0)} MB of JSON written to a file; the ${runs.length} runs' bytes identical: ${same ? 'yes' : 'NO'}), timed from spawn to exit, median of ${runs.length}: ${(mid.wallMs / 1000).toFixed(1)} s (spread ${spread}); ${(mid.wallMs / book).toFixed(1)} × the book command's median (interleaved, above).`;
}

/**
 * What the user runs: `optmargin var BOOK.jsonl --history BTC,ETH --lookback 1000 --threads 2 --timings`
 * from the file, timed from spawn to exit, median of COMMAND_REPS; each stage's share from the
 * median run's own --timings line (history: the price history, scenario set and market; read:
 * the book file read, parsed and validated on the workers; resolve; revalue; tails of every
 * account and of the netted book; figures). Baseline, interleaved in the same rounds:
 * `optmargin book` on the same file and threads (margin only). In the same rounds, the book
 * stress command on the same file (`optmargin stress BOOK --scenario all`), its report written to a file.
 */
function commandRun(accounts: AccountInput[]): string {
  const btc = join(SHARED, 'btc_usdt_1d_binance.csv');
  const eth = join(SHARED, 'eth_usdt_1d_binance.csv');
  if (!existsSync(btc) || !existsSync(eth)) return 'The command run (`optmargin var BOOK`) skipped: ../shared/data not found.';
  const dir = mkdtempSync(join(tmpdir(), 'optmargin-varcli-'));
  try {
    const file = join(dir, 'book.jsonl');
    writeFileSync(file, serializeBook(accounts, 'jsonl'));
    const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
    const args = ['var', file, '--history', `${btc},${eth}`, '--method', 'hs', '--lookback', '1000', '--alpha', '0.99', '--threads', '2', '--timings', '--json'];
    const runs: ReturnType<typeof timedCli>[] = [];
    const books: number[] = [];
    const stress: ReturnType<typeof timedToFile>[] = [];
    for (let i = 0; i < COMMAND_REPS; i++) {
      runs.push(timedCli(cli, args));
      books.push(timedCli(cli, ['book', file, '--threads', '2', '--out', join(dir, 'results.csv'), '--json', '--no-progress']).wallMs);
      stress.push(timedToFile(cli, ['stress', file, '--scenario', 'all', '--threads', '2', '--json', '--no-progress'], join(dir, 'stress.json')));
    }
    const mid = [...runs].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(COMMAND_REPS / 2)];
    const same = runs.every((r) => r.stdout === runs[0].stdout);
    const b = median(books);
    const spread = `${(Math.min(...runs.map((r) => r.wallMs)) / 1000).toFixed(1)}–${(Math.max(...runs.map((r) => r.wallMs)) / 1000).toFixed(1)} s`;
    return `The command, file to file: \`optmargin var BOOK.jsonl --history btc,eth --method hs --lookback 1000 --alpha 0.99 --threads 2 --timings --json\` on the same book written as JSON lines (${(mid.stdout.length / 1e6).toFixed(0)} MB of JSON out; the ${COMMAND_REPS} runs' stdout byte-identical: ${same ? 'yes' : 'NO'}), run as a child process and timed from spawn to exit, median of ${COMMAND_REPS}: ${(mid.wallMs / 1000).toFixed(1)} s (spread ${spread}); its stages (the median run's --timings line): ${varStages(mid.stderr)}. Baseline, interleaved: \`optmargin book\` on the same file, 2 threads (margin only), median ${(b / 1000).toFixed(1)} s: the VaR run takes ${(mid.wallMs / b).toFixed(1)} × the book command. Load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} cores.\n\n${stressLine(stress, b)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function varSection(ctx: SectionContext): Promise<Section> {
  const nAcc = ctx.quick ? 10_000 : 100_000;
  const reps = ctx.quick ? 3 : 7;
  const market = resolveMarket(defaultMarket());
  const { accounts, info } = generateBook({ accounts: nAcc, seed: 1, market });
  const { set, note } = scenarios();
  const alpha = 0.99;
  const m = tailLength(set.n, alpha);
  const t0 = performance.now();
  const table = new InstrumentTable(market);
  const csr = riskCsr(table, accounts.map((a) => riskAccount(a)));
  const resolveMs = performance.now() - t0;
  const reval: number[] = [];
  let values: Float64Array = new Float64Array(0);
  const cpu = (f: () => unknown) => { const c = process.cpuUsage(); f(); const d = process.cpuUsage(c); return (d.user + d.system) / 1000; };
  const revalCpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r0 = performance.now();
    revalCpu.push(cpu(() => (values = revalueInstruments(table, set).values)));
    reval.push(performance.now() - r0);
  }
  const tails: Record<number, number[]> = {};
  const tailsCpu: Record<number, number[]> = {};
  const figs: number[] = [];
  for (const threads of [1, 2]) {
    const run = new TailRunner(threads);
    try {
      tails[threads] = [];
      tailsCpu[threads] = [];
      await run.tails(csr, values, set.n, m); // warm: pool start, JIT, values copied
      for (let i = 0; i < reps; i++) {
        const a0 = performance.now();
        const c0 = process.cpuUsage();
        const t = await run.tails(csr, values, set.n, m);
        tails[threads].push(performance.now() - a0);
        const dc = process.cpuUsage(c0);
        tailsCpu[threads].push((dc.user + dc.system) / 1000);
        const f0 = performance.now();
        figuresFromTails(t, nAcc, set.n, alpha, 'empirical');
        figs.push(performance.now() - f0);
      }
    } finally {
      await run.close();
    }
  }
  // one account, warm: its positions through the same kernel, values resident
  const k = new TailKernel(new WasmInstance());
  k.setValues(values, 'bench');
  const sizes = accounts.map((x) => x.positions.length).sort((x, y) => x - y);
  const typical = sizes[Math.floor(sizes.length / 2)];
  const picks = [accounts.findIndex((x) => x.positions.length === typical), accounts.findIndex((x) => x.positions.length >= 100)].filter((i) => i >= 0);
  const ov = new Float64Array(m);
  const oi = new Int32Array(m);
  const oneTasks: [string, () => void][] = picks.map((a) => {
    const one = { accStart: Int32Array.of(csr.accStart[a], csr.accStart[a + 1]), instr: csr.instr, size: csr.size };
    return [`${accounts[a].positions.length} positions`, () => {
      k.tails(one, set.n, m, ov, oi);
      figuresFromTails({ m, val: ov, idx: oi }, 1, set.n, alpha, 'empirical');
    }];
  });
  const oneRes = await ctx.runBench(oneTasks);
  const oneLine = oneTasks.map(([name]) => `${name} (${(csr.accStart[picks[oneTasks.findIndex((t) => t[0] === name)] + 1] - csr.accStart[picks[oneTasks.findIndex((t) => t[0] === name)]])} holdings): ${(oneRes.get(name)!.meanMs * 1000).toFixed(1)} µs mean, p99 ${(oneRes.get(name)!.p99Ms * 1000).toFixed(1)} µs`).join('; ');
  const total2 = median(reval) + median(tails[2]) + median(figs);
  const total1 = median(reval) + median(tails[1]) + median(figs);
  const peer = numpyPeer(csr, values, set.n, m);
  const command = commandRun(accounts as AccountInput[]);
  const lines = [
    `Book: ${nAcc.toLocaleString('en-US')} accounts, ${info.positions.toLocaleString('en-US')} positions (gen-book seed 1, shipped market), ${csr.accStart[nAcc].toLocaleString('en-US')} holdings with coin legs and collateral; ` +
      `${table.count.toLocaleString('en-US')} distinct instruments; ${set.n.toLocaleString('en-US')} scenarios (${note.replace('{asOf}', String(set.params.asOf))}); VaR 99 % (empirical) + ES (Acerbi–Tasche), tail of ${m} per account.`,
    '',
    `| stage (median of ${reps}, wall; CPU in brackets, all threads) | 1 thread | 2 threads |`,
    '|---|---|---|',
    `| resolve accounts → CSR (once, not in the total) | ${resolveMs.toFixed(0)} ms | |`,
    `| revaluation (distinct instruments × scenarios, WASM Black-76) | ${median(reval).toFixed(1)} ms (${median(revalCpu).toFixed(0)}) | (main thread) |`,
    `| aggregation + tail selection (WASM, cache-blocked) | ${median(tails[1]).toFixed(1)} ms (${median(tailsCpu[1]).toFixed(0)}) | ${median(tails[2]).toFixed(1)} ms (${median(tailsCpu[2]).toFixed(0)}) |`,
    `| VaR + ES from the tails | ${median(figs).toFixed(1)} ms | |`,
    `| **total (revaluation + aggregation + selection + figures)** | **${total1.toFixed(0)} ms** | **${total2.toFixed(0)} ms** (target ≤ 1,000 ms) |`,
    '',
    typeof peer === 'string'
      ? peer
      : `numpy peer (same arrays; per 2,000-account chunk: gather rows × size, np.add.reduceat, np.partition): ${peer.ms.toFixed(0)} ms for aggregation + selection, ` +
        `${(peer.ms / median(tails[1])).toFixed(1)}× our 1-thread and ${(peer.ms / median(tails[2])).toFixed(1)}× our 2-thread aggregation + selection.`,
    command,
    `One account's VaR + ES over ${set.n} scenarios, warm (instrument values resident; aggregation + selection in the WASM kernel, figures in TS) — median account, ${oneLine} (target ≤ 50 µs).`,
    `Load while measuring: ${loadavg().map((x) => x.toFixed(1)).join(' / ')} (1/5/15-min load average on ${cpus().length} cores): wall times on a shared machine exceed the CPU times.`,
  ];
  return { title: 'Risk engine (VaR / ES)', lines };
}
