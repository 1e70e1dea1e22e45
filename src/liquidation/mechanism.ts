/**
 * Liquidation mechanisms as versioned parameter files (presets/liquidation/*.json), like the
 * margin presets: what a liquidator pays (fixed-price discount or Lyra Dutch auction), the fees
 * and where they go, how much is closed (target, strategy, step), the market impact of the
 * closing trades, the insurance fund and what happens when it is exhausted (socialised loss or
 * ADL with a venue's ranking). Every file cites its sources in `source`.
 */
import { ErrorCodes, OptmarginError, check, show } from '../errors.js';
import { fileExists as existsSync, listDir as readdirSync, packagePath, readText } from '../platform/files.js';
import { validateAuctionParams, type DutchAuctionParams } from './dutch-auction.js';

export type InstrumentKindName = 'option' | 'future' | 'perpetual' | 'spot';
export const KIND_NAMES: readonly InstrumentKindName[] = ['option', 'future', 'perpetual', 'spot'];

/** Fee on a liquidated quantity, paid by the liquidated account to the insurance fund. */
export interface FeeSpec {
  /** fraction of the basis */
  rate: number;
  /** notional: |size| × underlying price (USD); value: |size| × mark value; underlying: |size coin| × index */
  basis: 'notional' | 'value' | 'underlying';
  /** options: the fee never exceeds this fraction of the option's value (Deribit caps at 12.5 %) */
  capFractionOfValue?: number;
}

export const PLAN_TARGETS = ['mm-buffer', 'im', 'lyra-buffer'] as const;
export type PlanTarget = (typeof PLAN_TARGETS)[number];
/** The plans' strategies (plan.ts). */
export const PLAN_STRATEGIES = ['venue-order', 'greedy', 'largest-release', 'proportional'] as const;
export type PlanStrategy = (typeof PLAN_STRATEGIES)[number];

export interface PlanSpec {
  target: PlanTarget;
  /** mm-buffer: restore equity ≥ MM × (1 + buffer); lyra-buffer: the bufferMarginPercentage */
  buffer: number;
  strategy: PlanStrategy;
  /** venue order of kinds, closed first to last (Deribit: futures first, then options) */
  order: InstrumentKindName[];
  /** size of one step, as a fraction of the position's size at the start of the plan */
  stepFraction: number;
  /**
   * Deribit's portfolio-margin fallback (plan-hedge.ts): when no close step improves the gap, a
   * delta hedge in the underlying's perpetual, `instrument` with {U} for the underlying (e.g.
   * "{U}-PERPETUAL"); each step hedges stepFraction of the account's delta in it when hedging began.
   */
  hedge?: { instrument: string };
}

/** Square-root impact: a liquidation of notional N moves the price by coefficient × σ_daily × sqrt(N / depth). */
export interface ImpactSpec {
  model: 'square-root' | 'none';
  coefficient: number;
  /** daily traded notional (USD) per underlying that the impact is measured against; `default` for others */
  depthUsd: Record<string, number>;
  /** daily volatility used when the path gives none */
  dailyVol: number;
}

export interface ShortfallSpec {
  /** after the insurance fund: socialise pro rata on winners, or deleverage ranked counterparties */
  rule: 'socialised-loss' | 'adl';
  ranking?: 'okx' | 'binance';
}

export interface MechanismHeader {
  id: string;
  version: string;
  description: string;
  source: string;
}

export interface FixedPriceMechanism extends MechanismHeader {
  mechanism: 'fixed-price';
  /** the liquidator takes at mark × (1 ∓ discount): buys longs below, sells shorts above */
  discount: Record<InstrumentKindName, number>;
  fee: Record<InstrumentKindName, FeeSpec>;
  plan: PlanSpec;
  impact: ImpactSpec;
  insuranceFund: InsuranceFundSpec;
  shortfall: ShortfallSpec;
}

/**
 * The insurance fund: its starting balance (USD, each fund's) and its pools — one fund per margin
 * currency, or per product line within it (fund-pools.ts: OKX's funds per business line,
 * underlying and settlement currency; fixed-price mechanisms only).
 */
export interface InsuranceFundSpec {
  initialUsd: number;
  pools?: 'currency' | 'product-line';
}

export interface DutchAuctionMechanism extends MechanismHeader {
  mechanism: 'dutch-auction';
  auction: DutchAuctionParams;
  plan?: PlanSpec;
  impact?: ImpactSpec;
  insuranceFund?: { initialUsd: number };
  shortfall?: ShortfallSpec;
}

