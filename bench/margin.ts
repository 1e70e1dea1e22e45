/**
 * Margin section of `npm run bench` (issue 4): one account of 20 BTC options on
 * the shipped default market under the Deribit-style grid, through the public API.
 * Baselines in the same run: the scenario revaluation of the same 20 instruments
 * with the TS reference pricer instead of the WASM kernel.
 */
import { defaultMarket, resolveMarket, formatExpiryCode } from '../src/market/index.js';
import { buildRiskArrays, createMarginEngine, referencePriceOnlyInto, setMarginPricer, type AccountInput } from '../src/api/margin.js';
import type { Section } from './lib.js';
import type { SectionContext } from './sections.js';
import { fmt } from './lib.js';

/** 20 options around the money on three expiries (a short strangle book with some long wings). */
export function twentyOptionAccount(): AccountInput {
  const snap = defaultMarket();
  const btc = snap.underlyings.find((u) => u.underlying === 'BTC')!;
  const expiries = btc.expiries.filter((e) => e.smile && (e.listedStrikes?.length ?? 0) >= 10).slice(4, 7);
  const positions: { instrument: string; size: number }[] = [];
  for (const e of expiries) {
    const exp = typeof e.expiry === 'number' ? e.expiry : Date.parse(e.expiry as string);
    const strikes = [...(e.listedStrikes ?? [])].sort((a, b) => Math.abs(a - e.forward) - Math.abs(b - e.forward)).slice(0, 7);
    for (const k of strikes) {
      if (positions.length >= 20) break;
      const type = k < e.forward ? 'P' : 'C';
      positions.push({ instrument: `BTC-${formatExpiryCode(exp)}-${k}-${type}`, size: positions.length % 3 === 0 ? 2 : -3 });
    }
  }
  return { id: 'bench-20', mode: 'portfolio', collateral: { BTC: 10, USDC: 50000 }, positions };
}

export async function marginSection(ctx: SectionContext): Promise<Section> {
  const market = resolveMarket(defaultMarket());
  const engine = createMarginEngine({ market, model: 'deribit-pm-2024.1' });
  const account = twentyOptionAccount();
  const extra = { instrument: account.positions![0].instrument, size: -1 };
  const first = engine.margin(account);
  if (!first.ok) throw new Error(`bench account rejected: ${JSON.stringify(first)}`);
  const instruments = account.positions!.map((p) => p.instrument);
  // the same options in a segregated BTC sub-account under Deribit's PM (deribit-pm: figures in BTC)
  const pme = createMarginEngine({ market, model: 'deribit-pm' });
  const btcAccount: AccountInput = { ...account, id: 'bench-20-btc', collateral: { BTC: 10 } };
  const firstPme = pme.margin(btcAccount);
  if (!firstPme.ok) throw new Error(`bench account rejected by deribit-pm: ${JSON.stringify(firstPme)}`);
  const r = await ctx.runBench([
    ['margin(account), warm (20 options, deribit-pm-2024.1)', () => engine.margin(account)],
    ['whatIf(account, one more option), warm', () => engine.whatIf(account, [extra])],
    ['margin(account), warm (20 options, deribit-pm: segregated BTC, Deribit PME)', () => pme.margin(btcAccount)],
  ]);
  // Liquidation prices (BTC down and up) by root-finding on re-margined moved markets: slower by
  // nature (each evaluation revalues the account's instruments on a moved market), so timed apart.
  const liq = await ctx.runBench([['liquidationPrice(account, "BTC"), both directions', () => engine.liquidationPrice(account, 'BTC')]], 1000);
  // Revaluation of the same 20 instruments × the grid: WASM kernel vs TS reference pricer.
  const reval = await ctx.runBench([
    ['risk arrays of the 20 instruments, WASM pricer', () => buildRiskArrays(market, 'deribit-pm-2024.1', instruments)],
    [
      'risk arrays of the 20 instruments, TS reference pricer',
      () => {
        setMarginPricer(referencePriceOnlyInto, 'reference');
        try {
          buildRiskArrays(market, 'deribit-pm-2024.1', instruments);
        } finally {
          setMarginPricer(null);
        }
      },
    ],
  ]);
  const us = (m: Map<string, { meanMs: number; p99Ms: number }>, k: string) => m.get(k)!.meanMs * 1000;
  const p99 = (m: Map<string, { meanMs: number; p99Ms: number }>, k: string) => m.get(k)!.p99Ms * 1000;
  const lines = [
    `One portfolio account, 20 BTC options on 3 expiries, default market, preset deribit-pm-2024.1 (9 moves × 3 vol scenarios + contingencies). Targets: margin ≤ 20 µs, what-if ≤ 5 µs.`,
    '',
    '| call | mean | p99 |',
    '|---|---:|---:|',
  ];
  for (const k of r.keys()) lines.push(`| ${k} | ${fmt(us(r, k))} µs | ${fmt(p99(r, k))} µs |`);
  for (const k of reval.keys()) lines.push(`| ${k} | ${fmt(us(reval, k))} µs | ${fmt(p99(reval, k))} µs |`);
  for (const k of liq.keys()) lines.push(`| ${k} | ${fmt(us(liq, k) / 1000)} ms | ${fmt(p99(liq, k) / 1000)} ms |`);
  const wasm = us(reval, 'risk arrays of the 20 instruments, WASM pricer');
  const ref = us(reval, 'risk arrays of the 20 instruments, TS reference pricer');
  lines.push('', `Revaluation (cold: risk arrays built from scratch): WASM **${(ref / wasm).toFixed(2)}×** the TS reference. Warm calls reuse the engine's cached risk arrays, so they price nothing.`);
  return { title: 'Margin: one account through the public API', lines };
}
