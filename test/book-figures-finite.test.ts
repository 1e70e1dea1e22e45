/**
 * One rule for "this account has a health": the book's allocation-free read of an account's
 * figures (`BookEngine.figuresInto`, which the summary, the health tracker and the simulator use)
 * gives a health exactly when the account's full result (`BookEngine.result`, finite or error)
 * is ok. Each number the full result reports is made non-finite in turn in the book's arrays (as
 * an engine bug would leave it), and the two reads must agree; so must the health tracker's two
 * paths (`settle` without subscribers, `transitions` with them), and the bulk read
 * (`figuresOfMany`, a path tick's refresh in the simulator) must read what `figuresInto` reads —
 * also where it reads the health a tick's chunks computed (RoundHealth) instead of the arrays.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { defaultMarket, resolveMarket } from '../src/market/index.js';
import { BookEngine } from '../src/runner/book/runner.js';
import { RoundHealth } from '../src/runner/book/results.js';
import { HealthTracker } from '../src/runner/book/health.js';
import { AccKind } from '../src/measures/grid/reduce.js';
import { HEALTHS } from '../src/measures/health.js';
import { generateBook } from '../src/io/gen-book.js';

const market = resolveMarket(defaultMarket());
const accounts = generateBook({ accounts: 60, seed: 11, market }).accounts;
const engines: BookEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

async function loaded(): Promise<BookEngine> {
  const e = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads: 1 });
  engines.push(e);
  e.load(accounts);
  await e.recompute();
  return e;
}

/** Account k's health as figuresOfMany reads it (a list of one). */
function bulkHealth(e: BookEngine, k: number): number {
  const out = { eq: new Float64Array(e.n), mm: new Float64Array(e.n), health: new Int8Array(e.n), delta: new Float64Array(1), scratch: new Float64Array(3) };
  e.figuresOfMany([k], out);
  return out.health[k];
}

type Poke = { name: string; array: (e: BookEngine, k: number) => [Float64Array, number] | null; value: number; ok: boolean };
const firstRow = (e: BookEngine, k: number): number => e.red.subRows[e.red.subRowStart[e.red.accSubFrom[k]]];
const pooled = (e: BookEngine, k: number): boolean => e.red.accKind[k] === AccKind.Pooled;
/** Each poke and whether the full result stays ok (worst loss is max(0, loss): −∞ reports 0). */
const POKES: Poke[] = [
  { name: 'available funds NaN', array: (e, k) => [e.red.accAvail, k], value: NaN, ok: false },
  { name: 'collateral value +∞', array: (e, k) => [e.red.accCv, k], value: Infinity, ok: false },
  { name: 'a pooled row IM NaN', array: (e, k) => (pooled(e, k) ? [e.red.rowIm, firstRow(e, k)] : null), value: NaN, ok: false },
  { name: 'a pooled row loss +∞', array: (e, k) => (pooled(e, k) ? [e.rows.loss, firstRow(e, k)] : null), value: Infinity, ok: false },
  { name: 'a pooled row loss −∞', array: (e, k) => (pooled(e, k) ? [e.rows.loss, firstRow(e, k)] : null), value: -Infinity, ok: true },
];