export type Mechanism = FixedPriceMechanism | DutchAuctionMechanism;

export function mechanismsDir(): string {
  return packagePath('presets', 'liquidation');
}

/** Ids of the shipped mechanisms. */
export function listMechanisms(): string[] {
  const dir = mechanismsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

const num = (p: string, v: unknown): number => check.nonNegative(p, v);

function validatePlan(p: unknown, path: string): PlanSpec {
  const o = check.object(path, p);
  const order = check.array(`${path}.order`, o.order).map((k, i) => check.oneOf(`${path}.order[${i}]`, k, KIND_NAMES));
  const step = check.positive(`${path}.stepFraction`, o.stepFraction);
  if (step > 1) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `${path}.stepFraction must be <= 1, got ${step}`, `${path}.stepFraction`);
  const spec: PlanSpec = {
    target: check.oneOf(`${path}.target`, o.target, PLAN_TARGETS),
    buffer: num(`${path}.buffer`, o.buffer ?? 0),
    strategy: check.oneOf(`${path}.strategy`, o.strategy, PLAN_STRATEGIES),
    order,
    stepFraction: step,
  };
  if (o.hedge !== undefined) spec.hedge = validateHedge(o.hedge, `${path}.hedge`);
  return spec;
}

function validateHedge(v: unknown, path: string): { instrument: string } {
  const o = check.object(path, v);
  const instrument = check.string(`${path}.instrument`, o.instrument);
  if (!instrument.includes('{U}')) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `${path}.instrument must name the underlying as {U} (e.g. "{U}-PERPETUAL"), got ${JSON.stringify(instrument)}`, `${path}.instrument`);
  return { instrument };
}

function validateImpact(p: unknown, path: string): ImpactSpec {
  const o = check.object(path, p);
  const depth = check.object(`${path}.depthUsd`, o.depthUsd ?? {});
  const depthUsd: Record<string, number> = {};
  for (const [k, v] of Object.entries(depth)) depthUsd[k] = check.positive(`${path}.depthUsd.${k}`, v);
  return {
    model: check.oneOf(`${path}.model`, o.model, ['square-root', 'none'] as const),
    coefficient: num(`${path}.coefficient`, o.coefficient ?? 0),
    depthUsd,
    dailyVol: num(`${path}.dailyVol`, o.dailyVol ?? 0),
  };
}

function validateShortfall(p: unknown, path: string): ShortfallSpec {
  const o = check.object(path, p);
  const rule = check.oneOf(`${path}.rule`, o.rule, ['socialised-loss', 'adl'] as const);
  if (rule === 'adl') return { rule, ranking: check.oneOf(`${path}.ranking`, o.ranking, ['okx', 'binance'] as const) };
  return { rule };
}

function perKind<T>(path: string, v: unknown, f: (p: string, x: unknown) => T): Record<InstrumentKindName, T> {
  const o = check.object(path, v);
  const out = {} as Record<InstrumentKindName, T>;
  for (const k of KIND_NAMES) out[k] = f(`${path}.${k}`, o[k]);
  return out;
}

function validateFee(p: string, v: unknown): FeeSpec {
  const o = check.object(p, v);
  const fee: FeeSpec = { rate: num(`${p}.rate`, o.rate), basis: check.oneOf(`${p}.basis`, o.basis, ['notional', 'value', 'underlying'] as const) };
  if (o.capFractionOfValue !== undefined) fee.capFractionOfValue = num(`${p}.capFractionOfValue`, o.capFractionOfValue);
  return fee;
}

function validateFund(v: unknown): InsuranceFundSpec {
  const o = check.object('insuranceFund', v);
  const spec: InsuranceFundSpec = { initialUsd: num('insuranceFund.initialUsd', o.initialUsd) };
  if (o.pools !== undefined) spec.pools = check.oneOf('insuranceFund.pools', o.pools, ['currency', 'product-line'] as const);
  return spec;
}

