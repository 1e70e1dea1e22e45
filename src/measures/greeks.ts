/** Greeks of an account per underlying, from the instrument table's per-unit Greeks. */
import type { Resolved } from '../instruments/resolve.js';
import type { InstrumentTable } from '../instruments/table.js';
import type { UnderlyingGreeks } from './types.js';

/** Greeks per underlying of positions [from, to) (an inverse future's delta sits in its coin leg). */
export function greeksOf(tb: InstrumentTable, r: Resolved, from = 0, to = r.n): Record<string, UnderlyingGreeks> {
  const out: Record<string, UnderlyingGreeks> = {};
  for (let p = from; p < to; p++) {
    const i = r.instr[p];
    const u = tb.underlyings[tb.underlyingOf[i]];
    const g = (out[u] ??= { delta: 0, gamma: 0, vega: 0, theta: 0 });
    const q = r.size[p];
    g.delta += q * tb.delta[i] + r.posCoin[p];
    g.gamma += q * tb.gamma[i];
    g.vega += q * tb.vega[i];
    g.theta += q * tb.theta[i];
  }
  return out;
}
