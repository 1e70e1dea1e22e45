/** Number formatting of the page: USD with cents, coin amounts with their unit, percentages. */
const usdFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const usd = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : usdFmt.format(x + 0));
export const int = (x: number): string => intFmt.format(x);
export const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);
/** A small figure that should be zero (a ledger's residual): two significant digits in scientific notation, so that −2e-7 does not read as "-0.00". */
export const sci = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x === 0 ? '0' : x.toExponential(1));
export const coin = (x: number, unit: string, digits = 4): string => `${x.toFixed(digits)} ${unit}`;

/** An element with text and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** A figure cell: the formatted value shown, the exact double in data-exact (copyable, testable). */
export function figure(x: number | null | undefined, attrs: Record<string, string> = {}, show: (x: number | null | undefined) => string = usd): HTMLTableCellElement {
  const td = el('td', { class: 'num', ...attrs }, show(x));
  if (typeof x === 'number') {
    td.dataset.exact = String(x);
    td.title = String(x);
  }
  return td;
}
