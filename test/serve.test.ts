/**
 * `optmargin serve`, in process on 127.0.0.1: the contract of every endpoint in JSON and msgpack,
 * every error class, overload (503 + Retry-After, never a crash) and hostile bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { Ajv } from 'ajv';
import { defaultMarket } from '../src/market/snapshot.js';
import { runMarginCommand } from '../src/cli/margin.js';
import { createMarginEngine } from '../src/runner/account/runner.js';
import { validateAccount } from '../src/instruments/account.js';
import { resolveMarket } from '../src/market/resolved.js';
import { startServer, build, type Server } from '../src/serve/server.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNT, jsonOf } from './serve-fixtures.js';
import { GC_RECENT, GcStats } from '../src/serve/gc-stats.js';
import { constants, performance } from 'node:perf_hooks';

let server: Server;
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const url = (p: string) => server.url + p;

async function post(path: string, body: unknown, type = 'application/json', accept = 'application/json'): Promise<{ status: number; body: any; headers: Headers }> {
  const data = type.includes('msgpack') ? encode(body) : typeof body === 'string' ? body : JSON.stringify(body);
  const r = await fetch(url(path), { method: 'POST', headers: { 'content-type': type, accept }, body: data });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const ct = r.headers.get('content-type') ?? '';
  return { status: r.status, headers: r.headers, body: ct.includes('msgpack') ? decode(bytes) : JSON.parse(Buffer.from(bytes).toString('utf8')) };
}

/** What `optmargin margin FILE --json` prints for `doc`. */
function cliMargin(doc: unknown, extra: Record<string, unknown> = {}): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'om-serve-'));
  const file = join(dir, 'a.json');
  writeFileSync(file, JSON.stringify(doc));
  let out = '';
  runMarginCommand(file, { json: true, ...extra }, (s) => (out += s));
  return JSON.parse(out);
}

beforeAll(async () => {
  server = await startServer({ market: defaultMarket(), port: 0, version: 'test', heapCount: true });
});
afterAll(async () => {
  await server?.close();
});

