/**
 * The equity-parts kernel (assembly/equity.ts through wasm/equity.ts EquityKernel), on both builds:
 *  - a part of an option, a linear future entered at a given price, an inverse perpetual entered
 *    at a given price, a future entered at mark and an option given an entry price, against the
 *    valuation formulas written out by hand (instruments/valuation.ts: mark value size × unit
 *    value; linear size × cs × (F − entry); inverse size × cs / entry × S + size × unit value);
 *  - the resident copy kept in step: positions and parts appended (a trade), a size edited in place
 *    (the edit log), a new key (a new load: everything copied again);
 *  - every part of a generated 2,000-account book, after a load and on a moved market, equal bit
 *    for bit to the reference runner/book/equity.ts partSum;
 *  - the accounts' equities (accountEquities): a pooled and an isolated account with USD and coin
 *    lines (a haircut on a balance, none on a debt), parts re-summed or kept, by hand; the resident
 *    accounts kept in step (a trade's appended sub-account and lines and its logged record, a
 *    logged balance edit, a new key); every account of a generated book equal bit for bit to the
 *    reference runner/book/equity.ts accountEquity.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { generateBook } from '../src/io/gen-book.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { accountEquity, currencyPrices, partSum, type EquityArrays } from '../src/runner/book/equity.js';
import type { ReduceArrays } from '../src/measures/grid/reduce.js';
import { EquityKernel, type AccountRecords, type PartInstruments, type ResidentAccounts, type ResidentPositions } from '../src/wasm/equity.js';
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

/**
 * Accounts over the parts of `positions`: 0 pooled (sub-account 0: parts 0–1 on slots 0 and 1;
 * lines USDC 1,000 and BTC −0.25), 1 isolated (an account-level line BTC 0.5; sub-account 1: part
 * 2, line USDC 200), 2 and 3 off the vectorized path (kind 0). Currencies: 0 USDC (price 1, no
 * haircut), 1 BTC (64,000 USD, haircut 10 %).
 */
function accountsOf(key: string): { a: ResidentAccounts; rec: AccountRecords } {
  const a: ResidentAccounts = {
    key,
    accColFrom: Int32Array.from([0, 2, 0, 0]),
    accColTo: Int32Array.from([0, 3, 0, 0]),
    subPartStart: Int32Array.from([0, 2, 3, 0, 0]),
    subColFrom: Int32Array.from([0, 3, 0, 0]),
    subColTo: Int32Array.from([2, 4, 0, 0]),
    nSubs: 2,
    partSlot: Int32Array.from([0, 1, 0, 0]),
    nParts: 3,
    colCur: Int32Array.from([0, 1, 1, 0, 0, 0]),
    colAmount: Float64Array.from([1_000, -0.25, 0.5, 200, 0, 0]),
    nLines: 4,
    accEdits: new Int32Array(4),
    nAccEdit: 0,
    lineEdits: new Int32Array(4),
    nLineEdit: 0,
  };
  const rec: AccountRecords = {
    accKind: Uint8Array.from([1, 2, 0, 0]),
    accSubFrom: Int32Array.from([0, 1, 0, 0]),
    accSubTo: Int32Array.from([1, 2, 0, 0]),
    subEquity: new Float64Array(4).fill(NaN),
    accCv: new Float64Array(4).fill(NaN),
  };
  return { a, rec };
}
const cur = { price: Float64Array.from([1, 64_000]), haircut: Float64Array.from([0, 0.1]) };
const slot0 = Uint8Array.from([1, 0]);

