/**
 * The book view: generate or load a book, margin it in its own worker, show the health
 * histogram, the margin ratio histogram, totals and the worst accounts; a slider moves an
 * underlying's index and re-margins only the accounts holding it (the book engine's tick); the
 * cascade replay (cascade-view.ts) then runs a liquidation path on the loaded book.
 */
import type { EngineClient } from './client.js';
import type { BookView } from './protocol.js';
import { bookCharts } from './charts.js';
import { el, figure, int, usd } from './format.js';
import { CascadePanel } from './cascade-view.js';

export class BookPanel {
  private busy = false;
  private pendingMove: number | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly engine: EngineClient,
    private readonly model: () => string,
  ) {}

  render(underlyings: string[], mechanisms: string[]): void {
    const n = el('input', { type: 'number', value: '10000', min: '1', max: '200000', size: '7', 'aria-label': 'accounts' });
    const seed = el('input', { type: 'number', value: '1', min: '0', size: '4', 'aria-label': 'seed' });
    const gen = el('button', { id: 'book-generate' }, 'generate and margin');
    const file = el('input', { type: 'file', accept: '.json', 'aria-label': 'load a book (JSON array of accounts)' });
    const under = el('select', { 'aria-label': 'underlying to move' }, ...underlyings.map((u) => el('option', { value: u }, u)));
    const slider = el('input', { type: 'range', min: '-40', max: '40', value: '0', step: '1', id: 'book-tick', disabled: '', 'aria-label': 'index move (%)' });
    const moveLabel = el('output', {}, '0 %');
    const status = el('span', { class: 'status', role: 'status' });
    const err = el('span', { class: 'field-error', role: 'alert' });
    const out = el('div', { class: 'book-out' });
    // the cascade replay runs on the loaded book: shown once a book is there
    const cascade = el('div', { id: 'cascade' });
    let cascadeShown = false;
    const run = async (f: () => Promise<BookView>, what: string) => {
      err.textContent = '';
      status.textContent = `${what}… (in a worker: the page stays usable)`;
      try {
        const v = await f();
        slider.removeAttribute('disabled');
        this.show(out, v);
        if (!cascadeShown) new CascadePanel(cascade, this.engine, this.model).render(underlyings, mechanisms);
        cascadeShown = true;
        status.textContent = `${what}: ${v.ms.toFixed(0)} ms${v.changed !== undefined ? `, ${int(v.changed)} accounts re-margined` : ''}`;
      } catch (e) {
        err.textContent = (e as Error).message;
        status.textContent = '';
      }
    };
    gen.onclick = () => void run(() => this.engine.call({ type: 'bookGenerate', accounts: Number(n.value), seed: Number(seed.value), model: this.model() }), `margining ${int(Number(n.value))} accounts`);
    file.onchange = async () => {
      const f = file.files?.[0];
      if (f) await run(async () => this.engine.call({ type: 'bookLoad', text: await f.text(), model: this.model() }), `margining ${f.name}`);
    };
    const tick = async () => {
      // ticks are serialized: the latest slider position wins
      if (this.busy) return;
      this.busy = true;
      while (this.pendingMove !== null) {
        const move = this.pendingMove;
        this.pendingMove = null;
        await run(() => this.engine.call({ type: 'bookTick', underlying: under.value, move }), `tick ${under.value} ${move >= 0 ? '+' : ''}${(move * 100).toFixed(0)} %`);
      }
      this.busy = false;
    };
    slider.oninput = () => {
      moveLabel.textContent = `${slider.value} %`;
      this.pendingMove = Number(slider.value) / 100;
      void tick();
    };
    this.root.replaceChildren(
      el('div', { class: 'row' }, el('label', {}, 'accounts ', n), el('label', {}, 'seed ', seed), gen, el('label', {}, 'or load ', file)),
      el('div', { class: 'row' }, el('label', {}, 'move ', under, ' index by ', slider, ' ', moveLabel), status, err),
      out,
      cascade,
    );
  }

  private show(out: HTMLElement, v: BookView): void {
    const s = v.summary;
    const totals = el(
      'table',
      { class: 'grid' },
      el('tr', {}, el('th', {}, 'accounts'), el('th', {}, 'errors'), el('th', {}, 'total equity (USD)'), el('th', {}, 'total IM (USD)'), el('th', {}, 'total MM (USD)')),
      el('tr', {}, el('td', { class: 'num' }, int(s.accounts)), el('td', { class: 'num' }, int(s.errors)), figure(s.totalEquity), figure(s.totalInitialMargin), figure(s.totalMaintenanceMargin)),
    );
    const worst = el('table', { class: 'grid' }, el('tr', {}, el('th', {}, 'account'), el('th', {}, 'health'), el('th', {}, 'equity (USD)'), el('th', {}, 'MM (USD)'), el('th', {}, 'shortfall (USD)')));
    for (const w of s.worst) worst.append(el('tr', {}, el('td', {}, w.id), el('td', { class: `health ${w.health.replace(' ', '-')}` }, w.health), figure(w.equity), figure(w.maintenanceMargin), el('td', { class: 'num' }, usd(w.shortfall))));
    const h1 = el('div', { class: 'chart' });
    const h2 = el('div', { class: 'chart' });
    out.replaceChildren(el('div', { class: 'charts2' }, h1, h2), el('h3', {}, 'Totals'), totals, el('h3', {}, 'Closest to (or deepest in) liquidation'), worst);
    bookCharts(h1, h2, v);
  }
}
