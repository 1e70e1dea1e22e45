/**
 * The equity-parts kernel (assembly/equity.ts through wasm/equity.ts EquityKernel), on both builds:
 *  - a part of an option, a linear future entered at a given price, an inverse perpetual entered
 *    at a given price, a future entered at mark and an option given an entry price, against the
 *    valuation formulas written out by hand (instruments/valuation.ts: mark value size × unit
 *    value; linear size × cs × (F − entry); inverse size × cs / entry × S + size × unit value);
 *  - the resident copy kept in step: positions and parts appended (a trade), a size edited in place
 *    (the edit log), a new key (a new load: everything copied again);
 *  - every part of a generated 2,000-account book, after a load and on a moved market, equal bit
 *    for bit to the reference runner/book/equity.ts partSum.
 */
import { describe, expect, test } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { partSum, type EquityArrays } from '../src/runner/book/equity.js';
import { EquityKernel, type PartInstruments, type ResidentPositions } from '../src/wasm/equity.js';
import { WasmInstance, simdSupported } from '../src/wasm/module.js';

const variants = simdSupported() ? (['simd', 'scalar'] as const) : (['scalar'] as const);

// instruments: 0 option (unit value 1,234.5 USD), 1 linear future (cs 1, F 65,000), 2 inverse perpetual (cs 10, F 64,800, S 64,000,
// unit value −S/F × cs), 3 linear perpetual on another slot (cs 0.01, F 3,000)
const S = [64_000, 3_100];
const ins: PartInstruments = {
  n: 4,
  fromEntry: Uint8Array.from([0, 1, 1, 1]),
  inverse: Uint8Array.from([0, 0, 1, 0]),
  slot: Int32Array.from([0, 0, 0, 1]),
  cs: Float64Array.from([1, 1, 10, 0.01]),
  forward: Float64Array.from([65_000, 65_000, 64_800, 3_000]),
  unitValue: Float64Array.from([1_234.5, 0, (-64_000 / 64_800) * 10, 0]),
  slotSpot: Float64Array.from(S),
};

/** Part 0: option ×2, future ×3 from 60,000, inverse perpetual ×−500 from 62,000; part 1: linear perpetual ×40 at mark, option ×−1 given an entry of 999; part 2: option ×0.5. */
function positions(key: string): ResidentPositions {
  return {
    key,
    opInstr: Int32Array.from([0, ~1, ~2, 3, ~0, 0, 0, 0]),
    opSize: Float64Array.from([2, 3, -500, 40, -1, 0.5, 0, 0]),
    opEntry: Float64Array.from([60_000, 62_000, 999, 0]),
    nOps: 6,
    nEntries: 3,
    partOpStart: Int32Array.from([0, 3, 5, 6, 0]),
    partEntryStart: Int32Array.from([0, 2, 3, 0]),
    nParts: 3,
    edits: new Int32Array(4),
    nEdit: 0,
  };
}

const byHand = (part: number, b: ResidentPositions): number => {
  const s = b.opSize;
  if (part === 0) return 0 + s[0] * 1_234.5 + s[1] * 1 * (65_000 - 60_000) + ((s[2] * 10) / 62_000) * 64_000 + s[2] * ((-64_000 / 64_800) * 10);
  if (part === 1) return 0 + s[3] * 0.01 * (3_000 - 3_000) + s[4] * 1_234.5;
  return 0 + s[5] * 1_234.5;
};

describe.each(variants)('equity parts kernel, %s build', (variant) => {
  test('each kind of position against its formula by hand', () => {
    const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
    const b = positions('a');
    k.sync(b);
    k.setInstruments(ins);
    const value = new Float64Array(3).fill(NaN);
    k.partSums(Int32Array.from([2, 0, 1]), 3, value);
    // 2 × 1,234.5 + 3 × 5,000 + (−500 × 10 / 62,000) × 64,000 − 500 × (−64,000 / 64,800 × 10)
    expect(value[0]).toBeCloseTo(2_469 + 15_000 - (5_000 / 62_000) * 64_000 + (5_000 * 64_000) / 64_800, 8);
    expect(value[1]).toBe(-1_234.5);
    expect(value[2]).toBe(617.25);
    for (let q = 0; q < 3; q++) expect(value[q]).toBe(byHand(q, b));
  });

  test('the resident copy follows appended positions, in-place edits and a new key', () => {
    const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
    const b = positions('a');
    k.sync(b);
    k.setInstruments(ins);
    const value = new Float64Array(4);
    // a trade: part 3 = option ×7 (position 6); the end of part 2 stays 6
    b.opInstr[6] = 0;
    b.opSize[6] = 7;
    b.partOpStart[4] = 7;
    b.partEntryStart[3] = 3;
    b.nOps = 7;
    b.nParts = 4;
    // an edit: position 0 (the option of part 0) from 2 to −4
    b.opSize[0] = -4;
    b.edits[0] = 0;
    b.nEdit = 1;
    k.sync(b);
    k.partSums(Int32Array.from([0, 1, 2, 3]), 4, value);
    expect(value[3]).toBe(7 * 1_234.5);
    expect(value[2]).toBe(617.25);
    expect(value[0]).toBe(byHand(0, b));
    // an edit not logged is not seen until a new key copies everything again
    b.opSize[5] = 2;
    k.sync(b);
    k.partSums(Int32Array.from([2]), 1, value);
    expect(value[2]).toBe(617.25);
    k.sync({ ...b, key: 'b' });
    k.partSums(Int32Array.from([2]), 1, value);
    expect(value[2]).toBe(2 * 1_234.5);
  });

  test("every part of a generated book, after a load and on a moved market: the reference partSum's doubles", async () => {
    const market = resolveMarket(defaultMarket());
    const { accounts } = generateBook({ accounts: 2_000, seed: 5, market });
    const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      eng.load(accounts);
      const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
      const internals = eng as unknown as { accounts: { equityArrays(ins: unknown): EquityArrays }; ins: unknown };
      for (const step of [0, 1]) {
        if (step === 1) await eng.tick(['BTC', 'ETH'], market.shocked({ priceMove: { BTC: 0.031, ETH: -0.027 } }));
        const e = internals.accounts.equityArrays(internals.ins);
        const n = e.positions.nParts;
        expect(n).toBeGreaterThan(2_000);
        k.sync(e.positions);
        k.setInstruments({ ...e, n: e.nInstruments });
        const got = new Float64Array(n);
        k.partSums(Int32Array.from({ length: n }, (_, q) => q), n, got);
        let same = 0;
        for (let q = 0; q < n; q++) if (Object.is(got[q], partSum(e, q))) same++;
        expect(same).toBe(n);
      }
    } finally {
      await eng.close();
    }
  });
});
