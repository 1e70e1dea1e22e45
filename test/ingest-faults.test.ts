/**
 * Faults of the ingestion workers (src/io/ingest.ts), injected through the OPTMARGIN_INGEST_FAULT
 * test hook into the built CLI: a worker that exits, throws, hangs (the chunk timeout) or fails
 * to start. Each chunk it failed on is parsed in-process, so the results are the bytes of the
 * one-thread run (which never uses an ingestion worker: the independent reference), exit 0, and
 * one stderr line says which chunk and why. Before the retry kept its own copy of the chunk, a
 * worker that died after receiving it left the retry an empty (transferred) buffer: the chunk's
 * accounts were silently missing.
 *
 * Receipts (src/io/ingest-receipt.ts): a chunk that comes back with nothing (`silent`) or with
 * columns changed after its receipt was made (`corrupt`) fails the main thread's count or
 * checksum check and is parsed again — same bytes, exit 0, one stderr line — on 2 threads and on
 * 1 (in-process); a chunk that fails every attempt (`attempts=all`) keeps its place as one
 * OPTMARGIN_WORKER_FAILED account per entry (ids `#<index>`), every other account's row is the
 * clean run's, and the run exits 3 with a stderr line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { faultRunEnv, HANG_TIMEOUT_MS } from './helpers.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-ingest-faults-'));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: faultRunEnv(env), timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

describe.skipIf(!existsSync(cli))('injected ingestion worker faults (OPTMARGIN_INGEST_FAULT), built CLI', () => {
  // 2,000 accounts: ≈ 2 MB of JSON lines; chunks ramp up to 4 MiB (ingest.ts), chunk 0 is the first 512 KiB
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
        // a worker that fails to start fails every chunk: the first named, then how many in all
        expect(lines.length, r.stderr).toBe(fault === 'start' ? 2 : 1);
        if (fault === 'start') {
          // every chunk fails: the first line names whichever failed first
          expect(lines[0]).toMatch(/ingestion worker failed on chunk \d \(.+\); the chunk was parsed in-process/);
          expect(lines[1]).toMatch(/ingestion workers failed on [2-9] chunks in all; each was parsed in-process/);
        } else expect(lines[0]).toMatch(fault === 'hang' ? new RegExp(`ingestion worker failed on chunk 0 \\(no result after ${HANG_TIMEOUT_MS} ms\\); the chunk was parsed in-process`) : /ingestion worker failed on chunk 0 \(.+\); the chunk was parsed in-process/);
      }
    });
  }

  for (const [fault, threads, why] of [
    ['silent', 2, /an ingestion worker failed on chunk 0 \(chunk 0 parsed 0 entries, [1-9]\d\d were sent\); the chunk was parsed in-process/],
    ['corrupt', 2, /an ingestion worker failed on chunk 0 \(chunk 0 checksum [0-9a-f]+ does not match its columns \([0-9a-f]+\)\); the chunk was parsed in-process/],
    ['silent', 1, /chunk 0 failed its receipt check \(chunk 0 parsed 0 entries, [1-9]\d\d were sent\); it was parsed again/],
    ['corrupt', 1, /chunk 0 failed its receipt check \(chunk 0 checksum [0-9a-f]+ does not match its columns \([0-9a-f]+\)\); it was parsed again/],
  ] as const) {
    test(`${fault} on ${threads} thread(s): the receipt check fails, the chunk is parsed again, same bytes, exit 0, one line on stderr`, () => {
      for (const [fmt, book] of Object.entries(books)) {
        const out = join(dir, `${fault}-${threads}-${fmt}.csv`);
        const r = run(['book', book, '--threads', String(threads), '--out', out], { OPTMARGIN_INGEST_FAULT: fault });
        expect(r.code, r.stderr).toBe(0);
        expect(readFileSync(out, 'utf8')).toBe(clean[fmt]);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        expect(lines.length, r.stderr).toBe(1);
        expect(lines[0]).toMatch(why);
      }
    });
  }

  test('the book pool failing to start (OPTMARGIN_FAULT=start): ingestion shares that pool, so the chunks are parsed in-process with the book, one line on stderr (the pool\'s), same bytes, exit 0', () => {
    for (const [fmt, book] of Object.entries(books)) {
      const out = join(dir, `pool-start-${fmt}.csv`);
      const r = run(['book', book, '--threads', '2', '--out', out], { OPTMARGIN_FAULT: 'start' });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(clean[fmt]);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/worker threads failed to start .*running in-process on 1 thread/);
    }
  });

  test('a chunk failing every attempt: its accounts are OPTMARGIN_WORKER_FAILED in place, the others unchanged, exit 3', () => {
    // 8,000 accounts ≈ 8.5 MB of JSON lines: chunks of 512 KiB, 1, 2 and 4 MiB, then the rest; chunk 1 (≈ 1,000 accounts) fails on every attempt
    const book = join(dir, 'big.jsonl');
    expect(run(['gen-book', '--accounts', '8000', '--seed', '4', '--out', book]).code).toBe(0);
    const cleanOut = join(dir, 'big-clean.csv');
    expect(run(['book', book, '--threads', '1', '--out', cleanOut]).code).toBe(0);
    const want = readFileSync(cleanOut, 'utf8').split('\n');
    for (const threads of [1, 2]) {
      const out = join(dir, `big-lost-${threads}.csv`);
      const r = run(['book', book, '--threads', String(threads), '--out', out], { OPTMARGIN_INGEST_FAULT: 'silent,chunk=1,attempts=all' });
      expect(r.code, r.stderr).toBe(3);
      const got = readFileSync(out, 'utf8').split('\n');
      expect(got.length).toBe(want.length);
      const failed = got.flatMap((l, i) => (l.includes('OPTMARGIN_WORKER_FAILED') ? [i] : []));
      expect(failed.length).toBeGreaterThan(500);
      expect(failed[failed.length - 1] - failed[0] + 1).toBe(failed.length); // one contiguous run: the chunk's place
      for (let i = 0; i < got.length; i++) {
        if (failed.includes(i)) expect(got[i].startsWith(`#${i - 1},false,`), got[i]).toBe(true); // row i holds account i − 1 (after the header)
        else expect(got[i]).toBe(want[i]);
      }
      expect(r.stderr).toMatch(new RegExp(`chunk 1 of the input failed all 3 attempts \\(last: chunk 1 parsed 0 entries, ${failed.length} were sent\\); its ${failed.length} accounts are reported OPTMARGIN_WORKER_FAILED`));
      expect(r.stderr).toMatch(new RegExp(`${failed.length} of 8000 accounts have no figures because the engine failed on them .*exit code 3`));
    }
  });
});
