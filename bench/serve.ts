/**
 * `optmargin serve` benchmark (issue 13), on loopback, the server in its own process as users
 * run it (dist/src/cli.js serve):
 * - POST /v1/margin for a 20-option account at a fixed 5,000 requests/s (open loop, latency from
 *   the scheduled send time), against the same work in process (the baseline), with the floor the
 *   client and loopback alone add (the same client against a canned answer of the same size) and
 *   the CPU time server and client spend per request;
 * - the closed-loop ceiling with autocannon;
 * - a book tick over HTTP (POST /v1/book/tick, events and health transitions included) against
 *   the same tick in process (BookEngine.tick on the same book, same threads).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { MarginEngine } from '../src/runner/account/runner.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { generateBook } from '../src/io/gen-book.js';
import type { AccountInput } from '../src/measures/types.js';
import { findPackageRoot } from '../src/wasm/module.js';
import { median, fmt, type Section } from './lib.js';
import type { SectionContext } from './sections.js';
import { connect, encodeRequest, openLoopInChild, startCannedServer, type LoadResult } from './http-load.js';
import { cpuMsOf } from './procs.js';
import { marginAnswerBytes } from '../src/serve/answer-json.js';
import { GC_OVER_MS, type GcPauses } from '../src/serve/gc-stats.js';


/** A portfolio account of 20 options (the first generated account with that many, cut to 20). */
export function twentyOptionAccount(): AccountInput {
  const market = resolveMarket(defaultMarket());
  const { accounts } = generateBook({ accounts: 2000, seed: 1, market });
  const isOption = (name: string) => /-[CP]$/.test(name);
  const a = accounts.find((x) => x.mode === 'portfolio' && x.positions.filter((p) => isOption(p.instrument)).length >= 20)!;
  return { ...a, positions: a.positions.filter((p) => isOption(p.instrument)).slice(0, 20) };
}

type GcPausesByKind = Record<'minor' | 'major', GcPauses>;

/** The server's garbage-collection pauses and V8 heap bytes allocated so far (GET /healthz; the bytes are null unless it runs with --heap-count). */
async function gcOf(url: string): Promise<{ gc: GcPausesByKind; allocatedBytes: number | null }> {
  const h = (await (await fetch(url + '/healthz')).json()) as { gc: GcPausesByKind; heap: { allocatedBytes: number | null } };
  return { gc: h.gc, allocatedBytes: h.heap.allocatedBytes };
}

/**
 * The server's V8 heap bytes allocated per request: a server of its own started with
 * `--heap-count` (V8's GCProfiler runs in it, so it is not the server whose latency is measured),
 * the same client, account and rate, `durationMs` measured after a 1 s warm-up.
 */
async function garbagePerRequest(body: string, durationMs: number): Promise<number> {
  const { proc, url } = await startServe(['--heap-count']);
  try {
    const run = { url, path: '/v1/margin?model=deribit-pm-2024.1', body, connections: 16, rate: RATE };
    let h0: ReturnType<typeof gcOf> | null = null;
    const r = await openLoopInChild([{ ...run, durationMs: 1000 }, { ...run, durationMs }], (k) => {
      if (k === 1) h0 = gcOf(url);
    });
    const a = (await (h0 as ReturnType<typeof gcOf> | null))!.allocatedBytes;
    const b = (await gcOf(url)).allocatedBytes;
    if (a === null || b === null) throw new Error('the server started with --heap-count reports no heap.allocatedBytes');
    return (b - a) / r.sent;
  } finally {
    await stop(proc);
  }
}

/** Pauses between two readings (counts and totals; the longest is known only as a threshold: `over`). */
function gcDelta(a: GcPausesByKind, b: GcPausesByKind): GcPausesByKind {
  const d = (x: GcPauses, y: GcPauses): GcPauses => ({ count: y.count - x.count, ms: y.ms - x.ms, maxMs: NaN, over: y.over.map((n, i) => n - x.over[i]) });
  return { minor: d(a.minor, b.minor), major: d(a.major, b.major) };
}

