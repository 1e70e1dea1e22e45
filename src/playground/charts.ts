/**
 * The playground's charts, all drawn by uPlot (chosen for size, ~50 kB, and speed: canvas,
 * thousands of points per frame; Observable Plot or ECharts weigh several times more for the
 * same line and bar charts). Every axis is labelled with its unit.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { UnderlyingGridBreakdown, UnderlyingGreeks, WhatIfResult } from '../measures/types.js';
import type { BookView, PriceProfile } from './protocol.js';
import type { CascadeView } from './cascade.js';
import type { BacktestResult } from '../risk/backtest.js';
import type { LiquidationPlan } from '../liquidation/plan.js';
import { usd } from './format.js';

const COLORS = { up: '#d9480f', same: '#1c7ed6', down: '#2b8a3e', worst: '#c92a2a', equity: '#1c7ed6', im: '#e67700', mm: '#c92a2a', after: '#5f3dc4', before: '#868e96' };

const charts = new Map<HTMLElement, uPlot>();

function size(box: HTMLElement): { width: number; height: number } {
  return { width: Math.max(320, box.clientWidth - 8), height: 260 };
}

/** Draws (or redraws) the chart of `box`. */
function draw(box: HTMLElement, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): uPlot {
  charts.get(box)?.destroy();
  box.replaceChildren();
  const u = new uPlot({ ...size(box), ...opts } as uPlot.Options, data, box);
  charts.set(box, u);
  return u;
}

/** Keeps charts as wide as their boxes. */
export function resizeCharts(): void {
  for (const [box, u] of charts) u.setSize(size(box));
}

const usdAxis = (label: string): uPlot.Axis => ({ label, size: 84, values: (_u, ticks) => ticks.map((t) => usd(t).replace(/\.00$/, '')) });
/** A y scale that always shows zero (bars start from it). */
const withZero: uPlot.Scale = { range: (_u, min, max) => [Math.min(0, min), Math.max(0, max) || 1] };
const points = (label: string, stroke: string, size = 12): uPlot.Series => ({ label, stroke, fill: stroke, width: 0, points: { show: true, size, fill: stroke }, paths: () => null });

/** P&L of the account in each scenario of one underlying's grid (the grid the model scans), worst cell marked. */
export function gridChart(box: HTMLElement, g: UnderlyingGridBreakdown): void {
  const moves = [...new Set(g.scenarios.map((s) => s.priceMove))].sort((a, b) => a - b);
  const vols = (['up', 'same', 'down'] as const).filter((v) => g.scenarios.some((s) => s.vol === v));
  const series: (number | null)[][] = vols.map(() => moves.map(() => null));
  const worst: (number | null)[] = moves.map(() => null);
  g.scenarios.forEach((s, k) => {
    const pnl = -g.scenarioLosses[k];
    series[vols.indexOf(s.vol)][moves.indexOf(s.priceMove)] = pnl;
    if (k === g.worstScenario.index) worst[moves.indexOf(s.priceMove)] = pnl;
  });
  draw(
    box,
    {
      title: `${g.underlying}: P&L per scenario (worst: ${g.worstScenario.label}, ${usd(-g.worstLoss)} USD)`,
      scales: { x: { time: false } },
      axes: [{ label: `${g.underlying} price move (%)`, values: (_u, t) => t.map((x) => `${(x * 100).toFixed(0)}%`) }, usdAxis('P&L (USD, weighted)')],
      series: [{ label: 'move', value: (_u, v) => (v === null ? '' : `${(v * 100).toFixed(1)}%`) }, ...vols.map((v) => ({ label: `vol ${v}`, stroke: COLORS[v], width: 2, spanGaps: true, points: { show: true } })), points('worst cell', COLORS.worst, 14)],
    },
    [moves, ...series, worst] as uPlot.AlignedData,
  );
}

