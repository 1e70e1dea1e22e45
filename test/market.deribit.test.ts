/**
 * The market model against real Deribit data (shared, not shipped): Black-76 repricing of every
 * option mark, the fitted surface against every mark IV, forwards against put–call parity, the
 * book-summary reader against the CSV reader, and the provenance of data/default-market.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { black76Reference } from '../src/pricing/reference.js';
import {
  defaultMarket,
  marketFromBookSummary,
  marketFromDeribitCsv,
  marketHash,
  parityForward,
  parseInstrument,
  resolveMarket,
  type MarketSnapshot,
} from '../src/market/index.js';
import { parseCsv } from '../src/market/csv.js';
import { fitDefaultMarket, DEFAULT_MARKET_SNAPSHOT } from '../src/market/fit-default.js';

const dataDir = fileURLToPath(new URL('../../shared/data/', import.meta.url));
const snapDir = `${dataDir}deribit_snapshots/`;
const haveData = existsSync(snapDir);

const CRASH = 'deribit_options_snapshot_20260205T155132Z.csv';
const CALM = ['deribit_options_snapshot_20260118T091430Z.csv', 'deribit_options_snapshot_20260810T215147Z.csv'];
const PRE_CRASH = 'deribit_options_snapshot_20260204T213308Z.csv';
const FILES = [CALM[0], PRE_CRASH, CRASH, CALM[1]];
const MS_PER_YEAR = 365 * 86_400_000;

interface Row {
  [k: string]: string;
}
function readRows(file: string): Row[] {
  const [head, ...rows] = parseCsv(readFileSync(snapDir + file, 'utf8'));
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

function quantiles(xs: number[]): { median: number; p95: number; max: number; n: number } {
  const s = xs.slice().sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), p95: q(0.95), max: s[s.length - 1], n: s.length };
}

/** Reference statistics computed independently (SOURCES.md: deribit_snapshot_repricing_stats.csv). */
function referenceStats(): Map<string, { median: number; p99: number; max: number }> {
  const [head, ...rows] = parseCsv(readFileSync(`${dataDir}deribit_snapshot_repricing_stats.csv`, 'utf8'));
  const col = (n: string) => head.indexOf(n);
  return new Map(
    rows.map((r) => [r[col('file')], { median: Number(r[col('median_abs_err_coin')]), p99: Number(r[col('p99_abs_err_coin')]), max: Number(r[col('max_abs_err_coin')]) }]),
  );
}

const report: string[] = [];

