/**
 * POST /v1/book/tick on the lane (src/serve/fast-lane.ts) against Fastify's route, the tick's
 * answer writer against JSON.stringify, and the events of a tick with and without subscribers:
 * the same count and numbering whether or not anyone listens (events are built only for a
 * listener), one frame written for every subscriber.
 */
import { describe, expect, it } from 'vitest';
import { defaultMarket } from '../src/market/snapshot.js';
import { startServer } from '../src/serve/server.js';
import { laneStats } from '../src/serve/fast-lane.js';
import { tickAnswerJson, type TickAnswer } from '../src/serve/book-service.js';
import { serverForFile } from './serve-fixtures.js';

const srv = serverForFile();

interface Answer {
  status: number;
  type: string;
  text: string;
}

const JSON_HEAD = { 'content-type': 'application/json' };

async function overHttp(body: string): Promise<Answer> {
  const r = await fetch(srv.server.url + '/v1/book/tick', { method: 'POST', headers: JSON_HEAD, body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

async function throughFastify(body: string): Promise<Answer> {
  const r = await srv.server.app.inject({ method: 'POST', url: '/v1/book/tick', headers: JSON_HEAD, payload: Buffer.from(body) });
  return { status: r.statusCode, type: String(r.headers['content-type']), text: r.payload };
}

async function load(): Promise<void> {
  const r = await fetch(srv.server.url + '/v1/book', { method: 'PUT', headers: JSON_HEAD, body: JSON.stringify({ generate: { accounts: 1500, seed: 5 }, model: 'deribit-pm-2024.1' }) });
  expect(r.status).toBe(200);
}

/** Collects an event stream's frames, raw text (each `id…\n\n` block) from a stream, then stops reading. */
function frames(stream: Response, into: string[]): ReadableStreamDefaultReader<Uint8Array> {
  const reader = stream.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        into.push(buf.slice(0, end + 2));
        buf = buf.slice(end + 2);
      }
    }
  })().catch(() => undefined);
  return reader;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('serve: the tick lane answers as the Fastify route', () => {
  it('before a book is loaded: 404 from both, the same bytes', async () => {
    const before = laneStats.served;
    const body = JSON.stringify({ underlying: 'BTC', priceMove: -0.1 });
    const lane = await overHttp(body);
    expect(laneStats.served, 'the lane took it').toBe(before + 1);
    const route = await throughFastify(body);
    expect(lane.status).toBe(404);
    expect(route.status).toBe(404);
    expect(lane.text).toBe(route.text);
  });

  it('errors: every class with the same status, type and bytes', async () => {
    await load();
    const cases: [string, number, string | undefined][] = [
      [JSON.stringify({ underlying: 'BTC', priceMove: 'down' }), 400, 'priceMove'],
      [JSON.stringify({ underlying: 'BTC', priceMove: 20 }), 400, 'priceMove'],
      [JSON.stringify({ underlying: 'BTC', priceMove: 0.1, index: 90000 }), 400, 'index'],
      [JSON.stringify({ underlying: 'DOGE', priceMove: 0.1 }), 422, 'underlying'],
      [JSON.stringify({ underlying: 'BTC', extra: 1 }), 400, 'extra'],
      ['{"underlying": "BTC", ', 400, undefined],
      ['['.repeat(100) + ']'.repeat(100), 413, undefined],
    ];
    for (const [body, status, path] of cases) {
      const before = laneStats.served;
      const lane = await overHttp(body);
      expect(laneStats.served, body).toBe(before + 1);
      const route = await throughFastify(body);
      expect(lane.status, body).toBe(status);
      expect(route.status, body).toBe(status);
      expect(lane.type).toBe('application/json; charset=utf-8');
      expect(route.type).toBe(lane.type);
      expect(lane.text, body).toBe(route.text);
      expect(JSON.parse(lane.text).error.path, body).toBe(path);
    }
  });

  it('a tick: the same answer from both paths (but the timings), in JSON.stringify’s form', async () => {
    await load();
    const down = JSON.stringify({ underlying: 'BTC', priceMove: -0.2 });
    const zero = JSON.stringify({ underlying: 'BTC', priceMove: 0 });
    const lane = await overHttp(down);
    expect(lane.status).toBe(200);
    expect(lane.type).toBe('application/json; charset=utf-8');
    expect((await throughFastify(zero)).status).toBe(200);
    const route = await throughFastify(down);
    const a = JSON.parse(lane.text) as TickAnswer;
    const b = JSON.parse(route.text) as TickAnswer;
    expect(Object.keys(a)).toEqual(['changed', 'events', 'ms', 'handlerMs', 'marketHash', 'stages']);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    expect(Object.keys(a.stages)).toEqual(Object.keys(b.stages));
    expect(a.events).toBeGreaterThan(0);
    expect([b.changed, b.events, b.marketHash]).toEqual([a.changed, a.events, a.marketHash]);
    // both texts are JSON.stringify's of what they hold
    expect(lane.text).toBe(JSON.stringify(a));
    expect(route.text).toBe(JSON.stringify(b));
  });
});

