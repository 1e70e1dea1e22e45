/**
 * `optmargin var-margin ACCOUNT --history … [--as-of DATE] [--model var-es-975|var-es-var99|FILE]
 *   [--from DATE --to DATE [--compare GRID-PRESET]] [--json|--csv]`
 * One date: IM / MM / health of the account under the var-es model (docs/risk.md). With --from/--to:
 * the "dynamic" re-run at each close, beside a fixed grid preset's IM (--compare) on the same market.
 */
import cliProgress from 'cli-progress';
import { dateIndex } from '../risk/history.js';
import { dynamicMargin, loadVarEsModel, varEsMargin } from '../risk/var-margin.js';
import { readDocument } from './io.js';
import { historyFrom } from './risk-args.js';

export interface VarMarginCliOptions {
  history?: string;
  asOf?: string;
  model?: string;
  from?: string;
  to?: string;
  compare?: string;
  json?: boolean;
  csv?: boolean;
  progress?: boolean;
}

const usd = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function runVarMarginCommand(file: string, o: VarMarginCliOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  const h = historyFrom(o);
  const p = loadVarEsModel(o.model ?? 'var-es-975');
  const account = readDocument(file);
  if (o.from || o.to) {
    const bar = o.progress !== false && process.stderr.isTTY === true ? new cliProgress.SingleBar({ stream: process.stderr, format: 'var-margin [{bar}] {percentage}% | {value}/{total} days', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
    let started = false;
    const days = dynamicMargin(h, account, p, o.from ?? h.dates[0], o.to ?? h.dates[h.dates.length - 1], o.compare, (d, t) => {
      if (!started) bar?.start(t, 0);
      started = true;
      bar?.update(d);
    });
    bar?.stop();
    if (o.csv) write('date,im,base,stressed,gridIm\n' + days.map((d) => `${d.date},${d.im},${d.base},${d.stressed},${d.gridIm ?? ''}`).join('\n') + '\n');
    else if (o.json) write(JSON.stringify({ model: p.id, compare: o.compare ?? null, days }, null, 2) + '\n');
    else {
      const ims = days.map((d) => d.im);
      write(`${p.id} over ${days.length} days: IM min ${usd(Math.min(...ims))}, max ${usd(Math.max(...ims))} USD` + (o.compare ? `; ${o.compare} IM ${usd(Math.min(...days.map((d) => d.gridIm!)))} … ${usd(Math.max(...days.map((d) => d.gridIm!)))}` : '') + '\n(--csv or --json for the series)\n');
    }
    return 0;
  }
  const k = o.asOf ? dateIndex(h, o.asOf) : h.dates.length - 1;
  if (Array.isArray(account)) {
    const all = account.map((a) => varEsMargin(h, k, a, p));
    write(o.json ? JSON.stringify(all, null, 2) + '\n' : all.map((f, i) => `${(account[i] as { id?: unknown }).id}: equity ${usd(f.equity)}  IM ${usd(f.initialMargin)}  MM ${usd(f.maintenanceMargin)}  ${f.health}`).join('\n') + '\n');
    return 0;
  }
  const f = varEsMargin(h, k, account, p);
  if (o.json) write(JSON.stringify(f, null, 2) + '\n');
  else
    write(
      [
        `${p.id} as of ${f.asOf}: ${p.measure === 'es' ? 'ES' : 'VaR'} ${(p.alpha * 100).toFixed(1)}% over ${p.mporDays} day(s), APC ${p.apc.rule}`,
        `equity ${usd(f.equity)}  IM ${usd(f.initialMargin)}  MM ${usd(f.maintenanceMargin)}  health ${f.health}`,
        `FHS measure ${usd(f.base)}  stressed-period measure ${usd(f.stressed)}${f.tenYear !== undefined ? `  10-year measure ${usd(f.tenYear)}` : ''}`,
      ].join('\n') + '\n',
    );
  return 0;
}