describe.skipIf(!haveData)(`market vs real Deribit chains (needs ${snapDir}; skipped when absent)`, () => {
  const snaps = new Map<string, MarketSnapshot>();
  const snap = (f: string) => {
    if (!snaps.has(f)) snaps.set(f, marketFromDeribitCsv(readFileSync(snapDir + f, 'utf8'), { source: f }));
    return snaps.get(f)!;
  };

  it.each(FILES)('Black-76 on the row forward and mark IV reproduces every mark price of %s', (file) => {
    const rows = readRows(file);
    const s = snap(file);
    const ref = referenceStats().get(file)!;
    const errs: number[] = [];
    for (const r of rows) {
      const inst = parseInstrument(r.instrument_name);
      if (inst.kind !== 'option') throw new Error('not an option');
      // T from OUR snapshot time and the instrument's 08:00 UTC expiry (not the CSV's time_to_maturity)
      const t = (inst.expiry - s.valuationTime) / MS_PER_YEAR;
      const g = black76Reference(inst.optionType === 'put', Number(r.futures_price), inst.strike, Number(r.implied_volatility), t, 0, true);
      errs.push(Math.abs(g.price - Number(r.mark_price)));
    }
    const q = quantiles(errs);
    report.push(`${file} repricing |Δ| coin: n=${q.n} median=${q.median.toExponential(2)} p95=${q.p95.toExponential(2)} max=${q.max.toExponential(2)} (reference median ${ref.median.toExponential(2)} max ${ref.max.toExponential(2)})`);
    expect(q.n).toBe(rows.length);
    // Same computation as the independent reference: statistics agree to a few percent
    // (it rounds nothing; differences come from the ms-truncated timestamp only).
    expect(q.median).toBeLessThan(ref.median * 1.1 + 1e-9);
    expect(q.max).toBeLessThan(ref.max * 1.05 + 1e-9);
    if (file === CRASH) {
      // the crash snapshot: forwards moved while rows were captured, deep ITM puts show it
      expect(q.median).toBeLessThan(1e-4);
      expect(q.max).toBeLessThan(3e-3);
    } else if (CALM.includes(file)) {
      expect(q.median).toBeLessThan(1e-5);
      expect(q.max).toBeLessThan(5e-5);
    }
  });

  it.each(FILES)('the resolved surface reproduces every mark IV of %s (spline exactly, SVI within stated bounds)', (file) => {
    const rows = readRows(file);
    const s = snap(file);
    const rm = resolveMarket(s);
    const sviSnap: MarketSnapshot = {
      ...s,
      underlyings: s.underlyings.map((u) => ({ ...u, expiries: u.expiries.map((e) => ({ ...e, smile: e.svi ?? e.smile })) })),
    };
    const rmSvi = resolveMarket(sviSnap);
    const eSpline: number[] = [];
    const eSvi: number[] = [];
    const eSviNear: number[] = []; // |ln(K/F)| ≤ 1 sd: where margin scenarios live
    const eSviPriceCoin: number[] = [];
    for (const r of rows) {
      const inst = parseInstrument(r.instrument_name);
      if (inst.kind !== 'option') continue;
      const iv = Number(r.implied_volatility);
      const vSpline = rm.vol(inst.underlying, inst.expiry, inst.strike);
      const vSvi = rmSvi.vol(inst.underlying, inst.expiry, inst.strike);
      eSpline.push(Math.abs(vSpline - iv) * 100);
      eSvi.push(Math.abs(vSvi - iv) * 100);
      const t = rm.timeToExpiry(inst.expiry);
      const f = rm.forward(inst.underlying, inst.expiry);
      if (Math.abs(Math.log(inst.strike / f)) <= iv * Math.sqrt(t)) eSviNear.push(Math.abs(vSvi - iv) * 100);
      const isPut = inst.optionType === 'put';
      eSviPriceCoin.push(Math.abs(black76Reference(isPut, f, inst.strike, vSvi, t, 0, true).price - black76Reference(isPut, f, inst.strike, iv, t, 0, true).price));
    }
    const qs = quantiles(eSpline);
    const qv = quantiles(eSvi);
    const qn = quantiles(eSviNear);
    const qp = quantiles(eSviPriceCoin);
    report.push(
      `${file} surface vs mark IV (vol points): spline median=${qs.median.toFixed(4)} p95=${qs.p95.toFixed(4)} max=${qs.max.toFixed(4)}; ` +
        `SVI median=${qv.median.toFixed(3)} p95=${qv.p95.toFixed(3)} max=${qv.max.toFixed(3)}; SVI within 1 sd (n=${qn.n}) median=${qn.median.toFixed(3)} p95=${qn.p95.toFixed(3)} max=${qn.max.toFixed(3)}; ` +
        `SVI price error coin median=${qp.median.toExponential(2)} p95=${qp.p95.toExponential(2)} max=${qp.max.toExponential(2)}`,
    );
    // Spline through the marks: off only by averaging call and put IVs (≤ 0.04 vol pt in the data)
    // and by each row's forward differing from the expiry's median forward.
    expect(qs.max).toBeLessThan(0.05);
    // SVI: a 5-parameter summary of Deribit's marks, whose far wings are flat-extrapolated by
    // Deribit (SVI's are linear in total variance) and bumpy. Bounds stated in docs/market.md
    // (vol points): all strikes median ≤ 1, p95 ≤ 25; within one standard deviation of the
    // forward median ≤ 0.5, p95 ≤ 1.5; as option value (coin per contract) p95 ≤ 1e-3, max ≤ 5e-3.
    expect(qv.median).toBeLessThan(1);
    expect(qv.p95).toBeLessThan(25);
    expect(qn.median).toBeLessThan(0.5);
    expect(qn.p95).toBeLessThan(1.5);
    expect(qp.p95).toBeLessThan(1e-3);
    expect(qp.max).toBeLessThan(5e-3);
  });

  it('forwards: futures marks agree with put–call parity on the option marks', () => {
    const sources = new Set<string>();
    for (const file of FILES) {
      const rows = readRows(file);
      const s = snap(file);
      for (const u of s.underlyings) {
        for (const e of u.expiries) {
          const pairs = new Map<number, { strike: number; call: number; put: number }>();
          for (const r of rows) {
            const inst = parseInstrument(r.instrument_name);
            if (inst.kind !== 'option' || inst.underlying !== u.underlying || inst.expiry !== e.expiry) continue;
            const p = pairs.get(inst.strike) ?? { strike: inst.strike, call: NaN, put: NaN };
            p[inst.optionType] = Number(r.mark_price);
            pairs.set(inst.strike, p);
          }
          const fp = parityForward([...pairs.values()], 'inverse');
          // marks are rounded to 1e-8 coin... but the crash snapshot's rows were captured while F moved
          expect(Math.abs(fp / e.forward - 1)).toBeLessThan(file === CRASH ? 2e-3 : 5e-4);
        }
        for (const e of u.expiries) sources.add(e.forwardSource);
      }
    }
    // forward source: the future's mark where one is listed, Deribit's SYN. forward otherwise
    expect([...sources].sort()).toEqual(['future', 'synthetic']);
  });

  it('ATM vols match the independently computed ATM IV histories (per expiry and 30-day)', () => {
    const [h30, ...r30] = parseCsv(readFileSync(`${dataDir}deribit_atm_iv_30d_history.csv`, 'utf8'));
    const [hx, ...rx] = parseCsv(readFileSync(`${dataDir}deribit_atm_iv_by_expiry_history.csv`, 'utf8'));
    const c30 = (n: string) => h30.indexOf(n);
    const cx = (n: string) => hx.indexOf(n);
    const diffs: number[] = [];
    for (const file of FILES) {
      const s = snap(file);
      const rm = resolveMarket(s);
      for (const r of r30.filter((r) => r[c30('file')] === file)) {
        const ours = rm.atmVol(r[c30('currency')], s.valuationTime + 30 * 86_400_000);
        const ref = Number(r[c30('atm_iv_30d')]);
        report.push(`${file} ${r[c30('currency')]} 30-day ATM vol ours ${(ours * 100).toFixed(2)}% reference ${(ref * 100).toFixed(2)}%`);
        expect(Math.abs(ours - ref)).toBeLessThan(0.01);
      }
      const stamp = new Date(s.valuationTime).toISOString().slice(0, 19);
      for (const r of rx.filter((r) => r[cx('snapshot_time')].startsWith(stamp))) {
        const expiry = Date.parse(r[cx('expiry')]);
        const ours = rm.atmVol(r[cx('currency')], expiry);
        // reference: linear interpolation in strike between the two strikes around the forward;
        // ours: PCHIP in total variance — they differ by the smile's curvature over one strike step
        diffs.push(Math.abs(ours - Number(r[cx('atm_iv')])) * 100);
        expect(Math.abs(rm.forward(r[cx('currency')], expiry) / Number(r[cx('forward')]) - 1)).toBeLessThan(2e-4);
      }
    }
    const q = quantiles(diffs);
    report.push(`ATM vol per expiry vs reference (vol points): n=${q.n} median=${q.median.toFixed(3)} p95=${q.p95.toFixed(3)} max=${q.max.toFixed(3)}`);
    expect(q.n).toBeGreaterThan(80);
    expect(q.median).toBeLessThan(0.1);
    expect(q.max).toBeLessThan(1);
  });

  it('the snapshot: index, forwards and 08:00 UTC expiries of the crash snapshot', () => {
    const s = snap(CRASH);
    expect(new Date(s.valuationTime).toISOString()).toBe('2026-02-05T15:51:32.535Z');
    const btc = s.underlyings.find((u) => u.underlying === 'BTC')!;
    const rows = readRows(CRASH).filter((r) => r.currency === 'BTC');
    const idx = rows.map((r) => Number(r.index_price)).sort((a, b) => a - b);
    expect(btc.index).toBeGreaterThanOrEqual(idx[0]);
    expect(btc.index).toBeLessThanOrEqual(idx[idx.length - 1]);
    const mar = btc.expiries.find((e) => new Date(e.expiry).toISOString() === '2026-03-27T08:00:00.000Z')!;
    expect(mar.futureName).toBe('BTC-27MAR26');
    const marRows = rows.filter((r) => r.futures_instrument_name === 'BTC-27MAR26').map((r) => Number(r.futures_price));
    expect(mar.forward).toBeGreaterThanOrEqual(Math.min(...marRows));
    expect(mar.forward).toBeLessThanOrEqual(Math.max(...marRows));
    // open interest kept per instrument
    const rm = resolveMarket(s);
    const r0 = rows[0];
    expect(rm.openInterest(r0.instrument_name)).toBe(Number(r0.open_interest));
  });

  it('get_book_summary_by_currency JSON built from the same rows gives the same market', () => {
    const rows = readRows(CALM[0]);
    const s = snap(CALM[0]);
    const fixture = bookSummaryFixture(rows);
    const b = marketFromBookSummary(JSON.stringify(fixture));
    expect(b.valuationTime).toBe(s.valuationTime);
    expect(b.underlyings.map((u) => u.underlying)).toEqual(['BTC', 'ETH']);
    for (const u of b.underlyings) {
      const cu = s.underlyings.find((x) => x.underlying === u.underlying)!;
      expect(u.perpetual).toBeGreaterThan(0);
      expect(u.expiries.map((e) => e.expiry)).toEqual(cu.expiries.map((e) => e.expiry));
      u.expiries.forEach((e, i) => {
        expect(e.forward).toBeCloseTo(cu.expiries[i].forward, 6);
        expect(e.forwardSource).toBe(cu.expiries[i].forwardSource);
      });
    }
    // vols agree at every listed strike (same quotes, mark_iv given in percent)
    const rb = resolveMarket(b);
    for (const r of rows.slice(0, 200)) {
      const i = parseInstrument(r.instrument_name);
      if (i.kind !== 'option') continue;
      expect(Math.abs(rb.vol(i.underlying, i.expiry, i.strike) - Number(r.implied_volatility))).toBeLessThan(5e-4);
    }
    expect(rb.openInterest(rows[5].instrument_name)).toBe(Number(rows[5].open_interest));
  });

  it('data/default-market.json is what src/market/fit-default.ts makes from its stated snapshot', () => {
    const refit = fitDefaultMarket(readFileSync(snapDir + DEFAULT_MARKET_SNAPSHOT, 'utf8'), DEFAULT_MARKET_SNAPSHOT);
    const shipped = defaultMarket();
    expect(marketHash(refit)).toBe(marketHash(shipped));
    // and its ATM vols are those of the source chain: ATM-forward vol vs linear interpolation of mark IVs
    const rows = readRows(DEFAULT_MARKET_SNAPSHOT);
    const rm = resolveMarket(shipped);
    for (const u of shipped.underlyings) {
      for (const e of u.expiries) {
        const pts = rows
          .map((r) => ({ i: parseInstrument(r.instrument_name), iv: Number(r.implied_volatility) }))
          .filter((p) => p.i.kind === 'option' && p.i.underlying === u.underlying && p.i.expiry === e.expiry)
          .map((p) => ({ k: (p.i as { strike: number }).strike, iv: p.iv }))
          .sort((a, b) => a.k - b.k);
        const j = pts.findIndex((p) => p.k >= e.forward);
        const a = pts[j - 1], b = pts[j];
        const atmMarks = a.iv + ((b.iv - a.iv) * (e.forward - a.k)) / (b.k - a.k);
        const atm = rm.atmVol(u.underlying, e.expiry);
        const days = (e.expiry - shipped.valuationTime) / 86_400_000;
        // within 1.5 vol points, except the sub-2-day expiries whose marks have a kinked ATM
        expect(Math.abs(atm - atmMarks) * 100, `${u.underlying} ${new Date(e.expiry).toISOString()}`).toBeLessThan(days < 2 ? 4 : 1.5);
      }
    }
  });

  it('prints the measured distributions', () => {
    console.log(report.join('\n'));
    // one repricing and one surface line per snapshot, the 30-day ATM comparison, the per-expiry summary
    for (const f of FILES) {
      expect(report.filter((l) => l.startsWith(`${f} repricing`)).length, f).toBe(1);
      expect(report.filter((l) => l.startsWith(`${f} surface`)).length, f).toBe(1);
    }
    expect(report.filter((l) => l.startsWith('ATM vol per expiry vs reference')).length).toBe(1);
  });
});

