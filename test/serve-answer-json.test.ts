/**
 * The JSON writer of margin answers (src/serve/answer-json.ts) against JSON.stringify itself, the
 * reference: the same text for every preset's results (grid rows with their memoized scenario
 * lists, rule-based components, PME matrices, coin accounts, isolated accounts), arrays of
 * results, error results, liquidation prices, and results margined on two markets; and the
 * scenario descriptions results share are frozen.
 */
import { describe, expect, it } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { createMarginEngine } from '../src/runner/account/runner.js';
import { listModels } from '../src/measures/models.js';
import { generateBook } from '../src/io/gen-book.js';
import { marginAccounts, type MarginOutput } from '../src/cli/margin.js';
import type { AccountInput, MarginResultOk } from '../src/measures/types.js';
import { marginAnswerBytes, marginAnswerJson } from '../src/serve/answer-json.js';

const market = resolveMarket(defaultMarket());
const { accounts } = generateBook({ accounts: 60, seed: 7, market });
const modes = ['portfolio', 'cross', 'isolated'] as const;
// every mode, each once with coin collateral only (a coin account's `usd` block on the PME presets)
const sample: AccountInput[] = [
  ...modes.map((mode, k) => ({ ...accounts[k], id: `m-${mode}`, mode })),
  { ...accounts[3], id: 'coin', mode: 'portfolio', collateral: { BTC: 25 }, positions: accounts[3].positions.filter((p) => p.instrument.startsWith('BTC')) },
  // linear (USDC) instruments only: what lyra-pmrm margins
  { id: 'linear', mode: 'portfolio', collateral: { USDC: 200_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }, { instrument: 'BTC_USDC-25SEP26-60000-P', size: -2 }] },
];