/** "12 over 0.5 ms, 1 over 1 ms" for the thresholds a run's pauses crossed. */
function overText(p: GcPauses): string {
  const crossed = GC_OVER_MS.map((t, i) => [t, p.over[i]]).filter(([, n]) => n > 0);
  return crossed.length === 0 ? `none over ${GC_OVER_MS[0]} ms` : crossed.map(([t, n]) => `${n} over ${t} ms`).join(', ');
}

type Pause = { at: number; ms: number };

/** The server's pauses that ended after `since` (epoch ms): GET /healthz?gcSince=. */
async function pausesSince(url: string, since: number): Promise<Pause[]> {
  return ((await (await fetch(`${url}/healthz?gcSince=${since}`)).json()) as { gc: { recent: Pause[] } }).gc.recent;
}

/** Requests in flight (from their scheduled send to their answer) during one of `pauses`. */
function during(slow: { from: number; to: number }[], pauses: Pause[]): boolean[] {
  const ps = [...pauses].sort((a, b) => a.at - b.at);
  return slow.map((q) => ps.some((p) => p.at < q.to && p.at + p.ms > q.from));
}

/**
 * What the requests over the target waited on: a server GC pause while they were in flight, a
 * client GC pause (none of the server's), or neither (the server busy, the scheduler, loopback);
 * of the last, how many were written over 0.5 ms after their send time because all connections
 * still carried earlier requests (the server's backlog), and how many the client itself wrote
 * that late with a connection free (its own loop or the scheduler).
 */
function tailText(r: LoadResult, server: Pause[]): string {
  const s = during(r.slow, server);
  const c = during(r.slow, r.clientGc);
  const n = r.slow.length;
  const nS = s.filter(Boolean).length;
  const nC = c.filter((x, i) => x && !s[i]).length;
  const lateBy = (waited: boolean) => r.slow.filter((q, i) => !s[i] && !c[i] && q.sent - q.from > 0.5 && q.waitedForConnection === waited).length;
  const pct = (k: number) => `${((100 * k) / r.sent).toFixed(2)} %`;
  return (
    `${n} (${pct(n)} of requests): ${nS} in flight during a server GC pause, ${nC} during a client GC pause only, ${n - nS - nC} during neither ` +
    `(${lateBy(true)} of them written over 0.5 ms after their send time because all 16 connections still carried earlier requests, ${lateBy(false)} written that late by the client with a connection free)`
  );
}

/**
 * The same client, rate and answer size against the stand-in (bench/http-load.ts): spending
 * `cpuUs` of CPU time per request, or answering at once (0: the floor); with the stand-in's CPU
 * time per request over the measured run.
 */
async function standInRun(run: { url: string; path: string; body: string; connections: number; slowMs: number }, bytes: number, cpuUs: number, warmMs: number, durationMs: number): Promise<{ r: LoadResult; cpuUs: number | null }> {
  const canned = await startCannedServer(bytes, cpuUs);
  try {
    let cpu0: number | null = null;
    const r = await openLoopInChild([{ ...run, url: canned.url, rate: RATE, durationMs: warmMs }, { ...run, url: canned.url, rate: RATE, durationMs }], (k) => {
      if (k === 1) cpu0 = cpuMsOf(canned.pid);
    });
    const cpu1 = cpuMsOf(canned.pid);
    return { r, cpuUs: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) * 1000) / r.sent : null };
  } finally {
    await canned.stop();
  }
}

const latencyText = (r: LoadResult): string => `${r.latency.p50.toFixed(3)} ms / ${r.latency.p99.toFixed(3)} ms / ${r.latency.p999.toFixed(3)} ms / ${r.latency.max.toFixed(3)} ms`;

