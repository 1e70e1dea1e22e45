/**
 * The work of `optmargin liquidate` and `optmargin mechanisms` (loaded on demand by cli/liquidate.ts):
 * `optmargin liquidate ACCOUNT --market FILE --model ID [--mechanism ID|FILE] [--strategy S]
 *  [--target T] [--buffer X] [--step F] [--time S] [--json]`: the liquidation plan of one account
 * (docs/liquidation.md). JSON: the plan, `{ steps, after: { account, margin }, ... }`, where
 * after.account is the account after the plan in the input format and after.margin its margin.
 * `optmargin mechanisms [--json]`: the shipped liquidation mechanisms.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { listMechanisms, loadMechanism, PLAN_STRATEGIES, PLAN_TARGETS } from '../liquidation/mechanism.js';
import { isTrade, planLiquidation, type LiquidationPlan, type PlanOptions } from '../liquidation/plan.js';
import type { PlanStrategy, PlanTarget } from '../liquidation/mechanism.js';
import { readDocument } from './io.js';
import { engineFor } from './margin.js';

export interface LiquidateCommandOptions {
  market?: string;
  model?: string;
  mechanism?: string;
  strategy?: string;
  target?: string;
  buffer?: string;
  step?: string;
  time?: string;
  json?: boolean;
}

const usd = (x: number): string => (Math.round(x * 100) / 100 + 0).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function numberOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--${name} must be a number, got ${JSON.stringify(v)}`);
  return x;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** What an auction step auctions on an isolated account (its position, with its own collateral: index in the input), else nothing (the whole portfolio). */
function auctioned(position: number | undefined): string {
  return position === undefined ? '' : ` of position ${position}`;
}

export function formatPlan(p: LiquidationPlan): string {
  const o: string[] = [];
  o.push(`account ${p.id}  mechanism ${p.mechanism.id} v${p.mechanism.version} (${p.mechanism.mechanism})  strategy ${p.strategy}  target ${p.target.kind}${p.target.kind === 'im' ? '' : ` (buffer ${p.target.buffer})`}`);
  o.push(`before: equity ${usd(p.before.equity)}  IM ${usd(p.before.initialMargin)}  MM ${usd(p.before.maintenanceMargin)}  ${p.before.health}  gap ${usd(p.before.gap)}`);
  o.push('');
  for (const s of p.steps) {
    if (isTrade(s)) {
      o.push(`${String(s.step).padStart(3)}  ${s.type} ${s.instrument} trade ${s.size} at ${s.price.toPrecision(8)} (mark ${s.markPrice.toPrecision(8)})  fee ${usd(s.fee)}  -> equity ${usd(s.equity)}  MM ${usd(s.maintenanceMargin)}  gap ${usd(s.gap)}`);
    } else if (s.type === 'auction-start') {
      o.push(`${String(s.step).padStart(3)}  ${s.insolvent ? 'insolvent' : 'solvent'} auction${auctioned(s.position)} starts, fee ${usd(s.fee)} to the security module  -> equity ${usd(s.equity)}  MM ${usd(s.maintenanceMargin)}`);
    } else {
      o.push(
        `${String(s.step).padStart(3)}  bid ${(s.percent * 100).toFixed(4)}%${auctioned(s.position)} at t=${s.t}s, discount ${s.discount.toFixed(4)}: bidder pays ${usd(s.cashFromBidder)}, receives ${usd(s.cashToBidder)} (SM ${usd(s.securityModulePaid)}, socialised ${usd(s.socialised)})  -> equity ${usd(s.equity)}  MM ${usd(s.maintenanceMargin)}  gap ${usd(s.gap)}`,
      );
    }
  }
  if (p.steps.length) o.push('');
  const a = p.after.margin;
  o.push(`after: equity ${usd(a.equity)}  IM ${usd(a.initialMargin)}  MM ${usd(a.maintenanceMargin)}  ${a.health}`);
  o.push(`${p.restored ? 'restored' : 'NOT restored'}: ${p.reason}`);
  o.push(`totals: ${p.totals.steps} steps, closed notional ${usd(p.totals.closedNotionalUsd)}, fees ${usd(p.totals.fees)}, liquidator gain ${usd(p.totals.liquidatorGain)}`);
  if (p.totals.isolatedDeficit > 0) {
    o.push(`isolated deficit ${usd(p.totals.isolatedDeficit)}: loss beyond a closed isolated position's own margin, not charged to the account's balances (a venue's insurance fund takes it; optmargin simulate's shortfall desk charges its fund)`);
  }
  return o.join('\n') + '\n';
}

/** The command's work, callable without commander. */
export function runLiquidateCommand(file: string, opts: LiquidateCommandOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  const doc = readDocument(file);
  if (Array.isArray(doc)) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'liquidate takes one account, got an array (use `optmargin simulate` for a book)');
  const engine = engineFor(opts, (doc as { mode?: unknown })?.mode);
  const planOpts: PlanOptions = {
    mechanism: loadMechanism(opts.mechanism ?? 'deribit-incremental'),
    strategy: oneOf<PlanStrategy>('strategy', opts.strategy, PLAN_STRATEGIES),
    target: oneOf<PlanTarget>('target', opts.target, PLAN_TARGETS),
    buffer: numberOption('buffer', opts.buffer),
    stepFraction: numberOption('step', opts.step),
    auctionTime: numberOption('time', opts.time),
  };
  const plan = planLiquidation(engine, doc, planOpts);
  write(opts.json ? JSON.stringify(plan, null, 2) + '\n' : formatPlan(plan));
  return 0;
}

/** `optmargin mechanisms [ID] [--json]`. */
export function runMechanismsCommand(id: string | undefined, opts: { json?: boolean }, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (id) {
    write(JSON.stringify(loadMechanism(id), null, 2) + '\n');
    return;
  }
  const ms = listMechanisms().map((m) => loadMechanism(m));
  if (opts.json) write(JSON.stringify(ms, null, 2) + '\n');
  else write(ms.map((m) => `${m.id}  v${m.version}  ${m.mechanism}\n  ${m.description}\n  source: ${m.source}\n`).join('\n'));
}
