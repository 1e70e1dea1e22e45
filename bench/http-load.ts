/**
 * An open-loop HTTP/1.1 load generator (loopback only), cheap enough not to be the bottleneck:
 * raw keep-alive sockets, one pre-encoded request, a minimal response parser (status line and
 * Content-Length), as autocannon does. Requests are scheduled at a fixed rate and each latency
 * is measured from its scheduled time (a stalled server cannot hide its queue: no coordinated
 * omission) and from its write (service time), in microseconds from performance.now() — not in
 * the millisecond buckets of autocannon's histogram.
 */
import net from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  /** requests answered per second over the run */
  rate: number;
  /** ms, from the scheduled send time */
  latency: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** ms, from the write of the request */
  service: { p50: number; p99: number };
  /** the client's own CPU time (user + system, all its threads) per request, µs */
  clientCpuUs: number;
  /** when the run began, ms since the Unix epoch */
  startEpoch: number;
  /**
   * requests slower than `slowMs`: from the scheduled send time to the answer, ms since the Unix
   * epoch, when the client wrote it, and whether it waited for a connection (all were carrying
   * earlier requests when it was due: it was written as an answer freed one) (at most MAX_SLOW)
   */
  slow: { from: number; to: number; sent: number; waitedForConnection: boolean }[];
  /** the client's own garbage-collection pauses during the run (start, ms since the Unix epoch; duration, ms) */
  clientGc: { at: number; ms: number }[];
}

/** Slow requests a run reports with their times, at most. */
const MAX_SLOW = 50_000;

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** One keep-alive connection carrying one request at a time (the answer's status and body to `done`). */
export class Conn {
  private buf: Buffer = Buffer.alloc(0);
  busy = false;
  private onDone: ((status: number, body: Buffer) => void) | null = null;
  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.data(d));
  }
  send(req: Buffer, done: (status: number, body: Buffer) => void): void {
    this.busy = true;
    this.onDone = done;
    this.socket.write(req);
  }
  private data(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (let total = messageLength(this.buf); total > 0; total = messageLength(this.buf)) {
      // the status code of "HTTP/1.1 200 OK"
      const status = Number(this.buf.subarray(9, 12).toString('latin1'));
      const body = this.buf.subarray(this.buf.indexOf('\r\n\r\n') + 4, total);
      this.buf = this.buf.subarray(total);
      const done = this.onDone;
      this.onDone = null;
      this.busy = false;
      done?.(status, body);
    }
  }
}

/** A keep-alive connection to a loopback URL (one request at a time). */
export function connect(url: string): Promise<Conn> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error('the load generator talks to loopback only');
  return new Promise<Conn>((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => resolve(new Conn(s)));
    s.on('error', reject);
  });
}