/** The body of the server's answer to one margin request (its size sets the canned answer's). */
async function answerOf(url: string, body: string): Promise<string> {
  const r = await fetch(url + '/v1/margin?model=deribit-pm-2024.1', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (r.status !== 200) throw new Error(`POST /v1/margin answered ${r.status}`);
  return r.text();
}

/** `optmargin serve` on a free loopback port, in a process of its own (`nodeFlags` on node's command line before the CLI). */
export async function startServe(args: string[], nodeFlags: string[] = []): Promise<{ proc: ChildProcess; url: string }> {
  const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
  const proc = spawn(process.execPath, [...nodeFlags, cli, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    proc.on('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  return { proc, url };
}

export async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** The p99 target of issue 13 for POST /v1/margin at 5,000 requests/s, ms. */
const P99_TARGET_MS = 1;
const RATE = 5000;

/** One latency run against a started server: what the bench prints of it. */
export interface RateRun {
  r: LoadResult;
  gc: GcPausesByKind;
  /** server CPU per request, µs (null without /proc) */
  serverUs: number | null;
  serverPauses: Pause[];
}

/**
 * The bench's client at RATE against the server `proc` at `url`: a warm-up at the same rate (JIT
 * of server and client, engine tables, heap sizes), then the measured run; the server's CPU time
 * and pauses are read as the measured run starts and after it.
 */
export async function rateRun(proc: ChildProcess, url: string, body: string, warmMs: number, durationMs: number): Promise<RateRun> {
  const run = { url, path: '/v1/margin?model=deribit-pm-2024.1', body, connections: 16, slowMs: P99_TARGET_MS };
  let cpu0: number | null = null;
  let gc0: ReturnType<typeof gcOf> | null = null;
  const r = await openLoopInChild([{ ...run, rate: RATE, durationMs: warmMs }, { ...run, rate: RATE, durationMs }], (k) => {
    if (k !== 1) return;
    cpu0 = cpuMsOf(proc.pid!);
    gc0 = gcOf(url);
  });
  const cpu1 = cpuMsOf(proc.pid!);
  const h0 = (await (gc0 as ReturnType<typeof gcOf> | null))!;
  const h1 = await gcOf(url);
  const serverPauses = await pausesSince(url, r.startEpoch);
  const serverUs = cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) * 1000) / r.sent : null;
  return { r, gc: gcDelta(h0.gc, h1.gc), serverUs, serverPauses };
}

export const cpuText = (us: number | null): string => (us === null ? 'n/a (no /proc)' : `${us.toFixed(1)} µs: ${((us * RATE) / 1e4).toFixed(0)} % of one core at ${RATE.toLocaleString('en-US')} req/s`);
export const pausesText = (gc: GcPausesByKind): string =>
  `${gc.minor.count} scavenges (${gc.minor.ms.toFixed(1)} ms in all; ${overText(gc.minor)}), ${gc.major.count} mark-compacts${gc.major.count ? ` (${gc.major.ms.toFixed(1)} ms; ${overText(gc.major)})` : ''}`;

/** The same load against a server started with V8's parallel scavenges (`--parallel-scavenge`), for the row beside the default's. */
async function parallelScavengeRun(body: string, warmMs: number, durationMs: number): Promise<RateRun> {
  const { proc, url } = await startServe(['--parallel-scavenge']);
  try {
    return await rateRun(proc, url, body, warmMs, durationMs);
  } finally {
    await stop(proc);
  }
}

/** The machine's 1-minute load average (/proc/loadavg; n/a elsewhere). */
const loadAverage = (): string => (existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : 'n/a');

async function marginAtRate(ctx: SectionContext, lines: string[]): Promise<void> {
  const load0 = loadAverage();
  const account = twentyOptionAccount();
  const body = JSON.stringify(account);
  const engine = new MarginEngine({ market: resolveMarket(defaultMarket()), model: 'deribit-pm-2024.1' });
  // the server's work on one request, in process: parse, margin, the answer's JSON (its writer)
  const inProc = await ctx.runBench([['in process: JSON.parse + engine.margin + answer JSON (20 options)', () => void marginAnswerBytes(engine.margin(JSON.parse(body)))]]);
  const base = inProc.values().next().value!;
  const { proc, url } = await startServe([]); // the default flags, as users start it
  try {
    const durationMs = ctx.quick ? 3000 : 10_000;
    const warmMs = 2000;
    const run = { url, path: '/v1/margin?model=deribit-pm-2024.1', body, connections: 16, slowMs: P99_TARGET_MS };
    const { r, gc, serverUs, serverPauses } = await rateRun(proc, url, body, warmMs, durationMs);
    // the floor: the same client, rate and answer size against a server that answers at once;
    // then the same stand-in spending the server's CPU time per request
    const bytes = Buffer.byteLength(await answerOf(url, body));
    const floor = await standInRun(run, bytes, 0, warmMs, durationMs);
    const matched = serverUs !== null ? await standInRun(run, bytes, serverUs, warmMs, durationMs) : null;
    const allocatedPerRequest = await garbagePerRequest(body, ctx.quick ? 2000 : 4000);
    const par = await parallelScavengeRun(body, warmMs, durationMs);
    const ac = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<{ requests: { average: number }; latency: { p99: number }; non2xx: number }>;
    const ceiling = await ac({ url: url + '/v1/margin?model=deribit-pm-2024.1', method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 16, duration: ctx.quick ? 2 : 10 });
    const met = r.latency.p99 <= P99_TARGET_MS && r.errors === 0 && r.rate >= 0.99 * RATE;
    lines.push(
      `POST /v1/margin, one portfolio account of 20 BTC/ETH options (deribit-pm-2024.1, shipped market), JSON, server process \`optmargin serve\` on 127.0.0.1, ` +
        `load client in a process of its own (2 cores shared by both). Open loop at a fixed rate on 16 keep-alive connections, latency from the scheduled send time ` +
        `(no coordinated omission), ${durationMs / 1000} s measured after a ${warmMs / 1000} s warm-up at the same rate (excluded).`,
      '',
      '| measure | value |',
      '|---|---:|',
      `| offered rate | ${RATE.toLocaleString('en-US')} req/s |`,
      `| load average (1 min) as the section started / ended | ${load0} / ${loadAverage()} |`,
      `| answered rate | ${r.rate.toFixed(0)} req/s (${r.ok} × 200, ${r.errors} non-2xx) |`,
      `| latency p50 / p90 | ${r.latency.p50.toFixed(3)} ms / ${r.latency.p90.toFixed(3)} ms |`,
      `| **latency p99** (target ≤ ${P99_TARGET_MS} ms) | **${r.latency.p99.toFixed(3)} ms — ${met ? 'met' : 'NOT met'}** |`,
      `| latency p99.9 / max | ${r.latency.p999.toFixed(3)} ms / ${r.latency.max.toFixed(3)} ms |`,
      `| service time p50 / p99 (from the write) | ${r.service.p50.toFixed(3)} ms / ${r.service.p99.toFixed(3)} ms |`,
      `| floor: the same client against a canned answer of the same size, p50 / p99 / p99.9 / max | ${latencyText(floor.r)}; its CPU ${cpuText(floor.cpuUs)} |`,
      `| the same stand-in spending the server's CPU time per request (its loop of arithmetic sized as it runs to the server's figure below: a server of the same cost with none of its code, heap or collector), p50 / p99 / p99.9 / max | ${matched ? `${latencyText(matched.r)}; its CPU ${cpuText(matched.cpuUs)}` : 'n/a (no /proc)'} |`,
      `| requests over ${P99_TARGET_MS} ms, and what they waited on (pause and request times on the machine's one clock) | ${tailText(r, serverPauses)} |`,
      `| server GC pauses in the measured run (GET /healthz) | ${pausesText(gc)} |`,
      `| server garbage per request: V8 heap bytes allocated / requests, from a second server run with \`--heap-count\` (GET /healthz \`heap.allocatedBytes\`; V8's GCProfiler, off in the run above), same client, account and rate, ${ctx.quick ? 2 : 4} s | ${(allocatedPerRequest / 1000).toFixed(1)} kB (${Math.round(allocatedPerRequest).toLocaleString('en-US')} bytes) |`,
      `| server CPU per request (user + system, all threads) | ${cpuText(serverUs)} |`,
      `| the same load against \`optmargin serve --parallel-scavenge\` (V8's default young-generation collector; the default above collects serially): p99 / p99.9 / max, GC pauses, CPU per request | ${par.r.latency.p99.toFixed(3)} ms / ${par.r.latency.p999.toFixed(3)} ms / ${par.r.latency.max.toFixed(3)} ms (${par.r.errors} non-2xx); ${pausesText(par.gc)}; ${cpuText(par.serverUs)} |`,
      `| load client CPU per request | ${r.clientCpuUs.toFixed(1)} µs: ${((r.clientCpuUs * RATE) / 1e4).toFixed(0)} % of one core |`,
      `| in process, same account and body (baseline) | ${(base.meanMs * 1000).toFixed(1)} µs per parse + margin + answer JSON |`,
      `| closed-loop ceiling (autocannon 9, 16 connections) | ${fmt(ceiling.requests.average)} req/s, p99 ${ceiling.latency.p99} ms (1 ms buckets), ${ceiling.non2xx} non-2xx |`,
    );
  } finally {
    await stop(proc);
  }
}

/**
 * A book tick over HTTP against the same tick in process. Both books (the bench's engine and the
 * server's) are the same generated book on 2 worker threads, ticked alternately by the same moves
 * (the machine's load drifts alike for both). The HTTP client is a raw keep-alive connection
 * (bench/http-load.ts, as autocannon's), so that the round trip is the server's and the
 * loopback's, not a client library's; a fetch() round trip is shown beside it.
 */
async function tickOverHttp(ctx: SectionContext, lines: string[]): Promise<void> {
  const nAcc = ctx.quick ? 5000 : 20_000;
  const reps = ctx.quick ? 8 : 30;
  const market = resolveMarket(defaultMarket());
  const m = { inProc: [] as number[], http: [] as number[], fetch: [] as number[], engine: [] as number[], handler: [] as number[], floor: [] as number[], ratio: [] as number[] };
  let changed = 0;
  let events = 0;
  let heard: { ms: number; events: number; bytes: number } | null = null;
  const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 2 });
  const { proc, url } = await startServe(['--threads', '2']);
  try {
    eng.load(generateBook({ accounts: nAcc, seed: 1, market }).accounts);
    await eng.recompute();
    const put = await fetch(url + '/v1/book', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ generate: { accounts: nAcc, seed: 1 }, threads: 2 }) });
    if (put.status !== 200) throw new Error(`PUT /v1/book answered ${put.status}`);
    const conn = await connect(url);
    const ask = (req: Buffer) => new Promise<{ status: number; body: Buffer }>((resolve) => conn.send(req, (status, body) => resolve({ status, body })));
    const healthz = encodeRequest('GET', url, '/healthz');
    try {
      for (let i = 0; i < reps + 3; i++) {
        const move = 0.001 * (i + 1);
        let t0 = performance.now();
        await eng.tick('BTC', market.shocked({ priceMove: { BTC: move } }));
        const inProc = performance.now() - t0;
        const req = encodeRequest('POST', url, '/v1/book/tick', JSON.stringify({ underlying: 'BTC', priceMove: move }));
        t0 = performance.now();
        const r = await ask(req);
        const out = JSON.parse(r.body.toString()) as { changed: number; events: number; ms: number; handlerMs: number };
        const http = performance.now() - t0;
        if (r.status !== 200) throw new Error(`POST /v1/book/tick answered ${r.status}: ${r.body.toString()}`);
        t0 = performance.now();
        await ask(healthz);
        const floor = performance.now() - t0;
        t0 = performance.now();
        await (await fetch(url + '/v1/book/tick', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ underlying: 'BTC', priceMove: -move }) })).json();
        const viaFetch = performance.now() - t0;
        if (i < 3) continue; // warm-up: JIT of both processes, the pools' first rounds
        m.inProc.push(inProc);
        m.http.push(http);
        m.fetch.push(viaFetch);
        m.engine.push(out.ms);
        m.handler.push(out.handlerMs);
        m.floor.push(floor);
        m.ratio.push(http / inProc);
        changed = out.changed;
        events = out.events;
      }
      heard = await ticksHeard(url, ask, ctx.quick ? 4 : 10);
    } finally {
      conn.socket.destroy();
    }
  } finally {
    await eng.close();
    await stop(proc);
  }
  const a = median(m.inProc);
  const b = median(m.http);
  const q = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  const row = (label: string, v: number) => `| ${label} | ${v.toFixed(2)} | ${(v / a).toFixed(2)}× |`;
  lines.push(
    '',
    `Book tick: ${fmt(nAcc)} generated accounts (seed 1, deribit-pm-2024.1), 2 worker threads, BTC moved by a small step each time (${changed} accounts re-margined); the bench's in-process book and the server's book ticked alternately, median of ${reps}. ` +
      `Between two measured ticks the server's book is moved back by the fetch() tick (−move), so each measured HTTP tick moves BTC by about twice the step and changes the health of ${events} accounts: ` +
      `with nobody subscribed to GET /v1/book/events they are counted and numbered, no event is built; the last row is the same tick with one subscriber.`,
    '',
    '| path | median ms | vs in process |',
    '|---|---:|---:|',
    row("in process: `BookEngine.tick('BTC', market.shocked(…))` — the market move and the engine tick", a),
    `| **HTTP: POST /v1/book/tick, round trip** (raw keep-alive connection; the body parsed and validated, the same market move and engine tick, health transitions, market hash, the JSON answer read) | **${b.toFixed(2)}** | **${(b / a).toFixed(2)}×** (target ≤ 1.20×: ${b / a <= 1.2 ? 'met' : 'not met'}) |`,
    `| the ratio tick by tick (HTTP round trip / the in-process tick just before it): p10 / median / p90 | | ${q(m.ratio, 0.1).toFixed(2)}× / ${median(m.ratio).toFixed(2)}× / ${q(m.ratio, 0.9).toFixed(2)}× |`,
    row('of which, in the server: the engine tick (`ms` of the answer)', median(m.engine)),
    row('of which, in the server: the handler — move, engine tick, health transitions, market hash (`handlerMs`)', median(m.handler)),
    row('HTTP floor: GET /healthz round trip on the same connection', median(m.floor)),
    `| the server's overhead: median round trip − median engine tick of the server (handler, HTTP, loopback) | ${(b - median(m.engine)).toFixed(2)} | round trip = ${(b / median(m.engine)).toFixed(2)}× the server's engine tick |`,
    row('the same tick with fetch() as the client, round trip', median(m.fetch)),
    heard
      ? `| the same tick with one subscriber to GET /v1/book/events (each health change built as an event and streamed: ${heard.events} events, ${fmt(heard.bytes)} bytes streamed per tick), round trip, median of ${ctx.quick ? 4 : 10} | ${heard.ms.toFixed(2)} | ${(heard.ms / a).toFixed(2)}× |`
      : '| the same tick with one subscriber | n/a | |',
  );
}