describe('serve: margin contract', () => {
  it('GET /healthz answers 200, with the garbage-collection pauses by kind', async () => {
    const r = await fetch(url('/healthz'));
    expect(r.status).toBe(200);
    const h = await jsonOf(r);
    expect(h.status).toBe('ok');
    // ~200 MB of short-lived objects in this (the server's) process: young-generation scavenges
    let sink: number[] = [];
    for (let i = 0; i < 400_000; i++) sink = new Array(64).fill(i);
    expect(sink[0]).toBe(399_999);
    await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries are delivered asynchronously
    const after = await jsonOf(await fetch(url('/healthz')));
    expect(after.gc.minor.count).toBeGreaterThan(h.gc.minor.count);
    expect(after.gc.minor.ms).toBeGreaterThan(0);
    expect(after.gc.minor.maxMs).toBeLessThanOrEqual(after.gc.minor.ms);
    // `over`: counts of the pauses longer than each threshold, never more than the pauses, falling with the threshold
    const over = after.gc.minor.over as number[];
    expect(after.gc.overMs).toEqual([0.25, 0.5, 1, 2, 5, 10]);
    expect(over).toHaveLength(6);
    expect(over.every((n, i) => n <= (i === 0 ? after.gc.minor.count : over[i - 1]))).toBe(true);
    for (const k of ['major', 'incremental', 'weak']) expect(Object.keys(after.gc[k]).sort()).toEqual(['count', 'maxMs', 'ms', 'over']);
    expect(after.gc.recent).toBeUndefined();
  });

  it('GET /healthz counts the V8 heap bytes allocated (heap.allocatedBytes) exactly, across scavenges', async () => {
    const h = await jsonOf(await fetch(url('/healthz')));
    // 400,000 arrays of 64 holes, each a JSArray (4 fields of 8 bytes: 32 bytes) and its FixedArray
    // (map and length, 16 bytes, then 64 slots of 8 bytes: 528 bytes): 560 bytes, 224,000,000 in
    // all, which the young generation collects many times over (each kept in a ring of 1,024, so
    // that no compiler can drop an allocation that nothing reads)
    const ring: unknown[][] = new Array(1024).fill(null);
    for (let i = 0; i < 400_000; i++) ring[i & 1023] = new Array(64);
    expect(ring[1023]).toHaveLength(64);
    const after = await jsonOf(await fetch(url('/healthz')));
    const allocated = after.heap.allocatedBytes - h.heap.allocatedBytes;
    expect(allocated).toBeGreaterThanOrEqual(224_000_000);
    expect(allocated).toBeLessThan(224_000_000 + 4_000_000); // plus the two requests' own objects (~1.5 MB measured)
    expect(after.heap.usedBytes).toBeGreaterThan(0);
  });

  it('GET /healthz?gcSince=T lists each pause that ended after T (epoch ms), with its time; a bad T is a 400 naming gcSince', async () => {
    const h = await jsonOf(await fetch(url('/healthz')));
    const t0 = performance.timeOrigin + performance.now();
    let sink: number[] = [];
    for (let i = 0; i < 400_000; i++) sink = new Array(64).fill(i);
    expect(sink[0]).toBe(399_999);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t1 = performance.timeOrigin + performance.now();
    const after = await jsonOf(await fetch(url(`/healthz?gcSince=${t0}`)));
    const recent = after.gc.recent as { at: number; ms: number; kind: string }[];
    const minor = recent.filter((p) => p.kind === 'minor');
    // the scavenges the loop caused, each inside [t0, t1] (this process is the server: one clock)
    expect(minor.length).toBe(after.gc.minor.count - h.gc.minor.count);
    expect(minor.length).toBeGreaterThan(0);
    for (const p of recent) {
      expect(p.at + p.ms).toBeGreaterThan(t0);
      expect(p.at).toBeLessThan(t1);
      expect(p.ms).toBeGreaterThanOrEqual(0);
    }
    expect(recent.map((p) => p.at)).toEqual([...recent.map((p) => p.at)].sort((a, b) => a - b));
    const bad = await fetch(url('/healthz?gcSince=yesterday'));
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).error).toMatchObject({ code: 'OPTMARGIN_INVALID_INPUT', path: 'gcSince' });
  });

  it('the pause ring keeps the last 4096 pauses, oldest first', () => {
    const g = new GcStats();
    g.stop();
    const add = (g as unknown as { add(e: object): void }).add.bind(g);
    for (let i = 0; i < 5000; i++) add({ startTime: i, duration: 0.5, detail: { kind: constants.NODE_PERFORMANCE_GC_MINOR } });
    const kept = g.recentSince(0);
    expect(kept).toHaveLength(GC_RECENT);
    expect(kept[0].at).toBeCloseTo(performance.timeOrigin + (5000 - 4096), 6);
    expect(kept[GC_RECENT - 1].at).toBeCloseTo(performance.timeOrigin + 4999, 6);
    expect(g.recentSince(performance.timeOrigin + 4998)).toHaveLength(2); // ended after: 4998.5 and 4999.5
    expect(g.pauses.minor.count).toBe(5000);
  });

  it('POST /v1/margin answers the object `optmargin margin --json` prints (JSON and msgpack both ways)', async () => {
    const expected = cliMargin(ACCOUNT);
    const j = await post('/v1/margin', ACCOUNT);
    expect(j.status).toBe(200);
    expect(j.body).toEqual(expected);
    const m = await post('/v1/margin', ACCOUNT, 'application/msgpack', 'application/msgpack');
    expect(m.headers.get('content-type')).toContain('application/msgpack');
    expect(m.body).toEqual(expected);
    const liq = await post('/v1/margin?liquidation=true&model=span-16', ACCOUNT);
    expect(liq.body).toEqual(cliMargin(ACCOUNT, { liquidation: true, model: 'span-16' }));
  });

  it('many accounts: one result each, a bad one carrying its own error (as the CLI)', async () => {
    const bad = { ...ACCOUNT, id: 'bad', positions: [{ instrument: 'BTC-25SEP26-60000-P', size: 0 }] };
    const cross = { ...ACCOUNT, id: 'cross', mode: 'cross' }; // its own default model (deribit-standard), as the CLI
    const r = await post('/v1/margin', [ACCOUNT, bad, cross]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(cliMargin([ACCOUNT, bad, cross]));
    expect(r.body[2].model.id).toBe('deribit-standard');
    expect(r.body[1]).toMatchObject({ id: 'bad', ok: false, error: { code: 'OPTMARGIN_INVALID_INPUT', path: 'positions[0].size' } });
  });

  it('a bad field answers 400 naming the field, with the CLI code, path and message', async () => {
    const cases: [unknown, string][] = [
      [{ ...ACCOUNT, mode: 'margin' }, 'mode'],
      [{ ...ACCOUNT, positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] }, 'positions[0].size'],
      [{ ...ACCOUNT, positions: [{ instrument: 'BTC-PERPETUAL', size: 1, leverage: 3 }] }, 'positions[0].leverage'],
      [{ ...ACCOUNT, collateral: { btc: 1 } }, 'collateral'],
      [{ mode: 'cross' }, 'id'],
    ];
    for (const [account, path] of cases) {
      const r = await post('/v1/margin', account);
      expect(r.status, path).toBe(400);
      expect(r.body.error.path).toBe(path);
      // the CLI prints error results only inside an array (a lone invalid account: stderr only, exit 2)
      expect(r.body).toEqual((cliMargin([account]) as unknown[])[0]);
    }
  });

  it('an unknown instrument answers 422 INVALID_INSTRUMENT; an unknown model 400 naming model', async () => {
    const r = await post('/v1/margin', { ...ACCOUNT, positions: [{ instrument: 'BTC-32FOO26-1-C', size: 1 }] });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'OPTMARGIN_INVALID_INSTRUMENT', path: 'positions[0].instrument' });
    const m = await post('/v1/margin?model=../../etc/passwd', ACCOUNT);
    expect(m.status).toBe(400);
    expect(m.body.error).toMatchObject({ code: 'OPTMARGIN_INVALID_MODEL', path: 'model' });
  });

  it('malformed bodies answer 4xx and the server stays up', async () => {
    const hostile: [string, string | Uint8Array][] = [
      ['application/json', '{"id":'],
      ['application/json', ''],
      ['application/json', '['.repeat(200_000)],
      ['application/json', '{"__proto__":{"polluted":1},"id":"x","mode":"cross","positions":5}'],
      ['application/json', 'null'],
      ['application/json', '"text"'],
      ['application/json', '[1,2,3]'],
      ['application/msgpack', new Uint8Array([0xc1])],
      ['application/msgpack', new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])], // array claiming 4G elements
      ['application/msgpack', encode({ id: 'n', mode: 'cross', positions: [{ instrument: 'BTC-PERPETUAL', size: NaN }] })],
      ['text/plain', 'hello'],
    ];
    for (const path of ['/v1/margin', '/v1/price', '/v1/iv', '/v1/whatif', '/v1/liquidation-price', '/v1/book/tick', '/v1/book/trade']) {
      for (const [type, body] of hostile) {
        const r = await fetch(url(path), { method: 'POST', headers: { 'content-type': type }, body });
        expect(r.status, `${path} ${type} ${String(body).slice(0, 20)}`).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        const e = await jsonOf(r);
        expect(e.ok).toBe(false);
        expect(e.error.code).toMatch(/^OPTMARGIN_/);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(url('/healthz'))).status).toBe(200);
  });

  it('limits: body size and accounts per request answer 413 LIMIT_EXCEEDED; unsupported media 415; unknown route 404', async () => {
    const big = await post('/v1/margin', { ...ACCOUNT, pad: 'x'.repeat(5 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('OPTMARGIN_LIMIT_EXCEEDED');
    const many = await post('/v1/margin', new Array(1001).fill(ACCOUNT));
    expect(many.status).toBe(413);
    expect(many.body.error.code).toBe('OPTMARGIN_LIMIT_EXCEEDED');
    expect((await post('/v1/margin', 'id=1', 'application/x-www-form-urlencoded')).status).toBe(415);
    const nf = await fetch(url('/v1/nothing'));
    expect(nf.status).toBe(404);
    expect((await jsonOf(nf)).error.code).toBe('OPTMARGIN_NOT_FOUND');
  });

  it("POST /v1/margin: an account over the server's positions limit is refused by the schema (400 naming positions); within it, a bad field gets the engine's wording", async () => {
    const app = build({ market: defaultMarket(), limits: { positionsPerAccount: 2 } });
    const over = await app.inject({ method: 'POST', url: '/v1/margin', payload: ACCOUNT }); // 3 positions
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({ id: 'desk-1', ok: false, error: { code: 'OPTMARGIN_INVALID_INPUT', path: 'positions' } });
    expect(over.json().error.message).toMatch(/^positions must NOT have more than 2 items/);
    const bad = { ...ACCOUNT, positions: [{ instrument: 'BTC-PERPETUAL', size: 0 }] };
    const r = await app.inject({ method: 'POST', url: '/v1/margin', payload: bad });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'OPTMARGIN_INVALID_INPUT', path: 'positions[0].size', message: 'positions[0].size must be non-zero, got 0' });
    await app.close();
  });

  it('an engine bug answers 500 INTERNAL, never a 4xx', async () => {
    const app = build({ market: defaultMarket() });
    app.post('/v1/bug', () => {
      throw new TypeError('cannot read properties of undefined');
    });
    const r = await app.inject({ method: 'POST', url: '/v1/bug', payload: {} });
    expect(r.statusCode).toBe(500);
    expect(r.json().error.code).toBe('OPTMARGIN_INTERNAL');
    await app.close();
  });
});

