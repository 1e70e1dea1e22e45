/**
 * `optmargin margin ACCOUNT --market FILE [--model ID|FILE] [--json] [--liquidation]`: margin of
 * one account (or an array of accounts) under a preset or a parameter file; a readable breakdown
 * by default (figures, components, positions, worst scenario per underlying), JSON with --json.
 * `-` reads the account from stdin (JSON or msgpack).
 * `optmargin models [ID] [--json]`: lists the presets, or prints one preset's parameters.
 */
import type { Command } from 'commander';
import { ErrorCodes, OptmarginError, terminalSafe } from '../errors.js';
import { defaultMarket, loadMarket } from '../market/snapshot.js';
import { resolveMarket } from '../market/resolved.js';
import { createMarginEngine, type MarginEngine } from '../runner/account/runner.js';
import { listModels, loadModel } from '../measures/models.js';
import { modelFrom } from './risk-args.js';
import type { LiquidationPrices, MarginResult, MarginResultOk } from '../measures/types.js';
import { ExitCode, readDocument, warn } from './io.js';

export interface MarginCommandOptions {
  market?: string;
  model?: string;
  json?: boolean;
  liquidation?: boolean;
  /** var-es models: price history files and the as-of date */
  history?: string;
  asOf?: string;
}

const usd = (x: number): string => {
  const r = Math.round(x * 100) / 100 + 0;
  return r.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
};
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function table(rows: string[][], alignRight: boolean[]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (alignRight[c] ? cell.padStart(w[c]) : cell.padEnd(w[c]))).join('  ').trimEnd()).join('\n');
}

/** "v1.2" for a numeric version, the version as is otherwise ("v2-core-d69b557", not "vv2-core-…"). */
export function versionLabel(v: string): string {
  return /^\d/.test(v) ? `v${v}` : v;
}