/** Equity, IM and MM against the underlying's price, liquidation prices marked. */
export function profileChart(box: HTMLElement, p: PriceProfile): void {
  const xs = [...p.prices];
  const liq = [p.liquidation.below, p.liquidation.above].filter((x): x is number => x !== null && x >= xs[0] && x <= xs[xs.length - 1]);
  const at = (arr: (number | null)[], x: number): number | null => {
    const i = xs.findIndex((v) => v >= x);
    if (i <= 0) return arr[0];
    const [a, b] = [arr[i - 1], arr[i]];
    if (a === null || b === null) return null;
    return a + ((b - a) * (x - xs[i - 1])) / (xs[i] - xs[i - 1]);
  };
  const liqY = liq.map((x) => at(p.maintenanceMargin, x));
  const all = [...xs.map((x, i) => ({ x, i })), ...liq.map((x, j) => ({ x, i: -1 - j }))].sort((a, b) => a.x - b.x);
  const pick = (arr: (number | null)[]) => all.map((r) => (r.i >= 0 ? arr[r.i] : null));
  const liqSeries = all.map((r) => (r.i < 0 ? liqY[-1 - r.i] : null));
  const liqText = `liquidation: below ${p.liquidation.below === null ? 'none' : usd(p.liquidation.below)}, above ${p.liquidation.above === null ? 'none' : usd(p.liquidation.above)} USD`;
  draw(
    box,
    {
      title: `${p.underlying} price (index ${usd(p.spot)} USD) — ${liqText}`,
      scales: { x: { time: false } },
      axes: [usdAxis(`${p.underlying} price (USD)`), usdAxis('USD')],
      series: [
        { label: `${p.underlying} (USD)`, value: (_u, v) => usd(v) },
        { label: 'equity', stroke: COLORS.equity, width: 2, spanGaps: true },
        { label: 'initial margin', stroke: COLORS.im, width: 2, spanGaps: true },
        { label: 'maintenance margin', stroke: COLORS.mm, width: 2, dash: [6, 4], spanGaps: true },
        points('liquidation price', COLORS.worst, 14),
      ],
    },
    [all.map((r) => r.x), pick(p.equity), pick(p.initialMargin), pick(p.maintenanceMargin), liqSeries] as uPlot.AlignedData,
  );
}

function bars(box: HTMLElement, title: string, categories: string[], series: { label: string; color: string; values: number[] }[], yLabel: string): void {
  const n = series.length;
  const axes: uPlot.Axis[] = [{ label: '', values: (_u, t) => t.map((i) => categories[i] ?? ''), splits: () => categories.map((_, i) => i) }, usdAxis(yLabel)];
  draw(
    box,
    {
      title,
      scales: { x: { time: false, range: [-0.6, categories.length - 0.4] }, y: withZero },
      axes,
      series: [
        { label: '', value: (_u, v) => categories[v] ?? '' },
        ...series.map((s, k) => ({
          label: s.label,
          stroke: s.color,
          fill: s.color + 'cc',
          // one series: centred bars; two: side by side (left and right of the category)
          paths: uPlot.paths.bars!({ size: [n === 1 ? 0.6 : 0.35, 120], align: n === 1 ? 0 : k === 0 ? -1 : 1 }),
          points: { show: false },
        })),
      ],
    },
    [categories.map((_, i) => i), ...series.map((s) => s.values)] as uPlot.AlignedData,
  );
}

/** Delta (coin) and vega (USD per vol point) per underlying, one chart each (their units differ). */
export function greeksChart(box: HTMLElement, greeks: Record<string, UnderlyingGreeks>): void {
  const us = Object.keys(greeks);
  const [a, b] = [document.createElement('div'), document.createElement('div')];
  box.replaceChildren(a, b);
  box.classList.add('pair');
  bars(a, 'Delta (coin)', us, [{ label: 'delta (coin)', color: COLORS.equity, values: us.map((u) => greeks[u].delta) }], 'delta (coin)');
  bars(b, 'Vega (USD per vol point)', us, [{ label: 'vega (USD per vol point)', color: COLORS.im, values: us.map((u) => greeks[u].vega / 100) }], 'USD per vol point');
}

/** A what-if trade: equity, IM, MM and available funds before and after. */
export function whatIfChart(box: HTMLElement, w: WhatIfResult): void {
  const cats = ['equity', 'initial margin', 'maintenance margin', 'available funds'];
  const vals = (f: WhatIfResult['before']) => [f.equity, f.initialMargin, f.maintenanceMargin, f.availableFunds];
  bars(box, 'What-if: before and after the trade (USD)', cats, [
    { label: 'before', color: COLORS.before, values: vals(w.before) },
    { label: 'after', color: COLORS.after, values: vals(w.after) },
  ], 'USD');
}

/** The book: accounts per health, accounts per margin ratio bucket. */
export function bookCharts(healthBox: HTMLElement, ratioBox: HTMLElement, v: BookView): void {
  const h = v.summary.byHealth;
  bars(healthBox, `Accounts by health (${v.accounts.toLocaleString('en-US')} accounts)`, ['healthy', 'margin call', 'liquidatable', 'bankrupt'], [
    { label: 'accounts', color: COLORS.same, values: [h.healthy, h['margin call'], h.liquidatable, h.bankrupt] },
  ], 'accounts');
  const labels = v.ratioHistogram.map((_, i) => {
    const [a, b] = [v.ratioEdges[i], v.ratioEdges[i + 1]];
    return b === Infinity || b === null ? `≥ ${a * 100}%` : `${a * 100}–${b * 100}%`;
  });
  bars(ratioBox, 'Accounts by margin ratio (MM / equity; ≥ 100 % is liquidatable)', labels, [{ label: 'accounts', color: COLORS.im, values: v.ratioHistogram }], 'accounts');
}

