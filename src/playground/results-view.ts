/**
 * Margin of the account under every preset, side by side: equity, IM, MM, available funds,
 * margin ratio, health, the worst scenario and each preset's components (USD).
 */
import type { MarginResult, MarginResultOk } from '../measures/types.js';
import { el, figure, pct } from './format.js';

type Row = { model: string; result: MarginResult; ms: number };

/** Component lines of one result: the mechanism's own components, else its grid or its positions' requirements. */
function components(r: MarginResultOk): [string, number][] {
  if (r.components) return Object.entries(r.components);
  const out: [string, number][] = [];
  if (r.grid) {
    for (const g of r.grid) {
      out.push([`${g.underlying} worst loss`, g.worstLoss]);
      for (const [k, v] of Object.entries(g.addOns)) if (v !== 0) out.push([`${g.underlying} ${k}`, v]);
    }
    return out;
  }
  let im = 0;
  let mm = 0;
  for (const p of r.positions) {
    im += p.initialMargin ?? 0;
    mm += p.maintenanceMargin ?? 0;
  }
  out.push(['positions IM (sum)', im], ['positions MM (sum)', mm]);
  return out;
}

export function renderPresets(table: HTMLTableElement, rows: Row[]): void {
  const head = el('tr', {}, el('th', {}, 'USD'), ...rows.map((r) => el('th', { 'data-model': r.model }, r.model)));
  const line = (label: string, cell: (r: MarginResultOk) => HTMLTableCellElement, cls = '') =>
    el('tr', { class: cls }, el('th', { class: 'label' }, label), ...rows.map((r) => {
      const td = r.result.ok ? cell(r.result) : el('td', {});
      td.dataset.model = r.model;
      return td;
    }));
  const errRow = el('tr', { class: 'errors' }, el('th', { class: 'label' }, 'error'), ...rows.map((r) => el('td', { class: 'field-error' }, r.result.ok ? '' : `${r.result.error.message}`)));
  const out: HTMLTableRowElement[] = [head];
  if (rows.some((r) => !r.result.ok)) out.push(errRow);
  out.push(
    // a segregated Deribit sub-account (deribit-pm) is margined in its coin: its figures are in that coin
    line('currency of the figures', (r) => el('td', { 'data-figure': 'currency' }, r.usd ? `${r.currency} (IM ${Math.round(r.usd.initialMargin).toLocaleString('en-US')} USD)` : r.currency)),
    line('equity', (r) => figure(r.equity, { 'data-figure': 'equity' })),
    line('initial margin (IM)', (r) => figure(r.initialMargin, { 'data-figure': 'im' }), 'key'),
    line('maintenance margin (MM)', (r) => figure(r.maintenanceMargin, { 'data-figure': 'mm' })),
    line('available funds', (r) => figure(r.availableFunds)),
    line('margin ratio (MM / equity)', (r) => el('td', { class: 'num' }, pct(r.marginRatio))),
    line('health', (r) => el('td', { class: `health ${r.health.replace(' ', '-')}` }, r.health)),
    line('worst scenario', (r) => el('td', {}, r.grid?.map((g) => `${g.underlying}: ${g.worstScenario.label}`).join('; ') || '–')),
    line('computed as', (r) => el('td', { class: 'muted' }, `${r.modeApplied} · ${r.model.mechanism}`)),
  );
  const labels = new Set<string>();
  for (const r of rows) if (r.result.ok) for (const [k] of components(r.result)) labels.add(k);
  for (const label of labels) {
    out.push(
      line(`  ${label}`, (r) => {
        const c = components(r).find(([k]) => k === label);
        return c ? figure(c[1]) : el('td', { class: 'muted' }, '–');
      }, 'component'),
    );
  }
  out.push(el('tr', { class: 'muted' }, el('th', { class: 'label' }, 'engine time (ms)'), ...rows.map((r) => el('td', { class: 'num' }, r.ms.toFixed(2)))));
  table.replaceChildren(...out);
}

/** The what-if table: before, after and the change. */
export function renderWhatIf(table: HTMLTableElement, w: { before: Record<string, unknown>; after: Record<string, unknown>; delta: Record<string, number> }): void {
  const keys: [string, string][] = [
    ['equity', 'equity'],
    ['initialMargin', 'initial margin'],
    ['maintenanceMargin', 'maintenance margin'],
    ['availableFunds', 'available funds'],
  ];
  table.replaceChildren(
    el('tr', {}, el('th', {}, 'USD'), el('th', {}, 'before'), el('th', {}, 'after'), el('th', {}, 'change')),
    ...keys.map(([k, label]) => el('tr', {}, el('th', { class: 'label' }, label), figure(w.before[k] as number), figure(w.after[k] as number), figure(w.delta[k]))),
    el('tr', {}, el('th', { class: 'label' }, 'health'), el('td', {}, String(w.before.health)), el('td', {}, String(w.after.health)), el('td', {})),
  );
}

