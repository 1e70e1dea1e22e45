/**
 * MarginEngine.figures on a grid model: the result checked by its five numbers instead of
 * finiteOrError's walk — the same object member for member (JSON, key order included) as the
 * spread of the measure's figures, and finiteOrError's error, message and path, when a figure is
 * NaN or ±Infinity (each of the five in turn, planted in the measure's answer).
 */
import { describe, expect, it } from 'vitest';
import { validateAccount } from '../src/instruments/account.js';
import { generateBook } from '../src/io/gen-book.js';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { finiteOrError } from '../src/measures/finite.js';
import { marginFigures } from '../src/measures/health.js';
import type { MarginFigures } from '../src/measures/types.js';
import { MarginEngine } from '../src/runner/account/runner.js';

const market = resolveMarket(defaultMarket());

describe('grid figures result', () => {
  it('finite figures: the spread of the measure figures, byte for byte; a non-finite one: finiteOrError’s error', () => {
    const e = new MarginEngine({ market, model: 'deribit-pm-2024.1' });
    const g = (e as unknown as { gridMeasure: { figuresOf: (...x: unknown[]) => MarginFigures } }).gridMeasure;
    const real = g.figuresOf.bind(g);
    let seen: MarginFigures | null = null;
    g.figuresOf = (...x: unknown[]) => (seen = real(...x));
    const { accounts } = generateBook({ accounts: 200, seed: 5, market });
    let n = 0;
    for (const raw of accounts) {
      const a = validateAccount(raw);
      const r = e.figuresOfValid(a);
      if (!r.ok) continue;
      expect(JSON.stringify(r)).toBe(JSON.stringify({ id: a.id, ok: true, ...seen! }));
      n++;
    }
    expect(n).toBeGreaterThan(150);
    const a = validateAccount(accounts[0]);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const cases = [marginFigures(bad, 1, 1), marginFigures(1, bad, 1), marginFigures(1, 1, bad), marginFigures(1, 1, 1, bad), { ...marginFigures(2, 1, 1), marginRatio: bad }];
      for (const f of cases) {
        g.figuresOf = () => f;
        expect(e.figuresOfValid(a)).toEqual(finiteOrError({ id: a.id, ok: true, ...f }));
        expect(e.figuresOfValid(a).ok).toBe(false);
      }
    }
  });
});