/** Checks a mechanism parameter object; errors name the field. */
export function validateMechanism(v: unknown): Mechanism {
  const o = check.object('mechanism', v);
  const head: MechanismHeader = {
    id: check.string('id', o.id),
    version: check.string('version', o.version),
    description: check.string('description', o.description),
    source: check.string('source', o.source),
  };
  const kind = check.oneOf('mechanism', o.mechanism, ['fixed-price', 'dutch-auction'] as const);
  if (kind === 'dutch-auction') {
    const m: DutchAuctionMechanism = { ...head, mechanism: kind, auction: validateAuctionParams(o.auction, 'auction') };
    m.plan = o.plan === undefined ? { target: 'lyra-buffer', buffer: m.auction.bufferMarginPercentage, strategy: 'proportional', order: [...KIND_NAMES], stepFraction: 0.01 } : validatePlan(o.plan, 'plan');
    if (o.impact !== undefined) m.impact = validateImpact(o.impact, 'impact');
    m.insuranceFund = { initialUsd: num('insuranceFund.initialUsd', (o.insuranceFund as { initialUsd?: unknown } | undefined)?.initialUsd ?? 0) };
    const pools = (o.insuranceFund as { pools?: unknown } | undefined)?.pools;
    if (pools !== undefined && pools !== 'currency') throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `insuranceFund.pools must be "currency" for a Dutch auction (one security module), got ${JSON.stringify(pools)}`, 'insuranceFund.pools');
    m.shortfall = o.shortfall === undefined ? { rule: 'socialised-loss' } : validateShortfall(o.shortfall, 'shortfall');
    if (m.plan.hedge) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, 'plan.hedge is for fixed-price mechanisms (a Dutch auction sells the portfolio: it hedges nothing)', 'plan.hedge');
    return m;
  }
  const m: FixedPriceMechanism = {
    ...head,
    mechanism: kind,
    discount: perKind('discount', o.discount, (p, x) => {
      const d = num(p, x);
      if (d >= 1) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `${p} must be < 1, got ${d}`, p);
      return d;
    }),
    fee: perKind('fee', o.fee, validateFee),
    plan: validatePlan(o.plan, 'plan'),
    impact: validateImpact(o.impact, 'impact'),
    insuranceFund: validateFund(o.insuranceFund),
    shortfall: validateShortfall(o.shortfall, 'shortfall'),
  };
  // funds per product line take a plan's fees by the input's positions: a hedge opens one it did not hold
  if (m.plan.hedge && m.insuranceFund.pools === 'product-line') throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, 'plan.hedge cannot go with insuranceFund.pools "product-line" (a hedge\'s fee has no pool of the account\'s positions)', 'plan.hedge');
  return m;
}

/** Mechanisms this module validated (deep-frozen, so they cannot have changed since) and the shipped ones by id. */
const validated = new WeakSet<object>();
const shipped = new Map<string, Mechanism>();

function frozen<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * A shipped mechanism by id, a parameter file path, or a parameter object. The result is
 * deep-frozen; passing it back (a simulation's every plan does) skips the validation, and a
 * shipped id is read once.
 */
export function loadMechanism(idOrFile: string | Mechanism | unknown): Mechanism {
  if (typeof idOrFile === 'object' && idOrFile !== null && validated.has(idOrFile)) return idOrFile as Mechanism;
  const hit = typeof idOrFile === 'string' ? shipped.get(idOrFile) : undefined;
  if (hit) return hit;
  const m = frozen(readMechanism(idOrFile));
  validated.add(m);
  if (typeof idOrFile === 'string' && !idOrFile.endsWith('.json') && !idOrFile.includes('/')) shipped.set(idOrFile, m);
  return m;
}

function readMechanism(idOrFile: string | Mechanism | unknown): Mechanism {
  if (typeof idOrFile !== 'string') return wrap(() => validateMechanism(idOrFile), 'the mechanism object');
  let file = idOrFile;
  if (!idOrFile.endsWith('.json') && !idOrFile.includes('/')) {
    file = `${mechanismsDir()}/${idOrFile}.json`;
    if (!existsSync(file)) {
      throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `unknown liquidation mechanism ${show(idOrFile)}; shipped: ${listMechanisms().join(', ')}`);
    }
  } else if (!existsSync(file)) {
    throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `mechanism file ${show(idOrFile)} does not exist`);
  }
  const text = readText(file, ErrorCodes.INVALID_MECHANISM);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `mechanism file ${show(file)} is not valid JSON: ${(e as Error).message}`);
  }
  return wrap(() => validateMechanism(doc), show(idOrFile));
}

function wrap(f: () => Mechanism, what: string): Mechanism {
  try {
    return f();
  } catch (e) {
    if (e instanceof OptmarginError && e.code !== ErrorCodes.INVALID_MECHANISM) {
      throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `${what}: ${e.message}`, e.path);
    }
    throw e;
  }
}
