/**
 * Margin models are data: a preset is a versioned JSON parameter file (presets/*.json)
 * interpreted by one of three mechanisms (rule-based, scenario-grid, lyra-pmrm). This module
 * finds, validates and hashes them.
 */
import { parseJsonText } from '../io/decode.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, OptmarginError } from '../errors.js';
import type {
  CollateralParams,
  GridModel,
  LoadedModel,
  LyraPmrmModel,
  MarginModel,
  RuleBasedModel,
  ScenarioSpec,
  VolShockParams,
} from './types.js';

/** The presets folder: <repo>/presets from src/margin (tsx/vitest) or dist/src/margin (built). */
export function presetsDir(): string {
  for (const rel of ['../../presets/', '../../../presets/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new OptmarginError(ErrorCodes.INVALID_MODEL, 'the presets folder was not found next to the optmargin package');
}

/** JSON with object keys sorted, so equal parameters hash equally whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson((v as Record<string, unknown>)[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

export function hashOf(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, 16);
}

// ───────────── validation (errors name the file and the field) ─────────────

class ModelChecker {
  constructor(private readonly where: string) {}
  fail(path: string, requirement: string, value: unknown): never {
    let shown: string;
    try {
      shown = JSON.stringify(value) ?? 'nothing';
    } catch {
      shown = String(value);
    }
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${this.where}: ${path} ${requirement}, got ${shown}`, path);
  }
  obj(path: string, v: unknown): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object', v);
    return v as Record<string, unknown>;
  }
  num(path: string, v: unknown, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'must be a finite number', v);
    if (v < min || v > max) this.fail(path, `must be in [${min}, ${max}]`, v);
    return v;
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

function checkCollateral(c: ModelChecker, v: unknown): CollateralParams {
  const o = c.obj('collateral', v);
  const h = c.obj('collateral.haircuts', o.haircuts);
  const haircuts: Record<string, number> = {};
  for (const k of Object.keys(h)) haircuts[k] = c.num(`collateral.haircuts.${k}`, h[k], 0, 1);
  const defaultHaircut = o.defaultHaircut === null ? null : c.num('collateral.defaultHaircut', o.defaultHaircut, 0, 1);
  const usdPegged = c.arr('collateral.usdPegged', o.usdPegged).map((x, i) => c.str(`collateral.usdPegged[${i}]`, x));
  return { haircuts, defaultHaircut, usdPegged };
}

function checkVol(c: ModelChecker, path: string, v: unknown, partial: boolean): Partial<VolShockParams> {
  const o = c.obj(path, v);
  const out: Partial<VolShockParams> = {};
  const numKeys = ['up', 'down', 'power', 'longTermPower', 'longTermAfterDays', 'referenceDays', 'minDays', 'floor'] as const;
  for (const k of numKeys) {
    if (o[k] !== undefined) out[k] = c.num(`${path}.${k}`, o[k], 0);
    else if (!partial && k !== 'longTermPower' && k !== 'longTermAfterDays') c.fail(`${path}.${k}`, 'is required', undefined);
  }
  if (o.mode !== undefined) out.mode = c.oneOf(`${path}.mode`, o.mode, ['relative', 'absolute'] as const);
  else if (!partial) c.fail(`${path}.mode`, 'is required', undefined);
  if (out.minDays !== undefined && !(out.minDays > 0)) c.fail(`${path}.minDays`, 'must be > 0', out.minDays);
  if (out.referenceDays !== undefined && !(out.referenceDays > 0)) c.fail(`${path}.referenceDays`, 'must be > 0', out.referenceDays);
  return out;
}

function checkGrid(c: ModelChecker, o: Record<string, unknown>): void {
  const scan = c.obj('scan', o.scan);
  c.num('scan.rangeUp', scan.rangeUp, 0, 10);
  c.num('scan.rangeDown', scan.rangeDown, 0, 0.999);
  checkVol(c, 'scan.vol', scan.vol, false);
  if (o.scanByUnderlying !== undefined) {
    const by = c.obj('scanByUnderlying', o.scanByUnderlying);
    for (const u of Object.keys(by)) {
      const s = c.obj(`scanByUnderlying.${u}`, by[u]);
      if (s.rangeUp !== undefined) c.num(`scanByUnderlying.${u}.rangeUp`, s.rangeUp, 0, 10);
      if (s.rangeDown !== undefined) c.num(`scanByUnderlying.${u}.rangeDown`, s.rangeDown, 0, 0.999);
      if (s.vol !== undefined) checkVol(c, `scanByUnderlying.${u}.vol`, s.vol, true);
    }
  }
  const sc = c.arr('scenarios', o.scenarios);
  if (sc.length === 0) c.fail('scenarios', 'must list at least one scenario', sc);
  sc.forEach((x, i) => {
    const s = c.obj(`scenarios[${i}]`, x) as unknown as ScenarioSpec;
    if ((s.range === undefined) === (s.move === undefined)) c.fail(`scenarios[${i}]`, 'must give exactly one of range, move', s);
    if (s.range !== undefined) c.num(`scenarios[${i}].range`, s.range, -10, 10);
    if (s.move !== undefined) c.num(`scenarios[${i}].move`, s.move, -0.999, 100);
    c.oneOf(`scenarios[${i}].vol`, s.vol, ['up', 'same', 'down'] as const);
    c.num(`scenarios[${i}].weight`, s.weight, 0, 1);
  });
  c.oneOf('smile', o.smile, ['sticky-moneyness', 'sticky-strike'] as const);
  const add = c.obj('addOns', o.addOns);
  if (add.shortOption !== undefined) {
    const s = c.obj('addOns.shortOption', add.shortOption);
    c.num('addOns.shortOption.fractionOfSpot', s.fractionOfSpot, 0, 1);
    c.oneOf('addOns.shortOption.netting', s.netting, ['expiry-strike', 'instrument'] as const);
  }
  if (add.futures !== undefined) {
    const s = c.obj('addOns.futures', add.futures);
    c.num('addOns.futures.fraction', s.fraction, 0, 1);
    c.oneOf('addOns.futures.basis', s.basis, ['gross', 'offsetting'] as const);
  }
  if (add.shortOptionMinimum !== undefined) {
    const s = c.obj('addOns.shortOptionMinimum', add.shortOptionMinimum);
    c.num('addOns.shortOptionMinimum.fractionOfSpot', s.fractionOfSpot, 0, 1);
  }
  c.num('mmFraction', o.mmFraction, 0, 1);
  c.num('minimumMarginUsd', o.minimumMarginUsd, 0);
  const cu = c.obj('crossUnderlying', o.crossUnderlying);
  const rule = c.oneOf('crossUnderlying.rule', cu.rule, ['sum', 'credit'] as const);
  if (rule === 'credit') c.num('crossUnderlying.credit', cu.credit, 0, 1);
}

function checkRuleBased(c: ModelChecker, o: Record<string, unknown>): void {
  const op = c.obj('option', o.option);
  for (const k of ['imBase', 'imMin', 'mmBase', 'putMmMarkFactor']) c.num(`option.${k}`, op[k], 0, 1);
  const f = c.obj('futures', o.futures);
  for (const k of ['imBase', 'mmBase', 'slope']) c.num(`futures.${k}`, f[k], 0, 1);
  c.num('futures.stepCoin', f.stepCoin, 1e-12);
  if (o.futuresByUnderlying !== undefined) {
    const by = c.obj('futuresByUnderlying', o.futuresByUnderlying);
    for (const u of Object.keys(by)) {
      const t = c.obj(`futuresByUnderlying.${u}`, by[u]);
      for (const k of Object.keys(t)) c.num(`futuresByUnderlying.${u}.${k}`, t[k], k === 'stepCoin' ? 1e-12 : 0);
    }
  }
}

function checkLyra(c: ModelChecker, o: Record<string, unknown>): void {
  const sc = c.arr('scenarios', o.scenarios);
  if (sc.length === 0) c.fail('scenarios', 'must list at least one scenario', sc);
  sc.forEach((x, i) => {
    const s = c.obj(`scenarios[${i}]`, x);
    c.num(`scenarios[${i}].spotShock`, s.spotShock, 0, 10);
    c.oneOf(`scenarios[${i}].vol`, s.vol, ['up', 'same', 'down'] as const);
  });
  const groups: Record<string, string[]> = {
    basis: ['scenarioSpotUp', 'scenarioSpotDown', 'addFactor', 'multFactor'],
    other: ['pegLossThreshold', 'pegLossFactor', 'confThreshold', 'confMargin', 'basePercent', 'perpPercent', 'optionPercent'],
    margin: ['imFactor', 'baseStaticDiscount', 'rateMultScale', 'rateAddScale'],
    volShock: ['volRangeUp', 'volRangeDown', 'shortTermPower', 'longTermPower', 'dteFloor'],
  };
  for (const g of Object.keys(groups)) {
    const go = c.obj(g, o[g]);
    for (const k of groups[g]) c.num(`${g}.${k}`, go[k], 0);
  }
  c.str('cashCurrency', o.cashCurrency);
}

/** Validates a parameter object; `where` names its origin in messages (a file path or id). */
export function validateModel(v: unknown, where = 'model'): MarginModel {
  const c = new ModelChecker(where);
  const o = c.obj('(root)', v);
  c.str('id', o.id);
  c.str('version', o.version);
  c.str('description', o.description);
  c.str('source', o.source);
  const mech = c.oneOf('mechanism', o.mechanism, ['rule-based', 'scenario-grid', 'lyra-pmrm'] as const);
  checkCollateral(c, o.collateral);
  if (mech === 'rule-based') checkRuleBased(c, o);
  else if (mech === 'scenario-grid') checkGrid(c, o);
  else checkLyra(c, o);
  return o as unknown as RuleBasedModel | GridModel | LyraPmrmModel;
}

export function toLoadedModel(params: MarginModel): LoadedModel {
  return { params, hash: hashOf(params) };
}

const cache = new Map<string, LoadedModel>();

/** A LoadedModel as given, or loaded from a preset id / file path / parameter object. */
export function resolveModel(m: LoadedModel | MarginModel | string): LoadedModel {
  if (typeof m === 'string') return loadModel(m);
  if ('params' in m && 'hash' in m) return m as LoadedModel;
  return loadModel(m as MarginModel);
}

/**
 * Loads a preset by id (`deribit-pm`) or a parameter file by path (anything with a '/' or
 * ending in .json). Throws INVALID_MODEL naming the id/file and the bad field.
 */
export function loadModel(idOrPath: string | MarginModel): LoadedModel {
  if (typeof idOrPath !== 'string') return toLoadedModel(validateModel(idOrPath, `model ${JSON.stringify(idOrPath.id)}`));
  const hit = cache.get(idOrPath);
  if (hit) return hit;
  const isPath = idOrPath.includes('/') || idOrPath.endsWith('.json');
  let file: string;
  if (isPath) file = idOrPath;
  else {
    file = presetsDir() + idOrPath + '.json';
    if (!existsSync(file)) {
      throw new OptmarginError(
        ErrorCodes.INVALID_MODEL,
        `unknown model ${JSON.stringify(idOrPath)}; presets: ${listModels().map((m) => m.id).join(', ')}`,
      );
    }
  }
  let raw: unknown;
  try {
    raw = parseJsonText(readFileSync(file, 'utf8'), `model file ${file}`);
  } catch (e) {
    // never the file's content: only what was wrong with it
    const why = e instanceof OptmarginError ? e.message : `cannot read model file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'read error'}`;
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, why);
  }
  const loaded = toLoadedModel(validateModel(raw, file));
  cache.set(idOrPath, loaded);
  return loaded;
}

export interface ModelSummary {
  id: string;
  version: string;
  mechanism: MarginModel['mechanism'];
  description: string;
  source: string;
  hash: string;
}

/** Every shipped preset, sorted by id. */
export function listModels(): ModelSummary[] {
  const dir = presetsDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const m = loadModel(f.slice(0, -5));
      const p = m.params;
      return { id: p.id, version: p.version, mechanism: p.mechanism, description: p.description, source: p.source, hash: m.hash };
    });
}
