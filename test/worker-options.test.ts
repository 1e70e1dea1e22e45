/**
 * Node options given to the process reach the main thread, and the worker threads still start:
 * a Worker refuses V8 options (`--max-old-space-size`, `--stack-size`: process-wide) in its
 * execArgv with ERR_WORKER_INVALID_EXEC_ARGV, so platform/workers.ts leaves them out — before,
 * `node --max-old-space-size=… optmargin book --threads 2` failed with OPTMARGIN_INTERNAL.
 * The reference is the same book on one thread without any option: the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');

describe.skipIf(!existsSync(cli))('Node options on the command line, built CLI', () => {
  test('V8 heap and stack sizes given to node: the 2-thread book runs (its workers start), same bytes as 1 thread, exit 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'optmargin-node-options-'));
    const book = join(dir, 'book.msgpack');
    const run = (node: string[], args: string[]) => spawnSync(process.execPath, [...node, cli, ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(run([], ['gen-book', '--accounts', '300', '--seed', '4', '--out', book]).status).toBe(0);
    const plain = run([], ['book', book, '--threads', '1', '--out', join(dir, 'plain.csv')]);
    expect(plain.status, plain.stderr).toBe(0);
    const r = run(['--max-old-space-size=3072', '--stack-size=1000'], ['book', book, '--threads', '2', '--out', join(dir, 'opts.csv')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(join(dir, 'opts.csv')).equals(readFileSync(join(dir, 'plain.csv')))).toBe(true);
  }, 60_000);
});
