/**
 * Implied volatility (src/pricing/iv.ts) against real Deribit mark prices and mark IVs
 * (deribit_snapshots/*.csv): each option's mark IV recovered from its coin mark price.
 * The reference implementation's own values and the seeded round trips are in iv.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it, type TaskMeta } from 'vitest';
import { IvStatus, impliedVolInto } from '../src/pricing/iv.js';
import { black76Reference } from '../src/pricing/reference.js';
import { OptionFlag, allocOptionBatch } from '../src/pricing/types.js';
import { SHARED_DATA, quantile, recordSkippedRows } from './helpers.js';

const SNAPSHOT_DIR = SHARED_DATA + 'deribit_snapshots/';

// ---------------------------------------------------------------------------
// Deribit snapshots
// ---------------------------------------------------------------------------

/** Minimal CSV reader for these files (no quoted fields in them). */
function readCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = cells[i] ?? ''));
    return row;
  });
}

interface SnapshotResult {
  rows: number;
  statuses: number[];
  median: number;
  p99: number;
  max: number;
  repriceMaxRel: number;
  outsideBudget: number;
  outsideStrictBudget: number;
  forwardNoise: number;
  /** Ok rows whose rounding budget pins σ to ≤ 1e-4 (budget / vega): their count and max |σ − σ_mark| */
  informative: number;
  informativeMax: number;
  /** rows with no IV to compare (below intrinsic, no time value) and how many of them the data's rounding does not explain */
  excluded: { belowIntrinsic: number; noTimeValue: number; unexplained: string[] };
}

/**
 * Recover the mark IV of every option of a snapshot from its coin mark price.
 *
 * Conventions: inverse settlement, rate 0, F = futures_price (the `underlying` column,
 * identical where both exist, when it is blank), and t = (expiry − timestamp) in ACT/365
 * years: the file's time_to_maturity column is in 365.25-day years, which against Deribit's
 * ACT/365 mark IVs leaves a systematic relative vol bias of 3.4e-4 (measured median error
 * 1.8e-4 instead of 3.5e-5 on 20260118).
 *
 * What "within the rounding of the data" can mean here: the mark IV is rounded to 1e-4
 * (±5e-5), the mark price to 1e-8 BTC / 1e-6 ETH, and the forward was captured at a
 * slightly different instant than each mark (its noise is measured from the snapshot itself
 * by put–call parity on near-the-money pairs: F_pcp = K/(1 − (C − P)) in coin). In price
 * space, a row is consistent when |B(σ_mark) − mark| ≤ vega·5e-5 + tick/2 + |Δ|·F·noise_F
 * + |Θ|·skew, where skew = CAPTURE_SKEW_SECONDS allows for the chain having been fetched over
 * some seconds under one timestamp (without it, 0 rows of 20260118 and 10–15 short-dated rows
 * — 1–3 days to expiry, mostly ETH — of the other calm snapshots miss; 30 s leaves 2–5, 60 s none).
 * That is vega-weighted, so deep ITM/OTM marks at the tick floor (where a 1e-8 coin change
 * moves σ by percents) are compared where they carry information instead of being dropped.
 * Independently of the data's consistency, our σ must re-price each mark exactly.
 */
const CAPTURE_SKEW_SECONDS = 60;