describe('serve: a tick’s answer writer', () => {
  it('writes JSON.stringify’s text, non-finite numbers as null', () => {
    const stages = { marketMs: 0.010675999999875785, riskMs: 3.4, selectMs: 0, poolMs: 1e21, revalueMs: 5e-324, singleMs: -0 };
    const answers: TickAnswer[] = [
      { changed: 13228, events: 392, ms: 12.124275000000125, handlerMs: 13.104457000000366, marketHash: '3ccaa24a501cd3bda3', stages },
      { changed: 0, events: 0, ms: -0, handlerMs: 1e-7, marketHash: 'a"b\\c\u2028', stages: {} },
      { changed: 1, events: 1, ms: NaN, handlerMs: Infinity, marketHash: '', stages: { marketMs: -Infinity } },
    ];
    for (const a of answers) expect(tickAnswerJson(a)).toBe(JSON.stringify(a));
  });
});

describe('serve: a tick’s events with and without subscribers', () => {
  it('counted and numbered alike; built and written once for every subscriber when someone listens', async () => {
    // a server of its own: its event numbers start at 0 (a load takes none)
    const own = await startServer({ market: defaultMarket(), port: 0, version: 'test' });
    try {
      const load = await fetch(own.url + '/v1/book', { method: 'PUT', headers: JSON_HEAD, body: JSON.stringify({ generate: { accounts: 1500, seed: 5 }, model: 'deribit-pm-2024.1' }) });
      expect(load.status).toBe(200);
      const post = async (priceMove: number) => {
        const r = await fetch(own.url + '/v1/book/tick', { method: 'POST', headers: JSON_HEAD, body: JSON.stringify({ underlying: 'BTC', priceMove }) });
        return (await r.json()) as TickAnswer;
      };
      // nobody listens: the transitions are counted and numbered, no event is built
      const unheard = await post(-0.2);
      const back = await post(0);
      expect(unheard.events).toBeGreaterThan(0);
      expect(back.events).toBe(unheard.events);
      // two subscribers: hello carries the last number given, the unheard ticks' included
      const streams = [await fetch(own.url + '/v1/book/events'), await fetch(own.url + '/v1/book/events')];
      const got: string[][] = [[], []];
      const readers = streams.map((s, i) => frames(s, got[i]));
      await until(() => got.every((g) => g.some((f) => f.includes('event: hello'))));
      for (const g of got) {
        const hello = JSON.parse(/^data: (.*)$/m.exec(g.find((f) => f.includes('event: hello'))!)![1]) as { seq: number };
        expect(hello.seq).toBe(unheard.events + back.events);
      }
      const heard = await post(-0.2);
      expect(heard.events).toBe(unheard.events);
      const tickFrames = (g: string[]) => g.filter((f) => f.includes('"cause":"tick"'));
      await until(() => got.every((g) => tickFrames(g).length >= heard.events));
      const [a, b] = got.map(tickFrames);
      expect(a.length).toBe(heard.events);
      expect(b).toEqual(a); // the same bytes to each subscriber
      const seqs = a.map((f) => Number(/^id: (\d+)$/m.exec(f)![1]));
      const first = unheard.events + back.events + 1;
      expect(seqs).toEqual(Array.from({ length: heard.events }, (_, i) => first + i));
      for (const r of readers) await r.cancel();
    } finally {
      await own.close();
    }
  });
});
