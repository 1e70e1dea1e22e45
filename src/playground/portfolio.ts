/**
 * The portfolio editor: an account in the CLI's input format (mode, collateral by currency,
 * positions of Deribit instruments), the default portfolio the page opens with, import and export
 * of the account JSON, and errors shown beside the field that caused them.
 */
import type { AccountInput, AccountMode } from '../measures/types.js';
import type { Catalog, CatalogUnderlying, WireError } from './protocol.js';
import { el } from './format.js';

/** Listed name nearest to `target` strike among an expiry's names of one type. */
function nearest(names: string[], target: number, cp: 'C' | 'P'): string | undefined {
  let best: string | undefined;
  let dist = Infinity;
  for (const n of names) {
    if (!n.endsWith(`-${cp}`)) continue;
    const k = Number(n.split('-')[2]);
    if (Math.abs(k - target) < dist) [best, dist] = [n, Math.abs(k - target)];
  }
  return best;
}

/** The expiry about a month out (the third listed, or the last). */
function monthly(u: CatalogUnderlying) {
  return u.options[Math.min(3, u.options.length - 1)];
}

/**
 * The page's opening portfolio, from whatever market is loaded: a coin-margined sub-account of
 * the first underlying (Deribit's usual account: every Deribit preset, the segregated
 * deribit-pm included, can margin it): a put sold 10 % out of the money, a call bought 15 % out,
 * part of the delta hedged with the perpetual, and coin collateral. Other underlyings and USDC
 * collateral are one click away (the segregated preset then says why it refuses the mixture).
 */
export function defaultPortfolio(c: Catalog): AccountInput {
  const positions: AccountInput['positions'] = [];
  const u = c.underlyings[0];
  const e = u ? monthly(u) : undefined;
  if (!u || !e) return { id: 'playground', mode: 'portfolio', collateral: {}, positions };
  const legs: [string | undefined, number][] = [
    [nearest(e.names, e.forward * 0.9, 'P'), -5],
    [nearest(e.names, e.forward * 1.15, 'C'), 3],
    [`${u.underlying}-PERPETUAL`, Math.round((u.index * 0.5) / 10) * 10],
  ];
  for (const [instrument, size] of legs) if (instrument) positions.push({ instrument, size });
  return { id: 'playground', mode: 'portfolio', collateral: { [u.underlying]: 2 }, positions };
}

export interface EditorEvents {
  /** the account changed (edited, imported) */
  changed(a: AccountInput): void;
  /** a name typed into the add form: resolves when the engine accepts it, rejects with its error */
  checkInstrument(name: string): Promise<void>;
}

export class PortfolioEditor {
  account: AccountInput;
  private errors: WireError[] = [];

  constructor(
    private readonly root: HTMLElement,
    account: AccountInput,
    private readonly events: EditorEvents,
  ) {
    this.account = account;
  }

  setCatalog(c: Catalog): void {
    const list = document.getElementById('instrument-names') as HTMLDataListElement;
    const names: string[] = [];
    for (const u of c.underlyings) {
      names.push(...u.futures);
      for (const e of u.options) names.push(...e.names);
    }
    list.replaceChildren(...names.slice(0, 5000).map((n) => el('option', { value: n })));
  }

  /** Errors of the last margin run, shown beside the field they name. */
  showErrors(errors: WireError[]): void {
    this.errors = errors;
    this.render();
  }

  set(a: AccountInput): void {
    this.account = a;
    this.errors = [];
    this.render();
    this.events.changed(a);
  }

  private update(f: (a: AccountInput) => void): void {
    const a = structuredClone(this.account);
    f(a);
    this.set(a);
  }

  private errorFor(path: string): string | undefined {
    return this.errors.find((e) => e.path === path || e.path?.startsWith(path + '.'))?.message;
  }