/** The readable report of one result. */
export function formatMarginResult(r: MarginResult, liq?: LiquidationPrices[]): string {
  if (!r.ok) return `account ${terminalSafe(r.id)}: ERROR ${r.error.code}: ${terminalSafe(r.error.message)}\n`;
  const o: string[] = [];
  o.push(`account ${terminalSafe(r.id)}  mode ${r.mode}${r.modeApplied !== r.mode ? ` (computed as ${r.modeApplied})` : ''}`);
  o.push(`model ${r.model.id} ${versionLabel(r.model.version)} (${r.model.mechanism}, params ${r.model.hash.slice(0, 12)})  market ${r.marketHash.slice(0, 12)} at ${new Date(r.valuationTime).toISOString()}`);
  o.push('');
  const isUsd = (c: string): boolean => c === 'USD' || c === 'USDC' || c === 'USDT';
  const amt = (x: number, c: string): string => (isUsd(c) ? usd(x) : (Math.round(x * 1e8) / 1e8 + 0).toFixed(8));
  const cur = r.currency;
  const u = r.usd;
  const line = (label: string, x: number, xUsd?: number): string[] => (u ? [label, amt(x, cur), usd(xUsd ?? x * u.price)] : [label, usd(x)]);
  const fig: string[][] = [
    line('equity', r.equity, u?.equity),
    line(u ? `  balance (${cur})` : '  collateral (after haircuts)', r.collateralValue),
    line('initial margin', r.initialMargin, u?.initialMargin),
    line('maintenance margin', r.maintenanceMargin, u?.maintenanceMargin),
    line('available funds', r.availableFunds, u?.availableFunds),
    ['margin ratio (MM / equity)', r.marginRatio === null ? 'n/a (equity <= 0)' : pct(r.marginRatio), ...(u ? [''] : [])],
    ['health', r.health, ...(u ? [''] : [])],
  ];
  o.push(table([u ? [`${cur} (USD at ${usd(u.price)})`, cur, 'USD'] : ['USD', ''], ...fig], u ? [false, true, true] : [false, true]));
  if (r.pme && r.pme.length) {
    o.push('');
    const rows = [['risk matrix', 'worst case', 'roll shock', 'delta shock', 'IM', 'MM', 'worst scenario']];
    for (const c of r.pme) {
      const worst = c.pairs.map((pr) => `${pr.pair} ${pr.worstCaseBucket.source} bucket ${pr.worstCaseBucket.bucket} ${pr.worstCaseBucket.side}`).join(', ') || '-';
      rows.push([c.currency, amt(c.worstCase, c.currency), amt(c.rollShock, c.currency), amt(c.deltaShock, c.currency), amt(c.initialMargin, c.currency), amt(c.maintenanceMargin, c.currency), worst]);
    }
    o.push(table(rows, [false, true, true, true, true, true, false]));
  } else if (r.components) {
    o.push('');
    o.push('components');
    o.push(table(Object.entries(r.components).map(([k, v]) => [`  ${k}`, Number.isInteger(v) ? String(v) : usd(v)]), [false, true]));
  }
  if (r.varEs) {
    const v = r.varEs;
    o.push('');
    o.push(`var-es as of ${v.asOf}: FHS measure ${usd(v.base)}, stressed-period measure ${usd(v.stressed)}${v.tenYear !== undefined ? `, 10-year measure ${usd(v.tenYear)}` : ''} (scenario sets ${v.scenarioSets.map((s) => s.hash.slice(0, 12)).join(', ')})`);
  }
  if (r.okx && r.okx.length) {
    o.push('');
    const rows = [['risk unit', 'MR1', 'MR4', 'MR6', 'MR7 (raw)', 'MR9', 'MMR', 'IMR', 'worst MR1 shock']];
    for (const x of r.okx) {
      rows.push([x.riskUnit, usd(x.mr1), usd(x.mr4), usd(x.mr6), `${usd(x.mr7)} (${usd(x.mr7Raw)})`, usd(x.mr9), usd(x.mmr), usd(x.imr), pct(x.mr1Scenario.spotShock)]);
    }
    o.push(table(rows, [false, true, true, true, true, true, true, true, true]));
  }
  if (r.grid && r.grid.length) {
    o.push('');
    const rows = [['underlying', 'spot', 'worst scenario', 'worst loss', 'add-ons', 'IM']];
    for (const g of r.grid) {
      const addOns = Object.entries(g.addOns).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${usd(v)}`).join(', ') || '-';
      rows.push([g.underlying, usd(g.spot), `#${g.worstScenario.index + 1} ${g.worstScenario.label}`, usd(g.worstLoss), addOns, usd(g.initialMargin)]);
    }
    o.push(table(rows, [false, true, false, true, false, true]));
  }
  if (r.positions.length) {
    o.push('');
    const head = ['#', 'instrument', 'size', 'value USD'];
    const hasIm = r.positions.some((p) => p.initialMargin !== undefined);
    const hasWorst = r.positions.some((p) => p.worstScenarioPnl !== undefined);
    const hasIso = r.positions.some((p) => p.health !== undefined);
    if (hasIm) head.push('IM', 'MM');
    if (hasWorst) head.push('P&L in worst');
    if (hasIso) head.push('equity', 'health');
    const rows = [head];
    for (const p of r.positions) {
      const row = [String(p.index), terminalSafe(p.instrument), String(p.size), usd(p.valueUsd)];
      if (hasIm) row.push(usd(p.initialMargin ?? 0), usd(p.maintenanceMargin ?? 0));
      if (hasWorst) row.push(usd(p.worstScenarioPnl ?? 0));
      if (hasIso) row.push(usd(p.equity ?? 0), p.health ?? '');
      rows.push(row);
    }
    o.push(table(rows, head.map((h) => h !== 'instrument' && h !== 'health')));
  }
  const us = Object.keys(r.greeks);
  if (us.length) {
    o.push('');
    const rows = [['greeks', 'delta (coin)', 'gamma', 'vega (USD/vol pt)', 'theta (USD/day)']];
    for (const u of us) {
      const g = r.greeks[u];
      rows.push([u, g.delta.toFixed(4), g.gamma.toExponential(3), usd(g.vega / 100), usd(g.theta / 365)]);
    }
    o.push(table(rows, [false, true, true, true, true]));
  }
  if (liq && liq.length) {
    o.push('');
    for (const l of liq) {
      const f = (x: number | null) => (x === null ? 'none' : usd(x));
      o.push(`liquidation price ${l.underlying} (spot ${usd(l.spot)}): below ${f(l.below)}, above ${f(l.above)}${l.alreadyLiquidatable ? ' — already below MM' : ''}`);
    }
  }
  return o.join('\n') + '\n';
}

/** The model an account is margined under when --model is not given: the one its own mode selects (portfolio: deribit-pm, others deribit-standard). */
export function defaultModelFor(mode: unknown): string {
  return mode === 'portfolio' ? 'deribit-pm' : 'deribit-standard';
}

export function engineFor(opts: Pick<MarginCommandOptions, 'market' | 'model' | 'history' | 'asOf'>, mode: unknown): MarginEngine {
  const market = resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
  return createMarginEngine({ market, model: modelFrom(opts.model ?? defaultModelFor(mode), market, opts) });
}

export type MarginOutput = MarginResult | (MarginResultOk & { liquidationPrices: LiquidationPrices[] });

/**
 * The result objects `margin --json` prints (and `optmargin serve` answers): each account's
 * margin, with the liquidation price of each of its underlyings when asked.
 */
export function marginAccounts(engine: MarginEngine, accounts: readonly unknown[], liquidation: boolean): MarginOutput[] {
  return accounts.map((a) => {
    const r = engine.margin(a);
    if (!liquidation || !r.ok) return r;
    return { ...r, liquidationPrices: Object.keys(r.greeks).map((u) => engine.liquidationPrice(a as never, u)) };
  });
}

