/**
 * The book VaR runs on the book engine's pool (issue 11: one pool): the same fault handling as
 * `optmargin book`, injected through OPTMARGIN_FAULT into the built CLI. A chunk that fails once is
 * retried and the output is byte-identical to a clean run; a chunk that fails every attempt fails
 * the run with OPTMARGIN_WORKER_FAILED and no output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/wasm/module.js';
import { syntheticHistoryText } from './synthetic-history.js';
import { faultRunEnv } from './helpers.js';

const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'optmargin-var-faults-'));
const book = join(dir, 'book.jsonl');
const t = syntheticHistoryText();
writeFileSync(join(dir, 'btc_synthetic.csv'), t.btc);
writeFileSync(join(dir, 'eth_synthetic.csv'), t.eth);
const history = `${join(dir, 'btc_synthetic.csv')},${join(dir, 'eth_synthetic.csv')}`;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: faultRunEnv(env), timeout: 60_000, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const varArgs = ['var', book, '--history', history, '--method', 'hs', '--lookback', '250', '--alpha', '0.99', '--threads', '2', '--json'];

describe.skipIf(!existsSync(cli))('book VaR on the book pool: injected faults (OPTMARGIN_FAULT), built CLI', () => {
  let clean = '';
  test('a clean run first', () => {
    expect(run(['gen-book', '--accounts', '400', '--seed', '5', '--out', book]).code).toBe(0);
    const r = run(varArgs);
    expect(r.code, r.stderr).toBe(0);
    clean = r.stdout;
    expect(JSON.parse(clean).accounts).toHaveLength(400);
  });

  for (const fault of ['exit', 'throw', 'silent']) {
    test(`${fault} once: the chunk is retried, the output is byte-identical`, () => {
      const r = run(varArgs, { OPTMARGIN_FAULT: fault });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(clean);
    });
  }

  test('silent on every attempt: OPTMARGIN_WORKER_FAILED, nothing on stdout', () => {
    const r = run(varArgs, { OPTMARGIN_FAULT: 'silent,attempts=all' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/OPTMARGIN_WORKER_FAILED: VaR chunk 0 .*failed every attempt/);
    expect(r.stdout).toBe('');
  });
});
