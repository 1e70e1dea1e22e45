/**
 * Preset interpretation, once: a parameter object (presets/*.json or a user's) → a typed,
 * validated model. Every field is checked (type, range) and copied into a fresh object; a key
 * the mechanism does not know is an error (a typo must not pass silently, nor enter the model
 * hash). Errors name the file or id and the field.
 */
import { ErrorCodes, OptmarginError, show } from '../errors.js';
import type {
  CollateralParams,
  DeribitPmeModel,
  FuturesTierParams,
  GridAddOns,
  GridModel,
  LyraPmrmModel,
  MarginModel,
  OkxPmModel,
  OkxRiskUnitParams,
  PmeCurrencyParams,
  PmePairParams,
  RuleBasedModel,
  ScenarioSpec,
  StandardOptionParams,
  UnderlyingScanParams,
  VarEsModel,
  VolShockParams,
} from './types.js';

type Obj = Record<string, unknown>;

class Checker {
  constructor(private readonly where: string) {}
  fail(path: string, requirement: string, value: unknown): never {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${this.where}: ${path} ${requirement}, got ${show(value)}`, path);
  }
  /** An object whose keys are all in `allowed`. */
  obj(path: string, v: unknown, allowed: readonly string[]): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object', v);
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.fail(`${path}.${k}`, `is not a known field (known: ${allowed.join(', ')})`, (v as Obj)[k]);
    return v as Obj;
  }
  /** An object of any keys (a map by currency or underlying). */
  map(path: string, v: unknown): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object', v);
    return v as Obj;
  }
  num(path: string, v: unknown, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'must be a finite number', v);
    if (v < min || v > max) this.fail(path, `must be in [${min}, ${max}]`, v);
    return v;
  }
  optNum(path: string, v: unknown, min = -Infinity, max = Infinity): number | undefined {
    return v === undefined ? undefined : this.num(path, v, min, max);
  }
  str(path: string, v: unknown): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(path, 'must be a non-empty string', v);
    return v;
  }
  oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(path, `must be one of ${allowed.join(', ')}`, v);
    return v as T;
  }
  arr(path: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be an array', v);
    return v;
  }
}

/** Copies the defined entries of `o` (so absent optional fields stay absent, not undefined). */
function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const HEADER = ['id', 'version', 'mechanism', 'description', 'source'] as const;

function collateral(c: Checker, v: unknown): CollateralParams {
  const o = c.obj('collateral', v, ['haircuts', 'defaultHaircut', 'usdPegged']);
  const h = c.map('collateral.haircuts', o.haircuts);
  const haircuts: Record<string, number> = {};
  for (const k of Object.keys(h)) haircuts[k] = c.num(`collateral.haircuts.${k}`, h[k], 0, 1);
  const defaultHaircut = o.defaultHaircut === null ? null : c.num('collateral.defaultHaircut', o.defaultHaircut, 0, 1);
  const usdPegged = c.arr('collateral.usdPegged', o.usdPegged).map((x, i) => c.str(`collateral.usdPegged[${i}]`, x));
  return { haircuts, defaultHaircut, usdPegged };
}

const VOL_KEYS = ['up', 'down', 'power', 'longTermPower', 'longTermAfterDays', 'referenceDays', 'minDays', 'mode', 'floor'] as const;

function volShock(c: Checker, path: string, v: unknown, partial: boolean): Partial<VolShockParams> {
  const o = c.obj(path, v, VOL_KEYS);
  const out: Partial<VolShockParams> = {};
  for (const k of ['up', 'down', 'power', 'longTermPower', 'longTermAfterDays', 'referenceDays', 'minDays', 'floor'] as const) {
    if (o[k] !== undefined) out[k] = c.num(`${path}.${k}`, o[k], 0);
    else if (!partial && k !== 'longTermPower' && k !== 'longTermAfterDays') c.fail(`${path}.${k}`, 'is required', undefined);
  }
  if (o.mode !== undefined) out.mode = c.oneOf(`${path}.mode`, o.mode, ['relative', 'absolute'] as const);
  else if (!partial) c.fail(`${path}.mode`, 'is required', undefined);
  if (out.minDays !== undefined && !(out.minDays > 0)) c.fail(`${path}.minDays`, 'must be > 0', out.minDays);
  if (out.referenceDays !== undefined && !(out.referenceDays > 0)) c.fail(`${path}.referenceDays`, 'must be > 0', out.referenceDays);
  return out;
}

function scan(c: Checker, path: string, v: unknown, partial: boolean): Partial<UnderlyingScanParams> {
  const o = c.obj(path, v, ['rangeUp', 'rangeDown', 'vol']);
  const out: Partial<UnderlyingScanParams> = defined({
    rangeUp: partial ? c.optNum(`${path}.rangeUp`, o.rangeUp, 0, 10) : c.num(`${path}.rangeUp`, o.rangeUp, 0, 10),
    rangeDown: partial ? c.optNum(`${path}.rangeDown`, o.rangeDown, 0, 0.999) : c.num(`${path}.rangeDown`, o.rangeDown, 0, 0.999),
  });
  if (o.vol !== undefined || !partial) out.vol = volShock(c, `${path}.vol`, o.vol, partial) as VolShockParams;
  return out;
}

function scenarios(c: Checker, v: unknown): ScenarioSpec[] {
  const sc = c.arr('scenarios', v);
  if (sc.length === 0) c.fail('scenarios', 'must list at least one scenario', sc);
  return sc.map((x, i) => {
    const p = `scenarios[${i}]`;
    const s = c.obj(p, x, ['range', 'move', 'vol', 'weight', 'label']);
    if ((s.range === undefined) === (s.move === undefined)) c.fail(p, 'must give exactly one of range, move', s);
    return defined({
      range: c.optNum(`${p}.range`, s.range, -10, 10),
      move: c.optNum(`${p}.move`, s.move, -0.999, 100),
      vol: c.oneOf(`${p}.vol`, s.vol, ['up', 'same', 'down'] as const),
      weight: c.num(`${p}.weight`, s.weight, 0, 1),
      label: s.label === undefined ? undefined : c.str(`${p}.label`, s.label),
    });
  });
}

function addOns(c: Checker, v: unknown): GridAddOns {
  const add = c.obj('addOns', v, ['shortOption', 'futures', 'shortOptionMinimum']);
  const out: GridAddOns = {};
  if (add.shortOption !== undefined) {
    const s = c.obj('addOns.shortOption', add.shortOption, ['fractionOfSpot', 'netting']);
    out.shortOption = { fractionOfSpot: c.num('addOns.shortOption.fractionOfSpot', s.fractionOfSpot, 0, 1), netting: c.oneOf('addOns.shortOption.netting', s.netting, ['expiry-strike', 'instrument'] as const) };
  }
  if (add.futures !== undefined) {
    const s = c.obj('addOns.futures', add.futures, ['fraction', 'basis']);
    out.futures = { fraction: c.num('addOns.futures.fraction', s.fraction, 0, 1), basis: c.oneOf('addOns.futures.basis', s.basis, ['gross', 'offsetting'] as const) };
  }
  if (add.shortOptionMinimum !== undefined) {
    const s = c.obj('addOns.shortOptionMinimum', add.shortOptionMinimum, ['fractionOfSpot']);
    out.shortOptionMinimum = { fractionOfSpot: c.num('addOns.shortOptionMinimum.fractionOfSpot', s.fractionOfSpot, 0, 1) };
  }
  return out;
}

function grid(c: Checker, o: Obj, h: Header): GridModel {
  c.obj('(root)', o, [...HEADER, 'scan', 'scanByUnderlying', 'scenarios', 'smile', 'addOns', 'mmFraction', 'minimumMarginUsd', 'crossUnderlying', 'collateral']);
  let scanByUnderlying: GridModel['scanByUnderlying'];
  if (o.scanByUnderlying !== undefined) {
    const by = c.map('scanByUnderlying', o.scanByUnderlying);
    scanByUnderlying = {};
    for (const u of Object.keys(by)) scanByUnderlying[u] = scan(c, `scanByUnderlying.${u}`, by[u], true) as NonNullable<GridModel['scanByUnderlying']>[string];
  }
  const cu = c.obj('crossUnderlying', o.crossUnderlying, ['rule', 'credit']);
  const rule = c.oneOf('crossUnderlying.rule', cu.rule, ['sum', 'credit'] as const);
  if (rule === 'sum' && cu.credit !== undefined) c.fail('crossUnderlying.credit', 'is only allowed with rule "credit"', cu.credit);
  return defined({
    ...h,
    mechanism: 'scenario-grid' as const,
    scan: scan(c, 'scan', o.scan, false) as UnderlyingScanParams,
    scanByUnderlying,
    scenarios: scenarios(c, o.scenarios),
    smile: c.oneOf('smile', o.smile, ['sticky-moneyness', 'sticky-strike'] as const),
    addOns: addOns(c, o.addOns),
    mmFraction: c.num('mmFraction', o.mmFraction, 0, 1),
    minimumMarginUsd: c.num('minimumMarginUsd', o.minimumMarginUsd, 0),
    crossUnderlying: rule === 'sum' ? { rule } : { rule, credit: c.num('crossUnderlying.credit', cu.credit, 0, 1) },
    collateral: collateral(c, o.collateral),
  });
}

function ruleBased(c: Checker, o: Obj, h: Header): RuleBasedModel {
  c.obj('(root)', o, [...HEADER, 'option', 'futures', 'futuresByUnderlying', 'collateral']);
  const opKeys = ['imBase', 'imMin', 'mmBase', 'putMmMarkFactor'] as const;
  const op = c.obj('option', o.option, opKeys);
  const option = Object.fromEntries(opKeys.map((k) => [k, c.num(`option.${k}`, op[k], 0, 1)])) as unknown as StandardOptionParams;
  const tierKeys = ['imBase', 'mmBase', 'slope', 'stepCoin'] as const;
  const f = c.obj('futures', o.futures, tierKeys);
  const futures: FuturesTierParams = { imBase: c.num('futures.imBase', f.imBase, 0, 1), mmBase: c.num('futures.mmBase', f.mmBase, 0, 1), slope: c.num('futures.slope', f.slope, 0, 1), stepCoin: c.num('futures.stepCoin', f.stepCoin, 1e-12) };
  let futuresByUnderlying: RuleBasedModel['futuresByUnderlying'];
  if (o.futuresByUnderlying !== undefined) {
    const by = c.map('futuresByUnderlying', o.futuresByUnderlying);
    futuresByUnderlying = {};
    for (const u of Object.keys(by)) {
      const t = c.obj(`futuresByUnderlying.${u}`, by[u], tierKeys);
      const out: Partial<FuturesTierParams> = {};
      for (const k of tierKeys) if (t[k] !== undefined) out[k] = c.num(`futuresByUnderlying.${u}.${k}`, t[k], k === 'stepCoin' ? 1e-12 : 0);
      futuresByUnderlying[u] = out;
    }
  }
  return defined({ ...h, mechanism: 'rule-based' as const, option, futures, futuresByUnderlying, collateral: collateral(c, o.collateral) });
}

const LYRA_GROUPS = {
  basis: ['scenarioSpotUp', 'scenarioSpotDown', 'addFactor', 'multFactor'],
  other: ['pegLossThreshold', 'pegLossFactor', 'confThreshold', 'confMargin', 'basePercent', 'perpPercent', 'optionPercent'],
  margin: ['imFactor', 'baseStaticDiscount', 'rateMultScale', 'rateAddScale'],
  volShock: ['volRangeUp', 'volRangeDown', 'shortTermPower', 'longTermPower', 'dteFloor'],
} as const;

function lyra(c: Checker, o: Obj, h: Header): LyraPmrmModel {
  c.obj('(root)', o, [...HEADER, 'scenarios', ...Object.keys(LYRA_GROUPS), 'cashCurrency', 'collateral']);
  const sc = c.arr('scenarios', o.scenarios);
  if (sc.length === 0) c.fail('scenarios', 'must list at least one scenario', sc);
  const scenarioList = sc.map((x, i) => {
    const s = c.obj(`scenarios[${i}]`, x, ['spotShock', 'vol']);
    return { spotShock: c.num(`scenarios[${i}].spotShock`, s.spotShock, 0, 10), vol: c.oneOf(`scenarios[${i}].vol`, s.vol, ['up', 'same', 'down'] as const) };
  });
  const group = (g: keyof typeof LYRA_GROUPS): Record<string, number> => {
    const go = c.obj(g, o[g], LYRA_GROUPS[g]);
    return Object.fromEntries(LYRA_GROUPS[g].map((k) => [k, c.num(`${g}.${k}`, go[k], 0)]));
  };
  return {
    ...h,
    mechanism: 'lyra-pmrm',
    scenarios: scenarioList,
    basis: group('basis') as LyraPmrmModel['basis'],
    other: group('other') as LyraPmrmModel['other'],
    margin: group('margin') as LyraPmrmModel['margin'],
    volShock: group('volShock') as LyraPmrmModel['volShock'],
    cashCurrency: c.str('cashCurrency', o.cashCurrency),
    collateral: collateral(c, o.collateral),
  };
}

const PME_PAIR_KEYS = [
  'price_range',
  'volatility_range_up',
  'volatility_range_down',
  'short_term_vega_power',
  'long_term_vega_power',
  'min_volatility_for_shock_up',
  'extended_table_factor',
  'delta_total_liq_shock_threshold',
  'max_delta_shock',
  'm_inc',
] as const;
const PME_CURRENCY_NUMS = ['annualised_move_risk', 'min_annualised_move', 'extended_dampener', 'haircut', 'pnl_offset', 'max_offsetable_pnl'] as const;

function pmePairs(c: Checker, v: unknown): Record<string, PmePairParams> {
  const by = c.map('currencyPair', v);
  const out: Record<string, PmePairParams> = {};
  for (const u of Object.keys(by)) {
    const p = c.obj(`currencyPair.${u}`, by[u], PME_PAIR_KEYS);
    const pair = Object.fromEntries(PME_PAIR_KEYS.map((k) => [k, c.num(`currencyPair.${u}.${k}`, p[k], 0)])) as unknown as PmePairParams;
    c.num(`currencyPair.${u}.price_range`, pair.price_range, 1e-9, 0.999);
    out[u] = pair;
  }
  return out;
}

function pmeCurrencies(c: Checker, v: unknown): Record<string, PmeCurrencyParams> {
  const by = c.map('currency', v);
  const out: Record<string, PmeCurrencyParams> = {};
  for (const k0 of Object.keys(by)) {
    const p = `currency.${k0}`;
    const o = c.obj(p, by[k0], [...PME_CURRENCY_NUMS, 'equity_side_impact', 'correlation_set']);
    const nums = Object.fromEntries(PME_CURRENCY_NUMS.map((k) => [k, c.num(`${p}.${k}`, o[k], 0)]));
    if (typeof o.correlation_set !== 'boolean') c.fail(`${p}.correlation_set`, 'must be true or false', o.correlation_set);
    out[k0] = {
      ...nums,
      equity_side_impact: c.oneOf(`${p}.equity_side_impact`, o.equity_side_impact, ['both', 'up', 'down', 'none'] as const),
      correlation_set: o.correlation_set as boolean,
    } as PmeCurrencyParams;
  }
  return out;
}

function deribitPme(c: Checker, o: Obj, h: Header): DeribitPmeModel {
  c.obj('(root)', o, [...HEADER, 'margining', 'general', 'extendedMoves', 'volShock', 'currencyPair', 'currency', 'collateral']);
  const g = c.obj('general', o.general, ['mm_factor', 'buckets_count', 'vol_scenarios_count']);
  const buckets = c.num('general.buckets_count', g.buckets_count, 1, 100);
  if (!Number.isInteger(buckets)) c.fail('general.buckets_count', 'must be an integer', buckets);
  if (g.vol_scenarios_count !== 3) c.fail('general.vol_scenarios_count', 'must be 3 (vol up, same, down)', g.vol_scenarios_count);
  const vs = c.obj('volShock', o.volShock, ['referenceDays', 'shortTermBelowDays', 'minDays', 'floor']);
  return {
    ...h,
    mechanism: 'deribit-pme',
    margining: c.oneOf('margining', o.margining, ['segregated', 'cross'] as const),
    general: { mm_factor: c.num('general.mm_factor', g.mm_factor, 0, 1), buckets_count: buckets, vol_scenarios_count: 3 },
    extendedMoves: c.arr('extendedMoves', o.extendedMoves).map((m, i) => c.num(`extendedMoves[${i}]`, m, -0.999, 100)),
    volShock: {
      referenceDays: c.num('volShock.referenceDays', vs.referenceDays, 1e-9),
      shortTermBelowDays: c.num('volShock.shortTermBelowDays', vs.shortTermBelowDays, 0),
      minDays: c.num('volShock.minDays', vs.minDays, 1e-9),
      floor: c.num('volShock.floor', vs.floor, 0, 10),
    },
    currencyPair: pmePairs(c, o.currencyPair),
    currency: pmeCurrencies(c, o.currency),
    collateral: collateral(c, o.collateral),
  };
}

type Header = { id: string; version: string; description: string; source: string };

/** Tiers of increasing `upTo` bounds (the last may be null: unbounded), each with its value field checked. */
function tiers<K extends string>(c: Checker, path: string, v: unknown, key: K, min: number, max: number): ({ upTo: number | null } & Record<K, number>)[] {
  const list = c.arr(path, v);
  if (list.length === 0) c.fail(path, 'must have at least one tier', v);
  let prev = 0;
  return list.map((t, i) => {
    const o = c.obj(`${path}[${i}]`, t, ['upTo', key]);
    const last = i === list.length - 1;
    const upTo = o.upTo === null && last ? null : c.num(`${path}[${i}].upTo`, o.upTo, prev);
    if (upTo !== null && upTo <= prev) c.fail(`${path}[${i}].upTo`, `must exceed the previous tier's bound ${prev}`, o.upTo);
    if (upTo !== null) prev = upTo;
    return { upTo, [key]: c.num(`${path}[${i}].${key}`, o[key], min, max) } as { upTo: number | null } & Record<K, number>;
  });
}

