/**
 * The risk view: a rolling VaR backtest of the portfolio (the risk engine's `backtest`, as
 * `optmargin backtest` runs it) over a price history the user drops (CSV `date,close`, optionally
 * a DVOL file), charted as daily P&L against −VaR with the exceptions marked, with the coverage
 * tests and the Basel zone.
 */
import type { AccountInput } from '../measures/types.js';
import type { BacktestResult } from '../risk/backtest.js';
import type { EngineClient } from './client.js';
import { backtestChart } from './charts.js';
import { el } from './format.js';

export class RiskPanel {
  constructor(
    private readonly root: HTMLElement,
    private readonly engine: EngineClient,
    private readonly account: () => AccountInput,
  ) {}

  render(): void {
    const files = el('input', { type: 'file', accept: '.csv', multiple: '', id: 'risk-history', 'aria-label': 'price history CSV files' });
    const alpha = el('select', { 'aria-label': 'confidence' }, el('option', { value: '0.99' }, '99 %'), el('option', { value: '0.975' }, '97.5 %'), el('option', { value: '0.95' }, '95 %'));
    const method = el('select', { 'aria-label': 'VaR method' }, el('option', { value: 'hs' }, 'historical'), el('option', { value: 'fhs' }, 'filtered historical'));
    const lookback = el('input', { type: 'number', value: '250', min: '20', size: '5', 'aria-label': 'lookback (days)' });
    const days = el('input', { type: 'number', value: '250', min: '20', size: '5', 'aria-label': 'days tested' });
    const run = el('button', { id: 'risk-run' }, 'backtest the portfolio');
    const status = el('span', { class: 'status', role: 'status' });
    const err = el('span', { class: 'field-error', role: 'alert' });
    const chart = el('div', { class: 'chart', id: 'chart-backtest' });
    const stats = el('table', { class: 'grid' });
    run.onclick = async () => {
      err.textContent = '';
      const list = [...(files.files ?? [])];
      if (list.length === 0) return void (err.textContent = 'choose a price history: a CSV with date and close columns (e.g. btc_usd_1d.csv), optionally a DVOL CSV');
      status.textContent = 'backtesting in the worker…';
      const t0 = performance.now();
      try {
        const r = await this.engine.call({
          type: 'backtest',
          account: this.account(),
          files: await Promise.all(list.map(async (f) => ({ name: f.name, text: await f.text() }))),
          alpha: Number(alpha.value),
          method: method.value as 'hs' | 'fhs',
          lookback: Number(lookback.value),
          days: Number(days.value),
        });
        status.textContent = `${r.observations} days in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
        backtestChart(chart, r);
        this.stats(stats, r);
      } catch (e) {
        status.textContent = '';
        err.textContent = (e as Error).message;
      }
    };
    this.root.replaceChildren(
      el('div', { class: 'row' }, el('label', {}, 'history ', files), el('label', {}, 'VaR ', alpha), el('label', {}, 'method ', method), el('label', {}, 'lookback (days) ', lookback), el('label', {}, 'days tested ', days), run, status, err),
      el('div', { class: 'charts2' }, chart, stats),
    );
  }

  private stats(t: HTMLTableElement, r: BacktestResult): void {
    const p = (x: number) => x.toFixed(4);
    const rows: [string, string][] = [
      ['account', r.account],
      ['period', `${r.from} … ${r.to}`],
      ['observations', String(r.observations)],
      ['exceptions (expected)', `${r.exceptionCount} (${r.expected.toFixed(1)})`],
      ['Kupiec POF p-value', p(r.kupiec.p)],
      ['Christoffersen independence p-value', p(r.christoffersen.p)],
      ['conditional coverage p-value', p(r.conditionalCoverage.p)],
      ['Basel zone (last 250 days)', r.basel.zone ?? 'n/a (< 250 days)'],
    ];
    t.replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('th', { class: 'label' }, k), el('td', {}, v))));
  }
}