function analyseSnapshot(file: string): SnapshotResult {
  const rows = readCsv(SNAPSHOT_DIR + file);
  const n = rows.length;
  const batch = allocOptionBatch(n);
  batch.length = n;
  const marks = new Float64Array(n);
  const markIv = new Float64Array(n);
  rows.forEach((r, i) => {
    batch.forward[i] = Number(r.futures_price || r.underlying);
    batch.strike[i] = Number(r.strike);
    batch.t[i] = (Date.parse(r.expiry_datetime) - Date.parse(r.timestamp)) / (365 * 86400e3);
    batch.flags[i] = OptionFlag.Inverse | (r.option_type === 'put' ? OptionFlag.Put : 0);
    marks[i] = Number(r.mark_price);
    markIv[i] = Number(r.implied_volatility);
  });
  const out = new Float64Array(n);
  const status = new Uint8Array(n);
  impliedVolInto(batch, marks, out, status);

  // Forward noise from put–call parity (pairs within 10% of the money, both marks > 0).
  const pairs = new Map<string, { c?: number; p?: number; F: number; K: number }>();
  rows.forEach((r, i) => {
    const key = `${r.underlying_name}|${r.strike}`;
    const e = pairs.get(key) ?? { F: batch.forward[i], K: batch.strike[i] };
    if (r.option_type === 'put') e.p = marks[i];
    else e.c = marks[i];
    pairs.set(key, e);
  });
  let forwardNoise = 0;
  for (const e of pairs.values()) {
    if (e.c === undefined || e.p === undefined || !(e.c > 0 && e.p > 0) || Math.abs(e.K / e.F - 1) > 0.1) continue;
    forwardNoise = Math.max(forwardNoise, Math.abs(e.K / (1 - (e.c - e.p)) / e.F - 1));
  }

  const errors: number[] = [];
  const statuses = [0, 0, 0, 0, 0];
  let repriceMaxRel = 0;
  let outsideBudget = 0;
  let outsideStrictBudget = 0;
  let informative = 0;
  let informativeMax = 0;
  let belowIntrinsic = 0;
  let noTimeValue = 0;
  const excludedUnexplained: string[] = [];
  for (let i = 0; i < n; i++) {
    statuses[status[i]]++;
    const put = (batch.flags[i] & OptionFlag.Put) !== 0;
    const F = batch.forward[i];
    const halfTick = rows[i].currency === 'BTC' ? 0.5e-8 : 0.5e-6;
    const atMark = black76Reference(put, F, batch.strike[i], markIv[i], batch.t[i], 0, true);
    const budget = atMark.vega * 5e-5 + halfTick + Math.abs(atMark.delta) * F * forwardNoise;
    const skew = (Math.abs(atMark.theta) * CAPTURE_SKEW_SECONDS) / (365 * 86400);
    const miss = Math.abs(atMark.price - marks[i]);
    if (miss > budget) outsideStrictBudget++;
    if (miss > budget + skew) outsideBudget++;
    if (status[i] === IvStatus.BelowIntrinsic || status[i] === IvStatus.NoTimeValue) {
      // excluded from the vol errors (no IV exists): each must be a mark at (or a rounding below)
      // the intrinsic value at F, i.e. within half a tick plus what the forward's noise moves intrinsic by
      const K = batch.strike[i];
      const intrinsic = Math.max(put ? K - F : F - K, 0) / F;
      const slack = halfTick + (K / F) * forwardNoise + skew;
      if (intrinsic - marks[i] > slack || marks[i] - intrinsic > slack + atMark.vega * 5e-5) {
        excludedUnexplained.push(`${rows[i].instrument_name ?? i}: mark ${marks[i]} intrinsic ${intrinsic.toExponential(6)}`);
      }
      if (status[i] === IvStatus.BelowIntrinsic) belowIntrinsic++;
      else noTimeValue++;
    }
    if (status[i] === IvStatus.Ok) {
      const err = Math.abs(out[i] - markIv[i]);
      if ((budget + skew) / atMark.vega <= 1e-4) {
        informative++;
        informativeMax = Math.max(informativeMax, err);
      }
      errors.push(err);
      const back = black76Reference(put, F, batch.strike[i], out[i], batch.t[i], 0, true).price;
      // relative to the mark, floored at one ulp of the coin value of the forward (= 1 coin)
      repriceMaxRel = Math.max(repriceMaxRel, Math.abs(back - marks[i]) / Math.max(marks[i], 1e-3));
    }
  }
  errors.sort((a, b) => a - b);
  return {
    rows: n,
    statuses,
    median: quantile(errors, 0.5),
    p99: quantile(errors, 0.99),
    max: errors[errors.length - 1],
    repriceMaxRel,
    outsideBudget,
    outsideStrictBudget,
    forwardNoise,
    informative,
    informativeMax,
    excluded: { belowIntrinsic, noTimeValue, unexplained: excludedUnexplained },
  };
}

const CALM_SNAPSHOTS = [
  'deribit_options_snapshot_20260118T091430Z.csv',
  'deribit_options_snapshot_20260222T092329Z.csv',
  'deribit_options_snapshot_20260329T092941Z.csv',
  'deribit_options_snapshot_20260801T104539Z.csv',
];
const CRASH_SNAPSHOT = 'deribit_options_snapshot_20260205T155132Z.csv';