describe('figuresInto gives a health exactly when the full result is finite', () => {
  test('each reported number made non-finite in turn, on every account', async () => {
    const e = await loaded();
    const fig = new Float64Array(3);
    let poked = 0;
    for (const p of POKES) {
      for (let k = 0; k < e.n; k++) {
        const at = p.array(e, k);
        if (!at) continue;
        const [a, i] = at;
        const kept = a[i];
        a[i] = p.value;
        const r = e.result(k);
        expect(r.ok, `${p.name}, account ${k}`).toBe(p.ok);
        expect(e.figuresInto(k, fig) >= 0, `${p.name}, account ${k}`).toBe(r.ok);
        expect(bulkHealth(e, k) >= 0, `${p.name}, account ${k} (figuresOfMany)`).toBe(r.ok);
        a[i] = kept;
        poked++;
      }
    }
    expect(poked).toBeGreaterThan(2 * e.n); // every account, and the pooled ones' rows
  });

  test('a margin ratio that overflows (equity the least positive double, MM finite): no health, as the result says', async () => {
    const e = await loaded();
    const k = e.red.accMm.findIndex((mm) => mm > 1);
    const kept = e.red.accEquity[k];
    e.red.accEquity[k] = Number.MIN_VALUE; // MM / 4.9e-324 > 2e323 × 1 > 1.8e308: +∞
    const r = e.result(k);
    expect(r.ok).toBe(false);
    expect(e.figuresInto(k, new Float64Array(3))).toBe(-1);
    expect(bulkHealth(e, k)).toBe(-1);
    e.red.accEquity[k] = kept;
    expect(e.result(k).ok).toBe(true);
  });

  test('the health tracker counts the same transitions with and without subscribers', async () => {
    const e = await loaded();
    const all = Array.from({ length: e.n }, (_, k) => k);
    const quiet = new HealthTracker();
    const heard = new HealthTracker();
    quiet.reset(all.map((k) => e.result(k)));
    heard.reset(all.map((k) => e.result(k)));
    for (let k = 0; k < e.n; k++) {
      if (k % 3 === 2) continue;
      e.red.accHealth[k] = (e.red.accHealth[k] + 1) % HEALTHS.length; // a transition the arrays give…
      if (k % 3 === 0) e.red.accAvail[k] = NaN; // …to a result that is not finite: no health, no event
    }
    let seqQuiet = 0;
    let seqHeard = 0;
    const settled = quiet.settle(e, quiet.changed(e, all), () => ++seqQuiet);
    const events = heard.tick(e, all, () => 'hash', () => ++seqHeard);
    expect(events.length).toBe(Math.ceil((e.n - 1) / 3)); // k % 3 === 1: each a real transition
    expect(settled).toBe(events.length);
    expect(seqQuiet).toBe(seqHeard);
    for (const k of all) expect(quiet.code(k)).toBe(heard.code(k));
    expect(quiet.changed(e, all)).toEqual([]); // both now hold the health the arrays give
  });

  test('figuresOfMany reads what figuresInto reads, account by account, on a vectorized and on a single-path book', async () => {
    const grid = await loaded();
    const single = BookEngine.create({ market, model: 'deribit-standard-2024.1', threads: 1 });
    engines.push(single);
    single.load(accounts);
    await single.recompute();
    grid.red.accAvail[3] = NaN; // one vectorized account without a finite result
    for (const e of [grid, single]) {
      const idx = Array.from({ length: e.n }, (_, k) => k).filter((k) => k % 4 !== 1); // a subset, ascending
      const before = Float64Array.from({ length: e.n }, (_, k) => k - 0.5); // the caller's equities before: delta = new − before
      const out = { eq: before.slice(), mm: new Float64Array(e.n).fill(7), health: new Int8Array(e.n).fill(9), delta: new Float64Array(idx.length), scratch: new Float64Array(3) };
      e.figuresOfMany(idx, out);
      const fig = new Float64Array(3);
      idx.forEach((k, i) => {
        const h = e.figuresInto(k, fig);
        const [eq, mm] = h < 0 ? [0, 0] : [fig[0], fig[2]];
        expect([out.health[k], out.eq[k], out.mm[k], out.delta[i]]).toEqual([h, eq, mm, eq - before[k]]);
      });
      for (let k = 1; k < e.n; k += 4) expect([out.eq[k], out.mm[k], out.health[k]]).toEqual([before[k], 7, 9]); // left alone
    }
    expect(single.isGrid(0)).toBe(false);
    expect(grid.figuresInto(3, new Float64Array(3))).toBe(-1);
  });

  test('after a tick, figuresOfMany reads the health its chunks computed: what figuresInto reads, on 1 and 2 threads; a replaced account and a recompute read the arrays again', async () => {
    const all = Array.from({ length: accounts.length }, (_, k) => k);
    /** figuresOfMany of `idx` against figuresInto (gridHealth on the arrays), account by account. */
    const agree = (e: BookEngine, idx: number[]): void => {
      const out = { eq: new Float64Array(e.n), mm: new Float64Array(e.n), health: new Int8Array(e.n), delta: new Float64Array(idx.length), scratch: new Float64Array(3) };
      e.figuresOfMany(idx, out);
      const fig = new Float64Array(3);
      for (const k of idx) {
        const h = e.figuresInto(k, fig);
        expect([out.health[k], out.eq[k], out.mm[k]], `account ${k}`).toEqual(h < 0 ? [h, 0, 0] : [h, fig[0], fig[2]]);
      }
    };
    for (const threads of [1, 2]) {
      const e = BookEngine.create({ market, model: 'deribit-pm-2024.1', threads });
      engines.push(e);
      e.load(accounts);
      await e.recompute();
      // an account holding BTC and ETH whose ETH row's loss is +∞: a BTC tick re-reduces it from that row, which it does not recompute
      const eth = e.ins.underlyings.indexOf('ETH');
      const k = all.find((a) => pooled(e, a) && e.red.subRowStart[e.red.accSubFrom[a] + 1] - e.red.subRowStart[e.red.accSubFrom[a]] > 1)!;
      const j = e.red.accSubFrom[k];
      const r = e.red.subRows.subarray(e.red.subRowStart[j], e.red.subRowStart[j + 1]).find((x) => e.rows.rowSlot[x] === eth)!;
      e.rows.loss[r] = Infinity;
      const up = await e.tick('BTC', market.shocked({ priceMove: { BTC: -0.05 } }));
      const grid = up.indices.filter((a) => e.isGrid(a));
      expect(grid.length).toBeGreaterThan(accounts.length / 2);
      expect(grid.every((a) => e.roundHealth.of[a] !== RoundHealth.UNKNOWN)).toBe(true); // computed by the round
      expect(grid).toContain(k);
      expect(e.roundHealth.of[k]).toBe(-1); // the chunk saw the infinite loss
      agree(e, all);
      const m = grid.find((a) => a !== k && e.roundHealth.of[a] >= 0)!;
      const a = e.account(m);
      e.replace(m, { ...a, positions: a.positions.map((p) => ({ ...p, size: p.size / 2 })) });
      expect(e.roundHealth.of[m]).toBe(RoundHealth.UNKNOWN);
      agree(e, all);
      await e.recompute();
      expect(e.roundHealth.of.every((h) => h === RoundHealth.UNKNOWN)).toBe(true);
      agree(e, all);
    }
  });
});
