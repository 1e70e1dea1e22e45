/**
 * The book VaR over NATS JetStream (`optmargin var BOOK --nats URL`) with real processes on
 * loopback (test/support/nats.ts: nats-server on 127.0.0.1, `optmargin worker` processes). The
 * reference is the local run of the same command without --nats: stdout must be the same bytes,
 * for a JSON-lines book read by the workers in byte ranges, a JSON array sent inline and
 * --nats-inline. Faults: an unparsable line (the local run's error, line number included), a worker
 * SIGKILLed mid-shard, a slow worker whose shard is taken over after the ack wait, duplicated
 * result deliveries, the broker killed mid-run (exit 1, nothing on stdout). Skips without nats-server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Proc } from '../bench/procs.js';
import { cli, hasNats, LoopbackCluster, stopProc, until } from './support/nats.js';
import { findPackageRoot } from '../src/wasm/module.js';
import { syntheticHistoryText } from './synthetic-history.js';

if (!hasNats) console.warn('cluster VaR tests skipped: nats-server is not installed (apt-get install -y nats-server)');

const dir = mkdtempSync(join(tmpdir(), 'optmargin-cluster-var-'));
const cluster = new LoopbackCluster(join(dir, 'jetstream'));
const lines = join(dir, 'book.jsonl');
const array = join(dir, 'book.json');
const broken = join(dir, 'broken.jsonl');
const h = syntheticHistoryText('2026-07-17');
const history = `${join(dir, 'BTC.csv')},${join(dir, 'ETH.csv')}`;
const risk = ['--history', history, '--lookback', '500', '--alpha', '0.99', '--json'];

/** The local run's stdout (the reference), or its failure. */
function local(file: string, extra: string[] = []): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, 'var', file, ...risk, '--threads', '2', ...extra], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
}

/** The distributed run: 60 accounts per shard (10 shards of the 600-account book). */
function distributed(file: string, extra: string[] = []): Proc & { out: () => string } {
  return cluster.run(['var', file, ...risk, '--nats', cluster.url, '--shard-accounts', '60', '--timings', ...extra]);
}

const shardsOf = (p: Proc): number => Number(/(\d+) shards/.exec(p.err())?.[1]);
const duplicatesOf = (p: Proc): number => Number(/duplicates (\d+)/.exec(p.err())?.[1]);