  render(): void {
    const a = this.account;
    const mode = el('select', { id: 'mode', 'aria-label': 'account mode' }, ...(['portfolio', 'cross', 'isolated'] as AccountMode[]).map((m) => el('option', m === a.mode ? { value: m, selected: '' } : { value: m }, m)));
    mode.onchange = () => this.update((x) => (x.mode = mode.value as AccountMode));
    const col = el('table', { class: 'grid', id: 'collateral' }, el('tr', {}, el('th', {}, 'currency'), el('th', {}, 'balance (in that currency)'), el('th', {})));
    for (const cur of Object.keys(a.collateral)) {
      const input = el('input', { type: 'number', step: 'any', value: String(a.collateral[cur]), 'aria-label': `${cur} balance` });
      input.onchange = () => this.update((x) => (x.collateral[cur] = Number(input.value)));
      const rm = el('button', { class: 'link', title: `remove ${cur}` }, '×');
      rm.onclick = () => this.update((x) => delete x.collateral[cur]);
      const err = this.errorFor(`collateral.${cur}`);
      col.append(el('tr', {}, el('td', {}, cur), el('td', {}, input, err ? el('span', { class: 'field-error' }, err) : ''), el('td', {}, rm)));
    }
    const curIn = el('input', { placeholder: 'BTC, ETH, USDC…', size: '8', 'aria-label': 'new collateral currency' });
    const curAdd = el('button', {}, 'add collateral');
    curAdd.onclick = () => {
      const c = curIn.value.trim().toUpperCase();
      if (c) this.update((x) => (x.collateral[c] = x.collateral[c] ?? 1));
    };
    const pos = el('table', { class: 'grid', id: 'positions' }, el('tr', {}, el('th', {}, 'instrument'), el('th', {}, 'size'), el('th', {}, 'unit'), el('th', {})));
    a.positions.forEach((p, i) => {
      const size = el('input', { type: 'number', step: 'any', value: String(p.size), 'aria-label': `size of ${p.instrument}` });
      size.onchange = () => this.update((x) => (x.positions[i].size = Number(size.value)));
      const rm = el('button', { class: 'link', title: 'remove position' }, '×');
      rm.onclick = () => this.update((x) => x.positions.splice(i, 1));
      const err = this.errorFor(`positions[${i}]`);
      const unit = /PERPETUAL$|-\d{1,2}[A-Z]{3}\d{2}$/.test(p.instrument) && !p.instrument.includes('_') ? 'USD notional' : 'coin';
      pos.append(el('tr', {}, el('td', {}, p.instrument, err ? el('div', { class: 'field-error' }, err) : ''), el('td', {}, size), el('td', { class: 'unit' }, unit), el('td', {}, rm)));
    });
    this.root.replaceChildren(
      el('div', { class: 'row' }, el('label', {}, 'mode ', mode)),
      el('h3', {}, 'Collateral'),
      col,
      el('div', { class: 'row' }, curIn, curAdd),
      el('h3', {}, 'Positions'),
      pos,
      this.addForm(),
    );
  }

  private addForm(): HTMLElement {
    const name = el('input', { id: 'add-instrument', list: 'instrument-names', placeholder: 'BTC-25SEP26-60000-P', size: '24', 'aria-label': 'instrument' });
    const size = el('input', { id: 'add-size', type: 'number', step: 'any', value: '1', size: '6', 'aria-label': 'size' });
    const err = el('span', { class: 'field-error', id: 'add-error', role: 'alert' });
    const add = el('button', { id: 'add-position' }, 'add position');
    const submit = async () => {
      err.textContent = '';
      const n = name.value.trim();
      const q = Number(size.value);
      if (!n) return void (err.textContent = 'instrument: enter a Deribit name');
      if (!Number.isFinite(q) || q === 0) return void (err.textContent = 'size must be a non-zero number');
      try {
        await this.events.checkInstrument(n);
      } catch (e) {
        err.textContent = (e as Error).message;
        return;
      }
      this.update((x) => x.positions.push({ instrument: n, size: q }));
    };
    add.onclick = () => void submit();
    name.onkeydown = (e) => {
      if (e.key === 'Enter') void submit();
    };
    return el('div', { class: 'row add' }, name, size, add, err);
  }
}

/** Offers the account as a JSON file (the CLI's input format). */
export function exportAccount(a: AccountInput): void {
  const blob = new Blob([JSON.stringify(a, null, 2) + '\n'], { type: 'application/json' });
  const link = el('a', { href: URL.createObjectURL(blob), download: `${a.id || 'account'}.json` });
  link.click();
  URL.revokeObjectURL(link.href);
}

/** An account from imported JSON text: an account object, or the first of an array. */
export function parseAccountJson(text: string): AccountInput {
  const doc = JSON.parse(text) as unknown;
  const a = (Array.isArray(doc) ? doc[0] : doc) as AccountInput;
  if (!a || typeof a !== 'object' || !Array.isArray(a.positions)) throw new Error('an account is an object with id, mode, collateral and positions (docs/margin.md)');
  return a;
}