/** A VaR backtest: daily P&L against −VaR (and −ES), exceptions marked (USD). */
export function backtestChart(box: HTMLElement, r: BacktestResult): void {
  const t = r.days.map((d) => Date.parse(d.date) / 1000);
  draw(
    box,
    {
      title: `${r.method.toUpperCase()} VaR ${(r.alpha * 100).toFixed(1)} %: ${r.exceptionCount} exceptions in ${r.observations} days (expected ${r.expected.toFixed(1)})`,
      axes: [{ label: 'date' }, usdAxis('P&L (USD)')],
      series: [
        {},
        { label: 'daily P&L', stroke: COLORS.same, width: 0, points: { show: true, size: 4, fill: COLORS.same }, paths: () => null },
        { label: '−VaR', stroke: COLORS.mm, width: 2 },
        { label: '−ES', stroke: COLORS.im, width: 1, dash: [4, 4] },
        points('exception', COLORS.worst, 10),
      ],
    },
    [t, r.days.map((d) => d.pnl), r.days.map((d) => -d.var), r.days.map((d) => -d.es), r.days.map((d) => (d.exception ? d.pnl : null))] as uPlot.AlignedData,
  );
}

/** A liquidation plan: equity and MM after each step (USD), step 0 the account before. */
export function planChart(box: HTMLElement, p: LiquidationPlan): void {
  const xs = [0, ...p.steps.map((s) => s.step)];
  draw(
    box,
    {
      title: `Liquidation plan: equity and MM after each step (${p.mechanism.id})`,
      scales: { x: { time: false } },
      axes: [{ label: 'step' }, usdAxis('USD')],
      series: [
        { label: 'step' },
        { label: 'equity', stroke: COLORS.equity, width: 2, points: { show: true } },
        { label: 'maintenance margin', stroke: COLORS.mm, width: 2, dash: [6, 4], points: { show: true } },
      ],
    },
    [xs, [p.before.equity, ...p.steps.map((s) => s.equity)], [p.before.maintenanceMargin, ...p.steps.map((s) => s.maintenanceMargin)]] as uPlot.AlignedData,
  );
}

/**
 * A cascade replay: the insurance fund and the cumulative losses it could not absorb (bad debt,
 * socialised, charged by ADL), in USD; and the accounts liquidated at each step with the
 * underlying's index (USD, right axis).
 */
export function cascadeCharts(fundBox: HTMLElement, liqBox: HTMLElement, v: CascadeView): void {
  const xs = [0, ...v.steps.map((s) => s.step)];
  const cum = (f: (s: CascadeView['steps'][number]) => number) => {
    let a = 0;
    return [0, ...v.steps.map((s) => (a += f(s)))];
  };
  draw(
    fundBox,
    {
      title: `Insurance fund and losses (${v.mechanism}, ${v.model})`,
      scales: { x: { time: false } },
      axes: [{ label: 'step' }, usdAxis('USD')],
      series: [
        { label: 'step' },
        { label: 'insurance fund', stroke: COLORS.equity, width: 2 },
        { label: 'bad debt (cumulative)', stroke: COLORS.mm, width: 2 },
        { label: 'socialised (cumulative)', stroke: COLORS.im, width: 2, dash: [6, 4] },
        { label: 'charged by ADL (cumulative)', stroke: COLORS.after, width: 2, dash: [2, 3] },
      ],
    },
    [xs, [v.fund0, ...v.steps.map((s) => s.insuranceFund)], cum((s) => s.badDebt), cum((s) => s.socialised), cum((s) => s.adlCharged)] as uPlot.AlignedData,
  );
  draw(
    liqBox,
    {
      title: `Accounts liquidated per step, and the ${v.underlying} index`,
      scales: { x: { time: false, range: [-0.6, xs.length - 0.4] }, y: withZero, usd: {} },
      axes: [{ label: 'step' }, { label: 'accounts', scale: 'y' }, { ...usdAxis(`${v.underlying} index (USD)`), scale: 'usd', side: 1, grid: { show: false } }],
      series: [
        { label: 'step' },
        { label: 'accounts liquidated', stroke: COLORS.worst, fill: COLORS.worst + 'aa', paths: uPlot.paths.bars!({ size: [0.6, 60] }), points: { show: false }, scale: 'y' },
        { label: `${v.underlying} index (USD)`, stroke: COLORS.same, width: 2, scale: 'usd' },
      ],
    },
    [xs, [0, ...v.steps.map((s) => s.liquidated)], [v.spot0, ...v.steps.map((s) => s.spot[v.underlying] ?? null)]] as uPlot.AlignedData,
  );
}