function okxRiskUnit(c: Checker, p: string, v: unknown): OkxRiskUnitParams {
  const o = c.obj(p, v, ['spotShocks', 'extremeMove', 'extremeFactor', 'basis', 'minimumChargeRate', 'minimumChargeTiers']);
  const b = c.obj(`${p}.basis`, o.basis, ['annualizedMoveRisk', 'minRate']);
  const shocks = c.arr(`${p}.spotShocks`, o.spotShocks).map((m, i) => c.num(`${p}.spotShocks[${i}]`, m, 1e-9, 0.999));
  if (shocks.length === 0) c.fail(`${p}.spotShocks`, 'must list at least one shock', o.spotShocks);
  return {
    spotShocks: shocks,
    extremeMove: c.num(`${p}.extremeMove`, o.extremeMove, 1e-9, 0.999),
    extremeFactor: c.num(`${p}.extremeFactor`, o.extremeFactor, 0, 10),
    basis: { annualizedMoveRisk: c.num(`${p}.basis.annualizedMoveRisk`, b.annualizedMoveRisk, 0, 10), minRate: c.num(`${p}.basis.minRate`, b.minRate, 0, 1) },
    minimumChargeRate: c.num(`${p}.minimumChargeRate`, o.minimumChargeRate, 0, 1),
    minimumChargeTiers: tiers(c, `${p}.minimumChargeTiers`, o.minimumChargeTiers, 'multiplier', 0, 1000),
  };
}