/** A pre-encoded keep-alive HTTP/1.1 request (JSON body when given). */
export function encodeRequest(method: string, url: string, path: string, body?: string): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nhost: ${new URL(url).host}\r\nconnection: keep-alive\r\n`;
  if (body === undefined) return Buffer.from(head + '\r\n');
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(`${head}content-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`), b]);
}

export async function openLoop(opts: { url: string; path: string; body: string | Buffer; contentType?: string; rate: number; durationMs: number; connections: number; slowMs?: number }): Promise<LoadResult> {
  const u = new URL(opts.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error('the load generator talks to loopback only');
  const body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const req = Buffer.concat([
    Buffer.from(`POST ${opts.path} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: ${opts.contentType ?? 'application/json'}\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`),
    body,
  ]);
  const conns = await Promise.all(
    Array.from({ length: opts.connections }, () => new Promise<Conn>((resolve, reject) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => resolve(new Conn(s)));
      s.on('error', reject);
    })),
  );
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const lat = new Float64Array(total);
  const svc = new Float64Array(total);
  const waiting: number[] = [];
  let head = 0;
  let done = 0;
  let ok = 0;
  let errors = 0;
  const interval = 1000 / opts.rate;
  const slowMs = opts.slowMs ?? 1;
  const slow: LoadResult['slow'] = [];
  const clientGc: { at: number; ms: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) clientGc.push({ at: performance.timeOrigin + e.startTime, ms: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    // onAnswer: the connection was freed by an answer (a request written then had been waiting for one)
    const dispatch = (c: Conn, onAnswer: boolean) => {
      if (head >= waiting.length) return;
      const i = waiting[head++];
      const t0 = performance.now();
      c.send(req, (status) => {
        const t1 = performance.now();
        lat[i] = t1 - (start + i * interval);
        svc[i] = t1 - t0;
        if (lat[i] > slowMs && slow.length < MAX_SLOW) {
          slow.push({ from: performance.timeOrigin + start + i * interval, to: performance.timeOrigin + t1, sent: performance.timeOrigin + t0, waitedForConnection: onAnswer });
        }
        if (status === 200) ok++;
        else errors++;
        if (++done === total) resolve();
        else dispatch(c, true);
      });
    };
    let next = 0;
    // between sends the client sleeps (Atomics.wait, at most NAP ms, never past the next send
    // time) instead of spinning: a spinning client would take a whole core from the server it
    // measures. Answers that arrive during a nap wait at most NAP ms to be read (a bias of ≤ NAP
    // on latency, none on the server's work).
    const NAP = 0.1;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) waiting.push(next++);
      for (const c of conns) if (!c.busy) dispatch(c, false);
      if (next >= total) return;
      const until = start + next * interval - performance.now();
      if (until > 0.02) Atomics.wait(nap, 0, 0, Math.min(until, NAP));
      setImmediate(tick);
    };
    tick();
  });
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setImmediate(resolve)); // gc entries are delivered asynchronously
  gcObserver.disconnect();
  for (const c of conns) c.socket.destroy();
  lat.sort();
  svc.sort();
  return {
    sent: total,
    ok,
    errors,
    rate: (total / elapsed) * 1000,
    latency: { p50: pct(lat, 0.5), p90: pct(lat, 0.9), p99: pct(lat, 0.99), p999: pct(lat, 0.999), max: lat[lat.length - 1] },
    service: { p50: pct(svc, 0.5), p99: pct(svc, 0.99) },
    clientCpuUs: (cpu.user + cpu.system) / total,
    startEpoch: performance.timeOrigin + start,
    slow,
    clientGc,
  };
}

/**
 * Runs `openLoop` in a child process of its own (`node http-load.js '<runs JSON>'`, the last run's
 * result as JSON on stdout): the client's event loop and heap are then its own, as a user's
 * client would be, not the bench process's (which holds the earlier sections' books and collects
 * them). The runs go one after the other in the same process: a warm-up, then the measured run.
 * `onRun(k)` is called as run k starts (the child announces it on stdout), e.g. to read the
 * server's CPU time over the measured run only.
 */
type LoadOptions = Parameters<typeof openLoop>[0] & { body: string };

export async function openLoopInChild(runs: LoadOptions[], onRun?: (k: number) => void): Promise<LoadResult> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      onRun?.((JSON.parse(out.slice(0, nl)) as { run: number }).run);
      out = out.slice(nl + 1);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the load client exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}

/**
 * A stand-in server answering every request with the same canned 200 of `bytes` body bytes, in a
 * process of its own (`node http-load.js --canned BYTES CPU_US`): at once (the same client at the
 * same rate against it measures the floor that the client and loopback alone add to a latency),
 * or spending `cpuUs` µs of CPU time per request in all (its own handling and a loop of arithmetic
 * that allocates nothing, sized as it runs: every 500 requests the loop is scaled by the target
 * over the process's measured CPU time per request), a server of a given CPU cost with none of the
 * real one's code, heap or collector.
 */
export async function startCannedServer(bytes: number, cpuUs = 0): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--canned', String(bytes), String(cpuUs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the canned server exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { url, pid: child.pid!, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

let workSink = 1;

/** One unit of the stand-in's work: arithmetic on one number (nothing allocated, nothing the optimiser can drop). */
function workUnit(): void {
  let s = workSink;
  for (let i = 0; i < 100; i++) s = Math.sqrt(s + i);
  workSink = s;
}

/** Units of work per request so that the process spends `cpuUs` per request: rescaled every `every` requests from its CPU time (user + system). */
function workSizer(cpuUs: number, every = 500): () => number {
  let units = 0;
  let n = 0;
  let cpu0 = process.cpuUsage();
  return () => {
    if (cpuUs <= 0) return 0;
    if (++n === every) {
      const c = process.cpuUsage(cpu0);
      units = rescaled(units, (c.user + c.system) / every, cpuUs);
      n = 0;
      cpu0 = process.cpuUsage();
    }
    return units;
  };
}

/**
 * The next units per request, given the CPU time per request `spent` (µs) at `units` and the
 * aim `cpuUs`: scaled by aim / spent, by at most 2× either way per step; from 0 units, 10 to
 * start from when the aim is not reached yet.
 */
function rescaled(units: number, spent: number, cpuUs: number): number {
  if (!(spent > 0)) return units;
  if (units === 0) return spent < cpuUs ? 10 : 0;
  const factor = Math.min(2, Math.max(0.5, cpuUs / spent));
  return Math.round(units * factor);
}

function cannedServer(bytes: number, cpuUs: number): void {
  const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${bytes}\r\n\r\n`), Buffer.alloc(bytes, 0x20)]);
  const unitsNow = workSizer(cpuUs);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (let n = messageLength(buf); n > 0; n = messageLength(buf)) {
        buf = buf.subarray(n);
        for (let k = unitsNow(); k > 0; k--) workUnit();
        socket.write(answer);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as net.AddressInfo).port}\n`));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Bytes of the first complete HTTP/1.1 message in `buf` (head and Content-Length body), or 0. */
function messageLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 0;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length < total ? 0 : total;
}

// run as a script: `--canned BYTES CPU_US` (startCannedServer), or the runs as its argument (the child of
// openLoopInChild): one line per run start on stdout, then the last run's result (no newline)
if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === '--canned') {
  cannedServer(Number(process.argv[3]), Number(process.argv[4] ?? 0));
} else if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2]) {
  let r: LoadResult | null = null;
  const runs = JSON.parse(process.argv[2]) as LoadOptions[];
  for (let k = 0; k < runs.length; k++) {
    process.stdout.write(JSON.stringify({ run: k }) + '\n');
    r = await openLoop(runs[k]);
  }
  process.stdout.write(JSON.stringify(r));
}
