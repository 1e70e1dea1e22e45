/**
 * The bench's open-loop load client (bench/http-load.ts) on loopback: it holds the rate, counts
 * answers by status, and measures each latency from the request's scheduled send time, so a
 * server that stalls is charged for every request scheduled during the stall (no coordinated
 * omission), not only for the few that were in flight.
 */
import { afterAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../src/wasm/module.js';

// the built client (its canned server runs as `node http-load.js --canned`, a built file)
const built = join(findPackageRoot(), 'dist', 'bench', 'http-load.js');
const load = (): Promise<typeof import('../bench/http-load.js')> => import(built);

const servers: { close: () => void }[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A server answering 200 at once, except that every answer is held until `stallMs` after its first request. */
function stallingServer(stallMs: number): Promise<string> {
  return new Promise((resolve) => {
    let first = 0;
    const answer = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
    const server = net.createServer((s) => {
      s.on('data', () => {
        first ||= performance.now();
        const wait = first + stallMs - performance.now();
        if (wait > 0) setTimeout(() => s.write(answer), wait);
        else s.write(answer);
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`));
  });
}

describe.skipIf(!existsSync(built))('open-loop load client (dist/bench/http-load.js)', () => {
  it('holds the offered rate and counts every answer', async () => {
    const { openLoop, startCannedServer } = await load();
    const canned = await startCannedServer(1000);
    try {
      const r = await openLoop({ url: canned.url, path: '/', body: '{}', rate: 1000, durationMs: 600, connections: 4 });
      expect([r.sent, r.ok, r.errors]).toEqual([600, 600, 0]);
      // 600 requests, the last scheduled at 599 ms: the run ends with its answer, so the rate is at
      // most 600 / 0.599 s, and over 600/s unless the answers lag by more than 400 ms
      expect(r.rate).toBeGreaterThan(600);
      expect(r.rate).toBeLessThanOrEqual(600 / 0.599);
      expect(r.latency.p50).toBeGreaterThan(0);
      expect(r.latency.max).toBeGreaterThanOrEqual(r.latency.p999);
    } finally {
      await canned.stop();
    }
  });

  it('charges a stall to every request scheduled during it (no coordinated omission)', async () => {
    // 2 connections, a request every 1 ms, the server silent for its first 200 ms: the request
    // scheduled at t waits 200 − t ms at least, so ~100 of the 400 wait over 100 ms — a closed-loop
    // client would have seen only the 2 requests in flight as slow
    const { openLoop } = await load();
    const url = await stallingServer(200);
    const r = await openLoop({ url, path: '/', body: '{}', rate: 1000, durationMs: 400, connections: 2 });
    expect(r.ok).toBe(400);
    expect(r.latency.max).toBeGreaterThan(190);
    expect(r.latency.p90).toBeGreaterThan(50); // the 100th slowest of 400 waited over 100 ms, the 40th over 160 ms
    expect(r.service.p50).toBeLessThan(r.latency.p50);
  });
});
