/**
 * The playground page: boots the engine worker, margins the default portfolio without any click,
 * then keeps every view in step with the portfolio editor. All computing happens in workers.
 */
import './style.css';
import type { AccountInput, MarginResult } from '../measures/types.js';
import { EngineClient, EngineError } from './client.js';
import type { Catalog, WireError } from './protocol.js';
import { gridChart, greeksChart, profileChart, resizeCharts, whatIfChart } from './charts.js';
import { BookPanel } from './book-view.js';
import { RiskPanel } from './risk-view.js';
import { LiquidationPanel } from './liquidation-view.js';
import { PortfolioEditor, defaultPortfolio, exportAccount, parseAccountJson } from './portfolio.js';
import { renderPresets, renderWhatIf } from './results-view.js';
import { el } from './format.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const WASM = { simd: './optmargin.simd.wasm', scalar: './optmargin.scalar.wasm' };

const engine = new EngineClient('./worker.js');
let bookEngine: EngineClient | null = null;
let catalog: Catalog;
let results: { model: string; result: MarginResult; ms: number }[] = [];
let seq = 0;
let firstFigure = false;
let liquidation: LiquidationPanel | undefined;

const chartModel = () => ($<HTMLSelectElement>('chart-model').value || 'deribit-pm-2024.1');
const chartUnderlying = () => $<HTMLSelectElement>('chart-underlying').value;

function status(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'field-error' : 'status';
}

const editor = new PortfolioEditor($('editor'), { id: 'playground', mode: 'portfolio', collateral: {}, positions: [] }, {
  changed: () => void recompute(),
  checkInstrument: async (name) => void (await engine.call({ type: 'instrument', name })),
});

async function recompute(): Promise<void> {
  const mine = ++seq;
  const account = editor.account;
  try {
    // the charted model first (its figure shows at once), then every other preset
    const first = chartModel();
    const rows = await engine.call({ type: 'marginAll', account, models: [first] });
    if (mine !== seq) return;
    results = rows;
    renderPresets($<HTMLTableElement>('presets'), rows);
    if (!firstFigure) {
      firstFigure = true;
      const ms = performance.now();
      document.body.dataset.firstMarginMs = ms.toFixed(1);
      status(`first margin figure ${ms.toFixed(0)} ms after page load`);
    }
    const rest = await engine.call({ type: 'marginAll', account, models: catalog.models.map((m) => m.id).filter((m) => m !== first) });
    if (mine !== seq) return;
    results = catalog.models.map((m) => [...rows, ...rest].find((r) => r.model === m.id)!).filter(Boolean);
    renderPresets($<HTMLTableElement>('presets'), results);
    editor.showErrors(commonErrors(results));
    liquidation?.refresh();
    await drawCharts(account, mine);
  } catch (e) {
    status((e as Error).message, true);
  }
}

/** Errors every preset reports (a bad field): shown beside the field; a preset's own refusal stays in its column. */
function commonErrors(rows: { result: MarginResult }[]): WireError[] {
  const errs = rows.map((r) => (r.result.ok ? null : r.result.error));
  if (errs.length === 0 || errs.some((e) => e === null)) return [];
  return [errs[0]!];
}

async function drawCharts(account: AccountInput, mine: number): Promise<void> {
  const r = results.find((x) => x.model === chartModel())?.result;
  const u = chartUnderlying();
  const note = $('chart-note');
  note.textContent = '';
  if (!r || !r.ok) {
    note.textContent = r && !r.ok ? `${chartModel()}: ${r.error.message}` : '';
    return;
  }
  const g = r.grid?.find((x) => x.underlying === u) ?? r.grid?.[0];
  if (g) gridChart($('chart-grid'), g);
  else $('chart-grid').replaceChildren(el('p', { class: 'muted' }, `${chartModel()} is a ${r.model.mechanism} model: it scans no scenario grid (pick deribit-pm-2024.1, span-16 or aevo-15).`));
  if (Object.keys(r.greeks).length) greeksChart($('chart-greeks'), r.greeks);
  const under = r.greeks[u] ? u : Object.keys(r.greeks)[0];
  if (!under) return;
  try {
    const p = await engine.call({ type: 'profile', account, model: chartModel(), underlying: under });
    if (mine === seq) profileChart($('chart-profile'), p);
  } catch (e) {
    $('chart-profile').replaceChildren(el('p', { class: 'field-error' }, (e as Error).message));
  }
}