describe.skipIf(!hasNats || !existsSync(cli))('book VaR over NATS JetStream (nats-server on 127.0.0.1, 2 worker processes)', () => {
  let workers: Proc[] = [];
  let ref = '';

  beforeAll(async () => {
    writeFileSync(join(dir, 'BTC.csv'), h.btc);
    writeFileSync(join(dir, 'ETH.csv'), h.eth);
    expect(spawnSync(process.execPath, [cli, 'gen-book', '--accounts', '600', '--seed', '4', '--out', lines]).status).toBe(0);
    // a blank line inside the book: the workers' line ranges skip it as the book reader does
    const text = readFileSync(lines, 'utf8').split('\n');
    text.splice(130, 0, '   ');
    writeFileSync(lines, text.join('\n'));
    writeFileSync(array, JSON.stringify(text.filter((l) => l.trim()).map((l) => JSON.parse(l))));
    text[417] = '{"id": "cut-short", "positions": [';
    writeFileSync(broken, text.join('\n'));
    const r = local(lines);
    expect(r.status, r.stderr).toBe(0);
    ref = r.stdout;
    expect(JSON.parse(ref).accounts).toHaveLength(600);
    await cluster.startBroker();
    workers = [await cluster.worker(), await cluster.worker()];
  }, 120_000);

  afterAll(() => cluster.killAll());

  test('the same bytes as the local run: JSON lines read by the workers, a JSON array and --nats-inline sent in the shards', async () => {
    for (const [file, extra, how] of [
      [lines, [], 'byte ranges'],
      [array, [], 'accounts inline'],
      [lines, ['--nats-inline'], 'accounts inline'],
    ] as const) {
      const d = distributed(file, [...extra]);
      expect(await d.exit, d.err()).toBe(0);
      expect(d.out() === ref, `${file} ${extra.join(' ')}: differs from the local run`).toBe(true);
      expect(shardsOf(d)).toBe(10);
      expect(d.err()).toContain(how);
      expect(duplicatesOf(d)).toBe(0);
    }
    // the text summary (no --json) too
    const text = spawnSync(process.execPath, [cli, 'var', lines, ...risk.slice(0, -1)], { encoding: 'utf8', timeout: 120_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^book of 600 accounts: VaR [\d,.]+ USD/);
    const d = cluster.run(['var', lines, ...risk.slice(0, -1), '--nats', cluster.url, '--shard-accounts', '100']);
    expect(await d.exit, d.err()).toBe(0);
    expect(d.out()).toBe(text.stdout);
    for (const w of workers) expect(w.err()).toMatch(/done \(/);
  }, 120_000);

  test('shards of accounts × scenario blocks: the blocks\' tails merged give the same bytes', async () => {
    const d = distributed(lines, ['--scenario-blocks', '3']);
    expect(await d.exit, d.err()).toBe(0);
    expect(d.out() === ref).toBe(true);
    expect(shardsOf(d)).toBe(30);
    expect(d.err()).toContain('× 3 scenario blocks');
    // 500 scenarios in 100 blocks of 5: shorter than the tail of 7 entries (floor(500 × 0.01) + 2)
    const bad = distributed(lines, ['--scenario-blocks', '100']);
    expect(await bad.exit).toBe(2);
    expect(bad.err()).toMatch(/--scenario-blocks 100: blocks of 5 of the 500 scenarios would be shorter than the tail of 7 entries/);
  }, 60_000);

  test('a --market snapshot (rebuilt by the workers with resolveMarket) and a Monte Carlo set: the same bytes', async () => {
    const market = join(findPackageRoot(), 'data', 'default-market.json');
    for (const extra of [['--market', market], ['--method', 'mc', '--scenarios', '800', '--seed', '3', '--alpha', '0.975', '--quantile', 'linear']]) {
      const l = local(lines, extra);
      expect(l.status, l.stderr).toBe(0);
      const d = distributed(lines, [...extra, '--scenario-blocks', '2']);
      expect(await d.exit, d.err()).toBe(0);
      expect(d.out() === l.stdout, extra.join(' ')).toBe(true);
      expect(d.out() === ref).toBe(false);
    }
  }, 60_000);

  test('an unparsable line: the local run\'s error (exit 2, the same account and line) and nothing on stdout', async () => {
    const l = local(broken);
    expect(l.status).toBe(2);
    const message = l.stderr.trim().split('\n').pop()!;
    expect(message).toBe("optmargin: [416] (cut-short): line 418 is not valid JSON");
    const d = distributed(broken);
    expect(await d.exit).toBe(2);
    expect(d.err().trim().split('\n').pop()).toBe(message);
    expect(d.out()).toBe('');
  });

  test('a worker SIGKILLed in the middle of a shard: the shard is redelivered after the ack wait, same bytes', async () => {
    const slow = await cluster.worker({ OPTMARGIN_CLUSTER_FAULT: 'delay=1500' });
    const t0 = Date.now();
    const d = distributed(lines);
    await until('the slow worker to take a shard', () => /received/.test(slow.err()));
    slow.proc.kill('SIGKILL');
    expect(await slow.exit).toBe(null);
    expect(await d.exit, d.err()).toBe(0);
    expect(d.out() === ref).toBe(true);
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(workers.map((w) => w.err()).join('')).toMatch(/received \(delivery 2\)/);
  }, 60_000);

  test('a slow worker (slower than the ack wait): its shard is taken over by another worker, same bytes, counted once', async () => {
    const slow = await cluster.worker({ OPTMARGIN_CLUSTER_FAULT: 'delay=4000' });
    const d = distributed(lines);
    expect(await d.exit, d.err()).toBe(0);
    expect(d.out() === ref).toBe(true);
    // the slow worker held a shard past the 2 s ack wait: another worker computed it again
    expect(slow.err()).toMatch(/received \(delivery 1\)/);
    expect(workers.map((w) => w.err()).join('')).toMatch(/received \(delivery 2\)/);
    await stopProc(slow, 'SIGKILL');
  }, 60_000);

  test('duplicated result deliveries are counted once', async () => {
    for (const w of workers) await stopProc(w);
    const dup = await cluster.worker({ OPTMARGIN_CLUSTER_FAULT: 'duplicate' });
    const d = distributed(lines);
    expect(await d.exit, d.err()).toBe(0);
    expect(d.out() === ref).toBe(true);
    // every shard's second copy is refused, except the last shard's when it lands after the run completed
    expect(duplicatesOf(d)).toBeGreaterThanOrEqual(9);
    await stopProc(dup);
  }, 60_000);

  test('the broker killed mid-run: exit 1 OPTMARGIN_CLUSTER_FAILED, nothing on stdout; once it is back, a new run gives the same bytes', async () => {
    for (const x of workers) await stopProc(x);
    const w = await cluster.worker({ OPTMARGIN_CLUSTER_FAULT: 'delay=400' });
    const d = distributed(lines);
    await until('a first shard done', () => /done \(/.test(w.err()), 20_000, () => w.err() + d.err());
    await stopProc(cluster.broker, 'SIGKILL');
    expect(await d.exit, d.err()).toBe(1);
    expect(d.err()).toMatch(/OPTMARGIN_CLUSTER_FAILED: lost the connection to the NATS broker .* shards done; nothing was written/);
    expect(d.out()).toBe('');
    await cluster.startBroker();
    const again = distributed(lines, ['--nats-timeout', '40']);
    expect(await again.exit, again.err() + w.err()).toBe(0);
    expect(again.out() === ref).toBe(true);
    await stopProc(w);
  }, 120_000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
