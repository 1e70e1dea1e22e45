/**
 * Faults in the write stage (OPTMARGIN_FORMAT_FAULT, runner/book/format-task.ts), injected into
 * the built CLI: a format chunk whose worker exits, that throws, hangs (the task timeout), answers
 * nothing or changes a byte after its receipt is retried; one that fails every attempt is
 * formatted on the main thread with one stderr line. Either way --out is byte-identical to a
 * clean run — no row lost or written twice — and the exit code is 0 (nothing is lost).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { faultRunEnv } from './helpers.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-format-faults-'));
const book = join(dir, 'book.jsonl');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: faultRunEnv(env), timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(cli))('injected write-stage faults (OPTMARGIN_FORMAT_FAULT), built CLI', () => {
  const clean: Record<string, Buffer> = {};
  test('clean runs first (600 accounts: 3 format chunks of 256 accounts)', () => {
    expect(run(['gen-book', '--accounts', '600', '--seed', '5', '--out', book]).code).toBe(0);
    for (const f of ['csv', 'json', 'msgpack']) {
      const r = run(['book', book, '--threads', '2', '--out', join(dir, `clean.${f}`)]);
      expect(r.code).toBe(0);
      clean[f] = readFileSync(join(dir, `clean.${f}`));
    }
    expect(clean.csv.toString().split('\n').length).toBe(602);
  });

  for (const fault of ['exit', 'throw', 'hang', 'silent', 'corrupt']) {
    test(`${fault} once (chunk 1): retried on the pool; bytes identical, exit 0, nothing on stderr`, () => {
      const out = join(dir, `${fault}.json`);
      const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_FORMAT_FAULT: `${fault},chunk=1` });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(readFileSync(out).equals(clean.json)).toBe(true);
    }, 30_000);
  }

  for (const fault of ['exit', 'throw', 'hang', 'silent', 'corrupt']) {
    test(`${fault} on every attempt: the chunk is formatted on the main thread; bytes identical, exit 0, one stderr line`, () => {
      const out = join(dir, `${fault}-all.csv`);
      const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_FORMAT_FAULT: `${fault},chunk=0,attempts=all` });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/formatting results 0–255 failed on the worker pool .*: formatted on the main thread/);
      expect(readFileSync(out).equals(clean.csv)).toBe(true);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }, 30_000);
  }

  for (const fault of ['throw', 'silent', 'corrupt']) {
    test(`in-process (--threads 1): ${fault} once is retried, on every attempt formatted by the fallback; bytes identical`, () => {
      const once = run(['book', book, '--threads', '1', '--out', join(dir, `local-${fault}.msgpack`)], { OPTMARGIN_FORMAT_FAULT: `${fault},chunk=2` });
      expect(once.code).toBe(0);
      expect(once.stderr).toBe('');
      expect(readFileSync(join(dir, `local-${fault}.msgpack`)).equals(clean.msgpack)).toBe(true);
      const all = run(['book', book, '--threads', '1', '--out', join(dir, `local-${fault}-all.msgpack`)], { OPTMARGIN_FORMAT_FAULT: `${fault},chunk=2,attempts=all` });
      expect(all.code).toBe(0);
      expect(all.stderr).toMatch(/formatting results 512–599 failed/);
      expect(readFileSync(join(dir, `local-${fault}-all.msgpack`)).equals(clean.msgpack)).toBe(true);
    }, 30_000);
  }
});