/**
 * The tick of tickOverHttp with one subscriber to GET /v1/book/events on a socket of its own,
 * which reads the stream and counts its bytes: the round trip of the +move ticks (each followed by
 * a −move tick, as there), the events the last made and the bytes streamed per tick (both kinds).
 */
async function ticksHeard(url: string, ask: (req: Buffer) => Promise<{ status: number; body: Buffer }>, reps: number): Promise<{ ms: number; events: number; bytes: number }> {
  const sub = await connect(url);
  let bytes = 0;
  sub.socket.removeAllListeners('data');
  sub.socket.on('data', (d: Buffer) => void (bytes += d.length));
  sub.socket.write(encodeRequest('GET', url, '/v1/book/events'));
  try {
    const ms: number[] = [];
    let events = 0;
    let b0 = 0;
    for (let i = 0; i < reps + 1; i++) {
      const move = 0.001 * (i + 1);
      const t0 = performance.now();
      const r = await ask(encodeRequest('POST', url, '/v1/book/tick', JSON.stringify({ underlying: 'BTC', priceMove: move })));
      const t = performance.now() - t0;
      if (r.status !== 200) throw new Error(`POST /v1/book/tick answered ${r.status}: ${r.body.toString()}`);
      await ask(encodeRequest('POST', url, '/v1/book/tick', JSON.stringify({ underlying: 'BTC', priceMove: -move })));
      if (i === 0) {
        b0 = bytes; // the first after subscribing: warm-up
        continue;
      }
      ms.push(t);
      events = (JSON.parse(r.body.toString()) as { events: number }).events;
    }
    return { ms: median(ms), events, bytes: Math.round((bytes - b0) / (2 * reps)) };
  } finally {
    sub.socket.destroy();
  }
}

export async function serveSection(ctx: SectionContext): Promise<Section> {
  const lines: string[] = [];
  await marginAtRate(ctx, lines);
  await tickOverHttp(ctx, lines);
  return { title: 'HTTP server (optmargin serve)', lines };
}