describe('serve: pricing, what-if, liquidation, models, OpenAPI', () => {
  it('POST /v1/price and /v1/iv: Black-76 against a hand value, and back', async () => {
    // F = K = 100, σ = 0.2, t = 1, r = 0: call = F·(2N(0.1) − 1), N(0.1) = 0.539827837277029 (tables)
    const opt = { type: 'call', forward: 100, strike: 100, vol: 0.2, t: 1 };
    const p = await post('/v1/price', [opt], 'application/msgpack', 'application/msgpack');
    expect(p.status).toBe(200);
    expect(p.body[0].price).toBeCloseTo(100 * (2 * 0.539827837277029 - 1), 11);
    const iv = await post('/v1/iv', [{ type: 'call', forward: 100, strike: 100, t: 1, price: p.body[0].price }]);
    expect(iv.body[0].vol).toBeCloseTo(0.2, 12);
    const bad = await post('/v1/price', [opt, { ...opt, strike: -5 }]);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'OPTMARGIN_INVALID_INPUT', path: '[1].strike', message: '[1].strike must be > 0, got -5' });
  });

  it('POST /v1/whatif: the library’s what-if (premium paid at mark); errors name account.* or changes[i].*', async () => {
    const change = { instrument: 'BTC-25SEP26-60000-P', size: 5 };
    const r = await post('/v1/whatif', { account: ACCOUNT, changes: [change] }, 'application/msgpack', 'application/msgpack');
    expect(r.status).toBe(200);
    const engine = createMarginEngine({ market: resolveMarket(defaultMarket()), model: 'deribit-pm' });
    expect(r.body).toEqual(JSON.parse(JSON.stringify(engine.whatIf(validateAccount(ACCOUNT), [change]))));
    expect(r.body.before.initialMargin).toBe((cliMargin(ACCOUNT) as { initialMargin: number }).initialMargin);
    const e1 = await post('/v1/whatif', { account: { ...ACCOUNT, mode: 'x' }, changes: [] });
    expect(e1.body.error.path).toBe('account.mode');
    const e2 = await post('/v1/whatif', { account: ACCOUNT, changes: [{ instrument: 'BTC-PERPETUAL', size: 'y' }] });
    expect(e2.body.error.path).toBe('changes[0].size');
    const e3 = await post('/v1/whatif', { account: ACCOUNT, changes: [{ instrument: 'BTC-NOPE', size: 1 }] });
    expect(e3.status).toBe(422);
    expect(e3.body.error.path).toMatch(/^changes\[0\]/);
  });

  it('POST /v1/liquidation-price: at the price found, equity equals MM (checked by margining the moved account)', async () => {
    const r = await post('/v1/liquidation-price', { account: ACCOUNT, underlying: 'BTC' });
    expect(r.status).toBe(200);
    const l = r.body.liquidationPrices[0];
    expect(l.underlying).toBe('BTC');
    expect(l.below).toBeLessThan(l.spot);
    const withLiq = cliMargin(ACCOUNT, { liquidation: true }) as { liquidationPrices: unknown[] };
    expect(r.body.liquidationPrices).toEqual(withLiq.liquidationPrices);
  });

  it('GET /v1/models lists the presets; GET /v1/models?id= one of them', async () => {
    const all = await jsonOf(await fetch(url('/v1/models')));
    expect(all.map((m: { id: string }) => m.id)).toContain('deribit-pm');
    const one = await jsonOf(await fetch(url('/v1/models?id=span-16')));
    expect(one.id).toBe('span-16');
    expect((await fetch(url('/v1/models?id=nope'))).status).toBe(400);
  });

  it('GET /openapi.json describes every route with the schemas that validate requests', async () => {
    const doc = await jsonOf(await fetch(url('/openapi.json')));
    for (const p of ['/v1/price', '/v1/iv', '/v1/margin', '/v1/whatif', '/v1/liquidation-price', '/v1/book', '/v1/book/tick', '/v1/book/trade', '/v1/book/results', '/v1/book/events', '/v1/models', '/healthz']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    // the document's Account schema accepts the account and rejects what the server rejects
    const ajv = new Ajv({ strict: false });
    for (const [name, s] of Object.entries(doc.components.schemas)) ajv.addSchema(s as object, `#/components/schemas/${name}`);
    const ref = (n: string) => ajv.compile({ $ref: `#/components/schemas/${n}` });
    const acc = ajv.getSchema('#/components/schemas/Account')!;
    expect(acc(ACCOUNT)).toBe(true);
    expect(acc({ ...ACCOUNT, mode: 'x' })).toBe(false);
    expect(ref).toBeDefined();
  });
});