describe.skipIf(!existsSync(SNAPSHOT_DIR))(`Deribit mark IVs from coin mark prices (deribit_snapshots/)${existsSync(SNAPSHOT_DIR) ? '' : ' [SKIPPED: ../shared/data/deribit_snapshots not found]'}`, () => {
  function report(file: string, r: SnapshotResult): void {
    console.log(
      `${file.slice(25, 41)}: ${r.rows} rows, ok/below/above/noTime/invalid = ${r.statuses.join('/')}, |σ − σ_mark| median ${r.median.toExponential(2)} p99 ${r.p99.toExponential(2)} max ${r.max.toExponential(2)}; ` +
        `forward noise (parity) ${(r.forwardNoise * 1e6).toFixed(1)} ppm; outside rounding budget ${r.outsideStrictBudget} (with ${CAPTURE_SKEW_SECONDS} s capture skew: ${r.outsideBudget}); re-price max rel ${r.repriceMaxRel.toExponential(1)}; ` +
        `rows pinning σ to 1e-4: ${r.informative}, max |σ − σ_mark| ${r.informativeMax.toExponential(2)}; excluded (no IV): ${r.excluded.belowIntrinsic} below intrinsic + ${r.excluded.noTimeValue} at intrinsic, ${r.excluded.unexplained.length} unexplained`,
    );
  }

  function recordExcluded(task: { meta: TaskMeta }, r: SnapshotResult): void {
    const { belowIntrinsic, noTimeValue } = r.excluded;
    recordSkippedRows(task, belowIntrinsic, r.rows, 'mark below intrinsic at the captured forward: no IV (each within tick + forward noise of intrinsic)');
    recordSkippedRows(task, noTimeValue, r.rows, 'mark at intrinsic: IV 0 (NoTimeValue), not compared with the mark IV');
  }

  for (const file of CALM_SNAPSHOTS) {
    it(`recovers every mark IV of ${file.slice(25, 41)} within the data's rounding`, ({ task }) => {
      const r = analyseSnapshot(file);
      recordExcluded(task, r);
      report(file, r);
      expect(r.statuses[IvStatus.InvalidInput]).toBe(0);
      expect(r.statuses[IvStatus.AboveUpperBound]).toBe(0);
      expect(r.median).toBeLessThan(6e-5); // IV printed to 1e-4: uniform rounding gives 2.5e-5
      // the maximum, where the data can pin it: on every row whose rounding budget is ≤ 1e-4 in
      // vol (budget / vega), |σ − σ_mark| ≤ that 1e-4 + the IV's own printed rounding 5e-5
      expect(r.informative).toBeGreaterThan(300);
      expect(r.informativeMax).toBeLessThanOrEqual(1.5e-4);
      // elsewhere (deep ITM/OTM marks at the tick floor) the vol error can reach points of vol;
      // every such row's mark is still within the data's rounding budget in price:
      expect(r.outsideBudget).toBe(0);
      // rows without an IV are counted, and each is a mark at (or a rounding below) intrinsic
      expect(r.excluded.unexplained).toEqual([]);
      expect(r.excluded.belowIntrinsic + r.excluded.noTimeValue).toBeLessThanOrEqual(0.02 * r.rows);
      expect(r.outsideStrictBudget).toBeLessThanOrEqual(0.01 * r.rows);
      expect(r.repriceMaxRel).toBeLessThan(1e-12);
    });
  }

  it('crash snapshot 20260205T155132Z (BTC 71.5k → 63.9k): exact re-pricing, error distribution reported', ({ task }) => {
    // Marks and forwards were captured while the market moved several percent: put–call
    // parity shows the forward off by up to ~1e-3 relative, so the mark IVs reconcile with
    // the mark prices only to ~1e-3 in vol (median), not to their printed rounding.
    const r = analyseSnapshot(CRASH_SNAPSHOT);
    report(CRASH_SNAPSHOT, r);
    recordExcluded(task, r);
    expect(r.statuses[IvStatus.InvalidInput]).toBe(0);
    expect(r.statuses[IvStatus.AboveUpperBound]).toBe(0);
    expect(r.repriceMaxRel).toBeLessThan(1e-12);
    expect(r.median).toBeLessThan(1.5e-3);
    expect(r.outsideBudget).toBe(0);
    // 90 rows have no IV (50 marks below intrinsic at the captured forward, 40 at it): every one
    // is explained by the forward's measured noise (parity) and the tick
    expect(r.excluded.unexplained).toEqual([]);
    expect(r.excluded.belowIntrinsic + r.excluded.noTimeValue).toBeLessThanOrEqual(0.06 * r.rows);
  });
});