describe('margin answers: JSON.stringify’s text', () => {
  for (const { id } of listModels()) {
    it(`${id}: one result, an array, with liquidation prices`, () => {
      const engine = createMarginEngine({ market, model: id });
      const results: MarginOutput[] = sample.map((a) => marginAccounts(engine, [a], false)[0]);
      expect(results.some((r) => r.ok)).toBe(true);
      for (const r of results) expect(marginAnswerJson(r)).toBe(JSON.stringify(r));
      for (const r of results) expect(marginAnswerBytes(r).equals(Buffer.from(JSON.stringify(r)))).toBe(true);
      expect(marginAnswerBytes(results).equals(Buffer.from(JSON.stringify(results)))).toBe(true);
      expect(marginAnswerJson(results)).toBe(JSON.stringify(results));
      const liq = marginAccounts(engine, sample, true);
      expect(marginAnswerJson(liq)).toBe(JSON.stringify(liq));
      // twice: the second text comes from the memo where there is one
      expect(marginAnswerJson(results)).toBe(JSON.stringify(results));
    });
  }

  it('error results and arrays mixing them (an unknown instrument, a bad size)', () => {
    const engine = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const bad = [
      { ...sample[0], id: 'x', positions: [{ instrument: 'BTC-32FOO26-1-C', size: 1 }] },
      { ...sample[0], id: 'y', positions: [{ instrument: 'BTC-PERPETUAL', size: 'x' }] },
    ];
    const rs = [...bad, sample[0]].map((a) => engine.margin(a));
    expect(rs.filter((r) => !r.ok)).toHaveLength(2);
    expect(marginAnswerJson(rs)).toBe(JSON.stringify(rs));
  });

  it('bytes: answers kept while many more are written (slabs renewed, an answer larger than a slab, non-ASCII ids) stay intact', () => {
    const engine = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const r = engine.margin({ ...sample[0], id: 'compte-é-€-😀' });
    const text = JSON.stringify(r);
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length); // multi-byte UTF-8
    // > 1 MiB in all, so the answers span several slabs; every one kept and checked at the end
    const kept = Array.from({ length: Math.ceil((3 << 20) / text.length) }, () => marginAnswerBytes(r));
    const big = Array.from({ length: Math.ceil((1.5 * (1 << 20)) / text.length) }, () => r);
    const bigBytes = marginAnswerBytes(big);
    const after = marginAnswerBytes(r);
    for (const b of kept) expect(b.toString('utf8')).toBe(text);
    expect(bigBytes.length).toBeGreaterThan(1 << 20);
    expect(bigBytes.equals(Buffer.from(JSON.stringify(big)))).toBe(true);
    expect(after.toString('utf8')).toBe(text);
    expect(marginAnswerBytes([]).toString()).toBe('[]');
  });

  it('any plain data, member by member, as JSON.stringify writes it (numbers, escapes, non-ASCII, left-out members, other objects)', () => {
    const sym = Symbol('s');
    const odd: Record<string, unknown> = {
      numbers: [0, -0, 1.5, -2.25e-7, 1e-7, 1e21, 123456789012345680000, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity],
      mixed: [1, 'a', null, undefined, () => 1, sym, { b: [] }, [], {}],
      strings: ['', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline\u0001\u001f\u007f', 'é€😀', 'a'.repeat(47) + 'é', 'x'.repeat(200), '\ud800 lone', 'π'.repeat(60)],
      left: { u: undefined, f: () => 1, s: sym, kept: true, no: false },
      date: new Date(Date.UTC(2026, 10, 30)),
      typed: new Float64Array([1.5, NaN]),
      boxed: [Object(1.5), Object('s'), Object(false)],
      bare: Object.assign(Object.create(null), { z: 1 }),
      withToJson: { toJSON: () => ({ replaced: 1 }) },
      keyed: [{ toJSON: (k: string) => `at ${k}` }, { toJSON: () => undefined }],
      member: { m: { toJSON: (k: string) => `member ${k}` }, gone: { toJSON: () => undefined } },
      frozen: Object.freeze({ k: Object.freeze([1, 2]) }),
      '10': 'integer key first',
      'ключ "q"': -0.1,
    };
    const text = JSON.stringify(odd);
    expect(marginAnswerJson(odd as never)).toBe(text);
    expect(marginAnswerBytes(odd as never).equals(Buffer.from(text))).toBe(true);
    expect(marginAnswerBytes([odd, odd] as never).toString('utf8')).toBe(JSON.stringify([odd, odd]));
  });

  it('numbers as members and in mixed arrays (written from one JSON.stringify of them all): edge values, answers of many, few and no numbers in turn', () => {
    const edge = [0, -0, 1.5, -2.25e-7, 1e-7, 1e-6, 1e21, 1e20, 123456789012345680000, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE, NaN, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53, -(2 ** 31)];
    const members = Object.fromEntries(edge.map((x, i) => [`n${i}`, x]));
    const mixed = ['x', ...edge, { last: -0 }];
    const many = Array.from({ length: 3000 }, (_, i) => ({ i, v: i / 7, w: -i * 1e-9 }));
    for (const v of [members, mixed, many, { none: 'at all' }, members, [many[1]], { id: 'é', n: 1 }, many] as never[]) {
      const text = JSON.stringify(v);
      expect(marginAnswerBytes(v).toString('utf8')).toBe(text);
      expect(marginAnswerJson(v)).toBe(text);
    }
  });

  it('two engines on two markets (the same preset): each result’s own scenario list', () => {
    const moved = resolveMarket(defaultMarket()).shocked({ priceMove: { BTC: -0.3 } });
    const a = createMarginEngine({ market, model: 'span-16' }).margin(sample[0]);
    const b = createMarginEngine({ market: moved, model: 'span-16' }).margin(sample[0]);
    expect(marginAnswerJson([a, b])).toBe(JSON.stringify([a, b]));
  });

  it('a grid result’s scenario descriptions are frozen: no caller can change the next result’s', () => {
    const engine = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
    const r = engine.margin(sample[0]) as MarginResultOk;
    const row = r.grid![0];
    expect(Object.isFrozen(row.scenarios) && Object.isFrozen(row.scenarios[0]) && Object.isFrozen(row.worstScenario)).toBe(true);
    expect(() => {
      (row.scenarios[0] as { label: string }).label = 'changed';
    }).toThrow(TypeError);
    expect(() => row.scenarios.push(row.scenarios[0])).toThrow(TypeError);
  });
});