describe('serve: bearer token and binding', () => {
  it('refuses a non-loopback bind without a token (nothing listens)', async () => {
    await expect(startServer({ market: defaultMarket(), host: '0.0.0.0', port: 0 })).rejects.toThrow(/requires a bearer token/);
  });

  it('with a token, /v1 answers 401 without it and 200 with it; /healthz stays open', async () => {
    const s = await startServer({ market: defaultMarket(), port: 0, token: 's3cret' });
    try {
      const no = await fetch(s.url + '/v1/margin', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ACCOUNT) });
      expect(no.status).toBe(401);
      expect((await jsonOf(no)).error.code).toBe('OPTMARGIN_UNAUTHORIZED');
      const yes = await fetch(s.url + '/v1/margin', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret' }, body: JSON.stringify(ACCOUNT) });
      expect(yes.status).toBe(200);
      expect((await fetch(s.url + '/healthz')).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

/** Reads Server-Sent Events from a fetch response into `into` as they arrive. */
function collectEvents(r: Response, into: { event: string; data: any }[]): void {
  const reader = r.body!.getReader();
  let buf = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += Buffer.from(value).toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) into.push({ event: ev, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('serve: the long-lived book and its event stream', () => {
  it('answers 404 NOT_FOUND before a book is loaded (and, started without heapCount, counts no heap bytes)', async () => {
    const s = await startServer({ market: defaultMarket(), port: 0 });
    try {
      const h = await jsonOf(await fetch(s.url + '/healthz'));
      expect(h.heap.allocatedBytes).toBeNull();
      expect(h.heap.usedBytes).toBeGreaterThan(0);
      const r = await fetch(s.url + '/v1/book/tick', json({ underlying: 'BTC', priceMove: -0.1 }));
      expect(r.status).toBe(404);
      expect((await jsonOf(r)).error.code).toBe('OPTMARGIN_NOT_FOUND');
    } finally {
      await s.close();
    }
  });

  it('load, tick, trade and results; health transitions streamed with figures and hashes', async () => {
    const events: { event: string; data: any }[] = [];
    const stream = await fetch(url('/v1/book/events'));
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    collectEvents(stream, events);
    const accounts = (await import('../src/io/gen-book.js')).generateBook({ accounts: 1500, seed: 5, market: resolveMarket(defaultMarket()) }).accounts;
    const load = await fetch(url('/v1/book'), { method: 'PUT', headers: { 'content-type': 'application/msgpack' }, body: encode({ accounts, model: 'deribit-pm-2024.1' }) });
    expect(load.status).toBe(200);
    const loaded = await jsonOf(load);
    expect(loaded.accounts).toBe(1500);
    const counts = loaded.summary.byHealth;
    expect(counts.healthy + counts['margin call'] + counts.liquidatable + counts.bankrupt).toBe(1500);

    // a book result equals the single-account engine's figures for that account
    const page = await jsonOf(await fetch(url('/v1/book/results?limit=3')));
    const engine = createMarginEngine({ market: resolveMarket(defaultMarket()), model: 'deribit-pm-2024.1' });
    const single = engine.margin(accounts[0]) as { maintenanceMargin: number; health: string };
    expect(page.results[0].maintenanceMargin).toBeCloseTo(single.maintenanceMargin, 6);
    expect(page.results[0].health).toBe(single.health);
    const baseHash = page.marketHash;

    const down = await post('/v1/book/tick', { underlying: 'BTC', priceMove: -0.2 });
    expect(down.status).toBe(200);
    expect(down.body.events).toBeGreaterThan(0);
    expect(down.body.marketHash).not.toBe(baseHash);
    // the handler's time includes the engine tick's, whose stages are reported
    expect(down.body.handlerMs).toBeGreaterThanOrEqual(down.body.ms);
    expect(Object.keys(down.body.stages)).toEqual(['marketMs', 'riskMs', 'selectMs', 'poolMs', 'revalueMs', 'singleMs']);
    await until(() => events.filter((e) => e.data.cause === 'tick').length >= down.body.events);
    const worse = events.filter((e) => e.data.cause === 'tick');
    expect(worse.length).toBe(down.body.events);
    for (const e of worse) {
      expect(['margin-call', 'liquidatable', 'bankrupt', 'restored']).toContain(e.event);
      expect(e.data).toMatchObject({ type: e.event, marketHash: down.body.marketHash, model: { id: 'deribit-pm-2024.1' } });
      expect(typeof e.data.account).toBe('string');
      expect(e.data.previous).not.toBe(e.data.health);
      // the event's health is at least as bad as its own figures give (isolated accounts: the worst position's)
      const { equity, initialMargin: im, maintenanceMargin: mm } = e.data;
      const rank = ['healthy', 'margin call', 'liquidatable', 'bankrupt'];
      const h = equity < 0 ? 'bankrupt' : equity < mm ? 'liquidatable' : equity < im ? 'margin call' : 'healthy';
      expect(rank.indexOf(e.data.health)).toBeGreaterThanOrEqual(rank.indexOf(h));
    }
    const bankrupt = await jsonOf(await fetch(url('/v1/book/results?health=bankrupt')));
    expect(bankrupt.results.every((r: { health: string }) => r.health === 'bankrupt')).toBe(true);

    // back to the loaded market: every account that changed health is restored to where it was
    const n0 = events.length;
    const back = await post('/v1/book/tick', { underlying: 'BTC', priceMove: 0 });
    expect(back.body.marketHash).toBe(baseHash);
    await until(() => events.length - n0 >= back.body.events);
    const after = await jsonOf(await fetch(url('/v1/book/results?summary=true')));
    expect(after.byHealth).toEqual(counts);

    const trade = await post('/v1/book/trade', { account: accounts[1].id, changes: [{ instrument: 'BTC-PERPETUAL', size: 10 }] });
    expect(trade.status).toBe(200);
    expect(trade.body.result.id).toBe(accounts[1].id);
    const missing = await post('/v1/book/trade', { account: 'nobody', changes: [] });
    expect(missing.status).toBe(400);
    const badHealth = await fetch(url('/v1/book/results?health=sick'));
    expect(badHealth.status).toBe(400);
    expect((await jsonOf(badHealth)).error.path).toBe('health');
    const badTick = await post('/v1/book/tick', { underlying: 'BTC', priceMove: 'down' });
    expect(badTick.status).toBe(400);
    expect(badTick.body.error.path).toBe('priceMove');
  });
});