/**
 * A realistic get_book_summary_by_currency response built from CSV rows at test time (no
 * committed data): options with mark_iv in percent, futures from the rows' futures prices and a
 * perpetual near the index — two envelopes, one per currency, as the API returns them.
 */
function bookSummaryFixture(rows: Row[]): unknown[] {
  const byCur = new Map<string, unknown[]>();
  const futures = new Map<string, { price: number; cur: string; index: number }>();
  for (const r of rows) {
    const ts = Date.parse(r.timestamp.replace(/(\.\d{3})\d+/, '$1'));
    const list = byCur.get(r.currency) ?? [];
    byCur.set(r.currency, list);
    const num = (x: string) => (x === '' ? null : Number(x));
    list.push({
      volume: Number(r.volume),
      underlying_price: Number(r.futures_price),
      underlying_index: r.futures_instrument_name,
      quote_currency: r.currency,
      price_change: null,
      open_interest: Number(r.open_interest),
      mid_price: num(r.mid_price),
      mark_price: Number(r.mark_price),
      mark_iv: Math.round(Number(r.implied_volatility) * 100 * 100) / 100,
      low: null,
      last: null,
      interest_rate: 0,
      instrument_name: r.instrument_name,
      high: null,
      estimated_delivery_price: Number(r.index_price),
      creation_timestamp: ts,
      bid_price: num(r.bid_price),
      base_currency: r.currency,
      ask_price: num(r.ask_price),
    });
    if (!r.futures_instrument_name.startsWith('SYN.') && !futures.has(r.futures_instrument_name)) {
      futures.set(r.futures_instrument_name, { price: NaN, cur: r.currency, index: Number(r.index_price) });
    }
  }
  // futures mark = the median of the rows' futures prices (what the CSV reader uses)
  for (const [name, f] of futures) {
    const ps = rows.filter((r) => r.futures_instrument_name === name).map((r) => Number(r.futures_price)).sort((a, b) => a - b);
    f.price = ps[(ps.length - 1) >> 1];
  }
  const ts = Date.parse(rows[0].timestamp.replace(/(\.\d{3})\d+/, '$1'));
  for (const [name, f] of futures) {
    byCur.get(f.cur)!.push({
      instrument_name: name, mark_price: f.price, estimated_delivery_price: f.index, open_interest: 1e7, volume: 100,
      base_currency: f.cur, quote_currency: 'USD', creation_timestamp: ts, bid_price: f.price - 2.5, ask_price: f.price + 2.5,
    });
  }
  for (const [cur, list] of byCur) {
    const idx = Number(rows.find((r) => r.currency === cur)!.index_price);
    list.push({ instrument_name: `${cur}-PERPETUAL`, mark_price: idx * 1.0002, estimated_delivery_price: idx, funding_8h: 0.0001, current_funding: 0, open_interest: 5e8, creation_timestamp: ts });
    // a combination instrument, which the reader skips
    list.push({ instrument_name: `${cur}-FS-27MAR26_PERP`, mark_price: 500, creation_timestamp: ts });
  }
  return [...byCur.entries()].map(([, result]) => ({ jsonrpc: '2.0', result, usIn: 0, usOut: 0, usDiff: 0, testnet: false }));
}