function okxPm(c: Checker, o: Obj, h: Header): OkxPmModel {
  c.obj('(root)', o, [...HEADER, 'imrFactor', 'riskUnits', 'borrowing', 'stablecoinDepeg', 'discountTiers', 'collateral']);
  const units = c.map('riskUnits', o.riskUnits);
  const disc = c.map('discountTiers', o.discountTiers);
  const b = c.obj('borrowing', o.borrowing, ['mmrRate', 'imrRate']);
  return {
    ...h,
    mechanism: 'okx-pm',
    imrFactor: c.num('imrFactor', o.imrFactor, 1, 100),
    riskUnits: Object.fromEntries(Object.keys(units).map((u) => [u, okxRiskUnit(c, `riskUnits.${u}`, units[u])])),
    borrowing: { mmrRate: c.num('borrowing.mmrRate', b.mmrRate, 0, 1), imrRate: c.num('borrowing.imrRate', b.imrRate, 0, 1) },
    stablecoinDepeg: o.stablecoinDepeg === null ? null : tiers(c, 'stablecoinDepeg', o.stablecoinDepeg, 'factor', 0, 1),
    discountTiers: Object.fromEntries(Object.keys(disc).map((k) => [k, tiers(c, `discountTiers.${k}`, disc[k], 'rate', 0, 1)])),
    collateral: collateral(c, o.collateral),
  };
}

