/**
 * Faults of the ingestion workers (src/io/ingest.ts), injected through the OPTMARGIN_INGEST_FAULT
 * test hook into the built CLI: a worker that exits, throws, hangs (the chunk timeout) or fails
 * to start. Each chunk it failed on is parsed in-process, so the results are the bytes of the
 * one-thread run (which never uses an ingestion worker: the independent reference), exit 0, and
 * one stderr line says which chunk and why. Before the retry kept its own copy of the chunk, a
 * worker that died after receiving it left the retry an empty (transferred) buffer: the chunk's
 * accounts were silently missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-ingest-faults-'));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, OPTMARGIN_TASK_TIMEOUT_MS: '1500', ...env }, timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe.skipIf(!existsSync(cli))('injected ingestion worker faults (OPTMARGIN_INGEST_FAULT), built CLI', () => {
  // 2,000 accounts: ≈ 2 MB of JSON lines, one 4 MiB chunk (chunk 0)
  const books = { jsonl: join(dir, 'book.jsonl'), msgpack: join(dir, 'book.msgpack') };
  const clean: Record<string, string> = {};
  test('the one-thread runs first (in-process ingestion: the reference)', () => {
    for (const [fmt, book] of Object.entries(books)) {
      expect(run(['gen-book', '--accounts', '2000', '--seed', '4', '--out', book]).code).toBe(0);
      const out = join(dir, `clean-${fmt}.csv`);
      expect(run(['book', book, '--threads', '1', '--out', out]).code).toBe(0);
      clean[fmt] = readFileSync(out, 'utf8');
      expect(clean[fmt].split('\n').length).toBe(2002);
    }
  });

  for (const fault of ['exit', 'throw', 'hang', 'start']) {
    test(`${fault}: the chunk is parsed in-process, same bytes, exit 0, one line on stderr`, () => {
      for (const [fmt, book] of Object.entries(books)) {
        const out = join(dir, `${fault}-${fmt}.csv`);
        const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_INGEST_FAULT: fault });
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(out, 'utf8')).toBe(clean[fmt]);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        expect(lines.length, r.stderr).toBe(1);
        expect(lines[0]).toMatch(fault === 'hang' ? /ingestion worker failed on chunk 0 \(no result after 1500 ms\); the chunk was parsed in-process/ : /ingestion worker failed on chunk 0 \(.+\); the chunk was parsed in-process/);
      }
    });
  }
});
