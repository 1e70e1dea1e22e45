/**
 * The distributed book run (src/cluster) with real processes on loopback: Debian's nats-server
 * (JetStream, storage in a temp dir, random port on 127.0.0.1), `optmargin worker` processes and
 * the `optmargin book --nats` coordinator, all from dist/src/cli.js. The reference is the local
 * run of the same book (`optmargin book` without --nats): the --out files must be the same bytes.
 * Faults: a worker SIGKILLed mid-shard (redelivered after the ack wait), duplicated result
 * deliveries (counted once), the broker killed (exit 1, nothing written) and restarted (resumes).
 * Skips with a message where nats-server is absent.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, type Proc } from '../bench/procs.js';
import { cli, hasNats, LoopbackCluster, stopProc, until } from './support/nats.js';

if (!hasNats) console.warn('cluster tests skipped: nats-server is not installed (apt-get install -y nats-server)');

const dir = mkdtempSync(join(tmpdir(), 'optmargin-cluster-'));
const book = join(dir, 'book.jsonl');
const cluster = new LoopbackCluster(join(dir, 'jetstream'));
const start = (cmd: string, args: string[], env: Record<string, string> = {}): Proc => cluster.start(cmd, args, env);
const worker = (env: Record<string, string> = {}): Promise<Proc> => cluster.worker(env);
const joined = (w: Promise<Proc>): Promise<Proc> => w;

/** The coordinator: `book --nats` with small shards (many shards for 2 workers). */
function coordinator(out: string, extra: string[] = [], input = book): Proc {
  return start(process.execPath, [cli, 'book', input, '--nats', cluster.url, '--shard-accounts', '40', '--out', out, '--json', ...extra]);
}

const local = (ext: string): Buffer => readFileSync(join(dir, `local.${ext}`));

