/**
 * An open-loop HTTP load generator (loopback only): requests are scheduled at a fixed rate, and
 * each latency is measured from its scheduled time (so a stalled server cannot hide its queue:
 * no coordinated omission) as well as from the moment it was written (service time). Timings in
 * microseconds from performance.now(), not the millisecond buckets of autocannon's histogram.
 */
import http from 'node:http';

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
}

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function openLoop(opts: { url: string; path: string; body: string | Buffer; contentType?: string; rate: number; durationMs: number; connections: number }): Promise<LoadResult> {
  const u = new URL(opts.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error('the load generator talks to loopback only');
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers = { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(body.length) };
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  const lat = new Float64Array(total);
  const svc = new Float64Array(total);
  let done = 0;
  let ok = 0;
  let errors = 0;
  const interval = 1000 / opts.rate;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const finish = () => {
      if (++done === total) resolve();
    };
    const fire = (i: number, scheduled: number) => {
      const t0 = performance.now();
      const req = http.request({ agent, host: u.hostname, port: u.port, path: opts.path, method: 'POST', headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          const t1 = performance.now();
          lat[i] = t1 - scheduled;
          svc[i] = t1 - t0;
          if (res.statusCode === 200) ok++;
          else errors++;
          finish();
        });
      });
      req.on('error', () => {
        errors++;
        lat[i] = svc[i] = performance.now() - scheduled;
        finish();
      });
      req.end(body);
    };
    let i = 0;
    const tickFn = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        fire(i, start + i * interval);
        i++;
      }
      if (i < total) setImmediate(tickFn);
    };
    tickFn();
  });
  const elapsed = performance.now() - start;
  agent.destroy();
  lat.sort();
  svc.sort();
  return {
    sent: total,
    ok,
    errors,
    rate: (total / elapsed) * 1000,
    latency: { p50: pct(lat, 0.5), p90: pct(lat, 0.9), p99: pct(lat, 0.99), p999: pct(lat, 0.999), max: lat[lat.length - 1] },
    service: { p50: pct(svc, 0.5), p99: pct(svc, 0.99) },
  };
}
