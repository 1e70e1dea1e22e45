import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { describe, expect, it, vi } from 'vitest';
import { runMarginCommand, runModelsCommand } from '../src/cli/margin.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { createMarginEngine, type MarginResultOk } from '../src/api/margin.js';

const dir = mkdtempSync(join(tmpdir(), 'optmargin-margin-'));
const account = {
  id: 'alice',
  mode: 'portfolio' as const,
  collateral: { BTC: 2, USDC: 20_000 },
  positions: [
    { instrument: 'BTC-25SEP26-60000-P', size: -10 },
    { instrument: 'BTC-25SEP26-55000-P', size: 10 },
    { instrument: 'BTC-PERPETUAL', size: 20_000 },
    { instrument: 'ETH-25DEC26-2000-C', size: -5 },
  ],
};

function run(file: string, opts: Parameters<typeof runMarginCommand>[1]): { out: string; err: string; code: number } {
  let out = '';
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = runMarginCommand(file, opts, (s) => (out += s));
    return { out, err, code };
  } finally {
    spy.mockRestore();
  }
}

describe('optmargin margin / models (default market)', () => {
  it('prints a readable breakdown and the same figures as JSON', () => {
    const f = join(dir, 'acc.json');
    writeFileSync(f, JSON.stringify(account));
    const text = run(f, { liquidation: true, model: 'deribit-pm-2024.1' });
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/model deribit-pm-2024\.1 v2024\.1/);
    expect(text.out).toMatch(/initial margin/);
    expect(text.out).toMatch(/worst scenario/);
    expect(text.out).toMatch(/liquidation price BTC/);
    const json = JSON.parse(run(f, { json: true, model: 'deribit-pm-2024.1' }).out) as MarginResultOk;
    expect(json.ok).toBe(true);
    expect(json.grid!.map((g) => g.underlying)).toEqual(['BTC', 'ETH']);
    expect(json.initialMargin).toBeGreaterThan(json.maintenanceMargin);
    expect(json.marketHash).toMatch(/^[0-9a-f]{64}$/);
    // msgpack input gives the same result
    const m = join(dir, 'acc.msgpack');
    writeFileSync(m, encode(account));
    expect(JSON.parse(run(m, { json: true, model: 'deribit-pm-2024.1' }).out).initialMargin).toBe(json.initialMargin);
    // standard model chosen explicitly
    const std = JSON.parse(run(f, { json: true, model: 'deribit-standard' }).out) as MarginResultOk;
    expect(std.model.id).toBe('deribit-standard');
    expect(std.modeApplied).toBe('cross');
  });

  it('portfolio accounts default to deribit-pm: a BTC sub-account in BTC with USD beside; a mixture is rejected', () => {
    const f = join(dir, 'seg.json');
    const btcOnly = { ...account, collateral: { BTC: 2 }, positions: account.positions.slice(0, 3) };
    writeFileSync(f, JSON.stringify(btcOnly));
    const text = run(f, {});
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/model deribit-pm v2026-02-15 \(deribit-pme/);
    expect(text.out).toMatch(/BTC \(USD at [\d,.]+\)\s+BTC\s+USD/);
    expect(text.out).toMatch(/risk matrix\s+worst case\s+roll shock/);
    const json = JSON.parse(run(f, { json: true }).out) as MarginResultOk;
    expect(json.currency).toBe('BTC');
    expect(json.usd!.initialMargin).toBeCloseTo(json.initialMargin * json.usd!.price, 9);
    const mixed = join(dir, 'mixed.json');
    writeFileSync(mixed, JSON.stringify(account));
    const bad = run(mixed, { json: true });
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/positions\[3\]\.instrument.*settles in ETH but the segregated account is in BTC/);
  });

  it('--model okx-pm: MR components per risk unit (text and JSON, hand-checked); an option is rejected naming the field', () => {
    const f = join(dir, 'okx.json');
    writeFileSync(f, JSON.stringify({ id: 'okx', mode: 'portfolio', collateral: { USDC: 100_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -1 }] }));
    const text = run(f, { model: 'okx-pm' });
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/model okx-pm v2025-01-15 \(okx-pm/);
    expect(text.out).toMatch(/risk unit\s+MR1\s+MR4\s+MR6/);
    const r = JSON.parse(run(f, { json: true, model: 'okx-pm' }).out) as MarginResultOk;
    const S = resolveMarket(defaultMarket()).spot('BTC');
    const u = r.okx![0];
    expect(u.mr1).toBeCloseTo(S * 0.12, 6); // short 1 BTC: loss at +12 % of the index
    expect(r.maintenanceMargin).toBeCloseTo(u.mr1 + u.mr4, 6);
    expect(r.initialMargin).toBeCloseTo(1.3 * r.maintenanceMargin, 6);
    writeFileSync(f, JSON.stringify({ id: 'opt', mode: 'portfolio', positions: [{ instrument: 'BTC-25SEP26-60000-P', size: -1 }] }));
    const bad = run(f, { json: true, model: 'okx-pm' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('positions[0].instrument is an option');
  });

  it('a bad account yields an error result and exit code 2', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ ...account, positions: [{ instrument: 'BTC-25SEP26-60000-P', size: 'x' }] }));
    const r = run(f, { json: true });
    expect(r.code).toBe(2);
    // nothing on stdout; the error is one stderr line naming the field
    expect(r.out).toBe('');
    expect(r.err).toContain('positions[0].size must be a finite number, got "x"');
  });

  it('lists the presets', () => {
    let out = '';
    runModelsCommand(undefined, {}, (s) => (out += s));
    for (const id of ['aevo-15', 'deribit-pm', 'deribit-standard', 'lyra-pmrm', 'span-16']) expect(out).toContain(id);
    out = '';
    runModelsCommand('span-16', {}, (s) => (out += s));
    expect(JSON.parse(out).scenarios.length).toBe(16);
  });
});

describe('margin on the resolved default market (integration with src/market)', () => {
  const market = resolveMarket(defaultMarket());
  it('grid presets: IM ≥ MM, what-if = recompute, hedge reduces margin', () => {
    for (const model of ['deribit-pm-2024.1', 'deribit-xpm', 'span-16', 'aevo-15']) {
      const eng = createMarginEngine({ market, model });
      const r = eng.margin(account);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.initialMargin).toBeGreaterThanOrEqual(r.maintenanceMargin);
      const ch = [{ instrument: 'BTC-25SEP26-60000-P', size: 10 }];
      const w = eng.whatIf(account, ch);
      // buying back the short puts at mark: premium in BTC leaves the balance
      const i = eng.table.indexOf('BTC-25SEP26-60000-P');
      const after = eng.margin({
        ...account,
        collateral: { ...account.collateral, BTC: account.collateral.BTC - 10 * eng.table.mark[i] },
        positions: [...account.positions, ...ch],
      });
      if (!after.ok) throw new Error(after.error.message);
      expect(w.after.initialMargin).toBeCloseTo(after.initialMargin, 6);
    }
  });
});
