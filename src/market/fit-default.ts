/**
 * Produces data/default-market.json, the market the package ships for `npm start`: raw SVI
 * smiles fitted to one Deribit chain snapshot, with the index and forward per expiry and the
 * listed strikes — a few numbers per expiry, no quotes (the raw exchange data is not ours to ship).
 *
 *   npm run build:ts && node dist/src/market/fit-default.js [chain.csv] [out.json]
 *
 * Defaults: ../shared/data/deribit_snapshots/deribit_options_snapshot_20260810T215147Z.csv →
 * data/default-market.json. Provenance and fit errors are documented in docs/market.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { marketFromDeribitCsv } from './deribit.js';
import { validateSnapshot } from './snapshot.js';
import type { MarketSnapshot } from './types.js';

export const DEFAULT_MARKET_SNAPSHOT = 'deribit_options_snapshot_20260810T215147Z.csv';

/** 12 significant digits: far below any fit error, and keeps the file small and diff-friendly. */
function round(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? v : Number(v.toPrecision(12));
  if (Array.isArray(v)) return v.map(round);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));
  return v;
}

/** Fits the default market from the text of a Deribit chain CSV (deterministic). */
export function fitDefaultMarket(csvText: string, fileName: string): MarketSnapshot {
  const snap = marketFromDeribitCsv(csvText, {
    smileModel: 'svi',
    keepQuotes: false,
    source:
      `optmargin default market: raw SVI per expiry fitted (vega-weighted vol least squares, Lee-bounded, ` +
      `butterfly-penalised) to the mark IVs of Deribit chain snapshot ${fileName}; see docs/market.md`,
  });
  return validateSnapshot(round(snap));
}

function main(): void {
  const csvPath = resolve(process.argv[2] ?? `../shared/data/deribit_snapshots/${DEFAULT_MARKET_SNAPSHOT}`);
  const outPath = resolve(process.argv[3] ?? 'data/default-market.json');
  const snap = fitDefaultMarket(readFileSync(csvPath, 'utf8'), basename(csvPath));
  writeFileSync(outPath, JSON.stringify(snap, null, 1) + '\n');
  for (const u of snap.underlyings) {
    for (const e of u.expiries) {
      const f = e.fit;
      console.log(
        `${u.underlying} ${new Date(e.expiry).toISOString().slice(0, 10)} F=${e.forward} ` +
          (f ? `strikes=${f.points} rms=${(f.rmsVolError * 100).toFixed(3)} max=${(f.maxVolError * 100).toFixed(3)} vol pts butterflyFree=${f.butterflyFree}` : 'no smile'),
      );
    }
  }
  console.log(`wrote ${outPath}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