function setCatalog(c: Catalog): void {
  catalog = c;
  editor.setCatalog(c);
  $('market').textContent = `${c.source} · valued ${new Date(c.valuationTime).toISOString().slice(0, 16).replace('T', ' ')} UTC · market hash ${c.marketHash.slice(0, 12)}`;
  const models = $<HTMLSelectElement>('chart-model');
  const keep = models.value || 'deribit-pm-2024.1';
  models.replaceChildren(...c.models.map((m) => el('option', m.id === keep ? { value: m.id, selected: '' } : { value: m.id }, m.id)));
  $<HTMLSelectElement>('chart-underlying').replaceChildren(...c.underlyings.map((u) => el('option', { value: u.underlying }, u.underlying)));
}

async function loadFile(f: File): Promise<void> {
  const text = await f.text();
  const t = text.trimStart();
  if (t.startsWith('{') && /"positions"\s*:/.test(text)) {
    try {
      editor.set(parseAccountJson(text));
      status(`account imported from ${f.name}`);
    } catch (e) {
      status(`${f.name}: ${(e as Error).message}`, true);
    }
    return;
  }
  try {
    setCatalog(await engine.call({ type: 'market', file: { name: f.name, text } }));
    status(`market loaded from ${f.name}`);
    await recompute();
  } catch (e) {
    status(`${f.name}: ${(e as Error).message}`, true);
  }
}

function wire(): void {
  $('export').onclick = () => exportAccount(editor.account);
  $<HTMLInputElement>('import').onchange = (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void loadFile(f);
  };
  $('reset-market').onclick = async () => {
    setCatalog(await engine.call({ type: 'market', file: null }));
    await recompute();
  };
  $('chart-model').onchange = () => void drawCharts(editor.account, seq);
  $('chart-underlying').onchange = () => void drawCharts(editor.account, seq);
  document.body.ondragover = (e) => e.preventDefault();
  document.body.ondrop = (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) void loadFile(f);
  };
  $('whatif-run').onclick = async () => {
    const err = $('whatif-error');
    err.textContent = '';
    const change = { instrument: $<HTMLInputElement>('whatif-instrument').value.trim(), size: Number($<HTMLInputElement>('whatif-size').value) };
    try {
      const w = await engine.call({ type: 'whatif', account: editor.account, model: chartModel(), changes: [change] });
      renderWhatIf($<HTMLTableElement>('whatif-table'), w as never);
      whatIfChart($('chart-whatif'), w);
    } catch (e) {
      err.textContent = e instanceof EngineError ? e.message : String(e);
    }
  };
  $('book-open').onclick = () => {
    bookEngine ??= new EngineClient('./worker.js');
    const be = bookEngine;
    $('book').replaceChildren(el('span', { class: 'status' }, 'starting the book worker…'));
    be.call({ type: 'init', wasm: WASM }).then(
      () => new BookPanel($('book'), be, chartModel).render(catalog.underlyings.map((u) => u.underlying), catalog.mechanisms),
      (e: Error) => $('book').replaceChildren(el('span', { class: 'field-error' }, e.message)),
    );
  };
  new RiskPanel($('risk'), engine, () => editor.account).render();
  window.addEventListener('resize', () => resizeCharts());
}

async function boot(): Promise<void> {
  wire();
  try {
    setCatalog(await engine.call({ type: 'init', wasm: WASM }));
  } catch (e) {
    status(`the engine could not start: ${(e as Error).message}`, true);
    return;
  }
  const a = defaultPortfolio(catalog);
  liquidation = new LiquidationPanel($('liquidation'), engine, () => editor.account, chartModel);
  $<HTMLInputElement>('whatif-instrument').value = a.positions[0]?.instrument ?? '';
  $<HTMLInputElement>('whatif-size').value = '5';
  editor.set(a);
  liquidation.render(catalog);
}

void boot();