describe.skipIf(!hasNats || !existsSync(cli))('book over NATS JetStream (nats-server on 127.0.0.1, 2 worker processes)', () => {
  let workers: Proc[] = [];

  beforeAll(async () => {
    await cluster.startBroker();
    expect(spawnSync(process.execPath, [cli, 'gen-book', '--accounts', '400', '--seed', '5', '--out', book]).status).toBe(0);
    // an account without an id (reported as #<book index>) and a line that is not JSON (an error result): both keep their place
    const acc = JSON.parse(readFileSync(book, 'utf8').split('\n')[7]);
    delete acc.id;
    appendFileSync(book, JSON.stringify(acc) + '\n{"id": "broken", \n');
    for (const ext of ['csv', 'json', 'msgpack']) {
      const r = spawnSync(process.execPath, [cli, 'book', book, '--threads', '2', '--out', join(dir, `local.${ext}`)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(local('csv').toString()).toMatch(/\n#400,false,.*\nbroken,false,.*line 402 is not valid JSON/);
    workers = [await joined(worker()), await joined(worker())];
  });

  afterAll(() => cluster.killAll());

  test('the same bytes as the local run (csv, json, msgpack), shards spread over both workers, exit 0', async () => {
    for (const ext of ['csv', 'json', 'msgpack']) {
      const out = join(dir, `dist.${ext}`);
      const c = coordinator(out);
      let stdout = '';
      c.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      expect(await c.exit, c.err()).toBe(0);
      expect(readFileSync(out).equals(local(ext)), `${ext} differs`).toBe(true);
      const stats = JSON.parse(stdout).load.cluster;
      expect(stats.shards).toBe(10); // the 400 valid entries by 40: the two invalid ones (no id, not JSON) get their error results on the coordinator, as in the local run
      expect(stats.duplicates).toBe(0);
    }
    // both workers took shards
    for (const w of workers) expect(w.err()).toMatch(/done \(/);
  });

  test('a columnar (.ombook) book: the coordinator ingests it like the local run, same bytes', async () => {
    const cols = join(dir, 'book.ombook');
    expect(spawnSync(process.execPath, [cli, 'gen-book', '--accounts', '300', '--seed', '9', '--out', cols]).status).toBe(0);
    const ref = join(dir, 'local-ombook.json');
    expect(spawnSync(process.execPath, [cli, 'book', cols, '--threads', '1', '--out', ref], { timeout: 60_000 }).status).toBe(0);
    const out = join(dir, 'dist-ombook.json');
    const c = coordinator(out, [], cols);
    expect(await c.exit, c.err()).toBe(0);
    expect(readFileSync(out).equals(readFileSync(ref))).toBe(true);
  });

  test('a worker SIGKILLed in the middle of a shard: the shard is redelivered after the ack wait, same bytes', async () => {
    const slow = await joined(worker({ OPTMARGIN_CLUSTER_FAULT: 'delay=1500' }));
    const out = join(dir, 'killed.csv');
    const t0 = Date.now();
    const c = coordinator(out);
    await until('the slow worker to take a shard', () => /received/.test(slow.err()));
    slow.proc.kill('SIGKILL');
    expect(await slow.exit).toBe(null);
    expect(await c.exit, c.err()).toBe(0);
    expect(readFileSync(out).equals(local('csv'))).toBe(true);
    // the killed worker's shard came back after the 2 s ack wait
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(workers.map((w) => w.err()).join('')).toMatch(/received \(delivery 2\)/);
  });

  test('duplicated result deliveries are counted once', async () => {
    for (const w of workers) await stopProc(w);
    const dup = await joined(worker({ OPTMARGIN_CLUSTER_FAULT: 'duplicate' }));
    const out = join(dir, 'dup.json');
    const c = coordinator(out);
    let stdout = '';
    c.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await c.exit, c.err()).toBe(0);
    expect(readFileSync(out).equals(local('json'))).toBe(true);
    const stats = JSON.parse(stdout);
    // every shard's copy is refused, except the last shard's when it lands after the run completed
    expect(stats.load.cluster.duplicates).toBeGreaterThanOrEqual(9);
    expect(stats.summary.accounts).toBe(402);
    await stopProc(dup);
  });

  test('the broker killed mid-run: exit 1 with OPTMARGIN_CLUSTER_FAILED, no --out; once it is back, workers reconnect and the run gives the same bytes', async () => {
    const w = await joined(worker({ OPTMARGIN_CLUSTER_FAULT: 'delay=300' }));
    const out = join(dir, 'lost.csv');
    const c = coordinator(out);
    await until('a first shard done', () => /done \(/.test(w.err()), 15_000, () => w.err() + c.err());
    await stopProc(cluster.broker, 'SIGKILL');
    expect(await c.exit, c.err()).toBe(1);
    expect(c.err()).toMatch(/OPTMARGIN_CLUSTER_FAILED: lost the connection to the NATS broker .* shards done; nothing was written/);
    expect(existsSync(out)).toBe(false);
    // the same storage, the same port: the worker reconnects by itself, the stored streams are there
    await cluster.startBroker();
    const again = coordinator(out, ['--nats-timeout', '40']);
    expect(await again.exit, again.err() + w.err()).toBe(0);
    expect(readFileSync(out).equals(local('csv'))).toBe(true);
    await stopProc(w);
  }, 120_000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(cli))('--nats without a broker', () => {
  test('nothing listening: exit 1, one line naming the broker, no --out', async () => {
    const port = await freePort();
    const out = join(dir, 'none.csv');
    const small = join(dir, 'small.jsonl');
    expect(spawnSync(process.execPath, [cli, 'gen-book', '--accounts', '3', '--out', small]).status).toBe(0);
    const r = spawnSync(process.execPath, [cli, 'book', small, '--nats', `nats://127.0.0.1:${port}`, '--out', out], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`OPTMARGIN_CLUSTER_FAILED: cannot connect to the NATS broker at nats://127.0.0.1:${port}`));
    expect(existsSync(out)).toBe(false);
  });

  test('a URL that is not nats://HOST:PORT: exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'worker', '--nats', 'http://127.0.0.1'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--nats must be nats:\/\/HOST:PORT/);
  });
});