describe.each(variants)('account equities kernel, %s build', (variant) => {
  test('a pooled and an isolated account, by hand: lines after haircut, then the parts (those on moved slots re-summed)', () => {
    const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
    const b = positions('a');
    const { a, rec } = accountsOf('a');
    k.sync(b);
    k.syncAccounts(a, rec);
    k.setInstruments(ins);
    const partValue = Float64Array.from([NaN, 777.5, NaN, NaN]); // part 1 (slot 1, not moved): its kept sum is read
    k.accountEquities(Int32Array.from([0, 1, 2]), 3, slot0, cur, partValue, rec);
    expect([partValue[0], partValue[1], partValue[2]]).toEqual([byHand(0, b), 777.5, 617.25]);
    // sub-account 0: 1,000 × 1 × (1 − 0), then −0.25 × 64,000 (a debt: no haircut) = −15,000; then part 0, then part 1
    expect(rec.accCv[0]).toBe(-15_000);
    expect(rec.subEquity[0]).toBe(-15_000 + byHand(0, b) + 777.5);
    // isolated: its account-level line 0.5 × 64,000 × (1 − 0.1); sub-account 1: 200 + 617.25
    expect(rec.accCv[1]).toBe(0.5 * 64_000 * (1 - 0.1));
    expect(rec.accCv[1]).toBeCloseTo(28_800, 9);
    expect(rec.subEquity[1]).toBe(817.25);
    expect(rec.accCv[2]).toBeNaN(); // kind 0: not computed
  });

  test('the resident accounts follow a trade (appended, record logged), a logged balance edit and a new key', () => {
    const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
    const b = positions('a');
    const { a, rec } = accountsOf('a');
    const partValue = Float64Array.from([NaN, 777.5, NaN, NaN]);
    k.sync(b);
    k.syncAccounts(a, rec);
    k.setInstruments(ins);
    k.accountEquities(Int32Array.from([0, 1]), 2, slot0, cur, partValue, rec);
    // a trade: account 2 pooled, sub-account 2 = part 3 (option ×7, position 6) and line 4 (BTC 1)
    Object.assign(b, { nOps: 7, nParts: 4 });
    b.opInstr[6] = 0;
    b.opSize[6] = 7;
    b.partOpStart[4] = 7;
    b.partEntryStart[3] = 3;
    Object.assign(a, { nSubs: 3, nParts: 4, nLines: 5, nAccEdit: 1 });
    a.subPartStart[3] = 4;
    a.subColFrom[2] = 4;
    a.subColTo[2] = 5;
    a.partSlot[3] = 0;
    a.colCur[4] = 1;
    a.colAmount[4] = 1;
    [rec.accKind[2], rec.accSubFrom[2], rec.accSubTo[2]] = [1, 2, 3];
    a.accEdits[0] = 2;
    // an in-place edit: account 0's USDC from 1,000 to 400
    a.colAmount[0] = 400;
    a.lineEdits[0] = 0;
    a.nLineEdit = 1;
    k.sync(b);
    k.syncAccounts(a, rec);
    k.accountEquities(Int32Array.from([0, 2]), 2, slot0, cur, partValue, rec);
    expect(rec.accCv[0]).toBe(400 - 16_000);
    expect(rec.accCv[2]).toBe(1 * 64_000 * (1 - 0.1));
    expect(rec.subEquity[2]).toBe(1 * 64_000 * (1 - 0.1) + 7 * 1_234.5);
    // an edit not logged is not seen until a new key copies everything again
    a.colAmount[3] = 300;
    k.syncAccounts(a, rec);
    k.accountEquities(Int32Array.from([1]), 1, slot0, cur, partValue, rec);
    expect(rec.subEquity[1]).toBe(817.25);
    k.syncAccounts({ ...a, key: 'b' }, rec);
    k.accountEquities(Int32Array.from([1]), 1, slot0, cur, partValue, rec);
    expect(rec.subEquity[1]).toBe(300 + 617.25);
  });

  test("every account of a generated book, after a load and on a moved market: the reference accountEquity's doubles", async () => {
    const market = resolveMarket(defaultMarket());
    const { accounts } = generateBook({ accounts: 2_000, seed: 7, market });
    const eng = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
    try {
      eng.load(accounts);
      const k = new EquityKernel(new WasmInstance({ simd: variant === 'simd' }));
      const internals = eng as unknown as { accounts: { equityArrays(ins: unknown, moved: Uint8Array): EquityArrays }; ins: { underlyings: string[] }; red: ReduceArrays };
      const { red, ins: bookIns } = internals;
      const all = Int32Array.from({ length: accounts.length }, (_, q) => q);
      for (const step of [0, 1]) {
        if (step === 1) await eng.tick(['BTC', 'ETH'], market.shocked({ priceMove: { BTC: 0.031, ETH: -0.027 } }));
        const moved = new Uint8Array(bookIns.underlyings.length);
        moved[bookIns.underlyings.indexOf('BTC')] = 1;
        if (step === 0) moved.fill(1);
        const e = internals.accounts.equityArrays(bookIns, moved);
        for (let q = 0; q < all.length; q++) accountEquity(e, red, q);
        const want = [red.subEquity, red.accCv, e.partValue].map((x) => Float64Array.from(x));
        for (let q = 0; q < e.accounts.nParts; q++) if (moved[e.partSlot[q]]) e.partValue[q] = NaN;
        red.subEquity.fill(NaN);
        red.accCv.fill(NaN);
        k.sync(e.positions);
        k.syncAccounts(e.accounts, red);
        k.setInstruments({ ...e, n: e.nInstruments });
        k.accountEquities(all, all.length, moved, currencyPrices(e), e.partValue, red);
        const got = [red.subEquity, red.accCv, e.partValue];
        const counts = [e.accounts.nSubs, all.length, e.accounts.nParts];
        expect(counts[2]).toBeGreaterThan(2_000);
        for (let x = 0; x < 3; x++) {
          let same = 0;
          for (let q = 0; q < counts[x]; q++) if (Object.is(got[x][q], want[x][q])) same++;
          expect(same, `step ${step}, array ${x}`).toBe(counts[x]);
        }
      }
    } finally {
      await eng.close();
    }
  });
});

// The frame's slot order is declared on both sides of the WASM boundary (AssemblyScript cannot
// import the host's declaration): the two lists must be the same names in the same order.
test('the frame slots of assembly/equity.ts and src/wasm/equity.ts are the same list', () => {
  const slotsOf = (file: string): string[] => {
    const m = /const enum Slot \{([^}]*)\}/.exec(readFileSync(new URL(file, import.meta.url), 'utf8'));
    if (!m) throw new Error(`no Slot enum in ${file}`);
    return m[1].split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'Count');
  };
  const host = slotsOf('../src/wasm/equity.ts');
  expect(host.length).toBe(33);
  expect(slotsOf('../assembly/equity.ts')).toEqual(host);
});
