/**
 * A human- and machine-readable summary of a market snapshot (what `optmargin market FILE` prints).
 */
import { formatExpiryCode } from './instruments.js';
import { resolveMarket } from './resolved.js';
import { marketHash } from './snapshot.js';
import type { MarketSnapshot } from './types.js';

export interface ExpirySummary {
  expiry: string; // ISO
  code: string; // 27MAR26
  days: number;
  forward: number;
  forwardSource: string;
  /** ATM-forward implied vol (fraction), null without a smile */
  atmVol: number | null;
  smileModel: string | null;
  strikes: number;
  /** errors of the stored smile vs the quotes, vol points */
  fitRmsVolPoints: number | null;
  fitMaxVolPoints: number | null;
  /** errors of the SVI fit vs the quotes (when the stored smile is a spline), vol points */
  sviRmsVolPoints: number | null;
  sviMaxVolPoints: number | null;
  butterflyFree: boolean | null;
}

export interface MarketSummary {
  valuationTime: string;
  source: string | null;
  rate: number;
  hash: string;
  instruments: number;
  underlyings: { underlying: string; index: number; perpetual: number | null; expiries: ExpirySummary[] }[];
}

export function summarizeMarket(snapshot: MarketSnapshot): MarketSummary {
  const rm = resolveMarket(snapshot);
  const snap = rm.snapshot;
  const vp = (x: number | undefined) => (x === undefined ? null : x * 100);
  return {
    valuationTime: new Date(snap.valuationTime).toISOString(),
    source: snap.source ?? null,
    rate: snap.rate,
    hash: marketHash(snap),
    instruments: snap.instruments?.length ?? 0,
    underlyings: snap.underlyings.map((u) => ({
      underlying: u.underlying,
      index: u.index,
      perpetual: u.perpetual ?? null,
      expiries: u.expiries.map((e) => ({
        expiry: new Date(e.expiry).toISOString(),
        code: formatExpiryCode(e.expiry),
        days: (e.expiry - snap.valuationTime) / 86_400_000,
        forward: e.forward,
        forwardSource: e.forwardSource,
        atmVol: e.smile ? rm.atmVol(u.underlying, e.expiry) : null,
        smileModel: e.smile?.model ?? null,
        strikes: e.fit?.points ?? e.listedStrikes?.length ?? 0,
        fitRmsVolPoints: vp(e.fit?.rmsVolError),
        fitMaxVolPoints: vp(e.fit?.maxVolError),
        sviRmsVolPoints: vp(e.sviFit?.rmsVolError),
        sviMaxVolPoints: vp(e.sviFit?.maxVolError),
        butterflyFree: e.fit?.butterflyFree ?? null,
      })),
    })),
  };
}

/** Plain-text table of a summary. */
export function formatMarketSummary(s: MarketSummary): string {
  const lines: string[] = [];
  lines.push(`valuation ${s.valuationTime}   rate ${s.rate}   instruments ${s.instruments}`);
  if (s.source) lines.push(`source    ${s.source}`);
  lines.push(`hash      ${s.hash}`);
  const f = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));
  for (const u of s.underlyings) {
    lines.push('');
    lines.push(`${u.underlying}  index ${u.index.toFixed(2)}${u.perpetual !== null ? `  perpetual ${u.perpetual.toFixed(2)}` : ''}`);
    const head = ['expiry', 'days', 'forward', 'source', 'ATM vol %', 'smile', 'strikes', 'fit rms', 'fit max', 'SVI rms', 'SVI max', 'no-arb'];
    const rows = u.expiries.map((e) => [
      e.code,
      e.days.toFixed(2),
      e.forward.toFixed(2),
      e.forwardSource,
      f(e.atmVol === null ? null : e.atmVol * 100, 2),
      e.smileModel ?? '-',
      String(e.strikes),
      f(e.fitRmsVolPoints, 3),
      f(e.fitMaxVolPoints, 3),
      f(e.sviRmsVolPoints, 3),
      f(e.sviMaxVolPoints, 3),
      e.butterflyFree === null ? '-' : e.butterflyFree ? 'yes' : 'no',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === 0 || i === 3 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    lines.push(fmt(head));
    for (const r of rows) lines.push(fmt(r));
  }
  lines.push('');
  lines.push('fit errors in vol points (1 = 1% vol) at the quoted strikes; no-arb = no butterfly arbitrage found in the stored smile');
  return lines.join('\n');
}
