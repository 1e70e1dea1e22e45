/**
 * The liquidation view: the portfolio on a market moved by a slider (futures held at today's
 * entry), and the liquidation plan a mechanism would run on it (the liquidation engine's
 * planLiquidation, as `optmargin liquidate` prints it): steps, fees, equity and MM after each.
 */
import type { AccountInput } from '../measures/types.js';
import type { LiquidationPlan } from '../liquidation/plan.js';
import type { EngineClient } from './client.js';
import type { Catalog } from './protocol.js';
import { planChart } from './charts.js';
import { el, figure, usd } from './format.js';

export class LiquidationPanel {
  private busy = false;
  private again = false;
  /** re-plans with the current portfolio (called when it changes) */
  refresh: () => void = () => undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly engine: EngineClient,
    private readonly account: () => AccountInput,
    private readonly model: () => string,
  ) {}

  render(c: Catalog): void {
    const mech = el('select', { id: 'liq-mechanism', 'aria-label': 'liquidation mechanism' }, ...c.mechanisms.map((m) => el('option', m === 'deribit-incremental' ? { value: m, selected: '' } : { value: m }, m)));
    const under = el('select', { 'aria-label': 'underlying to move' }, ...c.underlyings.map((u) => el('option', { value: u.underlying }, u.underlying)));
    const slider = el('input', { type: 'range', min: '-60', max: '60', value: '-40', step: '1', id: 'liq-move', 'aria-label': 'index move (%)' });
    const label = el('output', {}, '-40 %');
    const err = el('span', { class: 'field-error', role: 'alert' });
    const summary = el('p', { class: 'status', id: 'liq-summary' });
    const chart = el('div', { class: 'chart', id: 'chart-plan' });
    const steps = el('div', { class: 'scroll' });
    const run = async () => {
      if (this.busy) return void (this.again = true);
      this.busy = true;
      err.textContent = '';
      try {
        const move = slider.value;
        const plan = await this.engine.call({ type: 'liquidation', account: this.account(), model: this.model(), underlying: under.value, move: Number(move) / 100, mechanism: mech.value });
        this.show(plan, summary, steps);
        summary.dataset.move = move;
        summary.dataset.steps = String(plan.steps.length);
        if (plan.steps.length) planChart(chart, plan);
        else chart.replaceChildren(el('p', { class: 'muted' }, 'no step: nothing to liquidate at this price'));
      } catch (e) {
        err.textContent = (e as Error).message;
      }
      this.busy = false;
      if (this.again) {
        this.again = false;
        void run();
      }
    };
    slider.oninput = () => {
      label.textContent = `${slider.value} %`;
      void run();
    };
    mech.onchange = under.onchange = () => void run();
    this.refresh = () => void run();
    this.root.replaceChildren(
      el('div', { class: 'row' }, el('label', {}, 'mechanism ', mech), el('label', {}, 'move ', under, ' index by ', slider, ' ', label), err),
      summary,
      el('div', { class: 'charts2' }, chart, steps),
    );
    void run();
  }

  private show(p: LiquidationPlan, summary: HTMLElement, box: HTMLElement): void {
    const b = p.before;
    summary.textContent =
      `before: equity ${usd(b.equity)} USD, MM ${usd(b.maintenanceMargin)} USD (${b.health}) · ${p.mechanism.id} (${p.strategy}, target ${p.target.kind}` +
      `${p.target.buffer ? ` +${(p.target.buffer * 100).toFixed(0)} %` : ''}) · ${p.totals.steps} steps, ${usd(p.totals.closedNotionalUsd)} USD closed, fees ${usd(p.totals.fees)} USD · ${p.restored ? 'restored' : 'not restored'}: ${p.reason}`;
    const t = el('table', { class: 'grid', id: 'liq-steps' }, el('tr', {}, ...['step', 'action', 'size', 'price (instrument unit)', 'notional (USD)', 'fee (USD)', 'equity after (USD)', 'MM after (USD)'].map((h) => el('th', {}, h))));
    for (const s of p.steps.slice(0, 200)) {
      // a trade of the account (plan-core.ts isTrade's test: this view imports the plan's types only)
      const trade = s.type === 'close' || s.type === 'hedge' ? s : null;
      const what = trade ? `${trade.type} ${trade.instrument}` : s.type === 'auction-bid' ? `auction bid ${(s.percent * 100).toFixed(1)} %${s.position === undefined ? '' : ` of position ${s.position}`} at t=${s.t}s` : 'auction start';
      const size = trade ? String(+trade.size.toPrecision(6)) : '';
      const price = trade ? String(+trade.price.toPrecision(6)) : '';
      t.append(el('tr', {}, el('td', { class: 'num' }, String(s.step)), el('td', {}, what), el('td', { class: 'num' }, size), el('td', { class: 'num' }, price), figure(s.notionalUsd), figure(s.fee), figure(s.equity), figure(s.maintenanceMargin)));
    }
    box.replaceChildren(t);
  }
}
