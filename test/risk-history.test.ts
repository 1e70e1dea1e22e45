/**
 * VaR/ES on the real histories of ../shared/data against independent references:
 * - var_reference_computed.json (numpy, computed outside this project; its "lower order statistic"
 *   is the ceil(Nα)-th smallest loss = our 'empirical', its es_strict the mean of the ⌊Nβ⌋ worst);
 * - scripts/risk_reference.py (numpy, run live when python3 with numpy is present): long 1 BTC,
 *   FHS, a short 30-day ATM straddle on DVOL, and a rolling backtest's exception dates.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InstrumentTable } from '../src/instruments/table.js';
import { backtest } from '../src/risk/backtest.js';
import { dateIndex, loadHistory } from '../src/risk/history.js';
import { tailMean, valueAtRisk, expectedShortfall } from '../src/measures/quantiles.js';
import { accountPnl, resolveHoldings, riskAccount } from '../src/scenarios/holdings.js';
import { revalueInstruments } from '../src/risk/revalue.js';
import { materialise } from '../src/risk/rolling.js';
import { dynamicMargin, loadVarEsModel, varEsMargin } from '../src/risk/var-margin.js';
import { marketFromHistory, scenarioSetFor, type VarMethod } from '../src/risk/var.js';
import { HAVE_SHARED, SHARED_DATA, relErr, sharedSkipNote } from './helpers.js';

const BTC = `${SHARED_DATA}btc_usdt_1d_binance.csv`;
const ETH = `${SHARED_DATA}eth_usdt_1d_binance.csv`;
const DVOL = `${SHARED_DATA}btc_dvol_1d.csv`;

const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!HAVE_SHARED) console.warn('risk-history tests SKIPPED: ../shared/data not found');
else if (!numpy) console.warn('numpy reference tests SKIPPED: python3 with numpy not found (apt-get install python3-numpy)');

function pnlOf(files: string[], account: unknown, asOf: string, method: VarMethod, lookback: number): Float64Array {
  const h = loadHistory(files.map((file) => ({ file })));
  const k = dateIndex(h, asOf);
  const market = marketFromHistory(h, k);
  const table = new InstrumentTable(market);
  const hold = resolveHoldings(table, riskAccount(materialise(account, market)));
  const set = scenarioSetFor(h, { method, asOfIndex: k, lookback });
  return accountPnl(hold, revalueInstruments(table, set));
}

const LONG_BTC = { id: 'long-btc', collateral: { BTC: 1 } };
const LONG_ETH = { id: 'long-eth', positions: [{ instrument: 'ETH_USDC', size: 1 }] };
const STRADDLE = {
  id: 'short-straddle',
  positions: [
    { atm: { underlying: 'BTC', type: 'call', days: 30 }, size: -1 },
    { atm: { underlying: 'BTC', type: 'put', days: 30 }, size: -1 },
  ],
};

describe.skipIf(!HAVE_SHARED)(sharedSkipNote('historical VaR vs var_reference_computed.json (numpy)'), () => {
  const ref = HAVE_SHARED ? JSON.parse(readFileSync(`${SHARED_DATA}var_reference_computed.json`, 'utf8')) : { cases: [] };
  it('every case: empirical and linear VaR, tail means', () => {
    expect(ref.cases.length).toBeGreaterThan(10);
    for (const c of ref.cases) {
      const acct = { id: c.portfolio, collateral: { BTC: c.qty_btc, ETH: c.qty_eth } };
      const x = pnlOf([BTC, ETH], acct, ref.end_date, 'hs', c.window);
      const emp = valueAtRisk(x, c.alpha, 'empirical');
      // the file prints 6 decimals
      expect(emp).toBeCloseTo(c.var_lower_order_statistic, 5);
      expect(valueAtRisk(x, c.alpha, 'linear')).toBeCloseTo(c.var_numpy_linear, 5);
      expect(tailMean(x, emp)).toBeCloseTo(c.es_tail_mean, 5);
      expect(-[...x].sort((a, b) => a - b)[0]).toBeCloseTo(c.max_loss, 5);
    }
  });
});

describe.skipIf(!HAVE_SHARED || !numpy)(sharedSkipNote('risk engine vs scripts/risk_reference.py (numpy, live)') + (numpy ? '' : ' [SKIPPED: python3 with numpy not found]'), () => {
  const ref = HAVE_SHARED && numpy ? JSON.parse(spawnSync('python3', ['scripts/risk_reference.py', SHARED_DATA], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout) : {};
  const close = (a: number, b: number) => expect(relErr(a, b)).toBeLessThan(1e-9);
  it('long 1 BTC: three VaR conventions and Acerbi–Tasche ES', () => {
    for (const c of ref.long1btc) {
      const x = pnlOf([BTC], LONG_BTC, c.asOf, 'hs', c.lookback);
      close(valueAtRisk(x, c.alpha, 'lower'), c.lower);
      close(valueAtRisk(x, c.alpha, 'empirical'), c.empirical);
      close(valueAtRisk(x, c.alpha, 'linear'), c.linear);
      close(expectedShortfall(x, c.alpha), c.es);
    }
  });
  it('FHS (EWMA λ 0.94 over the whole file, seed = mean of the first 30 squared returns)', () => {
    for (const c of ref.fhs) {
      const x = pnlOf([BTC], LONG_BTC, c.asOf, 'fhs', c.lookback);
      close(valueAtRisk(x, c.alpha, 'linear'), c.linear);
      close(expectedShortfall(x, c.alpha), c.es);
    }
  });
  it('short 30-day ATM straddle on DVOL, fully revalued', () => {
    for (const c of ref.straddle) {
      const x = pnlOf([BTC, DVOL], STRADDLE, c.asOf, 'hs', c.lookback);
      for (const q of ['lower', 'empirical', 'linear'] as const) expect(relErr(valueAtRisk(x, c.alpha, q), c[q])).toBeLessThan(1e-7);
      expect(relErr(expectedShortfall(x, c.alpha), c.es)).toBeLessThan(1e-7);
    }
  });
  it('var-es-975 margin of long 1 BTC (FHS ES over 2 days, 25 % buffer, stressed-period floor)', () => {
    const h = loadHistory([{ file: BTC }]);
    const c = ref.varEs975;
    const f = varEsMargin(h, dateIndex(h, c.asOf), LONG_BTC, loadVarEsModel('var-es-975'));
    close(f.base, c.base);
    close(f.stressed, c.stressed);
    close(f.initialMargin, c.im);
    close(f.maintenanceMargin, c.mm);
  });
  it('rolling backtest: the same exception dates', () => {
    const h = loadHistory([{ file: BTC }]);
    for (const c of ref.backtest) {
      const r = backtest(h, LONG_BTC, { from: c.from, to: c.to, alpha: c.alpha, quantile: 'empirical', scenario: { method: 'hs', lookback: c.lookback } });
      expect(r.observations).toBe(c.observations);
      expect(r.exceptions.map((e) => e.date)).toEqual(c.exceptions);
    }
  });
});

describe.skipIf(!HAVE_SHARED)(sharedSkipNote('histories'), () => {
  it('aligns BTC and ETH by date and reads DVOL as decimals', () => {
    const h = loadHistory([{ file: BTC }, { file: ETH }, { file: DVOL }]);
    expect(h.underlyings).toEqual(['BTC', 'ETH']);
    expect(h.dates[0]).toBe('2019-01-01');
    const k = dateIndex(h, '2022-11-09');
    expect(h.vol.BTC[k]).toBeGreaterThan(0.3);
    expect(Number.isNaN(h.vol.BTC[0])).toBe(true);
    expect(existsSync(BTC)).toBe(true);
  });
  it('dynamic var-es margin: the daily re-run equals the one-date model, beside a fixed grid on the same market', () => {
    const h = loadHistory([{ file: BTC }, { file: ETH }]);
    const p = loadVarEsModel('var-es-975');
    const acct = { id: 'perp', mode: 'portfolio', collateral: { USDC: 20000 }, positions: [{ instrument: 'BTC-PERPETUAL', size: 20000 }] };
    const days = dynamicMargin(h, acct, p, '2022-11-07', '2022-11-10', 'span-16');
    expect(days.map((d) => d.date)).toEqual(['2022-11-07', '2022-11-08', '2022-11-09', '2022-11-10']);
    for (const d of days) {
      expect(d.im).toBe(varEsMargin(h, dateIndex(h, d.date), acct, p).initialMargin);
      expect(d.im).toBeGreaterThanOrEqual(d.stressed);
      expect(d.gridIm).toBeGreaterThan(0);
    }
    // FTX week: the EWMA vol forecast rises after the 2022-11-08/09 moves
    expect(days[3].dailyVol.BTC).toBeGreaterThan(days[0].dailyVol.BTC);
  });
  it('names the file, line and value of a bad row', () => {
    expect(() => loadHistory([{ file: 'btc.csv', text: 'date,close\n2020-01-01,5\n2020-01-02,x\n' }])).toThrow(/btc.csv: line 3: close must be a number > 0, got "x"/);
    expect(() => loadHistory([{ file: 'btc.csv', text: 'date,close\n2020-01-02,5\n2020-01-01,6\n' }])).toThrow(/strictly increasing/);
    expect(() => dateIndex(loadHistory([{ file: 'btc.csv', text: 'date,close\n2020-01-01,5\n2020-01-02,6\n' }]), '2021-01-01')).toThrow(/--as-of 2021-01-01 is not a date of the history/);
  });
});
