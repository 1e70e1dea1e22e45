/**
 * A deterministic BTC + ETH daily history for tests that need one without ../shared: closes from
 * 2019-01-01 to `to`, log returns from a fixed LCG (volatility regimes, a crash in March 2020 so
 * the shipped var-es presets' stressed periods exist, and correlated ETH).
 */
import { loadHistory, type History } from '../src/risk/history.js';

function dates(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Uniform in (0, 1) from a 32-bit LCG (Numerical Recipes constants). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

export function syntheticHistoryText(to = '2026-07-31'): { btc: string; eth: string } {
  const ds = dates('2019-01-01', to);
  const u = lcg(12345);
  let btc = 4000;
  let eth = 150;
  const b = ['date,close'];
  const e = ['date,close'];
  ds.forEach((d, i) => {
    const vol = d.startsWith('2020-03') ? 0.08 : d.startsWith('2022') ? 0.04 : 0.025;
    const z1 = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    const z2 = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    if (i > 0) {
      btc *= Math.exp(vol * z1);
      eth *= Math.exp(1.2 * vol * (0.8 * z1 + 0.6 * z2));
    }
    b.push(`${d},${btc.toFixed(2)}`);
    e.push(`${d},${eth.toFixed(4)}`);
  });
  return { btc: b.join('\n') + '\n', eth: e.join('\n') + '\n' };
}

export function syntheticHistory(to?: string): History {
  const t = syntheticHistoryText(to);
  return loadHistory([
    { file: 'btc_synthetic.csv', text: t.btc },
    { file: 'eth_synthetic.csv', text: t.eth },
  ]);
}