/** Validates a parameter object into a typed model; `where` names its origin in messages (a file path or id). */
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The var-es family (docs/risk.md "var-es"): measure, α, MPOR 1–3 days, FHS lookback and λ, stressed period, APC rule, MM fraction. */
function varEs(c: Checker, o: Obj, h: Header): VarEsModel {
  c.obj('(root)', o, [...HEADER, 'measure', 'alpha', 'quantile', 'mporDays', 'lookback', 'lambda', 'stressFrom', 'stressTo', 'apc', 'mmFraction', 'collateral']);
  const mpor = c.num('mporDays', o.mporDays, 1, 3);
  if (!Number.isInteger(mpor)) c.fail('mporDays', 'must be 1, 2 or 3', mpor);
  const lookback = c.num('lookback', o.lookback, 30, 10_000);
  if (!Number.isInteger(lookback)) c.fail('lookback', 'must be an integer', lookback);
  const date = (k: 'stressFrom' | 'stressTo'): string => (DATE.test(String(o[k])) ? String(o[k]) : c.fail(k, 'must be a date YYYY-MM-DD', o[k]));
  const a = c.obj('apc', o.apc, ['rule', 'buffer', 'weight', 'years']);
  const rule = c.oneOf('apc.rule', a.rule, ['buffer', 'stressed-weight', 'ten-year'] as const);
  const apc: VarEsModel['apc'] =
    rule === 'buffer' ? { rule, buffer: c.num('apc.buffer', a.buffer ?? 0.25, 0, 10) } : rule === 'stressed-weight' ? { rule, weight: c.num('apc.weight', a.weight ?? 0.25, 0, 1) } : { rule, years: c.num('apc.years', a.years ?? 10, 1, 50) };
  return {
    ...h,
    mechanism: 'var-es',
    measure: c.oneOf('measure', o.measure, ['es', 'var'] as const),
    alpha: c.num('alpha', o.alpha, 0.5, 0.9999),
    quantile: c.oneOf('quantile', o.quantile, ['lower', 'empirical', 'linear'] as const),
    mporDays: mpor,
    lookback,
    lambda: c.num('lambda', o.lambda, 0.5, 0.9999),
    stressFrom: date('stressFrom'),
    stressTo: date('stressTo'),
    apc,
    mmFraction: c.num('mmFraction', o.mmFraction, 0, 1),
    collateral: collateral(c, o.collateral),
  };
}

export function validateModel(v: unknown, where = 'model'): MarginModel {
  const c = new Checker(where);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) c.fail('(root)', 'must be an object', v);
  const o = v as Obj;
  const h: Header = { id: c.str('id', o.id), version: c.str('version', o.version), description: c.str('description', o.description), source: c.str('source', o.source) };
  const mech = c.oneOf('mechanism', o.mechanism, ['rule-based', 'scenario-grid', 'lyra-pmrm', 'deribit-pme', 'var-es', 'okx-pm'] as const);
  if (mech === 'rule-based') return ruleBased(c, o, h);
  if (mech === 'var-es') return varEs(c, o, h);
  if (mech === 'scenario-grid') return grid(c, o, h);
  if (mech === 'deribit-pme') return deribitPme(c, o, h);
  if (mech === 'okx-pm') return okxPm(c, o, h);
  return lyra(c, o, h);
}
