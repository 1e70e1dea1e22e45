/**
 * Worker faults, injected from outside through the OPTMARGIN_FAULT test hook (src/engine/faults.ts)
 * into the built CLI: each fault is either recovered (the retry succeeds, the results are
 * byte-identical to a clean run, exit 0) or seen (exit 3, a stderr line, the affected accounts
 * OPTMARGIN_WORKER_FAILED in --out; no account dropped).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { faultRunEnv } from './helpers.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-faults-cli-'));
const book = join(dir, 'book.jsonl');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: faultRunEnv(env), timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(cli))('injected worker faults (OPTMARGIN_FAULT), built CLI', () => {
  let clean = '';
  test('a clean run first (the reference the recovered runs must equal)', () => {
    expect(run(['gen-book', '--accounts', '600', '--seed', '3', '--out', book]).code).toBe(0);
    const r = run(['book', book, '--threads', '2', '--out', join(dir, 'clean.csv')]);
    expect(r.code).toBe(0);
    clean = readFileSync(join(dir, 'clean.csv'), 'utf8');
    expect(clean.split('\n').length).toBe(602);
  });

  const recovered: [string, string][] = [
    ['exit', 'a worker that exits: its chunks are retried on a fresh worker'],
    ['throw', 'a chunk that throws once: retried'],
    ['hang', 'a chunk that hangs: the task timeout terminates the worker, the chunk is retried'],
    ['silent', 'a chunk that returns without doing its work: the receipt (count + checksum) is refused, the chunk is retried'],
    ['start', 'workers that fail to start: a warning, then the book runs in-process'],
  ];
  for (const [fault, what] of recovered) {
    test(`${fault}: ${what}; results identical, exit 0`, () => {
      const out = join(dir, `${fault}.csv`);
      const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_FAULT: fault });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(clean);
      if (fault === 'start') expect(r.stderr).toMatch(/worker threads failed to start .*running in-process/);
      else expect(r.stderr).toBe('');
    });
  }

  for (const fault of ['exit', 'throw', 'hang', 'silent']) {
    test(`${fault} on every attempt: exit 3, one stderr line, the chunk's accounts OPTMARGIN_WORKER_FAILED, none dropped`, () => {
      const out = join(dir, `${fault}-all.csv`);
      const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_FAULT: `${fault},attempts=all` });
      expect(r.code).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/accounts have no figures because the engine failed on them \(OPTMARGIN_WORKER_FAILED/);
      const rows = readFileSync(out, 'utf8').trim().split('\n').slice(1);
      expect(rows.length).toBe(600);
      const failed = rows.filter((l) => l.includes('OPTMARGIN_WORKER_FAILED'));
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThan(600);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  for (const fault of ['throw', 'silent']) {
    test(`in-process (--threads 1): ${fault} once is retried; on every attempt exit 3`, () => {
      const once = run(['book', book, '--threads', '1', '--out', join(dir, `local-${fault}.csv`)], { OPTMARGIN_FAULT: fault });
      expect(once.code).toBe(0);
      expect(readFileSync(join(dir, `local-${fault}.csv`), 'utf8')).toBe(clean);
      const all = run(['book', book, '--threads', '1'], { OPTMARGIN_FAULT: `${fault},attempts=all` });
      expect(all.code).toBe(3);
      expect(all.stderr).toMatch(/OPTMARGIN_WORKER_FAILED/);
    });
  }
});
