/**
 * The lane of POST /v1/margin (src/serve/fast-lane.ts) against Fastify's route: the same request
 * over HTTP (the lane, when its head is the common case) and through `inject` (always the route)
 * answers the same status, content type and bytes — results, arrays, every error class, the
 * queue's 503; requests whose head is not the common case go to Fastify and are answered there.
 */
import { describe, expect, it } from 'vitest';
import { encode } from '@msgpack/msgpack';
import { laneStats } from '../src/serve/fast-lane.js';
import { ACCOUNT, serverForFile } from './serve-fixtures.js';

const srv = serverForFile();

interface Answer {
  status: number;
  type: string;
  body: Buffer;
  retryAfter: string | null;
}

async function overHttp(path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const r = await fetch(srv.server.url + path, { method: 'POST', headers, body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()), retryAfter: r.headers.get('retry-after') };
}

async function throughFastify(path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const r = await srv.server.app.inject({ method: 'POST', url: path, headers, payload: Buffer.from(body) });
  const ra = r.headers['retry-after'];
  return { status: r.statusCode, type: String(r.headers['content-type']), body: r.rawPayload, retryAfter: ra === undefined ? null : String(ra) };
}

const JSON_HEAD = { 'content-type': 'application/json' };
const bad = (patch: object) => JSON.stringify({ ...ACCOUNT, ...patch });

describe('serve: the margin lane answers as the Fastify route', () => {
  const cases: [string, string, string][] = [
    ['one account', '/v1/margin', JSON.stringify(ACCOUNT)],
    ['a named model', '/v1/margin?model=deribit-pm-2024.1', JSON.stringify(ACCOUNT)],
    ['liquidation prices', '/v1/margin?liquidation=true&model=deribit-standard', JSON.stringify({ ...ACCOUNT, mode: 'cross' })],
    ['an array with a bad account in its place', '/v1/margin', JSON.stringify([ACCOUNT, { ...ACCOUNT, id: 'b', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] }])],
    ['a bad field (400, its path)', '/v1/margin', bad({ positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] })],
    ['a field the schema alone refuses (400)', '/v1/margin', bad({ positions: [{ instrument: 'BTC-PERPETUAL', size: 1, extra: true }] })],
    ['an unknown instrument (422)', '/v1/margin', bad({ positions: [{ instrument: 'BTC-32FOO26-1-C', size: 1 }] })],
    ['an unknown model (400, path model)', '/v1/margin?model=nope', JSON.stringify(ACCOUNT)],
    ['an empty array (400)', '/v1/margin', '[]'],
    ['accounts over the limit (413)', '/v1/margin', JSON.stringify(new Array(1001).fill(ACCOUNT))],
    ['broken JSON (400)', '/v1/margin', '{"id": "x", '],
    ['nesting over 64 levels (413)', '/v1/margin', '['.repeat(100) + ']'.repeat(100)],
    ['not an account (400)', '/v1/margin', '[1,2,3]'],
    ['null (400)', '/v1/margin', 'null'],
    ['__proto__ keys (400)', '/v1/margin', '{"__proto__":{"polluted":1},"id":"x","mode":"cross","positions":5}'],
  ];
  for (const [what, path, body] of cases) {
    it(what, async () => {
      const before = laneStats.served;
      const lane = await overHttp(path, body, JSON_HEAD);
      expect(laneStats.served, 'the lane took it').toBe(before + 1);
      const route = await throughFastify(path, body, JSON_HEAD);
      expect(lane.status).toBe(route.status);
      expect(lane.type).toBe('application/json; charset=utf-8');
      expect(route.type).toBe(lane.type);
      expect(lane.body.toString('utf8')).toBe(route.body.toString('utf8'));
      expect(JSON.parse(lane.body.toString('utf8'))).toBeTruthy();
    });
  }

  it('a full queue: 503 OVERLOADED with Retry-After from both', async () => {
    await new Promise((resolve) => setImmediate(resolve)); // the lane free again (it is released at the next check phase)
    expect(srv.server.queue.length).toBe(0);
    let release = () => {};
    const held = srv.server.queue.submit(() => new Promise<void>((r) => (release = r))); // runs at once and holds the lane
    const waiting = Array.from({ length: srv.server.queue.capacity }, () => srv.server.queue.submit(() => 0));
    try {
      const before = laneStats.served;
      const lane = await overHttp('/v1/margin', JSON.stringify(ACCOUNT), JSON_HEAD);
      expect(laneStats.served).toBe(before + 1);
      const route = await throughFastify('/v1/margin', JSON.stringify(ACCOUNT), JSON_HEAD);
      for (const a of [lane, route]) {
        expect(a.status).toBe(503);
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(JSON.parse(a.body.toString()).error.code).toBe('OPTMARGIN_OVERLOADED');
      }
      expect(lane.body.toString()).toBe(route.body.toString());
    } finally {
      release();
      await held;
      await Promise.all(waiting);
    }
    expect((await overHttp('/v1/margin', JSON.stringify(ACCOUNT), JSON_HEAD)).status).toBe(200);
  });

  it('heads other than the common case go to Fastify, answered there', async () => {
    const before = laneStats.served;
    const other: [string, string | Uint8Array, Record<string, string>, number][] = [
      ['/v1/margin', encode(ACCOUNT), { 'content-type': 'application/msgpack' }, 200],
      ['/v1/margin', JSON.stringify(ACCOUNT), { ...JSON_HEAD, accept: 'application/msgpack' }, 200],
      ['/v1/margin?model=deribit-pm&model=deribit-pm', JSON.stringify(ACCOUNT), JSON_HEAD, 400],
      ['/v1/margin?model=deribit%2Dpm', JSON.stringify(ACCOUNT), JSON_HEAD, 200],
      ['/v1/margin', '', JSON_HEAD, 400],
      ['/v1/margin', 'id=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
      ['/v1/margin', JSON.stringify({ ...ACCOUNT, pad: 'x'.repeat(5 * 1024 * 1024) }), JSON_HEAD, 413],
      ['/v1/margins', JSON.stringify(ACCOUNT), JSON_HEAD, 404],
    ];
    for (const [path, body, headers, status] of other) {
      const a = await overHttp(path, body, headers);
      expect(a.status, path).toBe(status);
    }
    expect(laneStats.served).toBe(before);
  });
});
