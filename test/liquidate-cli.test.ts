/**
 * `optmargin liquidate` (src/cli/liquidate.ts) on the shipped default market: the JSON contract
 * `{ steps, after: { account, margin } }` (after.account in the input format, re-margining it
 * gives after.margin), the readable plan, and clear errors. The built CLI is run once end to end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runLiquidateCommand } from '../src/cli/liquidate-run.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { createMarginEngine } from '../src/api/margin.js';

const dir = mkdtempSync(join(tmpdir(), 'optmargin-liq-'));
const account = {
  id: 'bob',
  mode: 'cross' as const,
  collateral: { BTC: 0.3 },
  positions: [
    { instrument: 'BTC-PERPETUAL', size: 150_000, entryPrice: 60_000 },
    { instrument: 'BTC-25SEP26-60000-P', size: -3 },
    { instrument: 'BTC-25SEP26-70000-C', size: -2 },
    { instrument: 'BTC-25SEP26', size: -20_000 },
  ],
};
const file = join(dir, 'bob.json');
writeFileSync(file, JSON.stringify(account));

function run(opts: Parameters<typeof runLiquidateCommand>[1], f = file): string {
  let out = '';
  expect(runLiquidateCommand(f, opts, (s) => (out += s))).toBe(0);
  return out;
}

describe('optmargin liquidate', () => {
  const engine = createMarginEngine({ market: resolveMarket(defaultMarket()), model: 'deribit-standard' });
  for (const mechanism of ['deribit-incremental', 'okx-tiered-adl', 'binance-adl', 'lyra-mainnet']) {
    it(`--json under ${mechanism}: steps, and after.account re-margins to after.margin`, () => {
      const plan = JSON.parse(run({ model: 'deribit-standard', mechanism, json: true }));
      expect(Array.isArray(plan.steps)).toBe(true);
      expect(plan.steps.length).toBeGreaterThan(0);
      expect(plan.after.account.id).toBe('bob');
      const r = engine.margin(plan.after.account);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.equity).toBe(plan.after.margin.equity);
      expect(r.maintenanceMargin).toBe(plan.after.margin.maintenanceMargin);
      expect(r.initialMargin).toBe(plan.after.margin.initialMargin);
      expect(plan.restored).toBe(true);
    });
  }
  it('prints every step readably', () => {
    const out = run({ model: 'deribit-standard', mechanism: 'deribit-incremental' });
    expect(out).toMatch(/close BTC-PERPETUAL trade -15000 at/);
    expect(out).toMatch(/restored: target restored/);
  });
  it('clear errors: unknown mechanism, bad option, an array of accounts', () => {
    expect(() => run({ mechanism: 'nope' })).toThrow(/unknown liquidation mechanism "nope"; shipped: .*deribit-incremental/);
    expect(() => run({ strategy: 'random' })).toThrow(/--strategy must be one of venue-order, greedy, largest-release, proportional, got "random"/);
    expect(() => run({ step: '2' })).toThrow(/stepFraction must be in \(0, 1\], got 2/);
    const arr = join(dir, 'arr.json');
    writeFileSync(arr, JSON.stringify([account]));
    expect(() => run({}, arr)).toThrow(/liquidate takes one account/);
  });
  it('the built CLI: exit 0 with JSON on stdout; exit 2 with a message on stderr for an unknown mechanism', () => {
    const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
    const out = execFileSync(process.execPath, [cli, 'liquidate', file, '--model', 'deribit-standard', '--mechanism', 'lyra-pm-sim', '--json'], { encoding: 'utf8' });
    const plan = JSON.parse(out);
    expect(plan.mechanism.id).toBe('lyra-pm-sim');
    expect(Object.keys(plan.after)).toEqual(['account', 'margin']);
    const bad = spawnSync(process.execPath, [cli, 'liquidate', file, '--mechanism', 'nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/unknown liquidation mechanism/);
  });
});
