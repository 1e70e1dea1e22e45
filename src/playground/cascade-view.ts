/**
 * The cascade replay view (below the book view, on the book's worker): the loaded book moved
 * step by step by a price shock, liquidated by a mechanism at every step, with the insurance
 * fund, bad debt, socialised loss and ADL paths, and a table of every step.
 */
import type { EngineClient } from './client.js';
import { EngineError } from './client.js';
import type { CascadeView } from './cascade.js';
import { cascadeCharts } from './charts.js';
import { el, figure, int, pct, sci, usd } from './format.js';

export class CascadePanel {
  constructor(
    private readonly root: HTMLElement,
    private readonly engine: EngineClient,
    private readonly model: () => string,
  ) {}

  render(underlyings: string[], mechanisms: string[]): void {
    const mech = el('select', { id: 'cascade-mechanism', 'aria-label': 'liquidation mechanism' }, ...mechanisms.map((m) => el('option', m === 'deribit-incremental' ? { value: m, selected: '' } : { value: m }, m)));
    const under = el('select', { 'aria-label': 'underlying to shock' }, ...underlyings.map((u) => el('option', { value: u }, u)));
    const move = el('input', { type: 'number', id: 'cascade-move', value: '-3', step: '0.5', 'aria-label': 'move per step (%)' });
    const steps = el('input', { type: 'number', id: 'cascade-steps', value: '20', min: '1', max: '200', 'aria-label': 'steps' });
    const fund = el('input', { type: 'number', id: 'cascade-fund', min: '0', placeholder: "mechanism's", 'aria-label': 'starting insurance fund (USD)' });
    const go = el('button', { id: 'cascade-run' }, 'replay the cascade');
    const errs = { stepMove: el('span', { class: 'field-error', role: 'alert' }), steps: el('span', { class: 'field-error', role: 'alert' }), insuranceFundUsd: el('span', { class: 'field-error', role: 'alert' }), other: el('span', { class: 'field-error', role: 'alert' }) };
    const status = el('span', { class: 'status', role: 'status', id: 'cascade-status' });
    const out = el('div', { class: 'cascade-out' });
    go.onclick = async () => {
      for (const e of Object.values(errs)) e.textContent = '';
      status.textContent = 'replaying… (in the book worker: the page stays usable)';
      try {
        const v = await this.engine.call({
          type: 'cascade',
          model: this.model(),
          mechanism: mech.value,
          underlying: under.value,
          stepMove: Number(move.value) / 100,
          steps: Number(steps.value),
          ...(fund.value.trim() === '' ? {} : { insuranceFundUsd: Number(fund.value) }),
        });
        status.textContent = `${v.steps.length} steps in ${v.ms.toFixed(0)} ms`;
        this.show(out, v);
      } catch (e) {
        status.textContent = '';
        const path = e instanceof EngineError ? e.path : undefined;
        (path && path in errs ? errs[path as keyof typeof errs] : errs.other).textContent = (e as Error).message;
      }
    };
    this.root.replaceChildren(
      el('h3', {}, 'Cascade replay'),
      el('p', { class: 'muted' }, 'The book above moved by the same relative shock at every step (compounded), liquidated by the mechanism at every step, with price impact and the insurance fund, as `optmargin simulate` runs it.'),
      el('div', { class: 'row' }, el('label', {}, 'mechanism ', mech), el('label', {}, 'shock ', under, ' by ', move, ' % a step'), errs.stepMove, el('label', {}, 'steps ', steps), errs.steps),
      el('div', { class: 'row' }, el('label', {}, 'insurance fund (USD) ', fund), errs.insuranceFundUsd, go, status, errs.other),
      out,
    );
  }

  private show(out: HTMLElement, v: CascadeView): void {
    const sum = (f: (s: CascadeView['steps'][number]) => number) => v.steps.reduce((a, s) => a + f(s), 0);
    const last = v.steps[v.steps.length - 1];
    const summary = el(
      'p',
      { id: 'cascade-summary', 'data-liquidated': String(sum((s) => s.liquidated)), 'data-fund': String(last.insuranceFund) },
      `before: ${int(v.before.accounts)} accounts, IM per unit of gross notional ${pct(v.before.imPerNotional)} · ${int(sum((s) => s.liquidated))} liquidations, volume ${usd(sum((s) => s.volumeUsd))} USD, ` +
        `fees ${usd(sum((s) => s.fees))} USD · bad debt ${usd(sum((s) => s.badDebt))} USD, of which the fund covered ${usd(sum((s) => s.insuranceCovered))}, socialised ${usd(sum((s) => s.socialised))}, ADL ${usd(sum((s) => s.adlCharged))} · fund ${usd(v.fund0)} → ${usd(last.insuranceFund)} USD`,
    );
    const head = ['step', `${v.underlying} index (USD)`, 'liquidated', 'volume (USD)', 'fees (USD)', 'bad debt (USD)', 'socialised (USD)', 'ADL (USD)', 'fund (USD)', 'ledger residual (USD)'];
    const t = el('table', { class: 'grid', id: 'cascade-steps' }, el('tr', {}, ...head.map((h) => el('th', {}, h))));
    for (const s of v.steps) {
      t.append(el('tr', {}, el('td', {}, s.label), figure(s.spot[v.underlying]), el('td', { class: 'num' }, int(s.liquidated)), figure(s.volumeUsd), figure(s.fees), figure(s.badDebt), figure(s.socialised), figure(s.adlCharged), figure(s.insuranceFund), figure(s.ledger.residual, {}, sci)));
    }
    const a = el('div', { class: 'chart', id: 'chart-cascade-fund' });
    const b = el('div', { class: 'chart', id: 'chart-cascade-liquidations' });
    out.replaceChildren(summary, el('div', { class: 'charts2' }, a, b), el('div', { class: 'scroll' }, t));
    cascadeCharts(a, b, v);
  }
}