/**
 * The command's work, separate from commander so it can be called and tested directly. Each
 * account of an array is margined under the model its own mode selects (unless --model). Valid
 * accounts' results go to stdout; each invalid account is one line on stderr naming the element
 * and field (`[3].positions[0].size must be ...`). Returns the exit code: 0, 2 when any account
 * is invalid, 3 when one failed for another reason (non-finite figure, internal error).
 */
export function runMarginCommand(file: string, opts: MarginCommandOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  const doc = readDocument(file);
  const isArray = Array.isArray(doc);
  const accounts = isArray ? doc : [doc];
  if (accounts.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
  const market = resolveMarket(opts.market ? loadMarket(opts.market) : defaultMarket());
  const engines = new Map<string, MarginEngine>();
  const engineOf = (a: unknown): MarginEngine => {
    const id = opts.model ?? defaultModelFor((a as { mode?: unknown } | null)?.mode);
    let e = engines.get(id);
    if (!e) engines.set(id, (e = createMarginEngine({ market, model: modelFrom(id, market, opts) })));
    return e;
  };
  const results = accounts.map((a) => marginAccounts(engineOf(a), [a], opts.liquidation === true)[0]);
  let code: number = ExitCode.OK;
  const seen = new Map<string, number>();
  results.forEach((r, k) => {
    const prev = seen.get(r.id);
    if (prev !== undefined) warn(`warning: ${isArray ? `[${k}]` : 'account'} reuses the id ${JSON.stringify(r.id)} of [${prev}] (both are margined)`);
    else seen.set(r.id, k);
    if (r.ok) return;
    const where = isArray ? `[${k}]` : 'account';
    const field = r.error.path ? '' : ` (id ${JSON.stringify(r.id)})`;
    warn(`${where}${r.error.path ? '.' : ': '}${r.error.path ? r.error.message : r.error.message + field} [${r.error.code}]`);
    const failure = r.error.code === ErrorCodes.NON_FINITE || r.error.code === ErrorCodes.INTERNAL;
    code = Math.max(code, failure ? ExitCode.PARTIAL : ExitCode.INVALID_INPUT);
  });
  const ok = results.map((r, k) => ({ r, k })).filter(({ r }) => r.ok);
  // one invalid account: nothing on stdout (exit 2); an array in --json keeps every element, indices aligned
  if (ok.length === 0 && !(opts.json && isArray)) return code;
  if (opts.json) {
    // JSON keeps one element per input (error results included) so indices line up
    write(JSON.stringify(isArray ? results : results[0], null, 2) + '\n');
  } else {
    write(ok.map(({ r }) => formatMarginResult(r, 'liquidationPrices' in r ? r.liquidationPrices : undefined)).join('\n'));
  }
  return code;
}

export function runModelsCommand(id: string | undefined, opts: { json?: boolean }, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (id) {
    const m = loadModel(id);
    write(JSON.stringify({ ...m.params, hash: m.hash }, null, 2) + '\n');
    return;
  }
  const models = listModels();
  if (opts.json) {
    write(JSON.stringify(models.map((m) => ({ ...m, parameters: loadModel(m.id).params })), null, 2) + '\n');
    return;
  }
  const o: string[] = [];
  for (const m of models) {
    o.push(`${m.id}  ${versionLabel(m.version)}  ${m.mechanism}  params ${m.hash.slice(0, 12)}`);
    o.push(`  ${m.description}`);
    o.push(`  source: ${m.source}`);
    o.push('');
  }
  o.push('`optmargin models ID` prints a preset\'s parameters.');
  write(o.join('\n') + '\n');
}

export function registerMarginCommands(program: Command): void {
  program
    .command('margin')
    .description(
      'margin of an account (or a JSON array of accounts): equity, IM, MM, health, breakdown. ' +
        'ACCOUNT: JSON or msgpack file, `-` for stdin (schema in docs/margin.md)',
    )
    .argument('<account>', 'account file, or - for standard input')
    .option('--market <file>', 'market snapshot or Deribit CSV (default: the shipped default market)')
    .option('--model <id|file>', 'preset id (see `optmargin models`) or parameter file (default: per account, deribit-pm for portfolio accounts, else deribit-standard)')
    .option('--json', 'print the full result as JSON')
    .option('--liquidation', 'also find the liquidation price of each underlying')
    .option('--history <files>', 'var-es models: daily price histories, FILE[,FILE…] or U=FILE (docs/risk.md)')
    .option('--as-of <date>', 'var-es models: the history date the scenario sets are as of (default: the last close at or before the market time)')
    .action((file: string, opts: MarginCommandOptions) => {
      const code = runMarginCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
  program
    .command('models')
    .description('list the margin model presets, or print the parameters of one')
    .argument('[id]', 'preset id or parameter file')
    .option('--json', 'print as JSON (with every parameter)')
    .action((id: string | undefined, opts: { json?: boolean }) => {
      runModelsCommand(id, opts);
    });
}
